"""Opening the ledger's database: one engine per URL, tuned for durable, ordered appends, with
UPDATE and DELETE refused by the database itself.

SQLite: WAL with `synchronous=FULL` (a committed append is on disk); every append transaction
starts with `BEGIN IMMEDIATE`, so writers in any number of processes take turns.
PostgreSQL: every append takes one transaction-scoped advisory lock, so there is one order.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence

from sqlalchemy import Table, event, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel, create_engine

from audit.entries import LedgerEntry

# Execution option that marks a connection as an appender (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "proctor_write"
# Any fixed 64-bit number: the advisory lock every PostgreSQL append holds until it commits.
_PG_APPEND_LOCK = 0x50524F43544F52
# Another: held while a process creates tables and guards, so concurrent starts do not collide
# (PostgreSQL DDL is not safe to race: "tuple concurrently updated", duplicate pg_type rows).
_PG_SCHEMA_LOCK = 0x50524F43544F53

_SQLITE_GUARDS = [
    "CREATE TRIGGER IF NOT EXISTS ledger_entries_no_update BEFORE UPDATE ON ledger_entries "
    "BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS ledger_entries_no_delete BEFORE DELETE ON ledger_entries "
    "BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END",
]
_PG_GUARDS = [
    "CREATE OR REPLACE FUNCTION proctor_ledger_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "RAISE EXCEPTION 'ledger_entries is append-only (% refused)', TG_OP; END $$",
    "CREATE OR REPLACE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE "
    "ON ledger_entries FOR EACH ROW EXECUTE FUNCTION proctor_ledger_append_only()",
    "CREATE OR REPLACE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE "
    "ON ledger_entries FOR EACH STATEMENT EXECUTE FUNCTION proctor_ledger_append_only()",
]


def open_engine(url: str, *, busy_timeout_ms: int = 5000) -> Engine:
    """Create the engine for `url`, make sure the ledger's table and guards exist."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})
        _tune_sqlite(engine, busy_timeout_ms)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if not _read_only(url):
        ensure_tables(engine, [LedgerEntry.__table__], extra=_guards(engine))
    return engine


def ensure_tables(engine: Engine, tables: Sequence[Table], *, extra: Sequence[str] = ()) -> None:
    """Create `tables` (and run the `extra` DDL) if missing, safe when many processes start at once.

    Every store that owns tables calls this instead of `create_all`: on PostgreSQL it holds a
    transaction-scoped advisory lock, so two workers starting together take turns; on SQLite
    the transaction begins IMMEDIATE, for the same reason.
    """
    # SQLite: as an appender (BEGIN IMMEDIATE), so a reader never has to upgrade to a writer.
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_SCHEMA_LOCK})
        SQLModel.metadata.create_all(conn, tables=list(tables))
        for statement in extra:
            conn.execute(text(statement))


def lock_for_append(conn: Connection) -> None:
    """Take the lock that puts concurrent appends in one order (SQLite's is BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_APPEND_LOCK})


def create_append_only_role(engine: Engine, role: str) -> None:
    """PostgreSQL: a login-less role that may read and append to the ledger, never change it.

    Grant it to the service accounts that run workers: `GRANT <role> TO worker_account`.
    """
    if engine.dialect.name != "postgresql":
        raise ValueError("roles exist on PostgreSQL only; SQLite relies on its triggers")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"role name {role!r} must be letters, digits and underscores")
    with engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if exists.first() is None:
            conn.execute(text(f"CREATE ROLE {role} NOLOGIN"))
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}'))
        conn.execute(text(f"REVOKE ALL ON ledger_entries FROM {role}"))
        conn.execute(text(f"GRANT SELECT, INSERT ON ledger_entries TO {role}"))


def _guards(engine: Engine) -> list[str]:
    return _SQLITE_GUARDS if engine.dialect.name == "sqlite" else _PG_GUARDS


def _read_only(url: str) -> bool:
    return "mode=ro" in url


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
