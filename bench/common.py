"""Timing helpers shared by the benchmarks: medians of repeated runs, ratio tables."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def median_seconds(fn: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    """Run ``fn`` ``runs`` times; return the median wall time and all samples."""
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), samples


def report(rows: list[tuple[str, int, float, float]]) -> str:
    """Format (name, ops, mvlite_s, sqlite3_s) rows as a Markdown table of throughputs and ratios."""
    out = ["| benchmark | ops | mvlite ops/s | sqlite3 ops/s | ratio mvlite/sqlite3 |",
           "|---|---:|---:|---:|---:|"]
    for name, ops, ours, theirs in rows:
        out.append(f"| {name} | {ops} | {ops / ours:,.0f} | {ops / theirs:,.0f} | {theirs / ours:.3f} |")
    return "\n".join(out)
