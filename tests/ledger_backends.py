"""The two ledger databases, as test fixtures: a fresh SQLite file, or a fresh PostgreSQL schema
on the real server at 127.0.0.1:5432 (PROCTOR_TEST_POSTGRES_URL to point elsewhere)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import create_engine, text

from demo.fleet import postgres_databases as fleet_databases

POSTGRES = os.environ.get("PROCTOR_TEST_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        engine = create_engine(POSTGRES, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure means: skip, and say why
        return f"needs PostgreSQL at {POSTGRES}: {str(exc).splitlines()[0]}"
    return None


@dataclass
class Backend:
    """A ledger database and a way to change it behind the engine's back, as an attacker with
    database access would (triggers switched off first)."""

    name: str
    url: str

    def tamper(self, *statements: str) -> None:
        if self.name == "sqlite":
            path = self.url.removeprefix("sqlite:///")
            with sqlite3.connect(path) as conn:
                conn.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update")
                conn.execute("DROP TRIGGER IF EXISTS ledger_entries_no_delete")
                for statement in statements:
                    conn.execute(statement)
            return
        engine = create_engine(self.url)
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE ledger_entries DISABLE TRIGGER USER")
            for statement in statements:
                conn.exec_driver_sql(statement.replace("%", "%%"))
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", f"sqlite:///{tmp_path / 'ledger.db'}")
        return
    why = postgres_available()
    if why:
        pytest.skip(why)
    schema = f"ledger_{uuid4().hex[:12]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield Backend("postgres", f"{POSTGRES}?options=-csearch_path%3D{schema}")
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()



@contextmanager
def postgres_databases() -> Iterator[tuple[str, str]]:
    """A fresh ledger schema and a fresh database for Prefect's server on the real server;
    yields (ledger URL, Prefect database URL) and drops both afterwards."""
    with fleet_databases(POSTGRES) as urls:
        yield urls
