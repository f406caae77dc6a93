"""The words around a value: left on its line, right on its line, and the column heading above.

Context windows stop at the neighbouring values and at separators (| · ;), so in
"Net 100.00 | VAT 19.00" the 19.00 is not labeled by "Net".
"""

from __future__ import annotations

from dataclasses import dataclass

from inference.patterns import Match

SEPARATORS = "|·;"
LEFT_REACH, RIGHT_REACH = 60, 24


@dataclass(frozen=True)
class Window:
    """Lower-cased context of one value."""

    left: str
    right: str
    above: str
    line: str
    line_no: int

    def text(self) -> str:
        """The context as one phrase, the value replaced by a placeholder (for embeddings)."""
        above = f"{self.above} / " if self.above else ""
        return f"{above}{self.left} [value] {self.right}".strip()


class Lines:
    """Line and column lookups over one text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        for i, c in enumerate(text):
            if c == "\n":
                self.starts.append(i + 1)

    def line_no(self, pos: int) -> int:
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= pos:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def line(self, no: int) -> str:
        if not 0 <= no < len(self.starts):
            return ""
        end = self.starts[no + 1] - 1 if no + 1 < len(self.starts) else len(self.text)
        return self.text[self.starts[no]:end]

    def window(self, match: Match, neighbours: list[Match]) -> Window:
        """The context of `match`, cut at the values in `neighbours` on the same line."""
        no = self.line_no(match.start)
        line_start = self.starts[no]
        line = self.line(no)
        col, col_end = match.start - line_start, match.end - line_start
        left_from, right_to = 0, len(line)
        for other in neighbours:
            if other is match or self.line_no(other.start) != no:
                continue
            if other.end - line_start <= col:
                left_from = max(left_from, other.end - line_start)
            elif other.start - line_start >= col_end:
                right_to = min(right_to, other.start - line_start)
        left = line[left_from:col]
        left = left[max(last_separator(left) + 1, len(left) - LEFT_REACH):]
        if "   " in left.rstrip():  # a table: the cell to the left is another column
            left = left[left.rstrip().rfind("   ") + 3:]
        right = line[col_end:right_to]
        cut = min([right.find(s) for s in SEPARATORS + "(" if s in right] or [len(right)])
        right = right[:min(cut, RIGHT_REACH)]
        if "   " in right:
            right = right[:right.find("   ")]
        above = ""
        if not any(c.isalpha() for c in left):
            above = _column(self.line(no - 1), col, col_end)
        return Window(left.lower(), right.lower(), above.lower(), line, no)


def last_separator(text: str) -> int:
    return max(text.rfind(s) for s in SEPARATORS)


def _column(line: str, col: int, col_end: int) -> str:
    """The heading in `line` over the columns [col, col_end), widened to whole words."""
    if not line or col >= len(line):
        return ""
    start, end = col, min(max(col_end, col + 4), len(line))
    while start > 0 and line[start - 1] != " ":
        start -= 1
    while end < len(line) and line[end:end + 2] != "  ":
        end += 1
    return line[start:end].strip()


def keyword_scores(window: Window, table: dict[str, list[str]]) -> dict[str, float]:
    """How strongly each label's keywords point at the value, in [0, ~1.2].

    Closer is stronger; a keyword inside a longer one ("total" in "total ht") does not count.
    """
    hits: list[tuple[str, int, int, str]] = []  # (label, start, end, side)
    for side, text in (("left", window.left), ("right", window.right), ("above",
                                                                         window.above)):
        for label, keywords in table.items():
            for keyword in keywords:
                start = text.rfind(keyword) if side == "left" else text.find(keyword)
                if start >= 0:
                    hits.append((label, start, start + len(keyword), side))
    kept = [h for h in hits if not any(o is not h and o[3] == h[3] and o[1] <= h[1]
                                       and h[2] <= o[2] and (o[2] - o[1]) > (h[2] - h[1])
                                       for o in hits)]
    scores = dict.fromkeys(table, 0.0)
    for label, start, end, side in kept:
        bonus = 1 + 0.02 * (end - start)
        if side == "left":
            score = bonus / (1 + (len(window.left) - end) / 12)
        elif side == "right":
            score = 0.8 * bonus / (1 + start / 6)
        else:
            score = 0.85 * bonus
        scores[label] = max(scores[label], score)
    return scores
