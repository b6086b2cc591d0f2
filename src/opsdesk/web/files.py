"""``GET /files/<token>``: a file from the folder store, for as long as its signed link
lives. (An S3 store's links go to S3 itself.)"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from opsdesk.files.signing import FILES_PATH, FileLinkRefused, FileSigner
from opsdesk.files.store import BlobMissing, BlobStore, FolderStore, store_for
from opsdesk.security_events import record
from opsdesk.web.deps import settings_of
from opsdesk.web.errors import error_page
from opsdesk.web.pages import anyone

# The signed link is the permission, as a question's link is; uncounted, as a page's photos
# are fetched together.
router = APIRouter(include_in_schema=False, dependencies=[Depends(anyone)])


def files_of(request: Request) -> BlobStore:
    """The app's blob store, made once."""
    store: BlobStore | None = getattr(request.app.state, "files", None)
    if store is None:
        store = request.app.state.files = store_for(settings_of(request))
    return store


@router.get(FILES_PATH + "/{token}", response_model=None)
async def file(request: Request, token: str) -> Response:
    store = files_of(request)
    if not isinstance(store, FolderStore):
        return error_page(request, 404, "Files are kept elsewhere; this link is not one of ours")
    signer: FileSigner = store.signer
    try:
        ref = signer.verify(token)
    except FileLinkRefused as refused:
        reason = "expired" if refused.expired else "forged"
        record("link_refused", "refused", request=request, reason=reason, link="file")
        if refused.expired:
            return error_page(
                request,
                410,
                "This link to a file has expired. Open the page you came from again for a new one",
            )
        return error_page(request, 404, "This link to a file is not one of ours")
    try:
        data = await store.get(ref.key)
    except BlobMissing:
        return error_page(request, 404, "This file is no longer kept")
    return Response(
        data,
        media_type=ref.content_type,
        headers={
            "Content-Disposition": FileSigner.disposition(ref),
            # The link is the permission: a shared cache must never keep the file.
            "Cache-Control": "private, max-age=300",
            "X-Content-Type-Options": "nosniff",
        },
    )
