"""Validated value patterns found in document text: IBANs, VAT ids, dates, amounts, currencies.

Each finder returns `Match`es with the parsed value in canonical form (IBAN without spaces,
ISO dates, amounts as `Decimal`) and where it sits in the text, so the extractor can read the
words around it. Validation happens here: an IBAN must pass its mod-97 checksum, a German or
French VAT id its check digits, a date must exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22,
    "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18,
    "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
}
VAT_PATTERNS = {
    "DE": r"\d{9}", "AT": r"U\d{8}", "FR": r"[0-9A-HJ-NP-Z]{2}\d{9}", "GB": r"\d{9}(?:\d{3})?",
    "NL": r"\d{9}B\d{2}", "BE": r"[01]\d{9}", "IT": r"\d{11}", "ES": r"[0-9A-Z]\d{7}[0-9A-Z]",
    "LU": r"\d{8}", "IE": r"\d{7}[A-W][A-I]?", "PL": r"\d{10}", "DK": r"\d{8}",
    "SE": r"\d{12}", "PT": r"\d{9}", "FI": r"\d{8}", "CHE": r"\d{9}",
}
MONTHS = {
    # English
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
    # German
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "marz": 3, "maerz": 3, "mai": 5,
    "juni": 6, "juli": 7, "oktober": 10, "dezember": 12, "mär": 3, "mrz": 3, "okt": 10,
    "dez": 12,
    # French
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12, "janv": 1, "févr": 2, "fevr": 2, "avr": 4, "juil": 7,
    "déc": 12,
}
CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "CHF": "CHF", "Fr.": "CHF"}
CURRENCY_CODES = ("EUR", "USD", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "CZK")
# Characters OCR confuses with digits, and the digit each most likely was.
OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1",
                            "Z": "2", "S": "5", "s": "5", "B": "8", "G": "6", "g": "9"})


@dataclass(frozen=True)
class Match:
    """A validated value found in the text: canonical `value`, the `raw` text, its span."""

    kind: str
    value: Any
    raw: str
    start: int
    end: int
    note: str = ""


def mod97(text: str) -> int:
    """The ISO 7064 mod-97 remainder of letters-as-numbers (A=10 ... Z=35)."""
    digits = "".join(str(int(c, 36)) for c in text)
    return int(digits) % 97


def iban_valid(iban: str) -> bool:
    """True for an IBAN (no spaces) of its country's length whose checksum is right."""
    iban = iban.upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", iban):
        return False
    if IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    return mod97(iban[4:] + iban[:4]) == 1


def iban_check_digits(country: str, bban: str) -> str:
    """The two check digits that make `country + ?? + bban` a valid IBAN."""
    return f"{98 - mod97(bban + country + '00'):02d}"


def find_ibans(text: str) -> list[Match]:
    """Valid IBANs, printed with or without spaces; OCR digit confusions that the checksum
    confirms are corrected (and noted)."""
    found: list[Match] = []
    for start in re.finditer(r"(?<![A-Za-z0-9])([A-Z]{2})[0-9OIlSB]{2}", text):
        length = IBAN_LENGTHS.get(start.group(1))
        if length is None:
            continue
        chars, end = _collect_alnum(text, start.start(), length)
        if len(chars) < length or (end < len(text) and text[end].isalnum()):
            continue
        raw = text[start.start():end]
        candidate = "".join(chars)
        note = ""
        if not iban_valid(candidate):
            body = candidate[4:]
            if start.group(1) in {"DE", "AT", "BE"}:  # all digits after the check digits
                body = body.translate(OCR_DIGITS)
            fixed = (candidate[:2] + candidate[2:4].translate(OCR_DIGITS) + body).upper()
            if fixed == candidate.upper() or not iban_valid(fixed):
                continue
            candidate, note = fixed, "OCR confusions corrected, confirmed by the checksum"
        candidate = candidate.upper()
        found.append(Match("iban", candidate, raw, start.start(), end, note))
    return found


def _collect_alnum(text: str, start: int, length: int) -> tuple[list[str], int]:
    chars: list[str] = []
    i = start
    while i < len(text) and len(chars) < length:
        c = text[i]
        if c.isalnum() or c == "|":
            chars.append(c)
        elif not (c == " " and i + 1 < len(text) and text[i + 1].isalnum() and chars):
            break
        i += 1
    return chars, i


def vat_valid(vat: str) -> bool:
    """True when `vat` (no spaces) has its country's form and, for DE and FR, check digits."""
    for prefix, body in VAT_PATTERNS.items():
        if vat.startswith(prefix) and re.fullmatch(body, vat[len(prefix):]):
            if prefix == "DE":
                return _de_vat_ok(vat[2:])
            if prefix == "FR" and vat[2:4].isdigit():
                return int(vat[2:4]) == (12 + 3 * (int(vat[4:]) % 97)) % 97
            return True
    return False


def _de_vat_ok(digits: str) -> bool:
    product = 10
    for d in digits[:8]:
        total = (int(d) + product) % 10 or 10
        product = (2 * total) % 11
    check = 11 - product
    return (0 if check == 10 else check) == int(digits[8])


