"""The Order Ops dashboard: server-rendered pages, the fragments they refresh live, and the
routes its forms post to when the browser runs no JavaScript.

Every section of a page is also served alone under ``/fragments/…``; the page's script
re-fetches a section when the change feed says orders changed. The data comes from the same
read side as the JSON API (visibility, the ledger, the outbox), never from a query per order.

Every form works without the script: it posts to a route here, which does what the JSON API
route does (by calling it), then answers 303 back to the page with a notice of what
happened or why not. With the script, the same forms go to the JSON API instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from opsdesk.ai.usage import UsageLog
from opsdesk.comments import Comments, interleaved
from opsdesk.notify.outbox import Outbox
from opsdesk.orders import api
from opsdesk.orders import service as orders
from opsdesk.orders.api import cached_metrics, known_id, temporal_url
from opsdesk.orders.comments import existing_order
from opsdesk.orders.ids import order_label, order_workflow_id
from opsdesk.orders.inputs import REQUEST_ID_MAX_LENGTH
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.labels import actions_for
from opsdesk.orders.listing import OrderFilter, OrderPage, list_orders
from opsdesk.orders.progress import cancel_effects, cancel_title, event_words, next_step
from opsdesk.orders.risk import outcome
from opsdesk.orders.rules import why_not_cancel
from opsdesk.orders.state import OrderRow, OrderState
from opsdesk.orders.status import OrderStatus
from opsdesk.payments.ledger import TEST_TOKENS
from opsdesk.temporal.visibility import BadPageToken
from opsdesk.web.auth import VIEWER, Operator
from opsdesk.web.bulk import MOST_ROWS, read_bulk_form, report, row_key
from opsdesk.web.chips import chips, query_string
from opsdesk.web.comments import add_comment
from opsdesk.web.csv_export import EXPORT_LIMIT, csv_response, stamped
from opsdesk.web.deps import client_of, db_of, settings_of
from opsdesk.web.errors import ApiError, sentence
from opsdesk.web.forms import MAX_FORM_FIELDS, read_form
from opsdesk.web.navigation import (
    BACK_LIMIT,
    NOTICE_COOKIE,
    Notice,
    Pager,
    back_to,
    local_path,
    page_posted_from,
    pager,
    read_notice,
    redirect_with,
)
from opsdesk.web.pages import templates
from opsdesk.web.params import whole_number
from opsdesk.web.saved_views import SavedViews

router = APIRouter(include_in_schema=False, dependencies=VIEWER)

Body = TypeVar("Body", bound=BaseModel)

QUEUE_SIZE = 8
PAGE_SIZE = 20
# "Previous" needs the token of every page before this one, and they ride in the address:
# past this many the oldest are dropped (then "First page" still gets back to the start), so
# the address stays far below what servers accept.

# What each form field is called on the page, for messages about it.
_LABELS = {
    "customer.name": "Customer name",
    "customer.email": "Customer email",
    "customer.id": "Customer email",
    "shipping_address.name": "Customer name",
    "shipping_address.line1": "Street address",
    "shipping_address.city": "City",
    "shipping_address.postal_code": "Postcode",
    "shipping_address.country": "Country",
    "billing_country": "Billing country",
    "payment_token": "Payment token",
    "note": "Customer note",
    "lines": "Items",
    "sku": "Product",
    "quantity": "Quantity",
    "tracking_number": "Tracking number",
    "reason": "Reason",
    "expected_status": "Status",
}
# A pattern means nothing to the person at the form: say what fits instead.
_FORMATS = {
    "customer.email": "give a whole address, like name@example.com",
    "customer.id": "give a whole address, like name@example.com",
    "shipping_address.country": "two letters, like US",
    "billing_country": "two letters, like US",
    "tracking_number": "letters, digits and dashes only",
    "payment_token": "pick one of the test tokens",
    "sku": "pick a product from the list",
}


def _filter(request: Request) -> OrderFilter:
    """Filters from the query string; a value that makes no sense is ignored, not an error."""
    params = request.query_params
    values: dict[str, Any] = {}
    for name in ("status", "customer", "escalated", "q"):
        if params.get(name):
            try:
                values |= OrderFilter.model_validate({name: params[name]}).model_dump(
                    include={name}
                )
            except ValidationError:
                continue
    return OrderFilter(**values)


def _render(
    request: Request, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    settings = settings_of(request)
    return templates.TemplateResponse(
        request,
        template,
        {
            "temporal_ui": settings.resolved_temporal_ui_url,
            "statuses": list(OrderStatus),
            "actions_of": actions_for,
            "order_label": order_label,
            **context,
        },
        status_code=status_code,
    )


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A whole page: it shows, and so uses up, the notice a form route left for it."""
    notice = read_notice(request)
    response = _render(request, template, status_code, notice=notice, **context)
    if notice is not None:
        response.delete_cookie(NOTICE_COOKIE, path="/")
    return response


