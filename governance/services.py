"""`Governance`: the services a flow, a command or the review service works with, wired
together by the composition root (`proctor.composition.build`). Defined here, not in the
composition root, so that governance's own services (the review app, the REST API) can take
one without importing the root: the arrows point into governance, never out of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from audit import Checkpoints, LedgerReader, LedgerWriter
from audit.redaction import Redactor
from governance.approvals.store import Approvals
from governance.gate import Gate
from governance.identity.users import Identity
from governance.policy.port import PolicyEngine

if TYPE_CHECKING:
    from governance.review.search import LedgerSearch


@dataclass(frozen=True)
class Governance:
    """Everything a flow or a command needs, wired together. `settings` is the root settings
    the services were built from (`proctor.settings.Settings`); governance's services read
    only their own part of it (`settings.review`, and `settings.evidence.dir` for the
    evidence the review pages show)."""

    settings: Any
    engine: Engine
    writer: LedgerWriter
    reader: LedgerReader
    checkpoints: Checkpoints
    approvals: Approvals
    identity: Identity
    redactor: Redactor
    policy: PolicyEngine
    gate: Gate
    open_search: Callable[[Governance], LedgerSearch] | None = None

    def ledger_search(self) -> LedgerSearch:
        """The auditors' semantic search over this ledger, as the composition root wires it
        (`proctor.composition.ledger_search`; it loads an embedding model: keep the result)."""
        if self.open_search is None:
            raise RuntimeError("this Governance was wired without a ledger search: build it "
                               "with proctor.composition.build()")
        return self.open_search(self)
