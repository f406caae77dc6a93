"""`proctor flows`: what `proctor run` can run here, the deployments of the project's prefect.yaml,
each with its entrypoint, its parameters (type and default, from the flow's signature) and what it
does (the first sentence of its docstring).

The flow files are read, never imported: listing runs none of their code and loads no Prefect.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from proctor.cli.common import fail


@dataclass(frozen=True)
class Parameter:
    """One parameter of a flow, as its source writes it."""

    name: str
    type: str | None
    default: str | None
    required: bool

    def describe(self) -> str:
        """`name: type = default`, as in the signature."""
        typed = f"{self.name}: {self.type}" if self.type else self.name
        return typed if self.required else f"{typed} = {self.default}"


@dataclass(frozen=True)
class FlowInfo:
    """A deployment `proctor run NAME` runs: where its flow is and what it takes."""

    name: str
    entrypoint: str
    description: str = ""
    parameters: list[Parameter] = field(default_factory=list)
    problem: str | None = None  # why the flow's source could not be read


def flows(
    project: Annotated[Optional[Path], typer.Option(
        envvar="PROCTOR_PROJECT_DIR", help="the folder of prefect.yaml (default: the current "
        "folder if it has one, else Proctor's own checkout)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print them as one JSON list")]
    = False,
) -> None:
    """List the flows `proctor run` can run: the deployments of prefect.yaml."""
    from proctor.cli.run import deployment_documents, project_dir

    folder = project_dir(project)
    found = [describe(folder, document) for document in deployment_documents(folder)]
    if as_json:
        typer.echo(json.dumps([asdict(info) for info in found], indent=2))
        return
    if not found:
        fail(f"no deployments in {folder / 'prefect.yaml'}: add one (name, entrypoint), or "
             "pass --project DIR of a prefect.yaml; `proctor run path/to/file.py:function` "
             "runs a flow without one", 2)
    _print_table(folder, found)


def describe(project: Path, document: dict[str, Any]) -> FlowInfo:
    """The deployment `document` of `project`'s prefect.yaml, with its flow's signature."""
    name, entrypoint = str(document["name"]), str(document["entrypoint"])
    fallback = str(document.get("description") or "").strip()
    file, _, function = entrypoint.rpartition(":")
    path = project / file
    try:
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    except (OSError, SyntaxError, ValueError) as exc:
        return FlowInfo(name, entrypoint, fallback, problem=f"cannot read {path}: {exc}")
    node = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and n.name == function), None)
    if node is None:
        return FlowInfo(name, entrypoint, fallback,
                        problem=f"{path} defines no function {function!r}")
    doc = _decorator_description(node) or ast.get_docstring(node) or fallback
    return FlowInfo(name, entrypoint, summary_line(doc), _parameters(node))


def summary_line(doc: str) -> str:
    """The first sentence of a docstring's first paragraph, on one line."""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    return re.split(r"(?<=[.!?])\s", paragraph, maxsplit=1)[0]


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Parameter]:
    """The parameters `node` takes by name, with their annotations and defaults as written."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += args.defaults
    pairs = [*zip(positional, defaults, strict=True), *zip(args.kwonlyargs, args.kw_defaults,
                                                            strict=True)]
    return [Parameter(arg.arg, ast.unparse(arg.annotation) if arg.annotation else None,
                      ast.unparse(default) if default is not None else None, default is None)
            for arg, default in pairs]


def _decorator_description(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """`@flow(description="...")`, which Prefect prefers to the docstring."""
    for decorator in node.decorator_list:
        for keyword in getattr(decorator, "keywords", []):
            if keyword.arg == "description" and isinstance(keyword.value, ast.Constant) \
                    and isinstance(keyword.value.value, str):
                return keyword.value.value
    return None


def _print_table(project: Path, found: list[FlowInfo]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"flows in {project / 'prefect.yaml'}"), title_justify="left")
    for column in ("name", "entrypoint", "parameters", "description"):
        table.add_column(column, overflow="fold")
    for info in found:
        parameters = "\n".join(p.describe() for p in info.parameters) or "(none)"
        table.add_row(*map(Text, (info.name, info.entrypoint, info.problem or parameters,
                                  info.description)))  # Text: no markup, `list[str]` stays
    Console(soft_wrap=False).print(table)
    typer.echo("run one with: proctor run NAME --param NAME=VALUE (or --params FILE.json)")
