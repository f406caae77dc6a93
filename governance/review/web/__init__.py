"""The review UI: server-rendered pages for approvers (and read-only for authors, auditors and
administrators), usable without JavaScript, one router per page group.

Every page needs a session (`/login`); every state change is a POST carrying the session's CSRF
token; a high-risk request asks for the password again; what the approver sees is what their
vote is bound to (the form carries the request's `view_digest`). The shared dependencies are in
`governance.review.deps`, the templates in `governance/review/templates`.
"""

from __future__ import annotations

from fastapi import APIRouter

from governance.review.web import login, queue, requests

# In the order they are matched.
ROUTERS: tuple[APIRouter, ...] = (login.router, queue.router, requests.router)
