"""Telling approvers about the review queue: e-mail and signed webhooks, best effort.

    notifications = Notifications([SmtpNotifier("mail.local", 25, "proctor@example.com")],
                                  directory=lambda group: identity_recipients(group))
    failures = notifications.notify(notice)     # never raises; failures are logged and returned

A notice says what waits and links to the request's page in the review UI. It never carries a
way to decide: approving or rejecting happens on that page, after signing in.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import smtplib
import ssl
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as email_policy
from email.utils import formatdate, make_msgid
from typing import Literal, Protocol
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from governance.errors import GovernanceError

log = logging.getLogger(__name__)

NoticeKind = Literal["requested", "escalated", "approved", "rejected", "expired"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SUBJECT_MAX = 200
# Long lines fold less oddly (the stdlib may fold a subject's first word onto a line of its own).
_EMAIL_POLICY = email_policy.clone(max_line_length=998)
# Words that mark a link as one that would change something; a view URL carries none of them.
_ACTION_WORDS = frozenset({"approve", "reject", "vote", "decide", "decision", "token", "sig"})
_HEADLINES: dict[str, str] = {
    "requested": "approval requested",
    "escalated": "approval escalated",
    "approved": "request approved",
    "rejected": "request rejected",
    "expired": "request expired",
}
_INTROS: dict[str, str] = {
    "requested": "An action is waiting for an approval from group {group}.",
    "escalated": "An action waiting for approval was escalated to group {group}.",
    "approved": "A request in the queue of group {group} was approved.",
    "rejected": "A request in the queue of group {group} was rejected.",
    "expired": "A request in the queue of group {group} expired without a decision.",
}


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
        if _CONTROL.search(url) or " " in url or parts.username or parts.password:
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


def _one_line(text: str) -> str:
    """`text` with every control character (CR and LF included) turned into one space."""
    return _CONTROL.sub(" ", text).strip()


def _subject_of(notice: Notice) -> str:
    """The e-mail subject: one line, at most 200 characters."""
    reasons = f" ({', '.join(notice.reasons)})" if notice.reasons else ""
    subject = _one_line(f"[Proctor] {_HEADLINES[notice.kind]}: {notice.action_kind}{reasons}")
    return subject if len(subject) <= _SUBJECT_MAX else subject[: _SUBJECT_MAX - 3] + "..."


def _body_of(notice: Notice) -> str:
    """The plain-text e-mail body. Its only link is `notice.url`, which views the request."""
    expires = notice.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    reasons = ", ".join(_one_line(r) for r in notice.reasons) or "-"
    lines = [
        _INTROS[notice.kind].format(group=_one_line(notice.group)),
        "",
        f"  Action:       {_one_line(notice.summary)}",
        f"  Kind:         {_one_line(notice.action_kind)}",
        f"  Reasons:      {reasons}",
        f"  Requested by: {_one_line(notice.requested_by)}",
        f"  Group:        {_one_line(notice.group)}",
        f"  Expires:      {expires}",
        f"  Request:      {_one_line(notice.request_id)}",
        "",
        "View the request:",
        f"  {notice.url}",
        "",
    ]
    if notice.kind in ("requested", "escalated"):
        lines += [
            "Approving or rejecting happens on that page, after you sign in to Proctor.",
            "This message carries no approval link, and replying to it does nothing.",
        ]
    else:
        lines.append("Nothing is left to do; this message is for your information.")
    return "\n".join(lines) + "\n"


def _payload_of(notice: Notice) -> bytes:
    """The webhook body: compact JSON of the notice, keys sorted, UTF-8."""
    data = notice.model_dump(mode="json")
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _sign(secret: bytes, body: bytes) -> str:
    """The X-Proctor-Signature value: "sha256=" and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _secret(value: SecretStr | str | None) -> str | None:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class SmtpNotifier:
    """Sends one plain-text e-mail per recipient that has an address, over one SMTP session."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool = False,
        username: str | None = None,
        password: SecretStr | str | None = None,
        timeout_s: float = 10,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = _one_line(sender)
        parsed = email_policy.header_factory("From", self._sender)
        if parsed.defects or len(parsed.addresses) != 1:
            raise ValueError(f"not a single valid sender address: {self._sender!r}")
        self._starttls = starttls
        self._username = username
        self._password = SecretStr(_secret(password) or "")
        self._timeout_s = timeout_s

    @property
    def name(self) -> str:
        return f"smtp://{self._host}:{self._port}"

    def __repr__(self) -> str:
        return f"SmtpNotifier({self.name})"

    def send(self, notice: Notice, recipients: Sequence[Recipient]) -> None:
        messages: list[tuple[str, EmailMessage]] = []
        refused: list[str] = []
        for recipient in recipients:
            if not recipient.email:
                continue
            try:
                messages.append(self._message(notice, recipient.name, recipient.email))
            except (ValueError, IndexError, MessageError):
                refused.append(f"{_one_line(recipient.name)}: invalid address")
        if messages:
            self._deliver(messages, refused)
        if refused:
            raise NotificationError(f"{self.name}: not delivered to {'; '.join(refused)}")

    def _message(self, notice: Notice, name: str, email: str) -> tuple[str, EmailMessage]:
        """The envelope recipient and the message; ValueError/MessageError for a bad address."""
        if _CONTROL.search(email):
            raise ValueError("address with control characters")
        to = Address(display_name=_one_line(name), addr_spec=email)
        message = EmailMessage(policy=_EMAIL_POLICY)
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = _subject_of(notice)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain="proctor.local")
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(_body_of(notice))
        return to.addr_spec, message

    def _deliver(self, messages: list[tuple[str, EmailMessage]], refused: list[str]) -> None:
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout_s) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username:
                    smtp.login(self._username, self._password.get_secret_value())
                for address, message in messages:
                    try:
                        smtp.send_message(message, to_addrs=[address])
                    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
                        refused.append(f"{address}: {type(exc).__name__}")
        except smtplib.SMTPAuthenticationError as exc:
            raise NotificationError(f"{self.name}: login refused ({exc.smtp_code})") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise NotificationError(f"{self.name}: {type(exc).__name__}: {exc}") from exc


class WebhookNotifier:
    """POSTs the notice as JSON, signed with HMAC-SHA256 over the raw body."""

    def __init__(self, url: str, secret: SecretStr | str, *, timeout_s: float = 10) -> None:
        key = _secret(secret)
        if not key:
            raise ValueError("a webhook needs a non-empty secret")
        self._url = url
        self._key = SecretStr(key)
        self._timeout_s = timeout_s

    @property
    def name(self) -> str:
        """The URL without credentials, query or fragment (those may hold a secret)."""
        parts = urlsplit(self._url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"webhook {parts.scheme}://{host}{port}{parts.path}"

    def __repr__(self) -> str:
        return f"WebhookNotifier({self.name})"

    def send(self, notice: Notice, recipients: Sequence[Recipient]) -> None:
        body = _payload_of(notice)
        headers = {
            "Content-Type": "application/json",
            "X-Proctor-Event": notice.kind,
            "X-Proctor-Signature": _sign(self._key.get_secret_value().encode(), body),
        }
        try:
            response = httpx.post(self._url, content=body, headers=headers,
                                  timeout=self._timeout_s, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise NotificationError(f"{self.name}: {type(exc).__name__}: {exc}") from None
        if not response.is_success:
            raise NotificationError(f"{self.name} answered HTTP {response.status_code}")


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
