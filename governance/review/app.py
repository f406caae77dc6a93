"""The review service: the web UI, the REST API, and the sweeper that applies expiry and
escalation, in one ASGI app (`proctor serve`).

    app = create_app(governance)            # for uvicorn
    with serving(governance) as url: ...    # in a background thread (tests, demo)

Where things are: the routes, one module per resource, in `governance.review.api` (/api) and
`governance.review.web` (pages); who the caller is and what they must prove in
`governance.review.deps`; the cross-site guard, security headers and error pages in
`governance.review.security`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException

from governance.review import api, security, web
from governance.review.metrics import LedgerMetrics
from governance.review.server import running
from governance.review.sessions import WebSessions
from governance.services import Governance

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def create_app(governance: Governance, *, sweep: bool = True) -> FastAPI:
    """The review service over one wired `Governance`; `sweep` runs expiry and escalation
    in the background while the app is up."""
    settings = governance.settings.review
    app = FastAPI(title="Proctor", summary="Review queue, ledger and administration API",
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
                  lifespan=_lifespan(governance, sweep))
    # What the routes' dependencies read (governance.review.deps).
    app.state.governance = governance
    app.state.sessions = WebSessions(governance.engine, idle_timeout_s=settings.idle_timeout_s,
                                     absolute_timeout_s=settings.absolute_timeout_s)
    app.middleware("http")(security.guard)
    app.add_exception_handler(StarletteHTTPException, security.errors)  # type: ignore[arg-type]

    metrics = LedgerMetrics(governance.reader, governance.engine)

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        """Prometheus text format: counts and ages only, nothing secret
        (governance.review.metrics)."""
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    for router in (*api.ROUTERS, *web.ROUTERS):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


@contextmanager
def serving(governance: Governance, host: str = "127.0.0.1", port: int = 0,
            *, sweep: bool = True) -> Iterator[str]:
    """Run the review service in a background thread; yields its base URL (port 0: any free
    port). For tests, benchmarks and the demo; `proctor serve` runs it in the foreground."""
    with running(create_app(governance, sweep=sweep), host, port) as url:
        yield url


def _lifespan(governance: Governance,
              sweep: bool) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """While the app is up, a thread applies expiry and escalation every `sweep_interval_s`
    (when `sweep`)."""

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

    return lifespan


def _sweep(governance: Governance, stop: threading.Event) -> None:
    while not stop.wait(governance.settings.review.sweep_interval_s):
        try:
            governance.approvals.sweep()
        except Exception as exc:  # keep sweeping; the next round retries
            log.warning("approvals sweep failed: %s", exc)
