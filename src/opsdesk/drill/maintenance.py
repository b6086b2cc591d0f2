"""The drill's repair requests: reported through the API and answered at every stage on
the owner's, vendor's and tenant's behalf, as ops would answer them by phone, until each
request closes."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.orders.load import Http

DESCRIPTIONS = (
    "The kitchen sink drips all night and the cabinet under it is damp.",
    "The bathroom light flickers and the switch feels warm to the touch.",
    "The bedroom window will not close properly and lets the cold in.",
    "The dishwasher leaves water standing at the bottom after every cycle.",
)
UNSEEN_PATIENCE = 60.0
"""Seconds a reported request may be unknown to Temporal before it counts as lost."""
QUOTE_CENTS = 30_000
"""Above the sample properties' limits, so the owner approves the estimate too."""


@dataclass
class RequestResult:
    request_id: str
    status: RequestStatus | None
    """The final status; None when the request could not be driven to one."""
    latency_s: float
    error: str = ""


_VISIT_START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def _window() -> dict[str, str]:
    # One window whenever it is asked for, so the visit booked in it always fits; begun an
    # hour before the drill, so the vendor may mark the work done at once.
    end = _VISIT_START + timedelta(hours=6)
    return {"start": _VISIT_START.isoformat(), "end": end.isoformat()}


def passing_answer(stage: Stage) -> dict[str, Any]:
    """What the person asked at ``stage`` answers to move the repair on."""
    note = {"note": "drill"}
    match stage:
        case (
            Stage.OWNER_APPROVAL
            | Stage.ESTIMATE_APPROVAL
            | Stage.INVOICE_APPROVAL
            | Stage.REPORT_CHECK
        ):
            return note | {"approve": True}
        case Stage.VENDOR_QUOTE | Stage.INVOICE:
            return note | {"amount_cents": QUOTE_CENTS}
        case Stage.AVAILABILITY:
            return note | {"windows": [_window()]}
        case Stage.SLOT:
            return note | {"slot": _window()}
        case Stage.COMPLETION:
            return note | {"fixed": True}
        case Stage.WORK_DONE:
            return note
    raise ValueError(f"no answer for {stage}")


async def plan_requests(http: Http, count: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """``count`` request ids and forms, on the directory's properties and units."""
    response = await http.request("GET", "/api/maintenance/properties")
    properties = [p for p in response.json()["items"] if p["units"]]
    if not properties:
        raise ValueError("the maintenance directory has no property with a unit")
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    run = uuid.uuid4().hex[:6]
    planned = []
    for n in range(count):
        place = rng.choice(properties)
        planned.append(
            (
                f"drill-{run}-{n:04d}",
                {
                    "property_id": place["id"],
                    "unit": rng.choice(place["units"]),
                    "tenant": {"name": f"Drill Tenant {n}", "email": f"tenant-{n}@example.com"},
                    "description": rng.choice(DESCRIPTIONS),
                },
            )
        )
    return planned


async def drive_request(
    http: Http, request_id: str, form: dict[str, Any], poll: float, reported: set[str]
) -> RequestResult:
    """Report the repair (adding it to ``reported`` once the API accepts it, so that it
    counts even if the drive is cut short) and answer each question it asks until it ends."""
    began = time.perf_counter()
    path = f"/api/maintenance/requests/{request_id}"
    try:
        created = await http.request(
            "POST", "/api/maintenance/requests", json=form | {"request_id": request_id}
        )
        if created.status_code not in (200, 201):
            raise RuntimeError(f"reporting answered {created.status_code}: {created.text}")
        reported.add(request_id)
        while True:
            seen = await http.request("GET", path)
            if seen.status_code == 404:
                # Not picked up by a worker yet, for a moment; for longer, it is gone.
                if time.perf_counter() - began > UNSEEN_PATIENCE:
                    raise RuntimeError(f"no workflow {UNSEEN_PATIENCE:.0f} s after it was reported")
                await asyncio.sleep(poll)
                continue
            state = seen.json()
            status = RequestStatus(state["status"])
            if status.terminal:
                return RequestResult(request_id, status, time.perf_counter() - began)
            question = state.get("question")
            if question is None or question.get("answer") is not None:
                await asyncio.sleep(poll)
                continue
            stage = Stage(question["stage"])
            answered = await http.request(
                "POST", f"{path}/answers/{stage.value}", json=passing_answer(stage)
            )
            # 409: answered or moved on meanwhile (a retried answer that had landed is
            # answered as it was, not refused); the next look says where it is.
            if answered.status_code not in (200, 202, 409):
                raise RuntimeError(f"answering {stage} answered {answered.status_code}")
    except Exception as exc:  # one request's trouble must not stop the run
        return RequestResult(request_id, None, time.perf_counter() - began, f"{request_id}: {exc}")
