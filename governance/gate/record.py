"""Record: the proposal and its decision become durable together, before anything happens."""

from __future__ import annotations

from dataclasses import replace

from audit import LedgerWriter
from governance.gate.entries import proposed_and_decided
from governance.gate.proposal import CallNext, Proposal
from governance.models import Outcome


class Record:
    """Appends `action.proposed` and `policy.decided` (with the policy revision), and any
    findings, in one commit: all of them or none. A write that fails raises
    `audit.LedgerWriteError`, so nothing after it runs. A denied proposal stops here."""

    def __init__(self, writer: LedgerWriter) -> None:
        self._writer = writer

    def __call__(self, proposal: Proposal, call_next: CallNext) -> Outcome:
        decision = proposal.decided
        self._writer.append_all([*proposed_and_decided(proposal.action, decision),
                                 *proposal.findings])
        if decision.outcome == "deny":
            return proposal.answer("denied", message=", ".join(decision.reasons))
        return call_next(replace(proposal, findings=()))
