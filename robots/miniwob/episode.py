"""One MiniWoB++ episode as one business transaction: open the task page in a fresh context,
seed it, start it, let a robot act, read the reward the task gave.

MiniWoB's protocol (from its `core/core.js`): `Math.seedrandom(seed)` before
`core.startEpisodeReal()` makes the episode reproducible; the instruction is
`core.getUtterance()`; an episode ends when the task calls `core.endEpisode(reward)`, which sets
`WOB_DONE_GLOBAL` and `WOB_RAW_REWARD_GLOBAL` (the reward before any time penalty, -1..1).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from governance.errors import ApplicationError, RobotError
from robots.browser import BrowserPool
from robots.transaction import Transaction

if TYPE_CHECKING:
    from robots.miniwob.robot import TaskRobot

_START = "(seed) => { Math.seedrandom(seed); core.startEpisodeReal(); }"
_RESULT = ("() => ({done: WOB_DONE_GLOBAL, raw: WOB_RAW_REWARD_GLOBAL, "
           "reward: WOB_REWARD_GLOBAL, reason: WOB_REWARD_REASON})")


@dataclass(frozen=True)
class EpisodeResult:
    """How one episode went: the task's reward (None if it never ended), the Gate's outcome
    status (or the error that stopped the robot), and the seconds it took end to end."""

    task: str
    seed: int
    raw_reward: float | None
    status: str
    seconds: float
    error: str | None = None

    @property
    def success(self) -> bool:
        return self.raw_reward is not None and self.raw_reward > 0


def start_episode(txn: Transaction, base_url: str, task: str, seed: int) -> str:
    """Open `task`, seed and start an episode; return its instruction."""
    txn.goto(f"{base_url}miniwob/{task}.html")
    txn.page.evaluate(_START, seed)
    txn.page.wait_for_function("WOB_TASK_READY")
    return str(txn.page.evaluate("core.getUtterance()"))


def episode_reward(txn: Transaction, timeout_ms: float) -> float | None:
    """The raw reward once the task has ended the episode; None if it does not within
    `timeout_ms` (the robot's last step did not finish the task)."""
    try:
        txn.page.wait_for_function("WOB_DONE_GLOBAL", timeout=timeout_ms)
    except PlaywrightTimeout:
        return None
    return float(txn.page.evaluate(_RESULT)["raw"])


def run_episode(pool: BrowserPool, base_url: str, robot: TaskRobot, seed: int, *,
                done_timeout_ms: float = 2_000) -> EpisodeResult:
    """One episode of `robot.task` with `seed`, in its own transaction (fresh context)."""
    started = time.perf_counter()
    key = f"miniwob:{robot.task}:{seed}:{uuid.uuid4().hex[:10]}"
    reward: float | None = None
    status, error = "error", None
    try:
        with pool.transaction(f"miniwob {robot.task} seed {seed}") as txn:
            utterance = start_episode(txn, base_url, robot.task, seed)
            status = robot.run(txn, utterance, key).status
            reward = episode_reward(txn, done_timeout_ms) if status != "denied" else None
            if reward is None or reward <= 0:
                txn.mark_failed(f"reward {reward} after {status}")
    except RobotError as exc:
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    except PlaywrightError as exc:  # pragma: no cover - translated by the pool already
        raise ApplicationError(str(exc)) from exc
    return EpisodeResult(robot.task, seed, reward, status, time.perf_counter() - started, error)
