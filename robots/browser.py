"""Chromium for robots: one browser per worker, one fresh context per business transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, BrowserContext, sync_playwright

from governance.settings import BrowserSettings

# Without these, Chromium phones home at start and on a closed network waits on each call.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


class BrowserUnavailable(RuntimeError):
    """Chromium could not be started."""


@contextmanager
def launch(settings: BrowserSettings) -> Iterator[Browser]:
    """Start Chromium (Debian's by default) and close it on exit."""
    executable = settings.executable
    if executable is not None and not executable.exists():
        raise BrowserUnavailable(
            f"Chromium not found at {executable}: install it (apt-get install -y chromium) "
            "or set PROCTOR_BROWSER_EXECUTABLE"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable) if executable else None,
            headless=settings.headless,
            args=list(CHROMIUM_ARGS),
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def transaction_context(browser: Browser, timeout_ms: float) -> Iterator[BrowserContext]:
    """A clean context (no cookies, no cache) for one business transaction."""
    context = browser.new_context()
    context.set_default_timeout(timeout_ms)
    try:
        yield context
    finally:
        context.close()
