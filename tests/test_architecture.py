"""The arrows between packages, checked on the source: flows -> robots -> governance -> audit;
inference imports none of them; nothing but the entry points (flows, demo, bench, tests) and
`proctor` itself imports `proctor`; no product package imports the benchmarks or the demo. And
no string carries an arrow the imports do not: the engine (governance, audit, proctor) names
no app and no flow file. And the product stays readable in small pieces: no module over
MAX_MODULE_LINES lines, no function over MAX_FUNCTION_LINES.

Every import counts, wherever it is written: at module level, inside a function (a lazy
import) or under `if TYPE_CHECKING:`. A failure names each offending line.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("proctor", "governance", "audit", "robots", "flows", "inference", "demo", "bench")
PRODUCT = ("proctor", "governance", "audit", "robots", "inference", "flows")
ENGINE = ("governance", "audit", "proctor")

# package -> the packages it must not import
FORBIDDEN: dict[str, set[str]] = {
    "inference": {"governance", "audit", "robots", "flows", "proctor", "demo", "bench"},
    "audit": {"governance", "robots", "flows", "proctor", "inference"},
    "governance": {"robots", "flows", "proctor", "demo", "bench"},
    "robots": {"flows", "proctor", "demo", "bench"},
}
for _package in PRODUCT:
    FORBIDDEN.setdefault(_package, set()).update({"demo", "bench"})
for _package in set(PACKAGES) - {"flows", "demo", "bench", "proctor"}:
    FORBIDDEN.setdefault(_package, set()).add("proctor")

# An app's name or a flow's file, inside the engine, is an arrow the imports do not show.
BACK_DOOR = re.compile(r"acme|payables|flows/|invoice_entry|document_inbox", re.IGNORECASE)

# Known violations still being removed, each with who removes it: (path, module imported or
# name written) -> why. The tests fail on any violation not listed here, and on a listed one
# that is gone (so that these lists only ever shrink).
PENDING_IMPORTS: dict[tuple[str, str], str] = {}
PENDING_NAMES: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    path: str  # relative to the repository root
    line: int
    module: str  # the absolute module imported

    @property
    def package(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def target(self) -> str:
        return self.module.split(".", 1)[0]

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports {self.module}"


def sources(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py")
                  if "__pycache__" not in p.parts)


def imports(path: Path, root: Path = ROOT) -> list[Import]:
    """Every import in `path`, relative ones resolved against its package."""
    relative = path.relative_to(root)
    here = list(relative.with_suffix("").parts)
    if here[-1] == "__init__":
        here.pop()
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level + (relative.name == "__init__.py")]
                modules = [".".join([*base, *([node.module] if node.module else [])])]
            else:
                modules = [node.module or ""]
        else:
            continue
        found += [Import(relative.as_posix(), node.lineno, m) for m in modules]
    return sorted(found, key=lambda i: i.line)


def all_imports() -> list[Import]:
    return [i for path in sources(*PACKAGES) for i in imports(path)]


def _check(violations: list[tuple[tuple[str, str], str]],
           pending: dict[tuple[str, str], str], what: str) -> None:
    """Fail on each violation (a (path, module or name) key and its line) not pending, and on
    each pending one no longer there."""
    new = [line for key, line in violations if key not in pending]
    gone = [f"{path}: {name} ({why})" for (path, name), why in pending.items()
            if (path, name) not in {key for key, _ in violations}]
    assert not new, f"{what}:\n  " + "\n  ".join(new)
    assert not gone, "fixed: remove these from the pending list in " \
        "tests/test_architecture.py:\n  " + "\n  ".join(gone)


def test_imports_follow_the_arrows() -> None:
    violations = [((i.path, i.module), f"{i} ({i.package} must not import {i.target})")
                  for i in all_imports() if i.target in FORBIDDEN.get(i.package, set())]
    _check(violations, PENDING_IMPORTS, "imports that break the arrows")


def test_the_engine_names_no_app_and_no_flow_file() -> None:
    violations = []
    for path in sources(*ENGINE):
        relative = path.relative_to(ROOT).as_posix()
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found = sorted({match.group(0).lower() for match in BACK_DOOR.finditer(text)})
            violations += [((relative, name), f"{relative}:{number}: names {name!r}: "
                            f"{text.strip()}") for name in found]
    _check(violations, PENDING_NAMES, "app names or flow paths inside the engine")


MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 65  # "about 60": a signature and docstring on a few more lines is fine


def test_modules_and_functions_stay_small() -> None:
    too_big = []
    for path in sources(*PRODUCT):
        relative = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        if (lines := len(text.splitlines())) > MAX_MODULE_LINES:
            too_big.append(f"{relative}: {lines} lines (split it by concept)")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_big.append(f"{relative}:{node.lineno}: {node.name} is {length} lines")
    assert not too_big, "\n".join(too_big)


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    """The parser finds lazy, TYPE_CHECKING and relative imports; the pattern finds names."""
    (tmp_path / "governance" / "review").mkdir(parents=True)
    probe = tmp_path / "governance" / "probe.py"
    probe.write_text("from typing import TYPE_CHECKING\n"
                     "if TYPE_CHECKING:\n    from proctor.settings import Settings\n"
                     "def f():\n    import robots.browser\n"
                     "from .models import Action\nfrom . import gate\n", encoding="utf-8")
    found = [(i.line, i.module) for i in imports(probe, tmp_path)]
    init = tmp_path / "governance" / "review" / "__init__.py"
    init.write_text("from .app import create_app\nfrom .. import gate\n", encoding="utf-8")
    assert [i.module for i in imports(init, tmp_path)] == ["governance.review.app",
                                                          "governance"]
    assert found == [(1, "typing"), (3, "proctor.settings"), (5, "robots.browser"),
                     (6, "governance.models"), (7, "governance")]
    assert BACK_DOOR.search('FLOWS = {"x": "flows/invoice_entry.py:invoice_entry"}')
    assert BACK_DOOR.search("target='Acme-Payables'")
    assert not BACK_DOOR.search("an invoice, e.g. a receipt")
