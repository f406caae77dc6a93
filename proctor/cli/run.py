"""`proctor run`: run a flow here, now. The engine names no flow: NAME is a deployment of the
project's prefect.yaml (its `entrypoint` says which file and function), or an entrypoint
`path/to/file.py:function` given directly.

Parameters (`--params FILE.json`, then `--param NAME=VALUE`, then `--workbook`/`--inbox`) are
typed by the flow's signature before the run starts. While the run waits for a person, the
review link of each request is printed (stderr); at the end, the flow's result and what became
of its governed actions, counted from the ledger (`--json`: one JSON object).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from proctor.cli.common import PROJECT_ROOT, AsUser, fail

if TYPE_CHECKING:
    from prefect import Flow
    from rich.text import Text

    from governance.approvals.records import ApprovalRequest

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
        help="NAME=VALUE: a flow parameter, typed by the flow's signature (lists and mappings "
        "as JSON); repeat for more; overrides --params")] = None,
    params: Annotated[Optional[Path], typer.Option(
        "--params", help="a JSON file holding an object of flow parameters")] = None,
    as_user: AsUser = None,
    summary: Annotated[Optional[Path], typer.Option(
        help="also write the flow's result here (JSON)")] = None,
    plan: Annotated[bool, typer.Option(
        "--plan", help="ask the policy what a run would need; record and change nothing")] = False,
    project: Annotated[Optional[Path], typer.Option(
        envvar="PROCTOR_PROJECT_DIR", help="the folder of prefect.yaml (default: the current "
        "folder if it has one, else Proctor's own checkout)")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="print one JSON object: the run, its result and its outcomes")] = False,
) -> None:
    """Run a flow here, now (Prefect tracks it; approvals pause it)."""
    given, sources = _from_file(params) if params is not None else ({}, {})
    for name, value in _parameters(param or []).items():
        given[name], sources[name] = value, f"--param {name}"
    for name, path in (("workbook", workbook), ("inbox", inbox)):
        if path is not None:
            given[name], sources[name] = str(path), f"--{name}"
    entrypoint = _entrypoint(flow_name, project_dir(project))
    flow_ = _load(entrypoint)
    accepted = inspect.signature(flow_.fn).parameters
    if plan and "plan" not in accepted:
        fail(f"{flow_name} cannot plan: its flow takes no `plan` parameter (add "
             "`plan: bool = False` and pass it to the settings the flow builds from)", 2)
    if plan:
        given["plan"], sources["plan"] = True, "--plan"
    if as_user is not None:
        given["requested_by"], sources["requested_by"] = as_user, "--as"
    elif "requested_by" in accepted and "requested_by" not in given:
        given["requested_by"], sources["requested_by"] = None, "--as"
    _check(flow_name, given, flow_)
    typed = _typed(flow_name, flow_, given, sources)
    _say_which_prefect()
    state, run_id = _run(flow_, typed)
    result = state.result(raise_on_failure=False)
    failed = not state.is_completed()
    outcomes = outcome_counts(run_id) if run_id else {}
    if summary is not None and not failed:
        summary.write_text(json.dumps(_jsonable(result), indent=2, ensure_ascii=False), "utf-8")
    if as_json:
        typer.echo(json.dumps(_jsonable({
            "flow": flow_name, "flow_run_id": run_id, "state": state.name, "failed": failed,
            "error": _error(result) if failed else None, "result": None if failed else result,
            "outcomes": outcomes}), indent=2, ensure_ascii=False))
    else:
        _print_summary(flow_name, run_id, None if failed else result, outcomes)
    if failed:
        fail(f"flow {flow_name} failed ({state.name}): {_error(result)}; flow run {run_id} "
             "(its log in Prefect has the traceback)")


# --- parameters --------------------------------------------------------------------------------

def _parameters(items: list[str]) -> dict[str, str]:
    """`--param NAME=VALUE` items as a dict of the values as written."""
    given: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f"--param {item!r}: write NAME=VALUE", 2)
        given[name.strip()] = value
    return given


def _from_file(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The parameters in the JSON object at `path`, and where each came from."""
    try:
        document = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        fail(f"--params {path}: cannot read it ({exc.strerror or exc})", 2)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"--params {path}: not valid JSON ({exc}); write an object such as "
             '{"workbook": "week47.xlsx", "limit": 5}', 2)
    if not isinstance(document, dict):
        fail(f"--params {path}: holds a JSON {type(document).__name__}, not an object of "
             'parameters; write an object such as {"workbook": "week47.xlsx", "limit": 5}', 2)
    return dict(document), {name: f"{name} in {path}" for name in document}


