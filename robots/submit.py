"""Sending a form and reading the app's answer: the half of `robots.forms` that acts.

`Form.fill()` puts the values in (`fill_fields`: each field by its kind, typed ones read back);
`Form.submit()` clicks the button and waits (`submit_form`, `submit_and_wait`) for the new page
or a change on this one, bounded, then reads the app's answer by its `Messages`: its errors are
a `BusinessRuleError`, a 5xx or a new page that never comes an `ApplicationError`. `confirm`
checks a confirmation; `wait_until_visible` waits for a widget to show up. What a submit led to
is a `Submitted`. `robots.forms` and `robots.pages` re-export the public names.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as clock
from typing import TYPE_CHECKING, Protocol

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Frame, Locator, Page, Request, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from pydantic import SecretStr

from governance.errors import ApplicationError, BusinessRuleError

if TYPE_CHECKING:
    from robots.forms import FieldValue, Form, ResolvedField

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_MS = 5_000


class SecretGuard(Protocol):
    """Keeps secrets out of recordings while they are typed (an `Attempt` is one)."""

    def holding_secrets(self, values: Sequence[str]) -> AbstractContextManager[None]:
        """Stop recording before the block runs; recording resumes only once the page no
        longer holds any of `values`."""
        ...

    def resume_tracing(self) -> bool:
        """Record again if no page holds a secret any more (called after each submit)."""
        ...


def first_line(exc: PlaywrightError) -> str:
    """A Playwright error's first line: the rest is a call log that may quote typed values."""
    return (exc.message or str(exc)).splitlines()[0]


# --- filling ------------------------------------------------------------------------------

_TYPED = {"text", "password", "textarea", "number", "combobox"}
# Indexes of the fields (by their marks) whose value is not what was typed.
_MISMATCHED_JS = """(pairs) => pairs.flatMap(([i, selector, wanted]) => {
  const el = document.querySelector(selector);
  if (!el) return [i];
  const value = el.matches('input, textarea, select') ? el.value : el.textContent;
  return value === wanted ? [] : [i];
})"""


def fill_fields(page: Page, fields: Sequence[ResolvedField], verify: bool) -> None:
    """Fill `fields`; with `verify`, read the typed ones back and fill a lost one once more
    (an `ApplicationError` if it still does not hold its value; see `Form.fill`)."""
    for f in fields:
        _fill_one(f)
    typed = [f for f in fields if verify and f.kind in _TYPED]
    if not typed:
        return
    for attempt in (1, 2):
        pairs = [[i, f.selector, text_of(f.value)] for i, f in enumerate(typed)]
        lost = page.evaluate(_MISMATCHED_JS, pairs)
        if not lost:
            return
        names = ", ".join(typed[i].field.describe() for i in lost)
        if attempt == 2:
            raise ApplicationError(
                f"field {names} on {page.url} did not keep the value typed into it (a widget "
                "or popup interfered); the form was not submitted")
        log.debug("field %s did not keep its value; filling it again", names)
        for i in lost:
            _fill_one(typed[i])


def _fill_one(f: ResolvedField) -> None:
    shown = "secret" if f.secret else f.kind
    log.debug("filling %s field %s", shown, f.field.describe())
    try:
        if f.kind in ("checkbox", "radio"):
            _check(f)
        elif f.kind == "select":
            _select(f)
        else:
            f.locator.fill(text_of(f.value))
    except PlaywrightTimeout as exc:
        raise ApplicationError(
            f"field {f.field.describe()} on {f.locator.page.url} could not be filled in time "
            f"(disabled, covered or read-only?): {first_line(exc)}") from None
    except PlaywrightError as exc:
        raise ApplicationError(
            f"filling field {f.field.describe()} on {f.locator.page.url} failed: "
            f"{first_line(exc)}") from None


