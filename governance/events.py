"""The ledger vocabulary of governance: which entry kinds settle a business transaction, and the
filters over actions auditors query by. The ledger (`audit`) knows no event names; the
composition root hands these filters to its `LedgerReader`.

    reader = LedgerReader(engine, action_filters=ACTION_FILTERS)
    reader.query(decision="deny")                 # every entry of the actions policy denied
    reader.last_of(key, OUTCOME_KINDS)            # what became of a business transaction
"""

from __future__ import annotations

import json

from audit import ActionFilter

# Outcome kinds that settle what happened to an idempotency key. `action.diverged` and
# `action.unverified` follow the `action.succeeded` of an effect whose read-back differed from
# what was approved, or failed (`governance.gate.verify`): the effect happened all the same.
# (`action.verified` is a note on a success, not an outcome: the success stays the last word.)
OUTCOME_KINDS = ("action.succeeded", "action.reconciled", "action.failed", "action.started",
                 "action.diverged", "action.unverified")
# Of those, the kinds saying the effect happened: never do it again.
DONE_KINDS = ("action.succeeded", "action.reconciled", "action.diverged", "action.unverified")
# Of those, the kinds saying it happened but the app holds (or may hold) something else.
DIVERGED_KINDS = ("action.diverged", "action.unverified")
DECISIONS = ("allow", "deny", "require_approval")


def _decision(value: str) -> None:
    if value not in DECISIONS:
        raise ValueError("decision must be allow, deny or require_approval")


def _revision(value: str) -> None:
    if not all(c in "0123456789abcdef" for c in value):
        raise ValueError("policy_revision must be (a prefix of) a hex revision hash")


# Each selects every entry of the actions that: a robot proposed (robot), policy decided so
# (decision), a person voted on (approver), a policy revision (prefix) decided (policy_revision).
ACTION_FILTERS: dict[str, ActionFilter] = {
    "robot": ActionFilter("action.proposed", by_actor=True),
    "decision": ActionFilter("policy.decided", fragment=lambda v: f'"outcome":{json.dumps(v)}',
                             check=_decision),
    "approver": ActionFilter("approval.voted", by_actor=True),
    "policy_revision": ActionFilter("policy.decided",
                                    fragment=lambda v: f'"policy_revision":"{v}',
                                    check=_revision),
}
