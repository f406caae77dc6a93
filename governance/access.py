"""Who may do what: the one authorization table behind the review UI, the REST API and the CLI.

    allowed(user, "vote")                 # role check
    scope(identity, user)                 # which requests a user's queue holds
    can_view(identity, user, request)     # may this user open this request?

Roles: `author` (writes and runs flows; sees their own requests), `approver` (votes on the
requests of their groups), `auditor` (reads everything, changes nothing), `admin` (manages users,
groups and tokens; reads everything; votes only if also an approver of the group, like anyone).
Group rights, separation of duties and quorum are the approvals service's to enforce.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from governance.approvals import ApprovalRequest, QueueFilter
from governance.identity import Identity, User

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


def scope(identity: Identity, user: User, base: QueueFilter) -> QueueFilter:
    """`base` narrowed to what `user` may see: everything for auditors and administrators,
    their groups' requests for approvers, their own requests for authors."""
    if reads_everything(user):
        return base
    if user.has_role("approver"):
        return replace(base, groups=identity.visible_groups(user.name))
    return replace(base, requested_by=user.name)


def can_view(identity: Identity, user: User, request: ApprovalRequest) -> bool:
    if not allowed(user, "queue.read"):
        return False
    if reads_everything(user) or user.name in (request.requested_by, request.flow_author):
        return True
    return bool(user.has_role("approver")
                and request.groups & identity.visible_groups(user.name))