def _check(f: ResolvedField) -> None:
    if not isinstance(f.value, bool):
        raise TypeError(f"{f.kind} field {f.field.describe()} takes True or False, "
                        f"not {type(f.value).__name__}")
    if f.kind == "radio" and not f.value:
        raise TypeError(f"radio {f.field.describe()} cannot be unchecked: check another option")
    f.locator.set_checked(f.value)


def _select(f: ResolvedField) -> None:
    wanted = text_of(f.value)
    options = f.options or ()
    if any(label == wanted for label, _ in options):
        f.locator.select_option(label=wanted)
    else:
        f.locator.select_option(value=wanted)


def text_of(value: FieldValue) -> str:
    """How `value` is typed into a field (a date as ISO, a secret as its value)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        raise TypeError("True/False only fit checkboxes and radios")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, clock):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# --- submitting ---------------------------------------------------------------------------

def press(form: Form) -> None:
    """Click `form`'s submit button only (`Form.click`): the caller waits for the answer."""
    if form.button is None:
        raise ValueError("this form was found without submit=...: use click(page, name)")
    try:
        form.button.click()
    except PlaywrightError as exc:
        raise ApplicationError(f"clicking the submit button on {form.page.url} failed: "
                               f"{first_line(exc)}") from None
    if form.guard is not None:
        form.guard.resume_tracing()


def submit_form(form: Form, *, timeout_ms: float | None = None,
                messages: Messages | None = None) -> Submitted:
    """What `Form.submit()` does: click and wait for the answer (`submit_and_wait`), with the
    page captured before and after when the guard records evidence; only click inside
    `Attempt.expect_navigation()`, where the caller waits."""
    if form.button is None:
        raise ValueError("this form was found without submit=...: use click(page, name)")
    guard = form.guard
    bracket = getattr(guard, "submitting", None)
    with bracket(form.secret_locators) if bracket is not None else nullcontext():
        if getattr(guard, "awaiting_navigation", False):
            press(form)
            return Submitted(form.page.url, form.page, navigated=False, answered=False)
        return submit_and_wait(form.page, lambda: press(form), button=form.button,
                               messages=messages or form.messages,
                               timeout_ms=timeout_ms or form.timeout_ms)


@dataclass(frozen=True)
class Messages:
    """How an app answers a request: CSS selectors of its confirmations and of its error
    messages, and the words that make any other notice an error. The defaults fit accessible
    apps and the common frameworks; a legacy app that marks its answers otherwise says so in its
    robot's app declaration (`Messages(confirmation=".flash", error=".error")`).

    An element matching `error` that is shown and holds text is an error. A notice (an element
    matching `notice`, or `confirmation`) is one too when it holds one of `error_texts` as a
    word (case does not matter)."""

    confirmation: str = "[role=status]"
    error: str = "[role=alert], .error, .alert-danger"
    error_texts: tuple[str, ...] = ("invalid", "error", "errors", "required", "failed")
    notice: str = "[aria-live], .alert, .flash, .message, .notice, .notification, .toast"


def errors(page: Page, messages: Messages) -> list[str]:
    """The error messages the page shows, in page order."""
    texts = page.locator(messages.error).all_inner_texts()
    return [t.strip() for t in texts if t.strip()]


# The errors a page shows: visible elements matching the error selector with text, then
# notices holding one of the error words.
_ANSWER_JS = r"""
(m) => {
  const shown = (el) => {
    if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true})) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const text = (el) => (el.innerText || '').replace(/\s+/g, ' ').trim();
  const words = m.texts.map((t) => t.toLowerCase());
  const found = [];
  const add = (t) => { if (t && !found.includes(t)) found.push(t); };
  const all = (selector) => { try { return Array.from(document.querySelectorAll(selector)); }
                              catch (e) { return []; } };
  for (const el of all(m.error)) if (shown(el)) add(text(el));
  const notices = [...all(m.notice), ...all(m.confirmation)];
  for (const el of notices) {
    if (!shown(el)) continue;
    const t = text(el);
    const tokens = t.toLowerCase().split(/[^\p{L}\p{N}]+/u);
    if (words.some((w) => w.includes(' ') ? t.toLowerCase().includes(w) : tokens.includes(w)))
      add(t);
  }
  return found;
}
"""


