"""Redaction before write: secrets reach the ledger only as keyed hashes that still match."""

from __future__ import annotations

from pathlib import Path

from audit import LedgerReader, LedgerWriter, export_ledger, open_engine
from audit.redaction import Redactor, iban_valid, luhn_valid
from governance.models import Action
from proctor.composition import Governance

IBAN = "CH5604835012345678009"
CARD = "4111 1111 1111 1111"


def test_patterns() -> None:
    assert iban_valid(IBAN) and iban_valid("GB29 NWBK 6016 1331 9268 19")
    assert not iban_valid("CH5604835012345678008")
    assert luhn_valid(CARD) and not luhn_valid("4111 1111 1111 1112")


def test_equal_values_match_without_being_seen() -> None:
    redactor = Redactor(b"k" * 32)
    one = redactor.payload({"new_iban": IBAN, "note": f"pay to {IBAN} now"})
    assert IBAN not in str(one)
    assert one["new_iban"] in one["note"]  # the same value, the same token
    assert Redactor(b"other key" * 4).payload({"x": IBAN})["x"] != one["new_iban"]


def test_marked_named_and_patterned_secrets_are_redacted(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'l.db'}")
    writer = LedgerWriter(engine, redactor=Redactor(b"k" * 32))
    writer.append("t", actor="robot", sensitive=frozenset({"employee_id"}),
                  idempotency_key=f"bank:{IBAN}",
                  payload={"employee_id": "E-4471", "password": "hunter2",
                           "headers": {"Authorization": "Bearer abc.def"}, "card": CARD,
                           "amount": "1250.00", "vendor": "Globex Corporation"})
    raw = (tmp_path / "l.db").read_bytes() + (tmp_path / "l.db-wal").read_bytes()
    for secret in (IBAN, "E-4471", "hunter2", "abc.def", CARD, CARD.replace(" ", "")):
        assert secret.encode() not in raw
    entry = LedgerReader(engine).tail(1)[0]
    assert entry.data()["amount"] == "1250.00" and entry.data()["vendor"] == "Globex Corporation"
    assert LedgerReader(engine).verify().ok


def test_gate_keeps_bank_details_out_of_ledger_and_its_export(governance: Governance,
                                                          tmp_path: Path) -> None:
    action = Action(kind="acme.login", target="acme-payables", robot="robot:x",
                    requested_by="alice", idempotency_key=f"login:{IBAN}",
                    params={"username": "clerk", "account": IBAN},
                    sensitive=frozenset({"username"}))
    first = governance.gate.submit(action, lambda a: {"ok": True})
    again = governance.gate.submit(action, lambda a: {"ok": True})
    assert first.status == "succeeded" and again.status == "already_done"  # keys still match
    export_ledger(governance.reader, governance.checkpoints, tmp_path / "export")
    url = governance.settings.ledger.url.removeprefix("sqlite:///")
    stored = b"".join(p.read_bytes() for p in Path(url).parent.glob("proctor.db*"))
    exported = b"".join(p.read_bytes() for p in (tmp_path / "export").iterdir())
    for blob in (stored, exported):
        assert IBAN.encode() not in blob and b'"clerk"' not in blob
