"""The ledger's two sides: `LedgerWriter` appends durable entries, `LedgerReader` reads them.

    writer = LedgerWriter(engine)
    entry = writer.append("order.shipped", actor="robot:warehouse", payload={...})
    LedgerReader(engine).verify().ok   # True while nobody edited the table behind our back

The ledger knows no event names: what the entries mean (which kinds settle a business
transaction, which entry says who proposed or decided an action) is the caller's to say, with
`LedgerReader.last_of` and the `ActionFilter`s a reader is given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, or_
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from audit.chain import GENESIS_HASH, Verification, canonical_json, entry_hash
from audit.checkpoints import Checkpoint, Checkpoints
from audit.entries import LedgerEntry
from audit.errors import LedgerWriteError
from audit.redaction import Redactor
from audit.store import WRITE_OPTION, lock_for_append
from audit.verify import verify_log

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One thing to record: what happened, who caused it, and its details."""

    kind: str
    actor: str
    payload: dict[str, Any] | None = None
    flow_run_id: str | None = None
    action_id: str | None = None
    action_kind: str | None = None
    idempotency_key: str | None = None
    sensitive: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class ActionFilter:
    """A filter over actions, not entries: it selects every entry of the actions that have one
    entry of `kind` whose actor is the value (`by_actor`), or whose payload holds the canonical
    JSON fragment `fragment(value)`. `check` refuses a malformed value (raises `ValueError`)
    before anything is read. Whoever writes the entries names the filters (see
    `LedgerReader(action_filters=...)`); the ledger only runs them."""

    kind: str
    by_actor: bool = False
    fragment: Callable[[str], str] | None = None
    check: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        if self.by_actor == (self.fragment is not None):
            raise ValueError("an ActionFilter matches the actor or a payload fragment, not both")


class LedgerWriter:
    """Appends entries; `append` returns only once the entry is committed (durable)."""

    def __init__(self, engine: Engine, *, redactor: Redactor | None = None,
                 checkpoints: Checkpoints | None = None, checkpoint_every: int = 0) -> None:
        self._engine = engine
        self._redactor = redactor or Redactor(None)
        self._checkpoints = checkpoints
        self._checkpoint_every = checkpoint_every

    @property
    def engine(self) -> Engine:
        """The database the ledger is written to."""
        return self._engine

    def append(self, kind: str, *, actor: str, **details: Any) -> LedgerEntry:
        """Record one event at the end of the chain (see `Event` for the details it takes).

        Raises `LedgerWriteError` when the entry could not be made durable; then nothing was
        recorded and the caller must not carry out what the entry describes.
        """
        return self.append_all([Event(kind, actor, **details)])[0]

    def append_all(self, events: list[Event]) -> list[LedgerEntry]:
        """Record several events in one durable transaction: all of them, or none.

        Secrets in payloads (and fields an event marks `sensitive`) are replaced by keyed hashes
        before anything is written.
        """
        rows = [self._fields(event) for event in events]
        try:
            with self._engine.connect() as conn:
                conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin(), Session(bind=conn) as session:
                    lock_for_append(conn)
                    entries = self._chain(session, rows)
                    session.add_all(entries)
                    session.flush()
                    session.expunge_all()
        except SQLAlchemyError as exc:
            kinds = ", ".join(e.kind for e in events)
            raise LedgerWriteError(
                f"could not record '{kinds}' in the ledger: {_reason(exc)}. Nothing was done; "
                "check that the ledger database is reachable, writable and has free space."
            ) from exc
        every = self._checkpoint_every
        if self._checkpoints and every and entries[-1].seq // every > (entries[0].seq - 1) // every:
            self._checkpoint()
        return entries

    def _fields(self, event: Event) -> dict[str, Any]:
        key = event.idempotency_key
        return {
            "recorded_at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "kind": event.kind,
            "actor": event.actor,
            "flow_run_id": event.flow_run_id,
            "action_id": event.action_id,
            "action_kind": event.action_kind,
            "idempotency_key": self._redactor.text(key) if key else None,
            "payload": canonical_json(self._redactor.payload(event.payload or {},
                                                             event.sensitive)),
        }

    def _checkpoint(self) -> None:
        try:
            self._checkpoints.make()  # type: ignore[union-attr]
        except Exception as exc:  # the entry is durable; a missed checkpoint is made next time
            log.warning("could not make a ledger checkpoint: %s", exc)

    @staticmethod
    def _chain(session: Session, rows: list[dict[str, Any]]) -> list[LedgerEntry]:
        last = session.exec(select(LedgerEntry.seq, LedgerEntry.entry_hash)
                            .order_by(col(LedgerEntry.seq).desc()).limit(1)).first()
        seq, prev = (last[0], last[1]) if last else (0, GENESIS_HASH)
        entries = []
        for fields in rows:
            seq += 1
            fields = {**fields, "seq": seq, "prev_hash": prev}
            prev = entry_hash(fields)
            entries.append(LedgerEntry(**fields, entry_hash=prev))
        return entries


