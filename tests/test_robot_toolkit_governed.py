"""Evidence around every governed submit, made by the toolkit for any robot: `Attempt.submit`
captures the page before the form is sent and after the app answered, sensitive values
masked, and the hashes land in the ledger; `verify=` is handed to the Gate unchanged.
Real Chromium, a real Gate and ledger, and a small app served here (not Acme)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from pydantic import SecretStr

from audit.redaction import Redactor
from governance.models import Action, Outcome
from proctor.composition import Governance
from robots.attempt import Attempt
from robots.browser import BrowserPool
from robots.evidence import EvidenceStore
from robots.settings import BrowserSettings
from tests.html_app import HtmlHandler, serving

pytestmark = pytest.mark.chromium

# A stranger's app: the toolkit knows nothing of it but what the robot below says.
FORM = """<!doctype html><title>Transfer</title><form method=post action=/transfer>
<p><label for=to>Account</label><input id=to name=account></p>
<p><label for=a>Amount</label><input id=a name=amount></p>
<p><label for=c>Card PIN</label><input id=c name=pin></p>
<button>Send</button></form>"""
RULES = """package proctor

import rego.v1

allow contains "toolkit_test" if startswith(action.kind, "toolkit.")
"""


class _App(HtmlHandler):
    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/done":
            return self._send(200, "<p role=status>Transfer booked</p>")
        self._send(200, FORM)

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        if dict(parse_qsl(body)).get("amount") == "0":
            return self._send(200, FORM.replace("<form", "<p class=error>Amount must be "
                                                "positive</p><form", 1))
        self.send_response(303)
        self.send_header("Location", "/done")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def app() -> Iterator[str]:
    with serving(_App) as url:
        yield url


@pytest.fixture
def policy_dir(policy_dir: Path) -> Path:
    (policy_dir / "toolkit_rules.rego").write_text(RULES)
    return policy_dir


def transfer(attempt: Attempt, governance: Governance, app: str, amount: str,
             **submit: Any) -> Outcome:
    """The robot under test: one governed transfer, the PIN a sensitive parameter."""
    attempt.goto(f"{app}/form")
    params = {"account": "CH93 0076 2011 6238 5295 7", "amount": amount, "pin": "7349"}
    form = attempt.form({"Account": params["account"], "Amount": amount,
                         "Card PIN": SecretStr(params["pin"])}, submit="Send")
    action = Action(kind="toolkit.transfer", target="bank", robot="robot:test",
                    requested_by="alice", params=params, sensitive=frozenset({"pin"}))

    def perform(a: Action) -> dict[str, Any]:
        form.fill()
        return {"booked_at": form.submit().url}

    return attempt.submit(governance.gate, action, perform, **submit)


def ledger(governance: Governance, kind: str) -> dict[str, Any]:
    return next(e.data() for e in governance.reader.query(action_kind="toolkit.transfer")
                if e.kind == kind)


def test_every_governed_submit_is_evidenced_in_the_ledger(governance: Governance, app: str,
                                                          tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence", Redactor(None))
    with BrowserPool(BrowserSettings(), evidence=store) as pool, \
            pool.attempt("transfer") as attempt:
        outcome = transfer(attempt, governance, app, "120.50")
    assert outcome.status == "succeeded", outcome.message
    evidence = outcome.result["evidence"]
    assert set(evidence) == {"before_submit", "after_submit"}
    assert ledger(governance, "action.succeeded")["result"]["evidence"] == evidence
    before = store.path(evidence["before_submit"]["html"]).read_text()
    after = store.path(evidence["after_submit"]["html"]).read_text()
    assert "<title>Transfer</title>" in before and "Transfer booked" in after
    assert store.path(evidence["before_submit"]["screenshot"]).read_bytes()[:4] == b"\x89PNG"
    files = b"".join(p.read_bytes() for p in (tmp_path / "evidence").rglob("*.*"))
    assert b"7349" not in files  # the sensitive PIN is in no screenshot or HTML


def test_a_refused_submit_keeps_its_evidence_with_the_failure(governance: Governance, app: str,
                                                              tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence", Redactor(None))
    with BrowserPool(BrowserSettings(), evidence=store) as pool, \
            pool.attempt("transfer nothing") as attempt:
        outcome = transfer(attempt, governance, app, "0")
    assert outcome.status == "failed" and "Amount must be positive" in outcome.message
    failed = ledger(governance, "action.failed")
    assert failed["business"] is True
    shown = store.path(failed["evidence"]["after_submit"]["html"]).read_text()
    assert "Amount must be positive" in shown


def test_evidence_is_off_without_a_store_or_when_the_robot_says_so(
        governance: Governance, app: str, tmp_path: Path) -> None:
    with BrowserPool(BrowserSettings()) as pool, pool.attempt("no store") as attempt:
        assert "evidence" not in transfer(attempt, governance, app, "1").result
    store = EvidenceStore(tmp_path / "evidence", Redactor(None))
    with BrowserPool(BrowserSettings(), evidence=store) as pool, \
            pool.attempt("switched off") as attempt:
        assert "evidence" not in transfer(attempt, governance, app, "2", evidence=False).result
    assert not (tmp_path / "evidence").exists()


class _RecordingGate:
    """Stands in for a Gate that already takes `verify=`: records what it was handed."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def submit(self, action: Action, perform: Any, reconcile: Any = None, preview: Any = None,
               **extra: Any) -> Outcome:
        self.calls.append(extra)
        return Outcome(status="succeeded", action_id=action.id, action_kind=action.kind)


def test_verify_is_handed_to_the_gate_unchanged_and_only_when_given(app: str) -> None:
    gate = _RecordingGate()
    action = Action(kind="toolkit.noop", target="bank", robot="robot:test", requested_by="alice")

    def check(a: Action) -> dict[str, Any]:
        return {}

    with BrowserPool(BrowserSettings()) as pool, pool.attempt("verify") as attempt:
        attempt.submit(gate, action, lambda a: {}, verify=check)  # type: ignore[arg-type]
        attempt.submit(gate, action, lambda a: {})  # type: ignore[arg-type]
        attempt.submit(gate, action, lambda a: {}, harmless=True)  # type: ignore[arg-type]
    assert gate.calls == [{"verify": check}, {}, {"harmless": True}]
