"""Local users, roles, approver groups and API tokens (stored hashed).

    identity = Identity(engine)
    identity.add_user("dora", "a long passphrase", roles={"auditor"})
    token = identity.create_token("dora")          # shown once; only its hash is stored
    identity.authenticate_token(token).name        # "dora"
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from governance.errors import GovernanceError

Role = Literal["author", "approver", "auditor", "admin"]
ROLES: frozenset[str] = frozenset({"author", "approver", "auditor", "admin"})
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 12


class IdentityError(GovernanceError):
    """A user or token operation was refused; the message says why."""


class User(SQLModel, table=True):
    __tablename__ = "users"

    name: str = Field(primary_key=True)
    password_hash: str
    roles: str = Field(description="comma-separated roles")
    groups: str = Field(default="", description="comma-separated approver groups")
    created_at: datetime

    def has_role(self, *roles: str) -> bool:
        return bool(set(self.roles.split(",")) & set(roles))

    @property
    def group_set(self) -> frozenset[str]:
        return frozenset(g for g in self.groups.split(",") if g)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    token_hash: str = Field(primary_key=True, description="SHA-256 of the token")
    user: str = Field(foreign_key="users.name", index=True)
    created_at: datetime


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


class Identity:
    """The user and token store."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        SQLModel.metadata.create_all(engine, tables=[User.__table__, ApiToken.__table__])

    def add_user(self, name: str, password: str, *, roles: set[str],
                 groups: set[str] | None = None) -> User:
        unknown = set(roles) - ROLES
        if not name.strip() or not roles or unknown:
            raise IdentityError(f"a user needs a name and roles from {sorted(ROLES)}"
                                + (f"; unknown: {sorted(unknown)}" if unknown else ""))
        if len(password) < MIN_PASSWORD:
            raise IdentityError(f"passwords need at least {MIN_PASSWORD} characters")
        user = User(name=name.strip(), password_hash=hash_password(password),
                    roles=",".join(sorted(roles)), groups=",".join(sorted(groups or ())),
                    created_at=datetime.now(UTC))
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

    def check_password(self, name: str, password: str) -> User | None:
        user = self.get(name)
        if user is None:
            hash_password(password)  # spend the same time: no hint that the name is unknown
            return None
        return user if password_matches(password, user.password_hash) else None

    def create_token(self, name: str) -> str:
        """A new API token for `name`; the clear token is returned once and never stored."""
        if self.get(name) is None:
            raise IdentityError(f"no user {name!r}")
        token = "pct_" + secrets.token_urlsafe(32)
        with Session(self._engine) as session:
            session.add(ApiToken(token_hash=_token_hash(token), user=name,
                                 created_at=datetime.now(UTC)))
            session.commit()
        return token

    def authenticate_token(self, token: str) -> User | None:
        with Session(self._engine) as session:
            row = session.exec(select(ApiToken).where(
                ApiToken.token_hash == _token_hash(token))).first()
            return session.get(User, row.user) if row else None
