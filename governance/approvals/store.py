"""Approval requests: a store bound to action digests, whose state changes are compare-and-sets.

    approvals = Approvals(engine, ledger, identity)
    request = approvals.open(action, decision)            # a pending request
    approvals.approve(request.id, "bob", seen=request.view_digest)
    to_run = approvals.use(request.id, action)             # once, only for this exact action

Who may vote, the quorum and the deadlines are in `rules`; what approvers see (masking, view
digests, queue filters) in `views`; the tables in `records`. Every event (requested, voted,
edited, escalated, approved, rejected, expired, refused, used) goes to the ledger before the
store changes, so the store never says more than the ledger. Every transition of a pending
request is claimed in the database first (one conditional UPDATE, begun as a writer: BEGIN
IMMEDIATE on SQLite), so of two racing transitions exactly one wins, and a claim the ledger
refuses is given back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from audit import LedgerWriter, ensure_tables
from audit.store import WRITE_OPTION
from governance.approvals import rules, views
from governance.approvals.records import ApprovalRequest, ApprovalStatus, ApprovalVote, aware
from governance.approvals.views import QueueFilter, QueuePage, mask, view_digest
from governance.errors import ApprovalError, ApprovalNotPending
from governance.identity.users import Identity
from governance.models import Action, Decision

# Re-exported: importers of the store get the records and views it hands out.
__all__ = ["ApprovalRequest", "ApprovalVote", "Approvals", "BulkResult", "Listener",
           "QueueFilter", "QueuePage", "mask", "view_digest"]

log = logging.getLogger(__name__)

Listener = Callable[[str, ApprovalRequest], None]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class BulkResult:
    """What became of one request in a bulk approval."""

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
        conditions = views.queue_conditions(query, self._clock())
        stmt = select(ApprovalRequest).where(*conditions)
        if after:
            stmt = stmt.where(views.after_cursor(after))
        stmt = stmt.order_by(col(ApprovalRequest.created_at), col(ApprovalRequest.id))
        with Session(self._engine) as session:
            items = list(session.exec(stmt.limit(limit + 1)).all())
            total = session.exec(select(func.count()).select_from(ApprovalRequest)
                                 .where(*conditions)).one()
        more = len(items) > limit
        items = items[:limit]
        cursor = views.encode_cursor(items[-1]) if more and items else None
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
        rights: rules.RightsCache = {}
        answers: dict[str, str | None] = {}
        for request in requests:
            try:
                rules.voting_principal(request, who, self.identity.voting_right, rights)
            except ApprovalError as exc:
                answers[request.id] = str(exc)
            else:
                answers[request.id] = None
        return answers

    # --- the life of a request ---------------------------------------------------------------

    def open(self, action: Action, decision: Decision,
             preview: dict[str, Any] | None = None) -> ApprovalRequest:
        """A pending request for `action`, as the policy's `decision` asks.

        A run that proposes the same action again (it was resumed after a suspension, or
        retried) gets its request back instead of a second one: pending, approved and not yet
        used, or rejected or expired (a rejection stays final when the run starts again).
        """
        existing = self._open_for(action.digest())
        if existing is not None:
            return existing
        request = _new_request(action, decision, preview or {}, self._clock())
        self._record(request, "approval.requested", {
            "approver_group": request.approver_group,
            "escalation_group": request.escalation_group,
            "escalate_at": request.escalate_at.isoformat() if request.escalate_at else None,
            "quorum": request.quorum,
            "reasons": decision.reasons,
            "requested_by": request.requested_by,
            "flow_author": request.flow_author,
            "step": request.step,
            "expires_at": request.expires_at.isoformat(),
            "policy_revision": decision.policy_revision,
            "reauthenticate": request.reauthenticate,
            "view_digest": request.view_digest,
            "preview": preview or {},
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
        with self._refusing(request, approver):
            changes = rules.edit_changes(request, edits)
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
        refusal = rules.use_refusal(request, action)
        if refusal is not None:
            why, error = refusal
            self._refuse(request, action.robot, why)
            raise error
        to_run = views.apply_edits(action, request.edits) if request.edits else action
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
        if request.status != "pending" or not rules.is_due(request, now):
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
                "pending_since": aware(request.created_at).isoformat()},
                actor="proctor", undo={"escalated_at": None})
            event, request = "escalated", self.get(request.id)
        self._emit(event, request)
        return request

    def _check_vote(self, request: ApprovalRequest, voter: str, seen: str | None,
                    reauthenticated: bool) -> str:
        """On whose behalf `voter` votes; a refusal is recorded and raised."""
        with self._refusing(request, voter or "anonymous"):
            principal = rules.voting_principal(request, voter, self.identity.voting_right)
            rules.check_seen(request, seen, reauthenticated)
        return principal

    def _vote(self, request_id: str, voter: str, vote: str, comment: str, seen: str | None,
              reauthenticated: bool) -> ApprovalRequest:
        voter = voter.strip()
        if not voter:
            raise ApprovalError("the approver's identity is required (e.g. --as bob)")
        request = self._refresh(self.get(request_id))
        principal = self._check_vote(request, voter, seen, reauthenticated)
        with self._refusing(request, voter):
            if rules.already_voted(request, self.votes(request.id), voter, principal):
                return request  # the same person voting twice counts once
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
        principals = rules.quorum_reached(request, self.votes(request.id))
        if principals is not None:
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

    @contextmanager
    def _refusing(self, request: ApprovalRequest, actor: str) -> Iterator[None]:
        """Record a rule's refusal (an ApprovalError raised inside) as `actor`'s, and raise it
        on."""
        try:
            yield
        except ApprovalError as exc:
            self._refuse(request, actor, str(exc))
            raise

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


def _new_request(action: Action, decision: Decision, preview: dict[str, Any],
                 now: datetime) -> ApprovalRequest:
    """A pending request for `action` as `decision` asks, opened `now`, with its view digest."""
    expires_at, escalate_at = rules.deadlines(decision, now)
    request = ApprovalRequest(
        id=uuid4().hex,
        action_id=action.id,
        action_kind=action.kind,
        action_digest=action.digest(),
        action_json=json.dumps(views.masked_view(action), ensure_ascii=False),
        sensitive_json=json.dumps(sorted(action.sensitive)),
        preview_json=json.dumps(preview),
        flow_run_id=action.flow_run_id,
        step=action.step,
        requested_by=action.requested_by,
        robot=action.robot,
        flow_author=action.flow_author,
        approver_group=decision.approver_group or "",
        escalation_group=decision.escalation_group if escalate_at else None,
        escalate_at=escalate_at,
        quorum=decision.quorum,
        reasons_json=json.dumps(decision.reasons),
        policy_revision=decision.policy_revision,
        reauthenticate=decision.reauthenticate,
        amount=views.amount_of(action.params.get("amount")),
        created_at=now,
        expires_at=expires_at,
    )
    request.view_digest = view_digest(request)
    return request
