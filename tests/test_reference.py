"""The generated references (docs/reference/) match the CLI and the settings models as they are,
and read the same on every machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import typer.main

from proctor.cli import app
from proctor.reference import REFERENCE_DIR, REGENERATE, generate
from tests.conftest import ROOT


def test_the_committed_references_are_current() -> None:
    for name, text in generate().items():
        path = REFERENCE_DIR / name
        committed = path.read_text("utf-8") if path.exists() else None
        assert committed == text, (
            f"{path.relative_to(ROOT)} is stale: run `{REGENERATE}` and commit the result")


def test_the_references_are_the_same_anywhere(tmp_path: Path) -> None:
    """Another folder, other settings and another terminal width change nothing."""
    env = {**os.environ, "COLUMNS": "37", "PROCTOR_LEDGER_URL": "sqlite:////elsewhere.db",
           "PROCTOR_USER": "somebody-else", "PYTHONPATH": str(ROOT)}
    script = "import json; from proctor.reference import generate; print(json.dumps(generate()))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    elsewhere = json.loads(out.stdout)
    assert elsewhere == generate()
    for text in elsewhere.values():
        assert str(ROOT) not in text and "somebody-else" not in text


def test_every_command_and_setting_is_in_the_references() -> None:
    cli, settings = generate()["cli.md"], generate()["settings.md"]
    root = typer.main.get_command(app)
    context = root.context_class(root, info_name="proctor")
    for group in root.list_commands(context):
        command = root.get_command(context, group)
        assert f"`proctor {group}`" in cli
        sub_context = command.context_class(command, info_name=group, parent=context)
        for name in getattr(command, "list_commands", lambda _: [])(sub_context):
            assert f"`proctor {group} {name}`" in cli
    assert "`--plan`" in cli and "`PROCTOR_PROJECT_DIR`" in cli
    for variable in ("PROCTOR_USER", "PROCTOR_LEDGER_URL", "PROCTOR_POLICY_DIR",
                     "PROCTOR_REVIEW_WEBHOOK_SECRET", "PROCTOR_BROWSER_EXECUTABLE",
                     "PROCTOR_EVIDENCE_DIR", "PROCTOR_INFERENCE_WEAVIATE_URL", "WEAVIATE_URL",
                     "PROCTOR_DOCUMENTS_DIR", "PROCTOR_APPROVALS_POLL_INTERVAL_S"):
        assert f"`{variable}`" in settings
    assert "`sqlite:///.proctor/proctor.db`" in settings
