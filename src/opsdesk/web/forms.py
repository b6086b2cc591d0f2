"""Reading the forms a browser posts to the dashboard and the public pages."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException

from opsdesk.web.errors import ApiError

MAX_FORM_FIELDS = 200
MAX_FORM_FILES = 50
"""A ceiling on file parts the parser takes; the settings' per-report limit is checked on
what is left."""


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a form a browser posted.

    Our forms are url-encoded (the browser's default), which the standard library reads, so
    no multipart parser is needed. A field sent twice keeps its last value.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise ApiError(415, "unsupported_media_type", "send the form url-encoded")
    try:
        pairs = parse_qsl(
            (await request.body()).decode("utf-8", errors="replace"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError:
        raise ApiError(422, "invalid_input", "the form has too many fields") from None
    return dict(pairs)


async def read_form_with_files(
    request: Request, field: str = "photos"
) -> tuple[FormData, dict[str, str], list[UploadFile]]:
    """The fields of a form that may carry files (multipart), and the files chosen in
    ``field``; an url-encoded form has none. The caller closes the returned ``FormData``
    (large files wait in temporary files)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        return FormData(), await read_form(request), []
    if content_type != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "send the form url-encoded or as multipart")
    try:
        form = await request.form(max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS)
    except MultiPartException as exc:
        raise ApiError(400, "bad_request", f"the form could not be read: {exc.message}") from None
    values = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    # A file input left empty still sends a part, with no name and no bytes.
    files = [
        value
        for value in form.getlist(field)
        if isinstance(value, UploadFile) and (value.filename or value.size)
    ]
    return form, values, files
