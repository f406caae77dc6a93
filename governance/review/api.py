"""The REST API (OpenAPI at /api/openapi.json): the review queue for approvers, the ledger for
auditors, users and tokens for administrators. Every request carries
`Authorization: Bearer <token>` (no cookies: a browser on another site cannot ride on a session);
every refusal is recorded in the ledger as `access.refused`. Who may call what is the table in
`governance.access`.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from audit import LedgerEntry
from governance.approvals.store import ApprovalRequest, QueueFilter
from governance.errors import (
    ApprovalError,
    ApprovalForbidden,
    ApprovalMismatch,
    ReauthenticationRequired,
    SelfApprovalError,
)
from governance.identity import access
from governance.identity.users import IdentityError, User
from governance.review.sessions import TOO_MANY_PASSWORDS, WebSessions
from proctor.composition import Governance

if TYPE_CHECKING:  # imported on first search: it brings the model runtime
    from governance.review.search import LedgerSearch


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


def _out(entry: LedgerEntry) -> EntryOut:
    return EntryOut(**{**entry.model_dump(), "payload": entry.data()})


def _refuse(request: Request, status: int, who: str, why: str,
            headers: dict[str, str] | None = None) -> HTTPException:
    governance: Governance = request.app.state.governance
    governance.writer.append("access.refused", actor=who, payload={
        "path": request.url.path, "method": request.method, "reason": why})
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return HTTPException(status, why, headers=headers)


def caller(request: Request) -> User:
    """The user whose bearer token the request carries."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _refuse(request, 401, "anonymous", "missing bearer token")
    user = request.app.state.governance.identity.authenticate_token(token.strip())
    if user is None:
        raise _refuse(request, 401, "anonymous", "unknown or revoked token")
    return user


def needs(permission: access.Permission) -> Any:
    """A dependency: the caller, if their roles grant `permission`."""

    def check(request: Request, user: Annotated[User, Depends(caller)]) -> User:
        if not access.allowed(user, permission):
            roles = " or ".join(sorted(access.PERMISSIONS[permission]))
            raise _refuse(request, 403, user.name, f"role {roles} required")
        return user

    return Depends(check)


Auditor = Annotated[User, needs("audit.read")]
Reader = Annotated[User, needs("queue.read")]
Voter = Annotated[User, needs("vote")]
Admin = Annotated[User, needs("users.manage")]


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
    evidence: dict[str, Any]


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


def request_out(r: ApprovalRequest) -> RequestOut:
    return RequestOut(
        id=r.id, status=r.status, action_kind=r.action_kind, action=r.action, edits=r.edits,
        view_digest=r.view_digest, version=r.version, reasons=r.reasons,
        approver_group=r.approver_group, escalation_group=r.escalation_group,
        escalated=r.escalated_at is not None, quorum=r.quorum,
        reauthenticate=r.reauthenticate, requested_by=r.requested_by,
        flow_run_id=r.flow_run_id, step=r.step, policy_revision=r.policy_revision,
        created_at=r.created_at.replace(tzinfo=UTC).isoformat(),
        expires_at=r.expires_at_utc.isoformat(), evidence=r.evidence)


def user_out(u: User) -> dict[str, Any]:
    return {"name": u.name, "roles": sorted(u.role_set), "groups": sorted(u.group_set),
            "email": u.email, "active": u.active}


