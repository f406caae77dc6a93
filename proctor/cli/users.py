"""`proctor users`: local users, their roles, groups, delegations and API tokens. Every change
is made by an administrator who confirms their password, and is recorded in the ledger."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated, Optional

import typer

from proctor.cli.common import (
    AsUser,
    PasswordStdin,
    fail,
    load_governance,
    refuse,
    require_admin,
)

app = typer.Typer(help="Local users, their roles and API tokens.", no_args_is_help=True)


@app.command("add")
def users_add(
    name: str,
    role: Annotated[list[str], typer.Option(help="author, approver, auditor or admin")],
    group: Annotated[Optional[list[str]], typer.Option(help="approver group")] = None,
    email: Annotated[Optional[str], typer.Option(help="where notices are sent")] = None,
    as_user: AsUser = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="read the passwords from stdin, one a line: yours (the "
        "administrator's), then the new user's")] = False,
) -> None:
    """Add a user, as an administrator (`--as`, your password is asked for first). While no
    administrator exists, the first one is added without `--as`."""
    from governance.identity.users import IdentityError

    governance = load_governance()
    if any(u.has_role("admin") for u in governance.identity.users()):
        by = require_admin(governance, as_user, password_stdin, "users add").name
    elif "admin" in role:
        by = "bootstrap"  # the very first administrator: nobody else could vouch for them
    else:
        fail("no administrator exists yet: add one first (proctor users add NAME --role "
             "admin), then add everyone else --as that administrator", 2)
    password = (sys.stdin.readline().rstrip("\n") if password_stdin
                else typer.prompt(f"Password for {name}", hide_input=True,
                                  confirmation_prompt=True))
    try:
        user = governance.identity.add_user(name, password, roles=set(role),
                                            groups=set(group or ()), email=email)
    except IdentityError as exc:
        fail(str(exc), 2)
    governance.writer.append("identity.changed", actor=by, payload={
        "created": user.name, "roles": user.roles, "groups": user.groups, "active": True})
    typer.echo(f"user {user.name}: roles {user.roles}; groups {user.groups or '-'}")


@app.command("list")
def users_list() -> None:
    """Every user with roles, groups and status."""
    for u in load_governance().identity.users():
        typer.echo(f"{u.name:<16} roles={u.roles:<24} groups={u.groups or '-':<32} "
                   f"{'active' if u.active else 'disabled'}  {u.email or ''}")


@app.command("set")
def users_set(
    name: str,
    role: Annotated[Optional[list[str]], typer.Option(help="replace the roles")] = None,
    group: Annotated[Optional[list[str]], typer.Option(help="replace the approver groups")]
    = None,
    no_groups: Annotated[bool, typer.Option(help="remove every group")] = False,
    email: Annotated[Optional[str], typer.Option()] = None,
    disable: Annotated[bool, typer.Option(help="disable the user and revoke tokens")] = False,
    enable: Annotated[bool, typer.Option()] = False,
    as_user: AsUser = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Change a user's roles, groups, email or status, as an administrator (never your own
    roles or groups); asks for your password."""
    from governance.identity.users import IdentityError

    governance = load_governance()
    by = require_admin(governance, as_user, password_stdin, "users set").name
    groups = set() if no_groups else (set(group) if group is not None else None)
    active = False if disable else (True if enable else None)
    try:
        user = governance.identity.update_user(name, by=by, roles=set(role) if role else None,
                                               groups=groups, email=email, active=active)
    except IdentityError as exc:
        refuse(governance, by, "users set", str(exc), 2)
    governance.writer.append("identity.changed", actor=by, payload={
        "user": name, "roles": user.roles, "groups": user.groups, "active": user.active})
    typer.echo(f"user {user.name}: roles {user.roles}; groups {user.groups or '-'}; "
               f"{'active' if user.active else 'disabled'}")


@app.command("token")
def users_token(name: str, as_user: AsUser = None,
                password_stdin: PasswordStdin = False) -> None:
    """Create an API token, printed once and stored only as a hash: for yourself, or as an
    administrator for someone who does not vote (approvers make their own); asks for your
    password."""
    from governance.identity import access

    governance = load_governance()
    by = require_admin(governance, as_user, password_stdin, "users token", or_self=name)
    why = access.token_refusal(by, governance.identity.get(name), name)
    if why is not None:
        refuse(governance, by.name, "users token", why)
    token = governance.identity.create_token(name)
    governance.writer.append("identity.token_created", actor=by.name, payload={"user": name})
    typer.echo(token)


@app.command("revoke-tokens")
def users_revoke_tokens(name: str, as_user: AsUser = None,
                        password_stdin: PasswordStdin = False) -> None:
    """Revoke every API token of a user (yours, or anyone's as an administrator)."""
    governance = load_governance()
    by = require_admin(governance, as_user, password_stdin, "users revoke-tokens", or_self=name)
    revoked = governance.identity.revoke_tokens(name)
    governance.writer.append("identity.tokens_revoked", actor=by.name,
                             payload={"user": name, "revoked": revoked})
    typer.echo(f"revoked {revoked} token(s) of {name}")


@app.command("delegate")
def users_delegate(
    delegator: str, delegate: str,
    until: Annotated[str, typer.Option(help="end date, ISO 8601 (UTC), e.g. 2026-12-24")],
    as_user: AsUser = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Let DELEGATE vote in DELEGATOR's groups until the end date: your own vote, or anyone's
    as an administrator; asks for your password."""
    from governance.identity.users import IdentityError

    try:
        end = datetime.fromisoformat(until)
    except ValueError:
        fail(f"--until {until!r} is not an ISO 8601 date or time", 2)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    governance = load_governance()
    by = require_admin(governance, as_user, password_stdin, "users delegate",
                       or_self=delegator).name
    try:
        row = governance.identity.delegate(delegator, delegate, until=end, by=by)
    except IdentityError as exc:
        refuse(governance, by, "users delegate", str(exc), 2)
    governance.writer.append("identity.delegated", actor=by, payload={
        "delegator": delegator, "delegate": delegate, "until": end.isoformat()})
    typer.echo(f"delegation {row.id}: {delegate} votes for {delegator} until {end.isoformat()}")
