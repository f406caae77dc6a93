"""Invoice field extraction: validated patterns, labeled by the words around them, cross-checked.

1. Normalize the text (invisible characters out, NFKC).
2. Find candidates with validated patterns (`inference.patterns`): IBANs with a good checksum,
   VAT ids, real dates in EN/DE/FR forms, amounts in both decimal conventions, identifiers after
   their keywords, company names by their legal form.
3. Label each candidate by its context: keywords in three languages (`inference.keywords`) and,
   with an embedder, the similarity of the context to a description of each label.
4. Cross-check: net + tax = total raises the confidence of all three, a mismatch lowers it; a
   due date before the issue date lowers both; two different IBANs, or an instruction to the
   machine in the text, send the IBAN to a person.

Learning from reviewers (`learn`): a corrected amount or date is looked up in the text, and the
words around each place it appears become a labeled context example for that field, compared
with like the built-in phrases; for an invoice or PO number, the words before it become a
keyword. Vendor, VAT id, IBAN and currency are not learned this way.

    extraction = InvoiceExtractor(embedder).extract(text)
    extraction.fields["total"].value, extraction.fields["total"].confidence
    extraction.needs_review({"iban": 0.9}, default=0.8)   # fields a person must confirm
    examples, record = extractor.learn(text, "total", "119.00")   # a reviewer's correction
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from itertools import permutations
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from inference.context import Lines, Window, keyword_scores, last_separator
from inference.embeddings import Embedder
from inference.keywords import (
    AMOUNT_KEYWORDS,
    BUYER_KEYWORDS,
    DATE_KEYWORDS,
    ID_KEYWORDS,
    INJECTION_MARKERS,
    PROTOTYPES,
    VAT_KEYWORDS,
    VENDOR_KEYWORDS,
)
from inference.patterns import (
    Match,
    find_amounts,
    find_currencies,
    find_dates,
    find_ibans,
    find_vat_ids,
)
from inference.records import InferenceRecord, sha256_text, timed
from inference.schema import FIELD_NAMES, InvoiceFields
from inference.text import normalize

REQUIRED = ("vendor_name", "invoice_number", "issue_date", "currency", "total", "iban")
PATTERN_REVISION = hashlib.sha256(b"inference.extractor patterns v1").hexdigest()
_LEGAL = re.compile(r"(?:GmbH & Co\. KG|GmbH|AG|KG|e\.K\.|Ltd|Limited|LLC|Inc\.|plc|"
                    r"Corporation|SARL|SAS|SA|EURL)(?=$|[\s,;|)])")
_TOKEN = re.compile(r" {0,2}[:#.°º]? {0,2}(?:n°|no\.?|nr\.?)? {0,2}[:#]? {0,3}"
                    r"([A-Z0-9][A-Za-z0-9\-/._]{1,30})")


LearnedField = Literal["net", "tax", "total", "issue_date", "due_date", "invoice_number",
                      "po_number"]
LEARNED_FIELDS: tuple[LearnedField, ...] = ("net", "tax", "total", "issue_date", "due_date",
                                            "invoice_number", "po_number")
_ID_FIELDS = ("invoice_number", "po_number")
LEARNED_SIMILARITY = 0.9  # how like a reviewer's example a context must be to count
LEARNED_WEIGHT = 0.6


class FieldExample(BaseModel):
    """A labeled context a reviewer's correction taught: for amounts and dates, the value's
    context as `Window.text()` phrases it ("total owing: eur [value]"); for identifiers, the
    words before the value, used as a keyword."""

    model_config = ConfigDict(frozen=True)

    field: LearnedField
    context: str = Field(min_length=1, max_length=300)
    source: str = "reviewer"


class FieldValue(BaseModel):
    """One extracted field: its value, how sure, and the line it came from."""

    model_config = ConfigDict(frozen=True)

    value: str | None
    confidence: float
    evidence: str = ""
    note: str = ""


class Extraction(BaseModel):
    """All fields of one invoice, the checks made, warnings for the reviewer, and the record."""

    model_config = ConfigDict(frozen=True)

    fields: dict[str, FieldValue]
    checks: list[str]
    warnings: list[str]
    text: str
    record: InferenceRecord

    def values(self) -> InvoiceFields:
        """The values as a validated `InvoiceFields`."""
        return InvoiceFields(**{k: f.value for k, f in self.fields.items()})

    def needs_review(self, thresholds: Mapping[str, float] | None = None,
                     default: float = 0.8, required: tuple[str, ...] = REQUIRED) -> list[str]:
        """Fields a person must confirm: found with a confidence below their threshold, or
        required and not found. An optional field the document lacks (no PO) is no reason."""
        thresholds = thresholds or {}
        return [name for name, f in self.fields.items()
                if (f.value is not None and f.confidence < thresholds.get(name, default))
                or (f.value is None and name in required)]


class InvoiceExtractor:
    """Extracts `InvoiceFields` from invoice text; `embedder` labels unusual phrasings."""

    def __init__(self, embedder: Embedder | None = None, *, embedding_weight: float = 0.4,
                 examples: Iterable[FieldExample] = ()) -> None:
        self.embedder = embedder
        self.embedding_weight = embedding_weight
        self._prototypes: dict[str, np.ndarray] = {}
        self._learned: dict[str, np.ndarray] = {}  # reviewers' contexts, by field
        self._examples: list[FieldExample] = []
        self._keywords: dict[str, list[str]] = {name: list(words)
                                                for name, words in ID_KEYWORDS.items()}
        if embedder is not None:
            self._prototypes = {label: embedder.encode(phrases)
                                for label, phrases in PROTOTYPES.items()}
        self._add(list(examples))

    @property
    def examples(self) -> list[FieldExample]:
        """What reviewers' corrections taught, in the order learned."""
        return list(self._examples)

    def learn(self, text: str, field: str, value: str,
              source: str = "reviewer") -> tuple[list[FieldExample], InferenceRecord]:
        """A person said `field` is `value` in `text`: keep the words around every place the
        value appears in the text as examples for `field` (none when it does not appear, or
        the field is not one that is learned). The new examples, and the record of the call."""
        with timed() as clock:
            new = [e for e in self.contexts(text, field, value, source)
                   if e not in self._examples]
            self._add(new)
        output = {"field": field, "added": len(new), "examples": len(self._examples)}
        return new, self._record(text, output, None, clock.ms, task="fit")

    def save_examples(self, path: Path) -> None:
        """Write what reviewers taught as JSON, to load into an extractor later."""
        path.write_text(json.dumps([e.model_dump() for e in self._examples], ensure_ascii=False))

    @staticmethod
    def load_examples(path: Path) -> list[FieldExample]:
        """Examples written by `save_examples`."""
        return [FieldExample.model_validate(e) for e in json.loads(path.read_text())]

    def contexts(self, text: str, field: str, value: str,
                 source: str = "reviewer") -> list[FieldExample]:
        """The labeled context of `value` as `field` in `text`: where the value appears (where
        it reads most like `field`, when it appears more than once); [] when it does not."""
        if field not in LEARNED_FIELDS or not value:
            return []
        doc = _Doc(normalize(text).text)
        if field in _ID_FIELDS:
            found = [_words_before(doc, hit.start())
                     for hit in re.finditer(r"(?<!\w)" + re.escape(value) + r"(?!\w)", doc.text)]
            found = [c for c in found if any(ch.isalpha() for ch in c)][:1]
        elif self.embedder is None:  # amounts and dates are learned as phrases to compare with
            return []
        else:
            kind = "amount" if field in ("net", "tax", "total") else "date"
            scores = self._windows(doc)
            matching = [m for m in doc.amounts + doc.dates
                        if m.kind == kind and _canonical(m) == value]
            values = doc.amounts + doc.dates
            found = [doc.lines.window(m, values).text() for m in sorted(
                matching, key=lambda m: -scores[id(m)].get(field, 0.0))][:1]
        return [FieldExample(field=field, context=c[-300:], source=source)  # type: ignore[arg-type]
                for c in found if c]

    def _add(self, examples: list[FieldExample]) -> None:
        phrases = [e for e in examples if e.field not in _ID_FIELDS]
        if phrases and self.embedder is not None:
            vectors = self.embedder.encode([e.context for e in phrases])
            for example, vector in zip(phrases, vectors, strict=True):
                known = self._learned.get(example.field)
                self._learned[example.field] = vector[None, :] if known is None else np.vstack(
                    [known, vector])
        for example in examples:
            if example.field in _ID_FIELDS and example.context not in self._keywords[
                    example.field]:
                self._keywords[example.field].append(example.context)
        self._examples += examples

    def extract(self, text: str) -> Extraction:
        """The invoice fields of `text`, each with a confidence."""
        with timed() as clock:
            normalized = normalize(text)
            state = _Doc(normalized.text)
            warnings = normalized.report() + state.injection_warnings()
            windows = self._windows(state)
            fields: dict[str, FieldValue] = {}
            checks: list[str] = []
            fields.update(_amounts(state, windows, checks))
            fields.update(_dates(state, windows, checks))
            fields.update(_identifiers(state, self._keywords))
            fields.update(_ibans(state, warnings))
            fields["vat_id"] = _vat(state)
            fields["vendor_name"] = _vendor(state, fields)
            fields["currency"] = _currency(state, fields)
            fields = {name: fields.get(name, FieldValue(value=None, confidence=0.0))
                      for name in FIELD_NAMES}
        confidence = min(f.confidence for f in fields.values())
        output = {k: f.value for k, f in fields.items()}
        record = self._record(text, output, confidence, clock.ms)
        return Extraction(fields=fields, checks=checks, warnings=warnings,
                          text=normalized.text, record=record)

    def _record(self, text: str, output: dict, confidence: float | None, ms: float,
                task: Literal["extract", "fit"] = "extract") -> InferenceRecord:
        if self.embedder is not None:
            return self.embedder.record(task, text, output, confidence, ms)
        return InferenceRecord(task=task, model="patterns", revision=PATTERN_REVISION,
                               quantization="none", input_sha256=sha256_text(text),
                               output=output, confidence=confidence, latency_ms=ms)

    def _windows(self, state: _Doc) -> dict[int, dict[str, float]]:
        """Label scores of every amount and date candidate, keyed by id(match)."""
        values = state.amounts + state.dates
        windows = {id(m): state.lines.window(m, values) for m in values}
        scores: dict[int, dict[str, float]] = {}
        for m in values:
            table = AMOUNT_KEYWORDS if m.kind == "amount" else DATE_KEYWORDS
            scores[id(m)] = keyword_scores(windows[id(m)], table)
        if self._prototypes and values:
            self._add_similarity(values, windows, scores)
        return scores

    def _add_similarity(self, values: list[Match], windows: dict[int, Window],
                        scores: dict[int, dict[str, float]]) -> None:
        assert self.embedder is not None
        vectors = self.embedder.encode([windows[id(m)].text() for m in values])
        for m, vector in zip(values, vectors, strict=True):
            labels = list(scores[id(m)])
            sims = np.array([float((self._prototypes[label] @ vector).max())
                             for label in labels])
            probs = np.exp((sims - sims.max()) / 0.03)
            probs /= probs.sum()
            for label, p in zip(labels, probs, strict=True):
                scores[id(m)][label] += self.embedding_weight * float(p)
            for label, learned in self._learned.items():
                # a context a reviewer labeled, met again almost word for word
                similarity = float((learned @ vector).max())
                if label in scores[id(m)] and similarity >= LEARNED_SIMILARITY:
                    scores[id(m)][label] += LEARNED_WEIGHT * similarity