# -- reading a browser's form --------------------------------------------------------------


def _key(fields: Mapping[str, str]) -> str | None:
    """The form's idempotency key; one that the API would refuse is treated as absent."""
    key = fields.get("idempotency_key", "").strip()
    return key if 0 < len(key) <= REQUEST_ID_MAX_LENGTH else None


def _order_body(fields: Mapping[str, str]) -> dict[str, Any]:
    """The new-order form's dotted field names as the JSON body app.js would send."""
    body: dict[str, Any] = {}
    for name, raw in fields.items():
        value = raw.strip()
        if not value or name == "idempotency_key":
            continue
        if name.endswith("country"):
            value = value.upper()
        *parents, last = name.split(".")
        node = body
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[last] = value
    lines = body.get("lines")
    if isinstance(lines, dict):
        body["lines"] = [lines[k] for k in sorted(lines, key=_index) if isinstance(lines[k], dict)]
    customer = body.get("customer")
    if isinstance(customer, dict):
        customer.setdefault("id", customer.get("email"))
        if isinstance(body.get("shipping_address"), dict) and "name" in customer:
            body["shipping_address"]["name"] = customer["name"]
    return body


def _index(key: str) -> int:
    index = whole_number(key, MAX_FORM_FIELDS)
    return MAX_FORM_FIELDS if index is None else index


def _problem(exc: ValidationError) -> str:
    """What is wrong with a form, in the words of the form's own labels."""
    return "; ".join(dict.fromkeys(_describe(error) for error in exc.errors()))


def _describe(error: ErrorDetails) -> str:
    path = [str(part) for part in error["loc"]]
    # Lines are numbered for people, and each line's fields are labelled alike.
    field = ".".join(path[2:] if path[:1] == ["lines"] and len(path) > 2 else path)
    message = error["msg"].removeprefix("Value error, ")
    if not field:
        return message
    label = _LABELS.get(field, field.replace("_", " ").capitalize())
    if error["type"] == "string_pattern_mismatch":
        message = _FORMATS.get(field, "not in the expected format")
    elif error["type"] == "missing":
        message = "required"
    return f"{label}: {message}"


def _validated(model: type[Body], data: Mapping[str, Any]) -> Body:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_input", _problem(exc)) from None


# -- what each section shows ---------------------------------------------------------------


async def _metrics(request: Request) -> dict[str, Any]:
    return {
        "metrics": await cached_metrics(request),
        "needs_a_person": [OrderStatus.REVIEW, OrderStatus.AWAITING_STOCK],
    }


