"""The approval tables: one row per request (`ApprovalRequest`) and one per vote (`ApprovalVote`).

Rows only: what may be done with them is in `rules`, what approvers are shown in `views`, and
the state changes (each one a compare-and-set, recorded in the ledger) in `store`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

ApprovalStatus = Literal["pending", "approved", "rejected", "expired"]
STATUSES: tuple[str, ...] = ("pending", "approved", "rejected", "expired")


def aware(moment: datetime) -> datetime:
    """`moment` with its zone: SQLite hands datetimes back without one; they were written in
    UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    preview_json: str = Field(
        default="{}", sa_column_kwargs={"name": "evidence_json"},  # the column's first name
        description="the robot's preview for approvers: hashes of its evidence files")
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
    def preview(self) -> dict[str, Any]:
        return json.loads(self.preview_json)

    @property
    def reasons(self) -> list[str]:
        return json.loads(self.reasons_json)

    @property
    def expires_at_utc(self) -> datetime:
        return aware(self.expires_at)

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
