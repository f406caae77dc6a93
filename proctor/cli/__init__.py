"""`proctor`: one command line, a command group per area.

Each group lives in its own module (`policy`, `audit`, `approvals`, `users`, `run`, `flows`,
`serve`, `up`) and imports what it needs inside its commands, so `proctor --help` loads no Prefect,
torch, transformers or Playwright.
"""

from __future__ import annotations

import typer

from proctor.cli import approvals, audit, flows, policy, run, serve, up, users

app = typer.Typer(help="Proctor: robots propose, policy decides, people approve, the ledger "
                       "remembers.", no_args_is_help=True)
app.add_typer(policy.app, name="policy")
app.add_typer(audit.app, name="audit")
app.add_typer(approvals.app, name="approvals")
app.add_typer(users.app, name="users")
app.command("run")(run.run)
app.command("flows")(flows.flows)
app.command("up")(up.stack_up)
app.command("down")(up.stack_down)
app.command("serve")(serve.serve)


def main() -> None:
    """The `proctor` console script (and `python -m proctor`, `python -m proctor.cli`)."""
    app(prog_name="proctor")
