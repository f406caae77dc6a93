"""`proctor run` runs any flow, all real: a flow file written here, `python -m proctor.cli` in its
own process, the session's Prefect server, a SQLite ledger and the shipped policies.

Parameters are typed by the flow's signature (`--param`, `--params FILE.json`); a wait for a
person prints the request's review link; the end prints the flow's result and the run's outcomes
from the ledger (`--json`: one object); a failed flow exits non-zero. `proctor flows` lists what
can run.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from governance.approvals.settings import ApprovalSettings
from proctor.composition import build
from proctor.settings import Settings
from tests.conftest import PASSWORD, ROOT

FLOWS = '''
from datetime import date
from decimal import Decimal
from pathlib import Path

from prefect import flow
from prefect.runtime import flow_run

from governance.models import Action
from proctor.composition import build
from proctor.settings import Settings


@flow(name="typed")
def typed(count: int, ratio: float, strict: bool, limit: Decimal, where: Path, day: date,
          tags: list[str], note: str = "hi") -> dict:
    """Say what it was given, with each value's type.

    Nothing else."""
    given = dict(count=count, ratio=ratio, strict=strict, limit=limit, where=where, day=day,
                 tags=tags, note=note)
    return {name: f"{type(value).__name__}:{value}" for name, value in given.items()}


@flow(name="payments")
def payments(amounts: list[str], requested_by: str | None = None) -> dict:
    """Release one payment per amount, each through the Gate."""
    settings = Settings()
    governance = build(settings)
    run_id = str(flow_run.get_id())
    statuses = {}
    for number, amount in enumerate(amounts, 1):
        action = Action(
            kind="acme.release_payment", target="acme-payables", robot="robot:acme-payables",
            requested_by=requested_by or settings.user, flow_run_id=run_id,
            idempotency_key=f"test:release:{run_id}:{number}",
            params={"vendor": "Globex Corporation", "invoice_number": f"INV-{number}",
                    "amount": amount, "currency": "EUR"},
            context={"invoice_status": "entered"})
        outcome = governance.gate.submit(
            action, perform=lambda a: {"released": a.params["invoice_number"]})
        statuses[f"INV-{number}"] = outcome.status
    return statuses


@flow(name="broken")
def broken(vendor: str) -> dict:
    raise ValueError(f"no such vendor: {vendor}")
'''

PROJECT = """
deployments:
  - name: typed
    entrypoint: flows/any.py:typed
  - name: payments
    entrypoint: flows/any.py:payments
  - name: broken
    entrypoint: flows/any.py:broken
    description: Fails on purpose.
