"""The review service: the web UI, the REST API, and the sweeper that applies expiry and
escalation, in one ASGI app (`proctor serve`).

Around every response: security headers; around every request: Fetch-metadata and Origin checks
(a state change from another site is refused before any route sees it); every refusal is
recorded in the ledger.
"""

from __future__ import annotations

import contextvars
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException

from governance.review import api, web
from governance.review.metrics import LedgerMetrics
from governance.review.sessions import WebSessions
from proctor.composition import Governance

log = logging.getLogger(__name__)
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Not no-referrer: under it Chromium sends `Origin: null` with same-site form posts, which
    # the Origin check must refuse. same-origin keeps URLs from leaving the site all the same.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cache-Control": "no-store",
}


def create_app(governance: Governance, *, sweep: bool = True) -> FastAPI:
    """The review service over one wired `Governance`; `sweep` runs expiry and escalation
    in the background while the app is up."""
    settings = governance.settings.review
    sessions = WebSessions(governance.engine, idle_timeout_s=settings.idle_timeout_s,
                           absolute_timeout_s=settings.absolute_timeout_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        sweeper = threading.Thread(target=_sweep, args=(governance, stop), daemon=True,
                                   name="approvals-sweeper")
        if sweep:
            sweeper.start()
        try:
            yield
        finally:
            stop.set()
            if sweeper.is_alive():
                sweeper.join(5)

    app = FastAPI(title="Proctor", summary="Review queue, ledger and administration API",
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    app.state.governance = governance
    app.state.sessions = sessions

    @app.middleware("http")
    async def guard(request: Request,
                    call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        why = _cross_site(request)
        if why is not None:
            governance.writer.append("access.refused", actor="anonymous", payload={
                "path": request.url.path, "method": request.method, "reason": why})
            response: Response = JSONResponse({"detail": why}, status_code=403)
        else:
            response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.scheme == "https":
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def errors(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return await http_exception_handler(request, exc)
        return HTMLResponse(f"<!doctype html><title>{exc.status_code}</title>"
                            f"<p>{_escape(str(exc.detail))}</p><p><a href='/queue'>Queue</a></p>",
                            status_code=exc.status_code)

    metrics = LedgerMetrics(governance.reader, governance.engine)

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        """Prometheus text format; counts and ages only, nothing secret (see governance.metrics)."""
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(api.router(governance, sessions))
    app.include_router(web.router(governance, sessions))
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    return app


@contextmanager
def serving(governance: Governance, host: str = "127.0.0.1", port: int = 0,
            *, sweep: bool = True) -> Iterator[str]:
    """Run the review service in a background thread; yields its base URL (port 0: any free
    port). For tests, benchmarks and the demo; `proctor serve` runs it in the foreground."""
    with running(create_app(governance, sweep=sweep), host, port) as url:
        yield url


def tcp_socket() -> socket.socket:
    """A TCP socket for a server to listen on.

    Made with an explicit IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only
    when the listening socket says it is TCP, and without it every answer written in two parts
    (headers, body) waits ~40 ms for the client's delayed ACK (Nagle's algorithm).
    """
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)


@contextmanager
def running(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve any ASGI `app` with uvicorn in a background thread; yields its base URL."""
    import uvicorn

    sock = tcp_socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    # The caller's context (e.g. Prefect's temporary settings) goes with the service's thread.
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(server.run,), kwargs={"sockets": [sock]},
                              daemon=True, name="asgi-server")
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


def _cross_site(request: Request) -> str | None:
    """Why a request from another site is refused (Fetch metadata, Origin), or None."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        navigating = (request.method == "GET" and request.headers.get("sec-fetch-mode")
                      == "navigate" and request.headers.get("sec-fetch-dest") == "document")
        if not navigating:  # a top-level link from elsewhere may open a page, nothing more
            return f"cross-site request refused (Sec-Fetch-Site: {site})"
    origin = request.headers.get("origin")
    if request.method in UNSAFE and origin is not None:
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin != own:
            return f"cross-origin state change refused (Origin: {origin})"
    return None


def _sweep(governance: Governance, stop: threading.Event) -> None:
    while not stop.wait(governance.settings.review.sweep_interval_s):
        try:
            governance.approvals.sweep()
        except Exception as exc:  # keep sweeping; the next round retries
            log.warning("approvals sweep failed: %s", exc)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
