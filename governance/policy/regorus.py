"""Rego evaluated in process by regorus (PyPI `celine-regorus`).

    engine = RegorusEngine(Path("policies"))
    engine.decide({"action": {...}, "context": {...}})   # -> Decision, never raises
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import threading
import time
import weakref
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regorus

from governance.errors import PolicyError
from governance.models import Decision
from governance.policy.port import (
    data_files,
    decision_from,
    policy_files,
    policy_revision,
    test_files,
)

ENTRYPOINT = "data.proctor.decision"
WAIT_GRACE_S = 2.0  # how much longer than the timeout a busy machine may take to answer
_TEST_RULE = re.compile(r"^\s*(test_[A-Za-z0-9_]+)\b", re.MULTILINE)


class RegorusEngine:
    """Loads every `.rego` and `data.json` under `policy_dir` once and decides with them.

    Fail closed: a load error, an evaluation error, an undefined or malformed result, or an
    evaluation slower than `timeout_ms` gives a deny whose reason names the failure. Slower
    means more than `timeout_ms` of the engine's CPU time, or no answer `WAIT_GRACE_S` after
    that: a busy machine (many workers on few cores) delays an answer, it does not make it
    wrong, while a runaway policy is cut off either way.
    """

    def __init__(self, policy_dir: Path, *, timeout_ms: float = 250, entrypoint: str = ENTRYPOINT):
        self.policy_dir = Path(policy_dir)
        self.timeout_ms = timeout_ms
        self.entrypoint = entrypoint
        self._revision = policy_revision(self.policy_dir) if self.policy_dir.is_dir() else ""
        self._worker = _EngineThread(self.policy_dir, entrypoint)
        self._load_error = self._worker.loaded.result()
        weakref.finalize(self, self._worker.stop)

    @property
    def revision(self) -> str:
        return self._revision

    def decide(self, policy_input: dict[str, Any]) -> Decision:
        try:
            raw = self.evaluate(policy_input)
        except PolicyError as exc:
            return Decision.deny(str(exc), self._revision)
        return decision_from(raw, self._revision, self.entrypoint)

    def evaluate(self, policy_input: dict[str, Any]) -> Any:
        """The entrypoint's raw value for `policy_input` (None when undefined); raises
        `PolicyError` naming the problem (not loaded, failed, too slow)."""
        if self._load_error is not None:
            raise PolicyError(f"policy_load_error: {self._load_error}")
        limit_s = self.timeout_ms / 1000
        try:
            raw, elapsed_s = self._worker.evaluate(policy_input).result(limit_s + WAIT_GRACE_S)
        except FutureTimeout:
            elapsed_s = float("inf")
        except PolicyError as exc:
            raise PolicyError(f"policy_error: {exc}") from None
        if elapsed_s > limit_s:
            raise PolicyError(f"policy_timeout: no answer within {self.timeout_ms} ms")
        return raw


class _EngineThread(threading.Thread):
    """Owns one regorus engine for its whole life.

    A regorus engine may only be used and dropped by the thread that made it; this thread makes
    it, evaluates every input with it and drops it when stopped. It also lets a caller stop
    waiting once the timeout has passed.
    """

    def __init__(self, policy_dir: Path, entrypoint: str) -> None:
        super().__init__(name="regorus", daemon=True)
        self._policy_dir = policy_dir
        self._entrypoint = entrypoint
        self._inbox: queue.SimpleQueue[tuple[dict[str, Any], Future] | None] = queue.SimpleQueue()
        self.loaded: Future[str | None] = Future()  # None, or why the policies did not load
        self.start()

    def evaluate(self, policy_input: dict[str, Any]) -> Future[tuple[Any, float]]:
        future: Future[tuple[Any, float]] = Future()
        self._inbox.put((policy_input, future))
        return future

    def stop(self) -> None:
        self._inbox.put(None)

    def run(self) -> None:
        try:
            engine = load_engine(self._policy_dir, policy_files(self._policy_dir))
            with contextlib.suppress(PolicyError):  # warm up: the first evaluation prepares
                self._evaluate(engine, {})           # the rules, not part of any decision
            self.loaded.set_result(None)
        except PolicyError as exc:
            self.loaded.set_result(str(exc))
            return
        while (item := self._inbox.get()) is not None:
            policy_input, future = item
            try:
                future.set_result(self._evaluate(engine, policy_input))
            except PolicyError as exc:
                future.set_exception(PolicyError(str(exc)))

    def _evaluate(self, engine: regorus.Engine, policy_input: dict[str, Any]) -> tuple[Any, float]:
        started = time.thread_time()  # this thread's CPU time: what the policy itself costs
        try:
            engine.set_input_json(json.dumps(policy_input))
            raw = json.loads(engine.eval_rule_as_json(self._entrypoint))
        except (RuntimeError, ValueError, TypeError) as exc:
            raise PolicyError(_first_line(exc)) from None
        return raw, time.thread_time() - started


def load_engine(policy_dir: Path, modules: list[Path]) -> regorus.Engine:
    """A regorus engine holding `modules` and every data file; raises `PolicyError`."""
    if not policy_dir.is_dir():
        raise PolicyError(f"policy directory {policy_dir} does not exist")
    if not modules:
        raise PolicyError(f"no .rego files under {policy_dir}")
    engine = regorus.Engine()
    for path in modules:
        try:
            engine.add_policy(path.relative_to(policy_dir).as_posix(), path.read_text("utf-8"))
        except RuntimeError as exc:
            raise PolicyError(f"{path.name}: {_first_line(exc)}") from exc
    for path in data_files(policy_dir):
        try:
            engine.add_data_json(path.read_text("utf-8"))
        except (RuntimeError, ValueError) as exc:
            raise PolicyError(f"{path.name}: {_first_line(exc)}") from exc
    return engine


@dataclass(frozen=True)
class RegoTestResult:
    name: str
    passed: bool
    detail: str = ""


def run_rego_tests(policy_dir: Path) -> list[RegoTestResult]:
    """Run every `test_*` rule of every `*_test.rego` file (what `opa test` does).

    A test passes when its rule evaluates to true; false, undefined or an error fails it.
    """
    tests = test_files(policy_dir)
    engine = load_engine(policy_dir, policy_files(policy_dir) + tests)
    results = []
    for path in tests:
        package = _package_of(path.read_text("utf-8"))
        for rule in dict.fromkeys(_TEST_RULE.findall(path.read_text("utf-8"))):
            results.append(_run_one(engine, f"data.{package}.{rule}", f"{path.name}::{rule}"))
    return results


def _run_one(engine: regorus.Engine, path: str, name: str) -> RegoTestResult:
    try:
        value = json.loads(engine.eval_rule_as_json(path))
    except RuntimeError as exc:
        return RegoTestResult(name, False, _first_line(exc))
    return RegoTestResult(name, value is True, "" if value is True else f"got {value!r}")


def _package_of(source: str) -> str:
    match = re.search(r"^\s*package\s+([A-Za-z0-9_.]+)", source, re.MULTILINE)
    if not match:
        raise PolicyError("test file has no package declaration")
    return match.group(1)


def _first_line(exc: BaseException) -> str:
    # regorus appends a Rust stack trace to its messages; keep what a person needs.
    text = str(exc).split("Stack backtrace:")[0].strip()
    return " ".join(line.strip() for line in text.splitlines() if line.strip())[:500]
