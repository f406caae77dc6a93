"""`proctor`: one command line, a sub-command per area (policy, audit, approvals, run)."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from audit import LedgerEntry, LedgerWriteError, export_bundle, verify_bundle
from audit.keys import load_public_key
from audit.merkle import consistency_proof, verify_consistency
from governance.approvals.store import ApprovalRequest, QueueFilter
from governance.errors import ApprovalError, PolicyError
from governance.identity import access
from governance.identity.users import IdentityError, User
from governance.policy.regorus import RegorusEngine, run_rego_tests
from proctor.composition import Governance, build
from proctor.settings import Settings

app = typer.Typer(help="Proctor: robots propose, policy decides, people approve, the ledger "
                       "remembers.", no_args_is_help=True)
policy_app = typer.Typer(help="Evaluate and test the Rego policies.", no_args_is_help=True)
audit_app = typer.Typer(help="Read and verify the ledger.", no_args_is_help=True)
approvals_app = typer.Typer(help="The review queue: list, show, approve, reject.",
                            no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")
users_app = typer.Typer(help="Local users, their roles and API tokens.", no_args_is_help=True)
app.add_typer(approvals_app, name="approvals")
app.add_typer(users_app, name="users")

FLOWS = {"invoice-entry": "flows/invoice_entry.py:invoice_entry",
         "document-inbox": "flows/document_inbox.py:document_inbox"}

AsUser = Annotated[
    Optional[str], typer.Option("--as", help="your identity (default: PROCTOR_USER)")
]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON lines")]


def _governance() -> Governance:
    return build(Settings())


def _fail(message: str, code: int = 1) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


# --- policy -------------------------------------------------------------------------------------

@policy_app.command("eval")
def policy_eval(
    input_file: Annotated[Path, typer.Option("--input", help="JSON file: {action, context}")],
    policy_dir: Annotated[Optional[Path], typer.Option(help="default: PROCTOR_POLICY_DIR")] = None,
) -> None:
    """Print the decision the policy gives for an input document."""
    try:
        document = json.loads(input_file.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        _fail(f"cannot read policy input {input_file}: {exc}", 2)
    settings = Settings()
    engine = RegorusEngine(policy_dir or settings.policy.dir, timeout_ms=settings.policy.timeout_ms)
    typer.echo(engine.decide(document).model_dump_json(indent=2))


@policy_app.command("test")
def policy_test(
    policy_dir: Annotated[Optional[Path], typer.Option(help="default: PROCTOR_POLICY_DIR")] = None,
) -> None:
    """Run the Rego unit tests (rules named test_* in *_test.rego files)."""
    try:
        results = run_rego_tests(policy_dir or Settings().policy.dir)
    except PolicyError as exc:
        _fail(f"policies do not load: {exc}")
    for result in results:
        mark = "PASS" if result.passed else "FAIL"
        typer.echo(f"{mark} {result.name}" + (f"  {result.detail}" if result.detail else ""))
    failed = sum(not r.passed for r in results)
    typer.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed or not results:
        raise typer.Exit(1)


@policy_app.command("serve")
def policy_serve(
    host: str = "127.0.0.1",
    port: int = 8181,
    policy_dir: Annotated[Optional[Path], typer.Option(help="default: PROCTOR_POLICY_DIR")] = None,
) -> None:
    """Serve the policy over OPA's Data API (regorus inside); workers point
    PROCTOR_POLICY_OPA_URL at it, or at a real OPA server."""
    import uvicorn

    from governance.policy.server import create_policy_app

    settings = Settings()
    engine = RegorusEngine(policy_dir or settings.policy.dir, timeout_ms=settings.policy.timeout_ms)
    uvicorn.run(create_policy_app(engine), host=host, port=port, log_level="warning")


@policy_app.command("bundle")
def policy_bundle(
    out: Annotated[Path, typer.Option(help="the bundle to write (.tar.gz)")],
    policy_dir: Annotated[Optional[Path], typer.Option(help="default: PROCTOR_POLICY_DIR")] = None,
    key: Annotated[Optional[Path], typer.Option(
        help="Ed25519 private key (PEM); default PROCTOR_POLICY_SIGNING_KEY, made if missing")]
    = None,
) -> None:
    """Sign the policies into a bundle that workers verify before they use it."""
    from audit.keys import load_or_create_signing_key, public_pem
    from governance.policy.bundles import build_bundle

    settings = Settings()
    signing = load_or_create_signing_key(key or settings.policy.signing_key)
    try:
        info = build_bundle(policy_dir or settings.policy.dir, out, signing)
    except PolicyError as exc:
        _fail(str(exc), 2)
    public = out.with_suffix("").with_suffix(".pub.pem")
    public.write_text(public_pem(signing.public_key()))
    typer.echo(f"bundle {out}: id {info.id[:16]}, revision {info.revision[:16]}, "
               f"{len(info.files)} files, key {info.key_id}; public key in {public}")


@policy_app.command("verify-bundle")
def policy_verify_bundle(
    bundle: Path,
    public_key: Annotated[Path, typer.Option(help="PEM of the trusted public key")],
) -> None:
    """Check a bundle as a worker would: exit 0 when it may be used, 1 with the reason."""
    import tempfile

    from audit.keys import load_public_key
    from governance.policy.bundles import BundleRefused, open_bundle

    try:
        with tempfile.TemporaryDirectory() as tmp:
            info, _ = open_bundle(bundle, load_public_key(public_key.read_bytes()), Path(tmp))
    except (BundleRefused, OSError, ValueError) as exc:
        _fail(f"refused: {exc}")
    typer.echo(f"bundle OK: id {info.id[:16]}, revision {info.revision[:16]}, "
               f"{len(info.files)} files, signed by {info.key_id}")


@policy_app.command("shadow-report")
def policy_shadow_report(
    since: Annotated[Optional[str], typer.Option(help="ISO time, e.g. 2026-11-24T09:00")] = None,
) -> None:
    """What the shadow policy (PROCTOR_POLICY_SHADOW_DIR) would have decided otherwise: each
    kind of difference with how often, then every action it concerns."""
    differences = _governance().reader.query(kind="policy.shadow_differs", since=since)
    if not differences:
        typer.echo("no differences recorded: the shadow policy decided as the live one "
                   "(or none is configured)")
        return
    counts = Counter(_shadow_change(e) for e in differences)
    for (kind, live, shadow), n in counts.most_common():
        typer.echo(f"{n:>6}  {kind}: live {live} -> shadow {shadow}")
    typer.echo("")
    for e in differences:
        typer.echo(f"#{e.seq:<6} {e.recorded_at[:16]} {e.action_id}  "
                   f"{' -> '.join(_shadow_change(e)[1:])}")


def _shadow_change(entry: LedgerEntry) -> tuple[str, str, str]:
    def one(side: dict[str, Any]) -> str:
        return f"{side['outcome']} ({', '.join(side['reasons'])})"
    data = entry.data()
    return entry.action_kind or "", one(data["live"]), one(data["shadow"])


# --- audit --------------------------------------------------------------------------------------

@audit_app.command("verify")
def audit_verify(
    bundle: Annotated[Optional[Path], typer.Option(help="check an exported bundle offline")]
    = None,
    public_key: Annotated[Optional[Path], typer.Option(help="the PEM key you trust")] = None,
) -> None:
    """Check the hash chain and every signed checkpoint; exit 1 and name the first bad entry."""
    trusted = load_public_key(public_key.read_bytes()) if public_key else None
    if bundle is not None:
        result = verify_bundle(bundle, trusted)
    else:
        governance = _governance()
        key = trusted or governance.checkpoints.public_key
        result = governance.reader.verify(governance.checkpoints.all(), key)
    typer.echo(result.describe())
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign a checkpoint of the ledger as it is now."""
    checkpoint = _governance().checkpoints.make()
    if checkpoint is None:
        _fail("the ledger is empty; nothing to sign")
    typer.echo(json.dumps(checkpoint.model_dump(), indent=2))


