"""Evidence of what a robot saw: screenshots (sensitive values masked) and page HTML (sensitive
values removed), kept content-addressed so the ledger needs only their SHA-256.

    store = EvidenceStore(Path(".proctor/evidence"), redactor)
    hashes = store.capture(page, secrets=["CH56..."], mask=[iban_field])
    # {"screenshot": "9f2c...", "html": "41ab..."}; store.path(hashes["html"]) reads it back

    result = submit_with_evidence(store, page, submit=lambda: ..., confirm=lambda: ...)
    # {..., "evidence": {"before_submit": {...}, "after_submit": {...}}}: into the ledger

Robots rarely call these themselves: give the pool a store (`BrowserPool(evidence=store)`) and
every governed submit (`Attempt.submit`) is captured this way; see robots.attempt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page

from audit.redaction import Redactor
from governance.errors import RobotError

MASKED = "••••"


@dataclass(frozen=True)
class Snapshot:
    """A masked screenshot and redacted HTML of a page, not yet filed."""

    png: bytes
    html: str


class EvidenceStore:
    """Files named by the SHA-256 of their bytes: a hash in the ledger proves the file."""

    def __init__(self, root: Path, redactor: Redactor) -> None:
        self.root = Path(root)
        self._redactor = redactor

    def put(self, data: bytes, suffix: str) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.root / digest[:2] / f"{digest}{suffix}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return digest

    def path(self, digest: str) -> Path:
        found = list((self.root / digest[:2]).glob(f"{digest}.*"))
        if not found:
            raise FileNotFoundError(f"no evidence with hash {digest} under {self.root}")
        return found[0]

    def capture(self, page: Page, *, secrets: Sequence[str] = (),
                mask: Sequence[Locator] = ()) -> dict[str, str]:
        """A full-page screenshot and the HTML of `page`, with `secrets`, password fields,
        IBANs and card numbers kept out of both."""
        return self.keep(self.snapshot(page, secrets=secrets, mask=mask))

    def snapshot(self, page: Page, *, secrets: Sequence[str] = (),
                 mask: Sequence[Locator] = ()) -> Snapshot:
        """What `capture` files, masked the same way, held in memory until `keep`."""
        covers = [*mask, page.locator("input[type=password]"),
                  *(page.get_by_text(s) for s in secrets if s)]
        png = page.screenshot(full_page=True, mask=covers, animations="disabled")
        html = page.content()
        for secret in secrets:
            if secret:
                html = html.replace(secret, MASKED)
        return Snapshot(png, self._redactor.text(html))

    def keep(self, snapshot: Snapshot) -> dict[str, str]:
        """File a snapshot; its hashes, as `capture` gives them."""
        return {"screenshot": self.put(snapshot.png, ".png"),
                "html": self.put(snapshot.html.encode(), ".html")}


def submit_with_evidence(store: EvidenceStore | None, page: Page, submit: Callable[[], None],
                         confirm: Callable[[], dict[str, Any]], *, secrets: Sequence[str] = (),
                         mask: Sequence[Locator] = ()) -> dict[str, Any]:
    """Submit a filled form with evidence of the page just before (fields in `mask` covered)
    and just after. The evidence comes back with `confirm()`'s result, or, when the submit or
    its confirmation fails, on the `RobotError` (`exc.evidence`), which the Gate records with
    the failure. Without a store the evidence is empty."""

    def capture(covers: Sequence[Locator]) -> dict[str, str]:
        return store.capture(page, secrets=secrets, mask=covers) if store is not None else {}

    evidence = {"before_submit": capture(mask)}
    try:
        submit()
    except RobotError as exc:
        exc.evidence = {**evidence, "after_submit": capture(())}
        raise
    evidence["after_submit"] = capture(())
    try:
        confirmation = confirm()
    except RobotError as exc:
        exc.evidence = evidence
        raise
    return {**confirmation, "evidence": evidence}
