"""The policy port over HTTP: an OPA server (or any endpoint speaking OPA's Data API) reached
with `opa-python-client`. For many workers that share one policy deployment.

    engine = OpaEngine("http://opa.internal:8181", timeout_ms=250)
    engine.decide({"action": {...}, "context": {...}})   # Decision, with OPA's decision_id

Fail closed: a refused connection, an HTTP error, a timeout, an undefined or malformed result
is a deny that names the problem. The policy revision is the one OPA reports as provenance
(the bundle revision), else the endpoint's URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from opa_client.opa import OpaClient

from governance.models import Decision
from governance.policy.port import decision_from

PACKAGE, RULE = "proctor", "decision"


class OpaEngine:
    """Decides by asking an OPA server for `data.proctor.decision`."""

    def __init__(self, url: str, *, timeout_ms: float = 250) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the OPA URL {url!r} must look like http://host:8181")
        self.url = url.rstrip("/")
        self._client = OpaClient(host=parts.hostname, port=parts.port or 8181,
                                 ssl=parts.scheme == "https", retries=0,
                                 timeout=timeout_ms / 1000)
        self._revision = f"opa:{self.url}"

    @property
    def revision(self) -> str:
        return self._revision

    def decide(self, policy_input: dict[str, Any]) -> Decision:
        try:
            answer = self._client.query_rule(policy_input, PACKAGE, RULE,
                                             query_params={"provenance": True})
        except Exception as exc:  # refused, timed out, 4xx/5xx: no answer is a deny
            return Decision.deny(f"policy_error: OPA at {self.url}: "
                                 f"{type(exc).__name__}: {exc}", self._revision)
        self._revision = _revision(answer) or self._revision
        return decision_from(answer.get("result"), self._revision, f"data.{PACKAGE}.{RULE}",
                             decision_id=answer.get("decision_id"))

    def close(self) -> None:
        self._client.close_connection()


def _revision(answer: dict[str, Any]) -> str | None:
    bundles = (answer.get("provenance") or {}).get("bundles") or {}
    revisions = sorted(str(b.get("revision")) for b in bundles.values() if b.get("revision"))
    return ",".join(revisions) or None
