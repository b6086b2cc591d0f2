"""A claim check: what a workflow payload carries in place of a file's bytes. Pure data,
imported by workflows."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

FileKind = Literal["photo", "video", "document"]

DOCUMENT_TYPES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
"""What a document (an invoice, a certificate) may be, by its type read from the bytes."""

BlobKey = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9-]+(/[a-z0-9-]+)*/[0-9a-f]{64}$", max_length=200)
]
"""``<prefix>/<sha-256 of the bytes>``: the same bytes stored twice are one blob, so a
retried upload is harmless."""


class FileRef(BaseModel):
    """One stored file, by reference."""

    model_config = ConfigDict(frozen=True)

    key: BlobKey
    content_type: Annotated[str, StringConstraints(max_length=100)]
    size: Annotated[int, Field(ge=0)]
    name: Annotated[str, StringConstraints(max_length=200)] = ""
    """What the person called it (``kitchen.jpg``), for the page; never a path."""
    kind: FileKind = "photo"


def described(files: list[FileRef]) -> str:
    """How many photos and videos, in words: ``2 photos and 1 video``."""
    photos = sum(1 for file in files if file.kind == "photo")
    videos = sum(1 for file in files if file.kind == "video")
    parts = [
        f"{n} {what}{'' if n == 1 else 's'}"
        for n, what in ((photos, "photo"), (videos, "video"))
        if n
    ]
    return " and ".join(parts)
