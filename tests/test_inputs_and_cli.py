"""Bad input gets a clear error; the CLI's audit and approval commands on a real ledger."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from demo.workbook import DEMO_ROWS, write_workbook
from governance.models import Action
from proctor.composition import Governance, build, check_flow_author
from proctor.settings import Settings
from robots.acme.workbook import WorkbookError, read_invoices
from tests.conftest import PASSWORD, ROOT, approvers


def cli(settings_env: dict[str, str], *args: str,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "proctor.cli", *args], capture_output=True,
                          text=True, env={**os.environ, **settings_env}, cwd=ROOT,
                          input=None if stdin is None else stdin + "\n")


@pytest.fixture
def env(settings) -> dict[str, str]:
    return {"PROCTOR_LEDGER_URL": settings.ledger.url,
            "PROCTOR_POLICY_DIR": str(settings.policy.dir)}


def test_demo_workbook_round_trips(tmp_path: Path) -> None:
    rows = read_invoices(write_workbook(tmp_path / "w.xlsx"))
    assert [r.invoice_number for r in rows] == [r[0] for r in DEMO_ROWS]
    assert rows[2].amount == "48500.00" and rows[0].row == 2


@pytest.mark.parametrize(("cell", "value", "message"), [
    (3, "12.345", "row 3, column amount: Value error, more than two decimal places"),
    (3, "lots", "row 3, column amount: Value error, not a number"),
    (5, "31/12/2026", "row 3, column issue_date"),
    (4, "euro", "row 3, column currency"),
])
def test_bad_workbook_cell_is_named(tmp_path: Path, cell: int, value: str, message: str) -> None:
    rows = [list(r) for r in DEMO_ROWS[:3]]
    rows[1][cell] = value
    path = write_workbook(tmp_path / "bad.xlsx", [tuple(r) for r in rows])
    with pytest.raises(WorkbookError, match=message.replace("(", r"\(")):
        read_invoices(path)


def test_missing_workbook_is_named(tmp_path: Path) -> None:
    with pytest.raises(WorkbookError, match="does not exist"):
        read_invoices(tmp_path / "nope.xlsx")


def test_action_rejects_what_json_cannot_hold() -> None:
    with pytest.raises(ValueError):
        Action(kind="acme.login", target="a", robot="r", requested_by="p", params={"x": object()})
    with pytest.raises(ValueError, match="kind"):
        Action(kind="Login!", target="a", robot="r", requested_by="p")


def test_audit_tail_and_query(governance: Governance, env: dict[str, str]) -> None:
    for amount, run in (("10.00", "run-a"), ("20.00", "run-b")):
        action = Action(kind="acme.release_payment", target="acme-payables", robot="robot:x",
                        requested_by="alice", flow_run_id=run, idempotency_key=f"k{amount}",
                        params={"vendor": "Globex Corporation", "invoice_number": "1",
                                "amount": amount, "currency": "EUR"},
                        context={"invoice_status": "entered"})
        governance.gate.submit(action, lambda a: {"ok": True})
    tail = cli(env, "audit", "tail", "-n", "3")
    assert tail.returncode == 0 and len(tail.stdout.splitlines()) == 3
    by_run = cli(env, "audit", "query", "--flow-run", "run-b", "--json")
    entries = [json.loads(line) for line in by_run.stdout.splitlines()]
    assert [e["kind"] for e in entries] == ["action.proposed", "policy.decided", "action.started",
                                            "action.succeeded"]
    assert {e["flow_run_id"] for e in entries} == {"run-b"}
    by_actor = cli(env, "audit", "query", "--actor", "policy", "--action-kind",
                   "acme.release_payment", "--json")
    assert len(by_actor.stdout.splitlines()) == 2


def test_approvals_cli(governance: Governance, env: dict[str, str]) -> None:
    action = Action(kind="acme.change_bank_account", target="acme-payables", robot="robot:x",
                    requested_by="alice", params={"vendor": "Initech GmbH", "new_iban": "X"})
    request = governance.approvals.open(action, governance.policy.decide(action.policy_input()))
    listed = cli(env, "approvals", "list", "--json")
    assert json.loads(listed.stdout)["id"] == request.id
    shown = json.loads(cli(env, "approvals", "show", request.id).stdout)
    assert shown["action_digest"] == action.digest() and shown["approver_group"] == "treasury"
    selfie = cli(env, "approvals", "approve", request.id, "--as", "alice", "--password-stdin",
                 stdin=PASSWORD)
    assert selfie.returncode == 1 and "cannot vote" in selfie.stderr
    no_reason = cli(env, "approvals", "reject", request.id, "--as", "bob", "--comment", " ",
                    "--password-stdin", stdin=PASSWORD)
    assert no_reason.returncode == 1 and "comment" in no_reason.stderr
    wrong = cli(env, "approvals", "approve", request.id, "--as", "bob", "--password-stdin",
                stdin="not bob's password")
    assert wrong.returncode == 1 and "password" in wrong.stderr
    outsider = cli(env, "approvals", "approve", request.id, "--as", "dave", "--password-stdin",
                   stdin=PASSWORD)  # finance, not treasury
    assert outsider.returncode == 1 and "not an approver of treasury" in outsider.stderr
    approved = cli(env, "approvals", "approve", request.id, "--as", "bob", "--password-stdin",
                   stdin=PASSWORD)
    assert approved.returncode == 0 and "approved" in approved.stdout
    late = cli(env, "approvals", "reject", request.id, "--as", "carol", "--comment", "no",
               "--password-stdin", stdin=PASSWORD)
    assert late.returncode == 1 and "already approved" in late.stderr
    unknown = cli(env, "approvals", "show", "nope")
    assert unknown.returncode == 1 and "no approval request" in unknown.stderr


def test_prefect_yaml_deploys_the_flow() -> None:
    from prefect.flows import load_flow_from_entrypoint

    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    for deployment in config["deployments"]:
        flow = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
        accepted = inspect.signature(flow.fn).parameters
        assert set(deployment["parameters"]) <= set(accepted)
        assert deployment["work_pool"]["name"] == "proctor-process"
        # Each names its flow's author, who may then never approve the flow's actions.
        author = deployment["work_pool"]["job_variables"]["env"]["PROCTOR_FLOW_AUTHOR"]
        assert isinstance(author, str) and author.strip(), deployment["name"]


def test_a_deployed_run_without_an_author_is_refused(settings: Settings) -> None:
    deployed = "flow run 'amber-fox' (deployment 1234)"
    with pytest.raises(ValueError, match="amber-fox.*names no author.*PROCTOR_FLOW_AUTHOR"):
        check_flow_author(settings, deployed)
    with pytest.raises(ValueError, match="names no author"):
        check_flow_author(settings.model_copy(update={"flow_author": "  "}), deployed)
    check_flow_author(settings.model_copy(update={"flow_author": "alice"}), deployed)
    check_flow_author(settings, None)  # a local run: its requester's own


def test_auditor_queries_and_exports(governance: Governance, env: dict[str, str]) -> None:
    import csv
    import io

    def release(amount: str, robot: str = "robot:acme") -> Action:
        return Action(kind="acme.release_payment", target="acme-payables", robot=robot,
                      requested_by="alice", idempotency_key=f"r{amount}",
                      params={"vendor": "Globex Corporation", "invoice_number": amount,
                              "amount": amount, "currency": "EUR"},
                      context={"invoice_status": "entered"})

    thread = approvers(governance, ("bob", "approve"), ("carol", "reject"))
    allowed = governance.gate.submit(release("10.00"), lambda a: {"ok": 1})
    approved = governance.gate.submit(release("20000.00"), lambda a: {"ok": 2})
    rejected = governance.gate.submit(release("30000.00", "robot:other"), lambda a: {"ok": 3})
    denied = governance.gate.submit(release("999999.00"), lambda a: {"ok": 4})
    thread.join()

    def ids(*args: str) -> set[str]:
        out = cli(env, "audit", "query", "--format", "jsonl", *args)
        assert out.returncode == 0, out.stderr
        return {json.loads(line)["action_id"] for line in out.stdout.splitlines()}

    assert ids("--approver", "bob") == {approved.action_id}
    assert ids("--approver", "carol") == {rejected.action_id}
    assert ids("--decision", "deny") == {denied.action_id}
    assert ids("--decision", "allow") == {allowed.action_id}
    assert ids("--robot", "robot:other") == {rejected.action_id}
    revision = governance.policy.revision[:12]
    assert len(ids("--policy-revision", revision)) == 4
    assert ids("--policy-revision", "0000") == set()
    assert ids("--text", "999999.00") == {denied.action_id}
    assert len(ids("--since", "2000-01-01", "--until", "2999-01-01")) == 4
    assert ids("--until", "2000-01-01") == set()
    story = cli(env, "audit", "story", approved.action_id).stdout
    assert [line.split()[2] for line in story.splitlines()] == [
        "action.proposed", "policy.decided", "approval.requested", "approval.voted",
        "approval.approved", "approval.used", "action.started", "action.succeeded"]
    exported = cli(env, "audit", "query", "--decision", "require_approval", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert {r["action_id"] for r in rows} == {approved.action_id, rejected.action_id}
    assert {"seq", "entry_hash", "payload"} <= set(rows[0])
    bad = cli(env, "audit", "query", "--decision", "maybe")
    assert bad.returncode == 2 and "decision must be" in bad.stderr


def test_users_cli(env: dict[str, str], settings: Settings) -> None:
    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "proctor.cli", *args], input=stdin,
                              capture_output=True, text=True, env={**os.environ, **env})

    pw = "a long enough password"
    first = run("users", "add", "dora", "--role", "auditor", "--password-stdin", stdin=pw)
    assert first.returncode == 2 and "no administrator exists yet" in first.stderr
    short = run("users", "add", "adam", "--role", "admin", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    boot = run("users", "add", "adam", "--role", "admin", "--password-stdin", stdin=pw)
    assert boot.returncode == 0, boot.stderr  # the first administrator, without --as
    # From now on, every change needs --as an administrator and their password.
    unproven = run("users", "add", "dora", "--role", "auditor", "--as", "adam",
                   "--password-stdin", stdin=f"not adam's password\n{pw}")
    assert unproven.returncode == 1 and "wrong user name or password" in unproven.stderr
    bad_role = run("users", "add", "dora", "--role", "boss", "--as", "adam", "--password-stdin",
                   stdin=f"{pw}\n{pw}")
    assert bad_role.returncode == 2 and "unknown: ['boss']" in bad_role.stderr
    made = run("users", "add", "dora", "--role", "auditor", "--group", "treasury", "--as",
               "adam", "--password-stdin", stdin=f"{pw}\n{pw}")
    assert made.returncode == 0 and "roles auditor; groups treasury" in made.stdout
    assert run("users", "add", "bob", "--role", "approver", "--group", "treasury", "--as",
               "adam", "--password-stdin", stdin=f"{pw}\n{pw}").returncode == 0
    not_admin = run("users", "add", "eve", "--role", "admin", "--as", "dora",
                    "--password-stdin", stdin=f"{pw}\n{pw}")
    assert not_admin.returncode == 1 and "dora is not an administrator" in not_admin.stderr
    # Tokens: an administrator makes them for those who do not vote; approvers make their own.
    token = run("users", "token", "dora", "--as", "adam", "--password-stdin", stdin=pw)
    assert token.returncode == 0 and token.stdout.startswith("pct_")
    minted = run("users", "token", "bob", "--as", "adam", "--password-stdin", stdin=pw)
    assert minted.returncode == 1 and "only bob can create a token" in minted.stderr
    own = run("users", "token", "bob", "--as", "bob", "--password-stdin", stdin=pw)
    assert own.returncode == 0 and own.stdout.startswith("pct_")
    guessed = run("users", "token", "bob", "--as", "bob", "--password-stdin", stdin="guess" * 3)
    assert guessed.returncode == 1 and not guessed.stdout
    assert run("users", "token", "nobody", "--as", "adam", "--password-stdin",
               stdin=pw).returncode == 1
    # set and delegate: --as must be a (password-confirmed) administrator, or the delegator.
    posing = run("users", "set", "dora", "--role", "approver", "--as", "dora",
                 "--password-stdin", stdin=pw)
    assert posing.returncode == 1 and "not an administrator" in posing.stderr
    unchecked = run("users", "set", "dora", "--disable", "--as", "adam", "--password-stdin",
                    stdin="not adam's password")
    assert unchecked.returncode == 1
    assert run("users", "delegate", "bob", "dora", "--until", "2999-01-01", "--as", "dora",
               "--password-stdin", stdin=pw).returncode == 1
    assert run("users", "delegate", "bob", "dora", "--until", "2999-01-01", "--as", "bob",
               "--password-stdin", stdin=pw).returncode == 0
    promoted = run("users", "set", "dora", "--role", "approver", "--as", "adam",
                   "--password-stdin", stdin=pw)
    assert promoted.returncode == 0
    governance = build(settings, resume_runs=False)  # the database the commands used
    # dora's token was made by adam: becoming an approver revoked it.
    assert governance.identity.authenticate_token(token.stdout.strip()) is None
    assert governance.identity.authenticate_token(own.stdout.strip()).name == "bob"
    refused = governance.reader.query(kind="access.refused")
    assert {(e.actor, e.data()["path"]) for e in refused} >= {
        ("adam", "cli users token"), ("dora", "cli users add"), ("dora", "cli users set"),
        ("dora", "cli users delegate")}
    created = governance.reader.query(kind="identity.token_created")
    assert [(e.actor, e.data()["user"]) for e in created] == [("adam", "dora"), ("bob", "bob")]


def test_approvals_list_filters_scope_and_bulk_cli(governance: Governance,
                                                   env: dict[str, str]) -> None:
    from datetime import UTC, datetime, timedelta

    from governance.approvals.store import Approvals

    def request(amount: str | None, *, hours_ago: float = 0) -> str:
        if amount is None:
            action = Action(kind="acme.change_bank_account", target="acme-payables",
                            robot="robot:x", requested_by="zoe",
                            params={"vendor": "Initech GmbH", "new_iban": "X"})
        else:
            action = Action(kind="acme.release_payment", target="acme-payables",
                            robot="robot:x", requested_by="alice",
                            params={"vendor": "Globex Corporation", "invoice_number": amount,
                                    "amount": amount, "currency": "EUR"},
                            context={"invoice_status": "entered"})
        then = datetime.now(UTC) - timedelta(hours=hours_ago)
        opener = Approvals(governance.engine, governance.writer, governance.identity,
                           clock=lambda: then)  # the same store, opened that long ago
        return opener.open(action, governance.policy.decide(action.policy_input())).id

    fresh, old, bank = request("20000.00"), request("30000.00", hours_ago=5), request(None)

    def listed(*args: str, stdin: str | None = None) -> set[str]:
        out = cli(env, "approvals", "list", "--json", *args, stdin=stdin)
        assert out.returncode == 0, out.stderr
        return {json.loads(line)["id"] for line in out.stdout.splitlines()}

    assert listed() == {fresh, old, bank}
    assert listed("--min-amount", "25000") == {old}
    assert listed("--max-age-s", "3600") == {fresh, bank}
    assert listed("--group", "treasury") == {bank}
    assert listed("--reason", "amount_over_approval_limit", "--min-age-s", "3600") == {old}
    # --as: that person's queue, once their password is confirmed.
    assert listed("--as", "alice", "--password-stdin", stdin=PASSWORD) == {fresh, old}
    assert listed("--as", "dave", "--password-stdin", stdin=PASSWORD) == {fresh, old}
    # rita (risk-committee) sees only the request that waited past escalation (4 h).
    assert listed("--as", "rita", "--password-stdin", stdin=PASSWORD) == {old}
    wrong = cli(env, "approvals", "list", "--as", "dave", "--password-stdin", stdin="guess")
    assert wrong.returncode == 1 and not wrong.stdout
    # Bulk approval lists what it would approve and asks; no means nothing happens.
    reason = "amount_over_approval_limit"
    declined = cli(env, "approvals", "bulk-approve", "--reason", reason, "--as", "bob",
                   "--password-stdin", stdin=f"{PASSWORD}\nn")
    assert declined.returncode == 1 and "nothing approved" in declined.stderr
    assert fresh in declined.stdout and old in declined.stdout and bank not in declined.stdout
    assert {governance.approvals.get(i).status for i in (fresh, old)} == {"pending"}
    done = cli(env, "approvals", "bulk-approve", "--reason", reason, "--as", "bob",
               "--password-stdin", stdin=f"{PASSWORD}\ny")
    assert done.returncode == 0, done.stderr
    assert f"{fresh}: approved" in done.stdout and f"{old}: approved" in done.stdout
    voted = governance.reader.query(kind="approval.voted")
    assert {e.data()["view_digest"] for e in voted} == {
        governance.approvals.get(i).view_digest for i in (fresh, old)}
