"""Notifications against real servers: aiosmtpd for e-mail, http.server for webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from governance.notify.notices import Notice, NotificationError, Notifications, Recipient
from governance.notify.smtp import SmtpNotifier
from governance.notify.webhook import WebhookNotifier

SENDER = "proctor@example.test"
SMTP_PASSWORD = "smtp-pw-never-logged"
HOOK_SECRET = "hook-secret-never-logged"
VIEW_URL = "http://review.example.test:8000/requests/req-42"
URL = re.compile(r"https?://[^\s<>\"')]+")


def _notice(**changes: Any) -> Notice:
    fields: dict[str, Any] = {
        "kind": "requested",
        "request_id": "req-42",
        "action_kind": "acme.release_payment",
        "summary": "acme.release_payment INV-1003 48500.00 EUR",
        "reasons": ["amount_over_approval_limit"],
        "group": "finance",
        "requested_by": "robot:invoice-flow",
        "expires_at": datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        "url": VIEW_URL,
    }
    fields.update(changes)
    return Notice(**fields)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Collector:
    """aiosmtpd handler keeping every envelope it is given."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, _Collector]]:
    handler = _Collector()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


class _HookServer(ThreadingHTTPServer):
    status = 204
    calls: list[tuple[str, str, Message, bytes]]


