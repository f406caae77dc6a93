"""Rendering for the review pages: the Jinja templates (governance/review/templates), the
`visible` filter that shows invisible characters, and form reading."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


def visible(text: Any) -> str:
    """`text` with invisible and control characters shown as ⟨U+XXXX⟩: reviewers see exactly
    what will be entered."""
    out = []
    for ch in str(text):
        if unicodedata.category(ch) in ("Cf", "Cc", "Co", "Cs", "Cn") or \
                0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF:
            out.append(f"⟨U+{ord(ch):04X}⟩")
        else:
            out.append(ch)
    return "".join(out)


TEMPLATES.env.filters["visible"] = visible


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """`template` rendered with `context`, answered with `status`."""
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)


async def form_of(request: Request) -> dict[str, str]:
    """The posted form's text fields (the last value of a repeated name wins)."""
    return {k: v for k, v in (await request.form()).multi_items() if isinstance(v, str)}
