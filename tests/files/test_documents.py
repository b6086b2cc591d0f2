"""The one way a document (an invoice, a certificate) is kept: its type read from the
bytes, its size limited, kept byte for byte under a prefix a blob key can hold, and a
refusal that names the file in a sentence."""

from __future__ import annotations

import pytest

from opsdesk.files.documents import MAX_DOCUMENT_BYTES, DocumentRefused, keep_document
from opsdesk.files.store import store_for
from opsdesk.settings import Settings
from tests.files.samples import gif, has_location, jpeg_with_location, png_with_location

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def test_a_document_is_kept_as_it_came_or_refused_in_a_sentence_naming_it(
    settings: Settings,
) -> None:
    store = store_for(settings)
    ref = await keep_document(store, "invoices/MR_0007.b", PDF, "dir/INV 1042.pdf")
    assert ref.key.startswith("invoices/mr-0007-b/")
    assert (ref.content_type, ref.kind, ref.size) == ("application/pdf", "document", len(PDF))
    assert ref.name == "dir_INV 1042.pdf"  # never a path
    assert await store.get(ref.key) == PDF
    # A retried upload is the same blob.
    assert await keep_document(store, "invoices/MR_0007.b", PDF, "dir/INV 1042.pdf") == ref

    # A photographed certificate loses its location, as a tenant's photo does; the PDF
    # above was kept byte for byte.
    for scan, content_type in (
        (jpeg_with_location(), "image/jpeg"),
        (png_with_location(), "image/png"),
    ):
        assert has_location(scan)
        kept = await keep_document(store, "vendors/ven-flow", scan, "licence.jpg")
        assert kept.content_type == content_type
        assert not has_location(await store.get(kept.key))
    with pytest.raises(DocumentRefused) as broken:
        await keep_document(store, "vendors/ven-flow", jpeg_with_location()[:400], "cut.jpg")
    assert broken.value.problem == "not_a_document"

    # The name says nothing: a GIF named .pdf is a GIF.
    with pytest.raises(DocumentRefused) as refused:
        await keep_document(store, "vendors/ven-flow", gif(), "liability.pdf")
    assert (refused.value.problem, refused.value.looks) == ("not_a_document", "GIF")
    assert str(refused.value) == (
        "liability.pdf is not a PDF, JPEG or PNG (it looks like a GIF file); save or scan it "
        "as one of those and send it again."
    )
    with pytest.raises(DocumentRefused, match=r"^notes\.pdf is not a PDF, JPEG or PNG;"):
        await keep_document(store, "vendors/ven-flow", b"just some words", "notes.pdf")
    with pytest.raises(DocumentRefused, match=r"^scan\.pdf is larger than 10 MB"):
        await keep_document(
            store, "vendors/ven-flow", PDF.ljust(MAX_DOCUMENT_BYTES + 1), "scan.pdf"
        )
    with pytest.raises(DocumentRefused, match=r"^The file is empty\.$") as empty:
        await keep_document(store, "vendors/ven-flow", b"")
    assert empty.value.problem == "empty"
