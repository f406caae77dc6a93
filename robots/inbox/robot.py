"""The document robot: reads a file, classifies it, extracts an invoice's fields, checks for a
near-duplicate, and proposes the invoice to the Gate. Model output is a suggestion: the policy
decides whether the invoice goes on, and sends unsure fields to a person, who confirms or
corrects them in the review queue (an approval with edits). Corrections become examples.

Every model call is recorded in the ledger (`model.inference`: model, weights revision, input
hash, output, confidence, latency); a file that cannot be read is recorded as
`document.unreadable` and changes nothing else. Every document that can be read is proposed,
whatever its type: the policy's thresholds are the only ones (a confident "receipt" is denied
as `not_an_invoice` and reported as filed; an unsure one goes to a person).

    reader = DocumentRobot(gate, writer, models, requested_by="alice", flow_run_id=run_id)
    result = reader.read("invoice-4711.pdf", Path("inbox/invoice-4711.pdf").read_bytes())
    if result.status == "succeeded":
        row = result.invoice_row()        # the fields as confirmed, ready for the Acme robot
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from audit import LedgerWriter
from governance.approvals.store import mask
from governance.gate import Gate
from governance.models import Action, Outcome
from inference import (
    Classification,
    Document,
    DocumentError,
    DuplicateCheck,
    Extraction,
    InferenceRecord,
    InvalidModelOutput,
    InvoiceFields,
    read_bytes,
)
from inference.candidates import instruction_warnings
from robots.acme.workbook import InvoiceRow
from robots.inbox.models import DocumentModels

ACCEPT = "documents.accept_invoice"
# Parameters of the accept action: what the reviewer sees and may correct, all plain strings.
FIELDS = ("document_type", "vendor_name", "vat_id", "iban", "invoice_number", "issue_date",
          "due_date", "currency", "net", "tax", "total", "po_number")
MAX_SHOWN_CHARS = 20_000  # the document text shown to the reviewer (and kept in the ledger)

Status = Literal["succeeded", "already_done", "filed", "unreadable", "denied", "rejected",
                 "expired", "failed", "planned"]


@dataclass(frozen=True)
class ExtractedFields:
    """The invoice fields one extractor read: values, confidences, warnings, and the text."""

    values: dict[str, str]
    confidence: dict[str, float]
    warnings: list[str]
    text: str


@dataclass
class DocumentResult:
    """What became of one document."""

    path: str
    status: Status
    document_type: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    corrected: dict[str, list[str]] = field(default_factory=dict)
    message: str = ""
    outcome: Outcome | None = None

    def invoice_row(self, row: int = 0) -> InvoiceRow:
        """The accepted invoice as a row for the Acme Payables robot."""
        if self.status != "succeeded":
            raise ValueError(f"{self.path} was {self.status}, not succeeded: nothing to enter")
        f = self.fields
        return InvoiceRow(row=row, invoice_number=f["invoice_number"], vendor=f["vendor_name"],
                          vendor_iban=f.get("iban", ""), amount=f["total"],
                          currency=f["currency"], issue_date=f["issue_date"],
                          due_date=f.get("due_date") or f["issue_date"],
                          description=f"from {Path(self.path).name}")

    def summary(self) -> str:
        fields = " ".join(self.fields.get(k, "") for k in ("invoice_number", "vendor_name",
                                                           "total", "currency"))
        return f"{Path(self.path).name:<28} {self.status:<10} {fields.strip()} {self.message}"


class DocumentRobot:
    """Turns documents into governed `documents.accept_invoice` actions."""

    robot = "robot:document-inbox"
    target = "documents"

    def __init__(self, gate: Gate, writer: LedgerWriter, models: DocumentModels, *,
                 requested_by: str, flow_run_id: str | None,
                 flow_author: str | None = None) -> None:
        self._gate = gate
        self._writer = writer
        self._models = models
        self._requested_by = requested_by
        self._flow_run_id = flow_run_id
        self._flow_author = flow_author

    def read(self, name: str, data: bytes) -> DocumentResult:
        """Read, classify, extract and propose one document (a file's name and bytes)."""
        path = Path(name)
        try:
            document = read_bytes(data, name)
        except DocumentError as exc:
            self._writer.append("document.unreadable", actor=self.robot, payload={
                "file": name, "problem": type(exc).__name__, "message": str(exc)},
                flow_run_id=self._flow_run_id)
            return DocumentResult(name, "unreadable", message=str(exc))
        with self._models.lock:
            kind = self._models.classifier.classify(document.text)
        self._record(kind.record, path, document.sha256)
        read = self._extract(document, path)
        duplicate = self._models.duplicates.check(document.sha256, document.text,
                                                  _fields(read.values))
        self._record(duplicate.record, path, document.sha256)
        proposed, decided_on = accept_proposal(kind, read, duplicate.policy_input())
        action = Action(
            kind=ACCEPT, target=self.target, robot=self.robot,
            requested_by=self._requested_by, flow_run_id=self._flow_run_id,
            flow_author=self._flow_author, step=f"read {path.name}",
            idempotency_key=f"documents:accept:{document.sha256}",
            params=proposed,
            context={
                "file": path.name,
                "sha256": document.sha256,
                **decided_on,
                "similar_documents": _similar(duplicate),
                "document": read.text[:MAX_SHOWN_CHARS],
                "extracted": {name: f"{value} (confidence {read.confidence[name]:.2f})"
                              if name in read.confidence else value
                              for name, value in read.values.items() if value},
            })
        outcome = self._gate.submit(action, _accept)
        return self._result(path, document, proposed, outcome)

    def _result(self, path: Path, document: Document, proposed: dict[str, str],
                outcome: Outcome) -> DocumentResult:
        if outcome.status == "already_done":  # these very bytes were accepted before
            return DocumentResult(str(path), "already_done", proposed.get("document_type"),
                                  message=outcome.message, outcome=outcome)
        if outcome.status == "succeeded":
            final = {k: str(v) for k, v in outcome.result.get("fields", {}).items()}
            corrected = {k: [proposed.get(k, ""), v] for k, v in final.items()
                         if v != proposed.get(k, "")}
            if corrected:
                self._learn(path, document, corrected, final, outcome)
            kind = final.get("document_type")
            if kind != "invoice":  # a person said what it is: kept on record, nothing entered
                return DocumentResult(str(path), "filed", kind, final, corrected,
                                      message=f"filed as {kind} by a person", outcome=outcome)
            problem = _not_enterable(final)
            if problem:
                return DocumentResult(str(path), "failed", kind, final, corrected,
                                      message=problem, outcome=outcome)
            with self._models.lock:  # later invoices are compared with this one
                indexed = self._models.duplicates.remember(document.sha256, document.text,
                                                           _fields(final), name=path.name)
            self._record(indexed, path, document.sha256)
            return DocumentResult(str(path), "succeeded", kind, final, corrected,
                                  outcome=outcome)
        status: Status = outcome.status if outcome.status in (  # type: ignore[assignment]
            "denied", "rejected", "expired", "planned") else "failed"
        if outcome.decision is not None and "not_an_invoice" in outcome.decision.reasons:
            status = "filed"  # a receipt, a contract...: kept on record, nothing entered
        return DocumentResult(str(path), status, proposed.get("document_type"), proposed,
                              message=outcome.message, outcome=outcome)

    def _learn(self, path: Path, document: Document, corrected: dict[str, list[str]],
               final: dict[str, str], outcome: Outcome) -> None:
        """A person corrected the model: record it, and keep a type correction as an example."""
        self._writer.append("document.corrected", actor=self.robot, payload={
            "file": path.name, "corrections": corrected, "approval_id": outcome.approval_id},
            flow_run_id=self._flow_run_id, action_id=outcome.action_id, action_kind=ACCEPT)
        if "document_type" in corrected:
            self._record(self._models.learn_type(document.text, final["document_type"]), path,
                         document.sha256)
        for record in self._models.learn_fields(document.text, {
                name: final[name] for name in corrected if name != "document_type"}):
            self._record(record, path, document.sha256)

    def record_models(self) -> None:
        """Put on record which models this run loaded (`model.loaded`: name, revision,
        quantization loaded and requested, why they differ, device, footprint) and the model
        calls made while loading them (fitting the classifier)."""
        for info in self._models.loaded:
            self._writer.append("model.loaded", actor=f"model:{info.name}",
                                payload=info.model_dump(mode="json"),
                                flow_run_id=self._flow_run_id)
        for record in self._models.startup:
            self._record(record)

    def _extract(self, document: Document, path: Path) -> ExtractedFields:
        """The invoice fields, by the generative model when one is configured (its answer
        validated; an invalid one is rejected and the document goes to a person with no
        fields), else by the pattern extractor."""
        generative = self._models.generative
        if generative is None:
            extraction = self._models.extractor.extract(document.text)
            self._record(extraction.record, path, document.sha256)
            return pattern_fields(document, extraction)
        warnings = document.normalization.report() + instruction_warnings(document.text)
        try:
            with self._models.lock:
                result = generative.extract(document.text)
        except InvalidModelOutput as exc:
            if exc.record is not None:
                self._record(exc.record, path, document.sha256)
            problems = "; ".join(exc.problems or [str(exc)])
            rejected = f"the generative model's answer was rejected, not repaired: {problems}"
            return ExtractedFields({}, {}, [*warnings, rejected], document.text)
        self._record(result.record, path, document.sha256)
        values = {k: v for k, v in result.fields.model_dump().items() if v is not None}
        return ExtractedFields(values, {k: round(c, 4) for k, c in result.confidences.items()},
                               warnings, document.text)

    def _record(self, record: InferenceRecord, path: Path | None = None,
                sha256: str | None = None) -> None:
        about = {"file": path.name, "document_sha256": sha256} if path is not None else {}
        self._writer.append("model.inference", actor=f"model:{record.model}", payload={
            **about, **record.model_dump(mode="json")}, flow_run_id=self._flow_run_id)


def pattern_fields(document: Document, extraction: Extraction) -> ExtractedFields:
    """What the pattern extractor read in `document`, as the robot proposes it."""
    found = {k: f for k, f in extraction.fields.items() if f.value is not None}
    return ExtractedFields({k: f.value or "" for k, f in found.items()},
                           {k: round(f.confidence, 4) for k, f in found.items()},
                           document.normalization.report() + extraction.warnings,
                           extraction.text)


def accept_proposal(kind: Classification, read: ExtractedFields,
                    near_duplicate: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """The parameters of the `documents.accept_invoice` action for a document of type `kind`
    with the fields `read`, and the context the policy decides on (type and field confidences,
    the duplicate check, warnings). Blank and malformed values are proposed as "": a person
    fills them in."""
    fields = _fields(read.values).model_dump()
    params = {"document_type": kind.label, **{k: fields[k] or "" for k in FIELDS[1:]}}
    return params, {
        "classification": {"label": kind.label, "confidence": round(kind.confidence, 4)},
        "confidence": read.confidence,
        "near_duplicate": near_duplicate,
        "warnings": read.warnings,
    }


def _similar(check: DuplicateCheck) -> list[dict[str, Any]]:
    """The earlier documents most like this one, for the reviewer; IBANs masked."""
    shown = []
    for hit in check.similar:
        meta = hit.metadata
        iban = str(meta.get("iban") or "")
        shown.append({"file": meta.get("file", hit.id[:12]), "type": meta.get("kind", ""),
                      "vendor": meta.get("vendor_name", ""),
                      "invoice_number": meta.get("invoice_number", ""),
                      "total": meta.get("total", ""),
                      "iban": mask(iban) if iban else "",
                      "similarity": hit.similarity})
    return shown


def _accept(action: Action) -> dict[str, Any]:
    """The effect of accepting: nothing outside; the fields as confirmed go on in the flow."""
    return {"fields": dict(action.params)}


def _not_enterable(fields: dict[str, str]) -> str:
    """Why the accepted fields cannot become an invoice row (a reviewer left one blank), or ""."""
    try:
        DocumentResult("", "succeeded", fields=fields).invoice_row()
    except (KeyError, ValueError) as exc:
        return f"accepted, but cannot be entered: {exc}"
    return ""


def _fields(values: dict[str, str]) -> InvoiceFields:
    """`values` as `InvoiceFields`, without those left blank or malformed (a malformed value
    still reaches the reviewer as text; here it would only spoil duplicate checks)."""
    clean: dict[str, str] = {}
    for name in InvoiceFields.model_fields:
        value = values.get(name) or None
        if value is None:
            continue
        try:
            InvoiceFields(**{name: value})
        except ValueError:
            continue
        clean[name] = value
    return InvoiceFields(**clean)
