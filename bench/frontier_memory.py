"""The frontier's memory in Redis at 10M URLs (issue 19): bytes per seen URL, per queued
request and per domain, for each seen-filter mode.

    python -m bench.frontier_memory              # 10M URLs over 100k registrable domains
    python -m bench.frontier_memory --urls N     # N URLs over N/100 domains
    python -m bench.frontier_memory --smoke      # 20k URLs: checks it runs, in seconds

Each run starts its own Redis (no AOF), submits a job (crawler.frontier.jobs.submit) and
pushes N distinct URLs through FrontierStore.add in batches, from two producer processes
as two workers would. Then MEMORY USAGE (samples=0) of every key of the job (SCAN
`linkindex:{JOB}:*` and `linkindex:{JOB:*}:*`), grouped: the seen filter's keys (`seen:*`,
`bloom*`, `sbf`) ÷ URLs; the `q:*` lists ÷ requests queued (pages, and one robots.txt
per new host); the other per-domain keys (`ready`, `pd`, `delay`, `hosts`, `robots`,
`sent`, `skipped`) ÷ registrable domains; the whole job, and INFO used_memory after -
before, ÷ URLs. Runs: exact, exact over 4 shards, bloom, scalable, and scalable sized for
N/10 (it must grow layers). For the Bloom filters a probe then adds URLs never added:
those add() does not queue are false positives, against the configured error rate.

The web is deterministic: URL i's domain is drawn by a low-discrepancy sequence from a
Zipf-Mandelbrot popularity (weight 1/(rank+10)); the top 1% of domains have 5-7 hosts,
a third of the rest 2-3, the others one. What is generated is counted while generating.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import re
import tempfile
import time
from bisect import bisect
from concurrent.futures import ProcessPoolExecutor
from itertools import accumulate
from pathlib import Path
from typing import Any

from bench.common import fmt, header, table, write_json

TLDS = ("com", "com", "com", "org", "net", "de", "co.uk", "io", "fr", "com.au")
NAMES = "blue green north city smart open happy urban prime local daily bright".split()
THINGS = "garden travel media shop tech foods design health books sports homes labs".split()
SUBDOMAINS = ("www", "blog", "shop", "news", "m", "docs", "forum")
SECTIONS = ("blog", "news", "product", "category", "article", "help", "about", "tag")
SLUGS = "how to best guide review new top cheap easy week free home".split()
PHI = (math.sqrt(5) - 1) / 2  # i·φ mod 1: an evenly spread sequence in [0, 1)
SEEN_GROUPS = ("seen", "bloom", "sbf")
DOMAIN_GROUPS = ("ready", "pd", "delay", "hosts", "robots", "sent", "skipped")
KEY = re.compile(r"^linkindex:\{[^}]*\}:([^:]*)")
# A key's length: elements of a list, set, hash or sorted set; bytes of a string.
LENGTH = """local t = redis.call('TYPE', KEYS[1]).ok
local how = {list = 'LLEN', string = 'STRLEN', set = 'SCARD', hash = 'HLEN', zset = 'ZCARD'}
return how[t] and redis.call(how[t], KEYS[1]) or 0"""


class Web:
    """`domains` registrable domains with their hosts; url(i) is URL i, for any i."""

    def __init__(self, domains: int) -> None:
        weights = list(accumulate(1 / (rank + 10) for rank in range(domains)))
        self.cdf = [w / weights[-1] for w in weights]
        self.names = [f"{NAMES[d % 12]}{THINGS[d // 12 % 12]}{d}.{TLDS[d % 10]}"
                      for d in range(domains)]
        counts = [1 + (d % 3 == 0) + (d % 9 == 0) + 4 * (d < domains // 100)
                  for d in range(domains)]
        self.hosts = [tuple(f"{SUBDOMAINS[j]}.{self.names[d]}" for j in range(counts[d]))
                      for d in range(domains)]

    def url(self, i: int) -> tuple[str, int, int]:
        """URL i, its domain's index and its host's index in that domain."""
        d = min(bisect(self.cdf, i * PHI % 1.0), len(self.cdf) - 1)
        hosts, s = self.hosts[d], SLUGS
        j = i // 7 % len(hosts)
        return (f"https://{hosts[j]}/{SECTIONS[i % 8]}/{2010 + i % 15}/"
                f"{s[i % 12]}-{s[i // 12 % 12]}-{s[i // 144 % 12]}-{i}.html", d, j)


_WEB: Web | None = None  # set before the producers fork


def produce(redis_url: str, job: str, start: int, stop: int, batch: int, rank: int,
            procs: int) -> dict[str, Any]:
    """Add URLs start..stop-1 (this producer's batches) through FrontierStore.add; count
    what was offered, what add() queued, and the domains, hosts and characters."""
    from core.domains import registrable_domain
    from core.urls import url_host
    from crawler.frontier.connection import connect
    from crawler.frontier.store import FrontierStore, Link

    assert _WEB is not None
    frontier = FrontierStore(connect(redis_url), job)
    domain_of: dict[str, str] = {}  # host → registrable domain, looked up once per host
    hosts: set[int] = set()
    offered = queued = chars = 0
    slowest = 0.0  # the longest add() call: Redis serves no one else meanwhile
    for number, first in enumerate(range(start, stop, batch)):
        if number % procs != rank:
            continue
        links = []
        for i in range(first, min(stop, first + batch)):
            url, d, j = _WEB.url(i)
            host = url_host(url)
            domain = domain_of.get(host)
            if domain is None:
                domain = domain_of[host] = registrable_domain(host)
                if domain != _WEB.names[d]:
                    raise AssertionError(f"{host}: registrable domain {domain}")
            links.append(Link(url, domain))
            hosts.add(d * 8 + j)
            chars += len(url)
        offered += len(links)
        started = time.perf_counter()
        queued += frontier.add(links, 1)
        slowest = max(slowest, time.perf_counter() - started)
    return {"offered": offered, "queued": queued, "hosts": hosts, "chars": chars,
            "slowest": slowest}


def push(redis_url: str, job: str, start: int, stop: int, batch: int,
         procs: int) -> dict[str, Any]:
    """URLs start..stop-1 through add(), by `procs` forked producers."""
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(procs, mp_context=ctx) as pool:
        parts = [f.result() for f in [pool.submit(produce, redis_url, job, start, stop, batch,
                                                  rank, procs) for rank in range(procs)]]
    out = {name: sum(p[name] for p in parts) for name in ("offered", "queued", "chars")}
    return {**out, "hosts": set().union(*(p["hosts"] for p in parts)),
            "slowest": max(p["slowest"] for p in parts)}


def key_groups(server: Any, job: str) -> dict[str, dict[str, int]]:
    """Every key of the job by group (its name after the prefix, up to a ':'): keys,
    MEMORY USAGE (samples=0: every element) and length (elements; a string's bytes)."""
    groups: dict[str, dict[str, int]] = {}
    keys = [k for pattern in job_patterns(job)
            for k in server.scan_iter(match=pattern, count=10_000)]
    for start in range(0, len(keys), 2000):
        chunk = keys[start:start + 2000]
        pipe = server.pipeline(transaction=False)
        for key in chunk:
            pipe.memory_usage(key, samples=0)
            pipe.eval(LENGTH, 1, key)
        answers = pipe.execute()
        for key, used, length in zip(chunk, answers[::2], answers[1::2], strict=True):
            group = groups.setdefault(KEY.match(key).group(1), dict.fromkeys(
                ("keys", "bytes", "length"), 0))
            group["keys"], group["bytes"] = group["keys"] + 1, group["bytes"] + int(used or 0)
            group["length"] += int(length)
    return dict(sorted(groups.items()))


def job_patterns(job: str) -> tuple[str, str]:
    """Every key of the job: `linkindex:{JOB}:*`, and its shards' `linkindex:{JOB:k}:*`."""
    return f"linkindex:{{{job}}}:*", f"linkindex:{{{job}:*}}:*"


def run_one(label: str, mode: str, shards: int, expected: int, n: int, probe: int,
            batch: int, procs: int, folder: Path) -> dict[str, Any]:
    from crawler.frontier import jobs
    from crawler.frontier.connection import connect
    from crawler.frontier.store import FrontierStore
    from crawler.spec import CrawlSpec
    from linkindex.localredis import RedisServer

    assert _WEB is not None
    job = re.sub(r"[^a-z0-9]+", "-", label).strip("-")
    with RedisServer(folder / job, durable=False) as redis_server:
        server = connect(redis_server.url)
        before = server.info("memory")["used_memory"]
        server.config_resetstat()
        started = time.perf_counter()
        seed, d0, j0 = _WEB.url(0)
        spec = CrawlSpec(seeds=[seed], scope="any", seen_mode=mode, expected_urls=expected,
                         shards=shards, max_depth=None)
        seeded = jobs.submit(server, job, spec)
        added = push(redis_server.url, job, 1, n, batch, procs)
        seconds = time.perf_counter() - started
        lua_us = server.info("commandstats").get("cmdstat_evalsha", {}).get("usec", 0)
        after = server.info("memory")["used_memory"]
        groups = key_groups(server, job)
        frontier = FrontierStore(server, job)
        config, counts = frontier.config(), frontier.counts()
        queues = groups.get("q", {"bytes": 0, "length": 0})
        seen = sum(groups.get(g, {}).get("bytes", 0) for g in SEEN_GROUPS)
        per_domain = sum(groups.get(g, {}).get("bytes", 0) for g in DOMAIN_GROUPS)
        total = sum(g["bytes"] for g in groups.values())
        domains = len({h // 8 for h in added["hosts"] | {d0 * 8 + j0}})
        out: dict[str, Any] = {
            "run": label, "mode": mode, "shards": shards, "expected_urls": expected,
            "urls": 1 + added["offered"], "pages_queued": seeded + added["queued"],
            "robots_queued": counts["robots"], "counted_queued": counts["queued"],
            "domains": domains, "hosts": len(added["hosts"] | {d0 * 8 + j0}),
            "mean_url_chars": round((len(seed) + added["chars"]) / n, 1),
            "add_seconds": round(seconds, 1), "links_per_s": round(n / seconds),
            "redis_us_per_link": round(lua_us / n, 1),
            "slowest_add_s": round(added["slowest"], 2),
            "redis_version": server.info("server")["redis_version"],
            "used_memory_delta": after - before, "groups": groups,
            "requests_queued": queues["length"], "seen_bytes": seen,
            "queue_bytes": queues["bytes"], "domain_bytes": per_domain, "job_bytes": total,
            "seen_bytes_per_url": round(seen / n, 3),
            "queue_bytes_per_request": round(queues["bytes"] / queues["length"], 1),
            "domain_bytes_per_domain": round(per_domain / domains, 1),
            "job_bytes_per_url": round(total / n, 1),
            "used_memory_per_url": round((after - before) / n, 1)}
        if mode != "exact":
            bitmaps = groups.get("bloom", {"keys": 0, "length": 0})
            out["bloom_layers"] = bitmaps["keys"]
            out["bloom_bitmap_bytes"] = bitmaps["length"]  # STRLEN: the bits Redis holds
            if mode == "bloom":  # the sizing formula m/8 per shard
                out["bloom_m"] = int(config["bloom_m"]) * shards
                out["bloom_formula_bytes_per_url"] = round(out["bloom_m"] / 8 / n, 3)
            out["error_rate"] = spec.bloom_error_rate
            if probe:
                fresh = push(redis_server.url, job, n, n + probe, batch, procs)
                wrong = fresh["offered"] - fresh["queued"]
                layers = [k for pattern in job_patterns(job)
                          for k in server.scan_iter(match=pattern[:-1] + "bloom*")]
                out["probe"] = {"urls": fresh["offered"], "queued": fresh["queued"],
                                "false_positives": wrong, "rate": wrong / probe,
                                "layers_after": len(layers)}
        server.close()
    return out


def scalable_supported() -> bool:
    """Whether this checkout has the scalable seen mode (it came after the others)."""
    from crawler.frontier import defaults
    from crawler.spec import CrawlSpec

    try:
        return "scalable" in defaults.SEEN_MODES and bool(
            CrawlSpec(seeds=["https://x.example/"], seen_mode="scalable"))
    except Exception:  # noqa: BLE001 - any failure: not (fully) there
        return False


def run(n: int, domains: int, probe: int, batch: int, procs: int,
        only: list[str] | None = None) -> dict[str, Any]:
    global _WEB
    _WEB = Web(domains)
    plans = [("exact", "exact", 1, n), ("exact, 4 shards", "exact", 4, n),
             ("bloom", "bloom", 1, n), ("scalable", "scalable", 1, n),
             ("scalable, expected N/10", "scalable", 1, max(1, n // 10))]
    missing = [] if scalable_supported() else ["scalable"]
    plans = [p for p in plans if p[1] not in missing and (not only or p[0] in only)]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-frontier-memory-") as tmp:
        runs = [run_one(label, mode, shards, expected, n, probe, batch, procs, Path(tmp))
                for label, mode, shards, expected in plans]
    return {"urls": n, "domains": domains, "batch": batch, "producers": procs,
            "probe_urls": probe, "runs": runs, "not_run": missing,
            "seconds": round(time.perf_counter() - started, 1)}


def report(results: dict[str, Any]) -> str:
    runs = results["runs"]
    rows = [[r["run"], r["urls"], r["domains"], r["requests_queued"], r["seen_bytes_per_url"],
             r["queue_bytes_per_request"], r["domain_bytes_per_domain"], r["job_bytes_per_url"],
             r["used_memory_per_url"]] for r in runs]
    groups = sorted({g for r in runs for g in r["groups"]})
    mb = [[r["run"], *[r["groups"].get(g, {}).get("bytes", 0) / 1e6 for g in groups]]
          for r in runs]
    counts = [[r["run"], r["pages_queued"], r["robots_queued"], r["hosts"], r["mean_url_chars"],
               r["add_seconds"], r["links_per_s"], r["redis_us_per_link"], r["slowest_add_s"]]
              for r in runs]
    lines = [header("frontier_memory"),
             f"{fmt(results['urls'])} URLs over {fmt(results['domains'])} registrable domains, "
             f"batches of {fmt(results['batch'])} links, {results['producers']} producers, "
             f"Redis {runs[0]['redis_version'] if runs else '?'} (no AOF), "
             f"{results['seconds']:.0f} s in all",
             "", table(["run", "URLs", "domains", "requests queued", "B/seen URL",
                        "B/queued request", "B/domain", "job B/URL", "used_memory B/URL"],
                       rows), "",
             table(["run", *[f"{g} MB" for g in groups]], mb), "",
             table(["run", "pages queued", "robots.txt queued", "hosts", "mean URL chars",
                    "add() s", "links/s", "Redis µs/link", "slowest add() s"], counts)]
    probes = [[r["run"], r["expected_urls"], r["bloom_layers"], r["probe"]["layers_after"],
               r["probe"]["urls"], r["probe"]["false_positives"], f"{r['probe']['rate']:.3%}",
               f"{r['error_rate']:.3%}"] for r in runs if "probe" in r]
    if probes:
        lines += ["", table(["run", "expected URLs", "layers", "layers after probe",
                             "fresh URLs", "false positives", "rate", "target p"], probes)]
    lines += [f"\nbloom: {r['seen_bytes_per_url']} B/URL by MEMORY USAGE, "
              f"{r['bloom_bitmap_bytes'] / r['urls']:.3f} by STRLEN, sizing formula m/8/n "
              f"{r['bloom_formula_bytes_per_url']}" for r in runs if r["mode"] == "bloom"]
    if results["not_run"]:
        lines.append(f"not run (not in this checkout yet): {', '.join(results['not_run'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.frontier_memory", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--urls", type=int, default=10_000_000)
    parser.add_argument("--domains", type=int, help="registrable domains (default: URLs/100)")
    parser.add_argument("--probe", type=int, help="fresh URLs probed (default: URLs/10, ≤ 1M)")
    parser.add_argument("--batch", type=int, default=20_000, help="links per add() call")
    parser.add_argument("--producers", type=int, default=2)
    parser.add_argument("--only", action="append", help="run only this run (repeatable)")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.smoke:
        args.urls, args.batch = min(args.urls, 20_000), min(args.batch, 2_000)
    domains = args.domains or max(1, args.urls // 100)
    probe = min(1_000_000, args.urls // 10) if args.probe is None else args.probe
    results = run(args.urls, domains, probe, args.batch, args.producers, args.only)
    print(report(results), flush=True)
    write_json(args.json, {"bench": "frontier_memory", **results})
    return results


if __name__ == "__main__":
    main()
