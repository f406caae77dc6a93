"""Real files for the document tests: PDFs written with fpdf2 (encrypted with pypdf), e-mails
built with the stdlib."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from demo.inbox import pdf_bytes  # noqa: F401 - the tests' PDFs are written like the demo's


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def eml_bytes(body: str, *, sender: str = "Globex Billing <billing@globex.example>",
              subject: str = "Invoice", attachments: dict[str, bytes] | None = None,
              html: bool = False) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "payables@acme.example"
    message["Subject"] = subject
    if html:
        message.set_content(body, subtype="html")
    else:
        message.set_content(body)
    for name, data in (attachments or {}).items():
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return bytes(message)
