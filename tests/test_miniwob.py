"""MiniWoB++ robots in real Chromium, every submit through the Gate: each solves its task, a
denied submit leaves the page untouched, and passwords reach the page but not the ledger."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.miniwob import CONTEXT, ROBOTS, run_episode, serve_tasks, start_episode
from proctor.composition import Governance, build
from proctor.settings import Settings
from robots.browser import BrowserPool
from robots.settings import BrowserSettings
from tests.conftest import add_people

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(importlib.util.find_spec("miniwob") is None,
                       reason="MiniWoB++ not installed: pip install --no-deps miniwob"),
]
SEEDS = (11, 12)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_tasks() as url:
        yield url


@pytest.fixture(scope="module")
def pool() -> Iterator[BrowserPool]:
    with BrowserPool(BrowserSettings(), context_options=CONTEXT) as pool:
        yield pool


@pytest.mark.parametrize("task", sorted(ROBOTS))
def test_robot_solves_its_task_under_the_gate(task: str, governance: Governance,
                                              pool: BrowserPool, base_url: str) -> None:
    robot = ROBOTS[task](governance.gate)
    results = [run_episode(pool, base_url, robot, seed) for seed in SEEDS]
    assert [(r.status, r.error) for r in results] == [("succeeded", None)] * len(SEEDS)
    assert all(r.raw_reward is not None and r.raw_reward > 0 for r in results), results
    kinds = [e.kind for e in governance.reader.query(action_kind=robot.kind)]
    assert kinds.count("action.succeeded") == len(SEEDS)
    assert kinds.count("policy.decided") == len(SEEDS)


def test_denied_submit_touches_nothing(settings: Settings, pool: BrowserPool,
                                      base_url: str) -> None:
    (Path(settings.policy.dir) / "block_enter_text.rego").write_text(
        'package proctor\nimport rego.v1\n'
        'deny contains "blocked_for_test" if action.kind == "miniwob.enter_text"\n')
    governance = build(settings, resume_runs=False)
    add_people(governance)
    robot = ROBOTS["enter-text"](governance.gate)
    result = run_episode(pool, base_url, robot, 3)
    assert (result.status, result.raw_reward) == ("denied", None)
    with pool.attempt("look") as attempt:  # the same episode, to see what a denial leaves
        start_episode(attempt, base_url, "enter-text", 3)
        outcome = robot.run(attempt, attempt.page.evaluate("core.getUtterance()"), "k-denied")
        assert outcome.status == "denied" and outcome.message == "blocked_for_test"
        assert attempt.page.locator("#tt").input_value() == ""
        assert attempt.page.evaluate("WOB_DONE_GLOBAL") is False
    assert "action.started" not in {e.kind for e in governance.reader.query(
        action_kind="miniwob.enter_text")}


def test_password_reaches_the_page_not_the_ledger(governance: Governance, pool: BrowserPool,
                                                  base_url: str) -> None:
    robot = ROBOTS["login-user"](governance.gate)
    with pool.attempt("login") as attempt:
        utterance = start_episode(attempt, base_url, "login-user", 6)
        password = robot.understand(r'password "(.*?)"', utterance)[1]
        assert password == "yKw8o"  # long and odd enough not to occur by chance
        assert robot.run(attempt, utterance, "k-login").status == "succeeded"
        assert attempt.page.evaluate("WOB_RAW_REWARD_GLOBAL") == 1
    entries = governance.reader.query(action_kind="miniwob.login_user")
    assert entries and all(password not in str(e.data()) for e in entries)
    db = Path(governance.settings.ledger.url.removeprefix("sqlite:///"))
    assert all(password.encode() not in f.read_bytes() for f in db.parent.glob(db.name + "*"))
    assert governance.reader.verify().ok
