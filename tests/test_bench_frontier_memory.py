"""bench/frontier_memory.py keeps working: its smoke size runs, and what Redis holds is
what it added (never a timing).

The expected counts come from the benchmark's own count of what it generated (URLs,
registrable domains, hosts), checked against the job's keys: one seen-filter entry per
URL, one queue and one `ready`/`pd` entry per domain, one robots.txt request per host.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from clitools import run

from crawler.frontier import defaults

# A whole benchmark in a subprocess: five Redis servers.
pytestmark = pytest.mark.slow

URLS, DOMAINS, PROBE = 20_000, 200, 2_000  # the smoke size
RUNS = ("exact", "exact, 4 shards", "bloom", "scalable", "scalable, expected N/10")


def test_bench_frontier_memory_smoke(tmp_path: Path) -> None:
    out = tmp_path / "frontier_memory.json"
    proc = run([sys.executable, "-m", "bench.frontier_memory", "--smoke", "--json", str(out)])
    assert "## bench frontier_memory" in proc.stdout
    results = json.loads(out.read_text())
    assert results["machine"]["cores"] >= 1
    assert (results["urls"], results["domains"], results["probe_urls"]) == (URLS, DOMAINS, PROBE)
    assert results["not_run"] == []
    runs = {r["run"]: r for r in results["runs"]}
    assert tuple(runs) == RUNS

    hosts = runs["exact"]["hosts"]
    assert DOMAINS < hosts < 8 * DOMAINS  # some domains have several hosts
    for r in runs.values():
        groups = r["groups"]
        assert r["urls"] == URLS and r["domains"] == DOMAINS and r["hosts"] == hosts, r["run"]
        # one robots.txt request per host with a page queued: every host, but for a host
        # whose every URL a Bloom filter wrongly held while filling (none in exact mode)
        assert r["robots_queued"] == groups["hosts"]["length"]
        assert 0 <= hosts - r["robots_queued"] <= r["urls"] - r["pages_queued"]
        # the queues hold every request queued, as the job's counter says
        assert r["requests_queued"] == groups["q"]["length"] == r["counted_queued"]
        assert r["requests_queued"] == r["pages_queued"] + r["robots_queued"]
        assert groups["q"]["keys"] == DOMAINS  # one queue per registrable domain
        assert groups["ready"]["length"] == groups["pd"]["length"] == DOMAINS
        # the keys measured are the job's keys, and add up
        assert r["seen_bytes"] + r["queue_bytes"] + r["domain_bytes"] <= r["job_bytes"]
        assert r["seen_bytes_per_url"] == round(r["seen_bytes"] / URLS, 3)
        assert r["queue_bytes_per_request"] == round(r["queue_bytes"] / r["requests_queued"], 1)
        assert r["domain_bytes_per_domain"] == round(r["domain_bytes"] / DOMAINS, 1)
        # a queued request is its JSON ({"u": URL, "d": depth, "q": domain}) and more
        assert r["queue_bytes_per_request"] > r["mean_url_chars"] + 17
        assert r["used_memory_delta"] > 0 and r["domain_bytes_per_domain"] > 0

    for name in ("exact", "exact, 4 shards"):
        exact = runs[name]
        assert exact["pages_queued"] == URLS  # no false positives
        assert exact["robots_queued"] == hosts
        assert exact["groups"]["seen"]["length"] == URLS  # one 8-byte member per URL
        assert 4 <= exact["seen_bytes_per_url"] <= 20
    assert runs["exact, 4 shards"]["groups"]["job"]["keys"] == 4  # a config per shard
    assert runs["exact, 4 shards"]["requests_queued"] == runs["exact"]["requests_queued"]

    bloom = runs["bloom"]
    m, formula = bloom["bloom_m"], bloom["bloom_formula_bytes_per_url"]
    assert formula == round(m / 8 / URLS, 3)
    assert bloom["bloom_bitmap_bytes"] == math.ceil(m / 8)  # the bitmap is m bits, no more
    assert abs(bloom["bloom_bitmap_bytes"] / URLS - formula) <= 0.1 * formula
    # allocated: the bitmap rounded up to its allocator size class (at most 25% apart)
    assert formula <= bloom["seen_bytes_per_url"] <= 1.25 * formula + 100 / URLS

    p = defaults.BLOOM_ERROR_RATE
    for name in ("bloom", "scalable", "scalable, expected N/10"):
        r = runs[name]
        assert r["error_rate"] == p
        # a URL the filter wrongly holds while filling is not queued: at most p of them
        assert URLS - p * URLS <= r["pages_queued"] <= URLS
        probe = r["probe"]
        assert probe["urls"] == PROBE
        assert probe["queued"] + probe["false_positives"] == PROBE
        assert probe["false_positives"] <= 5 * p * PROBE  # a sane filter, not a bound
        assert r["groups"]["bloom"]["keys"] == r["bloom_layers"]
    # scalable: one layer while within its expected URLs; sized for N/10 it grows by
    # SCALABLE_GROWTH until the layers hold every URL marked
    assert runs["scalable"]["bloom_layers"] == 1
    grown = runs["scalable, expected N/10"]
    capacity, layers = URLS // 10, 0
    while capacity * (defaults.SCALABLE_GROWTH ** layers - 1) // (
            defaults.SCALABLE_GROWTH - 1) < grown["pages_queued"]:
        layers += 1
    assert grown["bloom_layers"] == layers >= 2
    assert grown["probe"]["layers_after"] >= grown["bloom_layers"]
