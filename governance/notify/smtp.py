"""E-mail notices: `SmtpNotifier` sends one plain-text message per recipient over one session.

The subject is one line of at most 200 characters; the body's only link views the request.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from datetime import UTC
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as email_policy
from email.utils import formatdate, make_msgid

from pydantic import SecretStr

from governance.notify.notices import (
    CONTROL,
    Notice,
    NotificationError,
    Recipient,
    one_line,
    reveal,
)

_SUBJECT_MAX = 200
# Long lines fold less oddly (the stdlib may fold a subject's first word onto a line of its own).
_EMAIL_POLICY = email_policy.clone(max_line_length=998)
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


def _subject_of(notice: Notice) -> str:
    """The e-mail subject: one line, at most 200 characters."""
    reasons = f" ({', '.join(notice.reasons)})" if notice.reasons else ""
    subject = one_line(f"[Proctor] {_HEADLINES[notice.kind]}: {notice.action_kind}{reasons}")
    return subject if len(subject) <= _SUBJECT_MAX else subject[: _SUBJECT_MAX - 3] + "..."


def _body_of(notice: Notice) -> str:
    """The plain-text e-mail body. Its only link is `notice.url`, which views the request."""
    expires = notice.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    reasons = ", ".join(one_line(r) for r in notice.reasons) or "-"
    lines = [
        _INTROS[notice.kind].format(group=one_line(notice.group)),
        "",
        f"  Action:       {one_line(notice.summary)}",
        f"  Kind:         {one_line(notice.action_kind)}",
        f"  Reasons:      {reasons}",
        f"  Requested by: {one_line(notice.requested_by)}",
        f"  Group:        {one_line(notice.group)}",
        f"  Expires:      {expires}",
        f"  Request:      {one_line(notice.request_id)}",
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
        self._sender = one_line(sender)
        parsed = email_policy.header_factory("From", self._sender)
        if parsed.defects or len(parsed.addresses) != 1:
            raise ValueError(f"not a single valid sender address: {self._sender!r}")
        self._starttls = starttls
        self._username = username
        self._password = SecretStr(reveal(password) or "")
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
                refused.append(f"{one_line(recipient.name)}: invalid address")
        if messages:
            self._deliver(messages, refused)
        if refused:
            raise NotificationError(f"{self.name}: not delivered to {'; '.join(refused)}")

    def _message(self, notice: Notice, name: str, email: str) -> tuple[str, EmailMessage]:
        """The envelope recipient and the message; ValueError/MessageError for a bad address."""
        if CONTROL.search(email):
            raise ValueError("address with control characters")
        to = Address(display_name=one_line(name), addr_spec=email)
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
