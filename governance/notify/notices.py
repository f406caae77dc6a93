"""Telling approvers about the review queue: the `Notice`, its `Recipient`s, and the fan-out.

    notifications = Notifications([SmtpNotifier("mail.local", 25, "proctor@example.com")],
                                  directory=lambda group: identity_recipients(group))
    failures = notifications.notify(notice)     # never raises; failures are logged and returned

A notice says what waits and links to the request's page in the review UI. It never carries a
way to decide: approving or rejecting happens on that page, after signing in. The notifiers are
`smtp.SmtpNotifier` (e-mail) and `webhook.WebhookNotifier` (signed JSON), best effort both.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Literal, Protocol
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from governance.errors import GovernanceError

log = logging.getLogger(__name__)

NoticeKind = Literal["requested", "escalated", "approved", "rejected", "expired"]

CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
"""Control characters (CR and LF included): never inside a header, a line or a link."""
# Words that mark a link as one that would change something; a view URL carries none of them.
_ACTION_WORDS = frozenset({"approve", "reject", "vote", "decide", "decision", "token", "sig"})


class NotificationError(GovernanceError):
    """A notifier could not deliver a notice; the message names where it went, never a secret."""


class Recipient(BaseModel):
    """Someone to tell; without an e-mail address, e-mail notifiers skip them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    email: str | None = None


class Notice(BaseModel):
    """What happened to an approval request. Holds nothing secret: `summary` is already masked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: NoticeKind
    request_id: str
    action_kind: str
    summary: str
    reasons: list[str]
    group: str
    requested_by: str
    expires_at: datetime
    url: str

    @field_validator("expires_at")
    @classmethod
    def _utc(cls, expires_at: datetime) -> datetime:
        """A naive time (as SQLite hands back) is taken to be UTC."""
        return expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)

    @field_validator("url")
    @classmethod
    def _view_url_only(cls, url: str) -> str:
        """The link views the request; one that could approve, reject or authenticate is refused."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("url must be an absolute http(s) URL")
        if CONTROL.search(url) or " " in url or parts.username or parts.password:
            raise ValueError("url must not contain whitespace, control characters or credentials")
        words = {segment.lower() for segment in parts.path.split("/")}
        words |= {key.lower() for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
        if words & _ACTION_WORDS:
            raise ValueError("url must be the request's view page, not an action link")
        return url


class Notifier(Protocol):
    def send(self, notice: Notice, recipients: Sequence[Recipient]) -> None:
        """Deliver `notice`; raise (preferably NotificationError) when it could not."""
        ...


def one_line(text: str) -> str:
    """`text` with every control character (CR and LF included) turned into one space."""
    return CONTROL.sub(" ", text).strip()


def reveal(value: SecretStr | str | None) -> str | None:
    """The text of a secret given as `SecretStr` or plain text."""
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class Notifications:
    """Fans a notice out to every notifier. Best effort: the approval is already recorded."""

    def __init__(
        self, notifiers: Sequence[Notifier], directory: Callable[[str], Sequence[Recipient]]
    ) -> None:
        self._notifiers = list(notifiers)
        self._directory = directory

    def notify(self, notice: Notice) -> list[str]:
        """Tell the notice's group; return one line per failure (also logged), never raise."""
        failures: list[str] = []
        try:
            recipients = list(self._directory(notice.group))
        except Exception as exc:
            recipients = []
            failures.append(self._failed("directory", notice, exc))
        for notifier in self._notifiers:
            try:
                notifier.send(notice, recipients)
            except Exception as exc:
                failures.append(self._failed(_name_of(notifier), notice, exc))
        return failures

    @staticmethod
    def _failed(where: str, notice: Notice, exc: Exception) -> str:
        detail = f"{type(exc).__name__}: {exc}"
        failure = str(exc) if isinstance(exc, NotificationError) else f"{where}: {detail}"
        log.warning("notice %s of request %s not delivered: %s", notice.kind, notice.request_id,
                    failure)
        return failure


def _name_of(notifier: Notifier) -> str:
    name = getattr(notifier, "name", None)
    return name if isinstance(name, str) else type(notifier).__name__
