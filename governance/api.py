"""The REST API (OpenAPI at /api/openapi.json). Auditors' endpoints for now; the review queue
joins them. Every request carries `Authorization: Bearer <token>`; every refusal is recorded in
the ledger as `access.refused`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from audit import LedgerEntry
from governance.composition import Governance
from governance.identity import User

AUDIT_ROLES = ("auditor", "admin")


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


class VerificationOut(BaseModel):
    ok: bool
    checked: int
    checkpoints: int
    first_bad_seq: int | None
    problem: str | None
    summary: str


def _out(entry: LedgerEntry) -> EntryOut:
    return EntryOut(**{**entry.model_dump(), "payload": entry.data()})


def _refuse(request: Request, status: int, who: str, why: str) -> HTTPException:
    governance: Governance = request.app.state.governance
    governance.writer.append("access.refused", actor=who, payload={
        "path": request.url.path, "method": request.method, "reason": why})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return HTTPException(status, why, headers=headers)


def auditor(request: Request) -> User:
    """The caller, if their bearer token belongs to an auditor or an administrator."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _refuse(request, 401, "anonymous", "missing bearer token")
    user = request.app.state.governance.identity.authenticate_token(token.strip())
    if user is None:
        raise _refuse(request, 401, "anonymous", "unknown or revoked token")
    if not user.has_role(*AUDIT_ROLES):
        raise _refuse(request, 403, user.name, "role auditor or admin required")
    return user


Auditor = Annotated[User, Depends(auditor)]


def create_api(governance: Governance) -> FastAPI:
    """The API over one wired `Governance`."""
    app = FastAPI(title="Proctor", openapi_url="/api/openapi.json", docs_url="/api/docs",
                  redoc_url=None)
    app.state.governance = governance

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/audit/entries", response_model=None)
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

    @app.get("/api/audit/actions/{action_id}/story")
    def story(action_id: str, _: Auditor) -> list[EntryOut]:
        """Everything recorded about one action, from proposal to outcome."""
        found = governance.reader.story(action_id)
        if not found:
            raise HTTPException(404, f"no ledger entries for action {action_id}")
        return [_out(e) for e in found]

    @app.get("/api/audit/verify")
    def verify(_: Auditor) -> VerificationOut:
        """Check the hash chain and every signed checkpoint of the live ledger."""
        result = governance.reader.verify(governance.checkpoints.all(),
                                          governance.checkpoints.public_key)
        return VerificationOut(ok=result.ok, checked=result.checked,
                               checkpoints=result.checkpoints, first_bad_seq=result.first_bad_seq,
                               problem=result.problem, summary=result.describe())

    @app.get("/api/audit/checkpoints")
    def checkpoints(_: Auditor) -> list[dict[str, Any]]:
        return [c.model_dump() for c in governance.checkpoints.all()]

    @app.get("/api/audit/proof/{seq}")
    def proof(seq: int, _: Auditor, size: int | None = None) -> dict[str, Any]:
        """Inclusion proof of entry `seq` in the signed checkpoint of `size` (default: latest)."""
        try:
            return governance.checkpoints.inclusion(seq, size)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None

    return app


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
