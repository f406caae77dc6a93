"""Forms described by meaning, not by ids.

An engineer says which values go into which fields, naming each field the way a clerk would (its
label, or the other names it goes by on other versions of the app). The toolkit finds every field
first, by label, ARIA name, placeholder or nearby text, and fills nothing unless each name points
at exactly one field on the page:

    form = find_form(page, {
        "Username": "clerk",
        Field("Year", "Released Date"): 1999,          # the names the field goes by
        Field(kind="date"): date(2016, 10, 3),         # the only date field on the form
        "Password": secrets.get("acme/password"),      # a SecretStr: filled outside any trace
    }, submit=("Log in", "Sign in"), guard=attempt)
    form.fill()
    form.submit()        # click, wait for the app's answer; its error message: BusinessRuleError
    form.read()          # the fields' current values by label (passwords never read)

Refusals are `FormError`s (an `ApplicationError`: the page is not the form the robot knows, so a
later attempt on a fresh page may succeed, and an engineer should look if it keeps happening):

    FormError
    ├── FieldNotFound    a name matches no field (or a button no element) on the page
    ├── AmbiguousField   a name matches more than one field or button
    └── ValueNotOffered  a select has no option with that label or value
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from pydantic import SecretStr

from governance.errors import ApplicationError
from robots._locate import ALL_PRESENT_JS, LOCATE_JS
from robots.submit import (  # filling and submitting live there; re-exported here
    DEFAULT_TIMEOUT_MS,
    Messages,
    SecretGuard,
    Submitted,
    fill_fields,
    first_line,
    press,
    submit_form,
    text_of,
)
from robots.submit import wait_until_visible as wait_until_visible

log = logging.getLogger(__name__)

FieldKind = Literal["text", "password", "textarea", "number", "select", "checkbox", "radio",
                    "date", "time", "datetime", "month", "week", "range", "color", "combobox"]
FieldValue = str | int | float | bool | date | time | datetime | SecretStr


class FormError(ApplicationError):
    """The page does not hold the form the robot was told about; nothing was filled."""

    def __init__(self, message: str, *, url: str, labels: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.url = url
        self.labels = tuple(labels)


class FieldNotFound(FormError):
    """A field or button name matched nothing on the page."""


class AmbiguousField(FormError):
    """A field or button name matched more than one element; the robot will not guess."""


class ValueNotOffered(FormError):
    """A select field offers no option with the wanted label or value."""


@dataclass(frozen=True, init=False)
class Field:
    """One field, by the names a person reads next to it and/or the kind of control it is.

    `Field("Year", "Released Date")` matches a field labelled either way; `Field(kind="date")`
    is the only date field of the form; `Field("Notes", kind="textarea")` narrows a name.
    Names compare without case, surrounding spaces, or a trailing ':' or '*'.
    """

    label: str | None
    aliases: tuple[str, ...]
    kind: FieldKind | None

    def __init__(self, label: str | None = None, *aliases: str,
                 kind: FieldKind | None = None) -> None:
        if label is None and kind is None:
            raise ValueError("a Field needs a label or a kind (e.g. Field(kind='date'))")
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "aliases", tuple(aliases))
        object.__setattr__(self, "kind", kind)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.label, *self.aliases) if n)

    def describe(self) -> str:
        if not self.names:
            return f"the {self.kind} field"
        shown = " or ".join(repr(n) for n in self.names)
        return f"{shown} ({self.kind})" if self.kind else shown


@dataclass(frozen=True)
class ResolvedField:
    """A field found on the page: its description, kind, the value for it, and the CSS selector
    of the mark `find_form` put on it (`locator` finds it again)."""

    field: Field
    kind: str
    locator: Locator
    selector: str
    value: FieldValue
    options: tuple[tuple[str, str], ...] | None = None

    @property
    def secret(self) -> bool:
        return isinstance(self.value, SecretStr)


def normalize(name: str) -> str:
    """How names compare: case, spacing and a trailing ':' or '*' do not matter."""
    return " ".join(name.split()).strip().rstrip(":* ").lstrip("* ").strip().lower()


def _spec(field: Field) -> dict[str, Any]:
    return {"names": [normalize(n) for n in field.names], "kind": field.kind}


def _as_field(key: Field | str) -> Field:
    return key if isinstance(key, Field) else Field(key)


class Form:
    """Every field of one form, found and checked before any is touched.

    Made by `find_form`; `fill()` puts the values in (secrets last, outside recordings),
    `submit()` clicks its button and waits for the app's answer (its errors raised), `read()`
    gives the fields' current values, `locator(name)` a field for masking or reading, `facts()`
    describes the form for the policy without any value.
    """

    def __init__(self, page: Page, fields: Sequence[ResolvedField], guard: SecretGuard | None,
                 button: Locator | None = None, *, messages: Messages | None = None,
                 timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
        self.page = page
        self.url = page.url
        self.fields = tuple(fields)
        self.button = button
        self.messages = messages
        self.timeout_ms = timeout_ms
        self.guard = guard

    def __iter__(self) -> Iterator[ResolvedField]:
        return iter(self.fields)

    def locator(self, name: str) -> Locator:
        """The locator of the field described by `name` (its label, an alias, or its kind)."""
        wanted = normalize(name)
        for f in self.fields:
            if wanted in {normalize(n) for n in f.field.names} or wanted == f.field.kind:
                return f.locator
        raise KeyError(f"no field {name!r} in this form: {[f.field.describe() for f in self]}")

    @property
    def secret_locators(self) -> list[Locator]:
        """Fields holding secrets: mask them in screenshots."""
        return [f.locator for f in self.fields if f.secret]

    def facts(self) -> dict[str, Any]:
        """What the policy may know about the form: where it is and which fields it has."""
        return {"page_url": self.url, "form_resolved": True,
                "fields": {f.field.label or f.kind: f.kind for f in self.fields}}

    def fill(self, *, verify: bool = True) -> None:
        """Fill every field: plain ones first, then secrets inside the guard's window.

        With `verify`, text-like fields are read back (in one round trip); one that lost its
        value (a popup stole focus, a widget reformatted) is filled once more, after
        Playwright's locator handlers have dealt with any interruption, and an error is raised
        if it still does not hold it: better no submission than a wrong one.
        """
        plain = [f for f in self.fields if not f.secret]
        secret = [f for f in self.fields if f.secret]
        fill_fields(self.page, plain, verify)
        if not secret:
            return
        values = [str(f.value.get_secret_value()) for f in secret]  # type: ignore[union-attr]
        window = self.guard.holding_secrets(values) if self.guard else nullcontext()
        with window:
            fill_fields(self.page, secret, verify)

    def read(self) -> dict[str, str | bool]:
        """The current value of each field, by its label (or kind when it has none): text as
        a string, a checkbox or radio as a bool, a select as its chosen option's label.
        Password fields and fields given a secret are never read (they are left out)."""
        readable = [f for f in self.fields if not f.secret and f.kind != "password"]
        try:
            values = self.page.evaluate(_READ_JS, [f.selector for f in readable])
        except PlaywrightError as exc:
            raise ApplicationError(f"could not read the form on {self.page.url}: "
                                   f"{first_line(exc)}") from None
        gone = [f.field.describe() for f, v in zip(readable, values, strict=True) if v is None]
        if gone:
            raise FieldNotFound(f"field {', '.join(gone)} is no longer on {self.page.url}: "
                                "the page changed since the form was found", url=self.page.url,
                                labels=gone)
        return {f.field.label or f.kind: v for f, v in zip(readable, values, strict=True)}

    def click(self) -> None:
        """Only click the submit button: the caller waits for and reads the app's answer."""
        press(self)

    def submit(self, *, timeout_ms: float | None = None,
               messages: Messages | None = None) -> Submitted:
        """Click the form's submit button (found with the fields by `find_form(submit=...)`)
        and wait for the app's answer: the new page, or a change on this one (bounded by
        `timeout_ms`). The app's error messages (by `messages`, the app's declaration; the
        form's own by default) are a `BusinessRuleError` with their text; a 5xx page is an
        `ApplicationError`. Returns a `Submitted`; inside `Attempt.expect_navigation()` it only
        clicks (see `robots.submit.submit_form`)."""
        return submit_form(self, timeout_ms=timeout_ms, messages=messages)