class _Doc:
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
        return self.lines.line_no(m.start) in self.suspicious_lines

    def evidence(self, m: Match) -> str:
        return self.lines.line(self.lines.line_no(m.start)).strip()

    def injection_warnings(self) -> list[str]:
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


def _amounts(doc: _Doc, scores: dict[int, dict[str, float]],
             checks: list[str]) -> dict[str, FieldValue]:
    pool = [m for m in doc.amounts if not doc.suspicious(m)]
    pool = sorted(pool, key=lambda m: -max(scores[id(m)][k] for k in ("net", "tax", "total")))
    pool = pool[:10]
    best: tuple[float, tuple[Match, Match, Match]] | None = None
    for net, tax, total in permutations(pool, 3):
        if net.value + tax.value != total.value or not 0 <= tax.value <= net.value * Decimal(
                "0.3"):
            continue
        score = (scores[id(net)]["net"] + scores[id(tax)]["tax"] + scores[id(total)]["total"]
                 - 0.5 * scores[id(net)]["item"] - 0.5 * scores[id(total)]["item"])
        if best is None or score > best[0]:
            best = (score, (net, tax, total))
    if best is not None and best[0] >= 0.6:
        checks.append("net + tax = total")
        return {name: FieldValue(value=f"{m.value:.2f}", evidence=doc.evidence(m),
                                 confidence=_clip(0.6 + 0.35 * min(1.0, scores[id(m)][name])))
                for name, m in zip(("net", "tax", "total"), best[1], strict=True)}
    out = {}
    for name in ("net", "tax", "total"):
        ranked = sorted(pool, key=lambda m, n=name: -scores[id(m)][n])
        if ranked and scores[id(ranked[0])][name] >= 0.4:
            m = ranked[0]
            out[name] = FieldValue(value=f"{m.value:.2f}", evidence=doc.evidence(m),
                                   confidence=_clip(0.25 + 0.4 * min(1.0, scores[id(m)][name])),
                                   note="not confirmed by net + tax = total")
    if len(out) == 3:
        checks.append("net + tax != total: amounts are inconsistent")
    return out


