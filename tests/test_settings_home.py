"""State lives in the project's state folder (`PROCTOR_HOME`, default `./.proctor` of the current
directory), and an unknown `PROCTOR_*` variable is refused, naming the nearest known one."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from audit.settings import LedgerSettings
from proctor.settings import Settings, UnknownSetting, check_environment, known_variables
from robots.settings import APP_VARIABLE_PREFIXES

ROOT = Path(__file__).resolve().parents[1]
CODE = Path(__import__("proctor").__file__).resolve().parents[1]
NAME = re.compile(r"PROCTOR_[A-Z0-9_]+")
TYPOS = {"PROCTOR_LEDGER_ULR", "PROCTOR_POLICY_DIRS"}  # misspelt on purpose, here and in docs


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in __import__("os").environ if n.startswith("PROCTOR_")]:
        monkeypatch.delenv(name)


def test_every_proctor_variable_the_repository_names_is_known() -> None:
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    names: set[str] = set()
    for file in files:
        path = ROOT / file
        if path.suffix in {".py", ".md", ".yaml", ".yml", ".toml", ".sh", ".rego", ".json",
                           ".txt", ".cfg", ".ini", ""} and path.is_file():
            names |= set(NAME.findall(path.read_text(encoding="utf-8", errors="ignore")))
    assert {"PROCTOR_LEDGER_URL", "PROCTOR_HOME", "PROCTOR_SOAK"} <= names
    known = known_variables()
    unknown = []
    for name in sorted(names - TYPOS):
        if name.endswith("_"):  # a prefix, as docs write `PROCTOR_LEDGER_*`
            ok = any(k.startswith(name) for k in known) or name.startswith(
                APP_VARIABLE_PREFIXES) or name in APP_VARIABLE_PREFIXES
        else:
            ok = name in known or name.startswith(APP_VARIABLE_PREFIXES)
        if not ok:
            unknown.append(name)
    assert not unknown, f"PROCTOR_ names used but unknown to proctor.settings: {unknown}"


def test_a_misspelt_variable_names_the_nearest_known_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCTOR_LEDGER_ULR", "sqlite:///x.db")
    with pytest.raises(UnknownSetting, match="PROCTOR_LEDGER_ULR.*PROCTOR_LEDGER_URL"):
        Settings()


def test_apps_and_secrets_are_known_by_prefix() -> None:
    check_environment({"PROCTOR_SECRET_TRACKER_TOKEN": "x", "PROCTOR_APP_TRACKER_URL": "y",
                       "PROCTOR_USER": "alice", "OTHER": "z"})
    with pytest.raises(UnknownSetting, match="PROCTOR_POLICY_DIR"):
        check_environment({"PROCTOR_POLICY_DIRS": "x"})


def test_state_defaults_are_under_the_current_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    state = tmp_path.resolve() / ".proctor"
    assert settings.home == state
    assert settings.ledger.url == f"sqlite:///{state / 'proctor.db'}"
    for path in (settings.ledger.signing_key, settings.ledger.redaction_key,
                 settings.ledger.checkpoint_dir, settings.evidence.dir, settings.documents_dir,
                 settings.policy.bundle_workdir, settings.policy.signing_key):
        assert path.is_relative_to(state) and not path.is_relative_to(CODE / ".proctor")


def test_proctor_home_moves_the_default_ledger(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("PROCTOR_HOME", str(tmp_path / "state"))
    settings = Settings()
    assert settings.ledger.url == f"sqlite:///{tmp_path / 'state' / 'proctor.db'}"
    assert settings.evidence.dir == tmp_path / "state" / "evidence"
    assert LedgerSettings().checkpoint_dir == tmp_path / "state" / "checkpoints"


def test_an_explicit_value_still_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("PROCTOR_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("PROCTOR_LEDGER_URL", "sqlite:///elsewhere.db")
    settings = Settings(home=tmp_path / "other")
    assert settings.ledger.url == "sqlite:///elsewhere.db"
    assert settings.ledger.signing_key == tmp_path / "other" / "keys" / "ledger-ed25519.pem"
    given = Settings(ledger=LedgerSettings(signing_key=Path("mine.pem")))
    assert given.ledger.signing_key == Path("mine.pem")
