"""Review-queue benchmark: a queue of 10,000 pending requests, served over real HTTP.

Fills the approvals store through the service itself (`Approvals.open`, each request with its
ledger entry), starts the review service (uvicorn on loopback) and measures, side by side:

- the queue page (HTML, signed in as an approver): the first page, pages deep in the queue
  reached by following "next", and a filtered page (policy reason + amount);
- the list API (`GET /api/approvals`, bearer token): the first page and deep pages by cursor;
- the ratio of a deep page to the first page (keyset pagination: depth should cost nothing);
- beside them, the floor: `GET /api/health` on the same server (no database, no session), the
  cost of one HTTP round trip on this machine's loopback.

    python -m bench.approvals [--requests 10000] [--samples 200] [--postgres]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from audit.settings import LedgerSettings
from bench.common import POSTGRES, postgres_url, report
from governance.models import Action
from governance.review.app import serving
from governance.review.settings import ReviewSettings
from proctor.composition import Governance, build
from proctor.settings import Settings

PASSWORD = "benchmark-password-1"


def fill(governance: Governance, n: int) -> float:
    """Open `n` pending payment requests (amounts above the approval limit); requests/s."""
    started = time.perf_counter()
    decision = None
    for i in range(n):
        action = Action(kind="acme.release_payment", target="acme-payables",
                        robot="robot:acme-payables", requested_by="alice",
                        idempotency_key=f"bench:release:{i}",
                        params={"vendor": "Globex Corporation", "invoice_number": f"INV-{i:05d}",
                                "amount": f"{12_000 + (i % 5000) * 7}.00", "currency": "EUR"},
                        context={"invoice_status": "entered"})
        if decision is None:  # every request shares the policy's answer; decide once
            decision = governance.policy.decide(action.policy_input())
            assert decision.outcome == "require_approval", decision
        governance.approvals.open(action, decision)
    return n / (time.perf_counter() - started)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50 ms": statistics.median(ordered) * 1000,
            "p95 ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000}


def timed(n: int, call: Callable[[], httpx.Response]) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = call()
        times.append(time.perf_counter() - started)
        response.raise_for_status()
    return times


def deep_pages(first: str, fetch: Callable[[str], httpx.Response],
               next_of: Callable[[httpx.Response], str | None], limit: int) -> list[float]:
    """Follow "next" from `first` for up to `limit` pages; the time of each page."""
    times, url = [], first
    while url and len(times) < limit:
        started = time.perf_counter()
        response = fetch(url)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
        url = next_of(response)
    return times


def sign_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]*)"', form).group(1)  # type: ignore[union-attr]
    answer = client.post("/login", data={"username": "bob", "password": PASSWORD,
                                         "csrf_token": token, "next": "/queue"})
    if answer.status_code != 303:
        raise SystemExit(f"could not sign in to the review service: {answer.status_code}")
    return client


def html_next(response: httpx.Response) -> str | None:
    found = re.search(r'href="(/queue\?[^"]*after=[^"]+)"', response.text)
    return found.group(1).replace("&amp;", "&") if found else None


def measure(settings: Settings, n: int, samples: int) -> list[dict[str, Any]]:
    governance = build(settings, resume_runs=False)
    governance.identity.add_user("alice", PASSWORD, roles={"author"})
    governance.identity.add_user("bob", PASSWORD, roles={"approver"},
                                 groups={"finance-approvers"})
    per_s = fill(governance, n)
    token = governance.identity.create_token("bob")
    rows: list[dict[str, Any]] = []
    with serving(governance, sweep=False) as url:
        web = sign_in(url)
        api = httpx.Client(base_url=url, timeout=30,
                           headers={"Authorization": f"Bearer {token}"})
        floor = timed(samples, lambda: api.get("/api/health"))
        first_html = timed(samples, lambda: web.get("/queue"))
        deep_html = deep_pages("/queue", web.get, html_next, limit=samples)
        filtered = timed(samples, lambda: web.get(
            "/queue", params={"reason": "amount_over_approval_limit", "min_amount": "30000"}))
        first_api = timed(samples, lambda: api.get("/api/approvals", params={"limit": 50}))
        deep_api = deep_pages(
            "/api/approvals?limit=50", api.get,
            lambda r: (f"/api/approvals?limit=50&cursor={r.json()['next_cursor']}"
                       if r.json().get("next_cursor") else None), limit=samples)
        total = api.get("/api/approvals", params={"limit": 1}).json()["total"]
    assert total == n, f"queue holds {total}, expected {n}"
    for what, times in (("floor: GET /api/health (no database)", floor),
                        ("queue page 1 (HTML)", first_html),
                        (f"queue pages 1..{len(deep_html)} by next (HTML)", deep_html),
                        ("queue, reason + amount filter (HTML)", filtered),
                        ("list API page 1", first_api),
                        (f"list API pages 1..{len(deep_api)} by cursor", deep_api)):
        rows.append({"measure": what, **percentiles(times), "samples": len(times)})
    rows.append({"measure": "deep / first page p50 (HTML)",
                 "ratio": statistics.median(deep_html) / statistics.median(first_html)})
    rows.append({"measure": "deep / first page p50 (API)",
                 "ratio": statistics.median(deep_api) / statistics.median(first_api)})
    rows.append({"measure": "requests opened per second (with ledger entry)", "value": per_s})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.approvals", description=__doc__)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--postgres", action="store_true",
                        help=f"store the queue and ledger on PostgreSQL ({POSTGRES})")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = postgres_url("bench_approvals") if args.postgres \
            else f"sqlite:///{root / 'proctor.db'}"
        if url is None:
            raise SystemExit(f"--postgres: no PostgreSQL answers at {POSTGRES}")
        settings = Settings(
            user="alice",
            ledger=LedgerSettings(url=url, signing_key=root / "ledger.pem",
                                  redaction_key=root / "redaction.key",
                                  checkpoint_dir=root / "checkpoints", checkpoint_every=0),
            review=ReviewSettings(secure_cookies=False))
        rows = measure(settings, args.requests, args.samples)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    report("approvals", [{"backend": backend, **row} for row in rows], [
        f"{args.requests:,} pending requests in one approver group; 50 per page",
        "each figure is one HTTP round trip on loopback (uvicorn, one process)",
    ])


if __name__ == "__main__":
    main()