def _dates(doc: _Doc, scores: dict[int, dict[str, float]],
           checks: list[str]) -> dict[str, FieldValue]:
    out: dict[str, FieldValue] = {}
    chosen: dict[str, Match] = {}
    for name in ("due_date", "issue_date"):
        ranked = sorted((m for m in doc.dates if m not in chosen.values()),
                        key=lambda m, n=name: -scores[id(m)][n])
        if ranked and scores[id(ranked[0])][name] >= 0.35 and scores[id(ranked[0])][name] >= max(
                scores[id(ranked[0])].values()) - 1e-9:
            chosen[name] = ranked[0]
    free = [m for m in doc.dates if m not in chosen.values()]
    guessed = "issue_date" not in chosen and bool(free)
    if guessed:
        chosen["issue_date"] = min(free, key=lambda m: m.value)
    for name, m in chosen.items():
        confidence = 0.45 + 0.45 * min(1.0, scores[id(m)][name])
        if guessed and name == "issue_date" and len(free) == 1 and "due_date" in chosen:
            confidence = 0.7  # the one date besides the labeled due date
        out[name] = FieldValue(value=m.value.isoformat(), confidence=confidence,
                               evidence=doc.evidence(m))
    if len(chosen) == 2:
        issue, due = chosen["issue_date"].value, chosen["due_date"].value
        delta = 0.1 if due >= issue else -0.35
        checks.append("due date on or after issue date" if delta > 0 else
                      "due date BEFORE issue date")
        out = {k: v.model_copy(update={"confidence": _clip(v.confidence + delta)})
               for k, v in out.items()}
    return out