@audit_app.command("prove")
def audit_prove(
    seq: Annotated[int, typer.Argument(help="the entry to prove")],
    size: Annotated[Optional[int], typer.Option(help="tree size (default: latest checkpoint)")]
    = None,
) -> None:
    """Print the inclusion proof of one entry in a signed checkpoint."""
    try:
        typer.echo(json.dumps(_governance().checkpoints.inclusion(seq, size), indent=2))
    except LookupError as exc:
        _fail(str(exc), 2)


@audit_app.command("consistency")
def audit_consistency(old: int, new: int) -> None:
    """Print the proof that signed checkpoint OLD is a prefix of signed checkpoint NEW."""
    governance = _governance()
    signed = {c.size: c for c in governance.checkpoints.all()}
    if old not in signed or new not in signed or old > new:
        _fail(f"need two signed checkpoints, old <= new; sizes signed: {sorted(signed)}", 2)
    path = consistency_proof(governance.checkpoints.tree, old, new)
    first, second = (bytes.fromhex(signed[s].root_hash) for s in (old, new))
    typer.echo(json.dumps({"old_size": old, "new_size": new, "old_root": first.hex(),
                           "new_root": second.hex(), "proof": [h.hex() for h in path],
                           "verified": verify_consistency(old, new, first, second, path)},
                          indent=2))


