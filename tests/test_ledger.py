"""The ledger on real SQLite and real PostgreSQL: durable appends, one order for many writers,
a chain that catches edits, append-only guards, fail-closed writes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from audit import LedgerReader, LedgerWriteError, LedgerWriter, ensure_tables, open_engine
from audit.store import create_append_only_role
from tests.ledger_backends import Backend, backend  # noqa: F401 - fixture


@pytest.fixture
def filled(backend: Backend) -> Backend:  # noqa: F811
    writer = LedgerWriter(open_engine(backend.url))
    for i in range(6):
        writer.append("action.proposed", actor="robot:test", payload={"i": i},
                      flow_run_id="run-1", action_kind="acme.create_invoice")
    return backend


def verify(backend: Backend):  # noqa: F811
    return LedgerReader(open_engine(backend.url)).verify()


def test_intact_chain_verifies(filled: Backend) -> None:
    result = verify(filled)
    assert result.ok and result.checked == 6


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    LedgerWriter(open_engine(f"sqlite:///{db}")).append("x", actor="a")
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_database_refuses_update_and_delete(filled: Backend) -> None:
    engine = open_engine(filled.url)
    for statement in ("UPDATE ledger_entries SET actor = 'mallory' WHERE seq = 2",
                      "DELETE FROM ledger_entries WHERE seq = 6"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert verify(filled).checked == 6


def test_altered_entry_is_named(filled: Backend) -> None:
    filled.tamper("UPDATE ledger_entries SET payload = '{\"i\":99}' WHERE seq = 4")
    result = verify(filled)
    assert not result.ok and result.first_bad_seq == 4
    assert "altered" in result.describe()


def test_altered_actor_is_named(filled: Backend) -> None:
    filled.tamper("UPDATE ledger_entries SET actor = 'mallory' WHERE seq = 2")
    assert verify(filled).first_bad_seq == 2


def test_removed_entry_is_named(filled: Backend) -> None:
    filled.tamper("DELETE FROM ledger_entries WHERE seq = 3")
    result = verify(filled)
    assert not result.ok and result.first_bad_seq == 3
    assert "missing" in result.problem


def test_reordered_entries_are_named(filled: Backend) -> None:
    # Swap entries 2 and 5 wholesale (each keeps its hashes) by swapping their numbers.
    filled.tamper("UPDATE ledger_entries SET seq = 1000 WHERE seq = 2",
                  "UPDATE ledger_entries SET seq = 2 WHERE seq = 5",
                  "UPDATE ledger_entries SET seq = 5 WHERE seq = 1000")
    result = verify(filled)
    assert not result.ok and result.first_bad_seq == 2


def test_cli_verify_fails_and_names_the_entry(filled: Backend) -> None:
    env = {"PROCTOR_LEDGER_URL": filled.url, "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "-m", "proctor.cli", "audit", "verify"],
                        capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "6 entries" in ok.stdout
    filled.tamper("UPDATE ledger_entries SET kind = 'action.succeeded' WHERE seq = 5")
    bad = subprocess.run([sys.executable, "-m", "proctor.cli", "audit", "verify"],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 1
    assert "entry 5" in bad.stdout


@pytest.mark.race
def test_concurrent_writers_make_one_chain(backend: Backend) -> None:  # noqa: F811
    engine = open_engine(backend.url)
    errors: list[Exception] = []

    def write(n: int) -> None:
        writer = LedgerWriter(engine)
        try:
            for i in range(25):
                writer.append("t", actor=f"w{n}", payload={"i": i})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = LedgerReader(engine).verify()
    assert result.ok and result.checked == 100


def test_append_only_role_cannot_change_entries(filled: Backend) -> None:
    if filled.name != "postgres":
        pytest.skip("roles are a PostgreSQL feature; SQLite is guarded by its triggers")
    engine = open_engine(filled.url)
    create_append_only_role(engine, "proctor_ledger_test_writer")
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER USER"))  # only the role
    try:
        with pytest.raises(DBAPIError, match="permission denied"), engine.begin() as conn:
            conn.execute(text("SET LOCAL ROLE proctor_ledger_test_writer"))
            conn.execute(text("UPDATE ledger_entries SET actor = 'x' WHERE seq = 1"))
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL ROLE proctor_ledger_test_writer"))
            assert conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar() == 6
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE ledger_entries ENABLE TRIGGER USER"))


def test_locked_database_refuses_the_append(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    LedgerWriter(open_engine(f"sqlite:///{db}")).append("x", actor="a")
    writer = LedgerWriter(open_engine(f"sqlite:///{db}", busy_timeout_ms=100))
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(LedgerWriteError, match="locked"):
            writer.append("action.started", actor="robot:test")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_read_only_database_refuses_the_append(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    LedgerWriter(open_engine(f"sqlite:///{db}")).append("x", actor="a")
    engine = open_engine(f"sqlite:///file:{db}?mode=ro&uri=true")
    with pytest.raises(LedgerWriteError, match="readonly|read-only"):
        LedgerWriter(engine).append("action.started", actor="robot:test")
    assert LedgerReader(engine).verify().checked == 1


def test_full_disk_refuses_the_append(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    LedgerWriter(open_engine(f"sqlite:///{db}")).append("x", actor="a")
    engine = open_engine(f"sqlite:///{db}")

    @event.listens_for(engine, "connect")
    def _cap(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # SQLite reports SQLITE_FULL, as on a full disk, once the file may not grow.
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    engine.dispose()
    writer = LedgerWriter(engine)
    with pytest.raises(LedgerWriteError, match="full"):
        for i in range(500):
            writer.append("t", actor="robot:test", payload={"blob": "x" * 2000, "i": i})
    assert LedgerReader(engine).verify().ok


def test_many_workers_starting_at_once_create_the_schema_once(backend: Backend) -> None:  # noqa: F811
    """Workers start together on an empty database: every one opens the ledger (tables, guards,
    the approvals and identity tables), none fails on another's DDL."""
    from concurrent.futures import ThreadPoolExecutor

    from governance.approvals.store import ApprovalRequest, ApprovalVote
    from governance.identity.users import ApiToken, Delegation, User

    def start(_: int) -> int:
        engine = open_engine(backend.url, busy_timeout_ms=30_000)
        ensure_tables(engine, [User.__table__, ApiToken.__table__, Delegation.__table__,
                               ApprovalRequest.__table__, ApprovalVote.__table__])
        written = LedgerWriter(engine).append("worker.started", actor="worker").seq
        engine.dispose()
        return written

    with ThreadPoolExecutor(8) as pool:
        seqs = sorted(pool.map(start, range(8)))
    assert seqs == list(range(1, 9))
    assert LedgerReader(open_engine(backend.url)).verify().ok
