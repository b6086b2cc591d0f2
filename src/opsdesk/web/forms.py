"""Reading the forms a browser posts to the dashboard and the public pages."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request

from opsdesk.web.errors import ApiError

MAX_FORM_FIELDS = 200


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
