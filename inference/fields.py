"""Choosing each invoice field among the candidates (`inference.candidates`), by the label
scores of their context and cross-checks: net + tax = total raises the confidence of all
three, a mismatch lowers it; a due date before the issue date lowers both; two different
IBANs, or an instruction to the machine in the text, send the IBAN to a person.
"""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import permutations

from inference.candidates import Candidates
from inference.extraction import ExtractedField
from inference.keywords import BUYER_KEYWORDS, VAT_KEYWORDS, VENDOR_KEYWORDS
from inference.patterns import Match
from inference.schema import FIELD_NAMES

_LEGAL = re.compile(r"(?:GmbH & Co\. KG|GmbH|AG|KG|e\.K\.|Ltd|Limited|LLC|Inc\.|plc|"
                    r"Corporation|SARL|SAS|SA|EURL)(?=$|[\s,;|)])")
_TOKEN = re.compile(r" {0,2}[:#.°º]? {0,2}(?:n°|no\.?|nr\.?)? {0,2}[:#]? {0,3}"
                    r"([A-Z0-9][A-Za-z0-9\-/._]{1,30})")


def choose_fields(doc: Candidates, scores: dict[int, dict[str, float]],
                  keywords: dict[str, list[str]], warnings: list[str],
                  checks: list[str]) -> dict[str, ExtractedField]:
    """Every invoice field of `doc` (`FIELD_NAMES`, in order; None where not found), given the
    label `scores` of its amount and date candidates (keyed by id(match)) and the `keywords`
    of its identifiers. Appends the cross-checks made to `checks`, and to `warnings` what a
    reviewer must know (several IBANs)."""
    fields: dict[str, ExtractedField] = {}
    fields.update(_amounts(doc, scores, checks))
    fields.update(_dates(doc, scores, checks))
    fields.update(_identifiers(doc, keywords))
    fields.update(_ibans(doc, warnings))
    fields["vat_id"] = _vat(doc)
    fields["vendor_name"] = _vendor(doc, fields)
    fields["currency"] = _currency(doc, fields)
    return {name: fields.get(name, ExtractedField(value=None, confidence=0.0))
            for name in FIELD_NAMES}


def _amounts(doc: Candidates, scores: dict[int, dict[str, float]],
             checks: list[str]) -> dict[str, ExtractedField]:
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
        return {name: ExtractedField(value=f"{m.value:.2f}", source_line=doc.source_line(m),
                                     confidence=_clip(0.6 + 0.35 * min(1.0, scores[id(m)][name])))
                for name, m in zip(("net", "tax", "total"), best[1], strict=True)}
    out = {}
    for name in ("net", "tax", "total"):
        ranked = sorted(pool, key=lambda m, n=name: -scores[id(m)][n])
        if ranked and scores[id(ranked[0])][name] >= 0.4:
            m = ranked[0]
            out[name] = ExtractedField(value=f"{m.value:.2f}", source_line=doc.source_line(m),
                                       confidence=_clip(0.25 + 0.4 * min(1.0, scores[id(m)][name])),
                                       note="not confirmed by net + tax = total")
    if len(out) == 3:
        checks.append("net + tax != total: amounts are inconsistent")
    return out


def _dates(doc: Candidates, scores: dict[int, dict[str, float]],
           checks: list[str]) -> dict[str, ExtractedField]:
    out: dict[str, ExtractedField] = {}
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
        out[name] = ExtractedField(value=m.value.isoformat(), confidence=confidence,
                                   source_line=doc.source_line(m))
    if len(chosen) == 2:
        issue, due = chosen["issue_date"].value, chosen["due_date"].value
        delta = 0.1 if due >= issue else -0.35
        checks.append("due date on or after issue date" if delta > 0 else
                      "due date BEFORE issue date")
        out = {k: v.model_copy(update={"confidence": _clip(v.confidence + delta)})
               for k, v in out.items()}
    return out


def _identifiers(doc: Candidates, table: dict[str, list[str]]) -> dict[str, ExtractedField]:
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
            out[name] = ExtractedField(value=token, confidence=_clip(weight - 0.3 * bool(rivals)),
                                       source_line=line)
    return out


def _token_after(doc: Candidates, pos: int) -> str | None:
    m = _TOKEN.match(doc.text, pos)
    return m.group(1).rstrip("._/-") if m else None


def _token_below(doc: Candidates, pos: int, width: int) -> str | None:
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


def _ibans(doc: Candidates, warnings: list[str]) -> dict[str, ExtractedField]:
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
    return {"iban": ExtractedField(value=m.value, confidence=confidence,
                                   source_line=doc.source_line(m), note=note)}


def _vat(doc: Candidates) -> ExtractedField:
    ranked = []
    for m in doc.vats:
        line = doc.lines.line(doc.lines.line_no(m.start)).lower()
        left = line[:m.start - doc.lines.starts[doc.lines.line_no(m.start)]][-40:]
        if any(k in left for k in BUYER_KEYWORDS) or doc.suspicious(m):
            continue
        ranked.append((0.9 if any(k in left for k in VAT_KEYWORDS) else 0.6, m))
    if not ranked:
        return ExtractedField(value=None, confidence=0.0)
    ranked.sort(key=lambda x: -x[0])
    score, m = ranked[0]
    if len({x[1].value for x in ranked}) > 1:
        score -= 0.35
    return ExtractedField(value=m.value, confidence=score, source_line=doc.source_line(m))


def _vendor(doc: Candidates, fields: dict[str, ExtractedField]) -> ExtractedField:
    scored: dict[str, float] = {}
    source_lines: dict[str, str] = {}
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
            source_lines.setdefault(name, line.strip())
    if not scored:
        return ExtractedField(value=None, confidence=0.0)
    ranked = sorted(scored.items(), key=lambda kv: -kv[1])
    name, score = ranked[0]
    confidence = 0.5 + 0.5 * min(1.0, max(0.0, score))
    if len(ranked) > 1 and ranked[1][1] > score - 0.15:
        confidence -= 0.25
    return ExtractedField(value=name, confidence=_clip(confidence), source_line=source_lines[name])


def _previous_line(doc: Candidates, no: int) -> str:
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


def _currency(doc: Candidates, fields: dict[str, ExtractedField]) -> ExtractedField:
    if not doc.currencies:
        return ExtractedField(value=None, confidence=0.0)
    total_line = fields.get("total", ExtractedField(value=None, confidence=0)).source_line
    near = [m.value for m in doc.currencies if total_line and doc.source_line(m) == total_line]
    codes = [m.value for m in doc.currencies]
    if near:
        return ExtractedField(value=near[0], confidence=0.95 if len(set(codes)) == 1 else 0.8,
                              source_line=total_line)
    common = max(set(codes), key=codes.count)
    return ExtractedField(value=common, confidence=0.75 if len(set(codes)) == 1 else 0.45)


def _clip(value: float) -> float:
    return round(min(0.99, max(0.0, value)), 4)
