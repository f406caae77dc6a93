"""Shared fixtures: a private ledger database and policy folder per test, real everything."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prefect server (SQLite) for the module; this process's client talks to it."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from demo.services import prefect_server

    with prefect_server(tmp_path_factory.mktemp("prefect")) as api, \
            temporary_settings(updates={PREFECT_API_URL: api}):
        yield api


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, with the reason, tests whose service this machine lacks (CI here has them all)."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "chromium" in item.keywords:
            item.add_marker(skip)
