"""One attempt at a time per idempotency key (the key lock)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from audit.locks import KeyBusy, key_lock
from governance.gate.proposal import CallNext, Proposal
from governance.models import Outcome


class OneAtATime:
    """Two attempts at one idempotency key never overlap (the key lock): the second waits for
    the first and then finds its outcome in the ledger, or, after waiting `wait_s`, stops
    `in_doubt` without starting."""

    def __init__(self, engine: Engine, wait_s: float) -> None:
        self._engine = engine
        self._wait_s = wait_s

    def __call__(self, proposal: Proposal, call_next: CallNext) -> Outcome:
        key = proposal.action.idempotency_key
        if not key:
            return call_next(proposal)
        try:
            with key_lock(self._engine, key, self._wait_s):
                return call_next(proposal)
        except KeyBusy as exc:
            return proposal.answer("in_doubt", message=f"{exc}; not started a second time")
