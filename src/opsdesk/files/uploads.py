"""Files a person uploads through a form or the API: checked, cleaned and kept in the blob
store, all or none."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from starlette.datastructures import UploadFile

from opsdesk.files.media import HEAD_BYTES, MediaLimits, SafeMedia, check_size, make_safe
from opsdesk.files.refs import FileRef
from opsdesk.files.store import BlobStore

UPLOAD_PREFIX = "uploads"
"""Where uploads are kept: before a report is sent it has no number to file them under."""


async def keep_uploads(
    store: BlobStore, uploads: Sequence[UploadFile], limits: MediaLimits
) -> list[FileRef]:
    """The uploads' references once each is checked, stripped of its location and stored;
    raises ``MediaRefused`` (and stores nothing) when any one is refused."""
    limits.check_count(len(uploads))
    safe: list[SafeMedia] = []
    for upload in uploads:
        name = upload.filename or "file"
        head = await upload.read(HEAD_BYTES)
        # Checked before the whole file is read: a 2 GB video is refused from its size.
        check_size(name, head, upload.size if upload.size is not None else len(head), limits)
        data = head + await upload.read()
        safe.append(await asyncio.to_thread(make_safe, name, data, limits))
    return [
        await store.put(
            UPLOAD_PREFIX, media.data, media.content_type, name=media.name, kind=media.kind
        )
        for media in safe
    ]
