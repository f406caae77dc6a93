"""One attempt at a business transaction in the browser: a fresh context and page, a Playwright
trace kept only if the attempt fails, a window that keeps secrets out of every recording, and
evidence around every governed submit.

    with pool.attempt("enter invoice 4711") as attempt:    # see robots.browser.BrowserPool
        attempt.goto(url + "/invoices/new")
        form = attempt.form({"Invoice number": "4711", "Amount": "120.50"}, submit="Save")

        def perform(action):
            form.fill()
            return {"saved_at": form.submit().url}          # waits; the app's error raises

        outcome = attempt.submit(gate, action, perform, reconcile=..., verify=...)

`Attempt.submit` is the toolkit's one governed-submit path: it hands the action to the Gate and,
when the attempt has an `EvidenceStore` (`BrowserPool(evidence=...)`), wraps the effect so
that the page is captured (screenshot and HTML, sensitive values masked) just before the form
is sent and once the app has answered; their hashes go into the action's result (and onto the
error of a failed one), hence into the ledger.

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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.sync_api import BrowserContext, Locator, Page, Response
from playwright.sync_api import Error as PlaywrightError

from governance.errors import ApplicationError
from governance.models import Action, Outcome
from robots.forms import DEFAULT_TIMEOUT_MS, FieldValue, Form, find_form
from robots.forms import click as click_button

if TYPE_CHECKING:
    from governance.gate import Gate
    from robots.evidence import EvidenceStore
    from robots.submit import Messages

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
                 trace_dir: Path | None, timeout_ms: float,
                 evidence: EvidenceStore | None = None,
                 messages: Messages | None = None) -> None:
        self.name = name
        self.context = context
        self.page = page
        self.timeout_ms = timeout_ms
        self.evidence = evidence
        self.messages = messages
        self.awaiting_navigation = False
        self._governed: Bracket | None = None
        self._secret_values: set[str] = set()
        self._secret_fields: list[Locator] = []
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
             timeout_ms: float, evidence: EvidenceStore | None = None,
             messages: Messages | None = None) -> Attempt:
        """Start tracing `context` (when `trace_dir` is set), then open its page."""
        if trace_dir is not None:
            context.tracing.start(screenshots=True, snapshots=True, title=name)
        attempt = cls(name, context, context.new_page(), trace_dir=trace_dir,
                      timeout_ms=timeout_ms, evidence=evidence, messages=messages)
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
        `robots.forms.find_form`. `Form.submit()` clicks the button and waits for the app's
        answer, read by this attempt's `messages` (the app's declaration)."""
        self.resume_tracing()
        form = find_form(self.page, values, submit=submit, within=within, guard=self,
                         timeout_ms=timeout_ms or min(self.timeout_ms, DEFAULT_TIMEOUT_MS),
                         labels_only=labels_only, messages=self.messages)
        self._secret_fields.extend(form.secret_locators)
        return form

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
        was asked is unknown (the Gate reconciles before any retry). Inside a governed submit
        with evidence, the page is captured before the block and after the new page."""
        outer = self.awaiting_navigation
        self.awaiting_navigation = True
        try:
            with self.submitting(), self.page.expect_navigation() as navigation:
                yield
        finally:
            self.awaiting_navigation = outer
        response = navigation.value
        if response is not None and response.status >= 500:
            raise ApplicationError(f"{self.page.url} answered {response.status}: the app failed; "
                                   "whether it did what was asked is unknown")
        self.resume_tracing()

    def submit(self, gate: Gate, action: Action, perform: Callable[[Action], dict[str, Any]],
               *, reconcile: Any = None, preview: Any = None, harmless: bool = False,
               verify: Any = None, evidence: bool = True) -> Outcome:
        """`gate.submit(...)`, noting a failed outcome so the trace is kept. `harmless` steps
        (signing in to read what the policy needs) run in plan mode too, if the policy allows;
        `verify` (read back what the app stored) is handed to the Gate as it is.

        With an `EvidenceStore` on the attempt (and `evidence` left on), the effect is wrapped:
        each `Form.submit()` or `expect_navigation()` block inside it is captured before and
        after (an effect that uses neither: at its start and end), sensitive values masked
        (the action's `sensitive` params, every secret typed in this attempt, password
        fields). The hashes are the result's `evidence` (`before_submit`, `after_submit`;
        `earlier_submits` when the effect submitted more than once), or, when the effect
        fails, the error's, which the Gate records with the failure. An effect that returns
        its own `evidence` keeps it.
        """
        extra: dict[str, Any] = {}
        if harmless:
            extra["harmless"] = True
        if verify is not None:
            extra["verify"] = verify
        effect = perform
        if evidence and self.evidence is not None:
            effect = self._with_evidence(perform, self.evidence)
        outcome = gate.submit(action, effect, reconcile=reconcile, preview=preview, **extra)
        if outcome.status == "failed" or not outcome.goes_on:  # stopped: keep the trace
            self.mark_failed(outcome.message or outcome.status)
        return outcome

    @contextmanager
    def submitting(self, mask: Sequence[Locator] = ()) -> Iterator[None]:
        """Capture the page before the block and after it (also when it fails) when a governed
        submit with evidence is under way; only the outermost block captures."""
        bracket = self._governed
        if bracket is None or bracket.depth > 0:
            yield
            return
        bracket.depth += 1
        try:
            before = self._capture(bracket, [*mask, *self._secret_fields])
            try:
                yield
            except BaseException as exc:
                bracket.add(before, self._capture(bracket, ()))
                _attach(exc, bracket.evidence())
                raise
            bracket.add(before, self._capture(bracket, ()))
        finally:
            bracket.depth -= 1

    def _with_evidence(self, perform: Callable[[Action], dict[str, Any]],
                       store: EvidenceStore) -> Callable[[Action], dict[str, Any]]:
        def governed(action: Action) -> dict[str, Any]:
            secrets = [str(action.params[k]) for k in sorted(action.sensitive)
                       if k in action.params]
            bracket = Bracket(store, secrets)
            self._governed = bracket
            try:
                start = self._snapshot(bracket)
                try:
                    result = perform(action)
                except BaseException as exc:
                    if not bracket.pairs:
                        bracket.add(start(), self._capture(bracket, ()))
                    _attach(exc, bracket.evidence())
                    raise
                if not bracket.pairs:  # the effect used no toolkit submit: its start and end
                    bracket.add(start(), self._capture(bracket, ()))
            finally:
                self._governed = None
            if not isinstance(result, dict) or "evidence" in result:
                return result
            return {**result, "evidence": bracket.evidence()}

        return governed

    def _snapshot(self, bracket: Bracket) -> Callable[[], dict[str, str]]:
        """The page now, held in memory; calling the result files it (only when used)."""
        try:
            shot = bracket.store.snapshot(self.page, secrets=self._masked(bracket),
                                          mask=self._secret_fields)
        except PlaywrightError as exc:
            failed = {"error": f"not captured: {_first_line(exc)}"}
            return lambda: failed
        return lambda: bracket.store.keep(shot)

    def _masked(self, bracket: Bracket) -> list[str]:
        return sorted({*bracket.secrets, *self._secret_values})

    def _capture(self, bracket: Bracket, mask: Sequence[Locator]) -> dict[str, str]:
        try:
            return bracket.store.capture(self.page, secrets=self._masked(bracket),
                                         mask=[*mask, *self._secret_fields])
        except PlaywrightError as exc:  # the page went away: say so, do not fail the effect
            log.warning("evidence of %r could not be captured: %s", self.name, _first_line(exc))
            return {"error": f"not captured: {_first_line(exc)}"}

    def mark_failed(self, reason: str) -> None:
        """Keep this attempt's trace: it went wrong even though nothing was raised."""
        self.failed = True
        self.failure = self.failure or reason

    # --- secrets and tracing ------------------------------------------------------------------

    @contextmanager
    def holding_secrets(self, values: Sequence[str]) -> Iterator[None]:
        """Stop tracing (keeping what was recorded) before secrets are typed in the block;
        the values are also kept out of this attempt's evidence."""
        self._held.update(v for v in values if v)
        self._secret_values.update(v for v in values if v)
        if self._tracing:
            self._stop_part(keep=True)
        yield

    @contextmanager
    def untraced(self) -> Iterator[None]:
        """Run the block outside the trace (a call whose arguments or answer hold a
        credential, such as a session's cookies), then trace again unless a secret is held."""
        was = self._tracing
        if was:
            self._stop_part(keep=True)
        try:
            yield
        finally:
            if was and not self._held:
                self._start()

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


