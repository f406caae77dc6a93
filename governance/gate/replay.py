"""Replay: a business transaction already recorded as done is not done again."""

from __future__ import annotations

from audit import LedgerReader, LedgerWriter
from governance.events import DIVERGED_KINDS, DONE_KINDS, OUTCOME_KINDS
from governance.gate.entries import record
from governance.gate.proposal import CallNext, Proposal
from governance.models import Outcome


class Replay:
    """Answers from the ledger when an earlier attempt at the same idempotency key succeeded,
    and asks the application (`reconcile`) when an earlier attempt has no certain outcome.

    An effect that happened but was read back other than approved (`action.diverged`, or
    `action.unverified`) is not done again either: it is answered `diverged` again, with the
    `on_divergence` recorded then, so a rerun stops where the first run stopped."""

    def __init__(self, reader: LedgerReader, writer: LedgerWriter) -> None:
        self._reader = reader
        self._writer = writer

    def __call__(self, proposal: Proposal, call_next: CallNext) -> Outcome:
        action = proposal.action
        if not action.idempotency_key:
            return call_next(proposal)
        last = self._reader.last_of(action.idempotency_key, OUTCOME_KINDS)
        if last is None or (last.kind == "action.failed" and last.data().get("business")):
            return call_next(proposal)  # never tried, or the app refused it: a new question
        if last.kind in DIVERGED_KINDS:
            data = last.data()
            what = (f"{', '.join(data.get('fields', []))} differed"
                    if last.kind == "action.diverged" else "it could not be read back")
            return proposal.answer("diverged", on_divergence=data.get("on_divergence", "flag"),
                                   message=f"done earlier, but {what} (ledger entry {last.seq}); "
                                           "not done again: check the application")
        if last.kind in DONE_KINDS:
            return proposal.answer("already_done", result=last.data().get("result", {}),
                                   message=f"done earlier (ledger entry {last.seq})")
        # Started, then crashed or failed for a system reason: it may have happened.
        if proposal.reconcile is None:
            record(self._writer, action, "action.in_doubt", {"earlier_entry": last.seq})
            return proposal.answer("in_doubt", message=(
                f"an earlier attempt (ledger entry {last.seq}) has no certain outcome; check the "
                "application and record the result before running it again"))
        found = proposal.reconcile(action)
        if found is None:
            record(self._writer, action, "action.reconcile_checked",
                   {"earlier_entry": last.seq, "found": False})
            return call_next(proposal)
        record(self._writer, action, "action.reconciled",
               {"earlier_entry": last.seq, "result": found})
        return proposal.answer("reconciled", result=found,
                               message=f"found in the application after attempt {last.seq}")
