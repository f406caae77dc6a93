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
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from governance.errors import RobotError
from robots.attempt import Attempt
from robots.browser import BrowserPool

if TYPE_CHECKING:
    from bench.miniwob.robot import TaskRobot

_START = ("(seed) => { Math.seedrandom(seed); core.startEpisodeReal(); "
          "return WOB_TASK_READY ? core.getUtterance() : null; }")
_RESULT = ("() => ({done: WOB_DONE_GLOBAL, raw: WOB_RAW_REWARD_GLOBAL, "
           "reward: WOB_REWARD_GLOBAL, reason: WOB_REWARD_REASON})")


@dataclass(frozen=True)
class EpisodeResult:
    """How one episode went: the task's reward (None if it never ended), the Gate's outcome
    status (or the error that stopped the robot), the seconds it took end to end (fresh context
    and page load included) and the seconds the robot acted (instruction read to reward)."""

    task: str
    seed: int
    raw_reward: float | None
    status: str
    seconds: float
    act_seconds: float
    error: str | None = None

    @property
    def success(self) -> bool:
        return self.raw_reward is not None and self.raw_reward > 0


def start_episode(attempt: Attempt, base_url: str, task: str, seed: int) -> str:
    """Seed and start an episode of `task` (loading its page unless the attempt's page
    already shows it: MiniWoB resets a task in place); return the instruction."""
    if not attempt.page.url.endswith(f"/miniwob/{task}.html"):
        attempt.goto(f"{base_url}miniwob/{task}.html")
    utterance = attempt.page.evaluate(_START, seed)
    if utterance is None:  # the task builds itself asynchronously: wait until it says ready
        attempt.page.wait_for_function("WOB_TASK_READY")
        utterance = attempt.page.evaluate("core.getUtterance()")
    return str(utterance)


def episode_reward(attempt: Attempt, timeout_ms: float) -> float | None:
    """The raw reward once the task has ended the episode; None if it does not within
    `timeout_ms` (the robot's last step did not finish the task)."""
    result = attempt.page.evaluate(_RESULT)
    if not result["done"]:
        try:
            attempt.page.wait_for_function("WOB_DONE_GLOBAL", timeout=timeout_ms)
        except PlaywrightTimeout:
            return None
        result = attempt.page.evaluate(_RESULT)
    return float(result["raw"])


def play_episode(attempt: Attempt, base_url: str, robot: TaskRobot, seed: int, *,
                 done_timeout_ms: float = 2_000) -> EpisodeResult:
    """One episode of `robot.task` with `seed` on the attempt's page. A robot that stops
    (a refused form, a timeout) gives an unsuccessful result naming the error; the
    attempt is marked failed whenever the episode is not won, so its trace is kept."""
    started = time.perf_counter()
    key = f"miniwob:{robot.task}:{seed}:{uuid.uuid4().hex[:10]}"
    reward: float | None = None
    status, error = "error", None
    acting = started
    try:
        utterance = start_episode(attempt, base_url, robot.task, seed)
        acting = time.perf_counter()
        status = robot.run(attempt, utterance, key).status
        reward = episode_reward(attempt, done_timeout_ms) if status != "denied" else None
    except (RobotError, PlaywrightError) as exc:
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    ended = time.perf_counter()
    if reward is None or reward <= 0:
        attempt.mark_failed(f"{robot.task} seed {seed}: reward {reward} after {status} "
                            f"{error or ''}")
    return EpisodeResult(robot.task, seed, reward, status, ended - started, ended - acting,
                         error)


def run_episode(pool: BrowserPool, base_url: str, robot: TaskRobot, seed: int, *,
                done_timeout_ms: float = 2_000) -> EpisodeResult:
    """One episode as its own business transaction in its own attempt: a fresh context, the page
    loaded, played; `seconds` counts all of it."""
    started = time.perf_counter()
    try:
        with pool.attempt(f"miniwob {robot.task} seed {seed}") as attempt:
            result = play_episode(attempt, base_url, robot, seed,
                                  done_timeout_ms=done_timeout_ms)
    except RobotError as exc:  # the context could not be opened or closed
        return EpisodeResult(robot.task, seed, None, "error", time.perf_counter() - started,
                             0.0, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    return replace(result, seconds=time.perf_counter() - started)