# The current value of each marked field (None when it is gone).
_READ_JS = """(selectors) => selectors.map((selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const type = (el.getAttribute('type') || '').toLowerCase();
  const role = (el.getAttribute('role') || '').toLowerCase();
  if (el.tagName === 'INPUT' && (type === 'checkbox' || type === 'radio')) return el.checked;
  if (['checkbox', 'switch', 'radio'].includes(role))
    return el.getAttribute('aria-checked') === 'true';
  if (el.tagName === 'SELECT')
    return Array.from(el.selectedOptions).map((o) => o.label.trim()).join(', ');
  if (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') return el.value;
  return (el.innerText || '').trim();
})"""
# Every shown field's name (its tied label, else ARIA name, placeholder, or name attribute) and
# kind: what an error message offers when a label matched nothing.
_LABELS_JS = r"""(within) => {
  const root = within ? document.querySelector(within) : document.body;
  if (!root) return [];
  const clean = (s) => (s || '').replace(/\s+/g, ' ').trim().replace(/[\s:*]+$/, '');
  const skip = new Set(['hidden', 'submit', 'button', 'reset', 'image', 'file']);
  return Array.from(root.querySelectorAll('input, select, textarea, [role=textbox], ' +
      '[role=checkbox], [role=combobox], [contenteditable=""], [contenteditable="true"]'))
    .filter((el) => !(el.tagName === 'INPUT' && skip.has(el.type)))
    .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; })
    .map((el) => {
      const label = Array.from(el.labels || []).map((l) => l.innerText).join(' ');
      const name = clean(label) || clean(el.getAttribute('aria-label')) ||
        clean(el.getAttribute('placeholder')) || clean(el.getAttribute('title')) ||
        (el.name ? 'name=' + el.name : '(no label)');
      const kind = el.tagName === 'INPUT' ? (el.type || 'text') : el.tagName.toLowerCase();
      return [name, kind];
    });
}"""


