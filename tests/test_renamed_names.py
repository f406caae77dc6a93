"""Names that changed to the glossary's (docs/concepts.md) while records under the old names
exist: an action stored with `actor`, an approval request whose column is `evidence_json`, a ledger
export made as an "evidence bundle". Each is still read, and means the same thing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect, text

from audit import export_ledger
from governance.approvals.store import view_digest
from governance.models import Action, Decision
from proctor.composition import Governance

# Written by the code before the rename (`Action.actor`), digest computed by that code.
OLD_ACTION = ('{"id":"a1","kind":"crm.update_contact","target":"crm","actor":"robot:crm-sync",'
              '"requested_by":"alice","params":{"contact_id":"C-17","phone":"+44 20 7946 0000"},'
              '"context":{},"flow_run_id":"run-1","step":"update","flow_author":null,'
              '"idempotency_key":"crm:C-17","sensitive":[]}')
OLD_DIGEST = "e8ac56b1b53f3e59356b7e8bb6a1f5265ed47df480fa07bcd0e2f194b8eba3b0"


def test_an_action_stored_with_actor_loads_as_robot_with_the_same_digest() -> None:
    old = Action.model_validate_json(OLD_ACTION)
    assert old.robot == "robot:crm-sync"
    assert old.digest() == OLD_DIGEST  # votes bound to old digests still match
    fields = json.loads(OLD_ACTION)
    fields["robot"] = fields.pop("actor")
    new = Action(**fields)
    assert new == old and new.digest() == OLD_DIGEST
    assert "robot" in new.model_dump() and "actor" not in new.model_dump()
    assert new.policy_input()["action"]["robot"] == "robot:crm-sync"


def test_a_request_stored_before_the_rename_keeps_its_view_digest(
        governance: Governance) -> None:
    action = Action(kind="crm.update_contact", target="crm", robot="robot:crm-sync",
                    requested_by="alice", params={"contact_id": "C-17", "amount": "25000.00"})
    decision = Decision(outcome="require_approval", reasons=["test"],
                        approver_group="finance-approvers", quorum=1, expires_in_s=3600)
    request = governance.approvals.open(action, decision, {"screenshot": "ab" * 32})
    stored = json.loads(request.action_json)
    assert stored["robot"] == "robot:crm-sync" and "actor" not in stored
    before = view_digest(request)
    stored["actor"] = stored.pop("robot")  # the same request as the old code stored it
    request.action_json = json.dumps(stored)
    assert view_digest(request) == before
    # The preview lives in the column's first name; the store reads it back as `preview`.
    columns = {c["name"] for c in inspect(governance.engine).get_columns("approval_requests")}
    assert "evidence_json" in columns and "preview_json" not in columns
    with governance.engine.connect() as conn:
        raw = conn.execute(text("SELECT evidence_json FROM approval_requests WHERE id = :id"),
                           {"id": request.id}).scalar_one()
    assert json.loads(raw) == {"screenshot": "ab" * 32}
    assert governance.approvals.get(request.id).preview == {"screenshot": "ab" * 32}


def test_an_export_verifies_under_the_old_option_name_and_a_bad_key_is_named(
        governance: Governance, tmp_path: Path) -> None:
    governance.writer.append("test.entry", actor="alice", payload={"n": 1})
    out = tmp_path / "export"
    manifest = export_ledger(governance.reader, governance.checkpoints, out)
    assert manifest["format"] == "proctor-ledger-export/v1"
    key = tmp_path / "trusted.pem"
    key.write_bytes((out / "public_key.pem").read_bytes())
    cli = [sys.executable, "-m", "proctor.cli", "audit", "verify"]
    for option in ("--export", "--bundle"):  # --bundle: its older name
        done = subprocess.run([*cli, option, str(out), "--public-key", str(key)],
                              capture_output=True, text=True)
        assert done.returncode == 0 and "OK" in done.stdout, done.stderr
    not_pem = tmp_path / "not-a-key.pem"
    not_pem.write_text("hello\n")
    done = subprocess.run([*cli, "--export", str(out), "--public-key", str(not_pem)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "not-a-key.pem is not an Ed25519 public key in PEM form" in done.stderr
    done = subprocess.run([*cli, "--export", str(out), "--public-key", str(tmp_path / "no.pem")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "cannot read the public key" in done.stderr