class Bracket:
    """The evidence of one governed submit: (before, after) capture pairs, in order."""

    def __init__(self, store: EvidenceStore, secrets: Sequence[str]) -> None:
        self.store = store
        self.secrets = list(secrets)
        self.pairs: list[tuple[dict[str, str], dict[str, str]]] = []
        self.depth = 0

    def add(self, before: dict[str, str], after: dict[str, str]) -> None:
        self.pairs.append((before, after))

    def evidence(self) -> dict[str, Any]:
        """`before_submit` / `after_submit` of the last submit, earlier ones listed before."""
        if not self.pairs:
            return {}
        before, after = self.pairs[-1]
        out: dict[str, Any] = {"before_submit": before, "after_submit": after}
        if len(self.pairs) > 1:
            out["earlier_submits"] = [{"before_submit": b, "after_submit": a}
                                      for b, a in self.pairs[:-1]]
        return out


def _attach(exc: BaseException, evidence: dict[str, Any]) -> None:
    """Put `evidence` on a failing effect's error (the Gate records it) unless it has some."""
    if evidence and not getattr(exc, "evidence", None):
        with suppress(AttributeError):
            exc.evidence = evidence  # type: ignore[attr-defined]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:60] or "attempt"


def _first_line(exc: PlaywrightError) -> str:
    return (exc.message or str(exc)).splitlines()[0]
