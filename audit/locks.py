"""The key lock: one attempt at a time per idempotency key, across threads, processes and
machines.

`key_lock(engine, key)` is held while an attempt runs. On PostgreSQL it is a
session-level advisory lock on a dedicated connection; on SQLite an exclusive `flock` on a
file in `.<database name>.locks/` beside the database. Either way a worker that dies (even by
SIGKILL) lets go at once: its connection or file descriptor goes with it, so a crash never
blocks the retry that reconciles.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine


class KeyBusy(Exception):
    """Another attempt holds the key lock longer than we may wait."""


@contextmanager
def key_lock(engine: Engine, key: str, wait_s: float = 60.0) -> Iterator[None]:
    """Hold the key lock of idempotency key `key`; raises `KeyBusy` after `wait_s`."""
    digest = hashlib.sha256(key.encode()).digest()
    if engine.dialect.name == "postgresql":
        number = int.from_bytes(digest[:8], "big", signed=True)
        with engine.connect() as conn:
            _until(wait_s, key, lambda: bool(conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": number}).scalar()))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": number})
                conn.commit()
        return
    database = (engine.url.database or "").removeprefix("file:").split("?")[0]  # URI form too
    if not database or database == ":memory:":
        yield  # one process, one connection: nothing to race with
        return
    path = Path(database)
    folder = path.parent / f".{path.name}.locks"  # hidden: globs for the database skip it
    folder.mkdir(exist_ok=True)
    fd = os.open(folder / f"{digest.hex()[:32]}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _until(wait_s, key, lambda: _try_flock(fd))
        yield
    finally:
        os.close(fd)  # releases the lock


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _until(wait_s: float, key: str, attempt) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + wait_s
    while not attempt():
        if time.monotonic() >= deadline:
            raise KeyBusy(f"another attempt at {key!r} has been running for over "
                          f"{wait_s:.0f} s")
        time.sleep(0.05)
