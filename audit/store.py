"""Opening the ledger's database: one engine per URL, tuned for durable appends."""

from __future__ import annotations

import contextlib
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, create_engine

from audit.entries import LedgerEntry

# Execution option that marks a connection as an appender (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "proctor_write"


def open_engine(url: str, *, busy_timeout_ms: int = 5000) -> Engine:
    """Create the engine for `url` and make sure the ledger's table exists.

    On SQLite the database runs in WAL mode with `synchronous=FULL`, so a committed append has
    reached the disk, and every write transaction starts with `BEGIN IMMEDIATE`, so concurrent
    writers (threads or processes) take turns instead of forking the chain.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})
        _tune_sqlite(engine, busy_timeout_ms)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    SQLModel.metadata.create_all(engine, tables=[LedgerEntry.__table__])
    return engine


def _tune_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # Take transaction control away from the sqlite3 module so BEGIN IMMEDIATE is ours.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        # A read-only database keeps the journal mode it was created with.
        with contextlib.suppress(sqlite3.OperationalError):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _writing(conn) else "BEGIN")


def _writing(conn) -> bool:  # type: ignore[no-untyped-def]
    return bool(conn.get_execution_options().get(WRITE_OPTION))
