"""The cluster and frontier benchmarks at smoke size: they run and report every number.

Speed is never asserted here (bench/RESULTS.md holds the measurements); the counts are.
"""

from __future__ import annotations

import pytest

from bench import cluster, frontier

# Whole benchmarks: Redis servers and workers.
pytestmark = pytest.mark.slow


def test_cluster_bench_smoke(capsys) -> None:
    results = cluster.main(["--smoke"])
    assert set(results["runs"]) == {"linkindex-1", "linkindex-2", "scrapy-redis-1"}
    for run in results["runs"].values():
        assert run["responses"] > 0 and run["round_trips"] > 0
    assert results["runs"]["linkindex-2"]["workers"] == 2
    out = capsys.readouterr().out
    assert "linkindex ×1 ÷ scrapy-redis ×1" in out and "round trips/page" in out


def test_frontier_bench_smoke(capsys) -> None:
    results = frontier.main(["--smoke"])
    exact, bloom, textbook = results["memory"]
    assert (exact["filter"], bloom["filter"]) == ("linkindex exact", "linkindex bloom")
    assert exact["urls"] == bloom["urls"] == textbook["urls"] == 5000
    # an exact 8-byte fingerprint can't take less than 8 bytes; a Bloom bit-array at 0.1%
    # takes ~1.8 (plus the key): these are sizes, not timings
    assert 8 <= exact["bytes_per_url"] and 1.7 <= bloom["bytes_per_url"] < 8
    assert set(results["round_trips_per_page"]) == {"linkindex-1", "scrapy-redis-1"}
    assert "bytes per seen URL" in capsys.readouterr().out