@audit_app.command("export")
def audit_export(out: Annotated[Path, typer.Option(help="a new folder for the bundle")]) -> None:
    """Write an evidence bundle that `proctor audit verify --bundle` checks offline."""
    governance = _governance()
    try:
        manifest = export_bundle(governance.reader, governance.checkpoints, out)
    except FileExistsError as exc:
        _fail(str(exc), 2)
    typer.echo(json.dumps(manifest, indent=2))


@audit_app.command("tail")
def audit_tail(n: Annotated[int, typer.Option("-n", min=1)] = 20, as_json: AsJson = False) -> None:
    """The last N entries."""
    _print_entries(_governance().reader.tail(n), "jsonl" if as_json else "table")


@audit_app.command("query")
def audit_query(
    flow_run: Annotated[Optional[str], typer.Option(help="flow run id")] = None,
    action_kind: Annotated[Optional[str], typer.Option(help="e.g. acme.create_invoice")] = None,
    actor: Annotated[Optional[str], typer.Option(help="who caused the entry")] = None,
    kind: Annotated[Optional[str], typer.Option(help="event, e.g. approval.approved")] = None,
    since: Annotated[Optional[str], typer.Option(help="ISO time, e.g. 2026-11-24T09:00")] = None,
    until: Annotated[Optional[str], typer.Option(help="ISO time, inclusive")] = None,
    robot: Annotated[Optional[str], typer.Option(help="actions proposed by this robot")] = None,
    decision: Annotated[Optional[str], typer.Option(help="allow, deny or require_approval")]
    = None,
    approver: Annotated[Optional[str], typer.Option(help="actions this person voted on")] = None,
    policy_revision: Annotated[Optional[str], typer.Option(help="revision (prefix)")] = None,
    text: Annotated[Optional[str], typer.Option(help="free text in the entry")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 1000,
    output: Annotated[str, typer.Option("--format", help="table, jsonl or csv")] = "table",
    as_json: AsJson = False,
) -> None:
    """Entries matching every filter given, oldest first; export as JSONL or CSV."""
    try:
        entries = _governance().reader.query(
            limit=limit, flow_run_id=flow_run, action_kind=action_kind, actor=actor, kind=kind,
            since=since, until=until, robot=robot, decision=decision, approver=approver,
            policy_revision=policy_revision, text=text)
    except ValueError as exc:
        _fail(str(exc), 2)
    _print_entries(entries, "jsonl" if as_json else output)


@audit_app.command("search")
def audit_search(
    text: Annotated[str, typer.Argument(help="what to look for, in your own words")],
    k: Annotated[int, typer.Option("-k", min=1, help="how many entries")] = 10,
) -> None:
    """Entries closest in meaning to TEXT (local embedding model; the index is kept in
    PROCTOR_DOCUMENTS_DIR and brought up to date first)."""
    from governance.review.search import open_ledger_search

    try:
        hits = open_ledger_search(_governance()).search(text, k=k)
    except ValueError as exc:
        _fail(str(exc), 2)
    for hit in hits:
        e = hit.entry
        typer.echo(f"{hit.score:.3f}  #{e.seq:<6} {e.kind:<20} {e.actor:<22} "
                   f"{e.action_kind or '':<26} {e.payload[:80]}")


@audit_app.command("story")
def audit_story(action_id: str) -> None:
    """The story of one action: proposal, decision, approvals and outcome."""
    entries = _governance().reader.story(action_id)
    if not entries:
        _fail(f"no ledger entries for action {action_id!r}")
    for e in entries:
        typer.echo(f"{e.recorded_at[:19]}  #{e.seq:<6} {e.kind:<18} by {e.actor:<22} "
                   f"{_brief(e.data())}")


def _print_entries(entries: list[LedgerEntry], output: str) -> None:
    if output not in ("table", "jsonl", "csv"):
        _fail(f"unknown format {output!r}: use table, jsonl or csv", 2)
    if output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(LedgerEntry.model_fields))
        writer.writeheader()
        writer.writerows(e.model_dump() for e in entries)
        return
    for e in entries:
        if output == "jsonl":
            typer.echo(json.dumps({**e.model_dump(), "payload": e.data()}))
        else:
            what = e.action_kind or ""
            typer.echo(f"{e.seq:>6} {e.recorded_at[:19]} {e.kind:<18} {e.actor:<22} {what:<26} "
                       f"{_brief(e.data())}")


