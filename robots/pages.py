"""Reading what a page says, by what a person reads: table rows by their column headers, values
by their labels (`page_facts`, for the policy's context), and the app's answer to the last
request (a confirmation, or its error messages: those live in `robots.submit`).

    row = find_row(attempt.page, {"Invoice number": "INV-4711", "Vendor": "Initech GmbH"})
    if row is not None:
        row["Status"]                                  # 'entered', under the 'Status' header
        attempt.click("open", within=row.selector)    # a link in that row
    confirm(attempt.page, "Invoice INV-4711 saved", Messages(".flash", ".error"), app="Acme")
    page_facts(attempt.page, ["Status", "Approved by"])  # {"Status": "open", ...}

A table the robot was told about but cannot find (no table has the columns named) is a
`ColumnNotFound`, never "no such row": a robot that reconciles by looking for its earlier work
must not take a changed page for "it did not happen". Headers compare like field names (case,
spacing, a trailing ':' do not matter); cell values compare exactly, surrounding spaces aside.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from governance.errors import ApplicationError
from robots._locate import LOCATE_JS
from robots.forms import (
    DEFAULT_TIMEOUT_MS,
    AmbiguousField,
    Field,
    FieldNotFound,
    FormError,
    labels_on,
    normalize,
)
from robots.submit import (  # the app's answer to a submit: re-exported from there
    Messages,
    Submitted,
    app_errors,
    confirm,
    errors,
    submit_and_wait,
)

__all__ = ["AmbiguousRow", "ColumnNotFound", "Messages", "Submitted", "TableRow", "app_errors",
           "confirm", "errors", "find_row", "find_rows", "page_facts", "submit_and_wait"]

log = logging.getLogger(__name__)

# Rows of every table that has a header row (all <th>) holding every wanted column, whose cells
# under those columns hold the wanted values; matches are marked for locators when `mark`.
_ROWS_JS = r"""
(arg) => {
  const norm = (s) => (s || '').replace(/\s+/g, ' ').trim()
    .replace(/[\s:*]+$/, '').replace(/^[\s*]+/, '').trim().toLowerCase();
  const text = (el) => (el.innerText || '').replace(/\s+/g, ' ').trim();
  const root = arg.within ? document.querySelector(arg.within) : document.body;
  if (!root) return {scope: false, tables: 0, rows: []};
  const want = Object.entries(arg.where);
  let tables = 0;
  const rows = [];
  for (const table of root.querySelectorAll('table')) {
    const trs = Array.from(table.rows);
    const head = trs.find((r) => r.cells.length > 0 &&
      Array.from(r.cells).every((c) => c.tagName === 'TH'));
    if (!head) continue;
    const headers = Array.from(head.cells).map(text);
    const keys = headers.map(norm);
    if (!want.every(([k]) => keys.includes(k))) continue;
    tables++;
    for (const tr of trs) {
      if (tr === head || tr.cells.length !== headers.length) continue;  // e.g. "none found"
      const cells = Array.from(tr.cells).map(text);
      if (!want.every(([k, v]) => cells[keys.indexOf(k)] === v)) continue;
      if (arg.mark) tr.setAttribute('data-proctor-row', arg.token + ':' + rows.length);
      rows.push({headers, cells});
    }
  }
  return {scope: true, tables, rows};
}
"""
_HAS_TABLE_JS = "(arg) => { const r = (" + _ROWS_JS + ")(arg); return r.scope && r.tables > 0; }"


class ColumnNotFound(FormError):
    """No table on the page has the columns the robot named: not the page it knows."""


class AmbiguousRow(FormError):
    """More than one row matches where the robot expected at most one; it will not guess."""


@dataclass(frozen=True)
class TableRow:
    """One table row: its cells under their headers (as shown, in the table's order), and the
    CSS `selector` of the mark put on it (for `within=` and for `locator`)."""

    cells: Mapping[str, str]
    selector: str
    locator: Locator

    def __getitem__(self, column: str) -> str:
        wanted = normalize(column)
        for header, value in self.cells.items():
            if normalize(header) == wanted:
                return value
        raise KeyError(f"no column {column!r} in this row: {list(self.cells)}")


def find_rows(page: Page, where: Mapping[str, str], *, within: str | None = None,
              timeout_ms: float = DEFAULT_TIMEOUT_MS) -> list[TableRow]:
    """Every row, in the tables having all the columns named in `where`, whose cells hold the
    values given; `ColumnNotFound` when no such table shows up within `timeout_ms`."""
    token = uuid.uuid4().hex[:12]
    arg = {"where": {normalize(k): v.strip() for k, v in where.items()}, "within": within,
           "token": token, "mark": True}
    found = _evaluate(page, arg)
    if found["tables"] == 0:
        with suppress(PlaywrightTimeout):  # not rendered yet? wait on the page, not a sleep
            page.wait_for_function(_HAS_TABLE_JS, arg={**arg, "mark": False},
                                   timeout=timeout_ms)
        found = _evaluate(page, arg)
    if found["tables"] == 0:
        columns = ", ".join(repr(c) for c in where)
        scope = f" (inside {within})" if within else ""
        raise ColumnNotFound(f"no table with the columns {columns} on {page.url}{scope}: the "
                             "page is not the one the robot knows", url=page.url,
                             labels=list(where))
    rows = []
    for i, row in enumerate(found["rows"]):
        selector = f'[data-proctor-row="{token}:{i}"]'
        cells = dict(zip(row["headers"], row["cells"], strict=True))
        rows.append(TableRow(cells, selector, page.locator(selector)))
    return rows


def find_row(page: Page, where: Mapping[str, str], *, within: str | None = None,
             timeout_ms: float = DEFAULT_TIMEOUT_MS) -> TableRow | None:
    """The one row matching `where` (see `find_rows`), or None; `AmbiguousRow` if several do."""
    rows = find_rows(page, where, within=within, timeout_ms=timeout_ms)
    if len(rows) > 1:
        shown = ", ".join(f"{k}={v!r}" for k, v in where.items())
        raise AmbiguousRow(f"{len(rows)} rows with {shown} on {page.url}: the robot will not "
                           "guess which one is meant", url=page.url, labels=list(where))
    return rows[0] if rows else None


def _evaluate(page: Page, arg: dict[str, Any]) -> dict[str, Any]:
    try:
        found: dict[str, Any] = page.evaluate(_ROWS_JS, arg)
    except PlaywrightError as exc:
        raise ApplicationError(f"could not read the page {page.url}: "
                               f"{(exc.message or str(exc)).splitlines()[0]}") from None
    if not found["scope"]:
        raise ColumnNotFound(f"no element {arg['within']!r} on {page.url} to look for the "
                             "table in", url=page.url)
    return found


# --- facts: values by label anywhere on the page ----------------------------------------------

# For each wanted name: the value of the one control it names (found as `robots.forms` finds
# fields), or else the text shown beside a label-like element (th/td, dt/dd, "Name: value").
_FACTS_JS = r"""
(arg) => {
  const locate = (""" + LOCATE_JS + r""");
  const norm = (s) => (s || '').replace(/\s+/g, ' ').trim()
    .replace(/[\s:*]+$/, '').replace(/^[\s*]+/, '').trim().toLowerCase();
  const text = (el) => (el.innerText || el.textContent || '').replace(/\s+/g, ' ').trim();
  const root = arg.within ? document.querySelector(arg.within) : document.body;
  if (!root) return null;
  const valueOf = (el) => {
    const tag = el.tagName;
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (tag === 'INPUT' && (type === 'checkbox' || type === 'radio')) return el.checked;
    const role = (el.getAttribute('role') || '').toLowerCase();
    if (['checkbox', 'switch', 'radio'].includes(role))
      return el.getAttribute('aria-checked') === 'true';
    if (tag === 'SELECT') return Array.from(el.selectedOptions).map((o) => o.label.trim())
      .join(', ');
    if (tag === 'INPUT' || tag === 'TEXTAREA') return el.value;
    return text(el);
  };
  const ownText = (el) => norm(Array.from(el.childNodes)
    .filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.data).join(' '));
  const between = (a, b) => {
    const range = document.createRange();
    range.setStartAfter(a);
    if (b) range.setEndBefore(b); else range.setEndAfter(a.parentElement.lastChild);
    return range.toString().replace(/\s+/g, ' ').trim();
  };
  const shownNextTo = (el) => {
    if (el.tagName === 'TH' || el.tagName === 'TD') {
      const n = el.nextElementSibling;
      return n ? text(n) : null;
    }
    if (el.tagName === 'DT') {
      let n = el.nextElementSibling;
      while (n && n.tagName !== 'DD') n = n.nextElementSibling;
      return n ? text(n) : null;
    }
    const n = el.nextElementSibling;
    const loose = between(el, n);
    if (loose) return loose;
    return n ? text(n) : null;
  };
  const shownValues = (names) => {
    const values = [];
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT);
    for (let el = walk.nextNode(); el; el = walk.nextNode()) {
      if (el.closest('select, option, textarea, button, script, style, head')) continue;
      if (el.tagName === 'LABEL' && el.control) continue;
      const own = ownText(el);
      let value = null;
      if (own && names.includes(own)) value = shownNextTo(el);
      else {
        for (const n of el.childNodes) {
          if (n.nodeType !== Node.TEXT_NODE) continue;
          const raw = n.data.replace(/\s+/g, ' ').trim();
          const colon = raw.indexOf(':');
          if (colon > 0 && names.includes(norm(raw.slice(0, colon))))
            value = raw.slice(colon + 1).trim() || null;
        }
      }
      if (value !== null && value !== '' && !values.includes(value)) values.push(value);
    }
    return values;
  };
  return arg.specs.map((spec, i) => {
    const token = arg.token + '-' + i;
    const found = locate({specs: [spec], buttons: [], within: arg.within, token, mark: true,
                          labelsOnly: arg.labelsOnly}).fields[0];
    if (found.count === 1) {
      const el = document.querySelector('[data-proctor-field="' + token + ':0"]');
      el.removeAttribute('data-proctor-field');
      if (found.kinds[0] === 'password') return {count: 1, kinds: ['password'], value: null};
      return {count: 1, kinds: found.kinds, value: valueOf(el)};
    }
    if (found.count > 1 || spec.kind) return {count: found.count, kinds: found.kinds, value: null};
    const values = shownValues(spec.names);
    return {count: values.length, kinds: values.map(() => 'text'),
            value: values.length === 1 ? values[0] : null, shown: values};
  });
}
"""


def page_facts(page: Page, labels: Sequence[str | Field], *, within: str | None = None,
               labels_only: bool = False) -> dict[str, str | bool]:
    """The values shown on `page` under each label, for the policy's context: the current
    value of the one field a label names (text as a string, a checkbox as a bool, a select as
    its chosen option's label), or else the text shown next to the label (a table's `<th>`
    and its cell, `<dt>`/`<dd>`, "Status: paid").

    Keys are the labels as given (a `Field` by its first name or kind). A label that names
    nothing is a `FieldNotFound` listing the labels the page has; one that names several
    fields or values an `AmbiguousField`; a password field is never read (`FormError`)."""
    fields = [f if isinstance(f, Field) else Field(f) for f in labels]
    arg = {"specs": [{"names": [normalize(n) for n in f.names], "kind": f.kind}
                     for f in fields],
           "within": within, "token": uuid.uuid4().hex[:12], "labelsOnly": labels_only}
    try:
        found: list[dict[str, Any]] | None = page.evaluate(_FACTS_JS, arg)
    except PlaywrightError as exc:
        raise ApplicationError(f"could not read the page {page.url}: "
                               f"{(exc.message or str(exc)).splitlines()[0]}") from None
    if found is None:
        raise FieldNotFound(f"no element {within!r} on {page.url} to read facts in",
                            url=page.url)
    facts: dict[str, str | bool] = {}
    for field, info in zip(fields, found, strict=True):
        name = field.label or str(field.kind)
        if info["count"] == 0:
            shown = ", ".join(f"{n!r} ({k})" for n, k in labels_on(page, within)) or "none"
            raise FieldNotFound(
                f"no field or value labelled {field.describe()} on {page.url}{_in(within)}. "
                f"Labels of fields on the page: {shown}. Name it as the page does, or add its "
                "other names: Field('Old', 'New')", url=page.url, labels=[field.describe()])
        if info["count"] > 1:
            what = (f"values {info['shown']}" if info.get("shown")
                    else f"fields ({', '.join(info['kinds'])})")
            raise AmbiguousField(
                f"{field.describe()} on {page.url}{_in(within)} matches {info['count']} "
                f"{what}: the robot will not guess; name it more precisely (another label, "
                "kind=..., or within=...)", url=page.url, labels=[field.describe()])
        if info["kinds"] == ["password"]:
            raise FormError(f"{field.describe()} on {page.url} is a password field: passwords "
                            "are never read", url=page.url, labels=[field.describe()])
        facts[name] = info["value"]
    return facts


def _in(within: str | None) -> str:
    return f" (inside {within})" if within else ""
