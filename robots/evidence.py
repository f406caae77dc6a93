"""Evidence of what a robot saw: screenshots (sensitive values masked) and page HTML (sensitive
values removed), kept content-addressed so the ledger needs only their SHA-256.

    store = EvidenceStore(Path(".proctor/evidence"), redactor)
    hashes = store.capture(page, secrets=["CH56..."], mask=[iban_field])
    # {"screenshot": "9f2c...", "html": "41ab..."}; store.path(hashes["html"]) reads it back
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from playwright.sync_api import Locator, Page

from audit.redaction import Redactor

MASKED = "••••"


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
        covers = [*mask, page.locator("input[type=password]"),
                  *(page.get_by_text(s) for s in secrets if s)]
        png = page.screenshot(full_page=True, mask=covers, animations="disabled")
        html = page.content()
        for secret in secrets:
            if secret:
                html = html.replace(secret, MASKED)
        html = self._redactor.text(html)
        return {"screenshot": self.put(png, ".png"), "html": self.put(html.encode(), ".html")}