def _brief(payload: dict[str, Any]) -> str:
    shown = {k: v for k, v in payload.items() if k not in ("requested_by", "digest", "context")}
    text = json.dumps(shown, ensure_ascii=False)
    return text if len(text) <= 110 else text[:107] + "..."


# --- approvals ----------------------------------------------------------------------------------

@approvals_app.command("list")
def approvals_list(
    status: Annotated[str, typer.Option(help="pending, approved, rejected, expired or all")]
    = "pending",
    group: Annotated[Optional[str], typer.Option(help="only this approver group's")] = None,
    reason: Annotated[Optional[str], typer.Option(help="only with this policy reason")] = None,
    action_kind: Annotated[Optional[str], typer.Option(help="e.g. acme.release_payment")]
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
    if status not in ("pending", "approved", "rejected", "expired", "all"):
        _fail(f"unknown status {status!r}: use pending, approved, rejected, expired or all", 2)
    governance = _governance()
    wanted = QueueFilter(status=None if status == "all" else status, reason=reason,
                         action_kind=action_kind, min_age_s=min_age_s, max_age_s=max_age_s,
                         min_amount=min_amount, max_amount=max_amount)
    if as_user is not None:
        who = _authenticate(governance, as_user, password_stdin)
        user = governance.identity.get(who)
        assert user is not None
        wanted = access.scope(governance.identity, user, wanted, group)
    elif group:
        wanted = replace(wanted, groups=frozenset({group}))
    for r in _queue(governance, wanted):
        typer.echo(json.dumps(_request_view(r)) if as_json else _line(r))


def _queue(governance: Governance, wanted: QueueFilter) -> Iterator[ApprovalRequest]:
    """Every request `wanted` selects, oldest first, page by page."""
    after = None
    while True:
        page = governance.approvals.page(wanted, after=after, limit=500)
        yield from page.items
        if not (after := page.next_cursor):
            return


def _line(r: ApprovalRequest) -> str:
    params = r.action["params"]
    return (f"{r.id}  {r.status:<8} {r.action_kind:<26} group={r.approver_group:<18} "
            f"by={r.requested_by:<8} {', '.join(r.reasons)}  "
            f"{params.get('invoice_number') or params.get('vendor', '')} "
            f"{params.get('amount', '')}").rstrip()


@approvals_app.command("show")
def approvals_show(request_id: str) -> None:
    """Everything an approver needs to decide on one request."""
    governance = _governance()
    try:
        request = governance.approvals.get(request_id)
    except ApprovalError as exc:
        _fail(str(exc))
    view = _request_view(request)
    view["votes"] = [v.model_dump(mode="json") for v in governance.approvals.votes(request.id)]
    typer.echo(json.dumps(view, indent=2, ensure_ascii=False))


PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="read your password from stdin instead of asking")]


