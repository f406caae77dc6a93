"""Reading documents into normalized text: PDF (pypdf), e-mail (.eml, stdlib `email`), text.

Every way a file can be unusable ends in a `DocumentError` subclass naming the file and the
problem: empty, encrypted, malformed, too large, unsupported. Nothing from pypdf or `email`
escapes as a raw stack trace.

    document = read_document(Path("inbox/invoice-4711.pdf"))
    document.text, document.normalization.report()
"""

from __future__ import annotations

import hashlib
import html
import io
import logging
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from inference.errors import (
    DocumentError,
    DocumentTooLarge,
    EmptyDocument,
    EncryptedDocument,
    MalformedDocument,
    UnsupportedDocument,
)
from inference.text import NormalizedText, normalize

MediaType = Literal["application/pdf", "message/rfc822", "text/plain"]


class DocumentLimits(BaseModel):
    """What a document may not exceed; beyond these it is refused as `DocumentTooLarge`."""

    model_config = ConfigDict(frozen=True)

    max_bytes: int = 20 * 1024 * 1024
    max_pages: int = 200
    max_chars: int = 2_000_000
    max_attachments: int = 20


class Document(BaseModel):
    """A document's normalized text and where it came from."""

    model_config = ConfigDict(frozen=True)

    name: str
    media_type: MediaType
    sha256: str
    text: str
    normalization: NormalizedText
    pages: int = 1
    sender: str = ""
    subject: str = ""
    attachments: list[str] = []
    problems: list[str] = []


def read_document(path: Path, limits: DocumentLimits | None = None) -> Document:
    """Read the file at `path`; raises a `DocumentError` naming what is wrong."""
    limits = limits or DocumentLimits()
    path = Path(path)
    if not path.is_file():
        raise UnsupportedDocument(f"{path} is not a file")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise DocumentTooLarge(f"{path.name} is {size:,} bytes, over the limit of "
                               f"{limits.max_bytes:,}")
    return read_bytes(path.read_bytes(), path.name, limits)


def read_bytes(data: bytes, name: str, limits: DocumentLimits | None = None) -> Document:
    """Read a document given as bytes; `name` is used for its kind (.eml, .txt) and messages."""
    limits = limits or DocumentLimits()
    if len(data) > limits.max_bytes:
        raise DocumentTooLarge(f"{name} is {len(data):,} bytes, over the limit of "
                               f"{limits.max_bytes:,}")
    if not data.strip():
        raise EmptyDocument(f"{name} is empty")
    suffix = Path(name).suffix.lower()
    if data.lstrip()[:5] == b"%PDF-" or suffix == ".pdf":
        text, pages = pdf_text(data, name, limits)
        return _document(name, "application/pdf", data, text, limits, pages=pages)
    if suffix == ".eml":
        return _email(data, name, limits)
    if suffix in (".txt", ".text", ""):
        return _document(name, "text/plain", data, _decode(data, name), limits)
    raise UnsupportedDocument(f"{name}: {suffix} files are not read; send a PDF, an .eml e-mail "
                              "or a .txt file")


def pdf_text(data: bytes, name: str, limits: DocumentLimits) -> tuple[str, int]:
    """The text layer of a PDF, page by page, and its page count."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings become our problems
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                reader.decrypt("")  # owner-password-only PDFs open with an empty password
                len(reader.pages)
            except Exception as exc:
                raise EncryptedDocument(f"{name} is encrypted and needs a password") from exc
        pages = len(reader.pages)
        if pages > limits.max_pages:
            raise DocumentTooLarge(f"{name} has {pages} pages, over the limit of "
                                   f"{limits.max_pages}")
        texts = []
        for page in reader.pages:
            texts.append(page.extract_text(extraction_mode="layout") or "")
            if sum(map(len, texts)) > limits.max_chars:
                raise DocumentTooLarge(f"{name} holds more than {limits.max_chars:,} "
                                       "characters of text")
    except DocumentError:
        raise
    except FileNotDecryptedError as exc:
        raise EncryptedDocument(f"{name} is encrypted and needs a password") from exc
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError, OSError, AssertionError, ZeroDivisionError) as exc:
        raise MalformedDocument(f"{name} is not a readable PDF: {type(exc).__name__}: "
                                f"{exc}") from exc
    text = "\n".join(texts)
    if not text.strip():
        raise EmptyDocument(f"{name} has no text layer (a scanned image?); OCR is not "
                            "available, so a person must read it")
    return text, pages


def _email(data: bytes, name: str, limits: DocumentLimits) -> Document:
    try:
        message = BytesParser(policy=policy.default).parsebytes(data)
    except Exception as exc:  # the stdlib parser is lenient; anything raised means unreadable
        raise MalformedDocument(f"{name} is not a readable e-mail: {exc}") from exc
    if not isinstance(message, EmailMessage) or not (message["From"] or message["Subject"]):
        raise MalformedDocument(f"{name} is not an e-mail: it has no From or Subject header")
    parts, attachments, problems, pages = [], [], [], 1
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        content = _content(body, name)
        parts.append(_strip_html(content) if body.get_content_type() == "text/html" else content)
    for index, part in enumerate(message.iter_attachments()):
        if index >= limits.max_attachments:
            problems.append(f"more than {limits.max_attachments} attachments; the rest ignored")
            break
        filename = part.get_filename() or f"attachment-{index + 1}"
        attachments.append(filename)
        if part.get_content_type() == "application/pdf" or filename.lower().endswith(".pdf"):
            try:
                text, n = pdf_text(part.get_payload(decode=True) or b"", filename, limits)
                parts.append(f"--- {filename} ---\n{text}")
                pages += n
            except DocumentError as exc:
                problems.append(f"attachment {filename}: {exc}")
    sender, subject = str(message["From"] or ""), str(message["Subject"] or "")
    head = f"From: {sender}\nSubject: {subject}"
    text = head + "\n\n" + "\n\n".join(p for p in parts if p.strip())
    if not any(p.strip() for p in parts):
        detail = "; ".join(problems) or "no text body and no readable PDF attachment"
        raise EmptyDocument(f"{name}: nothing to read ({detail})")
    return _document(name, "message/rfc822", data, text, limits, pages=pages, sender=sender,
                     subject=subject, attachments=attachments, problems=problems)


def _content(part: EmailMessage, name: str) -> str:
    try:
        return str(part.get_content())
    except (LookupError, ValueError) as exc:  # unknown charset, broken encoding
        raw = part.get_payload(decode=True) or b""
        return raw.decode("utf-8", errors="replace") if raw else f"[{name}: unreadable ({exc})]"


def _strip_html(markup: str) -> str:
    markup = re.sub(r"(?is)<(script|style).*?</\1>", " ", markup)
    markup = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>|</h\d>", "\n", markup)
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def _decode(data: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "utf-16") if data[:2] not in (b"\xff\xfe", b"\xfe\xff") \
            else ("utf-16",):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    if b"\x00" in data:
        raise MalformedDocument(f"{name} is binary, not text")
    return data.decode("latin-1")


def _document(name: str, media_type: MediaType, data: bytes, text: str,
              limits: DocumentLimits, **extra: object) -> Document:
    if len(text) > limits.max_chars:
        raise DocumentTooLarge(f"{name} holds {len(text):,} characters, over the limit of "
                               f"{limits.max_chars:,}")
    normalized = normalize(text)
    if not normalized.text.strip():
        raise EmptyDocument(f"{name} holds no visible text")
    return Document(name=name, media_type=media_type, sha256=hashlib.sha256(data).hexdigest(),
                    text=normalized.text, normalization=normalized, **extra)  # type: ignore[arg-type]
