"""Shared fixtures: a private ledger database and policy folder per test, real everything."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from governance.composition import Governance, build
from governance.settings import (
    ApprovalSettings,
    BrowserSettings,
    LedgerSettings,
    PolicySettings,
    Settings,
)

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


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


@pytest.fixture
def governance(settings: Settings) -> Governance:
    return build(settings, resume_runs=False)


CHROMIUM = Path(BrowserSettings().executable or "/usr/bin/chromium")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, with the reason, tests whose service this machine lacks (CI here has them all)."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "chromium" in item.keywords:
            item.add_marker(skip)
