"""Who may do what: the one authorization table behind the review UI, the REST API and the CLI.

    allowed(user, "vote")                 # role check
    scope(identity, user, base, group)    # which requests a user's queue holds
    can_view(identity, user, request)     # may this user open this request?
    token_refusal(user, target, name)     # why user may not make an API token for name

Roles: `author` (writes and runs flows; sees their own requests), `approver` (votes on the
requests of their groups), `auditor` (reads everything, changes nothing), `admin` (manages users,
groups and tokens; reads everything; votes only if also an approver of the group, like anyone).
Group rights, separation of duties and quorum are the approvals service's to enforce.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from governance.approvals.store import ApprovalRequest, QueueFilter
from governance.identity.users import Identity, User

Permission = Literal["queue.read", "vote", "audit.read", "users.manage"]

PERMISSIONS: dict[Permission, frozenset[str]] = {
    "queue.read": frozenset({"author", "approver", "auditor", "admin"}),
    "vote": frozenset({"approver"}),
    "audit.read": frozenset({"auditor", "admin"}),
    "users.manage": frozenset({"admin"}),
}


def allowed(user: User | None, permission: Permission) -> bool:
    return user is not None and user.has_role(*PERMISSIONS[permission])


def reads_everything(user: User) -> bool:
    return user.has_role("auditor", "admin")


def scope(identity: Identity, user: User, base: QueueFilter,
          group: str | None = None) -> QueueFilter:
    """`base` narrowed to what `user` may see: everything for auditors and administrators,
    their groups' requests for approvers, their own requests for authors; `group` narrows it
    further to that group's requests (it never widens it)."""
    if reads_everything(user):
        scoped = base
    elif user.has_role("approver"):
        scoped = replace(base, groups=identity.visible_groups(user.name))
    else:
        scoped = replace(base, requested_by=user.name)
    if group:
        groups = scoped.groups if scoped.groups is not None else {group}
        scoped = replace(scoped, groups=frozenset(groups) & {group})
    return scoped


def can_view(identity: Identity, user: User, request: ApprovalRequest) -> bool:
    if not allowed(user, "queue.read"):
        return False
    if reads_everything(user) or user.name in (request.requested_by, request.flow_author):
        return True
    return bool(user.has_role("approver")
                and request.groups & identity.visible_groups(user.name))


def token_refusal(by: User, target: User | None, name: str) -> str | None:
    """Why `by` may not create an API token for `name` (the user `target`), or None.

    A token acts as its user, so whoever makes it could act as them: anyone may make one for
    themselves (with their password, checked by the caller); an administrator may make one for
    an identity that does not vote (auditors, authors, service identities), never for an
    approver, who makes their own."""
    if name == by.name:
        return None
    if not allowed(by, "users.manage"):
        return f"{by.name} may create API tokens only for themselves"
    if target is None:
        return f"no user {name!r}"
    if "approver" in target.role_set:
        return (f"{name} is an approver: only {name} can create a token for themselves (a "
                f"token made by {by.name} would let {by.name} vote as {name})")
    return None