@approvals_app.command("approve")
def approvals_approve(request_id: str, as_user: AsUser = None,
                      comment: Annotated[str, typer.Option(help="why")] = "",
                      password_stdin: PasswordStdin = False) -> None:
    """Approve a request (you cannot approve your own); asks for your password."""
    _vote(request_id, as_user, password_stdin,
          lambda g, who, seen: g.approvals.approve(request_id, who, comment, seen=seen,
                                                   reauthenticated=True))


@approvals_app.command("reject")
def approvals_reject(request_id: str,
                     comment: Annotated[str, typer.Option(help="why (required)")],
                     as_user: AsUser = None, password_stdin: PasswordStdin = False) -> None:
    """Reject a request, saying why; asks for your password."""
    _vote(request_id, as_user, password_stdin,
          lambda g, who, seen: g.approvals.reject(request_id, who, comment, seen=seen,
                                                  reauthenticated=True))


@approvals_app.command("edit")
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
            _fail(f"--set {item!r}: write PARAM=VALUE", 2)
        edits[key.strip()] = value
    _vote(request_id, as_user, password_stdin,
          lambda g, who, seen: g.approvals.approve_with_edits(
              request_id, who, edits, comment, seen=seen, reauthenticated=True))


@approvals_app.command("bulk-approve")
def approvals_bulk(
    reason: Annotated[str, typer.Option(help="the policy reason the requests share")],
    as_user: AsUser = None, password_stdin: PasswordStdin = False,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask before approving")] = False,
) -> None:
    """Approve the pending requests you may vote on that have this policy reason, one by one.
    They are listed first; each vote is bound to the request as listed (one that changes in
    the meantime is refused)."""
    governance = _governance()
    who = _authenticate(governance, as_user, password_stdin)
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
        _fail("nothing approved")
    for result in governance.approvals.bulk_approve(shown, who, reason, reauthenticated=True):
        typer.echo(f"{result.request_id}: {result.status}"
                   + (f" ({result.message})" if result.message else ""))


@approvals_app.command("sweep")
def approvals_sweep() -> None:
    """Expire and escalate every request whose time has come (the review service does this
    every few seconds; run it from cron where no review service runs)."""
    expired, escalated = _governance().approvals.sweep()
    typer.echo(f"expired {expired}, escalated {escalated}")


def _authenticate(governance: Governance, as_user: str | None, password_stdin: bool) -> str:
    who = (as_user or governance.settings.user).strip()
    password = (sys.stdin.readline().rstrip("\n") if password_stdin
                else typer.prompt(f"Password for {who}", hide_input=True))
    if governance.identity.check_password(who, password) is None:
        governance.writer.append("access.refused", actor=who or "anonymous", payload={
            "path": "cli", "method": "password", "reason": "wrong user name or password"})
        _fail(f"refused: wrong user name or password for {who!r}")
    return who


