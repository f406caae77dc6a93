"""`proctor approvals`: the review queue from the terminal: list, show, approve, reject, edit,
bulk-approve and sweep. Every vote needs the voter's password, as in the review UI."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from proctor.cli.common import AsJson, AsUser, PasswordStdin, authenticate, fail, load_governance

if TYPE_CHECKING:
    from governance.approvals.store import ApprovalRequest, QueueFilter
    from governance.services import Governance

app = typer.Typer(help="The review queue: list, show, approve, reject.", no_args_is_help=True)

STATUSES = ("pending", "approved", "rejected", "expired", "all")


@app.command("list")
def approvals_list(
    status: Annotated[str, typer.Option(help="pending, approved, rejected, expired or all")]
    = "pending",
    group: Annotated[Optional[str], typer.Option(help="only this approver group's")] = None,
    reason: Annotated[Optional[str], typer.Option(help="only with this policy reason")] = None,
    action_kind: Annotated[Optional[str], typer.Option(help="e.g. crm.update_contact")]
    = None,
    min_age_s: Annotated[Optional[float], typer.Option(min=0, help="waiting at least")] = None,
    max_age_s: Annotated[Optional[float], typer.Option(min=0, help="waiting at most")] = None,
    min_amount: Annotated[Optional[float], typer.Option()] = None,
    max_amount: Annotated[Optional[float], typer.Option()] = None,
    as_user: Annotated[Optional[str], typer.Option(
        "--as", help="show NAME's queue (asks for their password); without it, the whole "
        "queue, as the database holds it")] = None,
    password_stdin: PasswordStdin = False,
    as_json: AsJson = False,
) -> None:
    """Requests in the queue, oldest first, with the REST API's filters."""
    from governance.approvals.store import QueueFilter
    from governance.identity import access

    if status not in STATUSES:
        fail(f"unknown status {status!r}: use pending, approved, rejected, expired or all", 2)
    governance = load_governance()
    wanted = QueueFilter(status=None if status == "all" else status, reason=reason,
                         action_kind=action_kind, min_age_s=min_age_s, max_age_s=max_age_s,
                         min_amount=min_amount, max_amount=max_amount)
    if as_user is not None:
        who = authenticate(governance, as_user, password_stdin)
        user = governance.identity.get(who)
        assert user is not None
        wanted = access.scope(governance.identity, user, wanted, group)
    elif group:
        wanted = replace(wanted, groups=frozenset({group}))
    for r in _queue(governance, wanted):
        typer.echo(json.dumps(_request_view(r)) if as_json else _line(r))


@app.command("show")
def approvals_show(request_id: str) -> None:
    """Everything an approver needs to decide on one request."""
    from governance.errors import ApprovalError

    governance = load_governance()
    try:
        request = governance.approvals.get(request_id)
    except ApprovalError as exc:
        fail(str(exc))
    view = _request_view(request)
    view["votes"] = [v.model_dump(mode="json") for v in governance.approvals.votes(request.id)]
    typer.echo(json.dumps(view, indent=2, ensure_ascii=False))


@app.command("approve")
def approvals_approve(request_id: str, as_user: AsUser = None,
                      comment: Annotated[str, typer.Option(help="why")] = "",
                      password_stdin: PasswordStdin = False) -> None:
    """Approve a request (you cannot approve your own); asks for your password."""
    _vote(request_id, as_user, password_stdin,
          lambda g, who, seen: g.approvals.approve(request_id, who, comment, seen=seen,
                                                   reauthenticated=True))


@app.command("reject")
def approvals_reject(request_id: str,
                     comment: Annotated[str, typer.Option(help="why (required)")],
                     as_user: AsUser = None, password_stdin: PasswordStdin = False) -> None:
    """Reject a request, saying why; asks for your password."""
    _vote(request_id, as_user, password_stdin,
          lambda g, who, seen: g.approvals.reject(request_id, who, comment, seen=seen,
                                                  reauthenticated=True))


