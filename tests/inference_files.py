"""Real files for the document tests: PDFs written with fpdf2 (encrypted with pypdf), e-mails
built with the stdlib."""

from __future__ import annotations

import io
from email.message import EmailMessage
from pathlib import Path


def pdf_bytes(lines: list[str], *, password: str | None = None, text: bool = True) -> bytes:
    """A one-page PDF with `lines` in a monospaced font (columns stay aligned)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.core_fonts_encoding = "windows-1252"  # €, umlauts and accents in a core font
    pdf.add_page()
    pdf.set_font("Courier", size=9)
    if text:
        for line in lines:
            pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.rect(20, 20, 100, 60, style="F")  # a "scan": ink, no text layer
    data = bytes(pdf.output())
    if password is None:
        return data
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=password, owner_password=password + "-owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


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
