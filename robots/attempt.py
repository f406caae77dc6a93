"""One attempt at a business transaction in the browser: a fresh context and page, a Playwright
trace kept only if the attempt fails, and a window that keeps secrets out of every recording.

    with pool.attempt("enter invoice 4711") as attempt:    # see robots.browser.BrowserPool
        attempt.goto(url + "/login")
        form = attempt.form({"Username": "clerk", "Password": secrets.get("acme/password")},
                            submit="Log in")
        form.fill()
        with attempt.expect_navigation():                   # the app's answer, 5xx checked
            form.submit()
        outcome = attempt.submit(gate, action, perform=lambda a: ...)

Playwright traces record every typed value and every input's value in their DOM snapshots, and
Playwright does not redact them. So tracing is stopped (its part saved) before a secret is typed,
and started again only once no page of the context holds the secret any more (not in an input,
the HTML, or the URL); an attempt whose secret never leaves the page is not traced after it.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.sync_api import BrowserContext, Page, Response
from playwright.sync_api import Error as PlaywrightError

from governance.errors import ApplicationError
from governance.models import Action, Outcome
from robots.forms import DEFAULT_TIMEOUT_MS, FieldValue, Form, find_form
from robots.forms import click as click_button

if TYPE_CHECKING:
    from governance.gate import Gate

log = logging.getLogger(__name__)

# Does any input, the HTML or the URL of this frame hold one of the given strings?
_HOLDS_JS = """(secrets) => {
  const values = Array.from(document.querySelectorAll('input, textarea, select'))
    .map((e) => e.value || '');
  const hay = [location.href, document.documentElement.outerHTML, ...values];
  return secrets.some((s) => hay.some((h) => h.includes(s)));
}"""


class Attempt:
    """The browser state of one try at a business transaction. Made by `BrowserPool.attempt`;
    use `page` freely for reading, `form`/`click`/`goto` for the toolkit's checked steps, and
    `submit` to send a side effect through the Gate."""

    def __init__(self, name: str, context: BrowserContext, page: Page, *,
                 trace_dir: Path | None, timeout_ms: float) -> None:
        self.name = name
        self.context = context
        self.page = page
        self.timeout_ms = timeout_ms
        self.failed = False
        self.failure: str | None = None
        self.trace_paths: list[Path] = []
        self._trace_dir = trace_dir
        self._parts: list[Path] = []
        self._tracing = False
        self._held: set[str] = set()
        self._stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}-{_slug(name)}"

    @classmethod
    def open(cls, name: str, context: BrowserContext, *, trace_dir: Path | None,
             timeout_ms: float) -> Attempt:
        """Start tracing `context` (when `trace_dir` is set), then open its page."""
        if trace_dir is not None:
            context.tracing.start(screenshots=True, snapshots=True, title=name)
        attempt = cls(name, context, context.new_page(), trace_dir=trace_dir,
                      timeout_ms=timeout_ms)
        attempt._tracing = trace_dir is not None
        return attempt

    # --- steps ------------------------------------------------------------------------------

    def goto(self, url: str, *, wait_until: str = "load") -> Response | None:
        """Open `url`; an unreachable app or a 5xx answer is an `ApplicationError`."""
        try:
            response = self.page.goto(url, wait_until=wait_until)  # type: ignore[arg-type]
        except PlaywrightError as exc:
            raise ApplicationError(f"{url} did not load: {_first_line(exc)}") from None
        if response is not None and response.status >= 500:
            raise ApplicationError(f"{url} answered {response.status}: the app failed, retry")
        self.resume_tracing()
        return response

    def form(self, values: Mapping[Any, FieldValue], *, submit: str | Sequence[str] | None = None,
             within: str | None = None, timeout_ms: float | None = None,
             labels_only: bool = False) -> Form:
        """Find a form (and its `submit` button) by meaning on this attempt's page; see
        `robots.forms.find_form`. `Form.submit()` clicks the button."""
        self.resume_tracing()
        return find_form(self.page, values, submit=submit, within=within, guard=self,
                         timeout_ms=timeout_ms or min(self.timeout_ms, DEFAULT_TIMEOUT_MS),
                         labels_only=labels_only)

    def click(self, *names: str, within: str | None = None,
              timeout_ms: float | None = None) -> None:
        """Click the one button called by any of `names` (see `robots.forms.find_button`)."""
        click_button(self.page, *names, within=within,
                     timeout_ms=timeout_ms or min(self.timeout_ms, DEFAULT_TIMEOUT_MS))
        self.resume_tracing()

    @contextmanager
    def expect_navigation(self) -> Iterator[None]:
        """The block leads to another page (a form posted, a link followed): wait until it has
        loaded. A 5xx answer is an `ApplicationError`: the app failed, and whether it did what
        was asked is unknown (the Gate reconciles before any retry)."""
        with self.page.expect_navigation() as navigation:
            yield
        response = navigation.value
        if response is not None and response.status >= 500:
            raise ApplicationError(f"{self.page.url} answered {response.status}: the app failed; "
                                   "whether it did what was asked is unknown")
        self.resume_tracing()

    def submit(self, gate: Gate, action: Action, perform: Any, *, reconcile: Any = None,
               preview: Any = None, harmless: bool = False) -> Outcome:
        """`gate.submit(...)`, noting a failed outcome so the trace is kept. `harmless` steps
        (signing in to read what the policy needs) run in plan mode too, if the policy allows.
        """
        extra = {"harmless": True} if harmless else {}
        outcome = gate.submit(action, perform, reconcile=reconcile, preview=preview, **extra)
        if outcome.status == "failed":
            self.mark_failed(outcome.message)
        return outcome

    def mark_failed(self, reason: str) -> None:
        """Keep this attempt's trace: it went wrong even though nothing was raised."""
        self.failed = True
        self.failure = self.failure or reason

    # --- secrets and tracing ------------------------------------------------------------------

    @contextmanager
    def holding_secrets(self, values: Sequence[str]) -> Iterator[None]:
        """Stop tracing (keeping what was recorded) before secrets are typed in the block."""
        self._held.update(v for v in values if v)
        if self._tracing:
            self._stop_part(keep=True)
        yield

    def resume_tracing(self) -> bool:
        """Trace again if tracing was stopped for secrets and no page holds them any more."""
        if not self._held or self._trace_dir is None:
            return self._tracing
        secrets = sorted(self._held)
        for page in self.context.pages:
            for frame in page.frames:
                try:
                    if frame.evaluate(_HOLDS_JS, secrets):
                        return False
                except PlaywrightError:
                    return False  # a frame we cannot read might hold one: stay dark
        self._held.clear()
        self._start()
        return True

    def _start(self) -> None:
        if self._trace_dir is None:
            return
        self.context.tracing.start(screenshots=True, snapshots=True, title=self.name)
        self._tracing = True

    def _stop_part(self, *, keep: bool) -> None:
        self._tracing = False
        if keep and self._trace_dir is not None:
            path = self._trace_dir / "parts" / f"{self._stamp}-{len(self._parts) + 1}.zip"
            path.parent.mkdir(parents=True, exist_ok=True)
            self.context.tracing.stop(path=path)
            self._parts.append(path)
        else:
            self.context.tracing.stop()

    def _finish(self) -> None:
        """End tracing; keep the trace parts only if the attempt failed."""
        try:
            if self._tracing:
                self._stop_part(keep=self.failed)
        except PlaywrightError as exc:
            log.warning("trace of %r could not be saved: %s", self.name, _first_line(exc))
        if self.failed:
            assert self._trace_dir is not None or not self._parts
            for part in self._parts:
                kept = self._trace_dir / part.name  # type: ignore[operator]
                shutil.move(part, kept)
                self.trace_paths.append(kept)
            if self.trace_paths:
                log.info("attempt %r failed (%s); trace kept: %s", self.name, self.failure,
                         ", ".join(str(p) for p in self.trace_paths))
        else:
            for part in self._parts:
                part.unlink(missing_ok=True)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:60] or "attempt"


def _first_line(exc: PlaywrightError) -> str:
    return (exc.message or str(exc)).splitlines()[0]
