"""Backpressure for legacy apps: at most N sessions per target application, across every
worker, with Prefect's global concurrency limits (`app-<target>`, set by
`proctor up --app-limit acme-payables=2` or `prefect gcl create app-acme-payables --limit 2`).

A transaction that finds the limit reached waits for a slot (queued, not failed). Without a
limit of that name it runs unthrottled. A slot is a lease the holder renews while it works; the
lease of a holder that died (SIGKILL, a lost machine) lapses after `SLOT_LEASE_S` and the slot
goes back to the others."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.concurrency.sync import concurrency

SLOT_LEASE_S = 60  # Prefect's shortest lease


def limit_name(target: str) -> str:
    return f"app-{target}"


@contextmanager
def app_slot(target: str) -> Iterator[None]:
    """Hold one of `target`'s slots for the duration of one business transaction."""
    with concurrency(limit_name(target), occupy=1, strict=False, lease_duration=SLOT_LEASE_S):
        yield
