"""What a queue line says about a request, for any kind of action (not only invoices)."""

from __future__ import annotations

import json

from governance.approvals.views import summary
from governance.models import Action, Decision
from proctor.composition import Governance

DECISION = Decision(outcome="require_approval", reasons=["test"],
                    approver_group="finance-approvers", quorum=1, expires_in_s=3600)


def test_a_queue_line_reads_any_action_masked_cut_and_as_edited(governance: Governance) -> None:
    action = Action(kind="crm.update_contact", target="crm", robot="robot:crm-sync",
                    requested_by="alice", sensitive=frozenset({"phone"}),
                    params={"contact_id": "C-17", "phone": "+44 20 7946 0000",
                            "address": {"city": "Leeds"}, "note": "x" * 100,
                            "empty": "", "priority": 2, "extra": "not shown"})
    request = governance.approvals.open(action, DECISION)
    line = summary(request)
    assert line == ("contact_id C-17 · phone ••••0000 · note " + "x" * 39 + "… · priority 2")
    assert "+44 20 7946 0000" not in line and "Leeds" not in line and "extra" not in line
    # An approver's edit is what the line shows: what will be carried out.
    request.edits_json = json.dumps({"contact_id": "C-18"})
    assert summary(request).startswith("contact_id C-18 · ")
