"""`proctor up` and `proctor down`: start and stop a whole local stack (a Prefect server, the
review service and process workers), supervised by `proctor.stack`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from proctor.cli.common import PROJECT_ROOT, fail

STATE_DIR = PROJECT_ROOT / ".proctor" / "up"
StateDir = Annotated[Optional[Path], typer.Option(help="default: .proctor/up")]


def stack_up(
    workers: Annotated[int, typer.Option(min=0, help="process workers to start")] = 2,
    prefect_port: int = 4200,
    review_port: int = 8700,
    prefect_database: Annotated[Optional[str], typer.Option(
        help="Prefect's database, e.g. postgresql+asyncpg://user@host:5432/prefect "
             "(default: SQLite in the state folder)")] = None,
    state_dir: StateDir = None,
    app_limit: Annotated[Optional[list[str]], typer.Option(
        help="TARGET=N: at most N sessions at once against that application, e.g. "
             "crm=2")] = None,
    worker_limit: Annotated[Optional[int], typer.Option(
        min=1, help="flow runs each worker runs at once (default: no cap)")] = None,
    deploy: Annotated[bool, typer.Option(
        help="deploy the flows of prefect.yaml once the server is up")] = False,
) -> None:
    """Start a Prefect server, the review service and N workers of the proctor-process pool."""
    from proctor.stack import StackError, up

    limits: dict[str, int] = {}
    for item in app_limit or []:
        target, _, number = item.partition("=")
        if not target or not number.isdigit():
            fail(f"--app-limit {item!r}: write TARGET=N, e.g. crm=2", 2)
        limits[target] = int(number)
    folder = state_dir or STATE_DIR
    try:
        stack = up(folder, workers=workers, prefect_port=prefect_port, review_port=review_port,
                   prefect_database=prefect_database, app_limits=limits,
                   worker_limit=worker_limit, deploy=deploy)
    except StackError as exc:
        fail(str(exc))
    typer.echo(f"Prefect API     {stack.prefect_api}  (UI: {stack.prefect_api[:-4]})\n"
               f"review service  {stack.review_url}/queue  (metrics: {stack.review_url}/metrics)\n"
               f"workers         {workers} in work pool 'proctor-process'\n"
               f"logs and state  {folder}\n\n"
               f"export PREFECT_API_URL={stack.prefect_api}\n"
               + ("" if deploy else
                  "PROCTOR_PROJECT_DIR=$PWD prefect deploy --all     # the flows of prefect.yaml\n")
               + "proctor down                              # stop everything")


def stack_down(state_dir: StateDir = None) -> None:
    """Stop what `proctor up` started."""
    from proctor.stack import down

    folder = state_dir or STATE_DIR
    stopped = down(folder)
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else f"nothing running from {folder}")
