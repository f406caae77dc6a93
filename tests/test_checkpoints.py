"""Signed checkpoints, proofs and offline exports: every kind of tampering is caught and named.
Durability under SIGKILL and many writer processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from audit import (
    Checkpoints,
    LedgerReader,
    LedgerWriter,
    export_ledger,
    open_engine,
    verify_export,
)
from audit.chain import GENESIS_HASH, entry_hash
from audit.keys import load_or_create_signing_key, public_pem
from tests.ledger_backends import Backend, backend  # noqa: F401 - fixture

WRITER = [sys.executable, str(Path(__file__).parent / "ledger_writer_proc.py")]


@pytest.fixture
def ledger(tmp_path: Path):
    engine = open_engine(f"sqlite:///{tmp_path / 'l.db'}")
    checkpoints = Checkpoints(engine, load_or_create_signing_key(tmp_path / "k.pem"),
                              tmp_path / "cps")
    writer = LedgerWriter(engine, checkpoints=checkpoints, checkpoint_every=8)
    for i in range(20):
        writer.append("t", actor="robot", payload={"i": i})
    checkpoints.make()
    return engine, checkpoints, LedgerReader(engine), tmp_path


@pytest.fixture
def export(ledger) -> Path:
    engine, checkpoints, reader, tmp = ledger
    export_ledger(reader, checkpoints, tmp / "export")
    return tmp / "export"


def lines(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "entries.jsonl").read_text().splitlines()]


def write_lines(folder: Path, rows: list[dict]) -> None:
    (folder / "entries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_checkpoints_made_at_the_interval_and_written_as_files(ledger) -> None:
    _, checkpoints, reader, tmp = ledger
    assert [c.size for c in checkpoints.all()] == [8, 16, 20]
    assert sorted(p.name for p in (tmp / "cps").iterdir())[0] == "checkpoint-000000000008.json"
    result = reader.verify(checkpoints.all(), checkpoints.public_key)
    assert result.ok and result.checkpoints == 3


def test_export_verifies_offline(export: Path, ledger) -> None:
    result = verify_export(export, ledger[1].public_key)
    assert result.ok and result.checked == 20
    out = subprocess.run([sys.executable, "-m", "proctor.cli", "audit", "verify", "--export",
                          str(export)], capture_output=True, text=True)
    assert out.returncode == 0 and "3 signed checkpoints match" in out.stdout


def test_one_changed_byte_is_named(export: Path) -> None:
    rows = lines(export)
    rows[11]["payload"] = rows[11]["payload"].replace("11", "12")
    write_lines(export, rows)
    result = verify_export(export)
    assert not result.ok and result.first_bad_seq == 12 and "altered" in result.problem


def test_deleted_entry_is_named(export: Path) -> None:
    rows = lines(export)
    write_lines(export, rows[:4] + rows[5:])
    result = verify_export(export)
    assert result.first_bad_seq == 5 and "missing" in result.problem


def test_swapped_entries_are_named(export: Path) -> None:
    rows = lines(export)
    rows[6], rows[9] = rows[9], rows[6]
    write_lines(export, rows)
    assert verify_export(export).first_bad_seq == 7


def test_truncated_tail_is_named(export: Path) -> None:
    write_lines(export, lines(export)[:17])
    result = verify_export(export)
    assert result.first_bad_seq == 18 and "truncated" in result.problem


def test_truncated_and_forged_tail_is_named(export: Path) -> None:
    # The forger keeps a perfect hash chain; only the signed checkpoints give it away.
    rows = lines(export)[:10]
    for seq in range(11, 21):
        row = {**rows[-1], "seq": seq, "payload": json.dumps({"i": seq, "forged": True}),
               "prev_hash": rows[-1]["entry_hash"]}
        row["entry_hash"] = entry_hash(row)
        rows.append(row)
    write_lines(export, rows)
    result = verify_export(export)
    assert not result.ok and result.first_bad_seq == 9 and "forked" in result.problem


def test_resigned_with_another_key_is_caught(export: Path, ledger, tmp_path: Path) -> None:
    from audit.checkpoints import Checkpoint
    from audit.keys import key_id, sign

    mallory = load_or_create_signing_key(tmp_path / "mallory.pem")
    forged = []
    for c in json.loads((export / "checkpoints.json").read_text()):
        cp = Checkpoint(**{**c, "key_id": key_id(mallory.public_key())})
        cp.signature = sign(mallory, cp.message())
        forged.append(cp.model_dump())
    (export / "checkpoints.json").write_text(json.dumps(forged))
    (export / "public_key.pem").write_text(public_pem(mallory.public_key()))
    result = verify_export(export, ledger[1].public_key)
    assert not result.ok and "not the trusted key" in result.problem
    (export / "public_key.pem").write_text(public_pem(ledger[1].public_key))
    result = verify_export(export, ledger[1].public_key)
    assert not result.ok and result.first_bad_seq == 8 and "bad signature" in result.problem


def test_live_rewrite_after_a_checkpoint_is_named(backend: Backend, tmp_path: Path) -> None:  # noqa: F811
    engine = open_engine(backend.url)
    checkpoints = Checkpoints(engine, load_or_create_signing_key(tmp_path / "k.pem"))
    writer = LedgerWriter(engine)
    for i in range(12):
        writer.append("t", actor="robot", payload={"i": i})
        if i == 5:
            checkpoints.make()
    checkpoints.make()
    # An administrator rewrites entry 9 and re-chains everything after it.
    rows = list(LedgerReader(engine).rows())
    prev = rows[7]["entry_hash"]
    statements = []
    for row in rows[8:]:
        row = {**row, "prev_hash": prev,
               "actor": "mallory" if row["seq"] == 9 else row["actor"]}
        row["entry_hash"] = entry_hash(row)
        prev = row["entry_hash"]
        statements.append(f"UPDATE ledger_entries SET actor = '{row['actor']}', prev_hash = "
                          f"'{row['prev_hash']}', entry_hash = '{row['entry_hash']}' "
                          f"WHERE seq = {row['seq']}")
    backend.tamper(*statements)
    reader = LedgerReader(engine)
    assert reader.verify().ok  # the chain alone cannot tell
    result = reader.verify(checkpoints.all(), checkpoints.public_key)
    assert not result.ok and result.first_bad_seq == 7 and "after entry 6" in result.problem


def test_inclusion_proof_from_the_cli(tmp_path: Path) -> None:
    env = {**os.environ, "PROCTOR_LEDGER_URL": f"sqlite:///{tmp_path / 'l.db'}",
           "PROCTOR_LEDGER_SIGNING_KEY": str(tmp_path / "k.pem"),
           "PROCTOR_LEDGER_CHECKPOINT_DIR": str(tmp_path / "cps")}
    writer = LedgerWriter(open_engine(env["PROCTOR_LEDGER_URL"]))
    for i in range(13):
        writer.append("t", actor="robot", payload={"i": i})
    cli = [sys.executable, "-m", "proctor.cli", "audit"]
    assert subprocess.run([*cli, "checkpoint"], env=env, capture_output=True).returncode == 0
    proof = json.loads(subprocess.run([*cli, "prove", "5"], env=env, capture_output=True,
                                      text=True).stdout)
    assert proof["verified"] is True and proof["tree_size"] == 13 and len(proof["proof"]) == 4
    assert GENESIS_HASH not in proof["proof"]
    for i in range(13, 20):
        writer.append("t", actor="robot", payload={"i": i})
    subprocess.run([*cli, "checkpoint"], env=env, capture_output=True, check=True)
    consistent = json.loads(subprocess.run([*cli, "consistency", "13", "20"], env=env,
                                           capture_output=True, text=True).stdout)
    assert consistent["verified"] is True and consistent["proof"]


def test_sigkill_loses_no_acknowledged_entry(backend: Backend) -> None:  # noqa: F811
    open_engine(backend.url).dispose()  # create the table before the writer races for it
    writer = subprocess.Popen([*WRITER, backend.url, "victim", "100000"],
                              stdout=subprocess.PIPE, text=True)
    acknowledged = [int(writer.stdout.readline()) for _ in range(150)]
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    reader = LedgerReader(open_engine(backend.url))
    result = reader.verify()
    assert result.ok
    assert result.checked >= acknowledged[-1]


def test_writer_processes_make_one_order(backend: Backend) -> None:  # noqa: F811
    open_engine(backend.url).dispose()
    procs = [subprocess.Popen([*WRITER, backend.url, f"w{n}", "40"], stdout=subprocess.PIPE,
                              text=True) for n in range(4)]
    acks = [sorted(int(line) for line in p.communicate()[0].split()) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    everything = sorted(seq for ack in acks for seq in ack)
    assert everything == list(range(1, 161))  # no gap, no seq handed out twice
    assert LedgerReader(open_engine(backend.url)).verify().ok