def _vote(request_id: str, as_user: str | None, password_stdin: bool,
          cast: Callable[[Governance, str, str], Any]) -> None:
    governance = _governance()
    who = _authenticate(governance, as_user, password_stdin)
    try:
        seen = governance.approvals.get(request_id).view_digest
        request = cast(governance, who, seen)
    except (ApprovalError, LedgerWriteError) as exc:
        _fail(f"refused: {exc}")
    typer.echo(f"{request.id}: {request.status} (by {who}; {request.quorum} needed)")


def _request_view(request: Any) -> dict[str, Any]:
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


# --- run ----------------------------------------------------------------------------------------

@app.command("run")
def run(
    flow_name: Annotated[str, typer.Argument(help=f"one of: {', '.join(FLOWS)}")],
    workbook: Annotated[Optional[Path], typer.Option(
        help="invoice-entry: the invoices workbook (.xlsx)")] = None,
    inbox: Annotated[Optional[Path], typer.Option(
        help="document-inbox: a folder of .pdf/.eml/.txt documents, or an mbox file")] = None,
    as_user: AsUser = None,
    summary: Annotated[Optional[Path], typer.Option(help="also write the summary here")] = None,
    plan: Annotated[bool, typer.Option(
        "--plan", help="ask the policy what a run would need; record and change nothing")] = False,
) -> None:
    """Run a flow here, now (Prefect tracks it; approvals pause it)."""
    if plan:  # the flow reads its settings itself: tell it through them
        os.environ["PROCTOR_PLAN"] = "true"
    if flow_name not in FLOWS:
        _fail(f"unknown flow {flow_name!r}: use one of {', '.join(FLOWS)}", 2)
    needs = {"invoice-entry": ("workbook", workbook), "document-inbox": ("inbox", inbox)}
    option, value = needs[flow_name]
    if value is None:
        _fail(f"{flow_name} needs --{option}", 2)
    from prefect.flows import load_flow_from_entrypoint

    flow_ = load_flow_from_entrypoint(str(Path(__file__).resolve().parents[2] / FLOWS[flow_name]))
    try:
        result = flow_(**{option: str(value)}, requested_by=as_user)
    except Exception as exc:  # the run's own log has the traceback; say what failed
        _fail(f"flow {flow_name} failed: {type(exc).__name__}: {exc}")
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if summary is not None:
        summary.write_text(text, "utf-8")
    typer.echo(text)


# --- users and the API service -------------------------------------------------------------------

def _admin(governance: Governance, as_user: str | None, password_stdin: bool, command: str,
           *, or_self: str | None = None) -> User:
    """The enabled administrator `--as` names (or, for commands about oneself, the person
    `or_self` names), once their password is confirmed; refused and recorded otherwise."""
    who = _authenticate(governance, as_user, password_stdin)
    user = governance.identity.get(who)
    if user is None or (who != or_self and not user.has_role("admin")):
        _refuse_cli(governance, who, command, f"{who} is not an administrator")
    assert user is not None
    return user


def _refuse_cli(governance: Governance, who: str, command: str, why: str,
               code: int = 1) -> None:
    governance.writer.append("access.refused", actor=who or "anonymous", payload={
        "path": f"cli {command}", "method": "admin", "reason": why})
    _fail(f"refused: {why}", code)


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[list[str], typer.Option(help="author, approver, auditor or admin")],
    group: Annotated[Optional[list[str]], typer.Option(help="approver group")] = None,
    email: Annotated[Optional[str], typer.Option(help="where notices are sent")] = None,
    as_user: AsUser = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="read the passwords from stdin, one a line: yours (the "
        "administrator's), then the new user's")] = False,
) -> None:
    """Add a user, as an administrator (`--as`, your password is asked for first). While no
    administrator exists, the first one is added without `--as`."""
    governance = _governance()
    if any(u.has_role("admin") for u in governance.identity.users()):
        by = _admin(governance, as_user, password_stdin, "users add").name
    elif "admin" in role:
        by = "bootstrap"  # the very first administrator: nobody else could vouch for them
    else:
        _fail("no administrator exists yet: add one first (proctor users add NAME --role "
              "admin), then add everyone else --as that administrator", 2)
    password = (sys.stdin.readline().rstrip("\n") if password_stdin
                else typer.prompt(f"Password for {name}", hide_input=True,
                                  confirmation_prompt=True))
    try:
        user = governance.identity.add_user(name, password, roles=set(role),
                                            groups=set(group or ()), email=email)
    except IdentityError as exc:
        _fail(str(exc), 2)
    governance.writer.append("identity.changed", actor=by, payload={
        "created": user.name, "roles": user.roles, "groups": user.groups, "active": True})
    typer.echo(f"user {user.name}: roles {user.roles}; groups {user.groups or '-'}")


