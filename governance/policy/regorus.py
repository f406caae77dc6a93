"""Rego evaluated in process by regorus (PyPI `celine-regorus`).

    engine = RegorusEngine(Path("policies"))
    engine.decide({"action": {...}, "context": {...}})   # -> Decision, never raises

The engine loads the engine's base (the combiner `proctor.rego` and its defaults, see
`governance.policy.package`) and then the folder's rules and data.
"""

from __future__ import annotations

import json
import logging
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
from governance.policy.diagnose import check_input_refs, describe
from governance.policy.package import BASE_NAME, Base, PolicyPackage, package_of
from governance.policy.port import decision_from

ENTRYPOINT = "data.proctor.decision"
WAIT_GRACE_S = 2.0  # how much longer than the timeout a busy machine may take to answer
_TEST_RULE = re.compile(r"^\s*(test_[A-Za-z0-9_]+)\b", re.MULTILINE)
# Errors regorus reports on the first evaluation that no input could avoid: the policy is broken.
_STATIC = re.compile(r"is unsafe|could not find function|recursion detected|undefined variable")
log = logging.getLogger(__name__)


class RegorusEngine:
    """Loads the engine's base and every `.rego` and `data.json` under `policy_dir` once, and
    decides with them (`base`: see `PolicyPackage.load`).

    Fail closed: a load error, an evaluation error, an undefined or malformed result, or an
    evaluation slower than `timeout_ms` gives a deny whose reason names the failure. Slower
    means more than `timeout_ms` of the engine's CPU time, or no answer `WAIT_GRACE_S` after
    that: a busy machine (many workers on few cores) delays an answer, it does not make it
    wrong, while a runaway policy is cut off either way.
    """

    def __init__(self, policy_dir: Path, *, timeout_ms: float = 250, entrypoint: str = ENTRYPOINT,
                 base: Base = "engine"):
        self.policy_dir = Path(policy_dir)
        self.timeout_ms = timeout_ms
        self.entrypoint = entrypoint
        self.package: PolicyPackage | None = None
        try:
            self.package = PolicyPackage.load(self.policy_dir, base)
        except PolicyError as exc:
            problem: str | None = str(exc)
        else:
            problem = None
            if self.package.warning:
                log.warning("%s", self.package.warning)
        self._revision = self.package.revision() if self.package else ""
        self._worker = _EngineThread(self.package, problem, entrypoint)
        self._load_error = self._worker.loaded.result()
        if self._load_error is not None:
            log.error("the policy in %s does not load, every action is denied: %s",
                      self.policy_dir, self._load_error)
        weakref.finalize(self, self._worker.stop)

    @property
    def load_error(self) -> str | None:
        """Why the policy did not load (file, line, rule), or None when it did."""
        return self._load_error

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

    def __init__(self, package: PolicyPackage | None, problem: str | None,
                 entrypoint: str) -> None:
        super().__init__(name="regorus", daemon=True)
        self._package, self._problem = package, problem
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
            if self._package is None:
                raise PolicyError(self._problem or "no policy package")
            engine = load_engine(self._package)
            first_evaluation(engine, self._package, self._entrypoint)
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
            raise PolicyError(describe(exc, self._package)) from None
        return raw, time.thread_time() - started


def load_engine(package: PolicyPackage, *, with_tests: bool = False) -> regorus.Engine:
    """A regorus engine holding the package's modules (and tests) and its merged data; raises
    `PolicyError` naming the file, line and rule of what does not load."""
    if all(name.startswith(f"{BASE_NAME}/") for name, _ in package.modules()):
        raise PolicyError(f"no .rego files under {package.folder}")
    engine = regorus.Engine()
    for name, path in package.modules() + (package.tests() if with_tests else []):
        try:
            engine.add_policy(name, path.read_text("utf-8"))
        except RuntimeError as exc:
            raise PolicyError(describe(exc, package)) from None
    try:
        engine.add_data_json(json.dumps(package.data()))
    except (RuntimeError, ValueError) as exc:
        raise PolicyError(f"data: {describe(exc, package)}") from None
    check_input_refs(package)
    return engine


def first_evaluation(engine: regorus.Engine, package: PolicyPackage, entrypoint: str) -> None:
    """Evaluate once with an empty action: this prepares the rules (it is part of no decision)
    and raises `PolicyError` for what regorus finds whatever the input (an unsafe variable, an
    unknown function, a cycle), so a broken policy is named when it loads."""
    try:
        engine.set_input_json(json.dumps({"action": {}, "context": {}}))
        engine.eval_rule_as_json(entrypoint)
    except (RuntimeError, ValueError) as exc:
        if _STATIC.search(str(exc).split("Stack backtrace:")[0]):
            raise PolicyError(describe(exc, package)) from None


@dataclass(frozen=True)
class RegoTestResult:
    name: str
    passed: bool
    detail: str = ""


def run_rego_tests(policy_dir: Path, base: Base = "engine") -> list[RegoTestResult]:
    """Run every `test_*` rule of every `*_test.rego` file (what `opa test` does), with the
    engine's base loaded beside the folder's rules as when deciding.

    A test passes when its rule evaluates to true; false, undefined or an error fails it.
    """
    package = PolicyPackage.load(policy_dir, base)
    engine = load_engine(package, with_tests=True)
    first_evaluation(engine, package, ENTRYPOINT)
    results = []
    for name, path in package.tests():
        source = path.read_text("utf-8")
        rego_package = package_of(source)
        if rego_package is None:
            raise PolicyError(f"{name}: test file has no package declaration")
        for rule in dict.fromkeys(_TEST_RULE.findall(source)):
            results.append(_run_one(engine, package, f"data.{rego_package}.{rule}",
                                    f"{path.name}::{rule}"))
    return results


def _run_one(engine: regorus.Engine, package: PolicyPackage, path: str,
             name: str) -> RegoTestResult:
    try:
        value = json.loads(engine.eval_rule_as_json(path))
    except RuntimeError as exc:
        return RegoTestResult(name, False, describe(exc, package))
    return RegoTestResult(name, value is True, "" if value is True else f"got {value!r}")
