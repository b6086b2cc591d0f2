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
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints, ValidationError

from opsdesk.errors import PmsProtocolError, PmsRefused
from opsdesk.maintenance.inputs import RequestForm

MAX_EXTERNAL_ID = 128
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


# The form's fields, as the record names them.
_RECORD_FIELDS = {
    "tenant.name": "tenant_name",
    "tenant.email": "tenant_email",
    "tenant.phone": "tenant_phone",
    "tenant": "tenant_name",
}


def _reason(exc: ValidationError, rename: dict[str, str] | None = None) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"])
        where = (rename or {}).get(where, where)
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)


def parse_record(raw: Any) -> tuple[PmsRecord, RequestForm]:
    """The record and the request form it makes; ``BadRecord`` says why not."""
    external_id = external_id_of(raw)
    if not isinstance(raw, dict):
        raise BadRecord(external_id, f"a record must be a JSON object, not {type(raw).__name__}")
    try:
        record = PmsRecord.model_validate(raw)
    except ValidationError as exc:
        raise BadRecord(external_id, _reason(exc)) from None
    try:
        form = RequestForm.model_validate(
            {
                "property_id": record.property_id,
                "unit": record.unit,
                "tenant": {
                    "name": record.tenant_name,
                    "email": record.tenant_email,
                    "phone": record.tenant_phone,
                },
                "description": record.description,
            }
        )
    except ValidationError as exc:
        raise BadRecord(external_id, _reason(exc, _RECORD_FIELDS)) from None
    return record, form


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
        """At most ``limit`` records after the cursor ``after``.

        Raises ``PmsRefused`` and ``PmsProtocolError`` (a retry cannot fix them) and
        ``PmsUnavailable`` (it may)."""
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
            raise PmsProtocolError(f"{self.url} answered with something other than JSON") from None
        records = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise PmsProtocolError(f'{self.url} answered without a "requests" list')
        if len(records) > limit:
            # Taking only some would skip the rest: the cursor is after the last one.
            raise PmsProtocolError(
                f"{self.url} sent {len(records)} records when asked for at most {limit}"
            )
        cursor = body.get("cursor")
        if isinstance(cursor, int) and not isinstance(cursor, bool):
            cursor = str(cursor)
        if cursor is not None and not (isinstance(cursor, str) and cursor):
            raise PmsProtocolError(f'{self.url} answered with a "cursor" that is not a string')
        if records and cursor is None:
            raise PmsProtocolError(f'{self.url} sent records without a "cursor" after them')
        return PmsPage(records=records, cursor=cursor)
