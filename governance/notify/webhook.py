"""Webhook notices: `WebhookNotifier` POSTs the notice as JSON, signed with HMAC-SHA256.

The receiver checks `X-Proctor-Signature` ("sha256=" and the hex HMAC of the raw body under the
shared secret) before it trusts the body; `X-Proctor-Event` names the notice's kind.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from governance.notify.notices import Notice, NotificationError, Recipient, reveal


def _payload_of(notice: Notice) -> bytes:
    """The webhook body: compact JSON of the notice, keys sorted, UTF-8."""
    data = notice.model_dump(mode="json")
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _sign(secret: bytes, body: bytes) -> str:
    """The X-Proctor-Signature value: "sha256=" and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookNotifier:
    """POSTs the notice as JSON, signed with HMAC-SHA256 over the raw body."""

    def __init__(self, url: str, secret: SecretStr | str, *, timeout_s: float = 10) -> None:
        key = reveal(secret)
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
