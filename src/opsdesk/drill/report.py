"""The drill's figures, and the rules they must meet (docs/reliability.md)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from opsdesk.drill.audit import Audit
from opsdesk.drill.readiness import Outage
from opsdesk.drill.replicas import Tally


@dataclass(frozen=True)
class Options:
    orders: int = 200
    requests: int = 20
    concurrency: int = 16
    workers: int = 2
    apis: int = 2
    down: float = 3.0
    """Seconds a killed process stays dead before it is started again."""
    seed: int = 1
    poll: float = 0.25
    timeout: float = 900.0
    """Seconds the load may run; whatever has not ended by then counts as lost."""


@dataclass
class Kill:
    name: str
    at: float
    """Seconds into the drill."""
    restarted_at: float
    ready_at: float | None
    """When every replica was ready again; None if not within the timeout."""
    outages: list[Outage] = field(default_factory=list)
    """The replicas' not-ready spells between the kill and ``ready_at``."""
    polling_at: float | None = None
    """After the server's restart: when Temporal saw every worker polling again."""


@dataclass
class Desk:
    """One desk's work items: planned, accepted by the API, started in Temporal, ended."""

    planned: int = 0
    accepted: int = 0
    started: int = 0
    ended: Counter[str] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)
    """Accepted but not ended, with where each stands."""

    @property
    def ended_total(self) -> int:
        return sum(self.ended.values())


@dataclass
class DrillReport:
    options: Options
    orders: Desk
    requests: Desk
    tally: Tally
    audit: Audit
    kills: list[Kill]
    elapsed_s: float
    driver_errors: list[str] = field(default_factory=list)
    """Orders and requests the drill's client could not drive on, and why."""
    exited: list[str] = field(default_factory=list)
    """Processes that were not running at the end, though nothing stopped them."""

    @property
    def replicas(self) -> list[str]:
        return [f"api-{n}" for n in range(1, self.options.apis + 1)]

    @property
    def failures(self) -> list[str]:
        """Every way the drill found the system wanting, one sentence each."""
        found: list[str] = []
        for name, desk in (("order", self.orders), ("repair request", self.requests)):
            found += [f"{name} lost: {lost}" for lost in desk.lost]
            if desk.accepted < desk.planned:
                found.append(
                    f"only {desk.accepted} of {desk.planned} {name}s were accepted by the API"
                )
        found += [f"not driven to its end: {error}" for error in self.driver_errors]
        found += [f"request not recovered by retrying: {u}" for u in self.tally.unrecovered]
        found += [f"a retry with the same key was refused: {r}" for r in self.tally.refused]
        # A 503 says "not now, retry"; anything else from the server is a fault of ours.
        found += [
            f"the API answered {n} tries with {cause}"
            for cause, n in self.tally.causes.items()
            if cause[:1] == "5" and not cause.startswith("503")
        ]
        found += self.audit.problems
        found += [
            f"{name} exited during the drill and nothing restarted it" for name in self.exited
        ]
        for kill in self.kills:
            if kill.ready_at is None:
                found.append(f"the replicas were not all ready again after {kill.name} was killed")
            if kill.name != "temporal":
                continue
            said = {o.replica for o in kill.outages if o.said and o.end is not None}
            found += [
                f"{replica} did not say it was not ready, and then ready, while Temporal restarted"
                for replica in self.replicas
                if replica not in said
            ]
            if kill.polling_at is None:
                found.append("not every worker went back to polling after Temporal restarted")
        return found
