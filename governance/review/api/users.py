"""`/api/users` and `/api/delegations`: accounts, API tokens and delegations, for
administrators (and, for their own token or delegation, for anyone signed in).

Every change is recorded in the ledger (`identity.changed`, `identity.token_created`,
`identity.tokens_revoked`, `identity.delegated`); a refused one as `access.refused`.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from governance.identity import access
from governance.identity.users import IdentityError, User
from governance.review.api.models import DelegationIn, TokenIn, UserIn, UserPatch, user_out
from governance.review.deps import (
    Admin,
    Caller,
    GovernanceDep,
    Reader,
    confirm_password,
    record_refusal,
    refuse,
)

router = APIRouter(prefix="/api")


def admin_error(request: Request, user: User, exc: IdentityError) -> HTTPException:
    """Record the refused change; a 422 saying why."""
    record_refusal(request, user.name, str(exc))
    return HTTPException(422, str(exc))


@router.get("/users")
def users(_: Admin, governance: GovernanceDep) -> list[dict[str, Any]]:
    return [user_out(u) for u in governance.identity.users()]


@router.post("/users", status_code=201)
def add_user(request: Request, body: UserIn, admin: Admin,
             governance: GovernanceDep) -> dict[str, Any]:
    try:
        made = governance.identity.add_user(body.name, body.password, roles=set(body.roles),
                                            groups=set(body.groups), email=body.email)
    except IdentityError as exc:
        raise admin_error(request, admin, exc) from None
    governance.writer.append("identity.changed", actor=admin.name,
                             payload={"created": made.name, **user_out(made)})
    return user_out(made)


@router.patch("/users/{name}")
def change_user(request: Request, name: str, body: UserPatch, admin: Admin,
                governance: GovernanceDep) -> dict[str, Any]:
    """Change roles, groups, email or status; administrators cannot change themselves."""
    try:
        changed = governance.identity.update_user(
            name, by=admin.name, roles=set(body.roles) if body.roles is not None else None,
            groups=set(body.groups) if body.groups is not None else None,
            email=body.email, active=body.active)
    except IdentityError as exc:
        raise admin_error(request, admin, exc) from None
    governance.writer.append("identity.changed", actor=admin.name, payload=user_out(changed))
    return user_out(changed)


@router.post("/users/{name}/tokens", status_code=201)
def new_token(request: Request, name: str, user: Caller, governance: GovernanceDep,
              body: TokenIn | None = None) -> dict[str, str]:
    """A new API token for `name`, shown once. For yourself, with your password; as an
    administrator, for someone who does not vote (an approver makes their own)."""
    target = governance.identity.get(name)
    why = access.token_refusal(user, target, name)
    if why is not None:
        unknown = target is None and access.allowed(user, "users.manage")
        raise refuse(request, 422 if unknown else 403, user.name, why)
    if name == user.name:
        confirm_password(request, user, body.password if body else None)
    token = governance.identity.create_token(name)
    governance.writer.append("identity.token_created", actor=user.name,
                             payload={"user": name})
    return {"user": name, "token": token}


@router.delete("/users/{name}/tokens")
def revoke(name: str, admin: Admin, governance: GovernanceDep) -> dict[str, int]:
    revoked = governance.identity.revoke_tokens(name)
    governance.writer.append("identity.tokens_revoked", actor=admin.name,
                             payload={"user": name, "revoked": revoked})
    return {"revoked": revoked}


@router.post("/delegations", status_code=201)
def delegate(request: Request, body: DelegationIn, user: Reader,
             governance: GovernanceDep) -> dict[str, Any]:
    """Delegate your own vote (or, as an administrator, someone else's) until a date."""
    if body.delegator != user.name and not access.allowed(user, "users.manage"):
        raise refuse(request, 403, user.name, "only the delegator or an admin delegates")
    until = body.until if body.until.tzinfo else body.until.replace(tzinfo=UTC)
    try:
        row = governance.identity.delegate(body.delegator, body.delegate, until=until,
                                           by=user.name)
    except IdentityError as exc:
        raise admin_error(request, user, exc) from None
    governance.writer.append("identity.delegated", actor=user.name, payload={
        "delegator": body.delegator, "delegate": body.delegate,
        "until": until.isoformat()})
    return {"id": row.id, "delegator": row.delegator, "delegate": row.delegate,
            "until": until.isoformat()}
