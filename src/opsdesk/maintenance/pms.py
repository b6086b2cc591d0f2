"""The adapter to a property-management system: its new repair requests after a cursor, over
HTTP with a Bearer token.

``GET <url>?after=<cursor>&limit=<n>`` answers ``{"requests": [record, ...], "cursor": c}``:
at most ``n`` records, oldest first, and ``c`` the cursor after the last of them (``after``
is left out for the first page). A record is a JSON object; ``parse_record`` checks each on
its own, so one bad record never spoils its page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints, ValidationError

from opsdesk.errors import PmsProtocolError, PmsRefused
from opsdesk.maintenance.inputs import RequestForm
from opsdesk.values import pattern_words

MAX_EXTERNAL_ID = 128
MAX_ANSWER_KEPT = 4000
"""Characters of an answer that is not JSON kept beside the reason it was set aside."""
REQUEST_TIMEOUT = 10.0
# A slow or overloaded system is worth asking again; other refusals are about us.
_RETRYABLE_STATUSES = frozenset({408, 425, 429})

ExternalId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_EXTERNAL_ID)
]


class PmsUnavailable(Exception):
    """The system could not answer now (unreachable, 5xx, 429): the poll is retried."""


class BadRecord(ValueError):
    """A record that cannot become a request, with the id it goes by and why."""

    def __init__(self, external_id: str, reason: str) -> None:
        super().__init__(f"{external_id}: {reason}")
        self.external_id = external_id
        self.reason = reason


class BadAnswer(PmsProtocolError):
    """The system answered, but not with what its protocol promises (not JSON, not an
    object, no list of requests, no cursor after records). The poller sets the answer aside
    with the reason and carries on: after the answer's cursor when it has a usable one,
    else by asking again at the next poll."""

    def __init__(self, reason: str, answer: Any, cursor: str | None) -> None:
        super().__init__(f"the answer is not what the feed promises: {reason}")
        self.reason = reason
        self.answer = answer
        self.cursor = cursor


class PmsRecord(BaseModel):
    """A repair request as the system sends it."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    id: ExternalId
    property_id: str
    unit: str
    tenant_name: str
    tenant_email: str
    tenant_phone: str = ""
    description: str
    reported_at: AwareDatetime | None = None


@dataclass(frozen=True)
class PmsPage:
    records: list[Any]
    """Raw records: each is checked on its own (``parse_record``)."""
    cursor: str | None
    """None only when there are no records."""


def external_id_of(raw: Any) -> str:
    """The record's own id, or for a record without a usable one a stable stand-in made from
    its contents, so that it can be set aside (once) all the same."""
    if isinstance(raw, dict):
        value = raw.get("id")
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip() and len(value.strip()) <= MAX_EXTERNAL_ID:
            return value.strip()
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    return f"no-id-{digest[:16]}"


# What a person calls each field of a record, in a set-aside reason.
_FIELD_WORDS = {
    "id": "the id",
    "property_id": "the property",
    "unit": "the unit",
    "tenant_name": "the tenant's name",
    "tenant_email": "the tenant's email",
    "tenant_phone": "the tenant's phone number",
    "description": "the description",
    "reported_at": "the time it was reported",
    "tenant.name": "the tenant's name",
    "tenant.email": "the tenant's email",
    "tenant.phone": "the tenant's phone number",
    "tenant": "the tenant's name",
}


def _problem(error: Mapping[str, Any]) -> tuple[str, str]:
    """One validation error as ``(field, sentence)``, the sentence in plain words."""
    where = ".".join(str(part) for part in error["loc"])
    what = _FIELD_WORDS.get(where, where or "the record")
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        words = f"{what} is missing"
    elif kind in ("string_type", "int_type", "datetime_type"):
        words = f"{what} is not text"
    elif kind == "string_too_short":
        least = ctx.get("min_length", 1)
        words = f"{what} is empty" if least <= 1 else f"{what} is shorter than {least} characters"
    elif kind == "string_too_long":
        words = f"{what} is longer than {ctx.get('max_length')} characters"
    elif kind == "string_pattern_mismatch":
        said = pattern_words(str(ctx.get("pattern", "")))
        words = f"{what} should be {said}" if said else f"{what} has characters not allowed here"
    elif kind.startswith(("datetime", "timezone")):
        words = f"{what} is not a date and time with its offset"
    else:
        words = f"{what}: {str(error['msg']).removeprefix('Value error, ')}"
    return where, words


