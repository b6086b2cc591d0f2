"""Percentiles for the load generator's summary and the benchmarks' tables."""

from __future__ import annotations

import statistics


def percentile(samples: list[float], pct: float) -> float:
    """The nearest-rank percentile: a value that was observed, never an interpolation."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary_ms(samples_s: list[float]) -> dict[str, float]:
    """Count, p50/p95/p99 and mean, in milliseconds, of samples in seconds."""
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }
