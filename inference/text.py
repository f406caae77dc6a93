"""Text normalization for hostile input.

Documents can hide text from a person and still show it to a machine (or the other way round):
zero-width characters inside an IBAN, Unicode tag characters carrying a whole hidden sentence,
variation selectors, bidi controls that reorder what is displayed. `normalize` removes them,
applies NFKC (full-width digits become digits, ligatures letters, no-break spaces spaces), and
reports everything it removed so a reviewer can be shown it.

    result = normalize("IBAN DE89\u200b3704 0044 0532 0130 00")
    result.text      # 'IBAN DE893704 0044 0532 0130 00'
    result.removed   # [Removal(kind='zero-width', codepoint='U+200B', count=1, ...)]
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from typing import Literal

from pydantic import BaseModel, ConfigDict

RemovalKind = Literal["zero-width", "tag", "variation-selector", "bidi-control", "control",
                      "format"]

ZERO_WIDTH = {0x200B, 0x200C, 0x200D, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF, 0x180E,
              0x00AD, 0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0}
BIDI = {0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
KEEP_CONTROLS = {"\n", "\t"}


class Removal(BaseModel):
    """One kind of character that was removed, and how often."""

    model_config = ConfigDict(frozen=True)

    kind: RemovalKind
    codepoint: str
    name: str
    count: int


class NormalizedText(BaseModel):
    """Normalized text, what was removed from it, and any text that was hidden in tags."""

    model_config = ConfigDict(frozen=True)

    text: str
    removed: list[Removal]
    hidden_text: str = ""
    mixed_script_words: list[str] = []

    @property
    def changed(self) -> bool:
        """True when anything invisible was removed."""
        return bool(self.removed)

    def report(self) -> list[str]:
        """Human-readable lines for a reviewer, e.g. 'removed 2 × U+200B ZERO WIDTH SPACE'."""
        lines = [f"removed {r.count} × {r.codepoint} {r.name} ({r.kind})" for r in self.removed]
        if self.hidden_text:
            lines.append(f"hidden text in Unicode tag characters: {self.hidden_text!r}")
        lines += [f"word mixes scripts (look-alike letters?): {w!r}"
                  for w in self.mixed_script_words]
        return lines


def classify_char(char: str) -> RemovalKind | None:
    """The kind of invisible character `char` is, or None when it is kept."""
    cp = ord(char)
    if cp in ZERO_WIDTH:
        return "zero-width"
    if 0xE0000 <= cp <= 0xE007F:
        return "tag"
    if 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF:
        return "variation-selector"
    if cp in BIDI:
        return "bidi-control"
    category = unicodedata.category(char)
    if category == "Cc" and char not in KEEP_CONTROLS:
        return "control"
    if category == "Cf":
        return "format"
    return None


def normalize(text: str) -> NormalizedText:
    """NFKC text without invisible characters, with lines and single spaces kept.

    Carriage returns become newlines and tabs spaces; runs of spaces are kept (they are the
    columns of a table); lines lose trailing spaces; blank lines in a row become one.
    """
    if not isinstance(text, str):
        raise TypeError(f"normalize takes text, not {type(text).__name__}")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kept: list[str] = []
    counts: Counter[tuple[RemovalKind, str]] = Counter()
    hidden: list[str] = []
    for char in text:
        kind = classify_char(char)
        if kind is None:
            kept.append(char)
            continue
        counts[(kind, char)] += 1
        if kind == "tag" and 0x20 <= ord(char) - 0xE0000 < 0x7F:
            hidden.append(chr(ord(char) - 0xE0000))
    clean = unicodedata.normalize("NFKC", "".join(kept))
    # NFKC can itself produce characters we strip (rare compatibility forms): strip again.
    clean = "".join(c for c in clean if classify_char(c) is None)
    removed = [Removal(kind=kind, codepoint=f"U+{ord(char):04X}",
                       name=unicodedata.name(char, "UNNAMED"), count=n)
               for (kind, char), n in sorted(counts.items(), key=lambda kv: ord(kv[0][1]))]
    text_out = _tidy(clean)
    return NormalizedText(text=text_out, removed=removed, hidden_text="".join(hidden),
                          mixed_script_words=_mixed_script_words(text_out))


def _tidy(text: str) -> str:
    lines = [line.replace("\t", " ").rstrip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n")


def _script(char: str) -> str | None:
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    for script in ("LATIN", "CYRILLIC", "GREEK"):
        if name.startswith(script):
            return script
    return None


def _mixed_script_words(text: str) -> list[str]:
    words = []
    for word in set(text.split()):
        scripts = {s for s in map(_script, word) if s}
        if len(scripts) > 1:
            words.append(word)
    return sorted(words)