@users_app.command("list")
def users_list() -> None:
    """Every user with roles, groups and status."""
    for u in _governance().identity.users():
        typer.echo(f"{u.name:<16} roles={u.roles:<24} groups={u.groups or '-':<32} "
                   f"{'active' if u.active else 'disabled'}  {u.email or ''}")


@users_app.command("set")
def users_set(
    name: str,
    role: Annotated[Optional[list[str]], typer.Option(help="replace the roles")] = None,
    group: Annotated[Optional[list[str]], typer.Option(help="replace the approver groups")]
    = None,
    no_groups: Annotated[bool, typer.Option(help="remove every group")] = False,
    email: Annotated[Optional[str], typer.Option()] = None,
    disable: Annotated[bool, typer.Option(help="disable the user and revoke tokens")] = False,
    enable: Annotated[bool, typer.Option()] = False,
    as_user: AsUser = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Change a user's roles, groups, email or status, as an administrator (never your own
    roles or groups); asks for your password."""
    governance = _governance()
    by = _admin(governance, as_user, password_stdin, "users set").name
    groups = set() if no_groups else (set(group) if group is not None else None)
    active = False if disable else (True if enable else None)
    try:
        user = governance.identity.update_user(name, by=by, roles=set(role) if role else None,
                                               groups=groups, email=email, active=active)
    except IdentityError as exc:
        _refuse_cli(governance, by, "users set", str(exc), 2)
    governance.writer.append("identity.changed", actor=by, payload={
        "user": name, "roles": user.roles, "groups": user.groups, "active": user.active})
    typer.echo(f"user {user.name}: roles {user.roles}; groups {user.groups or '-'}; "
               f"{'active' if user.active else 'disabled'}")


@users_app.command("token")
def users_token(name: str, as_user: AsUser = None,
                password_stdin: PasswordStdin = False) -> None:
    """Create an API token, printed once and stored only as a hash: for yourself, or as an
    administrator for someone who does not vote (approvers make their own); asks for your
    password."""
    governance = _governance()
    by = _admin(governance, as_user, password_stdin, "users token", or_self=name)
    why = access.token_refusal(by, governance.identity.get(name), name)
    if why is not None:
        _refuse_cli(governance, by.name, "users token", why)
    token = governance.identity.create_token(name)
    governance.writer.append("identity.token_created", actor=by.name, payload={"user": name})
    typer.echo(token)


@users_app.command("revoke-tokens")
def users_revoke_tokens(name: str, as_user: AsUser = None,
                        password_stdin: PasswordStdin = False) -> None:
    """Revoke every API token of a user (yours, or anyone's as an administrator)."""
    governance = _governance()
    by = _admin(governance, as_user, password_stdin, "users revoke-tokens", or_self=name)
    revoked = governance.identity.revoke_tokens(name)
    governance.writer.append("identity.tokens_revoked", actor=by.name,
                             payload={"user": name, "revoked": revoked})
    typer.echo(f"revoked {revoked} token(s) of {name}")


@users_app.command("delegate")
def users_delegate(
    delegator: str, delegate: str,
    until: Annotated[str, typer.Option(help="end date, ISO 8601 (UTC), e.g. 2026-12-24")],
    as_user: AsUser = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Let DELEGATE vote in DELEGATOR's groups until the end date: your own vote, or anyone's
    as an administrator; asks for your password."""
    try:
        end = datetime.fromisoformat(until)
    except ValueError:
        _fail(f"--until {until!r} is not an ISO 8601 date or time", 2)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    governance = _governance()
    by = _admin(governance, as_user, password_stdin, "users delegate", or_self=delegator).name
    try:
        row = governance.identity.delegate(delegator, delegate, until=end, by=by)
    except IdentityError as exc:
        _refuse_cli(governance, by, "users delegate", str(exc), 2)
    governance.writer.append("identity.delegated", actor=by, payload={
        "delegator": delegator, "delegate": delegate, "until": end.isoformat()})
    typer.echo(f"delegation {row.id}: {delegate} votes for {delegator} until {end.isoformat()}")


@app.command("up")
def stack_up(
    workers: Annotated[int, typer.Option(min=0, help="process workers to start")] = 2,
    prefect_port: int = 4200,
    review_port: int = 8700,
    prefect_database: Annotated[Optional[str], typer.Option(
        help="Prefect's database, e.g. postgresql+asyncpg://user@host:5432/prefect "
             "(default: SQLite in the state folder)")] = None,
    state_dir: Annotated[Optional[Path], typer.Option(help="default: .proctor/up")] = None,
    app_limit: Annotated[Optional[list[str]], typer.Option(
        help="TARGET=N: at most N sessions at once against that application, e.g. "
             "acme-payables=2")] = None,
    worker_limit: Annotated[Optional[int], typer.Option(
        min=1, help="flow runs each worker runs at once (default: no cap)")] = None,
    deploy: Annotated[bool, typer.Option(
        help="deploy the flows of prefect.yaml once the server is up")] = False,
) -> None:
    """Start a Prefect server, the review service and N workers of the proctor-process pool."""
    from proctor.stack import StackError, up

    limits: dict[str, int] = {}
    for item in app_limit or []:
        target, _, number = item.partition("=")
        if not target or not number.isdigit():
            _fail(f"--app-limit {item!r}: write TARGET=N, e.g. acme-payables=2", 2)
        limits[target] = int(number)
    folder = state_dir or Path(__file__).resolve().parents[2] / ".proctor" / "up"
    try:
        stack = up(folder, workers=workers, prefect_port=prefect_port, review_port=review_port,
                   prefect_database=prefect_database, app_limits=limits,
                   worker_limit=worker_limit, deploy=deploy)
    except StackError as exc:
        _fail(str(exc))
    typer.echo(f"Prefect API     {stack.prefect_api}  (UI: {stack.prefect_api[:-4]})\n"
               f"review service  {stack.review_url}/queue  (metrics: {stack.review_url}/metrics)\n"
               f"workers         {workers} in work pool 'proctor-process'\n"
               f"logs and state  {folder}\n\n"
               f"export PREFECT_API_URL={stack.prefect_api}\n"
               + ("" if deploy else
                  "PROCTOR_HOME=$PWD prefect deploy --all     # the flows of prefect.yaml\n")
               + "proctor down                              # stop everything")


@app.command("down")
def stack_down(
    state_dir: Annotated[Optional[Path], typer.Option(help="default: .proctor/up")] = None,
) -> None:
    """Stop what `proctor up` started."""
    from proctor.stack import down

    folder = state_dir or Path(__file__).resolve().parents[2] / ".proctor" / "up"
    stopped = down(folder)
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else f"nothing running from {folder}")


@app.command("serve")
def serve(host: str = "127.0.0.1", port: int = 8700) -> None:
    """Run the review service: web UI at /queue, REST API (OpenAPI at /api/openapi.json)."""
    import uvicorn

    from governance.review.app import create_app

    uvicorn.run(create_app(_governance()), host=host, port=port, log_level="warning")


def main() -> None:
    app(prog_name="proctor")


if __name__ == "__main__":
    sys.exit(main())
