"""The rules for voting on approval requests, as functions of a request, its votes and the voter.

The store enforces them for the web UI, the REST API and the CLI alike:

- separation of duties: the requester, the flow's author and the robot's service identity never
  vote, nor does anyone acting for them; administrators get no bypass;
- only approvers of the request's group vote (or of the escalation group once the request has
  escalated, or a delegate of such an approver until the delegation ends);
- a quorum counts distinct people, each on behalf of one principal; a second vote changes nothing;
- a vote is for the exact view the approver saw (`seen`: the request's `view_digest`, over the
  rendered action, its run, step, expiry and version); an edit makes a new version;
- an expired request is rejected (fail closed); one rejection is final;
- an approved request is used once, by the action whose digest it holds.

A rule that does not hold raises an `ApprovalError` (or a subclass) whose message says why; the
store records the refusal in the ledger and raises it on.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from governance.approvals.records import ApprovalRequest, ApprovalVote, aware
from governance.errors import (
    ApprovalError,
    ApprovalForbidden,
    ApprovalMismatch,
    ApprovalNotPending,
    ReauthenticationRequired,
    SelfApprovalError,
)
from governance.models import Action, Decision

VotingRight = Callable[[str, set[str]], "tuple[str, str] | None"]
"""`Identity.voting_right`: on whose behalf (and for which group) a person may vote, or None."""

RightsCache = dict[frozenset[str], "tuple[str, str] | None"]
"""One voter's voting rights by set of groups, so that a page of requests asks once per set."""


# --- expiry and escalation ---------------------------------------------------------------------

def deadlines(decision: Decision, now: datetime) -> tuple[datetime, datetime | None]:
    """When a request opened `now` for `decision` expires, and when it escalates (None: it
    never does; escalating to the group that already decides would change nothing)."""
    expires_at = now + timedelta(seconds=decision.expires_in_s or 0)
    escalate_at = None
    if decision.escalation_group and decision.escalate_after_s and \
            decision.escalation_group != decision.approver_group:
        escalate_at = now + timedelta(seconds=decision.escalate_after_s)
    return expires_at, escalate_at


def is_due(request: ApprovalRequest, now: datetime) -> bool:
    """Whether `request`'s expiry or escalation time has come and not been applied."""
    return request.is_expired(now) or (
        request.escalate_at is not None and request.escalated_at is None
        and aware(request.escalate_at) <= now)


# --- who may vote ------------------------------------------------------------------------------

def voting_principal(request: ApprovalRequest, who: str, voting_right: VotingRight,
                     rights: RightsCache | None = None) -> str:
    """On whose behalf `who` may vote on `request`; raises when they may not.

    `rights` caches `who`'s voting rights by group set across calls (one page)."""
    if who in request.conflicted():
        raise SelfApprovalError(
            f"{who} requested this action, wrote its flow or is its robot, and cannot vote "
            f"on it; ask another member of {request.approver_group!r}")
    if request.status != "pending":
        raise ApprovalNotPending(f"request {request.id} is already {request.status}")
    rights = {} if rights is None else rights
    groups = frozenset(request.groups)
    if groups not in rights:
        rights[groups] = voting_right(who, set(groups))
    right = rights[groups]
    if right is None:
        raise ApprovalForbidden(
            f"{who} is not an approver of {' or '.join(sorted(request.groups))} "
            "(nor their delegate) and cannot vote on this request")
    principal = right[0]
    if principal in request.conflicted():
        raise SelfApprovalError(
            f"{who} acts for {principal}, who cannot vote on this request")
    return principal


def check_seen(request: ApprovalRequest, seen: str | None, reauthenticated: bool) -> None:
    """Raise unless the vote is for the view the request has now (`seen`, when given) and, for
    a high-risk request, the voter confirmed their password."""
    if seen is not None and seen != request.view_digest:
        raise ApprovalMismatch(
            f"request {request.id} changed since it was shown (now version "
            f"{request.version}); open it again and decide on what it says now")
    if request.reauthenticate and not reauthenticated:
        raise ReauthenticationRequired(
            "this request is high-risk: confirm your password to vote on it")


# --- counting votes ----------------------------------------------------------------------------

def already_voted(request: ApprovalRequest, votes: Iterable[ApprovalVote], voter: str,
                  principal: str) -> bool:
    """True when `voter` already voted on this version (a second vote counts once); raises when
    someone else already voted on behalf of the same principal."""
    current = [v for v in votes if v.version == request.version]
    if any(v.voter == voter for v in current):
        return True
    if any(v.on_behalf_of == principal for v in current):
        raise ApprovalError(
            f"{principal} has already voted on this version (in person or by a delegate)")
    return False


def quorum_reached(request: ApprovalRequest, votes: Iterable[ApprovalVote]) -> set[str] | None:
    """The principals whose approvals of the current version make the quorum; None while they
    are fewer than `request.quorum`."""
    principals = {v.on_behalf_of for v in votes
                  if v.vote == "approve" and v.version == request.version}
    return principals if len(principals) >= request.quorum else None


# --- edits and use -----------------------------------------------------------------------------

def edit_changes(request: ApprovalRequest, edits: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The parameters `edits` change, as (before, after); raises when an edit is not allowed:
    an unknown or masked parameter, a value that is not text, is empty, or hides invisible or
    control characters."""
    current = request.view["params"]
    changes: dict[str, tuple[Any, Any]] = {}
    for key, value in edits.items():
        problem = None
        if key not in current:
            problem = f"{key!r} is not a parameter of this action"
        elif key in request.sensitive:
            problem = f"{key!r} is masked and cannot be edited here; reject the request instead"
        elif not isinstance(value, str) or not isinstance(current[key], str):
            problem = f"{key!r}: only text parameters can be edited"
        elif hidden := invisible(value):
            problem = f"{key!r} holds an invisible or control character ({hidden})"
        elif not value.strip():
            problem = f"{key!r} cannot be empty"
        elif value != current[key]:
            changes[key] = (current[key], value)
        if problem:
            raise ApprovalError(f"edit refused: {problem}")
    return changes


def invisible(text: str) -> str | None:
    """The first invisible, control or variation-selector character in `text` (as U+XXXX)."""
    for ch in text:
        if unicodedata.category(ch) in ("Cf", "Cc", "Co", "Cs", "Cn") or \
                0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF:
            return f"U+{ord(ch):04X}"
    return None


def use_refusal(request: ApprovalRequest, action: Action) -> tuple[str, ApprovalError] | None:
    """Why `request` may not be spent on `action`, as (the reason the ledger records, the error
    to raise); None when it may: approved, not used yet, and for this exact action."""
    if request.action_digest != action.digest():
        return "approval belongs to a different action", ApprovalMismatch(
            f"approval {request.id} was given for action digest {request.action_digest[:12]}, "
            f"not {action.digest()[:12]}: the action changed after it was approved")
    if request.status != "approved" or request.used_at is not None:
        state = "already used" if request.used_at else request.status
        return f"approval is {state}", ApprovalNotPending(
            f"approval {request.id} is {state}; it cannot be used")
    return None
