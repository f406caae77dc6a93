"""`proctor up` / `proctor down`: what a team needs on one machine, as background processes.

- a Prefect server (SQLite under the state folder, or PostgreSQL when given a URL),
- the review service (`proctor serve`: review UI, REST API, /metrics),
- N Prefect workers of the process work pool that `prefect.yaml` deploys to.

Each runs in its own process group; `state.json` in the state folder names them, their logs
and the URLs, so `proctor down` stops exactly what `up` started. On several machines, run the
Prefect server and the review service once, and on every other machine only workers
(`prefect worker start --pool proctor-process`) with the same `PREFECT_API_URL` and
`PROCTOR_LEDGER_URL` (see the README's "Scaling out").
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

POOL = "proctor-process"
HEARTBEAT_S = 30  # Prefect's minimum
DEAD_AFTER_S = 90  # no heartbeat for this long: the run's worker died
DEAD_RUNS = "proctor: crash flow runs whose worker died"
QUEUES = ("urgent", "default", "bulk")  # the pool's work queues, highest priority first
ROOT = Path(__file__).resolve().parent.parent


class StackError(RuntimeError):
    """A part of the stack did not come up (the message names its log) or state is wrong."""


@dataclass
class Stack:
    state_dir: str
    prefect_api: str
    review_url: str
    pids: dict[str, int] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)

    @property
    def state_file(self) -> Path:
        return Path(self.state_dir) / "state.json"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of the stack's processes (and of workers added later): this
        process's, then `extra`, then the stack's Prefect home and API."""
        return {**os.environ, **(extra or {}), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_HOME": str(Path(self.state_dir) / "prefect"),
                "PREFECT_API_URL": self.prefect_api}

    def save(self) -> None:
        self.state_file.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, state_dir: Path) -> Stack | None:
        path = state_dir / "state.json"
        return cls(**json.loads(path.read_text())) if path.exists() else None


def up(state_dir: Path, *, workers: int = 2, prefect_port: int = 4200, review_port: int = 8700,
       prefect_database: str | None = None, app_limits: dict[str, int] | None = None,
       worker_limit: int | None = None, deploy: bool = False,
       env: dict[str, str] | None = None, timeout_s: float = 120) -> Stack:
    """Start the stack; returns what was started (also written to `state_dir/state.json`).

    `worker_limit` caps the flow runs each worker runs at once (default: Prefect's, unbounded);
    `deploy` deploys the flows of `prefect.yaml` once the server answers."""
    if workers < 0:
        raise StackError("--workers must be 0 or more")
    if worker_limit is not None and worker_limit < 1:
        raise StackError(f"--worker-limit must be at least 1, not {worker_limit}")
    running = Stack.load(state_dir)
    if running is not None and any(_alive(pid) for pid in running.pids.values()):
        raise StackError(f"a stack from {state_dir} is already up; `proctor down` first")
    state_dir.mkdir(parents=True, exist_ok=True)
    api = f"http://127.0.0.1:{prefect_port}/api"
    stack = Stack(str(state_dir), api, f"http://127.0.0.1:{review_port}")
    base = stack.env(env)
    try:
        server_env = {k: v for k, v in base.items() if k != "PREFECT_API_URL"}
        if prefect_database:
            server_env["PREFECT_API_DATABASE_CONNECTION_URL"] = prefect_database
        _start(stack, "prefect-server", [sys.executable, "-m", "prefect", "server", "start",
                                          "--host", "127.0.0.1", "--port", str(prefect_port)],
               server_env)
        _wait(f"{api}/health", timeout_s, stack, "prefect-server")
        for target, limit in (app_limits or {}).items():
            set_app_limit(api, target, limit)
        create_pool(api)
        watch_for_dead_runs(api)
        if deploy:
            deploy_flows(base, Path(state_dir) / "deploy.log")
        _start(stack, "review", [sys.executable, "-m", "proctor.cli", "serve", "--port",
                                 str(review_port)],
               {**base, "PROCTOR_REVIEW_BASE_URL": stack.review_url})
        _wait(f"{stack.review_url}/api/ready", timeout_s, stack, "review")
        for n in range(1, workers + 1):
            start_worker(stack, n, base, limit=worker_limit)
    except BaseException:
        down(state_dir, stack)
        raise
    return stack


def start_worker(stack: Stack, n: int, env: dict[str, str], *, limit: int | None = None,
                 queue: str | None = None) -> int:
    """Start worker `n` of the process pool (`proctor-worker-<n>`), on every work queue of the
    pool or only on `queue`; its pid.

    Its flow runs send a heartbeat every `PREFECT_FLOWS_HEARTBEAT_FREQUENCY` seconds (30 unless
    set), which is how the server tells that a run's worker died (`watch_for_dead_runs`)."""
    command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL,
               "--type", "process", "--name", f"proctor-worker-{n}"]
    if limit is not None:
        command += ["--limit", str(limit)]
    if queue is not None:
        command += ["--work-queue", queue]
    env = {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_S), **env}
    _start(stack, f"worker-{n}", command, env)
    return stack.pids[f"worker-{n}"]


