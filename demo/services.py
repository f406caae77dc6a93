"""Start and stop the real services the demo and the end-to-end tests need, as processes:
a Prefect server (on SQLite) and the Acme Payables app."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class ServiceError(RuntimeError):
    """A service did not come up; the message points at its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prefect_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    """Environment for Prefect processes: a private home, no analytics (no network here)."""
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_LOGGING_LEVEL": os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING")}
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def demo_env(workdir: Path, api: str, acme: str) -> dict[str, str]:
    """Environment for every process of the demo: one ledger, one app, one Prefect server.
    The keys are made here, once, before any of those processes could race to make them."""
    from audit.keys import load_or_create_signing_key
    from audit.redaction import load_or_create_key

    keys = workdir / "keys"
    load_or_create_signing_key(keys / "ledger-ed25519.pem")
    load_or_create_key(keys / "redaction.key")
    return {**prefect_env(workdir / "prefect", api),
            "PROCTOR_LEDGER_URL": f"sqlite:///{workdir / 'proctor.db'}",
            "PROCTOR_LEDGER_SIGNING_KEY": str(keys / "ledger-ed25519.pem"),
            "PROCTOR_LEDGER_CHECKPOINT_DIR": str(workdir / "checkpoints"),
            "PROCTOR_LEDGER_REDACTION_KEY": str(keys / "redaction.key"),
            "PROCTOR_EVIDENCE_DIR": str(workdir / "screens"),
            # the document inbox's index and examples start empty with the demo's ledger
            "PROCTOR_DOCUMENTS_DIR": str(workdir / "documents"),
            "PROCTOR_ACME_URL": acme, "PROCTOR_USER": "alice"}


@contextmanager
def prefect_server(home: Path, port: int | None = None, timeout_s: float = 90) -> Iterator[str]:
    """A local Prefect server on SQLite under `home`; yields its API URL."""
    port = port or free_port()
    home.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
               "--port", str(port)]
    with _process(command, prefect_env(home), home / "server.log"):
        api = f"http://127.0.0.1:{port}/api"
        _wait_http(f"{api}/health", timeout_s, home / "server.log")
        yield api


@contextmanager
def review_service(env: dict[str, str], log: Path, port: int | None = None,
                   timeout_s: float = 30) -> Iterator[str]:
    """`proctor serve`: the review UI and REST API over the demo's ledger; yields its URL."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "proctor.cli", "serve", "--port", str(port)]
    with _process(command, {**env, "PROCTOR_REVIEW_BASE_URL": url}, log):
        _wait_http(f"{url}/api/health", timeout_s, log)
        yield url


@contextmanager
def acme_app(db: Path, port: int | None = None, *, reset: bool = True, layout: str = "classic",
             slow_ms: int = 0, save_reply_ms: int = 0, timeout_s: float = 30,
             ) -> Iterator[str]:
    """The Acme Payables demo app on its own SQLite file; yields its base URL."""
    port = port or free_port()
    log = db.with_suffix(".log")
    command = [sys.executable, "-m", "demo.acme", "--host", "127.0.0.1", "--port", str(port),
               "--db", str(db), "--layout", layout, "--slow-ms", str(slow_ms),
               "--save-reply-ms", str(save_reply_ms)]
    if reset:
        command.append("--reset")
    with _process(command, dict(os.environ), log):
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/login", timeout_s, log)
        yield url


@contextmanager
def _process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   cwd=Path(__file__).resolve().parent.parent,
                                   start_new_session=True)
    try:
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_http(url: str, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    raise ServiceError(f"{url} did not answer within {timeout_s:.0f} s; log {log}:\n{tail}")
