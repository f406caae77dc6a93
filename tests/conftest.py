"""Shared fixtures: a private ledger database and policy folder per test, real everything.

Also the two sizes of the heavy proofs: `make test` runs them at a size that still proves the
property, `make soak` (`--soak`, or PROCTOR_SOAK=1) at full size. A test names both sizes as
parameters, the full one wrapped in `soak(...)`; tests marked `race` are repeated in a soak.
Tests marked `serial` need the whole machine (the races: two workers must really overlap):
`make test` runs them after the parallel part. In the parallel part the longest test files go
first (`LONGEST_FIRST`), so that pytest-xdist (`--dist loadfile --no-loadscope-reorder`) hands
them out before the short ones and the workers finish together."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from audit.settings import LedgerSettings
from governance.approvals.settings import ApprovalSettings
from governance.policy.settings import PolicySettings
from proctor.composition import Governance, build
from proctor.settings import Settings
from robots.settings import BrowserSettings

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


SOAK_REPEATS = 10  # how many times `make soak` runs each test marked `race`


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true",
                     default=os.environ.get("PROCTOR_SOAK", "") not in ("", "0"),
                     help="run the heavy proofs at full size (what `make soak` does)")


def soak(size: int) -> object:
    """The full size of a heavy proof, as a parameter that only `make soak` runs."""
    return pytest.param(size, marks=pytest.mark.soak)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """In a soak, each test marked `race` runs SOAK_REPEATS times (races show up rarely)."""
    if metafunc.config.getoption("--soak") and metafunc.definition.get_closest_marker("race"):
        metafunc.fixturenames.append("soak_round")
        metafunc.parametrize("soak_round", [pytest.param(n, marks=pytest.mark.soak)
                                            for n in range(1, SOAK_REPEATS + 1)],
                             ids=lambda n: f"round{n}")


@pytest.fixture(scope="session")
def prefect_server_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Prefect server (SQLite) per test process, so per xdist worker: each start
    costs seconds. Tests that need a server of their own (`proctor up`) start one."""
    from demo.services import prefect_server

    with prefect_server(tmp_path_factory.mktemp("prefect")) as api:
        yield api


@pytest.fixture(scope="module")
def prefect_api(prefect_server_api: str) -> Iterator[str]:
    """The session's Prefect server; this process's client talks to it for the module."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_server_api}):
        yield prefect_server_api


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """A copy of the shipped policies that a test may break."""
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, policy_dir: Path) -> Settings:
    return Settings(
        user="alice",
        ledger=LedgerSettings(url=f"sqlite:///{tmp_path / 'proctor.db'}",
                              signing_key=tmp_path / "keys" / "ledger.pem",
                              redaction_key=tmp_path / "keys" / "redaction.key",
                              checkpoint_dir=tmp_path / "checkpoints"),
        policy=PolicySettings(dir=policy_dir),
        approvals=ApprovalSettings(poll_interval_s=0.05, resume_patience_s=0),
    )


PASSWORD = "correct horse battery"
# Who works in the test organisation: (name, roles, approver groups).
PEOPLE = (
    ("alice", {"author"}, set()),
    ("bob", {"approver"}, {"finance-approvers", "treasury"}),
    ("carol", {"approver"}, {"finance-approvers", "treasury"}),
    ("dave", {"approver"}, {"finance-approvers"}),
    ("erin", {"approver"}, set()),
    ("rita", {"approver"}, {"risk-committee"}),
    ("dora", {"auditor"}, set()),
    ("adam", {"admin"}, set()),
)


def add_people(governance: Governance) -> None:
    for name, roles, groups in PEOPLE:
        governance.identity.add_user(name, PASSWORD, roles=roles, groups=groups,
                                     email=f"{name}@example.test")


@pytest.fixture
def governance(settings: Settings) -> Governance:
    built = build(settings, resume_runs=False)
    add_people(built)
    return built


def approvers(governance: Governance, *votes: tuple[str, str]) -> threading.Thread:
    """Second people at work: for each (who, "approve" | "reject"), in turn, act on the next
    request that reaches the queue. Join the returned thread after the Gate call."""

    def work() -> None:
        for who, vote in votes:
            for _ in range(600):
                pending = governance.approvals.list("pending")
                if pending:
                    # As a person who has just confirmed their password.
                    if vote == "approve":
                        governance.approvals.approve(pending[0].id, who, reauthenticated=True)
                    else:
                        governance.approvals.reject(pending[0].id, who, "not this one",
                                                    reauthenticated=True)
                    break
                time.sleep(0.02)

    thread = threading.Thread(target=work)
    thread.start()
    return thread


CHROMIUM = Path(BrowserSettings().executable or "/usr/bin/chromium")

# The slowest test files of `make test` (its `--durations` output), longest first. Files not
# named here follow in their usual order.
LONGEST_FIRST = (
    "test_crash.py", "test_load.py", "test_stack.py", "test_review_browser.py",
    "test_invoice_flow.py", "test_document_inbox_flow.py", "test_priorities.py",
    "test_review_security.py", "test_miniwob.py", "test_acme_robot.py", "test_waiting.py",
    "test_document_robot.py", "test_app_limits.py", "test_robot_faults.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, with the reason, tests whose service this machine lacks (CI here has them all),
    and full-size proofs outside a soak."""
    soaking = config.getoption("--soak")
    no_chromium = pytest.mark.skip(
        reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    full_size = pytest.mark.skip(reason="full size: run by `make soak` (or pytest --soak)")
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order within
    for item in items:
        if "chromium" in item.keywords and not CHROMIUM.exists():
            item.add_marker(no_chromium)
        if "soak" in item.keywords and not soaking:
            item.add_marker(full_size)