def _canonical(m: Match) -> str:
    """A candidate's value as the fields hold it ("1190.00", "2026-11-02")."""
    return f"{m.value:.2f}" if m.kind == "amount" else m.value.isoformat()


def _words_before(doc: _Doc, pos: int) -> str:
    """Up to three words before `pos` on its line, lower case, without trailing ':#'."""
    no = doc.lines.line_no(pos)
    left = doc.lines.text[doc.lines.starts[no]:pos]
    left = left[last_separator(left) + 1:].rstrip(" :#°º")
    return " ".join(left.lower().split()[-3:])


def _identifiers(doc: _Doc, table: dict[str, list[str]]) -> dict[str, FieldValue]:
    found: dict[str, list[tuple[float, str, str]]] = {name: [] for name in table}
    dates = {m.raw for m in doc.dates}
    for name, keywords in table.items():
        for keyword in keywords:
            for hit in re.finditer(r"(?<!\w)" + re.escape(keyword) + r"(?!\w)", doc.lower):
                token = _token_after(doc, hit.end())
                if not token or not any(c.isdigit() for c in token):
                    token = _token_below(doc, hit.start(), len(keyword))
                if token and token not in dates and any(c.isdigit() for c in token):
                    if doc.lines.line_no(hit.start()) in doc.suspicious_lines:
                        continue
                    weight = 0.7 + min(0.25, 0.02 * len(keyword))
                    found[name].append((weight, token, doc.lines.line(
                        doc.lines.line_no(hit.start())).strip()))
    out = {}
    for name, hits in found.items():
        if hits:
            weight, token, line = max(hits)
            rivals = {t for w, t, _ in hits if t != token and w >= weight - 0.1}
            out[name] = FieldValue(value=token, confidence=_clip(weight - 0.3 * bool(rivals)),
                                   evidence=line)
    return out


