"""What the REST API reads and answers: the request and response bodies of `/api`, and how
stored records become them (sensitive values stay masked, times are UTC ISO 8601)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from audit import LedgerEntry
from governance.approvals.store import ApprovalRequest
from governance.identity.users import User


class EntryOut(BaseModel):
    seq: int
    recorded_at: str
    kind: str
    actor: str
    flow_run_id: str | None
    action_id: str | None
    action_kind: str | None
    idempotency_key: str | None
    payload: dict[str, Any]
    prev_hash: str
    entry_hash: str


class HitOut(BaseModel):
    score: float = Field(description="cosine similarity to the question")
    entry: EntryOut


class VerificationOut(BaseModel):
    ok: bool
    checked: int
    checkpoints: int
    first_bad_seq: int | None
    problem: str | None
    summary: str


class RequestOut(BaseModel):
    id: str
    status: str
    action_kind: str
    action: dict[str, Any] = Field(description="as proposed, sensitive values masked")
    edits: dict[str, Any]
    view_digest: str = Field(description="send it back with your vote")
    version: int
    reasons: list[str]
    approver_group: str
    escalation_group: str | None
    escalated: bool
    quorum: int
    reauthenticate: bool
    requested_by: str
    flow_run_id: str | None
    step: str | None
    policy_revision: str
    created_at: str
    expires_at: str
    preview: dict[str, Any]


class QueueOut(BaseModel):
    items: list[RequestOut]
    next_cursor: str | None
    total: int


class VoteIn(BaseModel):
    view_digest: str = Field(description="the view_digest of the request you decided on")
    comment: str = ""
    password: str | None = Field(default=None, description="for high-risk requests")


class EditIn(VoteIn):
    edits: dict[str, str]


class SeenIn(BaseModel):
    id: str
    view_digest: str = Field(description="the request's view_digest as you saw it")


class BulkIn(BaseModel):
    reason: str
    requests: list[SeenIn] = Field(min_length=1, max_length=500)
    password: str | None = None


class TokenIn(BaseModel):
    password: str | None = Field(
        default=None, description="your password: required for a token for yourself")


class UserIn(BaseModel):
    name: str
    password: str
    roles: list[str]
    groups: list[str] = []
    email: str | None = None


class UserPatch(BaseModel):
    roles: list[str] | None = None
    groups: list[str] | None = None
    email: str | None = None
    active: bool | None = None


class DelegationIn(BaseModel):
    delegator: str
    delegate: str
    until: datetime


def entry_out(entry: LedgerEntry) -> EntryOut:
    return EntryOut(**{**entry.model_dump(), "payload": entry.data()})


def request_out(r: ApprovalRequest) -> RequestOut:
    return RequestOut(
        id=r.id, status=r.status, action_kind=r.action_kind, action=r.action, edits=r.edits,
        view_digest=r.view_digest, version=r.version, reasons=r.reasons,
        approver_group=r.approver_group, escalation_group=r.escalation_group,
        escalated=r.escalated_at is not None, quorum=r.quorum,
        reauthenticate=r.reauthenticate, requested_by=r.requested_by,
        flow_run_id=r.flow_run_id, step=r.step, policy_revision=r.policy_revision,
        created_at=r.created_at.replace(tzinfo=UTC).isoformat(),
        expires_at=r.expires_at_utc.isoformat(), preview=r.preview)


def user_out(u: User) -> dict[str, Any]:
    return {"name": u.name, "roles": sorted(u.role_set), "groups": sorted(u.group_set),
            "email": u.email, "active": u.active}
