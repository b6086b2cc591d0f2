"""Search attributes every list and count in Ops Desk is built from.

Workflows upsert these at every transition; the API reads them through visibility and
never queries workflows one by one. The dev server's SQLite visibility store allows
3 custom attributes per type (10 for Keyword), so the desks share that budget.
"""

from __future__ import annotations

from temporalio.common import (
    SearchAttributeIndexedValueType,
    SearchAttributeKey,
)

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
ORDER_CUSTOMER = SearchAttributeKey.for_keyword("OrderCustomer")
ORDER_TOTAL = SearchAttributeKey.for_float("OrderTotal")
ORDER_RISK = SearchAttributeKey.for_int("OrderRisk")
ORDER_ESCALATED = SearchAttributeKey.for_bool("OrderEscalated")
ORDER_CREATED = SearchAttributeKey.for_datetime("OrderCreatedAt")
ORDER_UPDATED = SearchAttributeKey.for_datetime("OrderUpdatedAt")
"""When the order last changed: the dashboard's change feed asks for what is newer."""

# The desks share the status and the two times (the workflow type tells them apart): the
# SQLite store has room for three datetimes in all. They keep the names the orders desk gave
# them first, because renaming an attribute on a running server orphans every value set.
STATUS = ORDER_STATUS
CREATED = ORDER_CREATED
UPDATED = ORDER_UPDATED

STAGE_DEADLINE = SearchAttributeKey.for_datetime("StageDeadline")
"""When the question a maintenance request waits on lapses (the last one's, once none is
open: read it together with ``RequestWaitingOn``)."""
REQUEST_PRIORITY = SearchAttributeKey.for_keyword("RequestPriority")
"""emergency | urgent | routine, once triaged."""
REQUEST_WAITING_ON = SearchAttributeKey.for_keyword("RequestWaitingOn")
"""owner | vendor | tenant: whose answer the request waits for; nobody while none."""

SEARCH_KEYS = SearchAttributeKey.for_keyword_list("SearchKeys")
"""Keyed hashes (``opsdesk.search``) of the words a person searches an order by: the
customer's name and e-mail address. Never the words themselves: visibility is readable by
whoever runs Temporal, and these are personal data."""

ALL_KEYS: tuple[SearchAttributeKey, ...] = (  # type: ignore[type-arg]
    ORDER_STATUS,
    ORDER_CUSTOMER,
    ORDER_TOTAL,
    ORDER_RISK,
    ORDER_ESCALATED,
    ORDER_CREATED,
    ORDER_UPDATED,
    STAGE_DEADLINE,
    REQUEST_PRIORITY,
    REQUEST_WAITING_ON,
    SEARCH_KEYS,
)

# The names the Temporal CLI and the operator service use for each indexed type.
_CLI_TYPE_NAMES = {
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}


def dev_server_args() -> list[str]:
    """``--search-attribute`` flags that register every key on ``temporal server start-dev``."""
    args: list[str] = []
    for key in ALL_KEYS:
        args += ["--search-attribute", f"{key.name}={_CLI_TYPE_NAMES[key.indexed_value_type]}"]
    return args
