"""`make demo`: the whole product, once, unattended.

Starts a Prefect server, Acme Payables and the review service, runs the invoice-entry flow as
alice, plays bob and carol (approvers): bob approves the large payment through the review
service's REST API, carol rejects the bank-account change with the `proctor` CLI. Then runs the
document-inbox flow on eight documents while rhea (document reviewer) confirms, corrects or
rejects what the models were unsure of; prints what happened and verifies the ledger.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from demo.inbox import write_inbox
from demo.services import acme_app, demo_env, prefect_server, review_service
from demo.workbook import write_workbook

ROOT = Path(__file__).resolve().parent.parent
PROCTOR = [sys.executable, "-m", "proctor.cli"]

DEMO_PASSWORD = "demo-password-123"  # every demo user's; a real team uses `proctor users add`
# The demo organisation: (name, roles, approver groups); the first, an administrator, adds
# everyone else.
PEOPLE = (("adam", "admin", ()), ("alice", "author", ()),
          ("bob", "approver", ("finance-approvers",)), ("carol", "approver", ("treasury",)),
          ("rhea", "approver", ("document-reviewers",)), ("dora", "auditor", ()))
# Who decides what in the demo: (action kind, approver, vote)
SCRIPT = {
    "acme.release_payment": ("bob", "approve", "large but expected: lab equipment order"),
    "acme.change_bank_account": ("carol", "reject", "bank change not confirmed by phone"),
}
# What rhea knows that the models do not: whose account is whose.
VENDOR_BY_IBAN = {"DE89370400440532013000": "Globex Corporation",
                  "DE02120300000000202051": "Initech GmbH",
                  "GB29NWBK60161331926819": "Umbrella Supplies Ltd",
                  "FR1420041010050500013M02606": "Wayne Logistics"}


def say(text: str) -> None:
    print(text, flush=True)


def proctor(env: dict[str, str], *args: str,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PROCTOR, *args], env=env, capture_output=True, text=True, cwd=ROOT,
                          input=None if stdin is None else stdin + "\n")


def add_people(env: dict[str, str]) -> None:
    """The demo's users, once (a second run finds them there): the first administrator (no
    one to vouch for them yet), then everyone else, added by that administrator (their
    password, then the new user's)."""
    admin = PEOPLE[0][0]
    known = {line.split()[0] for line in proctor(env, "users", "list").stdout.splitlines()}
    for name, role, groups in PEOPLE:
        if name in known:
            continue
        args = [a for g in groups for a in ("--group", g)]
        vouch = ["--as", admin] if name != admin else []
        added = proctor(env, "users", "add", name, "--role", role, *args, "--email",
                        f"{name}@acme.example", *vouch, "--password-stdin",
                        stdin=DEMO_PASSWORD if name == admin else f"{DEMO_PASSWORD}\n"
                        f"{DEMO_PASSWORD}")
        if added.returncode != 0:
            raise RuntimeError(f"could not add the demo user {name}: {added.stderr.strip()}")


def play_approvers(env: dict[str, str], flow: subprocess.Popen, timeout_s: float) -> None:
    """Act on each request as it reaches the queue, until the flow run ends."""
    handled: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while flow.poll() is None and time.monotonic() < deadline:
        listing = proctor(env, "approvals", "list", "--json")
        for line in filter(None, listing.stdout.splitlines()):
            request = json.loads(line)
            if request["id"] in handled:
                continue
            handled.add(request["id"])
            _decide(env, request)
        time.sleep(0.5)


def _decide(env: dict[str, str], request: dict[str, Any]) -> None:
    if request["action_kind"] == "documents.accept_invoice":
        _review_document(env, request)
        return
    who, vote, comment = SCRIPT.get(request["action_kind"], ("bob", "reject", "not expected"))
    params = request["action"]["params"]
    say(f"  [{who}] sees {request['action_kind']} "
        f"{params.get('invoice_number') or params.get('vendor')} "
        f"({', '.join(request['reasons'])}, group {request['approver_group']})")
    # The requester tries first: separation of duties must refuse it.
    selfie = proctor(env, "approvals", "approve", request["id"], "--as", request["requested_by"],
                     "--password-stdin", stdin=DEMO_PASSWORD)
    say(f"  [{request['requested_by']}] tries to approve it herself: "
        f"{(selfie.stderr or selfie.stdout).strip().splitlines()[0]}")
    if vote == "approve" and env.get("PROCTOR_DEMO_REVIEW_URL"):
        say(f"  [{who}] {vote}s in the review service: {_api_vote(env, request, who, comment)}")
        return
    result = proctor(env, "approvals", vote, request["id"], "--as", who, "--comment", comment,
                     "--password-stdin", stdin=DEMO_PASSWORD)
    say(f"  [{who}] {vote}s with the CLI: {(result.stdout or result.stderr).strip()}")


def _review_document(env: dict[str, str], request: dict[str, Any]) -> None:
    """rhea checks what the models read: rejects what addresses the machine, fills in a vendor
    the model could not read, confirms the rest."""
    params, reasons = request["action"]["params"], request["reasons"]
    name = request["action"]["context"].get("file", "?")
    say(f"  [rhea] sees {name}: {params['document_type']} {params['invoice_number']} "
        f"{params['total']} {params['currency']} ({', '.join(reasons)})")
    base = ["--as", "rhea", "--password-stdin"]
    if "document_suspicious" in reasons:
        result = proctor(env, "approvals", "reject", request["id"], *base, "--comment",
                         "the document tells us to pay another account", stdin=DEMO_PASSWORD)
        say(f"  [rhea] rejects: {(result.stdout or result.stderr).strip()}")
    elif not params["vendor_name"] and params["iban"] in VENDOR_BY_IBAN:
        vendor = VENDOR_BY_IBAN[params["iban"]]
        result = proctor(env, "approvals", "edit", request["id"], *base, "--set",
                         f"vendor_name={vendor}", "--comment", "vendor from the letterhead",
                         stdin=DEMO_PASSWORD)
        say(f"  [rhea] corrects the vendor to {vendor}: {(result.stdout or result.stderr).strip()}")
    else:
        result = proctor(env, "approvals", "approve", request["id"], *base, "--comment",
                         "read it myself: correct", stdin=DEMO_PASSWORD)
        say(f"  [rhea] confirms: {(result.stdout or result.stderr).strip()}")


def _api_vote(env: dict[str, str], request: dict[str, Any], who: str, comment: str) -> str:
    """Approve through the REST API, as the review UI's approve button does."""
    # An approver makes their own token (an administrator may not make one that votes).
    token = proctor(env, "users", "token", who, "--as", who, "--password-stdin",
                    stdin=DEMO_PASSWORD).stdout.strip()
    url = env["PROCTOR_DEMO_REVIEW_URL"]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as api:
        seen = api.get(f"/api/approvals/{request['id']}").json()
        answer = api.post(f"/api/approvals/{request['id']}/approve", json={
            "view_digest": seen["view_digest"], "comment": comment})
    body = answer.json()
    return f"{body.get('status', body.get('detail'))} (HTTP {answer.status_code}; " \
           f"{url}/requests/{request['id']})"


def print_summary(summary: dict[str, Any], verify: subprocess.CompletedProcess[str]) -> None:
    say("\nRows:")
    for row in summary["rows"]:
        say(f"  row {row['row']:>2} {row['invoice_number']:<9} {row['vendor']:<22} "
            f"{row['status']:<9} {' | '.join(row['steps'][1:])}")
    say("\nSummary")
    for label, key in (("invoices entered", "succeeded"), ("denied by policy", "denied"),
                       ("approved by a person", "approved"), ("rejected by a person", "rejected"),
                       ("failed", "failed"), ("already done earlier", "already_done")):
        say(f"  {label:<22} {summary[key]}")
    say(f"  {'proctor audit verify':<22} {verify.stdout.strip()} (exit {verify.returncode})")


def print_documents(summary: dict[str, Any]) -> None:
    say("\nDocuments (document-inbox):")
    for row in summary["rows"]:
        say(f"  {row}")
    labels = {"succeeded": "accepted"}  # the flow's outcome word; the demo says what it means
    say("  " + ", ".join(f"{labels.get(k, k.replace('_', ' '))} {summary[k]}" for k in (
        "succeeded", "denied", "rejected", "filed", "unreadable", "corrected_by_a_person",
        "entered_in_acme")))


def run_flow(env: dict[str, str], flow_name: str, option: str, value: Path,
             workdir: Path) -> dict[str, Any]:
    """Run a flow as alice while bob, carol and rhea work the queue; the flow's summary."""
    out = workdir / f"{flow_name}.json"
    out.unlink(missing_ok=True)
    log_path = workdir / "flow.log"
    add_people(env)
    with log_path.open("a") as log:
        flow = subprocess.Popen(
            [*PROCTOR, "run", flow_name, f"--{option}", str(value), "--as", "alice",
             "--summary", str(out)], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        play_approvers(env, flow, timeout_s=600)
        code = flow.wait(timeout=60)
    if code != 0:
        tail = log_path.read_text()[-3000:]
        raise RuntimeError(f"the flow failed (exit {code}); log {log_path}:\n{tail}")
    return json.loads(out.read_text())


def run(workdir: Path, keep: bool) -> int:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    workbook = write_workbook(workdir / "invoices.xlsx")
    say(f"Demo workbook: {workbook} (7 invoices, 3 of them tricky)")
    say("Starting Prefect server (SQLite) and Acme Payables ...")
    with prefect_server(workdir / "prefect") as api, acme_app(workdir / "acme.db") as acme, \
            review_service(demo_env(workdir, api, acme), workdir / "review.log") as review:
        say(f"  Prefect API  {api}\n  Acme app     {acme}\n  Review UI    {review}/queue "
            f"(users adam, alice, bob, carol, rhea, dora; password {DEMO_PASSWORD})")
        env = {**demo_env(workdir, api, acme), "PROCTOR_DEMO_REVIEW_URL": review}
        say("\nalice runs the invoice-entry flow; bob and carol watch the review queue:")
        try:
            summary = run_flow(env, "invoice-entry", "workbook", workbook, workdir)
            say("\nalice runs the document-inbox flow on 8 documents; rhea checks what the "
                "models read:")
            documents = run_flow(env, "document-inbox", "inbox",
                                 write_inbox(workdir / "inbox"), workdir)
        except RuntimeError as exc:
            say(str(exc))
            return 1
        proctor(env, "audit", "checkpoint")
        verify = proctor(env, "audit", "verify")
        print_summary(summary, verify)
        print_documents(documents)
        exported = proctor(env, "audit", "export", "--out", str(workdir / "export"))
        offline = proctor(env, "audit", "verify", "--export", str(workdir / "export"))
        say(f"  {'ledger export':<22} {workdir / 'export'} (exit {exported.returncode})")
        say(f"  {'verified offline':<22} {offline.stdout.strip()} (exit {offline.returncode})")
        env_file = workdir / "env.sh"
        env_file.write_text("".join(f"export {k}={v}\n" for k, v in env.items()
                                    if k.startswith("PROCTOR_LEDGER_")))
        say(f"\nLook around: source {env_file}; .venv/bin/proctor audit tail")
        if keep:
            say("Services keep running; Ctrl-C to stop.")
            _sleep_forever()
    return 0 if verify.returncode == offline.returncode == 0 else 1


def _sleep_forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--workdir", type=Path, default=ROOT / ".proctor" / "demo")
    parser.add_argument("--keep-running", action="store_true",
                        help="leave the Prefect UI and the app up after the run")
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    sys.exit(run(args.workdir, args.keep_running))


if __name__ == "__main__":
    main()