def _token_after(doc: _Doc, pos: int) -> str | None:
    m = _TOKEN.match(doc.text, pos)
    return m.group(1).rstrip("._/-") if m else None


def _token_below(doc: _Doc, pos: int, width: int) -> str | None:
    no = doc.lines.line_no(pos)
    col = pos - doc.lines.starts[no]
    below = doc.lines.line(no + 1)
    if len(below) <= col:
        return None
    start = col
    while start > 0 and below[start - 1] != " ":
        start -= 1
    m = re.match(r"([A-Z0-9][A-Za-z0-9\-/._]{1,30})", below[start:start + width + 30])
    return m.group(1).rstrip("._/-") if m and start <= col + width else None


def _ibans(doc: _Doc, warnings: list[str]) -> dict[str, FieldValue]:
    if not doc.ibans:
        return {}
    clean = [m for m in doc.ibans if not doc.suspicious(m)] or doc.ibans
    distinct = {m.value for m in doc.ibans}
    m = clean[0]
    confidence = 0.95 if "iban" in doc.lines.line(doc.lines.line_no(m.start)).lower() else 0.85
    note = m.note
    if len(distinct) > 1:
        confidence = 0.3
        note = f"{len(distinct)} different IBANs in the document: {', '.join(sorted(distinct))}"
        warnings.append(note)
    if doc.suspicious(m):
        confidence = min(confidence, 0.2)
    if m.note:
        confidence = min(confidence, 0.8)
    return {"iban": FieldValue(value=m.value, confidence=confidence, evidence=doc.evidence(m),
                               note=note)}


def _vat(doc: _Doc) -> FieldValue:
    ranked = []
    for m in doc.vats:
        line = doc.lines.line(doc.lines.line_no(m.start)).lower()
        left = line[:m.start - doc.lines.starts[doc.lines.line_no(m.start)]][-40:]
        if any(k in left for k in BUYER_KEYWORDS) or doc.suspicious(m):
            continue
        ranked.append((0.9 if any(k in left for k in VAT_KEYWORDS) else 0.6, m))
    if not ranked:
        return FieldValue(value=None, confidence=0.0)
    ranked.sort(key=lambda x: -x[0])
    score, m = ranked[0]
    if len({x[1].value for x in ranked}) > 1:
        score -= 0.35
    return FieldValue(value=m.value, confidence=score, evidence=doc.evidence(m))


