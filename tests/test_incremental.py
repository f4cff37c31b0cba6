"""Incremental builds: whatever path a build takes (incremental after each crawl, in N
processes, step by step as a cluster would, killed and rerun), its tables equal those
of one full build of the same raw parts, row for row."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from clitools import linkindex
from rawdata import T0, fetch, link, write_part, write_parts

from core import layout
from index import restamp
from index.build import build_index, build_step

DOMAINS = [f"d{i}.example" for i in range(9)]
URLS = [f"https://{host}{d}/{path}" for d in DOMAINS for host in ("www.", "blog.")
        for path in ("", "a", "b")]
ANCHORS = ["", "home", "click here", "Best widgets", "d0", "Bücher", "Zürich", "日本語", "Z"]
KINDS = ["a", "a", "a", "img", "redirect"]
POSITIONS = ["content", "nav", "footer", None]


def random_fetch(rng: random.Random, url: str, crawl: str, at) -> tuple[dict, list[dict]]:
    """One fetch with what a hostile web gives: 404s, 5xx, network errors, failed and
    truncated extraction, robots.txt refusals, repeated and changing links. Each page
    has its usual links (kept, dropped or with another rel or position from one fetch
    to the next) and a few random ones."""
    usual = random.Random(url)
    links = [link(usual.choice(URLS), anchor=usual.choice(ANCHORS), kind=usual.choice(KINDS),
                  nofollow=rng.random() < 0.3, ugc=rng.random() < 0.1,
                  position=rng.choice(POSITIONS))
             for _ in range(4) if rng.random() < 0.75]
    links += [link(rng.choice(URLS), anchor=rng.choice(ANCHORS), kind=rng.choice(KINDS),
                   nofollow=rng.random() < 0.3, position=rng.choice(POSITIONS))
              for _ in range(rng.randrange(0, 3))]
    rng.shuffle(links)
    roll = rng.random()
    if roll < 0.08:
        return fetch(url, [], crawl_id=crawl, at=at, status=404)
    if roll < 0.14:
        return fetch(url, links[:2], crawl_id=crawl, at=at, status=503)
    if roll < 0.18:
        return fetch(url, [], crawl_id=crawl, at=at, status=None)
    if roll < 0.21:
        return fetch(url, [], crawl_id=crawl, at=at, error="extract: ValueError: bad")
    if roll < 0.24:
        return fetch(url, links, crawl_id=crawl, at=at, error="truncated: 9 MB cut")
    if roll < 0.27:
        return fetch(url, [], crawl_id=crawl, at=at, status=None,
                     error="robots: disallowed by robots.txt")
    return fetch(url, links, crawl_id=crawl, at=at)


def write_random_crawl(data: Path, rng: random.Random, crawl: str, day: int,
                       held: list[tuple[str, list[dict]]]) -> None:
    """A crawl of a random half of the URLs, in 1-3 parts; some fetch times repeat
    across crawls (ties), some URLs are fetched twice in one crawl. The pages part of
    one chunk is held back for the next crawl's build (`held`): a build that ran while
    a writer was between its edges part and its pages part."""
    for crawl_id, pages in held:
        write_part(data, crawl_id, "pages", pages)
    held.clear()
    urls = rng.sample(URLS, len(URLS) // 2) + rng.sample(URLS, 3)
    fetches, times = [], set()
    for url in urls:
        at = T0 + timedelta(days=day if rng.random() < 0.8 else day - 1,
                            hours=rng.choice([0, 0, 1]))
        # One page fetched twice by one crawl at the same millisecond with other
        # content has no latest fetch (no build promises which one wins): not made.
        while (url, at) in times:
            at += timedelta(minutes=7)
        times.add((url, at))
        fetches.append(random_fetch(rng, url, crawl, at))
    rng.shuffle(fetches)
    cuts = sorted(rng.sample(range(1, len(fetches)), rng.randrange(1, 3)))
    for i, (lo, hi) in enumerate(zip([0, *cuts], [*cuts, len(fetches)], strict=True)):
        chunk = fetches[lo:hi]
        pages, edges = [p for p, _ in chunk], [e for _, es in chunk for e in es]
        if i == 0:
            write_part(data, crawl, "edges", edges)
            held.append((crawl, pages))
        else:
            write_parts(data, crawl, pages, edges)


def tables(data: Path) -> dict[str, list[dict]]:
    """Every table of the live generation, as rows, file by file."""
    root = layout.generation_dir(data, layout.current_generation(data))
    out = {name: pq.read_table(root / f"{name}.parquet").to_pylist()
           for name in ("pages", "hosts", "domains")}
    for f in sorted(root.glob("edges/bucket=*/*.parquet")):
        out[f.relative_to(root).as_posix()] = pq.read_table(f).to_pylist()
    return out


def manifest_facts(data: Path) -> dict:
    manifest = layout.read_manifest(data)
    return {k: v for k, v in manifest.items() if k not in ("generation", "created_at", "build")}


def full_build_of(data: Path, tmp: Path) -> Path:
    """A copy of DATA's raw parts (same bytes, same modification times), fully built
    (with the same trust seeds)."""
    copy = tmp / "full"
    shutil.copytree(data / "raw", copy / "raw")
    manifest = layout.read_manifest(data)
    trust = (manifest.get("metrics") or {}).get("domain_trust")
    seeds = ["d0.example", "d3.example"] if trust else None
    build_index(copy, buckets=manifest["buckets"], trust_seeds=seeds)
    return copy


@pytest.mark.parametrize("seed,stream", [(1, False), (2, False), (3, True), (4, True)])
def test_incremental_builds_equal_a_full_build(tmp_path: Path, seed: int, stream: bool,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """stream: every bucket with a previous file is written by streaming it
    (index.restamp), however much changed; else only when little did."""
    if stream:
        monkeypatch.setattr(restamp, "MAX_DELTA_SHARE", float("inf"))
    rng = random.Random(seed)
    data = tmp_path / "data"
    held: list = []
    trust = ["d0.example", "d3.example"] if stream else None  # domain trust as well
    incremental = 0
    for n in range(1, 6):
        before = len(layout.raw_parts(data, "edges"))
        write_random_crawl(data, rng, f"c{n}", n * 10, held)
        result = build_index(data, buckets=4, trust_seeds=trust)
        assert result.built
        build = result.manifest["build"]
        # A page fetched twice by a crawl whose earlier fetch's pages part came late: its
        # fetch is older than one the index holds, and spans are built anew (index.plan).
        older = "older than a fetch" in (build["full_reason"] or "")
        assert (build["previous"] is None) == (n == 1 or older), build
        incremental += build["previous"] is not None
        assert build["new_parts"] == len(layout.raw_parts(data, "edges")) - (
            0 if older else before)
        full = full_build_of(data, tmp_path / f"after-c{n}")
        assert tables(data) == tables(full), f"after crawl c{n}"
        assert manifest_facts(data) == manifest_facts(full)
    assert incremental >= 3
    # runs are deleted once a generation holds them; map records stay
    assert not list((data / "stage" / "edges").rglob("*.parquet"))
    assert len(list((data / "stage" / "maps").rglob("*.json"))) == len(
        layout.raw_parts(data, "edges"))


def crawl_of_links(data: Path, crawl: str, day: int, links: dict[str, list[str]]) -> None:
    """One crawl, one part: each source URL fetched with exactly these links."""
    fetches = [fetch(src, dsts, crawl_id=crawl, at=T0 + timedelta(days=day))
               for src, dsts in links.items()]
    write_parts(data, crawl, [p for p, _ in fetches], [e for _, es in fetches for e in es])


def bucket_inodes(data: Path) -> dict[str, int]:
    root = layout.generation_dir(data, layout.current_generation(data))
    return {f.parent.name: f.stat().st_ino for f in root.glob("edges/bucket=*/*.parquet")}


def test_a_bucket_with_nothing_new_is_reused_as_it_is(tmp_path: Path) -> None:
    data = tmp_path / "data"
    sources = {f"https://www.{d}/": [f"https://www.{t}/" for t in DOMAINS if t != d][:4]
               for d in DOMAINS}
    crawl_of_links(data, "c1", 1, sources)
    first = build_index(data, buckets=8)
    before = bucket_inodes(data)
    # A new page with internal links only: one bucket gets a run, no domain rank moves,
    # no page that links anywhere got a new fetch.
    crawl_of_links(data, "c2", 2, {"https://www.d3.example/new": ["https://www.d3.example/x"]})
    second = build_index(data)
    assert second.manifest["build"]["previous"] == first.generation
    after = bucket_inodes(data)
    touched = {f"bucket={layout.bucket_of('d3.example', 8)}"}
    assert {b for b in after if after[b] != before[b]} == touched
    assert second.manifest["build"]["buckets_rewritten"] == 1
    assert tables(data) == tables(full_build_of(data, tmp_path))


def test_a_refetch_that_drops_a_link_rewrites_only_that_links_bucket(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # two unlinked islands, so that removing a link in one moves no rank in the other
    crawl_of_links(data, "c1", 1, {"https://www.d0.example/": ["https://www.d1.example/"],
                                   "https://www.d2.example/": ["https://www.d5.example/",
                                                               "https://www.d5.example/p"]})
    build_index(data, buckets=16)
    before = bucket_inodes(data)
    crawl_of_links(data, "c2", 2, {"https://www.d2.example/": ["https://www.d5.example/"]})
    result = build_index(data)
    after = bucket_inodes(data)
    assert {b for b in after if after[b] != before[b]} == {
        f"bucket={layout.bucket_of('d5.example', 16)}"}
    assert result.manifest["build"]["buckets_rewritten"] == 1
    assert tables(data) == tables(full_build_of(data, tmp_path))


def test_jobs_in_several_processes_give_the_same_index(tmp_path: Path) -> None:
    rng = random.Random(7)
    data, held = tmp_path / "data", []
    for n in (1, 2):
        write_random_crawl(data, rng, f"c{n}", n * 10, held)
        result = build_index(data, buckets=4, jobs=2)
        assert result.manifest["build"]["jobs"] == 2
    assert tables(data) == tables(full_build_of(data, tmp_path))


def test_a_changed_part_makes_a_full_build(tmp_path: Path) -> None:
    rng = random.Random(3)
    data, held = tmp_path / "data", []
    write_random_crawl(data, rng, "c1", 10, held)
    build_index(data, buckets=2)
    part = layout.raw_parts(data, "edges")[0]
    part.unlink()
    result = build_index(data)
    assert result.manifest["build"]["previous"] is None
    assert result.manifest["build"]["full_reason"] == (
        f"{part.relative_to(data).as_posix()} changed or was removed since g000001")
    assert tables(data) == tables(full_build_of(data, tmp_path))


def cluster_build(data: Path, tasks: int, build_id: str) -> None:
    """The steps of a cluster build through the real CLI, each task its own process."""
    def step(name: str, *extra: str) -> None:
        linkindex("build", name, "--data", data, "--build-id", build_id, *extra)

    step("plan")
    for name in ("map", "reduce", "write"):
        for task in range(tasks):
            step(name, "--task", str(task), "--tasks", str(tasks))
    step("commit")


def built_then_recrawled(tmp_path: Path, seed: int) -> Path:
    """DATA with crawl c1 built in 4 buckets, and crawl c2 written but not built yet."""
    rng = random.Random(seed)
    data, held = tmp_path / "data", []
    write_random_crawl(data, rng, "c1", 10, held)
    build_index(data, buckets=4)
    write_random_crawl(data, rng, "c2", 20, held)
    return data


def test_a_cluster_build_step_by_step_gives_the_same_index(tmp_path: Path) -> None:
    data = built_then_recrawled(tmp_path, 11)
    cluster_build(data, 3, "b2")
    manifest = layout.read_manifest(data)
    assert manifest["build"]["previous"] == "g000001"
    assert tables(data) == tables(full_build_of(data, tmp_path))
    # nothing new: plan says so, and the other steps have nothing to do
    out = linkindex("build", "plan", "--data", data, "--build-id", "b3").stdout
    assert "up to date" in out
    assert "nothing to do" in linkindex("build", "map", "--data", data,
                                        "--build-id", "b3").stdout


def test_a_step_before_its_turn_says_what_is_missing(tmp_path: Path) -> None:
    data, held = tmp_path / "data", []
    write_random_crawl(data, random.Random(5), "c1", 10, held)
    linkindex("build", "plan", "--data", data, "--build-id", "x")
    early = linkindex("build", "write", "--data", data, "--build-id", "x", check=False)
    assert early.returncode == 1
    assert early.stderr.strip().endswith("not mapped yet: run `linkindex build map`")
    other = linkindex("build", "map", "--data", data, "--build-id", "y", check=False)
    assert other.returncode == 1 and "is 'x', not 'y'" in other.stderr


def test_a_reduce_killed_mid_way_is_simply_rerun(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # enough rows that one bucket's reduce takes a while
    links = {f"https://www.s{i}.example/p{j}": [f"https://www.{d}/x{k}" for d in DOMAINS
                                                 for k in range(6)]
             for i in range(120) for j in range(20)}
    crawl_of_links(data, "c1", 1, links)
    build_step(data, "plan", buckets=4)
    build_step(data, "map")
    summaries = data / "stage" / "next" / "summary"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "linkindex", "build", "reduce", "--data", str(data),
         "--threads", "1"], env=env)
    deadline = time.monotonic() + 120
    while not list(summaries.glob("*.json")):
        assert proc.poll() is None, "reduce ended before it was killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    done = len(list(summaries.glob("*.json")))
    assert 1 <= done < 4, done  # killed mid-way: some buckets reduced, not all
    for step in ("reduce", "write"):
        build_step(data, step)
    result = build_step(data, "commit")
    assert result.built
    assert tables(data) == tables(full_build_of(data, tmp_path))
    assert not list((data / "stage").rglob(".tmp-*"))


def test_generations_replaced_recently_are_kept_for_external_readers(tmp_path: Path) -> None:
    data, held = tmp_path / "data", []
    write_random_crawl(data, random.Random(2), "c1", 10, held)
    for _ in range(3):
        build_index(data, force=True, keep=1, keep_for=3600)
    # keep=1, but each older generation was live until a few seconds ago
    assert layout.generations(data) == ["g000001", "g000002", "g000003"]
    # make g000002 look built two hours ago: g000001 was replaced then, and goes
    manifest_path = layout.generation_dir(data, "g000002") / layout.MANIFEST
    manifest = layout.read_manifest(data, "g000002")
    manifest["created_at"] = "2020-01-01T00:00:00+00:00"
    layout.write_json(manifest_path, manifest)
    build_index(data, force=True, keep=1, keep_for=3600)
    assert layout.generations(data) == ["g000002", "g000003", "g000004"]
    build_index(data, force=True, keep=1)  # without keep_for: only keep and the live one
    assert layout.generations(data) == ["g000004", "g000005"]


def test_a_small_recrawl_streams_each_bucket_in_row_groups(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    sources = {f"https://www.s{i}.example/p{j}": [f"https://www.{d}/x{k}" for d in DOMAINS
                                                   for k in range(8)]
               for i in range(30) for j in range(6)}
    crawl_of_links(data, "c1", 1, sources)  # 12,960 links: several row groups per bucket
    build_index(data, buckets=2, row_group_size=2048)
    streamed: list[int] = []
    real = restamp.stream_bucket
    monkeypatch.setattr(restamp, "stream_bucket", lambda old, delta, *a: (
        streamed.append(delta.num_rows), real(old, delta, *a))[1])
    changed = {src: dsts[::3] + ["https://www.d0.example/new"]
               for src, dsts in list(sources.items())[::40]}
    crawl_of_links(data, "c2", 2, changed)
    build_index(data, row_group_size=2048)
    assert len(streamed) == 2 and all(streamed)
    assert tables(data) == tables(full_build_of(data, tmp_path))
    root = layout.generation_dir(data, layout.current_generation(data))
    for f in root.glob("edges/bucket=*/*.parquet"):
        meta = pq.ParquetFile(f).metadata
        assert meta.num_row_groups > 1
        assert all(meta.row_group(i).num_rows == 2048 for i in range(meta.num_row_groups - 1))


def test_a_build_stopped_after_some_buckets_were_written_loses_nothing(tmp_path: Path) -> None:
    data = built_then_recrawled(tmp_path, 9)
    for step in ("plan", "map", "reduce"):
        build_step(data, step)
    build_step(data, "write", task=0, tasks=2)  # half the buckets: their runs are freed
    written = list((data / "stage" / "next" / "gen").glob("edges/bucket=*/*.parquet"))
    assert len(written) == 2
    build_step(data, "write", task=0, tasks=2)  # a rerun of a done task does nothing
    # the build is abandoned; the next one maps the parts whose runs were freed again
    result = build_index(data)
    assert result.manifest["build"]["previous"] == "g000001"
    assert tables(data) == tables(full_build_of(data, tmp_path))


def test_runs_are_freed_as_buckets_are_written(tmp_path: Path) -> None:
    rng = random.Random(10)
    data, held = tmp_path / "data", []
    write_random_crawl(data, rng, "c1", 10, held)
    for step in ("plan", "map", "reduce"):
        build_step(data, step, buckets=4)
    runs = data / "stage" / "edges"
    before = {p.parent.parent.name for p in runs.rglob("*.parquet")}
    build_step(data, "write", task=1, tasks=2)  # buckets 1 and 3
    after = {p.parent.parent.name for p in runs.rglob("*.parquet")}
    assert after == before - {"bucket=1", "bucket=3"}


def test_a_new_plan_removes_what_killed_map_tasks_left(tmp_path: Path) -> None:
    data, held = tmp_path / "data", []
    write_random_crawl(data, random.Random(12), "c1", 10, held)
    leftover = data / "stage" / ".tmp-map-4242" / "runs" / "bucket=0"
    leftover.mkdir(parents=True)
    (leftover / "run0.parquet").write_bytes(b"PAR1")
    build_index(data)
    assert not (data / "stage" / ".tmp-map-4242").exists()


def test_a_previous_anchor_holding_a_nul_is_merged_by_sql(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # joined keys cannot order it: the bucket falls back to the SQL merge, same rows
    monkeypatch.setattr(restamp, "MAX_DELTA_SHARE", float("inf"))
    data = tmp_path / "data"
    page, edges = fetch("https://www.a.example/", [
        link("https://www.b.example/", anchor="x\x00y"), "https://www.b.example/z"],
        crawl_id="c1", at=T0)
    write_parts(data, "c1", [page], edges)
    build_index(data, buckets=1)
    crawl_of_links(data, "c2", 2, {"https://www.c.example/": ["https://www.b.example/"]})
    fell_back: list[str] = []
    real = restamp.stream_bucket

    def recording(*args: object) -> None:
        try:
            real(*args)
        except restamp.NotStreamable as exc:
            fell_back.append(str(exc))
            raise

    monkeypatch.setattr(restamp, "stream_bucket", recording)
    build_index(data)
    assert len(fell_back) == 1 and "NUL" in fell_back[0]
    assert tables(data) == tables(full_build_of(data, tmp_path))


def test_the_cli_knows_the_build_steps() -> None:
    from index import steps
    from linkindex import building

    assert building.STEPS == steps.STEPS