def app_errors(page: Page, messages: Messages | None = None) -> list[str]:
    """Every error the page shows now, by `messages` (the defaults when not given): shown
    elements matching its `error` selector, then notices holding one of its `error_texts`."""
    m = messages or Messages()
    try:
        found: list[str] = page.evaluate(_ANSWER_JS, {
            "error": m.error, "notice": m.notice, "confirmation": m.confirmation,
            "texts": list(m.error_texts)})
    except PlaywrightError as exc:
        raise ApplicationError(f"could not read the page {page.url}: "
                               f"{(exc.message or str(exc)).splitlines()[0]}") from None
    return found


def confirm(page: Page, expected: str, messages: Messages, *, app: str) -> dict[str, str]:
    """`{"confirmation": <text>}` when the page confirms with a message containing `expected`.
    Otherwise the app's error messages as a `BusinessRuleError` (it refused: retrying cannot
    help), or, when it shows neither, an `ApplicationError` (the outcome is unknown)."""
    shown = " ".join(page.locator(messages.confirmation).all_inner_texts())
    if expected in shown:
        return {"confirmation": shown.strip()}
    refused = errors(page, messages)
    if refused:
        raise BusinessRuleError(f"{app} said: {'; '.join(refused)}")
    raise ApplicationError(f"no confirmation {expected!r} on {page.url}")


# Watch the page for the app's answer: a new document (no watcher on it) or, on this one, DOM
# changes that have settled (quiet for `quiet` ms, or going on for `most` ms).
_ARM_JS = """() => {
  const state = {first: 0, last: 0};
  new MutationObserver(() => {
    const now = performance.now();
    state.first = state.first || now;
    state.last = now;
  }).observe(document.documentElement, {childList: true, subtree: true, characterData: true,
    attributes: true, attributeFilter: ['class', 'style', 'hidden', 'open', 'aria-hidden',
                                        'aria-invalid', 'disabled']});
  window.__proctorAnswer = state;
}"""
_ANSWERED_JS = """([quiet, most]) => {
  const s = window.__proctorAnswer;
  if (s === undefined) return document.readyState !== 'loading';
  if (!s.first) return false;
  const now = performance.now();
  return now - s.last >= quiet || now - s.first >= most;
}"""
# Fields the browser will not send (HTML5 constraints) for the form a button submits.
_INVALID_JS = r"""(button) => {
  const form = button.form || button.closest('form');
  if (!form || form.noValidate || button.formNoValidate) return [];
  const name = (el) => {
    const label = Array.from(el.labels || []).map((l) => l.innerText).join(' ');
    return (label || el.getAttribute('aria-label') || el.getAttribute('placeholder') ||
            el.name || el.type).replace(/\s+/g, ' ').trim().replace(/[\s:*]+$/, '');
  };
  return Array.from(form.elements).filter((el) => el.willValidate && !el.checkValidity())
    .map((el) => name(el) + ': ' + el.validationMessage);
}"""


@dataclass(frozen=True)
class Submitted:
    """What a submit led to: the page and its URL once the app answered, whether that was a
    new page (`navigated`), and whether the app answered at all within the timeout
    (`answered`: False when neither a new page nor any change came)."""

    url: str
    page: Page
    navigated: bool
    answered: bool