"""

REVIEW = "http://review.test"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    (folder / "flows").mkdir(parents=True)
    (folder / "flows" / "any.py").write_text(FLOWS)
    (folder / "prefect.yaml").write_text(PROJECT)
    return folder


def run_env(settings: Settings, api: str | None, home: Path) -> dict[str, str]:
    """A flow process's environment: the test's ledger and policies, a private Prefect home."""
    ledger = settings.ledger
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({
        "COLUMNS": "200", "PYTHONPATH": str(ROOT), "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING",
        "PROCTOR_USER": "alice", "PROCTOR_LEDGER_URL": ledger.url,
        "PROCTOR_LEDGER_SIGNING_KEY": str(ledger.signing_key),
        "PROCTOR_LEDGER_REDACTION_KEY": str(ledger.redaction_key),
        "PROCTOR_LEDGER_CHECKPOINT_DIR": str(ledger.checkpoint_dir),
        "PROCTOR_POLICY_DIR": str(settings.policy.dir),
        "PROCTOR_APPROVALS_POLL_INTERVAL_S": "1", "PROCTOR_REVIEW_BASE_URL": f"{REVIEW}/"})
    if api is not None:
        env["PREFECT_API_URL"] = api
    return env


@pytest.fixture
def env(settings: Settings, prefect_api: str, tmp_path: Path) -> dict[str, str]:
    return run_env(settings, prefect_api, tmp_path / "prefect-home")


def proctor(*args: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "proctor.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


TYPED = ("--param", "ratio=0.5", "--param", "strict=yes", "--param", "limit=12.50",
         "--param", "where=out/x.txt", "--param", "day=2026-11-30", "--param", 'tags=["a","b"]')


@pytest.mark.prefect
def test_params_are_typed_by_the_flow_signature(
        project: Path, env: dict[str, str], tmp_path: Path) -> None:
    file = tmp_path / "params.json"
    file.write_text(json.dumps({"count": 2, "note": "from the file", "ratio": 9}))
    done = proctor("run", "typed", "--project", str(project), "--params", str(file),
                   "--param", "count=7", *TYPED, "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["state"] == "Completed" and report["failed"] is False
    assert report["result"] == {
        "count": "int:7", "ratio": "float:0.5", "strict": "bool:True",
        "limit": "Decimal:12.50", "where": "PosixPath:out/x.txt", "day": "date:2026-11-30",
        "tags": "list:['a', 'b']", "note": "str:from the file"}
    assert report["outcomes"] == {}  # it governs nothing
    assert "using the Prefect" not in done.stderr  # PREFECT_API_URL says which Prefect
    assert "using a temporary" not in done.stderr


def test_bad_params_name_the_parameter_the_type_and_the_signature(
        project: Path, settings: Settings, tmp_path: Path) -> None:
    env = run_env(settings, None, tmp_path / "prefect-home")
    takes = ("typed takes: count: int, ratio: float, strict: bool, limit: Decimal, where: Path, "
             "day: date, tags: list[str], note: str = 'hi'")
    not_int = proctor("run", "typed", "--project", str(project), "--param", "count=seven",
                      *TYPED, env=env)
    assert not_int.returncode == 2
    assert "--param count: 'seven' is not a valid int (parameter 'count' of typed" \
        in not_int.stderr and takes in not_int.stderr
    not_list = proctor("run", "typed", "--project", str(project), "--param", "count=1",
                       *TYPED, "--param", "tags=a,b", env=env)
    assert not_list.returncode == 2
    assert "--param tags: 'a,b' is not a valid list[str] (write it as JSON)" in not_list.stderr
    unknown = proctor("run", "typed", "--project", str(project), "--param", "colour=red",
                      env=env)
    assert unknown.returncode == 2
    assert f"typed takes no parameter 'colour'; it takes: {takes[len('typed takes: '):]}" \
        in unknown.stderr
    file = tmp_path / "params.json"
    file.write_text(json.dumps({"count": "many"}))
    from_file = proctor("run", "typed", "--project", str(project), "--params", str(file),
                        *TYPED, env=env)
    assert from_file.returncode == 2
    assert f"count in {file}: 'many' is not a valid int" in from_file.stderr
    for text, says in (("[1, 2]", "holds a JSON list, not an object of parameters"),
                       ("{count: 1", "not valid JSON")):
        file.write_text(text)
        bad = proctor("run", "typed", "--project", str(project), "--params", str(file), env=env)
        assert bad.returncode == 2 and f"--params {file}: {says}" in bad.stderr
    missing = proctor("run", "typed", "--project", str(project), "--params",
                      str(tmp_path / "none.json"), env=env)
    assert missing.returncode == 2 and "cannot read it" in missing.stderr


def test_flows_lists_the_deployments_of_prefect_yaml(project: Path, tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "250"}
    table = proctor("flows", "--project", str(project), env=env)
    assert table.returncode == 0, table.stderr
    rows = table.stdout
    assert "typed" in rows and "flows/any.py:typed" in rows
    assert "Say what it was given, with each value's type." in rows
    assert "note: str = 'hi'" in rows and "amounts: list[str]" in rows
    assert "Fails on purpose." in rows  # no docstring: the deployment's description
    listed = json.loads(proctor("flows", "--json", env=env, cwd=project).stdout)
    assert [f["name"] for f in listed] == ["typed", "payments", "broken"]
    payments = listed[1]
    assert payments["description"] == "Release one payment per amount, each through the Gate."
    assert payments["parameters"] == [
        {"name": "amounts", "type": "list[str]", "default": None, "required": True},
        {"name": "requested_by", "type": "str | None", "default": "None", "required": False}]
    none = proctor("flows", "--project", str(tmp_path), env=env)
    assert none.returncode == 2 and "no deployments in" in none.stderr


@pytest.mark.prefect
def test_the_summary_shows_the_result_and_the_ledger_outcomes(
        project: Path, env: dict[str, str]) -> None:
    amounts = '["100.00", "999999.00"]'
    as_json = proctor("run", "payments", "--project", str(project), "--param",
                      f"amounts={amounts}", "--json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["result"] == {"INV-1": "succeeded", "INV-2": "denied"}
    assert report["outcomes"] == {"denied": 1, "succeeded": 1}
    assert report["flow"] == "payments" and report["flow_run_id"]

    table = proctor("run", "payments", "--project", str(project), "--param",
                    f"amounts={amounts}", env=env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert any(re.search(r"│ INV-1 +│ succeeded +│", line) for line in lines), table.stdout
    assert any(re.search(r"│ INV-2 +│ denied +│", line) for line in lines), table.stdout
    assert "outcomes in the ledger (flow run " in table.stdout
    assert any(re.search(r"│ succeeded +│ +1 │", line) for line in lines), table.stdout


@pytest.mark.prefect
def test_a_wait_prints_the_review_link_and_the_run_goes_on_once_approved(
        project: Path, env: dict[str, str], settings: Settings) -> None:
    approver = build(settings.model_copy(update={"approvals": ApprovalSettings(
        poll_interval_s=1, resume_patience_s=30)}), resume_runs=True)
    approver.identity.add_user("bob", PASSWORD, roles={"approver"},
                               groups={"finance-approvers"})
    process = subprocess.Popen(
        [sys.executable, "-m", "proctor.cli", "run", "payments", "--project", str(project),
         "--param", 'amounts=["48500.00"]'], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.Queue[str] = queue.Queue()
    errors: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            errors.append(line)
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while True:
            line = lines.get(timeout=120)
            if found := re.search(r"waiting for approval: (\S+) \(request (\S+)\)", line):
                break
        url, request_id = found.groups()
        assert url == f"{REVIEW}/requests/{request_id}"
        assert approver.approvals.get(request_id).status == "pending"
        approver.approvals.approve(request_id, "bob", reauthenticated=True)  # resumes the run
        out, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(timeout=10)
    assert process.returncode == 0, "".join(errors)
    assert sum("waiting for approval" in line for line in errors) == 1, errors
    assert any(re.search(r"│ INV-1 +│ succeeded +│", line) for line in out.splitlines()), out
    assert any(re.search(r"│ succeeded +│ +1 │", line) for line in out.splitlines()), out


@pytest.mark.prefect
def test_a_failed_flow_exits_non_zero(project: Path, env: dict[str, str]) -> None:
    done = proctor("run", "broken", "--project", str(project), "--param", "vendor=Nobody",
                   env=env)
    assert done.returncode == 1
    assert "flow broken failed (Failed): ValueError: no such vendor: Nobody" in done.stderr
    as_json = proctor("run", "broken", "--project", str(project), "--param", "vendor=Nobody",
                      "--json", env=env)
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["failed"] is True and report["result"] is None
    assert report["error"] == "ValueError: no such vendor: Nobody"


@pytest.mark.prefect
def test_without_prefect_api_url_it_says_which_prefect(
        project: Path, settings: Settings, prefect_api: str, tmp_path: Path) -> None:
    home = tmp_path / "prefect-home"
    home.mkdir()
    (home / "profiles.toml").write_text(
        f'active = "team"\n\n[profiles.team]\nPREFECT_API_URL = "{prefect_api}"\n')
    done = proctor("run", "typed", "--project", str(project), "--param", "count=1", *TYPED,
                   "--json", env=run_env(settings, None, home))
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("using ")]
    assert said == [f"using the Prefect server at {prefect_api} (from Prefect profile 'team'; "
                    "set PREFECT_API_URL to use another)"]
