"""Review UI sessions and login throttling, kept server-side in the governance database.

    sessions = WebSessions(engine, idle_timeout_s=900, absolute_timeout_s=28800)
    token = sessions.start("bob")            # the cookie value; only its hash is stored
    session = sessions.current(token)        # None when unknown, idle too long or too old
    sessions.end(token)

A session carries its CSRF token and when its user last confirmed their password. A login gives
a fresh session (the old one, if any, is ended): a session id known before login is worthless.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from audit import ensure_tables
from audit.store import WRITE_OPTION
from governance.identity.users import Identity

TOO_MANY_PASSWORDS = "too many wrong passwords"
WRONG_PASSWORD = "wrong password on re-authentication"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WebSession(SQLModel, table=True):
    __tablename__ = "web_sessions"

    token_hash: str = Field(primary_key=True)
    user: str = Field(index=True)
    csrf: str
    created_at: datetime
    last_seen: datetime
    reauth_at: datetime | None = None


class LoginFailure(SQLModel, table=True):
    """One failed login, counted per user name and per client address."""

    __tablename__ = "login_failures"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, description="'user:NAME' or 'addr:IP'")
    at: datetime = Field(index=True)


class WebSessions:
    def __init__(self, engine: Engine, *, idle_timeout_s: int, absolute_timeout_s: int,
                 clock: Callable[[], datetime] = _now) -> None:
        self._engine = engine
        # Sessions are read, then touched: as writers from the start (SQLite: BEGIN IMMEDIATE),
        # so two requests of one browser at once (a page and its screenshot) both succeed.
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._idle = timedelta(seconds=idle_timeout_s)
        self._absolute = timedelta(seconds=absolute_timeout_s)
        self._clock = clock
        ensure_tables(engine, [WebSession.__table__, LoginFailure.__table__])

    def start(self, user: str, *, replacing: str | None = None) -> str:
        """A new session for `user` (just authenticated); ends `replacing`."""
        if replacing:
            self.end(replacing)
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with Session(self._engine) as session:
            session.add(WebSession(token_hash=_hash(token), user=user,
                                   csrf=secrets.token_urlsafe(32), created_at=now,
                                   last_seen=now, reauth_at=now))
            session.commit()
        return token

    def current(self, token: str | None) -> WebSession | None:
        """The live session for `token`, touched; None (and ended) when it timed out."""
        if not token:
            return None
        now = self._clock()
        with Session(self._writer) as session:
            found = session.get(WebSession, _hash(token))
            if found is None:
                return None
            if now - _aware(found.last_seen) > self._idle or \
                    now - _aware(found.created_at) > self._absolute:
                session.delete(found)
                session.commit()
                return None
            found.last_seen = now
            session.add(found)
            session.commit()
            session.refresh(found)
            return found

    def confirm_password(self, token: str) -> None:
        """Record that the session's user has just typed their password again."""
        with Session(self._writer) as session:
            found = session.get(WebSession, _hash(token))
            if found is not None:
                found.reauth_at = self._clock()
                session.add(found)
                session.commit()

    def recently_confirmed(self, session: WebSession, window_s: int) -> bool:
        return (window_s > 0 and session.reauth_at is not None
                and self._clock() - _aware(session.reauth_at) <= timedelta(seconds=window_s))

    def end(self, token: str | None) -> None:
        if not token:
            return
        with Session(self._engine) as session:
            session.exec(delete(WebSession).where(  # type: ignore[call-overload]
                col(WebSession.token_hash) == _hash(token)))
            session.commit()

    def end_all(self, user: str) -> None:
        """End every session of `user` (disabled, password changed)."""
        with Session(self._engine) as session:
            session.exec(delete(WebSession).where(  # type: ignore[call-overload]
                col(WebSession.user) == user))
            session.commit()

    # --- login throttling ----------------------------------------------------------------

    def throttled(self, limits: dict[str, int], window_s: int) -> int:
        """Seconds to wait when a key has reached its limit of failures in the window, else 0."""
        since = self._clock() - timedelta(seconds=window_s)
        with Session(self._engine) as session:
            for key, limit in limits.items():
                times = session.exec(select(LoginFailure.at).where(
                    LoginFailure.key == key, col(LoginFailure.at) > since)
                    .order_by(col(LoginFailure.at))).all()
                if len(times) >= limit:
                    oldest = _aware(times[-limit])
                    left = oldest + timedelta(seconds=window_s) - self._clock()
                    return max(1, int(left.total_seconds()))
        return 0

    def recheck_password(self, identity: Identity, name: str, password: str, *,
                         attempts: int, window_s: int) -> str | None:
        """Why `password` does not confirm that `name` is at the keyboard now, or None when it
        does. Wrong passwords count against the same per-user limit as failed logins, so a
        stolen session or token cannot be used to guess the password:
        `TOO_MANY_PASSWORDS` once `attempts` failed within `window_s`, else `WRONG_PASSWORD`."""
        key = f"user:{name}"
        if self.throttled({key: attempts}, window_s):
            return TOO_MANY_PASSWORDS
        if identity.check_password(name, password) is None:
            self.failed([key])
            return WRONG_PASSWORD
        return None

    def failed(self, keys: list[str]) -> None:
        now = self._clock()
        with Session(self._engine) as session:
            for key in keys:
                session.add(LoginFailure(key=key, at=now))
            session.commit()

    def succeeded(self, user_key: str) -> None:
        """A correct password clears that user's failures (not the address's)."""
        with Session(self._engine) as session:
            session.exec(delete(LoginFailure).where(  # type: ignore[call-overload]
                col(LoginFailure.key) == user_key))
            session.commit()