def de_vat_check_digit(first8: str) -> str:
    """The ISO 7064 MOD 11,10 check digit of a German VAT id's first eight digits."""
    for d in "0123456789":
        if _de_vat_ok(first8 + d):
            return d
    raise ValueError(first8)


_VAT_RE = re.compile(r"(CHE|ATU|[A-Z]{2})[ .\-]?((?:[0-9A-Z][ .\-]?){7,13})")


def find_vat_ids(text: str) -> list[Match]:
    """Valid VAT ids (country prefix + national number, spaces or dots allowed inside)."""
    found: list[Match] = []
    for start in re.finditer(r"(?<![A-Za-z0-9])(?=[A-Z]{2})", text):
        if found and start.start() < found[-1].end:
            continue
        m = _VAT_RE.match(text, start.start())
        if m is None:
            continue
        prefix = "AT" if m.group(1) == "ATU" else m.group(1)
        body = re.sub(r"[ .\-]", "", m.group(2))
        if m.group(1) == "ATU":
            body = "U" + body
        for cut in range(len(body), 6, -1):  # the number may run into the next word
            vat = prefix + body[:cut]
            if prefix in VAT_PATTERNS and vat_valid(vat) and not iban_valid(vat):
                end = _end_after(text, m.start(2), cut - (m.group(1) == "ATU"))
                found.append(Match("vat_id", vat, text[m.start():end], m.start(), end))
                break
    return found


def _end_after(text: str, start: int, alnum: int) -> int:
    i = start
    while alnum > 0 and i < len(text):
        alnum -= text[i].isalnum()
        i += 1
    return i


_NUM_DATE = re.compile(r"(?<![\d.])(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)|(?<![\d./])(\d{1,2})([./])"
                       r"(\d{1,2})\5(\d{4}|\d{2})(?![\d])")
_WORD_DATE = re.compile(
    r"(?<!\w)(\d{1,2})(?:st|nd|rd|th|er|\.)?\s+([A-Za-zÀ-ÿ]{3,9})\.?,?\s+(\d{4})(?!\d)"
    r"|(?<!\w)([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)")


def find_dates(text: str, day_first: bool | None = None) -> list[Match]:
    """Real calendar dates in ISO, dotted, slashed or written-out (EN/DE/FR) form.

    Slashed dates are read day-first unless `day_first` is False; a part over 12 decides.
    """
    found = []
    for m in _NUM_DATE.finditer(text):
        if m.group(1):
            y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        else:
            a, b, y = int(m.group(4)), int(m.group(6)), int(m.group(7))
            y = y + 2000 if y < 100 else y
            month_first = m.group(5) == "/" and (day_first is False or a > 12 >= b)
            if a > 12 and m.group(5) == "/":
                month_first = False
            d, mo = (b, a) if month_first else (a, b)
        _add_date(found, y, mo, d, m)
    for m in _WORD_DATE.finditer(text):
        if m.group(1):
            d, name, y = int(m.group(1)), m.group(2), int(m.group(3))
        else:
            name, d, y = m.group(4), int(m.group(5)), int(m.group(6))
        month = MONTHS.get(name.lower().rstrip("."))
        if month:
            _add_date(found, y, month, d, m)
    return sorted(found, key=lambda x: x.start)


def _add_date(found: list[Match], y: int, mo: int, d: int, m: re.Match[str]) -> None:
    try:
        value = date(y, mo, d)
    except ValueError:
        return
    if 1990 <= y <= 2100:
        found.append(Match("date", value, m.group(0), m.start(), m.end()))


_AMOUNT = re.compile(r"(?<![\w.,'/-])(-|−)?(\d{1,3}(?:[,. ']\d{3})+|\d+)([.,])(\d{2})(?![\d])")


def find_amounts(text: str) -> list[Match]:
    """Money amounts with two decimals in either convention: 1,234.56  1.234,56  1 234,56."""
    found = []
    for m in _AMOUNT.finditer(text):
        whole, decimal_sep = m.group(2), m.group(3)
        groups = set(re.findall(r"[,. ']", whole))
        if len(groups) > 1 or decimal_sep in groups:
            continue
        if "\n" in m.group(0):
            continue
        value = Decimal(re.sub(r"[,. ']", "", whole) + "." + m.group(4))
        if m.group(1):
            value = -value
        found.append(Match("amount", value, m.group(0), m.start(), m.end()))
    return found


def find_currencies(text: str) -> list[Match]:
    """ISO currency codes and the symbols €, $, £ (and CHF / Fr.)."""
    found = []
    for m in re.finditer(r"(?<![A-Za-z])(" + "|".join(CURRENCY_CODES) + r")(?![A-Za-z])|[€$£]",
                         text):
        code = m.group(1) or CURRENCY_SYMBOLS[m.group(0)]
        found.append(Match("currency", code, m.group(0), m.start(), m.end()))
    return found
