"""The ledger on real SQLite: durable appends, a chain that catches edits, fail-closed writes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import event

from audit import LedgerReader, LedgerWriteError, LedgerWriter, open_engine


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest.fixture
def filled(db: Path) -> Path:
    writer = LedgerWriter(open_engine(f"sqlite:///{db}"))
    for i in range(6):
        writer.append("action.proposed", actor="robot:test", payload={"i": i},
                      flow_run_id="run-1", action_kind="acme.create_invoice")
    return db


def verify(db: Path):
    return LedgerReader(open_engine(f"sqlite:///{db}")).verify()


def test_intact_chain_verifies_and_uses_wal(filled: Path) -> None:
    result = verify(filled)
    assert result.ok and result.checked == 6
    mode = sqlite3.connect(filled).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_altered_entry_is_named(filled: Path) -> None:
    with sqlite3.connect(filled) as conn:
        conn.execute("UPDATE ledger_entries SET payload = '{\"i\":99}' WHERE seq = 4")
    result = verify(filled)
    assert not result.ok and result.first_bad_seq == 4
    assert "altered" in result.describe()


def test_altered_actor_is_named(filled: Path) -> None:
    with sqlite3.connect(filled) as conn:
        conn.execute("UPDATE ledger_entries SET actor = 'mallory' WHERE seq = 2")
    assert verify(filled).first_bad_seq == 2


def test_removed_entry_is_named(filled: Path) -> None:
    with sqlite3.connect(filled) as conn:
        conn.execute("DELETE FROM ledger_entries WHERE seq = 3")
    result = verify(filled)
    assert not result.ok and result.first_bad_seq == 3
    assert "missing" in result.problem


def test_reordered_entries_are_named(filled: Path) -> None:
    # Swap the contents of entries 2 and 5, each keeping its own hashes: a reorder.
    columns = "recorded_at, kind, actor, payload, prev_hash, entry_hash"
    with sqlite3.connect(filled) as conn:
        two = conn.execute(f"SELECT {columns} FROM ledger_entries WHERE seq = 2").fetchone()
        five = conn.execute(f"SELECT {columns} FROM ledger_entries WHERE seq = 5").fetchone()
        conn.execute("UPDATE ledger_entries SET entry_hash = 'x' WHERE seq = 2")
        sets = ", ".join(f"{c.strip()} = ?" for c in columns.split(","))
        conn.execute(f"UPDATE ledger_entries SET {sets} WHERE seq = 5", two)
        conn.execute(f"UPDATE ledger_entries SET {sets} WHERE seq = 2", five)
    result = verify(filled)
    assert not result.ok and result.first_bad_seq == 2


def test_cli_verify_fails_and_names_the_entry(filled: Path) -> None:
    env = {"PROCTOR_LEDGER_URL": f"sqlite:///{filled}", "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "-m", "governance.cli", "audit", "verify"],
                        capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "6 entries" in ok.stdout
    with sqlite3.connect(filled) as conn:
        conn.execute("UPDATE ledger_entries SET kind = 'action.succeeded' WHERE seq = 5")
    bad = subprocess.run([sys.executable, "-m", "governance.cli", "audit", "verify"],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 1
    assert "entry 5" in bad.stdout


def test_concurrent_writers_make_one_chain(db: Path) -> None:
    engine = open_engine(f"sqlite:///{db}")
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


def test_locked_database_refuses_the_append(filled: Path) -> None:
    writer = LedgerWriter(open_engine(f"sqlite:///{filled}", busy_timeout_ms=100))
    blocker = sqlite3.connect(filled, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(LedgerWriteError, match="locked"):
            writer.append("action.started", actor="robot:test")
    finally:
        blocker.execute("ROLLBACK")
    assert verify(filled).checked == 6


def test_read_only_database_refuses_the_append(filled: Path) -> None:
    engine = open_engine(f"sqlite:///file:{filled}?mode=ro&uri=true")
    with pytest.raises(LedgerWriteError, match="readonly|read-only"):
        LedgerWriter(engine).append("action.started", actor="robot:test")
    assert LedgerReader(engine).verify().checked == 6


def test_full_disk_refuses_the_append(filled: Path) -> None:
    engine = open_engine(f"sqlite:///{filled}")

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
    assert verify(filled).ok