def create_pool(api: str) -> None:
    """Create the process work pool (a worker would too, but deployments may come first) and
    its queues by priority: `urgent` (1), `default` (2, where prefect.yaml deploys) and
    `bulk` (3). Workers take due runs from a higher queue first."""
    api_call(api, "POST", "/work_pools/", {"name": POOL, "type": "process"}, exists_ok=True)
    for priority, name in enumerate(QUEUES, start=1):
        if api_call(api, "POST", f"/work_pools/{POOL}/queues",
                    {"name": name, "priority": priority}, exists_ok=True) is None:
            api_call(api, "PATCH", f"/work_pools/{POOL}/queues/{name}", {"priority": priority})


def watch_for_dead_runs(api: str, within_s: int = DEAD_AFTER_S) -> None:
    """Have the Prefect server mark Crashed every flow run that goes `within_s` seconds
    without a heartbeat while it is Submitting, Pending or Running: its worker or machine
    died (SIGKILL, power, OOM), so no one is left to report the end. Prefect's own mechanism
    (a proactive automation on `prefect.flow-run.heartbeat`); created once, by name. A
    crashed run is resumed with `prefect flow-run retry RUN`: Proctor's flows are safe to run
    again."""
    found = api_call(api, "POST", "/automations/filter",
                     {"automations": {"name": {"any_": [DEAD_RUNS]}}})
    if found:
        return
    ends = ["Completed", "Failed", "Cancelled", "Crashed", "Suspended"]
    api_call(api, "POST", "/automations/", {
        "name": DEAD_RUNS,
        "description": "A flow run that stopped sending heartbeats lost its worker.",
        "trigger": {
            "type": "event", "posture": "Proactive", "threshold": 1, "within": within_s,
            "match": {"prefect.resource.id": "prefect.flow-run.*"},
            # From Submitting, Pending and Running too: a run whose worker died before its
            # first heartbeat reached the server would otherwise never be looked at.
            "after": ["prefect.flow-run.Submitting", "prefect.flow-run.Pending",
                      "prefect.flow-run.Running", "prefect.flow-run.heartbeat"],
            "expect": ["prefect.flow-run.heartbeat", *(f"prefect.flow-run.{e}" for e in ends)],
            "for_each": ["prefect.resource.id"],
        },
        "actions": [{"type": "change-flow-run-state", "state": "CRASHED",
                     "message": f"No heartbeat for {within_s} s: the worker running it died."}],
    })


def deploy_flows(env: dict[str, str], log: Path) -> None:
    """`prefect deploy --all` from this repository (its flows, to the process pool)."""
    with log.open("ab") as out:
        done = subprocess.run([sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
                              env={**env, "PROCTOR_PROJECT_DIR": str(ROOT)}, cwd=ROOT, stdout=out,
                              stderr=subprocess.STDOUT, timeout=300)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-1500:]
        raise StackError(f"prefect deploy failed; its log {log} ends:\n{tail}")


def api_call(api: str, method: str, path: str, body: Any = None, *,
             exists_ok: bool = False) -> Any:
    """One call to Prefect's REST API; its JSON answer. Retried like Prefect's client does when
    the server is busy (429, or 503 while its SQLite database is locked); `exists_ok` turns a
    409 into None."""
    data = None if body is None else json.dumps(body).encode()
    for attempt in range(10):
        request = urllib.request.Request(f"{api}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                raw = answer.read()
            return json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            if exists_ok and exc.code == 409:
                return None
            if exc.code in (429, 502, 503) and attempt < 9:
                time.sleep(0.2 * 2 ** min(attempt, 4))
                continue
            raise StackError(f"Prefect refused {method} {path}: HTTP {exc.code} "
                             f"{exc.read()[:500].decode(errors='replace')}") from exc
    raise AssertionError("unreachable")


def set_app_limit(api: str, target: str, limit: int) -> None:
    """Create or change the global concurrency limit `app-<target>` (sessions per app)."""
    if limit < 1:
        raise StackError(f"the session limit for {target} must be at least 1, not {limit}")
    created = api_call(api, "POST", "/v2/concurrency_limits/",
                       {"name": f"app-{target}", "limit": limit, "active": True}, exists_ok=True)
    if created is None:  # it exists; change its limit
        api_call(api, "PATCH", f"/v2/concurrency_limits/app-{target}", {"limit": limit})


def down(state_dir: Path, stack: Stack | None = None) -> list[str]:
    """Stop what `up` started (workers first, the Prefect server last); the names stopped."""
    stack = stack or Stack.load(state_dir)
    if stack is None:
        return []
    stopped = []
    for name in sorted(stack.pids, key=lambda n: (n == "prefect-server", n == "review", n)):
        if _stop(stack.pids[name]):
            stopped.append(name)
    stack.state_file.unlink(missing_ok=True)
    return stopped


def _start(stack: Stack, name: str, command: list[str], env: dict[str, str]) -> None:
    log = Path(stack.state_dir) / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   cwd=ROOT, start_new_session=True)
    stack.pids[name], stack.logs[name] = process.pid, str(log)
    stack.save()


def _wait(url: str, timeout_s: float, stack: Stack, name: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if not _alive(stack.pids[name]):
                break
            time.sleep(0.3)
    tail = Path(stack.logs[name]).read_text(errors="replace")[-1500:]
    raise StackError(f"{name} did not answer at {url}; its log {stack.logs[name]} ends:\n{tail}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(ChildProcessError):  # reap it if it is our exited child
        os.waitpid(pid, os.WNOHANG)
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True


def _stop(pid: int, timeout_s: float = 20) -> bool:
    if not _alive(pid):
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
    return True