def _signature_text(flow_: Flow[..., Any]) -> str:
    """The flow's parameters as its signature writes them: `name: type = default, ...`."""
    parameters = [p for p in inspect.signature(flow_.fn).parameters.values()
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    hints = _hints(flow_)
    out = []
    for p in parameters:
        hint = hints.get(p.name, p.annotation)
        text = p.name if hint is inspect.Parameter.empty else f"{p.name}: {_type_name(hint)}"
        out.append(text if p.default is inspect.Parameter.empty else f"{text} = {p.default!r}")
    return ", ".join(out) or "none"


def _hints(flow_: Flow[..., Any]) -> dict[str, Any]:
    """The flow function's resolved annotations ({} where they cannot be resolved)."""
    import typing

    try:
        return typing.get_type_hints(flow_.fn)
    except Exception:  # a forward reference that does not resolve: leave it to Prefect
        return {}


def _type_name(hint: Any) -> str:
    if isinstance(hint, type) and not getattr(hint, "__args__", None):
        return hint.__name__
    return str(hint).replace("typing.", "").replace("decimal.", "").replace("pathlib.", "") \
        .replace("datetime.", "")


def _check(name: str, given: dict[str, Any], flow_: Flow[..., Any]) -> None:
    """Exit 2 unless `given` names only parameters the flow takes and every one it needs."""
    accepted = inspect.signature(flow_.fn).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    unknown = [p for p in given if p not in accepted and not takes_any]
    if unknown:
        fail(f"{name} takes no parameter {', '.join(map(repr, unknown))}; it takes: "
             f"{_signature_text(flow_)}", 2)
    for p in accepted.values():
        if p.default is inspect.Parameter.empty and p.name not in given and p.kind not in (
                inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            option = f"--{p.name}" if p.name in SHORTHANDS else f"--param {p.name}=VALUE"
            fail(f"{name} needs {option}; it takes: {_signature_text(flow_)}", 2)


def _typed(name: str, flow_: Flow[..., Any], given: dict[str, Any],
           sources: dict[str, str]) -> dict[str, Any]:
    """`given` converted to the types the flow's signature names: a value written on the
    command line is read as that type (int, float, bool, Decimal, Path, date, ...), or as JSON
    (lists, mappings, null). A value that does not convert is a clear exit 2."""
    import typing

    from pydantic import TypeAdapter, ValidationError

    hints = _hints(flow_)
    typed: dict[str, Any] = {}
    for key, value in given.items():
        hint = hints.get(key, Any)
        if hint is Any or (value is None and key == "requested_by"):
            typed[key] = value
            continue
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(hint)
        except Exception:  # a type pydantic cannot check: Prefect will see it as given
            typed[key] = value
            continue
        try:
            typed[key] = adapter.validate_python(value)
            continue
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
        if isinstance(value, str):
            try:
                typed[key] = adapter.validate_python(json.loads(value))
                continue
            except (json.JSONDecodeError, ValidationError):
                pass
        as_json = " (write it as JSON)" if typing.get_origin(hint) in (list, dict, tuple, set) \
            else ""
        fail(f"{sources.get(key, key)}: {value!r} is not a valid {_type_name(hint)}{as_json} "
             f"(parameter {key!r} of {name}: {problem.lower()}); {name} takes: "
             f"{_signature_text(flow_)}", 2)
    return typed


# --- finding and running the flow -----------------------------------------------------------

def project_dir(project: Path | None) -> Path:
    """Where prefect.yaml is: `--project`, else the current folder if it has one, else the
    checkout Proctor runs from."""
    if project is not None:
        return project
    here = Path.cwd()
    return here if (here / "prefect.yaml").is_file() else PROJECT_ROOT


def deployment_documents(project: Path) -> list[dict[str, Any]]:
    """The deployments of `project`'s prefect.yaml that name a flow ([] without one)."""
    import yaml

    path = project / "prefect.yaml"
    if not path.is_file():
        return []
    try:
        document = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        fail(f"cannot read {path}: {exc}", 2)
    return [d for d in document.get("deployments") or []
            if isinstance(d, dict) and d.get("name") and d.get("entrypoint")]


def deployments(project: Path) -> dict[str, str]:
    """The deployments of `project`'s prefect.yaml, name -> entrypoint ({} without one)."""
    return {d["name"]: d["entrypoint"] for d in deployment_documents(project)}


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
             "path/to/file.py:function (`proctor flows` lists them)", 2)
    file, _, function = known[name].rpartition(":")
    return f"{(project / file).resolve()}:{function}"


def _load(entrypoint: str) -> Flow[..., Any]:
    """The flow object at `entrypoint` (imports Prefect and the flow's module)."""
    from prefect.flows import load_flow_from_entrypoint

    try:
        return load_flow_from_entrypoint(entrypoint)
    except Exception as exc:  # a missing file, module or function; an import that fails
        fail(f"cannot load flow {entrypoint}: {type(exc).__name__}: {exc}", 2)


def _say_which_prefect() -> None:
    """Without PREFECT_API_URL, say on stderr which Prefect server tracks the run."""
    import os

    if os.environ.get("PREFECT_API_URL"):
        return
    from prefect.context import get_settings_context
    from prefect.settings import get_current_settings

    profile = get_settings_context().profile.name
    url = get_current_settings().api.url
    if url:
        typer.echo(f"using the Prefect server at {url} (from Prefect profile {profile!r}; "
                   "set PREFECT_API_URL to use another)", err=True)
    else:
        typer.echo("using a temporary Prefect server started for this run (no PREFECT_API_URL, "
                   f"and Prefect profile {profile!r} names none); start one with `proctor up` "
                   "and set PREFECT_API_URL to keep watching runs", err=True)


def _run(flow_: Flow[..., Any], parameters: dict[str, Any]) -> tuple[Any, str | None]:
    """Run the flow here, printing the review link of each request it waits on; its final
    state and its flow run id."""
    from governance.waiting.listeners import add_wait_listener
    from proctor.settings import Settings

    base_url = Settings().review.base_url.rstrip("/")
    seen: set[str] = set()

    def announce(request: ApprovalRequest) -> None:
        if request.id not in seen:
            seen.add(request.id)
            typer.echo(f"waiting for approval: {base_url}/requests/{request.id} "
                       f"(request {request.id})", err=True)

    remove = add_wait_listener(announce)
    try:
        state = flow_(**parameters, return_state=True)
    finally:
        remove()
    run_id = state.state_details.flow_run_id
    return state, str(run_id) if run_id else None


# --- the summary -------------------------------------------------------------------------------

# The last entry recorded about an action says what became of it; the Gate's outcome words.
FINAL = {"action.succeeded": "succeeded", "action.reconciled": "reconciled",
         "action.failed": "failed", "action.in_doubt": "in_doubt",
         "approval.rejected": "rejected", "approval.expired": "expired",
         "approval.approved": "approved", "action.started": "started",
         "action.diverged": "diverged"}
DECIDED = {"deny": "denied", "require_approval": "waiting", "allow": "allowed"}


def outcome_counts(run_id: str) -> dict[str, int]:
    """What became of each governed action of flow run `run_id`, counted from the ledger (the
    last thing recorded about each; an action an approver edited counts as its edit)."""
    from audit import LedgerReader, open_engine
    from proctor.settings import Settings

    url = Settings().ledger.url
    if url.startswith("sqlite:///") and ":memory:" not in url \
            and not Path(url[len("sqlite:///"):].split("?")[0]).is_file():
        return {}
    status: dict[str, str] = {}
    edited: set[str] = set()
    for entry in LedgerReader(open_engine(url)).query(flow_run_id=run_id):
        if entry.action_id is None:
            continue
        if entry.kind == "action.proposed" and entry.data().get("edited_from"):
            edited.add(str(entry.data()["edited_from"]))
        if entry.kind in FINAL:
            status[entry.action_id] = FINAL[entry.kind]
        elif entry.kind == "policy.decided":
            status[entry.action_id] = DECIDED.get(entry.data().get("outcome"), "decided")
    counts: dict[str, int] = {}
    for action_id, final in status.items():
        if action_id not in edited:
            counts[final] = counts.get(final, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _error(result: Any) -> str:
    return f"{type(result).__name__}: {result}" if isinstance(result, BaseException) \
        else str(result)


def _jsonable(value: Any) -> Any:
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value, fallback=str)


def _print_summary(name: str, run_id: str | None, result: Any, outcomes: dict[str, int]) -> None:
    """The result as a table when it is a flat mapping or a list of them (else as JSON), then
    the outcome counts."""
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=False)
    value = _jsonable(result)
    rows = [value] if isinstance(value, dict) else value
    flat = isinstance(rows, list) and rows and all(
        isinstance(row, dict) and all(not isinstance(v, (dict, list)) for v in row.values())
        for row in rows)
    if result is not None:
        typer.echo(f"{name} returned:")
    if flat and isinstance(value, dict):
        table = Table()
        table.add_column("key")
        table.add_column("value")
        for key, item in value.items():
            table.add_row(_cell(key), _cell(item))
        console.print(table)
    elif flat:
        columns = list(dict.fromkeys(key for row in rows for key in row))
        table = Table()
        for column in columns:
            table.add_column(_cell(column))
        for row in rows:
            table.add_row(*(_cell(row.get(column)) for column in columns))
        console.print(table)
    elif result is not None:
        typer.echo(json.dumps(value, indent=2, ensure_ascii=False))
    if outcomes:
        typer.echo(f"outcomes in the ledger (flow run {run_id}):")
        table = Table()
        table.add_column("outcome")
        table.add_column("actions", justify="right")
        for outcome, count in outcomes.items():
            table.add_row(_cell(outcome), _cell(count))
        console.print(table)
    else:
        typer.echo(f"no governed actions recorded for flow run {run_id}")


def _cell(value: Any) -> Text:
    """A table cell shown as written (rich would read `[...]` as markup)."""
    from rich.text import Text

    return Text("" if value is None else str(value))
