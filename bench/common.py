"""Shared helpers for the benchmarks: timing, percentiles, tables, machine facts.

Every benchmark compares linkindex with a baseline in the same run and reports
ratios, because timings on a shared 2-core machine move with the load; the load
average is printed with the results so a reader can judge the noise.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("scrapy", "duckdb", "pyarrow", "selectolax", "tldextract")


def machine() -> dict[str, Any]:
    """Cores, RAM, load average, Python and package versions: what RESULTS.md records."""
    ram_gb = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    ram_gb = round(int(line.split()[1]) / 1024**2, 1)
                    break
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "ram_gb": ram_gb,
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        **versions,
    }


def cpu_seconds() -> float:
    """User + system CPU time of this process and its threads so far. Under load from
    other processes, CPU time moves less than wall time: a fairer before/after."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def time_calls(fn: Callable[[], Any], repeat: int) -> list[float]:
    """Wall-clock seconds of `repeat` calls of `fn`."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of `values`."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else float("nan")


def fmt(value: Any) -> str:
    """A table cell: numbers with sensible precision, the rest as text."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> str:
    """A plain-text table (Markdown pipe syntax, so it pastes into RESULTS.md)."""
    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    lines = [f"### {title}", ""] if title else []
    lines.append("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        # Labels (the first column) left, numbers right.
        padded = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:],
                                                                          strict=True)]
        lines.append("| " + " | ".join(padded) + " |")
    return "\n".join(lines)


def target_line(name: str, value: float, goal: float, *, higher_is_better: bool = True) -> str:
    """'name: value (target >= goal): met' - one line per issue target."""
    if value != value:  # NaN: an engine left out of this run
        return f"{name}: not measured"
    met = value >= goal if higher_is_better else value <= goal
    sign = ">=" if higher_is_better else "<="
    return f"{name}: {fmt(value)} (target {sign} {fmt(goal)}): {'met' if met else 'MISSED'}"


def command_line() -> str:
    return "python -m " + " ".join([_module_name(), *sys.argv[1:]])


def _module_name() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return spec.name if spec is not None else Path(sys.argv[0]).stem


def cpu_model() -> str | None:
    """The CPU's model name and clock as /proc/cpuinfo gives them: ratios against Scrapy
    moved from one machine of the same kind to another (bench/RESULTS.md), so each
    result says which CPU it ran on."""
    facts: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "cpu MHz") and key not in facts:
                    facts[key] = value.strip()
                if len(facts) == 2:
                    break
    except OSError:
        pass
    if "model name" not in facts:
        return platform.processor() or None
    mhz = facts.get("cpu MHz")
    return f"{facts['model name']} at {float(mhz):.0f} MHz" if mhz else facts["model name"]


def header(name: str) -> str:
    facts = machine()
    versions = ", ".join(f"{p} {facts[p]}" for p in PACKAGES if facts.get(p))
    return (
        f"## bench {name}\n\n"
        f"command: `{command_line()}`\n"
        f"machine: {facts['cores']} cores ({facts['cpu']}), {facts['ram_gb']} GB RAM, "
        f"{facts['platform']}, "
        f"load average {' '.join(map(str, facts['load_avg']))}\n"
        f"versions: python {facts['python']}, {versions}\n"
    )


def write_json(path: Path | None, results: dict[str, Any]) -> None:
    """Optionally save the results (with the machine facts) for later comparison."""
    if path is not None:
        path.write_text(json.dumps({"machine": machine(), **results}, indent=2, default=str))
