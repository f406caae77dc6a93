"""Approval requests: a store bound to action digests, and the rules for voting on them.

    approvals = Approvals(engine, ledger)
    request = approvals.open(action, decision)          # a pending request
    approvals.approve(request.id, approver="bob")        # bob is not the requester
    approvals.use(request.id, action)                    # once, and only for this exact action

Every event (requested, voted, approved, rejected, expired, refused, used) goes to the ledger
before the store changes, so the store never says more than the ledger.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import uuid4

from sqlalchemy import UniqueConstraint
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from audit import LedgerWriter
from governance.errors import (
    ApprovalError,
    ApprovalMismatch,
    ApprovalNotPending,
    SelfApprovalError,
)
from governance.models import Action, Decision

log = logging.getLogger(__name__)

ApprovalStatus = Literal["pending", "approved", "rejected", "expired"]


def _now() -> datetime:
    return datetime.now(UTC)


class ApprovalRequest(SQLModel, table=True):
    """A pending or resolved request for a human decision on one exact action."""

    __tablename__ = "approval_requests"

    id: str = Field(primary_key=True)
    action_id: str
    action_kind: str = Field(index=True)
    action_digest: str = Field(index=True)
    action_json: str = Field(description="the action as shown to approvers")
    flow_run_id: str | None = Field(default=None, index=True)
    requested_by: str
    robot: str
    approver_group: str = Field(index=True)
    quorum: int
    reasons_json: str
    policy_revision: str
    status: str = Field(default="pending", index=True)
    created_at: datetime
    expires_at: datetime
    resolved_at: datetime | None = None
    used_at: datetime | None = None

    @property
    def action(self) -> dict[str, Any]:
        return json.loads(self.action_json)

    @property
    def reasons(self) -> list[str]:
        return json.loads(self.reasons_json)

    @property
    def expires_at_utc(self) -> datetime:
        return _aware(self.expires_at)

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at_utc <= now


class ApprovalVote(SQLModel, table=True):
    """One person's vote on one request; a second vote by the same person changes nothing."""

    __tablename__ = "approval_votes"
    __table_args__ = (UniqueConstraint("request_id", "voter"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(foreign_key="approval_requests.id", index=True)
    voter: str
    vote: str
    comment: str = ""
    at: datetime


class Approvals:
    """The approvals service shared by the Gate, the CLI and (later) the web UI."""

    def __init__(
        self,
        engine: Engine,
        ledger: LedgerWriter,
        *,
        clock: Callable[[], datetime] = _now,
        on_resolved: Callable[[ApprovalRequest], None] | None = None,
    ) -> None:
        self._engine = engine
        self._ledger = ledger
        self._clock = clock
        self._on_resolved = on_resolved
        SQLModel.metadata.create_all(
            engine, tables=[ApprovalRequest.__table__, ApprovalVote.__table__]
        )

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

    def votes(self, request_id: str) -> list[ApprovalVote]:
        stmt = select(ApprovalVote).where(ApprovalVote.request_id == request_id)
        with Session(self._engine) as session:
            return list(session.exec(stmt.order_by(col(ApprovalVote.at))).all())

    # --- the life of a request ---------------------------------------------------------------

    def open(self, action: Action, decision: Decision) -> ApprovalRequest:
        """Create a pending request for `action`, as the policy's `decision` asks."""
        now = self._clock()
        request = ApprovalRequest(
            id=uuid4().hex,
            action_id=action.id,
            action_kind=action.kind,
            action_digest=action.digest(),
            action_json=json.dumps(masked_view(action)),
            flow_run_id=action.flow_run_id,
            requested_by=action.requested_by,
            robot=action.actor,
            approver_group=decision.approver_group or "",
            quorum=decision.quorum,
            reasons_json=json.dumps(decision.reasons),
            policy_revision=decision.policy_revision,
            created_at=now,
            expires_at=now + timedelta(seconds=decision.expires_in_s or 0),
        )
        self._record(request, "approval.requested", {
            "approver_group": request.approver_group,
            "quorum": request.quorum,
            "reasons": decision.reasons,
            "requested_by": request.requested_by,
            "expires_at": request.expires_at.isoformat(),
            "policy_revision": decision.policy_revision,
        })
        with Session(self._engine) as session:
            session.add(request)
            session.commit()
            session.refresh(request)
        return request

    def approve(self, request_id: str, approver: str, comment: str = "") -> ApprovalRequest:
        """Vote to approve; the request is approved once `quorum` distinct people agree."""
        return self._vote(request_id, approver, "approve", comment)

    def reject(self, request_id: str, approver: str, comment: str) -> ApprovalRequest:
        """Reject the request; one rejection is final. A comment saying why is required."""
        if not comment.strip():
            raise ApprovalError("a rejection needs a comment that says why")
        return self._vote(request_id, approver, "reject", comment)

    def expire_if_due(self, request_id: str) -> ApprovalRequest:
        """Mark a pending request whose time ran out as expired (which denies its action)."""
        request = self.get(request_id)
        if request.status == "pending" and request.is_expired(self._clock()):
            return self._resolve(request, "expired", actor="proctor", detail={})
        return request

    def use(self, request_id: str, action: Action) -> ApprovalRequest:
        """Spend an approved request on `action`; valid once, and only for the same digest."""
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
        self._record(request, "approval.used", {"action_id": action.id})
        return self._update(request.id, used_at=self._clock())

    # --- internals ---------------------------------------------------------------------------

    def _vote(self, request_id: str, voter: str, vote: str, comment: str) -> ApprovalRequest:
        voter = voter.strip()
        if not voter:
            raise ApprovalError("the approver's identity is required (e.g. --as bob)")
        request = self.expire_if_due(request_id)
        if voter in (request.requested_by, request.robot):
            self._refuse(request, voter, "self-approval is not allowed")
            raise SelfApprovalError(
                f"{voter} requested this action (or is its robot) and cannot {vote} it; "
                f"ask another member of {request.approver_group!r}"
            )
        if request.status != "pending":
            self._refuse(request, voter, f"request is {request.status}")
            raise ApprovalNotPending(f"request {request.id} is already {request.status}")
        if any(v.voter == voter for v in self.votes(request.id)):
            return request  # the same person voting twice counts once
        self._record(request, "approval.voted", {"voter": voter, "vote": vote, "comment": comment},
                     actor=voter)
        self._store_vote(request.id, voter, vote, comment)
        if vote == "reject":
            return self._resolve(request, "rejected", actor=voter, detail={"comment": comment})
        approvers = {v.voter for v in self.votes(request.id) if v.vote == "approve"}
        if len(approvers) >= request.quorum:
            return self._resolve(request, "approved", actor=voter,
                                 detail={"approvers": sorted(approvers)})
        return self.get(request.id)

    def _store_vote(self, request_id: str, voter: str, vote: str, comment: str) -> None:
        with Session(self._engine) as session:
            session.add(ApprovalVote(request_id=request_id, voter=voter, vote=vote,
                                     comment=comment, at=self._clock()))
            session.commit()

    def _resolve(self, request: ApprovalRequest, status: ApprovalStatus, *, actor: str,
                 detail: dict[str, Any]) -> ApprovalRequest:
        self._record(request, f"approval.{status}", detail, actor=actor)
        resolved = self._update(request.id, status=status, resolved_at=self._clock())
        if self._on_resolved is not None:
            try:
                self._on_resolved(resolved)
            except Exception as exc:  # the decision is recorded; waking the run is best effort
                log.warning("could not wake the run waiting on %s: %s", resolved.id, exc)
        return resolved

    def _refuse(self, request: ApprovalRequest, actor: str, why: str) -> None:
        self._record(request, "approval.refused", {"reason": why}, actor=actor)

    def _update(self, request_id: str, **changes: Any) -> ApprovalRequest:
        with Session(self._engine) as session:
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
    view["params"] = {k: _mask(v) if k in action.sensitive else v
                      for k, v in action.params.items()}
    view["context"] = {k: v for k, v in action.context.items() if k not in action.sensitive}
    return view


def _mask(value: Any) -> str:
    text = str(value)
    return "••••" + text[-4:] if len(text) > 8 else "••••"


def _aware(moment: datetime) -> datetime:
    # SQLite hands datetimes back without a zone; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