@app.command("edit")
def approvals_edit(
    request_id: str,
    set_: Annotated[list[str], typer.Option("--set", help="PARAM=VALUE, e.g. amount=450.00")],
    as_user: AsUser = None,
    comment: Annotated[str, typer.Option(help="why")] = "",
    password_stdin: PasswordStdin = False,
) -> None:
    """Approve with edits: the edited action goes through policy again before it runs."""
    edits = {}
    for item in set_:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--set {item!r}: write PARAM=VALUE", 2)
        edits[key.strip()] = value
    _vote(request_id, as_user, password_stdin,
          lambda g, who, seen: g.approvals.approve_with_edits(
              request_id, who, edits, comment, seen=seen, reauthenticated=True))


@app.command("bulk-approve")
def approvals_bulk(
    reason: Annotated[str, typer.Option(help="the policy reason the requests share")],
    as_user: AsUser = None, password_stdin: PasswordStdin = False,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask before approving")] = False,
) -> None:
    """Approve the pending requests you may vote on that have this policy reason, one by one.
    They are listed first; each vote is bound to the request as listed (one that changes in
    the meantime is refused)."""
    from governance.approvals.store import QueueFilter
    from governance.identity import access

    governance = load_governance()
    who = authenticate(governance, as_user, password_stdin)
    user = governance.identity.get(who)
    assert user is not None
    shown: dict[str, str] = {}
    for r in _queue(governance, access.scope(governance.identity, user,
                                             QueueFilter(reason=reason))):
        if governance.approvals.may_vote(r, who) is None:
            typer.echo(_line(r))
            shown[r.id] = r.view_digest
    typer.echo(f"{len(shown)} request(s) with reason {reason!r} that {who} may approve")
    if not shown:
        return
    if not yes and not typer.confirm(f"Approve these {len(shown)} as {who}?"):
        fail("nothing approved")
    for result in governance.approvals.bulk_approve(shown, who, reason, reauthenticated=True):
        typer.echo(f"{result.request_id}: {result.status}"
                   + (f" ({result.message})" if result.message else ""))


@app.command("sweep")
def approvals_sweep() -> None:
    """Expire and escalate every request whose time has come (the review service does this
    every few seconds; run it from cron where no review service runs)."""
    expired, escalated = load_governance().approvals.sweep()
    typer.echo(f"expired {expired}, escalated {escalated}")


def _queue(governance: Governance, wanted: QueueFilter) -> Iterator[ApprovalRequest]:
    """Every request `wanted` selects, oldest first, page by page."""
    after = None
    while True:
        page = governance.approvals.page(wanted, after=after, limit=500)
        yield from page.items
        if not (after := page.next_cursor):
            return


def _line(r: ApprovalRequest) -> str:
    """One request on one line: id, status, kind, group, requester, reasons, its params."""
    from governance.approvals.views import summary

    return (f"{r.id}  {r.status:<8} {r.action_kind:<26} group={r.approver_group:<18} "
            f"by={r.requested_by:<8} {', '.join(r.reasons)}  {summary(r)}").rstrip()


def _vote(request_id: str, as_user: str | None, password_stdin: bool,
          cast: Callable[[Governance, str, str], Any]) -> None:
    """Authenticate the voter, then `cast` their vote bound to the request as they saw it."""
    from audit import LedgerWriteError
    from governance.errors import ApprovalError

    governance = load_governance()
    who = authenticate(governance, as_user, password_stdin)
    try:
        seen = governance.approvals.get(request_id).view_digest
        request = cast(governance, who, seen)
    except (ApprovalError, LedgerWriteError) as exc:
        fail(f"refused: {exc}")
    typer.echo(f"{request.id}: {request.status} (by {who}; {request.quorum} needed)")


def _request_view(request: ApprovalRequest) -> dict[str, Any]:
    """The request as `--json` and `show` print it."""
    return {
        "id": request.id, "status": request.status, "action_kind": request.action_kind,
        "action": request.action, "action_digest": request.action_digest,
        "reasons": request.reasons, "approver_group": request.approver_group,
        "quorum": request.quorum, "requested_by": request.requested_by,
        "flow_run_id": request.flow_run_id, "step": request.step,
        "policy_revision": request.policy_revision, "version": request.version,
        "view_digest": request.view_digest, "edits": request.edits,
        "escalation_group": request.escalation_group,
        "escalated": request.escalated_at is not None,
        "reauthenticate": request.reauthenticate,
        "created_at": request.created_at.isoformat(),
        "expires_at": request.expires_at_utc.isoformat(),
    }
