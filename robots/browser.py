"""Chromium for robots: one browser per worker, one fresh context per attempt at a business
transaction.

`BrowserPool` is the toolkit's way in (reused browser, traced attempts, retries);
`BrowserPool.over(browser)` gives the same attempts over a Chromium the caller started with
`launch` (a flow that owns its browser). `attempt_context` is the bare building block: a clean
context with nothing of the toolkit's around it.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from governance.errors import ApplicationError, BusinessRuleError
from robots.attempt import Attempt
from robots.settings import BrowserSettings

if TYPE_CHECKING:
    from robots.evidence import EvidenceStore
    from robots.pages import Messages

log = logging.getLogger(__name__)
T = TypeVar("T")

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
    with sync_playwright() as playwright:
        browser = _start(playwright, settings)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def attempt_context(browser: Browser, timeout_ms: float) -> Iterator[BrowserContext]:
    """A clean context (no cookies, no cache) for one attempt at a business transaction."""
    context = browser.new_context()
    context.set_default_timeout(timeout_ms)
    try:
        yield context
    finally:
        context.close()


class BrowserPool:
    """One Chromium per worker, started on first use and reused; a fresh context per attempt at
    a business transaction, traced when `trace_dir` is set (traces are kept only for failed ones).

        pool = BrowserPool(settings.browser, trace_dir=Path(".proctor/traces"))
        with pool.attempt("enter invoice 4711") as attempt:
            attempt.goto(url)
        result = pool.run("enter invoice 4711", lambda a: robot.enter(a, row))  # retried
        pool.close()

    With `evidence` (an `EvidenceStore`), every governed submit of its attempts is captured
    before and after (`Attempt.submit`); without, none is: the app's evidence switch.
    `messages` is how the app shows its answers (`robots.pages.Messages`), which
    `Form.submit()` reads; the defaults fit most apps.

    Playwright's sync objects belong to the thread that made them: use a pool from the thread
    that started it (`worker_pool()` gives each process its own).
    """

    def __init__(self, settings: BrowserSettings, *, trace_dir: Path | None = None,
                 context_options: Mapping[str, Any] | None = None,
                 evidence: EvidenceStore | None = None,
                 messages: Messages | None = None) -> None:
        self.settings = settings
        self.trace_dir = Path(trace_dir) if trace_dir is not None else None
        self.evidence = evidence
        self.messages = messages
        self._context_options = dict(context_options or {})
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._owner: tuple[int, int] | None = None
        self._borrowed = False
        self.launches = 0

    @classmethod
    def over(cls, browser: Browser, *, timeout_ms: float, trace_dir: Path | None = None,
             evidence: EvidenceStore | None = None,
             messages: Messages | None = None) -> BrowserPool:
        """A pool over a Chromium the caller started (with `launch`) and will close: the same
        attempts, traces and retries; the pool never closes it, and cannot restart it.

            with launch(settings.browser) as browser:
                pool = BrowserPool.over(browser, timeout_ms=settings.browser.timeout_ms)
        """
        settings = BrowserSettings.model_construct(timeout_ms=timeout_ms)  # no environment
        pool = cls(settings, trace_dir=trace_dir, evidence=evidence, messages=messages)
        pool._browser, pool._borrowed = browser, True
        return pool

    def browser(self) -> Browser:
        """The worker's Chromium, started now if needed (again if it crashed)."""
        if self._borrowed:
            if self._browser is None or not self._browser.is_connected():
                raise BrowserUnavailable("the Chromium this pool was given has closed: start "
                                         "another with launch() and make a new pool over it")
            return self._browser
        self._check_owner()
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        self._shutdown()
        if self._playwright is None:
            self._playwright = sync_playwright().start()
            self._owner = (os.getpid(), threading.get_ident())
        self._browser = _start(self._playwright, self.settings)
        self.launches += 1
        return self._browser

    @contextmanager
    def attempt(self, name: str) -> Iterator[Attempt]:
        """A fresh context and page for one attempt at a business transaction.

        A Playwright error escaping the block becomes an `ApplicationError` (retry in a fresh
        attempt); the trace of a failed attempt is kept under `trace_dir` and named in the
        error's notes and in `Attempt.trace_paths`.
        """
        context = self.browser().new_context(**self._context_options)
        context.set_default_timeout(self.settings.timeout_ms)
        try:
            attempt = Attempt.open(name, context, trace_dir=self.trace_dir,
                                   timeout_ms=self.settings.timeout_ms,
                                   evidence=self.evidence, messages=self.messages)
        except PlaywrightError as exc:
            with suppress(PlaywrightError):
                context.close()
            raise ApplicationError(f"attempt {name!r} could not open a page: "
                                   f"{_first_line(exc)}") from exc
        try:
            yield attempt
        except PlaywrightError as exc:
            attempt.mark_failed(_first_line(exc))
            self._end(attempt, context)
            error = ApplicationError(f"attempt {name!r}: {_first_line(exc)}")
            _note_traces(error, attempt)
            raise error from exc
        except BaseException as exc:
            attempt.mark_failed(f"{type(exc).__name__}: {exc}")
            self._end(attempt, context)
            _note_traces(exc, attempt)
            raise
        else:
            self._end(attempt, context)

    def run(self, name: str, work: Callable[[Attempt], T], *, attempts: int = 3,
            backoff_s: float = 1.0, max_backoff_s: float = 30.0) -> T:
        """`work(attempt)` in a fresh attempt; retried after an `ApplicationError` (timeout,
        crash, 5xx) with exponential backoff, each time in a new context; a
        `BusinessRuleError` (the app said no) is raised at once."""
        for n in range(1, attempts + 1):
            try:
                with self.attempt(f"{name} (attempt {n})") as attempt:
                    return work(attempt)
            except BusinessRuleError:
                raise
            except ApplicationError as exc:
                if n == attempts:
                    raise
                delay = min(max_backoff_s, backoff_s * 2 ** (n - 1))
                log.warning("%s: attempt %d failed (%s); retrying in %.1fs with a fresh "
                            "context", name, n, str(exc).splitlines()[0], delay)
                time.sleep(delay)  # backoff between attempts, not a wait on a page
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close Chromium and Playwright (a later attempt starts them again)."""
        if self._owner is not None and self._owner != (os.getpid(), threading.get_ident()):
            return  # a forked child or another thread: the owner closes them
        self._shutdown()
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None
            self._owner = None

    def __enter__(self) -> BrowserPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _end(self, attempt: Attempt, context: BrowserContext) -> None:
        attempt._finish()
        with suppress(PlaywrightError):  # the browser is gone; the next attempt relaunches
            context.close()

    def _shutdown(self) -> None:
        if self._borrowed:
            return  # the caller's browser: the caller closes it
        if self._browser is not None:
            with suppress(PlaywrightError):
                self._browser.close()
            self._browser = None

    def _check_owner(self) -> None:
        if self._owner is None:
            return
        pid, thread = self._owner
        if pid != os.getpid():
            # A forked worker: the parent's driver is not ours to use. Start our own.
            self._playwright, self._browser, self._owner = None, None, None
        elif thread != threading.get_ident():
            raise RuntimeError("this BrowserPool belongs to another thread (Playwright's sync "
                               "API is bound to the thread that started it): make one pool per "
                               "thread, e.g. with worker_pool() in each worker")


_WORKER_POOLS: dict[tuple[int, int], BrowserPool] = {}


def worker_pool(settings: BrowserSettings | None = None, *, trace_dir: Path | None = None,
                evidence: EvidenceStore | None = None) -> BrowserPool:
    """This worker's (process and thread) pool, made on first call and closed at exit."""
    key = (os.getpid(), threading.get_ident())
    pool = _WORKER_POOLS.get(key)
    if pool is None:
        pool = BrowserPool(settings or BrowserSettings(), trace_dir=trace_dir,
                           evidence=evidence)
        _WORKER_POOLS[key] = pool
        atexit.register(pool.close)
    return pool


def _start(playwright: Playwright, settings: BrowserSettings) -> Browser:
    executable = settings.executable
    if executable is not None and not executable.exists():
        raise BrowserUnavailable(
            f"Chromium not found at {executable}: install it (apt-get install -y chromium) "
            "or set PROCTOR_BROWSER_EXECUTABLE"
        )
    try:
        return playwright.chromium.launch(
            executable_path=str(executable) if executable else None,
            headless=settings.headless, args=list(CHROMIUM_ARGS))
    except PlaywrightError as exc:
        raise BrowserUnavailable(f"Chromium did not start: {_first_line(exc)}") from exc


def _note_traces(exc: BaseException, attempt: Attempt) -> None:
    for path in attempt.trace_paths:
        exc.add_note(f"Playwright trace of the failed attempt: {path} "
                     f"(open with: playwright show-trace {path})")


def _first_line(exc: PlaywrightError) -> str:
    return (exc.message or str(exc)).splitlines()[0]
