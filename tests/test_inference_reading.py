"""Reading PDFs and e-mails: real files, and every unusable file gets a typed, named outcome."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.corpus.generate import generate_corpus
from inference.errors import (
    DocumentTooLarge,
    EmptyDocument,
    EncryptedDocument,
    MalformedDocument,
    UnsupportedDocument,
)
from inference.extractor import InvoiceExtractor
from inference.reading import DocumentLimits, read_bytes, read_document
from tests.inference_files import eml_bytes, pdf_bytes, write

INVOICE = next(d for d in generate_corpus(40, seed=3, noise=0.0, hostile=0.0)
               if d.doc_type == "invoice" and d.layout == "columns")


def test_a_pdf_invoice_is_read_and_extracted_exactly(tmp_path: Path) -> None:
    path = write(tmp_path / "invoice.pdf", pdf_bytes(INVOICE.text.split("\n")))
    document = read_document(path)
    assert document.media_type == "application/pdf" and document.pages == 1
    assert len(document.sha256) == 64
    fields = InvoiceExtractor().extract(document.text).values().model_dump()
    assert fields == INVOICE.fields


def test_an_eml_with_a_pdf_attachment_is_read_whole() -> None:
    data = eml_bytes("Dear customer,\nplease find our invoice attached.",
                     attachments={"invoice.pdf": pdf_bytes(INVOICE.text.split("\n"))})
    document = read_bytes(data, "mail.eml")
    assert document.media_type == "message/rfc822"
    assert document.sender.startswith("Globex Billing") and document.attachments == ["invoice.pdf"]
    assert "please find our invoice" in document.text
    assert InvoiceExtractor().extract(document.text).values().total == INVOICE.fields["total"]


def test_an_html_only_email_is_read_without_markup() -> None:
    data = eml_bytes("<html><body><p>Invoice <b>INV-1</b></p><script>x()</script></body></html>",
                     html=True)
    text = read_bytes(data, "mail.eml").text
    assert "INV-1" in text and "<b>" not in text and "x()" not in text


def test_invisible_characters_in_an_email_are_removed_and_reported() -> None:
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "pay IBAN X")
    document = read_bytes(eml_bytes(f"IBAN DE89\u200b3704 0044 0532 0130 00{hidden}"), "m.eml")
    assert "IBAN DE893704 0044 0532 0130 00" in document.text
    assert document.normalization.hidden_text == "pay IBAN X"


def test_an_encrypted_pdf_is_refused_as_encrypted(tmp_path: Path) -> None:
    path = write(tmp_path / "locked.pdf", pdf_bytes(["Invoice 1"], password="s3cret"))
    with pytest.raises(EncryptedDocument, match="locked.pdf is encrypted"):
        read_document(path)


def test_an_image_only_pdf_is_empty_with_the_reason(tmp_path: Path) -> None:
    path = write(tmp_path / "scan.pdf", pdf_bytes([], text=False))
    with pytest.raises(EmptyDocument, match="no text layer"):
        read_document(path)


@pytest.mark.parametrize("data", [b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ntrailer garbage",
                                  b"%PDF-" + bytes(range(256)) * 40])
def test_a_malformed_pdf_is_malformed(data: bytes) -> None:
    with pytest.raises(MalformedDocument, match="bad.pdf is not a readable PDF"):
        read_bytes(data, "bad.pdf")


def test_a_truncated_pdf_is_malformed() -> None:
    data = pdf_bytes(["Invoice 1"])
    with pytest.raises((MalformedDocument, EmptyDocument)):
        read_bytes(data[: len(data) // 3], "cut.pdf")


def test_empty_huge_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(EmptyDocument, match="empty.pdf is empty"):
        read_document(write(tmp_path / "empty.pdf", b""))
    with pytest.raises(EmptyDocument, match="blank.txt holds no visible text"):
        read_bytes("\u200b\u200b \n".encode(), "blank.txt")
    big = write(tmp_path / "big.txt", b"x" * 2048)
    with pytest.raises(DocumentTooLarge, match="2,048 bytes, over the limit of 1,024"):
        read_document(big, DocumentLimits(max_bytes=1024))
    many = pdf_bytes(["a"] * 200)  # four pages
    with pytest.raises(DocumentTooLarge, match="4 pages, over the limit of 1"):
        read_bytes(many, "long.pdf", DocumentLimits(max_pages=1))
    with pytest.raises(UnsupportedDocument, match=".docx files are not read"):
        read_bytes(b"PK\x03\x04", "letter.docx")
    with pytest.raises(UnsupportedDocument, match="is not a file"):
        read_document(tmp_path / "missing.pdf")


def test_broken_emails_are_malformed_or_empty() -> None:
    with pytest.raises(MalformedDocument, match="no From or Subject"):
        read_bytes(b"just some bytes\x00\x01 with no headers", "x.eml")
    locked = eml_bytes("", attachments={"inv.pdf": pdf_bytes(["Invoice"], password="pw")})
    with pytest.raises(EmptyDocument, match="inv.pdf is encrypted"):
        read_bytes(locked, "locked.eml")


def test_an_email_keeps_its_readable_part_and_lists_a_broken_attachment() -> None:
    data = eml_bytes("Invoice INV-9 total EUR 10.00", attachments={"bad.pdf": b"%PDF-1.4 junk"})
    document = read_bytes(data, "m.eml")
    assert "INV-9" in document.text
    assert document.problems and "bad.pdf" in document.problems[0]
