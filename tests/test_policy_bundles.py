"""Signed policy bundles: a worker decides only with a bundle whose Ed25519 signature verifies
with the trusted key and whose files match the signed manifest; anything else is refused and
recorded, and the bundle loaded before stays active."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.keys import public_pem
from governance.models import Action
from governance.policy.bundles import BundleRefused, build_bundle, open_bundle
from governance.policy.settings import PolicySettings
from proctor.composition import Governance, build
from proctor.settings import Settings
from tests.test_inputs_and_cli import cli

KEY = Ed25519PrivateKey.generate()


def release(amount: str) -> dict:
    return Action(kind="acme.release_payment", target="acme-payables", robot="robot:acme",
                  requested_by="alice", params={"vendor": "Globex Corporation",
                                                "invoice_number": "INV-1", "amount": amount,
                                                "currency": "EUR"},
                  context={"invoice_status": "entered"}).policy_input()


def rewrite(bundle: Path, change: dict[str, bytes | None]) -> None:
    """Replace (or with None remove) members of a bundle, keeping the rest as signed."""
    with tarfile.open(bundle, "r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    members.update(change)
    with tarfile.open(bundle, "w:gz") as tar:
        for name, data in members.items():
            if data is not None:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    os.utime(bundle, (1, os.stat(bundle).st_mtime + 5))  # a new release: mtime moves


@pytest.fixture
def bundled(settings: Settings, tmp_path: Path) -> tuple[Governance, Path]:
    bundle = tmp_path / "policies.tar.gz"
    build_bundle(settings.policy.dir, bundle, KEY)
    (tmp_path / "trusted.pem").write_text(public_pem(KEY.public_key()))
    governance = build(settings.model_copy(update={"policy": PolicySettings(
        dir=tmp_path / "not-used", bundle=bundle, trusted_key=tmp_path / "trusted.pem",
        bundle_workdir=tmp_path / "unpacked")}), resume_runs=False)
    return governance, bundle


def test_a_signed_bundle_decides_and_every_decision_names_it(bundled) -> None:
    governance, bundle = bundled
    decision = governance.policy.decide(release("100.00"))
    assert decision.outcome == "allow"
    info = governance.policy.info
    assert decision.policy_bundle == info.id and decision.policy_revision == info.revision
    (loaded,) = governance.reader.query(kind="policy.bundle_loaded")
    assert loaded.data()["bundle"] == info.id


@pytest.mark.parametrize(("change", "why"), [
    ("data", "data.json was altered after signing"),
    ("added", "files differ from the signed manifest"),
    ("unsigned", "is not signed"),
    ("other_key", "does not verify with the trusted key"),
    ("traversal", "only plain files"),
])
def test_a_bad_release_is_refused_recorded_and_the_previous_one_stays(
        bundled, tmp_path: Path, change: str, why: str) -> None:
    governance, bundle = bundled
    before = governance.policy.info.id
    data = json.dumps({"acme": {"limits": {"approval_limit": 1}}}).encode()
    if change == "data":
        rewrite(bundle, {"data.json": data})
    elif change == "added":
        rewrite(bundle, {"backdoor.rego": b"package proctor\nallow contains \"x\" if true\n"})
    elif change == "unsigned":
        rewrite(bundle, {"manifest.sig": None})
    elif change == "other_key":
        build_bundle(_policies(), bundle, Ed25519PrivateKey.generate())
        os.utime(bundle, (1, os.stat(bundle).st_mtime + 5))
    else:
        rewrite(bundle, {"../escape.rego": b"package proctor\n"})
    decision = governance.policy.decide(release("100.00"))
    assert decision.outcome == "allow" and decision.policy_bundle == before
    (refused,) = governance.reader.query(kind="policy.bundle_refused")
    assert why in refused.data()["reason"] and refused.data()["active_bundle"] == before


def test_without_a_verified_bundle_everything_is_denied(settings: Settings,
                                                       tmp_path: Path) -> None:
    (tmp_path / "trusted.pem").write_text(public_pem(KEY.public_key()))
    bundle = tmp_path / "policies.tar.gz"
    build_bundle(_policies(), bundle, Ed25519PrivateKey.generate())  # someone else's key
    governance = build(settings.model_copy(update={"policy": PolicySettings(
        bundle=bundle, trusted_key=tmp_path / "trusted.pem",
        bundle_workdir=tmp_path / "unpacked")}), resume_runs=False)
    decision = governance.policy.decide(release("100.00"))
    assert decision.outcome == "deny" and decision.reasons == ["no_verified_policy_bundle"]
    assert governance.reader.query(kind="policy.bundle_refused")


def test_the_cli_signs_and_verifies(settings: Settings, tmp_path: Path) -> None:
    env = {"PROCTOR_POLICY_DIR": str(settings.policy.dir),
           "PROCTOR_POLICY_SIGNING_KEY": str(tmp_path / "policy.pem")}
    made = cli(env, "policy", "bundle", "--out", str(tmp_path / "b.tar.gz"))
    assert made.returncode == 0, made.stderr
    pub = tmp_path / "b.pub.pem"
    ok = cli(env, "policy", "verify-bundle", str(tmp_path / "b.tar.gz"), "--public-key", str(pub))
    assert ok.returncode == 0 and "bundle OK" in ok.stdout
    rewrite(tmp_path / "b.tar.gz", {"data.json": b"{}"})
    bad = cli(env, "policy", "verify-bundle", str(tmp_path / "b.tar.gz"), "--public-key",
              str(pub))
    assert bad.returncode == 1 and "data.json was altered" in bad.stderr


def test_open_bundle_refuses_a_file_that_is_not_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "x.tar.gz").write_bytes(b"not a tar")
    with pytest.raises((BundleRefused, tarfile.TarError)):
        open_bundle(tmp_path / "x.tar.gz", KEY.public_key(), tmp_path)


def _policies() -> Path:
    from tests.conftest import POLICIES

    return POLICIES