def labels_on(page: Page, within: str | None = None) -> list[tuple[str, str]]:
    """The name and kind of every shown field on `page` (inside `within`), in page order: the
    labels an engineer can declare when the toolkit's guess does not fit."""
    try:
        found = page.evaluate(_LABELS_JS, within)
    except PlaywrightError:
        return []
    return [(str(n), str(k)) for n, k in found]


def find_form(page: Page, values: Mapping[Field | str, FieldValue], *,
              submit: str | Sequence[str] | None = None, within: str | None = None,
              guard: SecretGuard | None = None, timeout_ms: float = DEFAULT_TIMEOUT_MS,
              labels_only: bool = False, messages: Messages | None = None) -> Form:
    """Find every field named in `values`, and the button named by `submit` (one name or
    several alternatives), on `page` inside the CSS scope `within`. With `labels_only`, a field
    is found only by a label tied to it (`<label>`, `aria-label`, `aria-labelledby`, as screen
    readers and Playwright's `get_by_label` read it), never by placeholder or nearby text: for
    forms where a guess costs more than a refusal.

    Waits (on the page's state, up to `timeout_ms`) until every name matches something, then
    refuses with `FieldNotFound` or `AmbiguousField` unless each matches exactly one element,
    and with `ValueNotOffered` if a select lacks a wanted option. Nothing is filled or clicked
    here. Secret values (`SecretStr`) need a `guard` (pass the attempt) so they stay out of
    traces. `messages` is how the app shows its answers (`robots.submit.Messages`), which
    `Form.submit()` reads; `timeout_ms` also bounds its wait for the answer.
    """
    pairs = [(_as_field(k), v) for k, v in values.items()]
    if guard is None and any(isinstance(v, SecretStr) for _, v in pairs):
        raise ValueError("a form with secret values needs guard=<the Attempt>, which keeps "
                         "them out of traces; use Attempt.form(...)")
    buttons = [submit] if isinstance(submit, str) else list(submit or ())
    token = uuid.uuid4().hex[:12]
    arg = {"specs": [_spec(f) for f, _ in pairs], "within": within, "token": token,
           "buttons": [{"names": [normalize(n) for n in buttons]}] if buttons else [],
           "mark": True, "labelsOnly": labels_only}
    found = _locate(page, arg, timeout_ms)
    _refuse_unless_unique(page, [f for f, _ in pairs], found["fields"], within, labels_only)
    if buttons:
        _refuse_button(page, buttons, found["buttons"][0]["count"], within)
    resolved = []
    for i, ((field, value), info) in enumerate(zip(pairs, found["fields"], strict=True)):
        options = tuple(tuple(o) for o in info["options"]) if info["options"] is not None else None
        selector = f'[data-proctor-field="{token}:{i}"]'
        resolved.append(ResolvedField(field, info["kinds"][0], page.locator(selector), selector,
                                      value, options))  # type: ignore[arg-type]
    _check_options(page, resolved)
    log.debug("form on %s: %s", page.url, [f.field.describe() for f in resolved])
    button = page.locator(f'[data-proctor-field="{token}:b0"]') if buttons else None
    return Form(page, resolved, guard, button, messages=messages, timeout_ms=timeout_ms)


def count_matches(page: Page, fields: Sequence[Field], *, within: str | None = None,
                  labels_only: bool = False) -> list[int]:
    """How many fields each of `fields` matches on `page` now (nothing marked, no waiting):
    for choosing between ways of naming a field before finding the form."""
    arg = {"specs": [_spec(f) for f in fields], "within": within, "token": "count",
           "buttons": [], "mark": False, "labelsOnly": labels_only}
    return [int(info["count"]) for info in _evaluate(page, arg)["fields"]]