async def _queues(request: Request) -> dict[str, Any]:
    client, settings = client_of(request), settings_of(request)
    review, stock, escalated = await asyncio.gather(
        list_orders(client, settings, OrderFilter(status=OrderStatus.REVIEW), page_size=QUEUE_SIZE),
        list_orders(
            client, settings, OrderFilter(status=OrderStatus.AWAITING_STOCK), page_size=QUEUE_SIZE
        ),
        list_orders(
            client, settings, OrderFilter(escalated=True, open_only=True), page_size=QUEUE_SIZE
        ),
    )
    queues = [
        ("Needs review", "review", review, "?status=REVIEW"),
        ("Waiting for stock", "stock", stock, "?status=AWAITING_STOCK"),
        ("Escalated", "escalated", escalated, "?escalated=true"),
    ]
    return {"queues": queues, "quiet": [title for title, _, page, _ in queues if not page.items]}


def _pager(query: dict[str, Any], token: str | None, back: list[str], page: OrderPage) -> Pager:
    return pager("/", query, token, back, page.next_page_token)


async def _orders(request: Request) -> dict[str, Any]:
    where = _filter(request)
    token = request.query_params.get("page_token") or None
    back = request.query_params.getlist("back")[-BACK_LIMIT:] if token else []
    try:
        page = await list_orders(
            client_of(request), settings_of(request), where, page_size=PAGE_SIZE, page_token=token
        )
    except BadPageToken:
        page = await list_orders(
            client_of(request), settings_of(request), where, page_size=PAGE_SIZE
        )
        token, back = None, []
    query = {
        k: v for k, v in where.model_dump(exclude={"open_only"}).items() if v not in (None, "")
    }
    who = getattr(request.state, "identity", None)
    return {
        "views": await SavedViews(db_of(request)).of(who, "orders"),
        "desk": "orders",
        "page": page,
        "where": where,
        "query": query,
        "query_string": query_string(query),
        "chips": chips("/", query, _chip_label),
        "list_path": "/",
        "pager": _pager(query, token, back, page),
    }


def _chip_label(name: str, value: Any) -> str:
    if name == "status":
        return f"Status: {OrderStatus(value).value.replace('_', ' ').lower()}"
    if name == "escalated":
        return "Escalated" if value else "Not escalated"
    if name == "customer":
        return f"Customer: {value}"
    return f"Search: {value}"


async def _products(request: Request) -> dict[str, Any]:
    return {"products": await Inventory(db_of(request)).products()}


async def _outbox(request: Request, limit: int = QUEUE_SIZE) -> dict[str, Any]:
    return {"messages": await Outbox(db_of(request)).recent(limit=limit)}


async def _state(request: Request, order_id: str) -> OrderState:
    try:
        return await orders.get_order(client_of(request), known_id(order_id))
    except orders.OrderNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None


async def _order(request: Request, order_id: str) -> dict[str, Any]:
    state = await _state(request, order_id)
    reference = order_workflow_id(state.order_id)
    db = db_of(request)
    comments = await Comments(db).of("order", state.order_id)
    risk = state.risk
    return {
        "order": state,
        "label": order_label(state.order_id),
        "next_step": next_step(state),
        "risk_outcome": outcome(risk, state.policy) if risk and state.policy else None,
        "timeline": interleaved(state.history, comments, at=lambda t: t.at),
        "event_words": event_words,
        "actions": actions_for(state.status),
        "temporal_url": temporal_url(
            settings_of(request), client_of(request).namespace, state.order_id
        ),
        "emails": await Outbox(db).recent(reference=reference, limit=50),
        "ai_calls": await UsageLog(db).for_reference(reference),
    }


async def _cancelling(request: Request, order_id: str) -> dict[str, Any]:
    """What the confirmation of a cancel shows: what it will do, or why it cannot."""
    state = await _state(request, order_id)
    back = local_path(request.query_params.get("back")) or page_posted_from(request)
    return {
        "order": state,
        "label": order_label(state.order_id),
        "title": cancel_title(state),
        "refusal": why_not_cancel(state.status),
        "effects": cancel_effects(state),
        "back": back if back and not back.endswith("/cancel") else f"/orders/{state.order_id}",
    }


# -- pages -------------------------------------------------------------------------------------


