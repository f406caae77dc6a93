"""The docs tell the truth: every snippet that says it runs does run, its output is what the doc
shows, every relative link leads somewhere, and every repository path they name exists.

Convention (in README.md, bench/README.md and docs/**/*.md):

    ```python run        executed with this project's Python, in a temporary folder
    ```bash run          executed with `bash -euo pipefail`, `.venv/bin` first on PATH
    ```output            right after a run block: its expected stdout, line for line
                         (a line `...` stands for any number of lines, `...` inside
                         a line for any text on that line)

Blocks run against throwaway state: the ledger, keys, checkpoints, evidence, documents and
Prefect's home all live in a temporary folder (`PROCTOR_LEDGER_URL`, ...), and the shipped
`policies/` decide. A failure names the file and line of the block.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", ROOT / "bench" / "README.md",
               *(ROOT / "docs").rglob("*.md")])
README_MAX_LINES = 200
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([^`]*)$")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
RUNNERS = {"python", "bash", "sh"}


@dataclass(frozen=True)
class Block:
    """A fenced code block: where it starts, its language and flags, its text."""

    path: Path
    line: int
    lang: str
    flags: frozenset[str]
    body: str
    expected: str | None = None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file; a run block takes the `output` block after it."""
    found: list[Block] = []
    lines = path.read_text("utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence, info = opening.groups()
        words = info.split()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
            j += 1
        found.append(Block(path, i + 1, words[0] if words else "", frozenset(words[1:]),
                           "\n".join(body) + "\n"))
        i = j + 1
    joined: list[Block] = []
    for block in found:
        if block.lang == "output" and joined and "run" in joined[-1].flags:
            last = joined.pop()
            joined.append(Block(last.path, last.line, last.lang, last.flags, last.body,
                                block.body))
        else:
            joined.append(block)
    return joined


RUNNABLE = [b for path in DOCS for b in blocks(path) if "run" in b.flags]


def doc_env(tmp: Path) -> dict[str, str]:
    """The environment a doc block runs in: this checkout importable, all state in `tmp`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}
    env.update({
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "PROCTOR_USER": "alice",
        "PROCTOR_LEDGER_URL": f"sqlite:///{tmp / 'proctor.db'}",
        "PROCTOR_LEDGER_SIGNING_KEY": str(tmp / "keys" / "ledger.pem"),
        "PROCTOR_LEDGER_REDACTION_KEY": str(tmp / "keys" / "redaction.key"),
        "PROCTOR_LEDGER_CHECKPOINT_DIR": str(tmp / "checkpoints"),
        "PROCTOR_POLICY_DIR": str(ROOT / "policies"),
        "PROCTOR_POLICY_SIGNING_KEY": str(tmp / "keys" / "policy.pem"),
        "PROCTOR_POLICY_BUNDLE_WORKDIR": str(tmp / "bundles"),
        "PROCTOR_EVIDENCE_DIR": str(tmp / "evidence"),
        "PROCTOR_DOCUMENTS_DIR": str(tmp / "documents"),
        "PREFECT_HOME": str(tmp / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
    })
    return env


def matches(expected: str, actual: str) -> bool:
    """Line-for-line equality (trailing spaces ignored); a line `...` matches any number of
    lines, and `...` within a line any text on that line."""
    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line.strip() == "..." else
        "[^\n]*".join(re.escape(part) for part in line.rstrip().split("...")) + "\n"
        for line in expected.strip("\n").splitlines())
    got = "".join(line.rstrip() + "\n" for line in actual.strip("\n").splitlines())
    return re.fullmatch(pattern, got) is not None


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.where for b in RUNNABLE])
def test_doc_block_runs(block: Block, tmp_path: Path) -> None:
    assert block.lang in RUNNERS, (
        f"{block.where}: a `run` block must be one of {sorted(RUNNERS)}, not {block.lang!r}")
    script = tmp_path / ("block.py" if block.lang == "python" else "block.sh")
    script.write_text(block.body, "utf-8")
    command = [sys.executable, str(script)] if block.lang == "python" else \
        ["bash", "-euo", "pipefail", str(script)]
    work = tmp_path / "work"
    work.mkdir()
    try:
        done = subprocess.run(command, cwd=work, env=doc_env(tmp_path), capture_output=True,
                              text=True, timeout=600)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block.where}: the {block.lang} block ran past 600 s")
    if done.returncode != 0:
        pytest.fail(f"{block.where}: the {block.lang} block failed (exit {done.returncode})\n"
                    f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}")
    if block.expected is not None and not matches(block.expected, done.stdout):
        pytest.fail(f"{block.where}: the output differs from the doc's `output` block\n"
                    f"--- the doc says\n{block.expected}--- the block printed\n{done.stdout}")


def test_readme_is_a_front_door_with_a_governed_action_that_runs() -> None:
    readme = ROOT / "README.md"
    length = len(readme.read_text("utf-8").splitlines())
    assert length <= README_MAX_LINES, (
        f"README.md has {length} lines; keep it at most {README_MAX_LINES} and move the rest "
        "into docs/")
    examples = [b for b in RUNNABLE if b.path == readme and b.lang == "python"]
    assert examples and "gate.submit" in examples[0].body, (
        "README.md must show a governed action as a ```python run block (it is executed)")


TOP_LEVEL = ("proctor", "governance", "audit", "robots", "inference", "flows", "policies",
             "demo", "bench", "tests", "scripts", "docs")
REPO_PATH = re.compile(r"`((?:" + "|".join(TOP_LEVEL) + r")/[\w./-]*)`")
# Paths the docs name on purpose as where something used to live.
FORMER_PATHS = {"inference/corpus.py", "robots/miniwob/"}


def test_every_path_the_docs_name_exists() -> None:
    """A file or folder of this repository named in backticks (`robots/acme/`) must exist, so a
    move that the docs did not follow fails here."""
    missing = []
    for path in DOCS:
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            for named in REPO_PATH.findall(line):
                if named not in FORMER_PATHS and not (ROOT / named).exists():
                    missing.append(f"{path.relative_to(ROOT)}:{number}: {named}")
    assert not missing, "the docs name paths that do not exist:\n" + "\n".join(missing)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    inside_fence = False
    found = set()
    for line in path.read_text("utf-8").splitlines():
        if FENCE.match(line):
            inside_fence = not inside_fence
        elif not inside_fence and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
        elif not inside_fence:
            found.update(re.findall(r'<a (?:id|name)="([^"]+)"', line))
    return found


def test_every_relative_link_leads_to_a_file_and_heading() -> None:
    broken = []
    for path in DOCS:
        text = path.read_text("utf-8")
        prose = re.sub(r"```.*?```", lambda m: "\n" * m.group().count("\n"), text,
                       flags=re.DOTALL)
        for number, line in enumerate(prose.splitlines(), start=1):
            for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                    continue  # http:, https:, mailto:
                file_part, _, anchor = target.partition("#")
                dest = (path.parent / file_part).resolve() if file_part else path
                where = f"{path.relative_to(ROOT)}:{number}"
                if not dest.exists():
                    broken.append(f"{where}: {target} (no such file)")
                elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                    broken.append(f"{where}: {target} (no heading #{anchor})")
    assert not broken, "broken links in the docs:\n" + "\n".join(broken)
