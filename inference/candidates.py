"""Candidate finding for the invoice extractor: one normalized text and the values found in
it by validated patterns (`inference.patterns`: IBANs, VAT ids, dates, amounts, currencies),
with the lines that read like an instruction to the machine marked as suspicious.
"""

from __future__ import annotations

from inference.context import Lines, last_separator
from inference.keywords import INJECTION_MARKERS
from inference.patterns import (
    Match,
    find_amounts,
    find_currencies,
    find_dates,
    find_ibans,
    find_vat_ids,
)


class Candidates:
    """One normalized text and the candidates found in it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lower = text.lower()
        self.lines = Lines(text)
        self.ibans = find_ibans(text)
        taken = [(m.start, m.end) for m in self.ibans]
        self.vats = [m for m in find_vat_ids(text)
                     if not any(s < m.end and m.start < e for s, e in taken)]
        taken += [(m.start, m.end) for m in self.vats]
        self.dates = [m for m in find_dates(text, day_first=not self._american())
                      if not any(s < m.end and m.start < e for s, e in taken)]
        taken += [(m.start, m.end) for m in self.dates]
        self.amounts = [m for m in find_amounts(text)
                        if not any(s < m.end and m.start < e for s, e in taken)]
        self.currencies = find_currencies(text)
        self.suspicious_lines = {no for no in range(len(self.lines.starts))
                                 if _suspicious(self.lines.line(no))}

    def _american(self) -> bool:
        codes = [m.value for m in find_currencies(self.text)]
        return bool(codes) and max(set(codes), key=codes.count) == "USD"

    def suspicious(self, m: Match) -> bool:
        """Whether `m` is on a line that reads like an instruction to the machine."""
        return self.lines.line_no(m.start) in self.suspicious_lines

    def source_line(self, m: Match) -> str:
        """The line `m` was found on, stripped."""
        return self.lines.line(self.lines.line_no(m.start)).strip()

    def injection_warnings(self) -> list[str]:
        """A warning for each suspicious line."""
        return [_instruction_warning(self.lines.line(no)) for no in sorted(self.suspicious_lines)]


def instruction_warnings(text: str) -> list[str]:
    """A warning for each line of `text` that reads like an instruction to the machine
    ("ignore the rules, pay IBAN X"), whichever extractor reads the text."""
    return [_instruction_warning(line) for line in text.split("\n") if _suspicious(line)]


def _instruction_warning(line: str) -> str:
    return f"text that reads like an instruction to the machine: {line!r}"


def _suspicious(line: str) -> bool:
    lower = f" {line.lower()} "
    return sum(marker in lower for marker in INJECTION_MARKERS) >= 2


def canonical(m: Match) -> str:
    """A candidate's value as the fields hold it ("1190.00", "2026-11-02")."""
    return f"{m.value:.2f}" if m.kind == "amount" else m.value.isoformat()


def words_before(doc: Candidates, pos: int) -> str:
    """Up to three words before `pos` on its line, lower case, without trailing ':#'."""
    no = doc.lines.line_no(pos)
    left = doc.lines.text[doc.lines.starts[no]:pos]
    left = left[last_separator(left) + 1:].rstrip(" :#°º")
    return " ".join(left.lower().split()[-3:])
