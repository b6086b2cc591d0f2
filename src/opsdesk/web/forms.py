"""Reading the forms a browser posts to the dashboard and the public pages."""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
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


@dataclass(frozen=True)
class Upload:
    """A file a form attached: its bytes, and what the browser called it (a name only; the
    type is read from the bytes by whoever keeps it)."""

    filename: str
    data: bytes


async def read_form_and_files(request: Request) -> tuple[dict[str, str], dict[str, Upload]]:
    """The fields and files of a form a browser posted: url-encoded (no files), or
    ``multipart/form-data`` for a form with a file input. Read with the standard library's
    MIME parser: the body is already bounded by ``BodyLimit``."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        return await read_form(request), {}
    body = await request.body()
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ApiError(422, "invalid_input", "the form could not be read; send it again")
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    for count, part in enumerate(message.iter_parts()):
        if count >= MAX_FORM_FIELDS:
            raise ApiError(422, "invalid_input", "the form has too many fields")
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            if data:  # a file input left empty still sends its part, with no bytes
                files[name] = Upload(filename=filename, data=data)
        else:
            fields[name] = data.decode("utf-8", errors="replace")
    return fields, files
