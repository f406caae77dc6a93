"""Approval requests: a store bound to action digests, and the rules for voting on them.

    approvals = Approvals(engine, ledger, identity)
    request = approvals.open(action, decision)            # a pending request
    approvals.approve(request.id, "bob", seen=request.view_digest)
    to_run = approvals.use(request.id, action)             # once, only for this exact action

The rules, enforced here for the web UI, the REST API and the CLI alike:

- separation of duties: the requester, the flow's author and the robot's service identity never
  vote, nor does anyone acting for them; administrators get no bypass;
- only approvers of the request's group vote (or of the escalation group once the request has
  escalated, or a delegate of such an approver until the delegation ends);
- a quorum counts distinct people, each on behalf of one principal; a second vote changes nothing;
- a vote is for the exact view the approver saw (`seen`: the request's `view_digest`, over the
  rendered action, its run, step, expiry and version); an edit makes a new version;
- an expired request is rejected (fail closed); one rejection is final;
- an approved request is used once, by the action whose digest it holds.

Every event (requested, voted, edited, escalated, approved, rejected, expired, refused, used)
goes to the ledger before the store changes, so the store never says more than the ledger.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from uuid import uuid4

from sqlalchemy import Index, UniqueConstraint, func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from audit import LedgerWriter, canonical_json, ensure_tables
from audit.store import WRITE_OPTION
from governance.errors import (
    ApprovalError,
    ApprovalForbidden,
    ApprovalMismatch,
    ApprovalNotPending,
    ReauthenticationRequired,
    SelfApprovalError,
)
from governance.identity.users import Identity
from governance.models import Action, Decision

log = logging.getLogger(__name__)

ApprovalStatus = Literal["pending", "approved", "rejected", "expired"]
STATUSES: tuple[str, ...] = ("pending", "approved", "rejected", "expired")
Listener = Callable[[str, "ApprovalRequest"], None]


def _now() -> datetime:
    return datetime.now(UTC)


class ApprovalRequest(SQLModel, table=True):
    """A pending or resolved request for a human decision on one exact action."""

    __tablename__ = "approval_requests"
    __table_args__ = (Index("ix_approval_queue", "status", "created_at", "id"),
                      # The sweeper's two questions, answered without a scan of the queue.
                      Index("ix_approval_due_expiry", "status", "expires_at"),
                      Index("ix_approval_due_escalation", "status", "escalate_at"))

    id: str = Field(primary_key=True)
    action_id: str
    action_kind: str = Field(index=True)
    action_digest: str = Field(index=True, description="SHA-256 of the clear action proposed")
    action_json: str = Field(description="the action as shown to approvers (masked)")
    sensitive_json: str = Field(default="[]", description="names of masked parameters")
    evidence_json: str = Field(default="{}", description="hashes of what the robot saw")
    flow_run_id: str | None = Field(default=None, index=True)
    step: str | None = None
    requested_by: str = Field(index=True)
    robot: str
    flow_author: str | None = None
    approver_group: str = Field(index=True)
    escalation_group: str | None = None
    escalate_at: datetime | None = None
    escalated_at: datetime | None = None
    quorum: int
    reasons_json: str
    policy_revision: str
    reauthenticate: bool = False
    amount: float | None = Field(default=None, index=True)
    status: str = Field(default="pending", index=True)
    created_at: datetime
    expires_at: datetime
    resolved_at: datetime | None = None
    used_at: datetime | None = None
    version: int = 1
    edits_json: str | None = None
    edited_by: str | None = None
    view_digest: str = ""

    @property
    def action(self) -> dict[str, Any]:
        """The action as proposed, masked."""
        return json.loads(self.action_json)

    @property
    def view(self) -> dict[str, Any]:
        """The action as it will be carried out: as proposed, with any approver's edits."""
        view = self.action
        view["params"] = {**view["params"], **self.edits}
        return view

    @property
    def edits(self) -> dict[str, Any]:
        return json.loads(self.edits_json) if self.edits_json else {}

    @property
    def sensitive(self) -> list[str]:
        return json.loads(self.sensitive_json)

    @property
    def evidence(self) -> dict[str, Any]:
        return json.loads(self.evidence_json)

    @property
    def reasons(self) -> list[str]:
        return json.loads(self.reasons_json)

    @property
    def expires_at_utc(self) -> datetime:
        return _aware(self.expires_at)

    @property
    def groups(self) -> set[str]:
        """The groups whose approvers may vote now."""
        groups = {self.approver_group}
        if self.escalated_at is not None and self.escalation_group:
            groups.add(self.escalation_group)
        return groups

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at_utc <= now

    def conflicted(self) -> set[str]:
        """Who may never vote on this request (separation of duties)."""
        return {p for p in (self.requested_by, self.robot, self.flow_author) if p}