def find_button(page: Page, *names: str, within: str | None = None,
                timeout_ms: float = DEFAULT_TIMEOUT_MS) -> Locator:
    """The one button (or link, or clickable text) called by any of `names`.

    Buttons and links are matched by their accessible name; only when none matches, visible
    text that looks clickable (a pointer cursor) is. Refuses like `find_form`.
    """
    if not names:
        raise ValueError("find_button needs at least one name")
    token = uuid.uuid4().hex[:12]
    arg = {"specs": [], "buttons": [{"names": [normalize(n) for n in names]}],
           "within": within, "token": token, "mark": True}
    found = _locate(page, arg, timeout_ms)
    _refuse_button(page, names, found["buttons"][0]["count"], within)
    return page.locator(f'[data-proctor-field="{token}:b0"]')


def _refuse_button(page: Page, names: Sequence[str], count: int, within: str | None) -> None:
    shown = " or ".join(repr(n) for n in names)
    if count == 0:
        raise FieldNotFound(f"no button or link {shown} on {page.url}{_scope(within)}: the page "
                            "is not the one the robot knows; nothing was filled",
                            url=page.url, labels=names)
    if count > 1:
        raise AmbiguousField(f"{count} buttons or links {shown} on {page.url}{_scope(within)}: "
                             "the robot will not guess which; nothing was filled",
                             url=page.url, labels=names)


def click(page: Page, *names: str, within: str | None = None,
          timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
    """Click the one button called by any of `names` (see `find_button`)."""
    button = find_button(page, *names, within=within, timeout_ms=timeout_ms)
    try:
        button.click()
    except PlaywrightError as exc:
        raise ApplicationError(f"clicking {names[0]!r} on {page.url} failed: "
                               f"{first_line(exc)}") from None


def _locate(page: Page, arg: dict[str, Any], timeout_ms: float) -> dict[str, Any]:
    found = _evaluate(page, arg)
    if _all_present(found):
        return found
    try:  # not all there yet: wait for the page to render them (checked every frame)
        page.wait_for_function(ALL_PRESENT_JS, arg={**arg, "mark": False}, timeout=timeout_ms)
    except PlaywrightTimeout:
        pass  # report precisely what is missing below
    except PlaywrightError as exc:
        raise ApplicationError(f"could not read the page {page.url}: {first_line(exc)}") from None
    return _evaluate(page, arg)


def _evaluate(page: Page, arg: dict[str, Any]) -> dict[str, Any]:
    try:
        found: dict[str, Any] = page.evaluate(LOCATE_JS, arg)
    except PlaywrightError as exc:
        raise ApplicationError(f"could not read the page {page.url}: {first_line(exc)}") from None
    if not found["scope"]:
        raise FieldNotFound(f"no element {arg['within']!r} on {page.url} to look for the form in",
                            url=page.url)
    return found


def _all_present(found: dict[str, Any]) -> bool:
    return all(f["count"] > 0 for f in found["fields"]) and all(
        b["count"] > 0 for b in found["buttons"])


def _scope(within: str | None) -> str:
    return f" (inside {within})" if within else ""


def _refuse_unless_unique(page: Page, fields: Sequence[Field], found: Sequence[dict[str, Any]],
                          within: str | None, labels_only: bool = False) -> None:
    missing = [f for f, info in zip(fields, found, strict=True) if info["count"] == 0]
    if missing:
        shown = ", ".join(f"labelled {f.describe()}" if f.names else f.describe()
                          for f in missing)
        tied = " (only labels tied to their field count here)" if labels_only else ""
        raise FieldNotFound(
            f"expected one field {shown} on {page.url}{_scope(within)}, found 0{tied}: the page "
            "is not the form the robot knows, so nothing was filled. If the app renamed the "
            "field, add its new label as another name: Field('Old', 'New')",
            url=page.url, labels=[f.describe() for f in missing])
    many = [(f, info) for f, info in zip(fields, found, strict=True) if info["count"] > 1]
    if many:
        shown = "; ".join(f"{f.describe()} matches {info['count']} fields "
                          f"({', '.join(info['kinds'])})" for f, info in many)
        raise AmbiguousField(
            f"{shown} on {page.url}{_scope(within)}: the robot will not guess, so nothing was "
            "filled. Name the field more precisely (another label, kind=..., or within=...)",
            url=page.url, labels=[f.describe() for f, _ in many])


def _check_options(page: Page, fields: Sequence[ResolvedField]) -> None:
    for f in fields:
        if f.kind != "select" or f.options is None:
            continue
        wanted = text_of(f.value)
        if not any(wanted in (label, value) for label, value in f.options):
            offered = ", ".join(repr(label) for label, _ in f.options[:12])
            shown = "(a secret value)" if f.secret else repr(wanted)
            raise ValueNotOffered(
                f"select {f.field.describe()} on {page.url} offers no option {shown} "
                f"(it offers {offered}); nothing was filled", url=page.url,
                labels=[f.field.describe()])
