"""The composition root: the one place that reads settings and picks the adapters.

`build()` wires governance (ledger, policy, approvals, the Gate); `document_models()` the
document robot's models and vector index; `ledger_search()` the auditors' search;
`evidence_store()` where robots keep screenshots. Robots and services take what these build and
never read settings themselves. Importing this module stays light (no Prefect, no models):
each heavy adapter is imported where it is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from audit import Checkpoints, LedgerReader, LedgerWriter, open_engine
from audit.keys import load_or_create_signing_key, load_public_key
from audit.redaction import Redactor, load_or_create_key
from governance.approvals.store import ApprovalRequest, Approvals
from governance.events import ACTION_FILTERS
from governance.gate import Gate
from governance.identity.users import Identity
from governance.notify.notices import Notice, Notifications, Notifier, Recipient
from governance.notify.smtp import SmtpNotifier
from governance.notify.webhook import WebhookNotifier
from governance.policy.bundles import BundledPolicy
from governance.policy.opa import OpaEngine
from governance.policy.port import PolicyEngine
from governance.policy.regorus import RegorusEngine
from governance.services import Governance
from governance.tracing import configure_tracing
from proctor.settings import Settings

if TYPE_CHECKING:
    from governance.review.search import LedgerSearch
    from inference.settings import InferenceSettings
    from robots.evidence import EvidenceStore
    from robots.inbox.models import DocumentModels

RESOLVED = ("approved", "rejected", "expired")


def build(settings: Settings | None = None, *, resume_runs: bool = True) -> Governance:
    """Wire the default stack: SQLite/PostgreSQL ledger, regorus policy, Prefect pauses.

    With `resume_runs`, resolving a request resumes the paused flow run waiting on it.
    """
    from governance.waiting.prefect import PrefectPauseWaiter, resume_run_when_paused

    settings = settings or Settings()
    check_flow_author(settings, _deployment())
    configure_tracing(settings.tracing_exporter)
    _ensure_sqlite_folder(settings.ledger.url)
    engine = open_engine(settings.ledger.url, busy_timeout_ms=settings.ledger.busy_timeout_ms)
    checkpoints = Checkpoints(engine, load_or_create_signing_key(settings.ledger.signing_key),
                              settings.ledger.checkpoint_dir)
    redactor = Redactor(load_or_create_key(settings.ledger.redaction_key))
    writer = LedgerWriter(engine, redactor=redactor, checkpoints=checkpoints,
                          checkpoint_every=settings.ledger.checkpoint_every)
    reader = LedgerReader(engine, redactor=redactor, action_filters=ACTION_FILTERS)
    identity = Identity(engine)
    approvals = Approvals(engine, writer, identity)
    if resume_runs:
        patience = settings.approvals.resume_patience_s
        approvals.add_listener(lambda event, request: resume_run_when_paused(request, patience)
                               if event in RESOLVED else None)
    policy = _policy(settings, writer)
    waiter = PrefectPauseWaiter(approvals, settings.approvals.poll_interval_s,
                                suspend_after_s=settings.approvals.suspend_after_s)
    shadow = None
    if settings.policy.shadow_dir is not None:
        shadow = RegorusEngine(settings.policy.shadow_dir, timeout_ms=settings.policy.timeout_ms)
    gate = Gate(policy, writer, reader, approvals, waiter, shadow=shadow, plan=settings.plan)
    notifications = _notifications(settings, identity)
    if notifications is not None:
        approvals.add_listener(lambda event, request: _notify(notifications, settings, event,
                                                              request))
    return Governance(settings, engine, writer, reader, checkpoints, approvals, identity,
                      redactor, policy, gate, open_search=ledger_search)


def check_flow_author(settings: Settings, deployment: str | None) -> None:
    """Refuse to govern a deployed flow run whose deployment names no author: separation of
    duties could not keep the flow's author from approving its actions (fail closed). A local
    run (`deployment` None) is its requester's own; a deployment names its author in
    `prefect.yaml` (`job_variables.env.PROCTOR_FLOW_AUTHOR`)."""
    if deployment is not None and not (settings.flow_author or "").strip():
        raise ValueError(
            f"{deployment} names no author, so its author could approve its own actions: set "
            "PROCTOR_FLOW_AUTHOR in the deployment's job_variables.env (prefect.yaml)")


def _deployment() -> str | None:
    """The deployed flow run this code runs in, in words; None outside one (a local run, the
    review service, the CLI)."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    run = context.flow_run if context is not None else None
    if run is None or run.deployment_id is None:
        return None
    return f"flow run {run.name!r} (deployment {run.deployment_id})"


