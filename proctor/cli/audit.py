"""`proctor audit`: read, query, search, prove, verify and export the ledger."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from proctor.cli.common import AsJson, fail, load_governance, read_public_key

if TYPE_CHECKING:
    from audit import LedgerEntry

app = typer.Typer(help="Read and verify the ledger.", no_args_is_help=True)


@app.command("verify")
def audit_verify(
    export: Annotated[Optional[Path], typer.Option(
        "--export", "--bundle", help="check a ledger export (`proctor audit export`) offline; "
        "--bundle is its older name")] = None,
    public_key: Annotated[Optional[Path], typer.Option(help="the PEM key you trust")] = None,
) -> None:
    """Check the hash chain and every signed checkpoint; exit 1 and name the first bad entry."""
    from audit import verify_export

    trusted = read_public_key(public_key) if public_key else None
    if export is not None:
        result = verify_export(export, trusted)
    else:
        governance = load_governance()
        key = trusted or governance.checkpoints.public_key
        result = governance.reader.verify(governance.checkpoints.all(), key)
    typer.echo(result.describe())
    if not result.ok:
        raise typer.Exit(1)


@app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign a checkpoint of the ledger as it is now."""
    checkpoint = load_governance().checkpoints.make()
    if checkpoint is None:
        fail("the ledger is empty; nothing to sign")
    typer.echo(json.dumps(checkpoint.model_dump(), indent=2))


@app.command("prove")
def audit_prove(
    seq: Annotated[int, typer.Argument(help="the entry to prove")],
    size: Annotated[Optional[int], typer.Option(help="tree size (default: latest checkpoint)")]
    = None,
) -> None:
    """Print the inclusion proof of one entry in a signed checkpoint."""
    try:
        typer.echo(json.dumps(load_governance().checkpoints.inclusion(seq, size), indent=2))
    except LookupError as exc:
        fail(str(exc), 2)


@app.command("consistency")
def audit_consistency(old: int, new: int) -> None:
    """Print the proof that signed checkpoint OLD is a prefix of signed checkpoint NEW."""
    from audit.merkle import consistency_proof, verify_consistency

    governance = load_governance()
    signed = {c.size: c for c in governance.checkpoints.all()}
    if old not in signed or new not in signed or old > new:
        fail(f"need two signed checkpoints, old <= new; sizes signed: {sorted(signed)}", 2)
    path = consistency_proof(governance.checkpoints.tree, old, new)
    first, second = (bytes.fromhex(signed[s].root_hash) for s in (old, new))
    typer.echo(json.dumps({"old_size": old, "new_size": new, "old_root": first.hex(),
                           "new_root": second.hex(), "proof": [h.hex() for h in path],
                           "verified": verify_consistency(old, new, first, second, path)},
                          indent=2))


@app.command("export")
def audit_export(out: Annotated[Path, typer.Option(help="a new folder for the export")]) -> None:
    """Write a ledger export that `proctor audit verify --export` checks offline."""
    from audit import export_ledger

    governance = load_governance()
    try:
        manifest = export_ledger(governance.reader, governance.checkpoints, out)
    except FileExistsError as exc:
        fail(str(exc), 2)
    typer.echo(json.dumps(manifest, indent=2))


@app.command("tail")
def audit_tail(n: Annotated[int, typer.Option("-n", min=1)] = 20, as_json: AsJson = False) -> None:
    """The last N entries."""
    _print_entries(load_governance().reader.tail(n), "jsonl" if as_json else "table")


@app.command("query")
def audit_query(
    flow_run: Annotated[Optional[str], typer.Option(help="flow run id")] = None,
    action_kind: Annotated[Optional[str], typer.Option(help="e.g. crm.update_contact")] = None,
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
        entries = load_governance().reader.query(
            limit=limit, flow_run_id=flow_run, action_kind=action_kind, actor=actor, kind=kind,
            since=since, until=until, robot=robot, decision=decision, approver=approver,
            policy_revision=policy_revision, text=text)
    except ValueError as exc:
        fail(str(exc), 2)
    _print_entries(entries, "jsonl" if as_json else output)


@app.command("search")
def audit_search(
    text: Annotated[str, typer.Argument(help="what to look for, in your own words")],
    k: Annotated[int, typer.Option("-k", min=1, help="how many entries")] = 10,
) -> None:
    """Entries closest in meaning to TEXT (local embedding model; the index is kept in
    PROCTOR_DOCUMENTS_DIR and brought up to date first)."""
    try:
        hits = load_governance().ledger_search().search(text, k=k)
    except ValueError as exc:
        fail(str(exc), 2)
    for hit in hits:
        e = hit.entry
        typer.echo(f"{hit.score:.3f}  #{e.seq:<6} {e.kind:<20} {e.actor:<22} "
                   f"{e.action_kind or '':<26} {e.payload[:80]}")


@app.command("story")
def audit_story(action_id: str) -> None:
    """The story of one action: proposal, decision, approvals and outcome."""
    entries = load_governance().reader.story(action_id)
    if not entries:
        fail(f"no ledger entries for action {action_id!r}")
    for e in entries:
        typer.echo(f"{e.recorded_at[:19]}  #{e.seq:<6} {e.kind:<18} by {e.actor:<22} "
                   f"{_brief(e.data())}")


def _print_entries(entries: list[LedgerEntry], output: str) -> None:
    from audit import LedgerEntry

    if output not in ("table", "jsonl", "csv"):
        fail(f"unknown format {output!r}: use table, jsonl or csv", 2)
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
    """The payload on one line, without what a table does not need, cut at 110 characters."""
    shown = {k: v for k, v in payload.items() if k not in ("requested_by", "digest", "context")}
    text = json.dumps(shown, ensure_ascii=False)
    return text if len(text) <= 110 else text[:107] + "..."