def submit_and_wait(page: Page, click: Callable[[], None], *, button: Locator | None = None,
                    messages: Messages | None = None,
                    timeout_ms: float = DEFAULT_TIMEOUT_MS) -> Submitted:
    """`click()`, then wait for the app's answer: the new page when the click navigates (5xx:
    `ApplicationError`, the outcome is unknown, as is a new page asked for that does not come
    within `timeout_ms`), else a change on this page, bounded by `timeout_ms` (no change at all:
    `Submitted.answered` is False). Then the page's errors by `messages` are a
    `BusinessRuleError` with their text. A form the browser itself will not send (a required
    field empty) is refused before the click, as a `BusinessRuleError` naming the fields."""
    if button is not None:
        _refuse_invalid(page, button)
    navigations: list[Request] = []
    committed: list[str] = []

    def on_request(request: Request) -> None:
        if request.is_navigation_request() and request.frame == page.main_frame:
            navigations.append(request)

    def on_navigated(frame: Frame) -> None:
        if frame == page.main_frame:
            committed.append(frame.url)

    page.on("request", on_request)
    page.on("framenavigated", on_navigated)
    try:
        with suppress(PlaywrightError):
            page.evaluate(_ARM_JS)
        started = time.monotonic()
        click()
        answered = _wait(page, timeout_ms)
        left = max(1.0, timeout_ms - (time.monotonic() - started) * 1000)
        if navigations and not committed:  # a request for a new page is on its way
            with suppress(PlaywrightTimeout):
                page.wait_for_event("framenavigated", lambda f: f == page.main_frame,
                                    timeout=left)
        if committed:
            with suppress(PlaywrightTimeout):
                page.wait_for_load_state("load", timeout=left)
            answered = True
    finally:
        page.remove_listener("request", on_request)
        page.remove_listener("framenavigated", on_navigated)
    _read_answer(page, navigations, bool(committed), answered, messages, timeout_ms)
    return Submitted(page.url, page, bool(committed), answered)


def _refuse_invalid(page: Page, button: Locator) -> None:
    with suppress(PlaywrightError):
        invalid = button.evaluate(_INVALID_JS)
        if invalid:
            raise BusinessRuleError(f"the form on {page.url} was not sent: the browser "
                                    f"refuses it ({'; '.join(invalid)})")


def _read_answer(page: Page, navigations: Sequence[Request], committed: bool, answered: bool,
                 messages: Messages | None, timeout_ms: float) -> None:
    # The app's answer, once waited for: no new page that was asked for, a 5xx, or its errors.
    if navigations and not committed:
        raise ApplicationError(f"{page.url}: the app did not answer the submit within "
                               f"{timeout_ms:.0f} ms; whether it did what was asked is unknown")
    if not answered:
        log.warning("no answer on %s within %.0f ms of the submit: the page neither changed "
                    "nor was replaced", page.url, timeout_ms)
    if committed and navigations:
        response = _response(navigations[-1])
        if response is not None and response.status >= 500:
            raise ApplicationError(f"{page.url} answered {response.status}: the app failed; "
                                   "whether it did what was asked is unknown")
    refused = app_errors(page, messages)
    if refused:
        raise BusinessRuleError(f"the app refused it at {page.url}: {'; '.join(refused)}")


def _wait(page: Page, timeout_ms: float) -> bool:
    try:
        page.wait_for_function(_ANSWERED_JS, arg=[150, 1_000], timeout=timeout_ms)
    except PlaywrightTimeout:
        return False
    except PlaywrightError:  # the page went away under the check: a navigation
        return True
    return True


def _response(request: Request) -> Response | None:
    try:
        return request.response()
    except PlaywrightError:
        return None


_VISIBLE_JS = """(selector) => Array.from(document.querySelectorAll(selector)).some((el) => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
})"""


def wait_until_visible(page: Page, selector: str, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
    """Wait, checking every animation frame, until an element matching the CSS `selector` is
    shown (Playwright's own waits back off to 500 ms between checks; widgets that appear after
    a short delay, like suggestion lists, are met sooner this way)."""
    try:
        page.wait_for_function(_VISIBLE_JS, arg=selector, timeout=timeout_ms)
    except PlaywrightTimeout:
        raise ApplicationError(f"{selector!r} did not appear on {page.url} within "
                               f"{timeout_ms:.0f} ms") from None
