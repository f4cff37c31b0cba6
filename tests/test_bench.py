"""The benchmarks keep working: each runs at a tiny size and produces its numbers.

Only the presence and sanity of the numbers is checked, never a timing: speed is
measured by `python -m bench.<name>` and recorded in bench/RESULTS.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import common


def test_common_helpers() -> None:
    assert common.percentile([5, 1, 4, 2, 3], 50) == 3
    assert common.percentile([1, 2, 3, 4, 100], 95) == 100
    assert common.median([3, 1, 2]) == 2
    assert "met" in common.target_line("x", 2.0, 1.0)
    assert "MISSED" in common.target_line("x", 2.0, 1.0, higher_is_better=False)
    text = common.table(["name", "value"], [["a", 1.5], ["b", 12345]])
    assert "| a" in text and "12,345" in text
    facts = common.machine()
    assert facts["cores"] >= 1 and facts["duckdb"] and facts["python"]
    # The CPU model is recorded: ratios moved between machines of the same kind.
    with open("/proc/cpuinfo") as fh:
        models = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
    if models:  # x86 Linux, where the benchmarks run; other CPUs name themselves elsewhere
        assert facts["cpu"].startswith(models[0] + " at ") and facts["cpu"].endswith(" MHz")
    assert f"cores ({facts['cpu']})" in common.header("x")


@pytest.mark.slow  # a whole benchmark, at smoke size
def test_extract_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import extract

    results = extract.main(["--smoke"])
    assert results["pages"] == 10
    for engine in extract.ENGINES:
        assert results["mb_per_s"][engine] > 0
        assert results["links_per_page"][engine] > 0
    assert results["ratio_vs_scrapy"] > 0 and results["ratio_vs_lexbor"] > 0
    out = capsys.readouterr().out
    assert "linkindex ÷ bare lexbor" in out and "linkindex ÷ scrapy LinkExtractor" in out


@pytest.mark.slow  # a whole benchmark, at smoke size
def test_index_smoke(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from bench import index

    data, first = tmp_path / "index", tmp_path / "first.json"
    results = index.main(["--smoke", "--data", str(data), "--json", str(first)])
    assert results["raw_edges"] > 0 and results["index_edges"] > 0
    assert results["build_edges_per_s"] > 0 and results["index_bytes_per_edge"] > 0
    picked = results["picked"]
    assert set(picked["targets"]) == set(index.CLASSES)
    assert len(picked["gap_competitors"]) == index.COMPETITORS
    expected = {f"{q}/{c}" for q in index.QUERIES for c in index.CLASSES} | {"link_gap"}
    for side in ("sorted", "naive"):
        assert set(results[side]) == expected
        assert all(v["p50"] > 0 and v["p95"] >= v["p50"] for v in results[side].values())
    assert "build raw edges/s" in capsys.readouterr().out

    # --against: another index (here the same one) timed call by call with this one;
    # the ratio line uses those timings, not an earlier run's.
    again = index.main(["--smoke", "--data", str(data), "--requery", str(first),
                        "--against", str(data)])
    against = again["against"]
    assert against["raw_edges"] == results["raw_edges"]
    assert against["picked"] == picked
    assert set(against["sorted"]) == set(again["sorted"]) == expected
    assert all(v["p50"] > 0 for v in against["sorted"].values())
    out = capsys.readouterr().out
    assert f"timed alongside, call by call: {data}" in out
    assert "median target latency ratio vs the index timed alongside" in out


@pytest.mark.slow  # a whole benchmark, at smoke size
def test_crawl_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import crawl

    results = crawl.main(["--smoke"])
    assert results is not None and results["expected_pages"] > 50
    for engine in crawl.ENGINES:
        run = results["runs"][engine][0]
        assert run["responses"] > 50 and results["pages_per_s"][engine] > 0
    assert results["runs"]["linkindex"][0]["edges"] > 0  # links stored as raw parts
    assert results["runs"]["scrapy-crawlspider"][0]["items"] > 0  # one item per link
    assert results["runs"]["scrapy-noparse"][0]["items"] == 0
    assert "linkindex ÷ no-parse ceiling" in capsys.readouterr().out


@pytest.mark.slow  # a whole benchmark, at smoke size
def test_layouts_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import layouts

    results = layouts.main(["--smoke"])
    sizes = results["bytes_per_edge"]
    assert list(sizes) == list(layouts.LAYOUTS) and results["edges"] > 0
    # Every layout holds the same rows with fewer or smaller columns than the index.
    control = sizes["the index's own columns, rewritten"]
    assert results["as_built"] > 0 and all(0 < size <= control for size in sizes.values())
    assert "index bytes/edge (as built)" in capsys.readouterr().out


@pytest.mark.slow  # a whole benchmark, at smoke size
def test_hostile_smoke(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import json

    from bench import hostile

    out = tmp_path / "hostile.json"
    results = hostile.main(["--smoke", "--json", str(out)])
    assert results is not None and json.loads(out.read_text())["bench"] == "hostile"
    assert set(results["shapes"]) == set(hostile.SHAPES)
    for shape in results["shapes"].values():
        after, before = shape["after"], shape["before"]
        assert after["seconds"] > 0 and after["pages_per_s"] > 0 and after["links"] >= 1
        assert "seconds" in before or before["outcome"] in ("over", "memory", "not run")
        assert before["measured"]  # at least the smallest size ran
    # The shapes the bound exists for are cut; the ones it passes are not.
    assert results["shapes"]["nested-div"]["after"]["truncated"].startswith("nesting deeper")
    assert results["shapes"]["many-links"]["after"]["truncated"] is None
    normal = results["normal"]
    assert all(us > 0 for us in normal["us_per_page"].values())
    assert 0 < normal["gate_share"] < 1 and normal["big_seconds"]["extract_html"] > 0
    assert "gate ÷ extract_html" in capsys.readouterr().out


@pytest.mark.slow  # a whole benchmark, at smoke size
def test_ranks_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import ranks

    results = ranks.main(["--smoke"])
    [size] = results["sizes"]
    assert size["arcs"] > 10_000 and 900 < size["domains"] <= 1_000
    for what in ("baseline", "rank", "trust"):
        assert size[what]["seconds"] > 0 and size[what]["iterations"] >= 1
        assert size[what]["peak_rss"] > 0
    assert "against a float PageRank" in capsys.readouterr().out


@pytest.mark.slow  # a whole benchmark, at smoke size
def test_report_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import report

    results = report.main(["--smoke"])
    assert results["edges"] > 10_000
    for kind in ("hot", "median"):
        assert results[f"report/{kind}"]["bytes"] > 4_000_000  # Plotly is inside
        assert set(results[f"ui/{kind}"]) == {
            "profile page", "first page (query runs)", "next page (cached)", "sort (cached)",
            "search (cached)", "run_query limit 50"}
    assert "report, hot" in capsys.readouterr().out


@pytest.mark.slow  # a whole benchmark, at smoke size
def test_ccgraph_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import ccgraph

    results = ccgraph.main(["--smoke"])
    assert 40_000 < results["edges"] <= 50_000
    assert results["edges_per_second"] > 0 and results["stored_bytes_per_edge"] > 0
    assert "import" in capsys.readouterr().out
