"""Races: the same business transaction started twice at the same moment, many times over,
by two workers with their own connections: exactly one side effect each time. On SQLite and
on PostgreSQL; the lock a worker holds dies with it, so a crash never blocks the retry."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from audit.settings import LedgerSettings
from governance.models import Action
from proctor.composition import build
from proctor.settings import Settings
from tests.conftest import ROOT
from tests.ledger_backends import Backend, backend  # noqa: F401 - fixture

pytestmark = [pytest.mark.race, pytest.mark.serial]  # timing: run alone, repeated in a soak

ROUNDS = 25


def payment(key: str) -> Action:
    return Action(kind="acme.release_payment", target="acme-payables", actor="robot:acme",
                  requested_by="alice", idempotency_key=key,
                  params={"vendor": "Globex Corporation", "invoice_number": key,
                          "amount": "10.00", "currency": "EUR"},
                  context={"invoice_status": "entered"})


def test_two_workers_racing_for_one_key_cause_one_effect(
        settings: Settings, backend: Backend) -> None:  # noqa: F811
    ledger = LedgerSettings(url=backend.url, signing_key=settings.ledger.signing_key,
                            redaction_key=settings.ledger.redaction_key,
                            checkpoint_dir=settings.ledger.checkpoint_dir)
    workers = [build(settings.model_copy(update={"ledger": ledger}), resume_runs=False)
               for _ in range(2)]
    effects: dict[str, int] = {}
    lock = threading.Lock()

    def effect(a: Action) -> dict:
        with lock:
            effects[a.idempotency_key] = effects.get(a.idempotency_key, 0) + 1
        return {"released": a.idempotency_key}

    statuses: list[str] = []
    for n in range(ROUNDS):
        start = threading.Barrier(2)

        def attempt(worker, key=f"race-{n}", start=start) -> None:  # noqa: ANN001
            start.wait()
            statuses.append(worker.gate.submit(payment(key), effect).status)

        threads = [threading.Thread(target=attempt, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert effects == {f"race-{n}": 1 for n in range(ROUNDS)}
    assert sorted(set(statuses)) == ["already_done", "succeeded"]
    assert statuses.count("succeeded") == ROUNDS
    assert workers[0].reader.verify().ok


HOLDER = """
import sys, time
from sqlalchemy import create_engine
from audit.locks import key_lock
with key_lock(create_engine(sys.argv[1]), "held-by-a-dying-worker"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_killed_worker_lets_go_of_its_transaction(backend: Backend) -> None:  # noqa: F811
    from sqlalchemy import create_engine

    from audit import open_engine
    from audit.locks import KeyBusy, key_lock

    open_engine(backend.url).dispose()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, backend.url], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "held"
        engine = create_engine(backend.url)
        with pytest.raises(KeyBusy), key_lock(
                engine, "held-by-a-dying-worker", wait_s=0.5):
            pass
        holder.kill()  # SIGKILL: no cleanup runs
        holder.wait()
        with key_lock(engine, "held-by-a-dying-worker", wait_s=10):
            pass  # free at once
    finally:
        if holder.poll() is None:
            holder.kill()


def test_locks_live_beside_the_sqlite_file(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    from audit.locks import key_lock

    engine = create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    with key_lock(engine, "k"):
        assert len(list((tmp_path / ".ledger.db.locks").glob("*.lock"))) == 1
    assert [p.name for p in tmp_path.glob("ledger.db*")] == []  # not mistaken for the database