class LedgerReader:
    """Reads, searches and verifies the ledger; `action_filters` are the named filters over
    actions (`ActionFilter`) that `query` accepts besides the entry filters."""

    def __init__(self, engine: Engine, *, redactor: Redactor | None = None,
                 action_filters: Mapping[str, ActionFilter] | None = None) -> None:
        self._engine = engine
        self._redactor = redactor or Redactor(None)
        self._action_filters = dict(action_filters or {})

    def query(self, limit: int | None = None, **filters: Any) -> list[LedgerEntry]:
        """Entries matching every filter, oldest first (the last `limit` when given).

        Entry filters: flow_run_id, action_kind, actor, kind, idempotency_key, action_id, seq,
        since / until (ISO 8601 UTC, inclusive), text (in the payload, actor, kind or action
        kind). The reader's action filters (`ActionFilter`, by name) select every entry of the
        actions that match. An unknown filter or a malformed value raises `ValueError`.
        """
        stmt = select(LedgerEntry)
        for condition in _conditions(self._redactor, self._action_filters, filters):
            stmt = stmt.where(condition)
        stmt = stmt.order_by(col(LedgerEntry.seq).desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        with Session(self._engine) as session:
            return list(reversed(session.exec(stmt).all()))

    def story(self, action_id: str) -> list[LedgerEntry]:
        """Everything recorded about one action, from proposal to outcome."""
        return self.query(action_id=action_id)

    def tail(self, n: int = 20) -> list[LedgerEntry]:
        """The last `n` entries, oldest first."""
        return self.query(limit=n)

    def count(self) -> int:
        with Session(self._engine) as session:
            return session.exec(select(func.count()).select_from(LedgerEntry)).one()

    def last_of(self, idempotency_key: str, kinds: Collection[str]) -> LedgerEntry | None:
        """The latest entry of one of `kinds` recorded for a business transaction (its
        idempotency key), or None."""
        stmt = (
            select(LedgerEntry)
            .where(LedgerEntry.idempotency_key == self._redactor.text(idempotency_key))
            .where(col(LedgerEntry.kind).in_(list(kinds)))
            .order_by(col(LedgerEntry.seq).desc())
            .limit(1)
        )
        with Session(self._engine) as session:
            return session.exec(stmt).first()

    def verify(self, checkpoints: Sequence[Checkpoint] = (),
               public_key: Ed25519PublicKey | None = None, batch: int = 5000) -> Verification:
        """Walk the whole chain, checking each signed checkpoint on the way; report the first
        entry that was altered, removed, moved, forked or truncated."""
        return verify_log(self.rows(batch), checkpoints, public_key)

    def rows(self, batch: int = 5000, after: int = 0) -> Iterator[dict[str, Any]]:
        """Every entry after `after` as a dict, in order, read in batches (plain rows:
        verification is hot)."""
        table = LedgerEntry.__table__
        while True:
            with self._engine.connect() as conn:
                page = conn.execute(table.select().where(table.c.seq > after)
                                    .order_by(table.c.seq).limit(batch)).mappings().all()
            if not page:
                return
            yield from (dict(row) for row in page)
            after = page[-1]["seq"]


_EQUAL = ("flow_run_id", "action_kind", "actor", "kind", "action_id", "seq")
_ENTRY_FILTERS = {*_EQUAL, "idempotency_key", "since", "until", "text"}


def _conditions(redactor: Redactor, actions: Mapping[str, ActionFilter],
                filters: dict[str, Any]) -> list[Any]:
    unknown = set(filters) - _ENTRY_FILTERS - set(actions)
    if unknown:
        raise ValueError(f"unknown ledger filter(s): {', '.join(sorted(unknown))}")
    given = {k: v for k, v in filters.items() if v is not None}
    for name, action_filter in actions.items():
        if name in given and action_filter.check is not None:
            action_filter.check(given[name])
    out = [getattr(LedgerEntry, name) == given[name] for name in _EQUAL if name in given]
    if "idempotency_key" in given:
        out.append(LedgerEntry.idempotency_key == redactor.text(given["idempotency_key"]))
    if "since" in given:
        out.append(col(LedgerEntry.recorded_at) >= given["since"])
    if "until" in given:
        out.append(col(LedgerEntry.recorded_at) <= given["until"])
    if "text" in given:
        like = f"%{given['text']}%"
        out.append(or_(col(LedgerEntry.payload).like(like), col(LedgerEntry.actor).like(like),
                       col(LedgerEntry.kind).like(like), col(LedgerEntry.action_kind).like(like)))
    out += [col(LedgerEntry.action_id).in_(_actions(action_filter, str(given[name])))
            for name, action_filter in actions.items() if name in given]
    return out


def _actions(action_filter: ActionFilter, value: str) -> Any:
    """The ids of the actions with an entry that `action_filter` matches for `value`. Payloads
    are canonical JSON, so a fragment match is exact."""
    ids = select(LedgerEntry.action_id).where(LedgerEntry.kind == action_filter.kind)
    if action_filter.by_actor:
        return ids.where(LedgerEntry.actor == value)
    fragment = action_filter.fragment(value)  # type: ignore[misc]
    return ids.where(col(LedgerEntry.payload).like(f"%{fragment}%"))


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    return str(original or exc).splitlines()[0]
