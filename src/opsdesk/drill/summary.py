"""How ``opsdesk drill`` shows its figures: tables for a person, JSON for a program."""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from typing import Any

from rich.table import Table

from opsdesk.drill.report import Desk, DrillReport


def _desk_rows(table: Table, name: str, desk: Desk) -> None:
    table.add_row(f"{name} planned", str(desk.planned))
    table.add_row(f"{name} accepted by the API", str(desk.accepted))
    table.add_row(f"{name} started in Temporal", str(desk.started))
    ended = ", ".join(f"{n} {status}" for status, n in sorted(desk.ended.items()))
    table.add_row(f"{name} ended", f"{desk.ended_total} ({ended})" if ended else "0")
    table.add_row(f"{name} lost", str(len(desk.lost)))


def _per(counts: dict[int, int], what: str) -> str:
    return ", ".join(f"{n} with {k} {what}" for k, n in sorted(counts.items())) or "none"


def figures(report: DrillReport) -> Table:
    """What was started, ended and lost; what each order and request did; what the API's
    clients saw."""
    table = Table(title="drill", show_header=False)
    _desk_rows(table, "orders", report.orders)
    _desk_rows(table, "repair requests", report.requests)
    found = report.audit
    table.add_row("charges per ended order", _per(found.charges, "charge(s)"))
    table.add_row("delivered orders holding one reservation per line", str(found.reservations_held))
    table.add_row("payouts per ended repair request", _per(found.payouts, "payout(s)"))
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(found.email_kinds.items()))
    table.add_row("emails recorded", f"{found.emails} ({kinds})" if kinds else "0")
    table.add_row("emails received by SMTP", f"{found.received} ({found.copies} repeated copies)")
    table.add_row("phone calls recorded (not placed)", str(found.calls))
    tally = report.tally
    table.add_row("API requests", str(tally.sent))
    table.add_row("failed at first try", str(tally.failed))
    table.add_row("recovered by a retry with the same key", str(tally.recovered))
    table.add_row("not recovered", str(len(tally.unrecovered)))
    for cause, n in tally.causes.most_common():
        table.add_row("  failed tries", f"{n}: {cause}")
    table.add_row("elapsed", f"{report.elapsed_s:,.1f} s")
    return table


def _when(at: float | None) -> str:
    return f"{at:.1f}" if at is not None else "never"


def kills(report: DrillReport) -> Table:
    """Each kill: when, when the process was back, and each replica's not-ready spells."""
    table = Table(title="kills (seconds into the load)")
    for column in (
        "killed",
        "at",
        "started again",
        "all replicas ready",
        "not ready",
        "workers polling",
    ):
        table.add_column(column)
    for kill in report.kills:
        spells = "; ".join(
            f"{o.replica} {o.start:.1f} to {o.end:.1f}"
            if o.end is not None
            else f"{o.replica} from {o.start:.1f}"
            for o in kill.outages
        )
        table.add_row(
            kill.name,
            f"{kill.at:.1f}",
            f"{kill.restarted_at:.1f}",
            _when(kill.ready_at),
            spells or "none",
            # Only a restarted server has to learn its pollers again.
            _when(kill.polling_at) if kill.name == "temporal" else "",
        )
    return table


def _plain(value: Any) -> Any:
    # Not dataclasses.asdict: it rebuilds a Counter from (key, count) pairs, counting them.
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def as_json(report: DrillReport) -> str:
    return json.dumps(_plain(report) | {"failures": report.failures}, indent=2)
