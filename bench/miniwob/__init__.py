"""MiniWoB++ robots: the benchmark's form-like tasks done with the robot toolkit, every submit
an Action (`miniwob.<task>`) through the Gate.

    with serve_tasks() as base, BrowserPool(BrowserSettings(), context_options=CONTEXT) as pool:
        robot = ROBOTS["login-user"](governance.gate)
        result = run_episode(pool, base, robot, seed=7)      # EpisodeResult(raw_reward=1.0, ...)
"""

from __future__ import annotations

from bench.miniwob.app_tasks import BookFlight, EmailInbox, UseAutocomplete
from bench.miniwob.episode import (
    EpisodeResult,
    episode_reward,
    play_episode,
    run_episode,
    start_episode,
)
from bench.miniwob.form_tasks import (
    ChooseList,
    ClickCheckboxes,
    ClickOption,
    EnterDate,
    EnterPassword,
    EnterText,
    EnterText2,
    EnterTime,
    LoginUser,
    LoginUserPopup,
    MultiLayouts,
    MultiOrderings,
)
from bench.miniwob.robot import TaskRobot
from bench.miniwob.server import MiniWoBMissing, html_dir, serve_tasks

# Tasks generate dates and times in the browser's locale: pin the one their checks assume.
CONTEXT = {"locale": "en-US", "timezone_id": "UTC"}

ROBOTS: dict[str, type[TaskRobot]] = {robot.task: robot for robot in (
    LoginUser, LoginUserPopup, EnterPassword, EnterText, EnterText2, EnterDate, EnterTime,
    MultiLayouts, MultiOrderings, ClickCheckboxes, ClickOption, ChooseList, UseAutocomplete,
    BookFlight, EmailInbox,
)}

__all__ = ["CONTEXT", "ROBOTS", "EpisodeResult", "MiniWoBMissing", "TaskRobot",
           "episode_reward", "html_dir", "play_episode", "run_episode", "serve_tasks",
           "start_episode"]
