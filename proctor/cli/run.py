"""`proctor run`: run a flow here, now. The engine names no flow: NAME is a deployment of the
project's prefect.yaml (its `entrypoint` says which file and function), or an entrypoint
`path/to/file.py:function` given directly."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from proctor.cli.common import PROJECT_ROOT, AsUser, fail

if TYPE_CHECKING:
    from prefect import Flow

SHORTHANDS = ("workbook", "inbox")
"""Flow parameters that have an option of their own (`--workbook P` is `--param workbook=P`)."""


def run(
    flow_name: Annotated[str, typer.Argument(
        help="a deployment name in prefect.yaml (e.g. invoice-entry), or an entrypoint "
        "path/to/file.py:function")],
    workbook: Annotated[Optional[Path], typer.Option(
        help="the flow's `workbook` parameter (invoice-entry: the invoices workbook, .xlsx)")]
    = None,
    inbox: Annotated[Optional[Path], typer.Option(
        help="the flow's `inbox` parameter (document-inbox: a folder of .pdf/.eml/.txt "
        "documents, or an mbox file)")] = None,
    param: Annotated[Optional[list[str]], typer.Option(
        help="NAME=VALUE: any other flow parameter (repeat for more)")] = None,
    as_user: AsUser = None,
    summary: Annotated[Optional[Path], typer.Option(help="also write the summary here")] = None,
    plan: Annotated[bool, typer.Option(
        "--plan", help="ask the policy what a run would need; record and change nothing")] = False,
    project: Annotated[Optional[Path], typer.Option(
        envvar="PROCTOR_PROJECT_DIR", help="the folder of prefect.yaml (default: the current "
        "folder if it has one, else Proctor's own checkout)")] = None,
) -> None:
    """Run a flow here, now (Prefect tracks it; approvals pause it)."""
    given = _parameters(param or [])
    given.update({name: str(value) for name, value in (("workbook", workbook), ("inbox", inbox))
                  if value is not None})
    entrypoint = _entrypoint(flow_name, _project_dir(project))
    flow_ = _load(entrypoint)
    accepted = inspect.signature(flow_.fn).parameters
    if plan and "plan" not in accepted:
        fail(f"{flow_name} cannot plan: its flow takes no `plan` parameter (add "
             "`plan: bool = False` and pass it to the settings the flow builds from)", 2)
    if plan:
        given["plan"] = True
    if as_user is not None or "requested_by" in accepted:
        given["requested_by"] = as_user
    _check(flow_name, given, accepted)
    try:
        result = flow_(**given)
    except Exception as exc:  # the run's own log has the traceback; say what failed
        fail(f"flow {flow_name} failed: {type(exc).__name__}: {exc}")
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if summary is not None:
        summary.write_text(text, "utf-8")
    typer.echo(text)


def _parameters(items: list[str]) -> dict[str, Any]:
    """`--param NAME=VALUE` items as a dict (Prefect converts each value to the flow's type)."""
    given: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f"--param {item!r}: write NAME=VALUE", 2)
        given[name.strip()] = value
    return given


def _project_dir(project: Path | None) -> Path:
    """Where prefect.yaml is: `--project`, else the current folder if it has one, else the
    checkout Proctor runs from."""
    if project is not None:
        return project
    here = Path.cwd()
    return here if (here / "prefect.yaml").is_file() else PROJECT_ROOT


def deployments(project: Path) -> dict[str, str]:
    """The deployments of `project`'s prefect.yaml, name -> entrypoint ({} without one)."""
    import yaml

    path = project / "prefect.yaml"
    if not path.is_file():
        return {}
    try:
        document = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        fail(f"cannot read {path}: {exc}", 2)
    return {d["name"]: d["entrypoint"] for d in document.get("deployments") or []
            if isinstance(d, dict) and d.get("name") and d.get("entrypoint")}


def _entrypoint(name: str, project: Path) -> str:
    """The `file.py:function` NAME stands for, with the file's path made absolute."""
    file, sep, function = name.rpartition(":")
    if sep and file.endswith(".py"):
        path = Path(file)
        if not path.is_absolute() and not path.exists():
            path = project / path
        return f"{path.resolve()}:{function}"
    known = deployments(project)
    if not known:
        fail(f"unknown flow {name!r}: no deployments in {project / 'prefect.yaml'}; give an "
             "entrypoint path/to/file.py:function, or --project DIR of a prefect.yaml", 2)
    if name not in known:
        fail(f"unknown flow {name!r}: use one of {', '.join(known)}; or an entrypoint "
             "path/to/file.py:function", 2)
    file, _, function = known[name].rpartition(":")
    return f"{(project / file).resolve()}:{function}"


def _load(entrypoint: str) -> Flow[..., Any]:
    """The flow object at `entrypoint` (imports Prefect and the flow's module)."""
    from prefect.flows import load_flow_from_entrypoint

    try:
        return load_flow_from_entrypoint(entrypoint)
    except Exception as exc:  # a missing file, module or function; an import that fails
        fail(f"cannot load flow {entrypoint}: {type(exc).__name__}: {exc}", 2)


def _check(name: str, given: dict[str, Any], accepted: Any) -> None:
    """Exit 2 unless `given` names only parameters the flow takes and every one it needs."""
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    unknown = [p for p in given if p not in accepted and not takes_any]
    if unknown:
        fail(f"{name} takes no parameter {', '.join(map(repr, unknown))}; it takes: "
             f"{', '.join(accepted) or 'none'}", 2)
    for p in accepted.values():
        if p.default is inspect.Parameter.empty and p.name not in given and p.kind not in (
                inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            option = f"--{p.name}" if p.name in SHORTHANDS else f"--param {p.name}=VALUE"
            fail(f"{name} needs {option}", 2)
