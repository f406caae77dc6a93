"""Delegations: while an approver is away, someone else votes in their groups, on their behalf,
until an end date; and from them, who may vote for a group now.

    delegations = Delegations(engine, users)     # `users`: anything with get(name) -> User
    delegations.delegate("bob", "erin", until=..., by="bob")   # erin votes for bob until then
    delegations.voting_right("erin", {"finance-approvers"})   # -> ("bob", "finance-approvers")

`Identity` (governance.identity.users) holds one and offers the same methods; use it there.
Nobody delegates to themselves, and an administrator cannot delegate someone's vote to
themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from governance.identity.errors import IdentityError

if TYPE_CHECKING:
    from governance.identity.users import User


class Delegation(SQLModel, table=True):
    """`delegate` may vote in `delegator`'s groups, on their behalf, until `ends_at`."""

    __tablename__ = "delegations"

    id: int | None = Field(default=None, primary_key=True)
    delegator: str = Field(foreign_key="users.name", index=True)
    delegate: str = Field(foreign_key="users.name", index=True)
    starts_at: datetime
    ends_at: datetime
    created_by: str
    revoked_at: datetime | None = None


class Users(Protocol):
    """Where delegations look people up."""

    def get(self, name: str) -> User | None: ...


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Delegations:
    """The delegation store (table `delegations`, made by `Identity`)."""

    def __init__(self, engine: Engine, users: Users, *,
                 clock: Callable[[], datetime] = _now) -> None:
        self._engine = engine
        self._users = users
        self._clock = clock

    def delegate(self, delegator: str, delegate: str, *, until: datetime, by: str,
                 starts: datetime | None = None) -> Delegation:
        """Let `delegate` vote in `delegator`'s groups until `until` (an end date is required).

        `by` is the delegator or an administrator; nobody delegates to themselves."""
        now = self._clock()
        starts = starts or now
        if delegate in (delegator, by):
            raise IdentityError(f"{by} cannot make a delegation to {delegate}: nobody "
                                "delegates to themselves")
        if _aware(until) <= max(now, _aware(starts)):
            raise IdentityError("a delegation needs an end date in the future, after its start")
        for who in (delegator, delegate):
            if self._users.get(who) is None:
                raise IdentityError(f"no user {who!r}")
        row = Delegation(delegator=delegator, delegate=delegate, starts_at=starts, ends_at=until,
                         created_by=by)
        with Session(self._engine) as session:
            session.add(row)
            session.commit()
            session.refresh(row)
            return row

    def revoke(self, delegation_id: int) -> None:
        with Session(self._engine) as session:
            row = session.get(Delegation, delegation_id)
            if row is None:
                raise IdentityError(f"no delegation {delegation_id}")
            row.revoked_at = self._clock()
            session.add(row)
            session.commit()

    def all(self, *, active_only: bool = True) -> list[Delegation]:
        now = self._clock()
        with Session(self._engine) as session:
            rows = list(session.exec(select(Delegation).order_by(col(Delegation.id))).all())
        return [d for d in rows if not active_only or _active(d, now)]

    def voting_right(self, name: str, groups: set[str]) -> tuple[str, str] | None:
        """Whether `name` may vote for one of `groups` now: (on whose behalf, which group).

        Their own membership first (on their own behalf); else an active delegation from an
        active approver of the group. None when neither holds.
        """
        user = self._users.get(name)
        if user is None or not user.has_role("approver"):
            return None
        for group in sorted(groups & user.group_set):
            return name, group
        now = self._clock()
        for d in self.all():
            if d.delegate != name or not _active(d, now):
                continue
            principal = self._users.get(d.delegator)
            if principal is not None and principal.has_role("approver"):
                for group in sorted(groups & principal.group_set):
                    return principal.name, group
        return None

    def visible_groups(self, name: str) -> frozenset[str]:
        """Groups whose requests `name` may work on: their own and those delegated to them."""
        user = self._users.get(name)
        if user is None or not user.has_role("approver"):
            return frozenset()
        groups = set(user.group_set)
        now = self._clock()
        for d in self.all():
            principal = self._users.get(d.delegator)
            if d.delegate == name and _active(d, now) and principal is not None \
                    and principal.has_role("approver"):
                groups |= principal.group_set
        return frozenset(groups)


def _active(d: Delegation, now: datetime) -> bool:
    return d.revoked_at is None and _aware(d.starts_at) <= now < _aware(d.ends_at)
