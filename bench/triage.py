"""Triage against a labelled set: how often the rules (and a model, when one is configured)
agree with what a property manager would decide for realistic tenant descriptions.

    uv run python -m bench.triage [--model]

``bench/data/triage_cases.json`` holds the descriptions, in several phrasings and languages
(tricky non-emergencies and messy writing among them), each with the expected priority
(emergency, urgent, routine) and trade. Reported for each way of triaging: the priority
agreement (exact), the emergency recall (emergencies triaged as emergencies), emergencies
triaged as routine (the rules must have none: ``tests/ai/test_emergency_criteria.py``), false
emergencies, and the trade agreement. ``--model`` also asks the configured provider
(``OPSDESK_AI_PROVIDER`` and its key) for each case, as the triage step does, floor included;
without a provider, or without ``--model``, the model's row says it was not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import save
from opsdesk.ai.emergency import default_policy
from opsdesk.ai.models import MaintenanceTriage, TriageRequest
from opsdesk.ai.tasks import rules_triage

CASES = Path(__file__).parent / "data" / "triage_cases.json"


@dataclass(frozen=True)
class Case:
    text: str
    priority: str
    trade: str
    lang: str


def cases() -> list[Case]:
    return [Case(**row) for row in json.loads(CASES.read_text())]


def agreement(labelled: Sequence[Case], triaged: Sequence[MaintenanceTriage]) -> dict[str, Any]:
    """How far ``triaged`` (in the order of ``labelled``) agrees with the labels."""
    pairs = list(zip(labelled, triaged, strict=True))
    emergencies = [(c, t) for c, t in pairs if c.priority == "emergency"]
    others = [(c, t) for c, t in pairs if c.priority != "emergency"]
    return {
        "cases": len(pairs),
        "priority_exact": round(sum(c.priority == t.priority for c, t in pairs) / len(pairs), 3),
        "emergency_recall": round(
            sum(t.priority == "emergency" for _, t in emergencies) / len(emergencies), 3
        ),
        "emergencies_as_routine": [c.text for c, t in emergencies if t.priority == "routine"],
        "missed_emergencies": [c.text for c, t in emergencies if t.priority != "emergency"],
        "false_emergencies": [c.text for c, t in others if t.priority == "emergency"],
        "trade": round(sum(c.trade == t.trade for c, t in pairs) / len(pairs), 3),
        "by_language": {
            lang: round(
                sum(c.priority == t.priority for c, t in pairs if c.lang == lang)
                / sum(c.lang == lang for c, _ in pairs),
                3,
            )
            for lang in sorted({c.lang for c in labelled})
        },
    }


def by_rules(labelled: Sequence[Case]) -> list[MaintenanceTriage]:
    policy = default_policy()
    return [rules_triage(c.text, policy) for c in labelled]


async def by_model(labelled: Sequence[Case]) -> tuple[str, list[MaintenanceTriage]] | None:
    """The configured provider's triage of each case (the rules' floor applied, as in the
    workflow), or None when no provider is configured."""
    from opsdesk.ai.select import build_provider
    from opsdesk.ai.tasks import Triager
    from opsdesk.ai.usage import UsageLog
    from opsdesk.db import Database
    from opsdesk.db.migrate import upgrade_async
    from opsdesk.settings import Settings

    settings = Settings()
    provider = build_provider(settings)
    if provider is None:
        return None
    await upgrade_async(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    triager = Triager(provider, UsageLog(db))
    triaged = []
    for i, case in enumerate(labelled):
        result = await triager.triage(
            TriageRequest(request_id=f"bench-triage-{i}", description=case.text)
        )
        triaged.append(result.triage)
    return provider.name, triaged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="store_true", help="also ask the configured model")
    args = parser.parse_args()
    labelled = cases()
    rows: dict[str, Any] = {"rules": agreement(labelled, by_rules(labelled))}
    model = asyncio.run(by_model(labelled)) if args.model else None
    if model is None:
        rows["model"] = {
            "measured": False,
            "why": "no model provider was configured"
            if args.model
            else "run with --model and a provider's key to measure it",
        }
    else:
        name, triaged = model
        rows["model"] = {"measured": True, "provider": name, **agreement(labelled, triaged)}
    path = save("triage", {"cases_file": str(CASES.relative_to(CASES.parents[2])), "rows": rows})
    rules = rows["rules"]
    print(
        f"rules: priority {rules['priority_exact']:.0%}, emergency recall "
        f"{rules['emergency_recall']:.0%}, trade {rules['trade']:.0%}; wrote {path}"
    )


if __name__ == "__main__":
    main()