async def _dashboard(request: Request, status_code: int = 200, **form: Any) -> HTMLResponse:
    metrics, queues, orders_, products, outbox = await asyncio.gather(
        _metrics(request), _queues(request), _orders(request), _products(request), _outbox(request)
    )
    return _page(
        request,
        "orders/dashboard.html",
        status_code,
        section="orders",
        tokens=sorted(TEST_TOKENS),
        **metrics,
        **queues,
        **orders_,
        **products,
        **outbox,
        **form,
    )


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request) -> HTMLResponse:
    return await _dashboard(request)


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order_page(request: Request, order_id: str) -> HTMLResponse:
    try:
        context = await _order(request, order_id)
    except orders.OrderStuck as exc:
        return _page(request, "orders/stuck.html", section="orders", **_stuck(request, exc))
    return _page(request, "orders/detail.html", section="orders", **context)


def _stuck(request: Request, exc: orders.OrderStuck) -> dict[str, Any]:
    """What the page says of an order whose workflow cannot make progress."""
    return {
        "stuck": exc.order,
        "label": order_label(exc.order.order_id),
        "temporal_url": temporal_url(
            settings_of(request), client_of(request).namespace, exc.order.order_id
        ),
    }


@router.get("/orders")
async def orders_list() -> RedirectResponse:
    return RedirectResponse("/", status_code=303)


@router.get("/outbox", response_class=HTMLResponse)
async def outbox_page(request: Request) -> HTMLResponse:
    return _page(
        request, "orders/outbox.html", section="outbox", **await _outbox(request, limit=200)
    )


@router.get("/orders.csv")
async def orders_csv(request: Request) -> Response:
    """The list as the filters in the address have it (every page, up to
    ``EXPORT_LIMIT`` orders), from the same memo rows as the page."""
    where = _filter(request)
    rows: list[OrderRow] = []
    token: str | None = None
    while len(rows) < EXPORT_LIMIT:
        page = await list_orders(
            client_of(request), settings_of(request), where, page_size=100, page_token=token
        )
        rows += page.items
        token = page.next_page_token
        if token is None:
            break
    header = (
        "Order", "Status", "Customer", "Email", "Items", "Total", "Currency", "Risk",
        "Escalated", "Tracking number", "Created (UTC)", "Updated (UTC)",
    )  # fmt: skip
    return csv_response(
        stamped("orders"),
        header,
        (
            (
                order_label(r.order_id),
                r.status.words,
                r.customer_name,
                r.customer_email,
                r.items,
                f"{r.total_cents / 100:.2f}",
                r.currency,
                r.risk_score,
                r.escalated,
                r.tracking_number,
                r.created_at,
                r.updated_at,
            )
            for r in rows[:EXPORT_LIMIT]
        ),
    )


# -- what the forms post without JavaScript ----------------------------------------------------


@router.post("/orders", response_model=None)
async def create_order_form(request: Request, who: Operator) -> Response:
    """Start the order and show it; a refusal shows the form again as it was sent."""
    fields = await read_form(request)
    try:
        body = _validated(api.OrderCreate, _order_body(fields))
        state = await api.create_order(request, who, Response(), body, _key(fields))
    except ApiError as exc:
        # Nothing was started: the same key may be used for the corrected order.
        return await _dashboard(
            request, exc.status, new_order=fields, new_order_error=sentence(exc.message)
        )
    return redirect_with(
        f"/orders/{state.order_id}",
        Notice("ok", f"Order {order_label(state.order_id)} is {state.status.words}."),
    )


@router.post("/orders/{order_id}/advance")
async def advance_form(request: Request, who: Operator, order_id: str) -> RedirectResponse:
    fields = await read_form(request)
    wanted = ("tracking_number", "note", "expected_status")
    try:
        body = _validated(
            api.AdvanceBody, {k: fields[k].strip() for k in wanted if fields.get(k, "").strip()}
        )
        response = Response()
        state = await api.advance(request, who, response, order_id, body, _key(fields))
    except ApiError as exc:
        return back_to(request, f"/orders/{order_id}", Notice("error", sentence(exc.message)))
    return back_to(request, f"/orders/{order_id}", _outcome(state, response))


