"""How the live generation's scores were computed: ``linkindex metrics``.

Each build records, per metric, its version, its parameters, the graph it ran on and
whether it converged (index.ranks.RankRun.receipt) in the manifest's ``metrics``; this
prints them, so a number in a report can be traced to how it was made (docs/metrics.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import LinkindexError
from core.storage import Storage
from queries.live import resolve

__all__ = ["live_metrics", "metrics_text"]


def live_metrics(data: Path | Storage) -> dict[str, Any]:
    """The live generation's name and its metrics' receipts."""
    live = resolve(data, check_format=False)
    metrics = live.manifest.get("metrics")
    if not metrics:
        raise LinkindexError(
            f"index generation {live.generation} in {live.label} records no metrics (built "
            "before they were recorded): run `linkindex build --force` to rebuild it")
    return {"generation": live.generation, "created_at": live.manifest.get("created_at"),
            **metrics}


def metrics_text(metrics: dict[str, Any]) -> str:
    """One `name<TAB>value` line per entry, nested names joined with dots."""
    lines: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else key, item)
        else:
            lines.append(f"{prefix}\t{value}")

    walk("", metrics)
    return "\n".join(lines)
