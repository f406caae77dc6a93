"""Secrets: where they come from, and proof by canaries that none reaches a trace, a DOM snapshot,
a screenshot, the evidence HTML, the ledger or a log, while the app does receive them."""

from __future__ import annotations

import base64
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from pydantic import SecretStr

from audit.redaction import Redactor
from governance.errors import BusinessRuleError
from governance.models import Action
from proctor.composition import Governance
from robots.attempt import Attempt
from robots.browser import BrowserPool
from robots.evidence import EvidenceStore
from robots.secrets import (
    EnvironmentSecrets,
    FileSecrets,
    SecretNotFound,
    Secrets,
    SecretsSettings,
)
from robots.settings import BrowserSettings
from tests.html_app import HtmlHandler, serving

LOGIN = """<!doctype html><title>Sign in</title><form method=post action=/login>
<p><label for=u>Username</label><input id=u name=user></p>
<p><span>Password</span><input type=password name=pw></p>
<p><span>API key</span><input type=text name=key></p>
<button>Log in</button></form>"""
HOME = """<!doctype html><title>Home</title><p>Welcome back.</p><form method=get action=/home>
<label>Search <input name=q></label></form>"""


class _App(HtmlHandler):
    received: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802
        self._send(200, LOGIN if self.path == "/login" else HOME)

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        self.received.append(dict(parse_qsl(body)))
        self.send_response(303)
        self.send_header("Location", "/home")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def app() -> Iterator[str]:
    with serving(_App) as url:
        yield url


def log_in(attempt: Attempt, app: str, governance: Governance, evidence: EvidenceStore,
           password: SecretStr, api_key: SecretStr) -> dict[str, str]:
    """A robot logging in through the Gate, with evidence before the submit."""
    attempt.goto(f"{app}/login")
    form = attempt.form({"Username": "clerk", "Password": password, "API key": api_key})
    action = Action(kind="acme.login", target="acme-payables", robot="robot:test",
                    requested_by="alice", params={"username": "clerk",
                                                  "api_key": api_key.get_secret_value()},
                    sensitive=frozenset({"api_key"}))
    shots: dict[str, str] = {}

    def perform(a: Action) -> dict[str, str]:
        form.fill()
        shots.update(evidence.capture(attempt.page, mask=form.secret_locators,
                                      secrets=[api_key.get_secret_value()]))
        with attempt.page.expect_navigation():
            attempt.click("Log in")
        return {"logged_in": "clerk"}

    assert attempt.submit(governance.gate, action, perform).status == "succeeded"
    attempt.form({"Search": "INV-4711"}).fill()  # traced again: the secrets have left the page
    return shots


def artifact_bytes(paths: list[Path]) -> dict[str, bytes]:
    """Every byte of every artifact: zip members unpacked, other files as they are."""
    out: dict[str, bytes] = {}
    for path in paths:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    out[f"{path.name}!{name}"] = archive.read(name)
        else:
            out[str(path)] = path.read_bytes()
    return out


def forms_of(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, base64.b64encode(raw), raw.hex().encode(), secret.encode("utf-16-le")]


@pytest.mark.chromium
def test_canary_secrets_reach_the_app_and_no_artifact(
        governance: Governance, app: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    evidence = EvidenceStore(tmp_path / "evidence", Redactor(None))
    password, api_key = "CanaryPw7Q2XzL9", "CanaryKey4M8WvR1"
    _App.received.clear()
    with BrowserPool(BrowserSettings(), trace_dir=tmp_path / "traces") as pool:
        with pytest.raises(BusinessRuleError), pool.attempt("log in") as attempt:
            shots = log_in(attempt, app, governance, evidence, SecretStr(password),
                           SecretStr(api_key))
            raise BusinessRuleError("the app refused the search")  # keep the trace
        # Same page, other secrets: the masked screenshot does not change, so it shows none.
        with pool.attempt("log in again") as again:
            other = log_in(again, app, governance, evidence, SecretStr("OtherPw"),
                           SecretStr("OtherKey"))
    assert _App.received[0] == {"user": "clerk", "pw": password, "key": api_key}
    assert len(attempt.trace_paths) == 2  # before the secrets, and after they left the page
    db = Path(governance.settings.ledger.url.removeprefix("sqlite:///"))
    artifacts = artifact_bytes([*attempt.trace_paths, *(tmp_path / "evidence").rglob("*.*"),
                                *db.parent.glob(db.name + "*")])
    artifacts["logs"] = caplog.text.encode()
    artifacts["output"] = "".join(capfd.readouterr()).encode()
    leaks = [(name, secret) for name, data in artifacts.items()
             for secret in (password, api_key) for form in forms_of(secret) if form in data]
    assert leaks == []
    # The search works: what was typed before and after the secret window is in the traces.
    traced = b"".join(data for name, data in artifacts.items() if "!" in name)
    assert b"clerk" in traced and b"INV-4711" in traced
    assert shots["screenshot"] == other["screenshot"]
    assert evidence.path(shots["html"]).read_bytes()  # evidence was written and scanned


def test_environment_then_files(tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "password").write_text("from-file\n")
    secrets = Secrets([EnvironmentSecrets(environ={"PROCTOR_SECRET_ACME_PASSWORD": "from-env"}),
                       FileSecrets(tmp_path)])
    assert secrets.get("acme/password").get_secret_value() == "from-env"
    files_only = Secrets([EnvironmentSecrets(environ={}), FileSecrets(tmp_path)])
    assert files_only.get("acme/password").get_secret_value() == "from-file"


def test_values_never_show_in_repr_str_or_errors(tmp_path: Path) -> None:
    secrets = Secrets([EnvironmentSecrets(environ={"PROCTOR_SECRET_API": "s3cr3t-value"})])
    value = secrets.get("api")
    assert "s3cr3t" not in f"{value!r} {value} {secrets!r} {[value]}"
    with pytest.raises(SecretNotFound) as missing:
        secrets.get("acme/password")
    assert "PROCTOR_SECRET_ACME_PASSWORD" in str(missing.value)


def test_keys_cannot_escape_the_secrets_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid secret key"):
        FileSecrets(tmp_path).lookup("../etc/passwd")


def test_settings_choose_the_providers(tmp_path: Path) -> None:
    chosen = Secrets.from_settings(SecretsSettings(dir=tmp_path, prefect_blocks=True))
    assert [type(p).__name__ for p in chosen.providers] == [
        "EnvironmentSecrets", "FileSecrets", "PrefectSecrets"]


@pytest.mark.prefect
def test_prefect_secret_blocks(prefect_api: str) -> None:
    from prefect.blocks.system import Secret

    from robots.secrets import PrefectSecrets

    Secret(value="from-prefect").save("acme-password", overwrite=True)
    secrets = Secrets([EnvironmentSecrets(environ={}), PrefectSecrets()])
    assert secrets.get("acme/password").get_secret_value() == "from-prefect"
    with pytest.raises(SecretNotFound, match="Prefect Secret block 'acme-token'"):
        secrets.get("acme/token")
