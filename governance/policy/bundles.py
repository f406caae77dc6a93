"""Signed policy bundles: workers decide only with policies someone with the key released.

A bundle is a .tar.gz of the policy folder's Rego and data files, the engine's base (the
combiner and its defaults, under `_proctor_base/`, so a worker decides with the base that was
signed, whatever version it runs), plus `manifest.json` (the SHA-256 of every file) and
`manifest.sig` (Ed25519 over the manifest). A worker given `PROCTOR_POLICY_BUNDLE` and
`PROCTOR_POLICY_TRUSTED_KEY` loads that bundle only if the signature
verifies with the trusted key and every file matches the manifest, with nothing added. A bundle
that fails is refused and recorded (`policy.bundle_refused`), and the bundle loaded before stays
active; with none loaded yet, every action is denied. Every decision names its bundle.

    build_bundle(Path("policies"), Path("policies.tar.gz"), signing_key)     # release
    engine = BundledPolicy(Path("policies.tar.gz"), trusted_key, workdir, writer)  # worker
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit import LedgerWriter
from audit.keys import key_id, sign, signature_ok
from governance.errors import PolicyError
from governance.models import Decision
from governance.policy.package import BASE_NAME, PolicyPackage
from governance.policy.regorus import RegorusEngine

MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
MAX_BUNDLE_BYTES = 20 * 1024 * 1024


class BundleRefused(PolicyError):
    """The bundle is not one a trusted key released as it is; the message says why."""


@dataclass(frozen=True)
class BundleInfo:
    id: str  # SHA-256 of the signed manifest
    revision: str  # the policy revision of the files inside
    key_id: str
    files: dict[str, str]


def build_bundle(policy_dir: Path, out: Path, key: Ed25519PrivateKey) -> BundleInfo:
    """Pack and sign the policies of `policy_dir` (Rego, tests and data) and the engine's base
    into `out`."""
    package = PolicyPackage.load(policy_dir)
    paths = dict(package.files())
    if all(name.startswith(f"{BASE_NAME}/") for name in paths):
        raise PolicyError(f"{policy_dir} holds no .rego or data.json to bundle")
    files = {name: hashlib.sha256(p.read_bytes()).hexdigest() for name, p in paths.items()}
    manifest = json.dumps({"files": files, "revision": package.revision(),
                           "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                           "key_id": key_id(key.public_key())}, indent=2, sort_keys=True).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w:gz") as tar:
        for name, data in [(MANIFEST, manifest), (SIGNATURE, sign(key, manifest).encode()),
                           *((n, paths[n].read_bytes()) for n in files)]:
            member = tarfile.TarInfo(name)
            member.size, member.mode = len(data), 0o644
            tar.addfile(member, io.BytesIO(data))
    return _info(manifest)


def open_bundle(path: Path, trusted: Ed25519PublicKey, into: Path) -> tuple[BundleInfo, Path]:
    """Verify the bundle at `path` and unpack it under `into`; raises `BundleRefused`."""
    contents = _read(path)
    manifest, signature = contents.pop(MANIFEST, None), contents.pop(SIGNATURE, None)
    if manifest is None or signature is None:
        raise BundleRefused(f"{path.name} is not signed (no {MANIFEST} and {SIGNATURE})")
    if not signature_ok(trusted, manifest, signature.decode(errors="replace").strip()):
        raise BundleRefused(f"{path.name}: the signature does not verify with the trusted key "
                            f"{key_id(trusted)} (altered manifest, or signed by another key)")
    info = _info(manifest)
    if set(contents) != set(info.files):
        extra, missing = set(contents) - set(info.files), set(info.files) - set(contents)
        raise BundleRefused(f"{path.name}: files differ from the signed manifest "
                            f"(added {sorted(extra)}, missing {sorted(missing)})")
    for name, data in contents.items():
        if hashlib.sha256(data).hexdigest() != info.files[name]:
            raise BundleRefused(f"{path.name}: {name} was altered after signing")
    target = into / info.id
    for name, data in contents.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes(data)
    return info, target


class BundledPolicy:
    """A `PolicyEngine` that decides with the last verified bundle, and checks the bundle file
    for a new release before each decision (a cheap stat)."""

    def __init__(self, bundle: Path, trusted: Ed25519PublicKey, workdir: Path,
                 writer: LedgerWriter, *, timeout_ms: float = 250) -> None:
        self._bundle, self._trusted, self._workdir = bundle, trusted, workdir
        self._writer, self._timeout_ms = writer, timeout_ms
        self._engine: RegorusEngine | None = None
        self.info: BundleInfo | None = None
        self._seen: tuple[float, int] | None = None
        self._lock = threading.Lock()
        self.refresh()

    @property
    def revision(self) -> str:
        return self.info.revision if self.info else ""

    def refresh(self) -> bool:
        """Load the bundle file if it changed; True when a new bundle became active."""
        with self._lock:
            try:
                stat = self._bundle.stat()
                seen = (stat.st_mtime, stat.st_size)
            except OSError:
                seen = None
            if seen == self._seen and seen is not None:
                return False
            self._seen = seen
            try:
                info, folder = open_bundle(self._bundle, self._trusted, self._workdir)
                engine = RegorusEngine(folder, timeout_ms=self._timeout_ms,
                                       base=bundled_base(folder))
                if engine.load_error is not None:
                    raise BundleRefused(f"{self._bundle.name}: policy_load_error: "
                                        f"{engine.load_error}")
            except (BundleRefused, OSError, tarfile.TarError, ValueError) as exc:
                self._refused(str(exc))
                return False
            self._engine, self.info = engine, info
            self._writer.append("policy.bundle_loaded", actor="policy", payload={
                "bundle": info.id, "revision": info.revision, "key_id": info.key_id,
                "file": self._bundle.name})
            return True

    def decide(self, policy_input: dict[str, Any]) -> Decision:
        self.refresh()
        engine, info = self._engine, self.info
        if engine is None or info is None:
            return Decision.deny("no_verified_policy_bundle")
        return engine.decide(policy_input).model_copy(update={"policy_bundle": info.id})

    def _refused(self, why: str) -> None:
        self._writer.append("policy.bundle_refused", actor="policy", payload={
            "file": str(self._bundle), "reason": why,
            "active_bundle": self.info.id if self.info else None})


def bundled_base(folder: Path) -> Path | None:
    """The base signed into an unpacked bundle; None for a bundle made before the base
    shipped with the engine (its folder then holds its own combiner)."""
    base = folder / BASE_NAME
    return base if base.is_dir() else None


def _info(manifest: bytes) -> BundleInfo:
    data = json.loads(manifest)
    return BundleInfo(id=hashlib.sha256(manifest).hexdigest(), revision=data["revision"],
                      key_id=data["key_id"], files=dict(data["files"]))


def _read(path: Path) -> dict[str, bytes]:
    """Every regular file of the archive by name; refuses links, absolute or parent paths."""
    if path.stat().st_size > MAX_BUNDLE_BYTES:
        raise BundleRefused(f"{path.name} is larger than {MAX_BUNDLE_BYTES:,} bytes")
    contents: dict[str, bytes] = {}
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            name = PurePosixPath(member.name)
            if not member.isfile() or name.is_absolute() or ".." in name.parts:
                raise BundleRefused(f"{path.name}: refusing member {member.name!r} "
                                    "(only plain files inside the bundle)")
            extracted = tar.extractfile(member)
            contents[name.as_posix()] = extracted.read() if extracted else b""
    return contents
