"""The ledger's one table: an append-only list of hash-chained entries."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Field, SQLModel


class LedgerEntry(SQLModel, table=True):
    """One recorded event: a proposal, a decision, an approval event or an outcome.

    `payload` holds the event's details as canonical JSON text; the hash covers that exact text.
    """

    __tablename__ = "ledger_entries"

    seq: int = Field(primary_key=True, description="1, 2, 3, ... with no gap")
    recorded_at: str = Field(description="UTC time, ISO 8601 with microseconds")
    kind: str = Field(index=True, description="event type, e.g. 'action.proposed'")
    actor: str = Field(index=True, description="who caused the event (robot, person, engine)")
    flow_run_id: str | None = Field(default=None, index=True)
    action_id: str | None = Field(default=None, index=True)
    action_kind: str | None = Field(default=None, index=True)
    idempotency_key: str | None = Field(default=None, index=True)
    payload: str = Field(default="{}", description="canonical JSON of the event's details")
    prev_hash: str
    entry_hash: str = Field(unique=True)

    def data(self) -> dict[str, Any]:
        """The payload as a Python object."""
        return json.loads(self.payload)

    def hashed_fields(self) -> dict[str, Any]:
        return self.model_dump()
