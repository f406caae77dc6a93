"""Many invoice-entry runs through real Prefect workers: `proctor up` with N workers, the flows
deployed, runs submitted through Prefect's API. The harness of the load test, the crash test
and the throughput benchmark; every part is the real one (Prefect server and workers, Chromium,
the Acme app, the ledger)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from uuid import uuid4

from demo.services import free_port
from demo.workbook import write_workbook
from proctor.stack import POOL, Stack, api_call, down, start_worker, up

VENDORS = [("Globex Corporation", "DE89370400440532013000"),
           ("Initech GmbH", "DE02120300000000202051"),
           ("Wayne Logistics", "FR1420041010050500013M02606")]


def invoice_rows(prefix: str, count: int) -> list[tuple[str, ...]]:
    """`count` ordinary invoices (approved vendors, under every approval limit), numbered
    `<prefix>-1`, `<prefix>-2`, ..."""
    rows = []
    for n in range(1, count + 1):
        vendor, iban = VENDORS[n % len(VENDORS)]
        rows.append((f"{prefix}-{n}", vendor, iban, f"{100 + n}.00", "EUR", "2026-11-02",
                     "2026-12-02", f"Load {prefix}"))
    return rows


class Fleet:
    """A running stack with the invoice-entry deployment; submit runs, watch them, kill
    workers."""

    def __init__(self, stack: Stack, env: dict[str, str], folder: Path,
                 worker_limit: int) -> None:
        self.stack, self.env, self.folder = stack, env, folder
        self.worker_limit = worker_limit
        self._lock = threading.Lock()  # lanes of a test add and kill workers side by side
        self.api = stack.prefect_api
        self.deployment_id = self.call(
            "GET", "/deployments/name/invoice-entry/invoice-entry")["id"]

    @classmethod
    @contextmanager
    def start(cls, folder: Path, env: dict[str, str], *, workers: int, worker_limit: int = 1,
              app_limit: int | None = None, prefect_database: str | None = None,
              ) -> Iterator[Fleet]:
        """`proctor up` (workers poll every second), the flows deployed; stopped at the end."""
        env = {**env, "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "5"}
        state = folder / "up"
        stack = up(state, workers=workers, prefect_port=free_port(), review_port=free_port(),
                   prefect_database=prefect_database, worker_limit=worker_limit, deploy=True,
                   app_limits={"acme-payables": app_limit} if app_limit else None, env=env)
        try:
            yield cls(stack, stack.env(env), folder, worker_limit)
        finally:
            down(state, stack)

    def call(self, method: str, path: str, body: Any = None, *, exists_ok: bool = False) -> Any:
        return api_call(self.api, method, path, body, exists_ok=exists_ok)

    def submit(self, name: str, rows: list[tuple[str, ...]], queue: str | None = None) -> str:
        """A flow run of invoice-entry over a new workbook of `rows` (on work queue `queue`, or
        the deployment's); its id."""
        book = self.workbook(name)
        write_workbook(book, rows)
        body: dict[str, Any] = {"name": name, "parameters": {"workbook": str(book)}}
        if queue is not None:
            self.call("POST", f"/work_pools/{POOL}/queues", {"name": queue}, exists_ok=True)
            body["work_queue_name"] = queue
        run = self.call("POST", f"/deployments/{self.deployment_id}/create_flow_run", body)
        return str(run["id"])

    def workbook(self, name: str) -> Path:
        """The workbook of run `name` (its results: `.with_suffix(".results.xlsx")`)."""
        return self.folder / "books" / f"{name}.xlsx"

    def states(self, run_ids: Iterable[str]) -> dict[str, str]:
        """Each run's state name (Scheduled, Pending, Running, Completed, Crashed, ...)."""
        ids = list(run_ids)
        found: dict[str, str] = {}
        for start in range(0, len(ids), 200):
            chunk = ids[start:start + 200]
            runs = self.call("POST", "/flow_runs/filter",
                             {"flow_runs": {"id": {"any_": chunk}}, "limit": len(chunk)})
            found.update({r["id"]: r["state"]["name"] if r["state"] else "?" for r in runs})
        return found

    def wait(self, run_ids: Iterable[str], until: Iterable[str], timeout_s: float) -> dict[str,
                                                                                         str]:
        """Poll until every run is in one of the states `until`; their states. Raises with the
        stragglers' states (and the workers' logs' ends) at the timeout."""
        ids, wanted = list(run_ids), set(until)
        deadline = time.monotonic() + timeout_s
        while True:
            states = self.states(ids)
            if all(states.get(i) in wanted for i in ids):
                return states
            if time.monotonic() > deadline:
                late = {i: states.get(i) for i in ids if states.get(i) not in wanted}
                raise AssertionError(f"{len(late)} runs not {sorted(wanted)} after "
                                     f"{timeout_s:.0f} s: {late}\n{self.worker_logs()}")
            time.sleep(1)

    def retry(self, run_id: str) -> None:
        """What `prefect flow-run retry RUN` does: schedule a finished run again."""
        self.call("POST", f"/flow_runs/{run_id}/set_state",
                  {"state": {"type": "SCHEDULED", "message": "retried after a crash"},
                   "force": True})

    def add_worker(self, n: int, queue: str | None = None) -> int:
        with self._lock:
            return start_worker(self.stack, n, self.env, limit=self.worker_limit, queue=queue)

    def kill_worker(self, n: int) -> int:
        """SIGKILL worker `n` and everything it started (its flow runs and their browsers):
        the machine under it died. How many processes died."""
        with self._lock:
            pid = self.stack.pids.pop(f"worker-{n}")
            self.stack.save()
        return kill_tree(pid)

    def worker_logs(self, tail: int = 1500) -> str:
        logs = [Path(p) for name, p in self.stack.logs.items() if name.startswith("worker")]
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-tail:]}"
                         for p in logs if p.exists())


def kill_tree(pid: int) -> int:
    """SIGKILL `pid` and all its descendants (each frozen first, until no new one appears, so
    none escapes by forking or being re-parented); the number of processes killed."""
    frozen: list[int] = []
    while True:
        fresh = [p for p in _descendants(pid) if p not in frozen]
        if not fresh:
            break
        for member in fresh:
            _signal(member, signal.SIGSTOP)
        frozen += fresh
    for member in frozen:
        _signal(member, signal.SIGKILL)
    for member in frozen:  # reap the ones that are our children
        with suppress(ChildProcessError):
            os.waitpid(member, os.WNOHANG)
    return len(frozen)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def _signal(pid: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signum)


@contextmanager
def postgres_databases(admin_url: str) -> Iterator[tuple[str, str]]:
    """A fresh ledger schema and a fresh database for Prefect's server, on the PostgreSQL
    server of `admin_url` (a psycopg URL of a user who may create databases); yields (ledger
    URL, Prefect database URL) and drops both afterwards."""
    from sqlalchemy import create_engine, text

    name = f"proctor_{uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS ledger_{name}"))
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield (f"{admin_url}?options=-csearch_path%3Dledger_{name}",
               base.replace("postgresql+psycopg", "postgresql+asyncpg") + f"/{name}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS ledger_{name} CASCADE"))
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