def router(governance: Governance, sessions: WebSessions) -> APIRouter:
    """The /api routes over one wired `Governance`; `sessions` counts wrong passwords (one
    limit with the web UI's logins)."""
    api = APIRouter(prefix="/api")
    approvals = governance.approvals
    identity = governance.identity
    review = governance.settings.review

    def confirm_password(request: Request, user: User, password: str | None) -> None:
        """Raise unless `password` is `user`'s: 403 when missing or wrong, 429 while too many
        wrong ones were given (every refusal recorded)."""
        if not password:
            raise _refuse(request, 403, user.name, "your password is required for this")
        why = sessions.recheck_password(identity, user.name, password,
                                        attempts=review.login_attempts,
                                        window_s=review.login_window_s)
        if why == TOO_MANY_PASSWORDS:
            wait = sessions.throttled({f"user:{user.name}": review.login_attempts},
                                      review.login_window_s)
            raise _refuse(request, 429, user.name, why, {"Retry-After": str(max(wait, 1))})
        if why is not None:
            raise _refuse(request, 403, user.name, why)

    @api.get("/health")
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @api.get("/ready")
    def ready() -> JSONResponse:
        """Readiness: the database answers and the policy loads (503 and why otherwise)."""
        checks: dict[str, str] = {}
        try:
            with governance.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # any failure means: not ready, and say why
            checks["database"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        probe = governance.policy.decide({"action": {}, "context": {}})
        broken = [r for r in probe.reasons if r.startswith(("policy_", "no_verified"))]
        checks["policy"] = broken[0] if broken else "ok"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ok else "not ready", "checks": checks},
                            status_code=200 if ok else 503)

    # --- the review queue ------------------------------------------------------------------

    @api.get("/approvals")
    def queue(
        user: Reader,
        status: Literal["pending", "approved", "rejected", "expired", "all"] = "pending",
        group: str | None = None, reason: str | None = None, action_kind: str | None = None,
        min_age_s: Annotated[float | None, Query(ge=0)] = None,
        max_age_s: Annotated[float | None, Query(ge=0)] = None,
        min_amount: float | None = None, max_amount: float | None = None,
        cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> QueueOut:
        """Requests you may see, oldest first; follow `next_cursor` for the next page."""
        wanted = access.scope(identity, user, QueueFilter(
            status=None if status == "all" else status, reason=reason, action_kind=action_kind,
            min_age_s=min_age_s, max_age_s=max_age_s, min_amount=min_amount,
            max_amount=max_amount), group)
        try:
            page = approvals.page(wanted, after=cursor, limit=limit)
        except ApprovalError as exc:
            raise HTTPException(422, str(exc)) from None
        return QueueOut(items=[request_out(r) for r in page.items],
                        next_cursor=page.next_cursor, total=page.total)

    def visible(request: Request, user: User, request_id: str) -> ApprovalRequest:
        try:
            found = approvals.expire_if_due(request_id)
        except ApprovalError:
            found = None
        if found is None or not access.can_view(identity, user, found):
            raise _refuse(request, 404, user.name, "request not found or not visible")
        return found

    @api.get("/approvals/{request_id}")
    def one(request: Request, request_id: str, user: Reader) -> dict[str, Any]:
        """One request, its votes, and whether you may vote on it."""
        found = visible(request, user, request_id)
        why_not = approvals.may_vote(found, user.name) if access.allowed(user, "vote") \
            else "role approver required"
        return {**request_out(found).model_dump(), "may_vote": why_not is None,
                "why_not": why_not,
                "votes": [v.model_dump(mode="json") for v in approvals.votes(found.id)]}

    def reauthenticated(request: Request, user: User, password: str | None) -> bool:
        if not password:
            return False
        confirm_password(request, user, password)
        return True

    def decided(request: Request, user: User, act: Any) -> RequestOut:
        try:
            return request_out(act())
        except (SelfApprovalError, ApprovalForbidden) as exc:
            raise HTTPException(403, str(exc)) from None
        except ReauthenticationRequired as exc:
            raise HTTPException(401, str(exc)) from None
        except ApprovalMismatch as exc:
            raise HTTPException(409, str(exc)) from None
        except ApprovalError as exc:
            raise HTTPException(409 if "already" in str(exc) else 422, str(exc)) from None

    @api.post("/approvals/{request_id}/approve")
    def approve(request: Request, request_id: str, body: VoteIn, user: Voter) -> RequestOut:
        """Vote to approve the version you saw (`view_digest`)."""
        found = visible(request, user, request_id)
        again = reauthenticated(request, user, body.password)
        return decided(request, user, lambda: approvals.approve(
            found.id, user.name, body.comment, seen=body.view_digest, reauthenticated=again))

    @api.post("/approvals/{request_id}/reject")
    def reject(request: Request, request_id: str, body: VoteIn, user: Voter) -> RequestOut:
        """Reject, saying why (`comment` is required)."""
        found = visible(request, user, request_id)
        again = reauthenticated(request, user, body.password)
        return decided(request, user, lambda: approvals.reject(
            found.id, user.name, body.comment, seen=body.view_digest, reauthenticated=again))

    @api.post("/approvals/{request_id}/edit")
    def edit(request: Request, request_id: str, body: EditIn, user: Voter) -> RequestOut:
        """Approve with edits: a new version; policy decides on the edited action again."""
        found = visible(request, user, request_id)
        again = reauthenticated(request, user, body.password)
        return decided(request, user, lambda: approvals.approve_with_edits(
            found.id, user.name, body.edits, body.comment, seen=body.view_digest,
            reauthenticated=again))

    @api.post("/approvals/bulk-approve")
    def bulk(request: Request, body: BulkIn, user: Voter) -> list[dict[str, Any]]:
        """Approve requests that share a policy reason; each is voted and recorded on its own."""
        again = reauthenticated(request, user, body.password)
        seen = {}
        for item in body.requests:
            visible(request, user, item.id)
            seen[item.id] = item.view_digest
        return [r.__dict__ for r in approvals.bulk_approve(seen, user.name, body.reason,
                                                           reauthenticated=again)]

    # --- administration --------------------------------------------------------------------

    @api.get("/users")
    def users(_: Admin) -> list[dict[str, Any]]:
        return [user_out(u) for u in identity.users()]

    def admin_error(request: Request, user: User, exc: IdentityError) -> HTTPException:
        governance.writer.append("access.refused", actor=user.name, payload={
            "path": request.url.path, "method": request.method, "reason": str(exc)})
        return HTTPException(422, str(exc))

    @api.post("/users", status_code=201)
    def add_user(request: Request, body: UserIn, admin: Admin) -> dict[str, Any]:
        try:
            made = identity.add_user(body.name, body.password, roles=set(body.roles),
                                     groups=set(body.groups), email=body.email)
        except IdentityError as exc:
            raise admin_error(request, admin, exc) from None
        governance.writer.append("identity.changed", actor=admin.name,
                                 payload={"created": made.name, **user_out(made)})
        return user_out(made)

    @api.patch("/users/{name}")
    def change_user(request: Request, name: str, body: UserPatch,
                    admin: Admin) -> dict[str, Any]:
        """Change roles, groups, email or status; administrators cannot change themselves."""
        try:
            changed = identity.update_user(
                name, by=admin.name, roles=set(body.roles) if body.roles is not None else None,
                groups=set(body.groups) if body.groups is not None else None,
                email=body.email, active=body.active)
        except IdentityError as exc:
            raise admin_error(request, admin, exc) from None
        governance.writer.append("identity.changed", actor=admin.name, payload=user_out(changed))
        return user_out(changed)

    @api.post("/users/{name}/tokens", status_code=201)
    def new_token(request: Request, name: str, user: Annotated[User, Depends(caller)],
                  body: TokenIn | None = None) -> dict[str, str]:
        """A new API token for `name`, shown once. For yourself, with your password; as an
        administrator, for someone who does not vote (an approver makes their own)."""
        target = identity.get(name)
        why = access.token_refusal(user, target, name)
        if why is not None:
            unknown = target is None and access.allowed(user, "users.manage")
            raise _refuse(request, 422 if unknown else 403, user.name, why)
        if name == user.name:
            confirm_password(request, user, body.password if body else None)
        token = identity.create_token(name)
        governance.writer.append("identity.token_created", actor=user.name,
                                 payload={"user": name})
        return {"user": name, "token": token}

    @api.delete("/users/{name}/tokens")
    def revoke(name: str, admin: Admin) -> dict[str, int]:
        revoked = identity.revoke_tokens(name)
        governance.writer.append("identity.tokens_revoked", actor=admin.name,
                                 payload={"user": name, "revoked": revoked})
        return {"revoked": revoked}

    @api.post("/delegations", status_code=201)
    def delegate(request: Request, body: DelegationIn, user: Reader) -> dict[str, Any]:
        """Delegate your own vote (or, as an administrator, someone else's) until a date."""
        if body.delegator != user.name and not access.allowed(user, "users.manage"):
            raise _refuse(request, 403, user.name, "only the delegator or an admin delegates")
        until = body.until if body.until.tzinfo else body.until.replace(tzinfo=UTC)
        try:
            row = identity.delegate(body.delegator, body.delegate, until=until, by=user.name)
        except IdentityError as exc:
            raise admin_error(request, user, exc) from None
        governance.writer.append("identity.delegated", actor=user.name, payload={
            "delegator": body.delegator, "delegate": body.delegate,
            "until": until.isoformat()})
        return {"id": row.id, "delegator": row.delegator, "delegate": row.delegate,
                "until": until.isoformat()}

    # --- the ledger, for auditors ----------------------------------------------------------
    @api.get("/audit/entries", response_model=None)
    def entries(
        _: Auditor,
        flow_run_id: str | None = None, action_kind: str | None = None, actor: str | None = None,
        kind: str | None = None, since: str | None = None, until: str | None = None,
        robot: str | None = None, approver: str | None = None, text: str | None = None,
        decision: Literal["allow", "deny", "require_approval"] | None = None,
        policy_revision: Annotated[str | None, Query(pattern="^[0-9a-f]+$")] = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
        format: Literal["json", "jsonl", "csv"] = "json",
    ) -> Any:
        """Ledger entries matching every filter, oldest first; JSON, JSONL or CSV."""
        found = governance.reader.query(
            limit=limit, flow_run_id=flow_run_id, action_kind=action_kind, actor=actor,
            kind=kind, since=since, until=until, robot=robot, decision=decision,
            approver=approver, policy_revision=policy_revision, text=text)
        if format == "json":
            return {"entries": [_out(e).model_dump() for e in found]}
        media = "text/csv" if format == "csv" else "application/x-ndjson"
        return StreamingResponse(_csv(found) if format == "csv" else _jsonl(found),
                                 media_type=media)

    @functools.cache
    def ledger_search() -> LedgerSearch:  # made on first use: loading the model takes seconds
        from governance.review.search import open_ledger_search

        return open_ledger_search(governance)

    @api.get("/audit/search")
    def search(_: Auditor, q: Annotated[str, Query(max_length=2000)],
               limit: Annotated[int, Query(ge=1, le=100)] = 10) -> list[HitOut]:
        """Entries closest in meaning to `q`, best first (`proctor audit search`: the local
        embedding model; every hit is read back from the ledger)."""
        try:
            hits = ledger_search().search(q, k=limit)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return [HitOut(score=h.score, entry=_out(h.entry)) for h in hits]

    @api.get("/audit/actions/{action_id}/story")
    def story(action_id: str, _: Auditor) -> list[EntryOut]:
        """Everything recorded about one action, from proposal to outcome."""
        found = governance.reader.story(action_id)
        if not found:
            raise HTTPException(404, f"no ledger entries for action {action_id}")
        return [_out(e) for e in found]

    @api.get("/audit/verify")
    def verify(_: Auditor) -> VerificationOut:
        """Check the hash chain and every signed checkpoint of the live ledger."""
        result = governance.reader.verify(governance.checkpoints.all(),
                                          governance.checkpoints.public_key)
        return VerificationOut(ok=result.ok, checked=result.checked,
                               checkpoints=result.checkpoints, first_bad_seq=result.first_bad_seq,
                               problem=result.problem, summary=result.describe())

    @api.get("/audit/checkpoints")
    def checkpoints(_: Auditor) -> list[dict[str, Any]]:
        return [c.model_dump() for c in governance.checkpoints.all()]

    @api.get("/audit/proof/{seq}")
    def proof(seq: int, _: Auditor, size: int | None = None) -> dict[str, Any]:
        """Inclusion proof of entry `seq` in the signed checkpoint of `size` (default: latest)."""
        try:
            return governance.checkpoints.inclusion(seq, size)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None

    return api


def _jsonl(entries: list[LedgerEntry]) -> Iterator[str]:
    for e in entries:
        yield json.dumps(_out(e).model_dump(), ensure_ascii=False) + "\n"


def _csv(entries: list[LedgerEntry]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(LedgerEntry.model_fields))
    writer.writeheader()
    for e in entries:
        writer.writerow(e.model_dump())
    yield buffer.getvalue()
