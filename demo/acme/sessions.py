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
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    user: str | None = None
    last_seen: float = field(default_factory=time.monotonic)


class Sessions:
    def __init__(self, ttl_s: int) -> None:
        self._ttl_s = ttl_s
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def new(self, user: str | None = None) -> tuple[str, Session]:
        token, session = secrets.token_urlsafe(32), Session(user=user)
        with self._lock:
            self._sessions[token] = session
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
        with self._lock:
            self._sessions.pop(token or "", None)


def csrf_ok(session: Session | None, submitted: object) -> bool:
    return (session is not None and isinstance(submitted, str)
            and hmac.compare_digest(session.csrf, submitted))