class _HookHandler(BaseHTTPRequestHandler):
    server: _HookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.calls.append((self.command, self.path, self.headers, body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hook_server() -> Iterator[Callable[[int], tuple[str, _HookServer]]]:
    servers: list[_HookServer] = []

    def start(status: int = 204) -> tuple[str, _HookServer]:
        server = _HookServer(("127.0.0.1", 0), _HookHandler)
        server.status = status
        server.calls = []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/hooks/proctor", server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _parsed(envelope: Any) -> EmailMessage:
    message = message_from_bytes(envelope.content, policy=email_policy)
    assert isinstance(message, EmailMessage)
    return message


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return body.get_content()


def _header_lines(raw: bytes) -> list[str]:
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode()
    return [line for line in head.split("\n") if line and not line[0].isspace()]


# --- e-mail ---------------------------------------------------------------------------------


def test_smtp_sends_one_view_only_message_per_recipient_with_an_address(smtp_server):
    port, collected = smtp_server
    notice = _notice()
    recipients = [
        Recipient(name="Ann Approver", email="ann@example.test"),
        Recipient(name="Nomail Nick"),
        Recipient(name="Bob Boss", email="bob@example.test"),
    ]

    SmtpNotifier("127.0.0.1", port, SENDER, timeout_s=5).send(notice, recipients)

    assert [e.rcpt_tos for e in collected.envelopes] == [["ann@example.test"],
                                                         ["bob@example.test"]]
    for envelope, who in zip(collected.envelopes, ("Ann Approver", "Bob Boss"), strict=True):
        message = _parsed(envelope)
        assert envelope.mail_from == SENDER
        assert message["From"] == SENDER
        assert message["To"].addresses[0].display_name == who
        assert message["To"].addresses[0].addr_spec == envelope.rcpt_tos[0]
        assert message["Subject"] == (
            "[Proctor] approval requested: acme.release_payment (amount_over_approval_limit)"
        )
        body = _text(message)
        assert notice.summary in body
        assert "amount_over_approval_limit" in body
        assert "robot:invoice-flow" in body and "finance" in body
        assert "2030-01-02 03:04:05 UTC" in body
        assert "sign in" in body
        urls = URL.findall(body)
        assert urls == [notice.url]
        assert all(url == notice.url for url in urls)
        for action in ("approve?", "/approve", "/reject", "reject?", "vote", "token="):
            assert all(action not in url for url in urls)
        assert "token" not in body.lower()


def test_smtp_headers_resist_injection(smtp_server):
    port, collected = smtp_server
    evil = "\r\nBcc: evil@x"
    notice = _notice(action_kind=f"acme.release_payment{evil}",
                     summary=f"acme.release_payment INV-1003{evil}",
                     reasons=[f"amount_over_approval_limit{evil}"],
                     requested_by=f"robot{evil}", group=f"finance{evil}")
    recipients = [Recipient(name=f"Ann{evil}", email="ann@example.test")]

    SmtpNotifier("127.0.0.1", port, SENDER, timeout_s=5).send(notice, recipients)

    (envelope,) = collected.envelopes
    assert envelope.rcpt_tos == ["ann@example.test"]
    message = _parsed(envelope)
    assert message["Bcc"] is None
    assert not any(line.lower().startswith("bcc:") for line in _header_lines(envelope.content))
    assert "\r" not in message["Subject"] and "\n" not in message["Subject"]
    assert message["Subject"].startswith("[Proctor] approval requested: acme.release_payment ")
    body = _text(message)
    assert not any(line.lower().startswith("bcc:") for line in body.splitlines())
    assert URL.findall(body) == [notice.url]


def test_smtp_refuses_a_sender_that_is_not_one_address():
    with pytest.raises(ValueError):
        SmtpNotifier("127.0.0.1", 25, "a@x.test, b@x.test")


def test_smtp_bad_address_is_reported_after_the_others_are_delivered(smtp_server):
    port, collected = smtp_server
    recipients = [Recipient(name="Bad", email="not an address"),
                  Recipient(name="Ann", email="ann@example.test")]

    with pytest.raises(NotificationError, match="Bad: invalid address"):
        SmtpNotifier("127.0.0.1", port, SENDER, timeout_s=5).send(_notice(), recipients)

    assert [e.rcpt_tos for e in collected.envelopes] == [["ann@example.test"]]


def test_resolution_notices_say_nothing_is_left_to_do(smtp_server):
    port, collected = smtp_server
    SmtpNotifier("127.0.0.1", port, SENDER, timeout_s=5).send(
        _notice(kind="approved"), [Recipient(name="Ann", email="ann@example.test")]
    )
    message = _parsed(collected.envelopes[0])
    assert message["Subject"].startswith("[Proctor] request approved: acme.release_payment")
    assert "Nothing is left to do" in _text(message)


def test_a_naive_expiry_is_taken_as_utc():
    notice = _notice(expires_at=datetime(2030, 1, 2, 3, 4, 5))
    assert notice.expires_at == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize("url", [
    "http://review.example.test/requests/req-42/approve",
    "http://review.example.test/requests/req-42?action=x&token=abc",
    "http://review.example.test/requests/req-42?approve=1",
    "http://review.example.test/vote/req-42",
    "http://user:pw@review.example.test/requests/req-42",
    "javascript:alert(1)",
    "/requests/req-42",
    "http://review.example.test/requests/req-42\r\nBcc: evil@x",
])
def test_notice_refuses_anything_but_a_view_url(url):
    with pytest.raises(ValueError):
        _notice(url=url)


# --- webhook --------------------------------------------------------------------------------


def test_webhook_posts_signed_json(hook_server):
    url, server = hook_server(204)
    notice = _notice(kind="escalated")

    WebhookNotifier(url, HOOK_SECRET, timeout_s=5).send(notice, [])

    ((method, path, headers, raw),) = server.calls
    assert method == "POST" and path == "/hooks/proctor"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Proctor-Event"] == "escalated"
    expected = "sha256=" + hmac.new(HOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Proctor-Signature"], expected)
    wrong = "sha256=" + hmac.new(b"other", raw, hashlib.sha256).hexdigest()
    assert headers["X-Proctor-Signature"] != wrong
    assert json.loads(raw) == {
        "kind": "escalated",
        "request_id": "req-42",
        "action_kind": "acme.release_payment",
        "summary": "acme.release_payment INV-1003 48500.00 EUR",
        "reasons": ["amount_over_approval_limit"],
        "group": "finance",
        "requested_by": "robot:invoice-flow",
        "expires_at": "2030-01-02T03:04:05Z",
        "url": VIEW_URL,
    }
    assert HOOK_SECRET.encode() not in raw


def test_webhook_error_status_raises_naming_url_and_status(hook_server):
    url, server = hook_server(500)

    with pytest.raises(NotificationError) as caught:
        WebhookNotifier(url, HOOK_SECRET, timeout_s=5).send(_notice(), [])

    assert url in str(caught.value) and "500" in str(caught.value)
    assert len(server.calls) == 1


def test_webhook_needs_a_secret():
    with pytest.raises(ValueError):
        WebhookNotifier("http://127.0.0.1:1/hook", "")


# --- fan-out --------------------------------------------------------------------------------


def test_one_failing_notifier_is_reported_and_the_others_still_deliver(hook_server, caplog):
    url, server = hook_server(200)
    dead_port = _free_port()  # nothing listens there any more
    smtp = SmtpNotifier("127.0.0.1", dead_port, SENDER, username="proctor",
                        password=SMTP_PASSWORD, timeout_s=5)
    notifications = Notifications(
        [smtp, WebhookNotifier(url, HOOK_SECRET, timeout_s=5)],
        directory=lambda group: [Recipient(name="Ann", email=f"ann@{group}.test")],
    )

    with caplog.at_level(logging.WARNING, logger="governance.notify.notices"):
        failures = notifications.notify(_notice())

    assert len(failures) == 1
    assert f"smtp://127.0.0.1:{dead_port}" in failures[0]
    assert len(server.calls) == 1
    assert f"smtp://127.0.0.1:{dead_port}" in caplog.text
    for secret in (SMTP_PASSWORD, HOOK_SECRET):
        assert secret not in caplog.text and secret not in failures[0]


def test_webhook_failure_through_notifications_is_an_entry_not_an_exception(hook_server,
                                                                             smtp_server):
    url, _ = hook_server(500)
    port, collected = smtp_server
    looked_up: list[str] = []

    def directory(group: str) -> list[Recipient]:
        looked_up.append(group)
        return [Recipient(name="Ann", email="ann@example.test")]

    notifications = Notifications(
        [WebhookNotifier(url, HOOK_SECRET, timeout_s=5),
         SmtpNotifier("127.0.0.1", port, SENDER, timeout_s=5)],
        directory,
    )

    failures = notifications.notify(_notice())

    assert looked_up == ["finance"]
    assert len(failures) == 1 and url in failures[0] and "500" in failures[0]
    assert len(collected.envelopes) == 1


def test_a_failing_directory_is_reported_and_recipientless_notifiers_still_run(hook_server):
    url, server = hook_server(200)

    def directory(group: str) -> list[Recipient]:
        raise LookupError(f"no such group {group}")

    failures = Notifications([WebhookNotifier(url, HOOK_SECRET)], directory).notify(_notice())

    assert failures == ["directory: LookupError: no such group finance"]
    assert len(server.calls) == 1