class ApprovalVote(SQLModel, table=True):
    """One person's vote on one version of a request."""

    __tablename__ = "approval_votes"
    __table_args__ = (UniqueConstraint("request_id", "voter", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(foreign_key="approval_requests.id", index=True)
    voter: str
    on_behalf_of: str
    vote: str
    comment: str = ""
    version: int = 1
    view_digest: str = ""
    at: datetime


@dataclass(frozen=True)
class QueueFilter:
    """Which requests a queue page shows. `groups` None: every group (auditors, admins)."""

    status: str | None = "pending"
    groups: frozenset[str] | None = None
    requested_by: str | None = None
    reason: str | None = None
    action_kind: str | None = None
    min_age_s: float | None = None
    max_age_s: float | None = None
    min_amount: float | None = None
    max_amount: float | None = None


@dataclass(frozen=True)
class QueuePage:
    items: list[ApprovalRequest]
    next_cursor: str | None
    total: int


@dataclass(frozen=True)
class BulkResult:
    request_id: str
    ok: bool
    status: str
    message: str = ""


class Approvals:
    """The approvals service shared by the Gate, the review UI, the REST API and the CLI."""

    def __init__(
        self,
        engine: Engine,
        ledger: LedgerWriter,
        identity: Identity,
        *,
        clock: Callable[[], datetime] = _now,
        listeners: Iterable[Listener] = (),
    ) -> None:
        self._engine = engine
        # Read-modify-write transactions begin as writers (SQLite: BEGIN IMMEDIATE): a reader
        # that later writes fails at once ("database is locked") when another wrote meanwhile,
        # as the sweeper and a queue page escalating the same request do.
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._ledger = ledger
        self.identity = identity
        self._clock = clock
        self._listeners = list(listeners)
        ensure_tables(engine, [ApprovalRequest.__table__, ApprovalVote.__table__])

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(event, request)` after requested, escalated, approved, rejected and
        expired events (notifications, resuming the waiting run). Failures are logged only."""
        self._listeners.append(listener)

    # --- reading -----------------------------------------------------------------------------

    def get(self, request_id: str) -> ApprovalRequest:
        with Session(self._engine) as session:
            request = session.get(ApprovalRequest, request_id)
        if request is None:
            raise ApprovalError(f"no approval request with id {request_id!r}")
        return request

    def list(self, status: ApprovalStatus | None = None) -> list[ApprovalRequest]:
        stmt = select(ApprovalRequest).order_by(col(ApprovalRequest.created_at))
        if status is not None:
            stmt = stmt.where(ApprovalRequest.status == status)
        with Session(self._engine) as session:
            return list(session.exec(stmt).all())

    def page(self, query: QueueFilter, *, after: str | None = None,
             limit: int = 50) -> QueuePage:
        """One page of the queue, oldest first, by keyset (fast at any depth)."""
        self.sweep()
        now = self._clock()
        conditions: list[Any] = []
        if query.status:
            conditions.append(ApprovalRequest.status == query.status)
        if query.groups is not None:
            conditions.append(or_(
                col(ApprovalRequest.approver_group).in_(sorted(query.groups)),
                (col(ApprovalRequest.escalation_group).in_(sorted(query.groups))
                 & col(ApprovalRequest.escalated_at).is_not(None))))
        if query.requested_by:
            conditions.append(ApprovalRequest.requested_by == query.requested_by)
        if query.reason:
            conditions.append(col(ApprovalRequest.reasons_json).contains(
                json.dumps(query.reason)))
        if query.action_kind:
            conditions.append(ApprovalRequest.action_kind == query.action_kind)
        if query.min_age_s is not None:
            conditions.append(col(ApprovalRequest.created_at)
                              <= now - timedelta(seconds=query.min_age_s))
        if query.max_age_s is not None:
            conditions.append(col(ApprovalRequest.created_at)
                              >= now - timedelta(seconds=query.max_age_s))
        if query.min_amount is not None:
            conditions.append(col(ApprovalRequest.amount) >= query.min_amount)
        if query.max_amount is not None:
            conditions.append(col(ApprovalRequest.amount) <= query.max_amount)
        stmt = select(ApprovalRequest).where(*conditions)
        if after:
            created, request_id = _decode_cursor(after)
            stmt = stmt.where(or_(col(ApprovalRequest.created_at) > created,
                                  (col(ApprovalRequest.created_at) == created)
                                  & (col(ApprovalRequest.id) > request_id)))
        stmt = stmt.order_by(col(ApprovalRequest.created_at), col(ApprovalRequest.id))
        with Session(self._engine) as session:
            items = list(session.exec(stmt.limit(limit + 1)).all())
            total = session.exec(select(func.count()).select_from(ApprovalRequest)
                                 .where(*conditions)).one()
        more = len(items) > limit
        items = items[:limit]
        cursor = _encode_cursor(items[-1]) if more and items else None
        return QueuePage(items, cursor, int(total))

    def votes(self, request_id: str) -> list[ApprovalVote]:
        stmt = select(ApprovalVote).where(ApprovalVote.request_id == request_id)
        with Session(self._engine) as session:
            return list(session.exec(stmt.order_by(col(ApprovalVote.at))).all())

    def may_vote(self, request: ApprovalRequest, who: str) -> str | None:
        """Why `who` may not vote on `request` now, or None when they may."""
        return self.may_vote_on([request], who)[request.id]

    def may_vote_on(self, requests: Iterable[ApprovalRequest], who: str) -> dict[str, str | None]:
        """`may_vote` for a page of requests, looking up `who`'s voting rights once per set of
        groups instead of once per request."""
        rights: dict[frozenset[str], tuple[str, str] | None] = {}
        answers: dict[str, str | None] = {}
        for request in requests:
            try:
                self._check_voter(request, who, rights)
            except ApprovalError as exc:
                answers[request.id] = str(exc)
            else:
                answers[request.id] = None
        return answers

    # --- the life of a request ---------------------------------------------------------------

    def open(self, action: Action, decision: Decision,
             evidence: dict[str, Any] | None = None) -> ApprovalRequest:
        """A pending request for `action`, as the policy's `decision` asks.

        A run that proposes the same action again (it was resumed after a suspension, or
        retried) gets its request back instead of a second one: pending, approved and not yet
        used, or rejected or expired (a rejection stays final when the run starts again).
        """
        existing = self._open_for(action.digest())
        if existing is not None:
            return existing
        now = self._clock()
        expires_at = now + timedelta(seconds=decision.expires_in_s or 0)
        escalate_at = None
        if decision.escalation_group and decision.escalate_after_s and \
                decision.escalation_group != decision.approver_group:
            escalate_at = now + timedelta(seconds=decision.escalate_after_s)
        request = ApprovalRequest(
            id=uuid4().hex,
            action_id=action.id,
            action_kind=action.kind,
            action_digest=action.digest(),
            action_json=json.dumps(masked_view(action), ensure_ascii=False),
            sensitive_json=json.dumps(sorted(action.sensitive)),
            evidence_json=json.dumps(evidence or {}),
            flow_run_id=action.flow_run_id,
            step=action.step,
            requested_by=action.requested_by,
            robot=action.actor,
            flow_author=action.flow_author,
            approver_group=decision.approver_group or "",
            escalation_group=decision.escalation_group if escalate_at else None,
            escalate_at=escalate_at,
            quorum=decision.quorum,
            reasons_json=json.dumps(decision.reasons),
            policy_revision=decision.policy_revision,
            reauthenticate=decision.reauthenticate,
            amount=_amount(action.params.get("amount")),
            created_at=now,
            expires_at=expires_at,
        )
        request.view_digest = view_digest(request)
        self._record(request, "approval.requested", {
            "approver_group": request.approver_group,
            "escalation_group": request.escalation_group,
            "escalate_at": escalate_at.isoformat() if escalate_at else None,
            "quorum": request.quorum,
            "reasons": decision.reasons,
            "requested_by": request.requested_by,
            "flow_author": request.flow_author,
            "step": request.step,
            "expires_at": request.expires_at.isoformat(),
            "policy_revision": decision.policy_revision,
            "reauthenticate": request.reauthenticate,
            "view_digest": request.view_digest,
            "evidence": evidence or {},
        })
        with Session(self._engine) as session:
            session.add(request)
            session.commit()
            session.refresh(request)
        self._emit("requested", request)
        return request

    def approve(self, request_id: str, approver: str, comment: str = "", *,
                seen: str | None = None, reauthenticated: bool = False) -> ApprovalRequest:
        """Vote to approve; the request is approved once `quorum` distinct people agree.

        `seen` is the `view_digest` of the request as the approver saw it (the web UI and the
        API always send it): a request that changed since is refused, not approved.
        """
        return self._vote(request_id, approver, "approve", comment, seen, reauthenticated)

    def reject(self, request_id: str, approver: str, comment: str, *,
               seen: str | None = None, reauthenticated: bool = False) -> ApprovalRequest:
        """Reject the request; one rejection is final. A comment saying why is required."""
        if not comment.strip():
            raise ApprovalError("a rejection needs a comment that says why")
        return self._vote(request_id, approver, "reject", comment, seen, reauthenticated)

    def approve_with_edits(self, request_id: str, approver: str, edits: dict[str, Any],
                           comment: str = "", *, seen: str | None = None,
                           reauthenticated: bool = False) -> ApprovalRequest:
        """Change some parameters and approve the changed action.

        The edit makes a new version of the request: votes given for the old one no longer
        count, and the edit is the editor's vote for the new one. When the run resumes, the
        edited action goes through policy again, and the approval is good only for it.
        Masked (sensitive) parameters cannot be edited; an edit may not carry invisible or
        control characters.
        """
        request = self._refresh(self.get(request_id))
        principal = self._check_vote(request, approver, seen, reauthenticated)
        changes = self._check_edits(request, approver, edits)
        if not changes:
            return self.approve(request_id, approver, comment, seen=seen,
                                reauthenticated=reauthenticated)
        new_edits = {**request.edits, **{k: new for k, (_, new) in changes.items()}}
        edited = request.model_copy(update={"edits_json": json.dumps(new_edits, ensure_ascii=False),
                                            "version": request.version + 1,
                                            "edited_by": approver})
        digest = view_digest(edited)
        self._record(request, "approval.edited", {
            "editor": approver, "on_behalf_of": principal, "comment": comment,
            "changes": {k: {"from": old, "to": new} for k, (old, new) in changes.items()},
            "version": edited.version, "view_digest": digest}, actor=approver)
        self._update(request.id, edits_json=edited.edits_json, version=edited.version,
                     edited_by=approver, view_digest=digest)
        return self._vote(request_id, approver, "approve", comment, digest, reauthenticated)

    def bulk_approve(self, seen: dict[str, str], approver: str, reason: str, *,
                     reauthenticated: bool = False) -> list[BulkResult]:
        """Approve several requests that share the policy reason `reason`, each on its own:
        each gets its own vote and ledger entries, and each may be refused on its own.

        `seen` maps each request id to the `view_digest` the approver was shown, as for single
        votes: a request that changed since is refused."""
        results = []
        for request_id, digest in seen.items():
            try:
                request = self.get(request_id)
                if reason not in request.reasons:
                    raise ApprovalError(f"request {request_id} is not for reason {reason!r}")
                done = self.approve(request_id, approver, f"bulk approval: {reason}",
                                    seen=digest, reauthenticated=reauthenticated)
                results.append(BulkResult(request_id, True, done.status))
            except ApprovalError as exc:
                results.append(BulkResult(request_id, False, "refused", str(exc)))
        return results

    def expire_if_due(self, request_id: str) -> ApprovalRequest:
        """The request, with expiry and escalation applied if their time has come."""
        return self._refresh(self.get(request_id))

    def sweep(self) -> tuple[int, int]:
        """Expire and escalate every request whose time has come: (expired, escalated)."""
        now = self._clock()
        with Session(self._engine) as session:
            due = list(session.exec(select(ApprovalRequest).where(
                ApprovalRequest.status == "pending",
                or_(col(ApprovalRequest.expires_at) <= now,
                    (col(ApprovalRequest.escalate_at) <= now)
                    & col(ApprovalRequest.escalated_at).is_(None)))).all())
        expired = escalated = 0
        for request in due:
            after = self._refresh(request)
            expired += after.status == "expired"
            escalated += after.escalated_at is not None and request.escalated_at is None
        return expired, escalated

    def use(self, request_id: str, action: Action) -> Action:
        """Spend an approved request on `action`; what to carry out (with any approver's edits).

        Valid once, and only for the action whose digest the request holds.
        """
        request = self.expire_if_due(request_id)
        if request.action_digest != action.digest():
            self._refuse(request, action.actor, "approval belongs to a different action")
            raise ApprovalMismatch(
                f"approval {request.id} was given for action digest {request.action_digest[:12]}, "
                f"not {action.digest()[:12]}: the action changed after it was approved"
            )
        if request.status != "approved" or request.used_at is not None:
            state = "already used" if request.used_at else request.status
            self._refuse(request, action.actor, f"approval is {state}")
            raise ApprovalNotPending(f"approval {request.id} is {state}; it cannot be used")
        to_run = apply_edits(action, request.edits) if request.edits else action
        self._record(request, "approval.used", {
            "action_id": to_run.id, "digest": to_run.digest(), "edited": bool(request.edits),
            "view_digest": request.view_digest})
        with Session(self._engine) as session:  # one use, even when two runs race for it
            taken = session.exec(update(ApprovalRequest).where(
                col(ApprovalRequest.id) == request.id,
                col(ApprovalRequest.used_at).is_(None)).values(used_at=self._clock()))
            session.commit()
        if taken.rowcount != 1:
            raise ApprovalNotPending(f"approval {request.id} is already used")
        return to_run

    # --- internals ---------------------------------------------------------------------------

    def _open_for(self, digest: str) -> ApprovalRequest | None:
        with Session(self._engine) as session:
            found = session.exec(select(ApprovalRequest).where(
                ApprovalRequest.action_digest == digest,
                col(ApprovalRequest.used_at).is_(None),
            ).order_by(col(ApprovalRequest.created_at).desc())).first()
        if found is None:
            return None
        found = self._refresh(found)
        # Outside a flow run there is no rerun to protect: a new proposal is a new question.
        if found.flow_run_id is None and found.status in ("rejected", "expired"):
            return None
        return found

    def _refresh(self, request: ApprovalRequest) -> ApprovalRequest:
        """Apply expiry (which rejects) and escalation when their time has come."""
        now = self._clock()
        if request.status != "pending" or not _due(request, now):
            return request
        # The sweeper, queue pages and other processes may all get here for the same request:
        # each transition is claimed in the database first, and only its winner records it.
        if request.is_expired(now):
            settled = self._settle(request, "expired", actor="proctor", detail={})
            if settled is None:
                return self.get(request.id)
            event, request = "expired", settled
        else:
            claimed = self._claim(request, {"escalated_at": now},
                                  col(ApprovalRequest.escalated_at).is_(None))
            if not claimed:
                return self.get(request.id)
            self._record_or_undo(request, "approval.escalated", {
                "escalation_group": request.escalation_group,
                "pending_since": _aware(request.created_at).isoformat()},
                actor="proctor", undo={"escalated_at": None})
            event, request = "escalated", self.get(request.id)
        self._emit(event, request)
        return request

    def _check_voter(self, request: ApprovalRequest, who: str,
                     rights: dict[frozenset[str], Any] | None = None) -> str:
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
            rights[groups] = self.identity.voting_right(who, set(groups))
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

    def _check_vote(self, request: ApprovalRequest, voter: str, seen: str | None,
                    reauthenticated: bool) -> str:
        try:
            principal = self._check_voter(request, voter)
            if seen is not None and seen != request.view_digest:
                raise ApprovalMismatch(
                    f"request {request.id} changed since it was shown (now version "
                    f"{request.version}); open it again and decide on what it says now")
            if request.reauthenticate and not reauthenticated:
                raise ReauthenticationRequired(
                    "this request is high-risk: confirm your password to vote on it")
        except ApprovalError as exc:
            self._refuse(request, voter or "anonymous", str(exc))
            raise
        return principal

    def _check_edits(self, request: ApprovalRequest, editor: str,
                     edits: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        current = request.view["params"]
        changes: dict[str, tuple[Any, Any]] = {}
        problem = None
        for key, value in edits.items():
            if key not in current:
                problem = f"{key!r} is not a parameter of this action"
            elif key in request.sensitive:
                problem = f"{key!r} is masked and cannot be edited here; reject the request instead"
            elif not isinstance(value, str) or not isinstance(current[key], str):
                problem = f"{key!r}: only text parameters can be edited"
            elif hidden := _invisible(value):
                problem = f"{key!r} holds an invisible or control character ({hidden})"
            elif not value.strip():
                problem = f"{key!r} cannot be empty"
            elif value != current[key]:
                changes[key] = (current[key], value)
            if problem:
                self._refuse(request, editor, f"edit refused: {problem}")
                raise ApprovalError(f"edit refused: {problem}")
        return changes

    def _vote(self, request_id: str, voter: str, vote: str, comment: str, seen: str | None,
              reauthenticated: bool) -> ApprovalRequest:
        voter = voter.strip()
        if not voter:
            raise ApprovalError("the approver's identity is required (e.g. --as bob)")
        request = self._refresh(self.get(request_id))
        principal = self._check_vote(request, voter, seen, reauthenticated)
        votes = [v for v in self.votes(request.id) if v.version == request.version]
        if any(v.voter == voter for v in votes):
            return request  # the same person voting twice counts once
        if any(v.on_behalf_of == principal for v in votes):
            why = f"{principal} has already voted on this version (in person or by a delegate)"
            self._refuse(request, voter, why)
            raise ApprovalError(why)
        self._record(request, "approval.voted", {
            "voter": voter, "on_behalf_of": principal, "vote": vote, "comment": comment,
            "version": request.version, "view_digest": request.view_digest}, actor=voter)
        with Session(self._engine) as session:
            session.add(ApprovalVote(request_id=request.id, voter=voter, on_behalf_of=principal,
                                     vote=vote, comment=comment, version=request.version,
                                     view_digest=request.view_digest, at=self._clock()))
            session.commit()
        if vote == "reject":
            return self._resolve(request, "rejected", actor=voter, detail={"comment": comment})
        principals = {v.on_behalf_of for v in self.votes(request.id)
                      if v.vote == "approve" and v.version == request.version}
        if len(principals) >= request.quorum:
            return self._resolve(request, "approved", actor=voter, detail={
                "approvers": sorted(principals), "version": request.version,
                "edited": bool(request.edits), "view_digest": request.view_digest})
        return self.get(request.id)

    def _resolve(self, request: ApprovalRequest, status: ApprovalStatus, *, actor: str,
                 detail: dict[str, Any]) -> ApprovalRequest:
        resolved = self._settle(request, status, actor=actor, detail=detail)
        if resolved is None:  # a concurrent vote, expiry or rejection settled it first
            current = self.get(request.id)
            if current.status == status:
                return current
            raise ApprovalNotPending(f"request {request.id} was {current.status} meanwhile; "
                                     "your vote is recorded but changes nothing")
        self._emit(status, resolved)
        return resolved

    def _settle(self, request: ApprovalRequest, status: ApprovalStatus, *, actor: str,
                detail: dict[str, Any]) -> ApprovalRequest | None:
        """Move a pending request to `status` and record it, once: None when another
        transition (in this process or another) settled it first."""
        if not self._claim(request, {"status": status, "resolved_at": self._clock()}):
            return None
        self._record_or_undo(request, f"approval.{status}", detail, actor=actor,
                             undo={"status": "pending", "resolved_at": None})
        return self.get(request.id)

    def _claim(self, request: ApprovalRequest, changes: dict[str, Any], *conditions: Any) -> bool:
        """Apply `changes` if the request is still pending (and `conditions` hold): one
        compare-and-set in the database, so of two racing transitions exactly one wins."""
        with Session(self._writer) as session:
            claimed = session.exec(update(ApprovalRequest).where(
                col(ApprovalRequest.id) == request.id,
                col(ApprovalRequest.status) == "pending", *conditions).values(**changes))
            session.commit()
        return claimed.rowcount == 1

    def _record_or_undo(self, request: ApprovalRequest, kind: str, detail: dict[str, Any], *,
                        actor: str, undo: dict[str, Any]) -> None:
        """Record a claimed transition; when the ledger refuses, give the claim back (fail
        closed: a decision that is not on record does not stand)."""
        try:
            self._record(request, kind, detail, actor=actor)
        except Exception:
            self._update(request.id, **undo)
            raise

    def _emit(self, event: str, request: ApprovalRequest) -> None:
        for listener in self._listeners:
            try:
                listener(event, request)
            except Exception as exc:  # the event is recorded; listeners are best effort
                log.warning("approval listener failed on %s of %s: %s", event, request.id, exc)

    def _refuse(self, request: ApprovalRequest, actor: str, why: str) -> None:
        self._record(request, "approval.refused", {"reason": why}, actor=actor)

    def _update(self, request_id: str, **changes: Any) -> ApprovalRequest:
        with Session(self._writer) as session:
            request = session.get(ApprovalRequest, request_id)
            assert request is not None
            for name, value in changes.items():
                setattr(request, name, value)
            session.add(request)
            session.commit()
            session.refresh(request)
            return request

    def _record(self, request: ApprovalRequest, kind: str, detail: dict[str, Any],
                actor: str | None = None) -> None:
        self._ledger.append(
            kind,
            actor=actor or request.robot,
            payload={"approval_id": request.id, "action_digest": request.action_digest, **detail},
            flow_run_id=request.flow_run_id,
            action_id=request.action_id,
            action_kind=request.action_kind,
        )


def masked_view(action: Action) -> dict[str, Any]:
    """The action as approvers see it: sensitive params show only their last four characters.

    The store keeps this view; the approval is bound to the digest of the clear action, which
    the robot proposes again, so the clear values never need to be stored.
    """
    view = action.model_dump(mode="json", exclude={"sensitive", "idempotency_key"})
    view["params"] = {k: mask(v) if k in action.sensitive else v
                      for k, v in action.params.items()}
    view["context"] = {k: v for k, v in action.context.items() if k not in action.sensitive}
    return view


def view_digest(request: ApprovalRequest) -> str:
    """SHA-256 of what an approver decides on: the rendered action (with edits), its run, step,
    expiry and version. A vote names it; a different one is refused."""
    view = request.view
    bound = {
        "action": {k: view.get(k) for k in ("kind", "target", "actor", "requested_by", "params",
                                            "flow_run_id", "step")},
        "action_digest": request.action_digest,
        "expires_at": request.expires_at_utc.isoformat(),
        "version": request.version,
    }
    return hashlib.sha256(canonical_json(bound).encode("utf-8")).hexdigest()


def apply_edits(action: Action, edits: dict[str, Any]) -> Action:
    """The action an approver's edits describe: a new action (new id) with changed params."""
    return action.model_copy(update={
        "id": uuid4().hex,
        "params": {**action.params, **edits},
        "context": {**action.context, "edited_from": action.id},
    })


def _due(request: ApprovalRequest, now: datetime) -> bool:
    """Whether `request`'s expiry or escalation time has come and not been applied."""
    return request.is_expired(now) or (
        request.escalate_at is not None and request.escalated_at is None
        and _aware(request.escalate_at) <= now)


def _invisible(text: str) -> str | None:
    for ch in text:
        if unicodedata.category(ch) in ("Cf", "Cc", "Co", "Cs", "Cn") or \
                0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF:
            return f"U+{ord(ch):04X}"
    return None


def _amount(value: Any) -> float | None:
    try:
        return float(Decimal(str(value))) if value is not None else None
    except (InvalidOperation, ValueError):
        return None


def mask(value: Any) -> str:
    """A sensitive value as approvers see it: its last four characters (none if it is short)."""
    text = str(value)
    return "••••" + text[-4:] if len(text) > 8 else "••••"


def _aware(moment: datetime) -> datetime:
    # SQLite hands datetimes back without a zone; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _encode_cursor(request: ApprovalRequest) -> str:
    raw = f"{_aware(request.created_at).isoformat()}|{request.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, request_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        moment = datetime.fromisoformat(created)
    except (ValueError, UnicodeDecodeError):
        raise ApprovalError(f"cursor {cursor!r} is not one this queue gave out") from None
    return _aware(moment).astimezone(UTC), request_id