def _policy(settings: Settings, writer: LedgerWriter) -> PolicyEngine:
    """The live policy: an OPA server when one is named, else the signed bundle when one is
    configured, else the policy folder, evaluated in process."""
    config = settings.policy
    if config.opa_url:
        return OpaEngine(config.opa_url, timeout_ms=config.timeout_ms)
    if config.bundle is None:
        return RegorusEngine(config.dir, timeout_ms=config.timeout_ms)
    if config.trusted_key is None:
        raise ValueError("PROCTOR_POLICY_BUNDLE needs PROCTOR_POLICY_TRUSTED_KEY (the PEM of "
                         "the public key that signs bundles)")
    trusted = load_public_key(config.trusted_key.read_bytes())
    return BundledPolicy(config.bundle, trusted, config.bundle_workdir, writer,
                         timeout_ms=config.timeout_ms)


def _notifications(settings: Settings, identity: Identity) -> Notifications | None:
    review = settings.review
    notifiers: list[Notifier] = []
    if review.smtp_host:
        notifiers.append(SmtpNotifier(review.smtp_host, review.smtp_port, review.smtp_sender,
                                      starttls=review.smtp_starttls,
                                      username=review.smtp_username,
                                      password=review.smtp_password))
    if review.webhook_url:
        if review.webhook_secret is None:
            raise ValueError("PROCTOR_REVIEW_WEBHOOK_URL needs PROCTOR_REVIEW_WEBHOOK_SECRET "
                             "(the key that signs each notice)")
        notifiers.append(WebhookNotifier(review.webhook_url, review.webhook_secret))
    if not notifiers:
        return None
    return Notifications(notifiers, lambda group: [
        Recipient(name=u.name, email=u.email) for u in identity.members(group)])


def _notify(notifications: Notifications, settings: Settings, event: str,
            request: ApprovalRequest) -> None:
    # What the robot called the step (its `Action.step`, e.g. "release_payment INV-1003"):
    # the engine names no app's fields; the linked request page shows the parameters.
    group = (request.escalation_group or request.approver_group) if event == "escalated" \
        else request.approver_group
    notifications.notify(Notice(
        kind=event, request_id=request.id, action_kind=request.action_kind,
        summary=request.step or request.action_kind, reasons=request.reasons, group=group,
        requested_by=request.requested_by, expires_at=request.expires_at_utc,
        url=f"{settings.review.base_url.rstrip('/')}/requests/{request.id}"))


def document_models(config: InferenceSettings, documents_dir: Path) -> DocumentModels:
    """The document robot's models, loaded once per worker (seconds; keep the result): the
    embedding model (NF4 4-bit where bitsandbytes runs, unless `config.quantization` says
    otherwise), the vector index (Weaviate when `weaviate_url` is set, else an embedded file,
    `index_path` or `documents_dir/index.db`), the generative extractor when `generative_model`
    names one, and the labeled examples kept in `examples_path` (or
    `documents_dir/examples.json`)."""
    from inference import (
        EmbeddedIndex,
        GenerativeExtractor,
        VectorIndex,
        WeaviateIndex,
        load_embedder,
    )
    from robots.inbox.models import fit_document_models

    embedder = load_embedder(config)
    index: VectorIndex
    if config.weaviate_url:
        index = WeaviateIndex(config.weaviate_url)
    else:
        index_path = config.index_path or documents_dir / "index.db"
        index_path.parent.mkdir(parents=True, exist_ok=True)
        index = EmbeddedIndex(index_path)
    generative = None
    if config.generative_model is not None:
        generative = GenerativeExtractor.load(config.generative_model,
                                              quantization=config.quantization,
                                              device=config.device)
    return fit_document_models(embedder, index,
                               config.examples_path or documents_dir / "examples.json",
                               generative=generative)


def ledger_search(governance: Governance) -> LedgerSearch:
    """The ledger search `proctor audit search` and `GET /api/audit/search` share: its index
    in `PROCTOR_DOCUMENTS_DIR/ledger-index.db`, the configured local embedding model (loading
    it takes seconds: keep the result)."""
    from governance.review.search import LedgerSearch
    from inference import EmbeddedIndex, load_embedder

    settings = governance.settings
    settings.documents_dir.mkdir(parents=True, exist_ok=True)
    return LedgerSearch(governance.reader, EmbeddedIndex(settings.documents_dir /
                                                         "ledger-index.db"),
                        load_embedder(settings.inference))


def evidence_store(governance: Governance) -> EvidenceStore:
    """Where robots keep their evidence (screenshots, page text), redacted with the ledger's
    key: `PROCTOR_EVIDENCE_DIR`."""
    from robots.evidence import EvidenceStore

    return EvidenceStore(governance.settings.evidence.dir, governance.redactor)


def _ensure_sqlite_folder(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        Path(url[len(prefix):].split("?")[0]).parent.mkdir(parents=True, exist_ok=True)
