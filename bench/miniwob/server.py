"""The MiniWoB++ task pages, served on loopback from the `miniwob` wheel's `html` folder.

    with serve_tasks() as base_url:          # e.g. http://127.0.0.1:40123/
        attempt.goto(base_url + "miniwob/login-user.html")
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class MiniWoBMissing(RuntimeError):
    """The `miniwob` package (which carries the task pages) is not installed."""


def html_dir() -> Path:
    """The wheel's `html` folder, found without importing `miniwob` (its Gymnasium half needs
    packages the robots do not)."""
    spec = importlib.util.find_spec("miniwob")
    if spec is None or not spec.submodule_search_locations:
        raise MiniWoBMissing("MiniWoB++ is not installed: pip install --no-deps miniwob")
    folder = Path(next(iter(spec.submodule_search_locations))) / "html"
    if not (folder / "miniwob").is_dir():
        raise MiniWoBMissing(f"{folder} holds no MiniWoB++ tasks: reinstall miniwob")
    return folder


class _Quiet(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a task page pulls half a dozen scripts

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_tasks(host: str = "127.0.0.1") -> Iterator[str]:
    """Serve the task pages from a background thread; yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(html_dir()))
    server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="miniwob-http", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
