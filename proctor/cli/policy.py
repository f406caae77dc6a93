"""`proctor policy`: evaluate, test, serve, sign and compare the Rego policies.

Every command loads the engine's base (the combiner `proctor.rego` and its defaults) beside the
policy folder, as the workers do."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from proctor.cli.common import PolicyDir, fail, load_governance, read_public_key

if TYPE_CHECKING:
    from audit import LedgerEntry
    from governance.policy.regorus import RegorusEngine

app = typer.Typer(help="Evaluate and test the Rego policies.", no_args_is_help=True)

# Reasons of a deny that mean the policy itself failed, not that it decided to deny.
FAILURES = ("policy_load_error:", "policy_error:", "policy_timeout:", "policy_undefined:",
            "policy_output_invalid:")


def _engine(policy_dir: Path | None) -> RegorusEngine:
    """The in-process policy engine over `policy_dir` (default: PROCTOR_POLICY_DIR) and the
    engine's base; a folder with its own combiner is said so on stderr."""
    from governance.policy.regorus import RegorusEngine
    from proctor.settings import Settings

    settings = Settings()
    engine = RegorusEngine(policy_dir or settings.policy.dir,
                           timeout_ms=settings.policy.timeout_ms)
    _warn(engine.package.warning if engine.package else None)
    return engine


def _warn(warning: str | None) -> None:
    if warning:
        typer.echo(f"warning: {warning}", err=True)


@app.command("eval")
def policy_eval(
    input_file: Annotated[Path, typer.Option("--input", help="JSON file: {action, context}")],
    policy_dir: PolicyDir = None,
) -> None:
    """Print the decision the policy gives for an input document. Exits 1 when the policy
    failed (does not load, errs, too slow, no or a malformed decision): the deny it prints
    then names the cause."""
    try:
        document = json.loads(input_file.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        fail(f"cannot read policy input {input_file}: {exc}", 2)
    decision = _engine(policy_dir).decide(document)
    typer.echo(decision.model_dump_json(indent=2))
    failure = next((r for r in decision.reasons if r.startswith(FAILURES)), None)
    if decision.outcome == "deny" and failure is not None:
        fail(f"the policy failed, so the action is denied: {failure}")


@app.command("test")
def policy_test(policy_dir: PolicyDir = None) -> None:
    """Run the Rego unit tests (rules named test_* in *_test.rego files)."""
    from governance.errors import PolicyError
    from governance.policy.package import PolicyPackage
    from governance.policy.regorus import run_rego_tests
    from proctor.settings import Settings

    folder = policy_dir or Settings().policy.dir
    try:
        _warn(PolicyPackage.load(folder).warning)
        results = run_rego_tests(folder)
    except PolicyError as exc:
        fail(f"policies do not load: {exc}")
    for result in results:
        mark = "PASS" if result.passed else "FAIL"
        typer.echo(f"{mark} {result.name}" + (f"  {result.detail}" if result.detail else ""))
    failed = sum(not r.passed for r in results)
    typer.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed or not results:
        raise typer.Exit(1)


@app.command("serve")
def policy_serve(host: str = "127.0.0.1", port: int = 8181, policy_dir: PolicyDir = None) -> None:
    """Serve the policy over OPA's Data API (regorus inside); workers point
    PROCTOR_POLICY_OPA_URL at it, or at a real OPA server."""
    import uvicorn

    from governance.policy.server import create_policy_app

    uvicorn.run(create_policy_app(_engine(policy_dir)), host=host, port=port,
                log_level="warning")


@app.command("bundle")
def policy_bundle(
    out: Annotated[Path, typer.Option(help="the bundle to write (.tar.gz)")],
    policy_dir: PolicyDir = None,
    key: Annotated[Optional[Path], typer.Option(
        help="Ed25519 private key (PEM); default PROCTOR_POLICY_SIGNING_KEY, made if missing")]
    = None,
) -> None:
    """Sign the policies, with the engine's base, into a bundle that workers verify before
    they use it."""
    from audit.keys import load_or_create_signing_key, public_pem
    from governance.errors import PolicyError
    from governance.policy.bundles import build_bundle
    from governance.policy.package import PolicyPackage
    from proctor.settings import Settings

    settings = Settings()
    signing = load_or_create_signing_key(key or settings.policy.signing_key)
    folder = policy_dir or settings.policy.dir
    try:
        _warn(PolicyPackage.load(folder).warning)
        info = build_bundle(folder, out, signing)
    except PolicyError as exc:
        fail(str(exc), 2)
    public = out.with_suffix("").with_suffix(".pub.pem")
    public.write_text(public_pem(signing.public_key()))
    typer.echo(f"bundle {out}: id {info.id[:16]}, revision {info.revision[:16]}, "
               f"{len(info.files)} files, key {info.key_id}; public key in {public}")


@app.command("verify-bundle")
def policy_verify_bundle(
    bundle: Path,
    public_key: Annotated[Path, typer.Option(help="PEM of the trusted public key")],
) -> None:
    """Check a bundle as a worker would: exit 0 when it may be used, 1 with the reason."""
    import tempfile

    from governance.policy.bundles import BundleRefused, open_bundle

    trusted = read_public_key(public_key)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            info, _ = open_bundle(bundle, trusted, Path(tmp))
    except (BundleRefused, OSError, ValueError) as exc:
        fail(f"refused: {exc}")
    typer.echo(f"bundle OK: id {info.id[:16]}, revision {info.revision[:16]}, "
               f"{len(info.files)} files, signed by {info.key_id}")


@app.command("shadow-report")
def policy_shadow_report(
    since: Annotated[Optional[str], typer.Option(help="ISO time, e.g. 2026-11-24T09:00")] = None,
) -> None:
    """What the shadow policy (PROCTOR_POLICY_SHADOW_DIR) would have decided otherwise: each
    kind of difference with how often, then every action it concerns."""
    differences = load_governance().reader.query(kind="policy.shadow_differs", since=since)
    if not differences:
        typer.echo("no differences recorded: the shadow policy decided as the live one "
                   "(or none is configured)")
        return
    counts = Counter(_shadow_change(e) for e in differences)
    for (kind, live, shadow), n in counts.most_common():
        typer.echo(f"{n:>6}  {kind}: live {live} -> shadow {shadow}")
    typer.echo("")
    for e in differences:
        typer.echo(f"#{e.seq:<6} {e.recorded_at[:16]} {e.action_id}  "
                   f"{' -> '.join(_shadow_change(e)[1:])}")


def _shadow_change(entry: LedgerEntry) -> tuple[str, str, str]:
    def one(side: dict[str, Any]) -> str:
        return f"{side['outcome']} ({', '.join(side['reasons'])})"
    data = entry.data()
    return entry.action_kind or "", one(data["live"]), one(data["shadow"])
