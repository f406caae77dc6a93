"""Redaction before write: secrets never reach the ledger in clear text.

What is redacted, at any depth of a payload:
- fields the caller marks sensitive (by name, e.g. the `sensitive` set of an `Action`);
- fields whose name says secret (password, token, api_key, authorization, ...);
- values, or parts of strings, that look like a payment card number (Luhn-valid) or an IBAN
  (mod-97 valid).

Each is replaced by a keyed hash (HMAC-SHA256) so auditors can match equal values without
seeing them: the same IBAN gives the same `redacted:<hash>` everywhere in the ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PREFIX = "redacted:"
_SECRET_NAMES = re.compile(r"pass(word|wd|phrase)?|secret|token|api[_-]?key|authori[sz]ation"
                           r"|credential|cookie|session[_-]?id|private[_-]?key|pin|cvv|cvc",
                           re.IGNORECASE)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,30}\b")
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")


def iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


def luhn_valid(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2)
    return total % 10 == 0


def load_or_create_key(path: Path) -> bytes:
    """The redaction key at `path`; a new random one (mode 0600) when there is none."""
    path = Path(path)
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key


class Redactor:
    """Replaces secrets with keyed hashes; `Redactor(None)` still redacts, with a per-process key
    (equal values then match only within one process)."""

    def __init__(self, key: bytes | None) -> None:
        self._key = key or os.urandom(32)

    def token(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"{PREFIX}{digest[:32]}"

    def payload(self, value: Any, sensitive: Iterable[str] = ()) -> Any:
        """A copy of `value` with every secret replaced."""
        return self._walk(value, frozenset(sensitive), None)

    def text(self, value: str) -> str:
        """`value` with IBANs and card numbers inside it replaced."""
        value = _IBAN.sub(lambda m: self.token(_compact(m.group())) if iban_valid(m.group())
                          else m.group(), value)
        return _CARD.sub(lambda m: self.token(_compact(m.group())) if luhn_valid(m.group())
                         else m.group(), value)

    def _walk(self, value: Any, sensitive: frozenset[str], name: str | None) -> Any:
        if isinstance(value, dict):
            return {k: self._walk(v, sensitive, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self._walk(v, sensitive, name) for v in value]
        secret_name = name is not None and (name in sensitive or _SECRET_NAMES.fullmatch(name))
        if secret_name and value is not None:
            return self.token(str(value))
        if isinstance(value, str):
            return self.text(value)
        return value


def _compact(value: str) -> str:
    return re.sub(r"[ -]", "", value).upper()
