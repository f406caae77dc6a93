"""What the review service does around every request, before any route sees it: refuse
cross-site requests (Fetch metadata, Origin) and record the refusal in the ledger; add the
security headers to every response; render errors of the pages as HTML (the API keeps JSON).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from governance.review.deps import record_refusal

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


async def guard(request: Request,
                call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """HTTP middleware: refuse cross-site requests (403, recorded), then add the headers."""
    why = cross_site(request)
    if why is not None:
        record_refusal(request, "anonymous", why)
        response: Response = JSONResponse({"detail": why}, status_code=403)
    else:
        response = await call_next(request)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.url.scheme == "https":
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


def cross_site(request: Request) -> str | None:
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


async def errors(request: Request, exc: StarletteHTTPException) -> Response:
    """Exception handler: JSON under /api/, a short HTML page (with a way back) elsewhere."""
    if request.url.path.startswith("/api/"):
        return await http_exception_handler(request, exc)
    return HTMLResponse(f"<!doctype html><title>{exc.status_code}</title>"
                        f"<p>{_escape(str(exc.detail))}</p><p><a href='/queue'>Queue</a></p>",
                        status_code=exc.status_code)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
