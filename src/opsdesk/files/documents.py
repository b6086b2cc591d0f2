"""Documents people upload (a vendor's invoice, an insurance certificate, a licence): a PDF,
JPEG or PNG of at most 10 MB, its type read from its bytes (``filetype``), never from its
name or the browser's content type, kept in the blob store.

A PDF is kept byte for byte (it is evidence). A JPEG or PNG (a phone's photo of a
certificate) goes through ``media.py``'s photo stripping first, as the repair photos do: a
scan's pixels are the evidence, the phone's location in it is not ours to keep."""

from __future__ import annotations

import asyncio
import re
from typing import Literal

import filetype

from opsdesk.files.media import MediaRefused, safe_photo
from opsdesk.files.refs import DOCUMENT_TYPES, FileRef
from opsdesk.files.store import BlobStore

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
"""A scan of a few pages; bigger is a photo of a page that needs shrinking."""

DocumentProblem = Literal["empty", "too_large", "not_a_document"]


class DocumentRefused(ValueError):
    """Why a document was not kept, in a sentence naming the file. ``problem`` says which
    check failed and ``looks`` what the bytes looked like, for a caller with words of its
    own."""

    def __init__(self, problem: DocumentProblem, name: str, looks: str | None = None) -> None:
        self.problem = problem
        self.name = name
        self.looks = looks
        the_file = name or "The file"
        if problem == "empty":
            sentence = f"{the_file} is empty."
        elif problem == "too_large":
            sentence = f"{the_file} is larger than 10 MB; send a smaller scan."
        else:
            seen = f" (it looks like a {looks} file)" if looks else ""
            sentence = (
                f"{the_file} is not a PDF, JPEG or PNG{seen}; save or scan it as one of "
                "those and send it again."
            )
        super().__init__(sentence)


def document_type(data: bytes, name: str = "") -> str:
    """The document's content type, read from its bytes; refused unless a PDF, JPEG or
    PNG."""
    guessed = filetype.guess(data)
    mime = str(guessed.mime) if guessed is not None else ""
    if mime in DOCUMENT_TYPES:
        return mime
    looks = str(guessed.extension).upper() if guessed is not None else None
    raise DocumentRefused("not_a_document", name, looks)


async def keep_document(store: BlobStore, prefix: str, data: bytes, name: str = "") -> FileRef:
    """Check the document and keep it under ``prefix`` (each part made fit for a blob key):
    the same bytes kept twice are one blob, so a retried upload is harmless. ``data`` may
    be read with one byte over the limit, so that a larger file is refused, not cut."""
    name = name.replace("/", "_").replace("\\", "_")[-200:]
    if not data:
        raise DocumentRefused("empty", name)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentRefused("too_large", name)
    content_type = document_type(data, name)
    if content_type != "application/pdf":
        data = await asyncio.to_thread(_without_location, data, name, content_type)
    return await store.put(key_prefix(prefix), data, content_type, name=name, kind="document")


def _without_location(data: bytes, name: str, content_type: str) -> bytes:
    """A photographed document's pixels, its EXIF (GPS, camera serials) left behind."""
    try:
        return safe_photo(name, data, content_type).data
    except MediaRefused:
        # It claimed to be a JPEG or PNG but does not decode as one: not a document we keep.
        raise DocumentRefused("not_a_document", name) from None


def key_prefix(prefix: str) -> str:
    """``invoices/MR_0007`` as a blob key's prefix takes it: ``invoices/mr-0007``."""
    parts = prefix.strip("/").split("/")
    # A part with nothing a key can hold (an id of symbols) still needs a name.
    return "/".join(re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-") or "x" for part in parts)
