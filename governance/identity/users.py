"""Local users: accounts, roles, approver groups, passwords (scrypt) and API tokens (stored
hashed). `Identity` is the one store the rest of Proctor uses; it also answers for delegations
(governance.identity.delegation) and who may vote for a group now.

    identity = Identity(engine)
    identity.add_user("dora", "a long passphrase", roles={"auditor"})
    token = identity.create_token("dora")          # shown once; only its hash is stored
    identity.authenticate_token(token).name        # "dora"
    identity.delegate("bob", "erin", until=..., by="bob")   # erin votes for bob until then
    identity.voting_right("erin", "finance-approvers")      # -> "bob" (on whose behalf), or None

Administrators manage users, but never for their own benefit: an admin cannot change their own
roles or groups, nor create a delegation to themselves.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from audit import ensure_tables
from governance.identity.delegation import Delegation, Delegations
from governance.identity.errors import IdentityError

Role = Literal["author", "approver", "auditor", "admin"]
ROLES: frozenset[str] = frozenset({"author", "approver", "auditor", "admin"})
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 12


class User(SQLModel, table=True):
    __tablename__ = "users"

    name: str = Field(primary_key=True)
    password_hash: str
    roles: str = Field(description="comma-separated roles")
    groups: str = Field(default="", description="comma-separated approver groups")
    email: str | None = None
    active: bool = True
    created_at: datetime

    def has_role(self, *roles: str) -> bool:
        return self.active and bool(set(self.roles.split(",")) & set(roles))

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)

    @property
    def group_set(self) -> frozenset[str]:
        return frozenset(g for g in self.groups.split(",") if g)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    token_hash: str = Field(primary_key=True, description="SHA-256 of the token")
    user: str = Field(foreign_key="users.name", index=True)
    created_at: datetime
    revoked_at: datetime | None = None


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt${n}${r}${p}$".format(**_SCRYPT) + "$".join(
        base64.b64encode(x).decode() for x in (salt, digest))


def password_matches(password: str, stored: str) -> bool:
    _, n, r, p, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                               r=int(r), p=int(p))
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class Identity:
    """The user, group, delegation and token store."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _now) -> None:
        self._engine = engine
        self._clock = clock
        ensure_tables(engine, [User.__table__, ApiToken.__table__, Delegation.__table__])
        self._delegations = Delegations(engine, self, clock=clock)

    def add_user(self, name: str, password: str, *, roles: set[str],
                 groups: set[str] | None = None, email: str | None = None) -> User:
        _check_roles(roles)
        if not _NAME.fullmatch(name.strip()):
            raise IdentityError(f"user name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
        _check_password(password)
        user = User(name=name.strip(), password_hash=hash_password(password),
                    roles=",".join(sorted(roles)), groups=",".join(sorted(_groups(groups))),
                    email=email or None, created_at=self._clock())
        with Session(self._engine) as session:
            if session.get(User, user.name) is not None:
                raise IdentityError(f"user {user.name!r} already exists")
            session.add(user)
            session.commit()
            session.refresh(user)
        return user

    def get(self, name: str) -> User | None:
        with Session(self._engine) as session:
            return session.get(User, name)

    def users(self) -> list[User]:
        with Session(self._engine) as session:
            return list(session.exec(select(User).order_by(col(User.name))).all())

    def members(self, group: str) -> list[User]:
        """Active approvers of `group` (not their delegates)."""
        return [u for u in self.users() if group in u.group_set and u.has_role("approver")]

    def check_password(self, name: str, password: str) -> User | None:
        user = self.get(name)
        if user is None or not user.active:
            hash_password(password)  # spend the same time: no hint that the name is unknown
            return None
        return user if password_matches(password, user.password_hash) else None

    # --- administration: never for oneself -----------------------------------------------

    def update_user(self, name: str, *, by: str, roles: set[str] | None = None,
                    groups: set[str] | None = None, email: str | None = None,
                    active: bool | None = None, password: str | None = None) -> User:
        """Change a user; `by` (an admin, checked by the caller) may not change themselves,
        except their own password.

        A user who is disabled, or who becomes an approver, loses every API token: a token
        someone else made for them before (an administrator may make tokens only for people
        who do not vote) must not start voting."""
        if by == name and (roles is not None or groups is not None or active is not None):
            raise IdentityError(f"{by} cannot change their own roles, groups or status; "
                                "ask another administrator")
        if roles is not None:
            _check_roles(roles)
        if password is not None:
            _check_password(password)
        with Session(self._engine) as session:
            user = session.get(User, name)
            if user is None:
                raise IdentityError(f"no user {name!r}")
            revoke = active is False or (roles is not None and "approver" in roles
                                         and "approver" not in user.role_set)
            if roles is not None:
                user.roles = ",".join(sorted(roles))
            if groups is not None:
                user.groups = ",".join(sorted(_groups(groups)))
            if email is not None:
                user.email = email or None
            if active is not None:
                user.active = active
            if password is not None:
                user.password_hash = hash_password(password)
            session.add(user)
            session.commit()
            session.refresh(user)
        if revoke:
            self.revoke_tokens(name)
        return user

    # --- delegations (governance.identity.delegation) --------------------------------------

    def delegate(self, delegator: str, delegate: str, *, until: datetime, by: str,
                 starts: datetime | None = None) -> Delegation:
        """Let `delegate` vote in `delegator`'s groups until `until` (see `Delegations`)."""
        return self._delegations.delegate(delegator, delegate, until=until, by=by,
                                          starts=starts)

    def revoke_delegation(self, delegation_id: int) -> None:
        self._delegations.revoke(delegation_id)

    def delegations(self, *, active_only: bool = True) -> list[Delegation]:
        return self._delegations.all(active_only=active_only)

    def voting_right(self, name: str, groups: set[str]) -> tuple[str, str] | None:
        """Whether `name` may vote for one of `groups` now: (on whose behalf, which group)."""
        return self._delegations.voting_right(name, groups)

    def visible_groups(self, name: str) -> frozenset[str]:
        """Groups whose requests `name` may work on: their own and those delegated to them."""
        return self._delegations.visible_groups(name)

    # --- tokens --------------------------------------------------------------------------

    def create_token(self, name: str) -> str:
        """A new API token for `name`; the clear token is returned once and never stored."""
        if self.get(name) is None:
            raise IdentityError(f"no user {name!r}")
        token = "pct_" + secrets.token_urlsafe(32)
        with Session(self._engine) as session:
            session.add(ApiToken(token_hash=_token_hash(token), user=name,
                                 created_at=self._clock()))
            session.commit()
        return token

    def revoke_tokens(self, name: str) -> int:
        """Revoke every token of `name`; how many were live."""
        with Session(self._engine) as session:
            rows = session.exec(select(ApiToken).where(ApiToken.user == name,
                                                       col(ApiToken.revoked_at).is_(None))).all()
            for row in rows:
                row.revoked_at = self._clock()
                session.add(row)
            session.commit()
            return len(rows)

    def authenticate_token(self, token: str) -> User | None:
        with Session(self._engine) as session:
            row = session.exec(select(ApiToken).where(
                ApiToken.token_hash == _token_hash(token))).first()
            if row is None or row.revoked_at is not None:
                return None
            user = session.get(User, row.user)
            return user if user is not None and user.active else None


_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _check_roles(roles: set[str]) -> None:
    unknown = set(roles) - ROLES
    if not roles or unknown:
        raise IdentityError(f"a user needs roles from {sorted(ROLES)}"
                            + (f"; unknown: {sorted(unknown)}" if unknown else ""))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise IdentityError(f"passwords need at least {MIN_PASSWORD} characters")


def _groups(groups: set[str] | None) -> set[str]:
    cleaned = {g.strip() for g in groups or ()}
    bad = [g for g in cleaned if not _NAME.fullmatch(g)]
    if bad:
        raise IdentityError(f"group names {bad}: use letters, digits, '.', '_' or '-'")
    return cleaned
