"""The REST API (OpenAPI at /api/openapi.json): the review queue for approvers, the ledger for
auditors, users and tokens for administrators, one router per resource.

Every request carries `Authorization: Bearer <token>` (no cookies: a browser on another site
cannot ride on a session); every refusal is recorded in the ledger as `access.refused`. Who may
call what is the table in `governance.identity.access`; the shared dependencies are in
`governance.review.deps`.
"""

from __future__ import annotations

from fastapi import APIRouter

from governance.review.api import approvals, audit, health, users

# In the order they are matched, and listed in the OpenAPI document.
ROUTERS: tuple[APIRouter, ...] = (health.router, approvals.router, users.router, audit.router)
