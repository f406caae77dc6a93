"""The CLI's layout: one small module per command group, `--help` that loads nothing heavy, and
`proctor run` that finds flows through prefect.yaml (the engine names no flow file)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

HEAVY = ("prefect", "torch", "transformers", "playwright")
GROUPS = ("policy", "audit", "approvals", "users", "run", "flows", "serve", "up", "down")
CLI_DIR = ROOT / "proctor" / "cli"


def proctor(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
            module: str = "proctor.cli") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "COLUMNS": "200", **(env or {})},
                          timeout=300)


def test_help_loads_no_heavy_dependency() -> None:
    script = textwrap.dedent(f"""
        import json, sys
        from typer.testing import CliRunner
        from proctor.cli import app, main
        runner = CliRunner()
        codes = [runner.invoke(app, [*group, "--help"]).exit_code
                 for group in ([], *([g] for g in {GROUPS!r}))]
        sys.argv = ["proctor", "--help"]
        try:
            main()
        except SystemExit as exit:
            codes.append(exit.code)
        loaded = sorted({{name.split(".")[0] for name in sys.modules}} & set({HEAVY!r}))
        print(json.dumps({{"codes": codes, "loaded": loaded}}))
        """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result["codes"]) == {0}, result
    assert result["loaded"] == [], f"`proctor --help` imported {', '.join(result['loaded'])}"


def test_every_command_group_module_is_small() -> None:
    modules = sorted(CLI_DIR.glob("*.py"))
    for group in ("policy", "audit", "approvals", "users", "run", "flows", "serve", "up",
                  "common"):
        assert CLI_DIR / f"{group}.py" in modules
    for module in modules:
        lines = len(module.read_text("utf-8").splitlines())
        assert lines < 500, f"{module.relative_to(ROOT)} has {lines} lines (at most 499)"


@pytest.mark.parametrize("module", ["proctor.cli", "proctor"])
def test_help_lists_every_group(module: str) -> None:
    out = proctor("--help", module=module)
    assert out.returncode == 0, out.stderr
    listed = {line.split()[1] for line in out.stdout.splitlines()
              if line.startswith("│ ") and len(line.split()) > 2}
    assert set(GROUPS) <= listed, f"missing from --help: {set(GROUPS) - listed}"


def test_run_names_what_can_run() -> None:
    unknown = proctor("run", "no-such-flow")
    assert unknown.returncode == 2
    assert "unknown flow 'no-such-flow': use one of invoice-entry, document-inbox" \
        in unknown.stderr
    needs = proctor("run", "invoice-entry")
    assert needs.returncode == 2 and "invoice-entry needs --workbook" in needs.stderr
    wrong = proctor("run", "invoice-entry", "--workbook", "w.xlsx", "--param", "speed=9")
    assert wrong.returncode == 2
    assert "takes no parameter 'speed'; it takes: workbook: str, requested_by: str | None = " \
        "None, plan: bool = False" in wrong.stderr
    elsewhere = proctor("run", "invoice-entry", "--project", "/nonexistent")
    assert elsewhere.returncode == 2
    assert "no deployments in /nonexistent/prefect.yaml" in elsewhere.stderr


HELLO = '''
import os
from prefect import flow


@flow(name="hello")
def hello(greeting: str, times: int = 1, requested_by: str | None = None,
          plan: bool = False) -> dict:
    return {"said": greeting * times, "by": requested_by, "plan": plan,
            "env_plan": os.environ.get("PROCTOR_PLAN")}


@flow(name="legacy")
def legacy(greeting: str) -> dict:
    return {"said": greeting, "env_plan": os.environ.get("PROCTOR_PLAN")}
'''

PROJECT = """
deployments:
  - name: say-hello
    entrypoint: flows/hello.py:hello
  - name: say-legacy
    entrypoint: flows/hello.py:legacy
"""


@pytest.mark.prefect
def test_run_finds_the_flow_in_prefect_yaml_and_passes_plan(
        tmp_path: Path, prefect_api: str) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "hello.py").write_text(HELLO)
    (tmp_path / "prefect.yaml").write_text(PROJECT)
    env = {"PREFECT_API_URL": prefect_api}
    summary = tmp_path / "summary.json"
    named = proctor("run", "say-hello", "--project", str(tmp_path), "--param", "greeting=hi",
                    "--param", "times=2", "--as", "alice", "--plan", "--summary", str(summary),
                    "--json", env=env)
    assert named.returncode == 0, named.stderr
    result = json.loads(summary.read_text())
    assert result == {"said": "hihi", "by": "alice", "plan": True, "env_plan": None}
    assert json.loads(named.stdout)["result"] == result

    here = proctor("run", "say-legacy", "--param", "greeting=hey", "--json", cwd=tmp_path,
                   env=env)
    assert here.returncode == 0, here.stderr
    assert json.loads(here.stdout)["result"] == {"said": "hey", "env_plan": None}
    by_path = proctor("run", f"{tmp_path}/flows/hello.py:legacy", "--param", "greeting=yo",
                      env=env)
    assert by_path.returncode == 0, by_path.stderr
    assert any(re.search(r"│ said +│ yo +│", line) for line in by_path.stdout.splitlines())
    # plan mode reaches a flow as its parameter, never through the environment
    cannot = proctor("run", "flows/hello.py:legacy", "--plan", cwd=tmp_path, env=env)
    assert cannot.returncode == 2
    assert "flows/hello.py:legacy cannot plan: its flow takes no `plan` parameter" \
        in cannot.stderr
    unknown = proctor("run", "say-goodbye", cwd=tmp_path, env=env)
    assert unknown.returncode == 2
    assert "use one of say-hello, say-legacy" in unknown.stderr
