"""Reading what a page says, by what a person reads: table rows by their column headers, and the
app's answer to the last request (a confirmation, or its error messages).

    row = find_row(attempt.page, {"Invoice number": "INV-4711", "Vendor": "Initech GmbH"})
    if row is not None:
        row["Status"]                                  # 'entered', under the 'Status' header
        attempt.click("open", within=row.selector)    # a link in that row
    confirm(attempt.page, "Invoice INV-4711 saved", Messages(".flash", ".error"), app="Acme")

A table the robot was told about but cannot find (no table has the columns named) is a
`ColumnNotFound`, never "no such row": a robot that reconciles by looking for its earlier work
must not take a changed page for "it did not happen". Headers compare like field names (case,
spacing, a trailing ':' do not matter); cell values compare exactly, surrounding spaces aside.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from governance.errors import ApplicationError, BusinessRuleError
from robots.forms import DEFAULT_TIMEOUT_MS, FormError, normalize

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


@dataclass(frozen=True)
class Messages:
    """Where an app shows its answer to the last request: CSS selectors of its confirmations
    and of its error messages. The defaults are the ARIA roles accessible apps use; a legacy
    app that marks them otherwise says so in its robot's app declaration."""

    confirmation: str = "[role=status]"
    error: str = "[role=alert]"


def errors(page: Page, messages: Messages) -> list[str]:
    """The error messages the page shows, in page order."""
    texts = page.locator(messages.error).all_inner_texts()
    return [t.strip() for t in texts if t.strip()]


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
