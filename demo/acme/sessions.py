"""Server-side sessions with a CSRF token each, idle expiry, and rotation on login."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE = "ACMESESSID"


@dataclass
class Session:
    """One browser's server-side state: its CSRF token and, once logged in, its user."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    user: str | None = None
    opened: float = field(default_factory=time.monotonic)
    last_seen: float = field(default_factory=time.monotonic)


class Sessions:
    """The live sessions by cookie token; a session idle for longer than `ttl_s` expires."""

    def __init__(self, ttl_s: int) -> None:
        self._ttl_s = ttl_s
        self._sessions: dict[str, Session] = {}
        self._logged_in: list[Session] = []  # every one since start, for `peak()`
        self._lock = threading.Lock()

    def new(self, user: str | None = None) -> tuple[str, Session]:
        """A fresh session and its cookie token."""
        token, session = secrets.token_urlsafe(32), Session(user=user)
        with self._lock:
            self._drop_idle_anonymous()
            self._sessions[token] = session
            if user is not None:
                self._logged_in.append(session)
        return token, session

    def get(self, token: str | None) -> tuple[Session | None, bool]:
        """The live session for `token` (touched), and whether one existed but expired."""
        with self._lock:
            session = self._sessions.get(token or "")
            if session is None:
                return None, False
            if time.monotonic() - session.last_seen > self._ttl_s:
                del self._sessions[token or ""]
                return None, session.user is not None
            session.last_seen = time.monotonic()
            return session, False

    def drop(self, token: str | None) -> None:
        """Forget a session (logout, or rotation on login)."""
        with self._lock:
            self._sessions.pop(token or "", None)

    def peak(self) -> int:
        """The most logged-in sessions that were in use at one moment since the app started.

        A session is in use from its login to its last request (a robot that holds one of the
        app's slots does all its requests inside that span)."""
        with self._lock:
            spans = [(s.opened, s.last_seen) for s in self._logged_in]
        # At equal times a span that starts counts before one that ends: touching is overlap.
        events = sorted([(start, -1) for start, _ in spans] + [(end, 1) for _, end in spans])
        peak = current = 0
        for _, change in events:
            current -= change
            peak = max(peak, current)
        return peak

    def _drop_idle_anonymous(self) -> None:
        # Every cookie-less GET /login makes a session; without this they would pile up.
        # Expired logged-in sessions stay until seen, so their owner is told they expired.
        cutoff = time.monotonic() - self._ttl_s
        for token in [t for t, s in self._sessions.items()
                      if s.user is None and s.last_seen < cutoff]:
            del self._sessions[token]


def csrf_ok(session: Session | None, submitted: object) -> bool:
    """Whether `submitted` is this session's CSRF token (compared in constant time)."""
    return (session is not None and isinstance(submitted, str)
            and hmac.compare_digest(session.csrf, submitted))