@router.get("/orders/{order_id}/cancel", response_class=HTMLResponse)
async def cancel_page(request: Request, order_id: str) -> HTMLResponse:
    """The confirmation a cancel asks for without the script: what it will do, and the
    button that does it. Opening it changes nothing."""
    context = await _cancelling(request, order_id)
    return _page(request, "orders/cancel.html", section="orders", **context)


@router.post("/orders/{order_id}/cancel")
async def cancel_form(request: Request, who: Operator, order_id: str) -> RedirectResponse:
    """The confirmed cancel: back to where the person came from, saying what happened."""
    fields = await read_form(request)
    back = local_path(fields.get("back")) or page_posted_from(request) or f"/orders/{order_id}"
    try:
        body = _validated(api.CancelBody, {"reason": fields.get("reason", "").strip()})
        response = Response()
        state = await api.cancel(request, who, response, order_id, body, _key(fields))
    except ApiError as exc:
        return redirect_with(back, Notice("error", sentence(exc.message)))
    return redirect_with(back, _outcome(state, response))


@router.post("/orders/{order_id}/comments", response_model=None)
async def comment_form(request: Request, who: Operator, order_id: str) -> Response:
    """Add a comment from the order's page; a refusal shows the page again with the words
    as they were typed."""
    fields = await read_form(request)
    found = await existing_order(request, order_id)
    try:
        await add_comment(request, "order", found, who, fields.get("body", ""), _key(fields))
    except ApiError as exc:
        context = await _order(request, found)
        return _render(
            request,
            "orders/detail.html",
            exc.status,
            section="orders",
            notice=Notice("error", sentence(exc.message)),
            comment_text=fields.get("body", ""),
            **context,
        )
    return redirect_with(f"/orders/{found}#comments", Notice("ok", "Comment added."))


@router.post("/products/{sku}/restock")
async def restock_form(request: Request, who: Operator, sku: str) -> RedirectResponse:
    fields = await read_form(request)
    try:
        body = _validated(api.RestockBody, {"quantity": fields.get("quantity", "").strip()})
        result = await api.restock(request, who, sku, body, _key(fields))
    except ApiError as exc:
        return back_to(request, "/", Notice("error", f"{sku}: {sentence(exc.message)}"))
    woken = len(result.waiting_orders)
    text = f"{sku} restocked: {result.stock} in stock."
    if woken:
        text += f" {woken} waiting order{'s' if woken != 1 else ''} woken."
    return back_to(request, "/", Notice("ok", text))


# What each bulk action is called in the report of each order, and the status an advance
# expects (so "Approve" never ships an order that was approved a moment ago).
_BULK: dict[str, tuple[str, OrderStatus | None]] = {
    "approve": ("approved", OrderStatus.REVIEW),
    "ship": ("marked shipped", OrderStatus.CONFIRMED),
    "cancel": ("cancelled", None),
}
CANCEL_CONSEQUENCES = (
    "Each order that was paid is refunded in full, its stock goes back on the shelf, the "
    "warehouse is told not to send it, and its customer is emailed that it was cancelled (an "
    "order in review is rejected). An order that has already shipped cannot be cancelled and "
    "is left as it is."
)


