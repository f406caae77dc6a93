"""Backpressure per application with Prefect's global concurrency limits on a real Prefect
server: transactions beyond the limit queue for a slot, none fails, the limit is never
exceeded."""

from __future__ import annotations

import contextvars
import json
import threading
import time
import urllib.request

import pytest

from flows.limits import app_slot, limit_name
from proctor.stack import set_app_limit

pytestmark = pytest.mark.prefect


def test_sessions_per_app_never_exceed_the_limit_and_the_rest_queue(prefect_api: str) -> None:
    set_app_limit(prefect_api, "acme-payables", 2)
    inside, most, done = 0, 0, []
    lock = threading.Lock()

    def transaction(n: int) -> None:
        nonlocal inside, most
        with app_slot("acme-payables"):
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.6)
            with lock:
                inside -= 1
        done.append(n)

    # Each thread a worker of the same Prefect server (the test's settings go with it).
    threads = [threading.Thread(target=contextvars.copy_context().run, args=(transaction, n))
               for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(done) == list(range(6))  # all queued and ran, none failed
    assert most == 2  # the limit was reached and never exceeded
    set_app_limit(prefect_api, "acme-payables", 3)  # changing it works too
    with urllib.request.urlopen(f"{prefect_api}/v2/concurrency_limits/"
                                f"{limit_name('acme-payables')}", timeout=5) as answer:
        assert json.load(answer)["limit"] == 3


def test_an_app_without_a_limit_is_not_throttled(prefect_api: str) -> None:
    with app_slot("no-such-app"):
        pass  # no limit of that name: runs at once