def _vendor(doc: _Doc, fields: dict[str, FieldValue]) -> FieldValue:
    scored: dict[str, float] = {}
    evidence: dict[str, str] = {}
    first = next((no for no in range(len(doc.lines.starts)) if doc.lines.line(no).strip()), 0)
    vendor_ids = {f.value for k, f in fields.items() if k in ("iban",) and f.value}
    vendor_ids |= {m.value for m in doc.vats}
    for no in range(len(doc.lines.starts)):
        line = doc.lines.line(no)
        for segment in re.split(r"\s[|·]\s|\s-\s|,\s(?=[A-Z0-9])", line):
            name = _company(segment)
            if not name or no in doc.suspicious_lines:
                continue
            before = (line[:line.find(name)] + " " + _previous_line(doc, no)).lower()
            nearby = "".join(doc.lines.line(n) for n in range(no, no + 4)).replace(" ", "")
            score = 0.1 + 0.35 * (no == first)
            score += 0.35 * any(k in before for k in VENDOR_KEYWORDS)
            score -= 0.8 * any(k in before for k in BUYER_KEYWORDS)
            score += 0.25 * any(v and v in nearby for v in vendor_ids)
            score -= 0.3 * _looks_damaged(name)
            scored[name] = max(scored.get(name, -9.0), score) + (0.15 if name in scored else 0)
            evidence.setdefault(name, line.strip())
    if not scored:
        return FieldValue(value=None, confidence=0.0)
    ranked = sorted(scored.items(), key=lambda kv: -kv[1])
    name, score = ranked[0]
    confidence = 0.5 + 0.5 * min(1.0, max(0.0, score))
    if len(ranked) > 1 and ranked[1][1] > score - 0.15:
        confidence -= 0.25
    return FieldValue(value=name, confidence=_clip(confidence), evidence=evidence[name])


def _previous_line(doc: _Doc, no: int) -> str:
    for n in range(no - 1, -1, -1):
        if doc.lines.line(n).strip():
            return doc.lines.line(n)
    return ""


def _looks_damaged(name: str) -> bool:
    """OCR damage: digits inside words, stray one-letter pieces, doubled spaces, odd accents."""
    words = name.replace("&", "").split()
    return ("  " in name or any(len(w) == 1 for w in words)
            or any(re.search(r"[A-Za-z][0-9]|[0-9][A-Za-z]", w) for w in words)
            or bool(re.search(r"[íìÍ]", name)))


def _company(segment: str) -> str | None:
    legal = list(_LEGAL.finditer(segment))
    if not legal:
        return None
    end = legal[-1].end()
    head = re.sub(r"^.*?(?:from|supplier|lieferant|von|fournisseur|émetteur|bill to|"
                  r"invoice to|customer|kunde|an|client|facturé à|destinataire)\s*:\s*", "",
                  segment[:end], flags=re.IGNORECASE).strip(" -|·,")
    words = head.split()
    if not 2 <= len(words) <= 9 or sum(c.isdigit() for c in head) > 2:
        return None
    return head


def _currency(doc: _Doc, fields: dict[str, FieldValue]) -> FieldValue:
    if not doc.currencies:
        return FieldValue(value=None, confidence=0.0)
    total_line = fields.get("total", FieldValue(value=None, confidence=0)).evidence
    near = [m.value for m in doc.currencies if total_line and doc.evidence(m) == total_line]
    codes = [m.value for m in doc.currencies]
    if near:
        return FieldValue(value=near[0], confidence=0.95 if len(set(codes)) == 1 else 0.8,
                          evidence=total_line)
    common = max(set(codes), key=codes.count)
    return FieldValue(value=common, confidence=0.75 if len(set(codes)) == 1 else 0.45)


def _clip(value: float) -> float:
    return round(min(0.99, max(0.0, value)), 4)