@router.post("/orders/bulk", response_model=None)
async def bulk_form(request: Request, who: Operator) -> Response:
    """Act on every ticked order, each through the same route as its own button, and report
    each order's outcome. Cancelling asks first, saying what will happen."""
    try:
        form = await read_bulk_form(request, "/")
    except ApiError as exc:
        return back_to(request, "/", Notice("error", sentence(exc.message)))
    problem = None
    if form.action not in _BULK:
        problem = "Pick what to do with the selected orders."
    elif not form.rows:
        problem = "Select at least one order first: tick the box at the start of its row."
    elif len(form.rows) > MOST_ROWS:
        problem = f"Select at most {MOST_ROWS} orders at once."
    if problem:
        return redirect_with(form.back, Notice("error", problem))
    if form.action == "cancel" and not form.confirmed:
        count = len(form.rows)
        return _page(
            request,
            "orders/bulk_confirm.html",
            section="orders",
            form=form,
            labels=[order_label(order_id) for order_id in form.rows],
            title=f"Cancel {count} order{'s' if count != 1 else ''}?",
            consequences=CANCEL_CONSEQUENCES,
            confirm_label=f"Cancel {count} order{'s' if count != 1 else ''}",
            keep_label="Keep them" if count != 1 else "Keep it",
            post_to="/orders/bulk",
            reason_label="Reason (optional; the timeline keeps it)",
            reason_required=False,
        )
    done, expected = _BULK[form.action]

    async def one(order_id: str) -> tuple[bool, str]:
        label = order_label(order_id)
        response = Response()
        key = row_key(form.key, form.action, order_id)
        try:
            if form.action == "cancel":
                body = _validated(api.CancelBody, {"reason": form.reason} if form.reason else {})
                await api.cancel(request, who, response, order_id, body, key)
            else:
                advance = api.AdvanceBody(expected_status=expected)
                await api.advance(request, who, response, order_id, advance, key)
        except ApiError as exc:
            return False, f"{label} could not be {done}: {exc.message.rstrip('.')}"
        still = " (still finishing)" if response.status_code == 202 else ""
        return True, f"{label} {done}{still}"

    outcomes = await asyncio.gather(*(one(order_id) for order_id in form.rows))
    kind: Literal["ok", "error"] = "ok" if all(ok for ok, _ in outcomes) else "error"
    return redirect_with(form.back, Notice(kind, report([text for _, text in outcomes])))


def _outcome(state: api.OrderOut, response: Response) -> Notice:
    if response.status_code == 202:
        return Notice(
            "ok",
            f"Order {order_label(state.order_id)} took the action and is still working on it "
            f"({state.status.words}).",
        )
    return Notice("ok", f"Order {order_label(state.order_id)} is {state.status.words} now.")


# -- fragments ---------------------------------------------------------------------------------


@router.get("/fragments/metrics", response_class=HTMLResponse)
async def metrics_fragment(request: Request) -> HTMLResponse:
    return _render(request, "orders/_metrics.html", **await _metrics(request))


@router.get("/fragments/queues", response_class=HTMLResponse)
async def queues_fragment(request: Request) -> HTMLResponse:
    return _render(request, "orders/_queues.html", **await _queues(request))


@router.get("/fragments/orders", response_class=HTMLResponse)
async def orders_fragment(request: Request) -> HTMLResponse:
    return _render(request, "orders/_orders.html", **await _orders(request))


@router.get("/fragments/products", response_class=HTMLResponse)
async def products_fragment(request: Request) -> HTMLResponse:
    return _render(request, "orders/_products.html", **await _products(request))


@router.get("/fragments/outbox", response_class=HTMLResponse)
async def outbox_fragment(request: Request) -> HTMLResponse:
    return _render(request, "orders/_outbox.html", **await _outbox(request))


@router.get("/fragments/orders/{order_id}/cancel", response_class=HTMLResponse)
async def cancel_fragment(request: Request, order_id: str) -> HTMLResponse:
    """The confirmation, for the dialog the script shows over the page."""
    return _render(request, "orders/_cancel.html", **await _cancelling(request, order_id))


@router.get("/fragments/orders/{order_id}", response_class=HTMLResponse)
async def order_fragment(request: Request, order_id: str) -> HTMLResponse:
    try:
        context = await _order(request, order_id)
    except orders.OrderStuck as exc:
        return _render(request, "orders/_stuck.html", **_stuck(request, exc))
    return _render(request, "orders/_order.html", **context)