def record_problems(raw: Any) -> dict[str, str]:
    """Everything wrong with a record, each in plain words by the field it is about, in the
    record's field order; empty when it makes a request form. Not the first problem only:
    whoever fixes the record in the other system fixes all of it at once."""
    if not isinstance(raw, dict):
        return {"": f"a record must be a JSON object, not {_json_type(raw)}"}
    problems: dict[str, str] = {}
    try:
        record = PmsRecord.model_validate(raw)
    except ValidationError as exc:
        record = None
        for error in exc.errors(include_url=False):
            problems.setdefault(*_problem(error))
    # As the record reads them (a number as its digits), to find the form's problems too.
    field = {
        key: str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        for key, value in raw.items()
    }
    tenant = {
        "name": field.get("tenant_name"),
        "email": field.get("tenant_email"),
        "phone": field.get("tenant_phone", ""),
    }
    form = {
        "property_id": field.get("property_id"),
        "unit": field.get("unit"),
        "tenant": tenant,
        "description": field.get("description"),
    }
    if record is not None:
        form = _form_fields(record)
    try:
        RequestForm.model_validate(form)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            where, words = _problem(error)
            # A field already wrong as the record has it is said once.
            named = next((k for k, v in _RECORD_NAMES.items() if v == where), where)
            problems.setdefault(named, words)
    order = list(_FIELD_WORDS)
    ranked = sorted(problems, key=lambda f: order.index(f) if f in order else len(order))
    return {field: problems[field] for field in ranked}


# The form's field paths, as the record names those fields.
_RECORD_NAMES = {
    "tenant_name": "tenant.name",
    "tenant_email": "tenant.email",
    "tenant_phone": "tenant.phone",
}


def _json_type(value: Any) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "true or false",
        type(None): "null",
    }
    return names.get(type(value), "a number" if isinstance(value, int | float) else "that")


def _form_fields(record: PmsRecord) -> dict[str, Any]:
    return {
        "property_id": record.property_id,
        "unit": record.unit,
        "tenant": {
            "name": record.tenant_name,
            "email": record.tenant_email,
            "phone": record.tenant_phone,
        },
        "description": record.description,
    }


def parse_record(raw: Any) -> tuple[PmsRecord, RequestForm]:
    """The record and the request form it makes; ``BadRecord`` says why not, listing every
    problem."""
    problems = record_problems(raw)
    if problems:
        raise BadRecord(external_id_of(raw), "; ".join(problems.values()))
    record = PmsRecord.model_validate(raw)
    return record, RequestForm.model_validate(_form_fields(record))


class PmsClient:
    """One property-management system's requests endpoint."""

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        timeout: float = REQUEST_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self._token = token
        self._timeout = timeout
        self._transport = transport

    async def fetch(self, after: str | None, limit: int) -> PmsPage:
        """The records after the cursor ``after`` (``limit`` is what is asked for).

        Raises ``PmsRefused`` (a retry cannot fix it), ``BadAnswer`` (the answer is not the
        protocol's) and ``PmsUnavailable`` (a retry may fix it)."""
        params: dict[str, str | int] = {"limit": limit}
        if after is not None:
            params["after"] = after
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as http:
                response = await http.get(self.url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise PmsUnavailable(f"cannot reach {self.url}: {exc or type(exc).__name__}") from None
        self._check_status(response)
        return self._page(response, limit)

    def _check_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if response.is_success:
            return
        said = response.text[:200].strip()
        answer = f"{self.url} answered {status}" + (f": {said}" if said else "")
        if status >= 500 or status in _RETRYABLE_STATUSES:
            raise PmsUnavailable(answer)
        if status == 401:
            answer += " (check OPSDESK_PMS_TOKEN)"
        elif status in (404, 405) or response.is_redirect:
            answer += " (check OPSDESK_PMS_URL)"
        raise PmsRefused(answer)

    def _page(self, response: httpx.Response, limit: int) -> PmsPage:
        try:
            body = response.json()
        except ValueError:
            raise BadAnswer(
                "it is not JSON", {"answer": response.text[:MAX_ANSWER_KEPT]}, None
            ) from None
        if not isinstance(body, dict):
            raise BadAnswer(f"it is {_json_type(body)}, not an object", {"answer": body}, None)
        cursor = body.get("cursor")
        if isinstance(cursor, int) and not isinstance(cursor, bool):
            cursor = str(cursor)
        if cursor is not None and not (isinstance(cursor, str) and cursor):
            raise BadAnswer('its "cursor" is not a string', body, None)
        records = body.get("requests")
        if not isinstance(records, list):
            what = "has no" if records is None else f"has {_json_type(records)} for its"
            # With a cursor the poll goes on after the page, which is kept for ops.
            raise BadAnswer(f'it {what} "requests" list', body, cursor)
        if records and cursor is None:
            raise BadAnswer('it sent records without a "cursor" after them', body, None)
        # More records than asked for are all taken, each checked on its own: the cursor
        # is after the last of them, and taking only some would skip the rest.
        return PmsPage(records=records, cursor=cursor)
