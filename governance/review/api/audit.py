"""`/api/audit`: the ledger for auditors and administrators: filtered entries (JSON, JSONL or
CSV), search by meaning, one action's story, chain verification, checkpoints and inclusion
proofs. Read-only."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from audit import LedgerEntry
from governance.review.api.models import EntryOut, HitOut, VerificationOut, entry_out
from governance.review.deps import Auditor, GovernanceDep
from governance.services import Governance

if TYPE_CHECKING:  # imported on first search: it brings the model runtime
    from governance.review.search import LedgerSearch

router = APIRouter(prefix="/api")


@router.get("/audit/entries", response_model=None)
def entries(
    _: Auditor,
    governance: GovernanceDep,
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
        return {"entries": [entry_out(e).model_dump() for e in found]}
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(_csv(found) if format == "csv" else _jsonl(found),
                             media_type=media)


_SEARCH_LOCK = threading.Lock()


def ledger_search(request: Request, governance: Governance) -> LedgerSearch:
    """The app's ledger search, made on first use: loading the model takes seconds."""
    with _SEARCH_LOCK:
        found: LedgerSearch | None = getattr(request.app.state, "ledger_search", None)
        if found is None:
            found = request.app.state.ledger_search = governance.ledger_search()
        return found


@router.get("/audit/search")
def search(request: Request, _: Auditor, governance: GovernanceDep,
           q: Annotated[str, Query(max_length=2000)],
           limit: Annotated[int, Query(ge=1, le=100)] = 10) -> list[HitOut]:
    """Entries closest in meaning to `q`, best first (`proctor audit search`: the local
    embedding model; every hit is read back from the ledger)."""
    try:
        hits = ledger_search(request, governance).search(q, k=limit)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return [HitOut(score=h.score, entry=entry_out(h.entry)) for h in hits]


@router.get("/audit/actions/{action_id}/story")
def story(action_id: str, _: Auditor, governance: GovernanceDep) -> list[EntryOut]:
    """Everything recorded about one action, from proposal to outcome."""
    found = governance.reader.story(action_id)
    if not found:
        raise HTTPException(404, f"no ledger entries for action {action_id}")
    return [entry_out(e) for e in found]


@router.get("/audit/verify")
def verify(_: Auditor, governance: GovernanceDep) -> VerificationOut:
    """Check the hash chain and every signed checkpoint of the live ledger."""
    result = governance.reader.verify(governance.checkpoints.all(),
                                      governance.checkpoints.public_key)
    return VerificationOut(ok=result.ok, checked=result.checked,
                           checkpoints=result.checkpoints, first_bad_seq=result.first_bad_seq,
                           problem=result.problem, summary=result.describe())


@router.get("/audit/checkpoints")
def checkpoints(_: Auditor, governance: GovernanceDep) -> list[dict[str, Any]]:
    return [c.model_dump() for c in governance.checkpoints.all()]


@router.get("/audit/proof/{seq}")
def proof(seq: int, _: Auditor, governance: GovernanceDep,
          size: int | None = None) -> dict[str, Any]:
    """Inclusion proof of entry `seq` in the signed checkpoint of `size` (default: latest)."""
    try:
        return governance.checkpoints.inclusion(seq, size)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None


def _jsonl(entries: list[LedgerEntry]) -> Iterator[str]:
    for e in entries:
        yield json.dumps(entry_out(e).model_dump(), ensure_ascii=False) + "\n"


def _csv(entries: list[LedgerEntry]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(LedgerEntry.model_fields))
    writer.writeheader()
    for e in entries:
        writer.writerow(e.model_dump())
    yield buffer.getvalue()
