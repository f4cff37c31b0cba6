"""Cluster mode: linkindex workers against the textbook scrapy-redis worker, same Redis.

    python -m bench.cluster                 # 10k-page web, 30 s per run
    python -m bench.cluster --smoke         # tiny web, 3 s per run: checks it runs

The synthetic web (~40 KB pages, ~75 links each) is served by its own process; a private
Redis (no persistence) by another; each worker is a process of its own. Every run starts
from an empty Redis, crawls for a fixed window (CLOSESPIDER_TIMEOUT) or to the end, and
reports responses / (spider close - spider open) from Scrapy's own stats.

- linkindex ×1, ×2: `linkindex worker` code (crawler.frontier.worker.run_worker) on a job
  submitted with no delay and robots.txt off.
- scrapy-redis ×1: the textbook worker — RedisCrawlSpider, Rule(LinkExtractor(),
  follow=True), every link yielded as a request through scrapy-redis's scheduler and
  dupefilter (defaults: pickled requests, SHA1 fingerprints), one item per link into a
  JSON-lines feed; SCHEDULER_PERSIST on so nothing is flushed mid-run.
Targets: linkindex ×1 ≥ 10× scrapy-redis ×1; linkindex ×2 ≥ 1.6× linkindex ×1.
Redis round trips per crawled page are counted in each worker process, at the socket:
every command or pipeline sent by redis-py is one round trip (a script's inner commands
run inside Redis and are not round trips).
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import header, ratio, table, target_line, write_json
from bench.crawl import REPO, SHARED_SETTINGS, Server, web_args

ENGINES = ("linkindex-1", "linkindex-2", "scrapy-redis-1")
ROUND_TRIPS = [0]


def count_round_trips() -> None:
    """Count what this process sends to Redis: one packed send = one round trip."""
    from redis.connection import AbstractConnection

    send = AbstractConnection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> None:
        ROUND_TRIPS[0] += 1
        send(self, command, check_health)

    AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]


class StatsDump:
    """Extension: print the crawl's numbers as one JSON line when the spider closes."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> StatsDump:
        from scrapy import signals

        ext = cls(crawler)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def closed(self, spider: Any, reason: str) -> None:
        from datetime import UTC, datetime

        stats = self.crawler.stats.get_stats()
        seconds = (datetime.now(UTC) - stats["start_time"]).total_seconds()
        print(json.dumps({"responses": stats.get("downloader/response_count", 0),
                          "seconds": round(seconds, 3), "reason": reason,
                          "round_trips": ROUND_TRIPS[0]}), flush=True)


def _settings(seconds: float) -> dict[str, Any]:
    return {**SHARED_SETTINGS, "CLOSESPIDER_TIMEOUT": seconds,
            "EXTENSIONS": {"bench.cluster.StatsDump": 900}}


def run_linkindex_worker(redis_url: str, job: str, proxy: str, out: Path, seconds: float) -> None:
    from crawler.frontier.worker import run_worker

    run_worker(redis_url, out, job, overrides={
        **_settings(seconds), "LINKINDEX_PROXY": proxy, "LINKINDEX_ALLOW_PRIVATE": True,
        "LINKINDEX_PROGRESS": "off"})


def run_scrapy_redis_worker(redis_url: str, proxy: str, seeds: list[str], out: Path,
                            seconds: float) -> None:
    from scrapy.crawler import CrawlerProcess
    from scrapy.linkextractors import LinkExtractor
    from scrapy.spiders import Rule
    from scrapy_redis.spiders import RedisCrawlSpider

    from core.domains import registrable_domain
    from core.urls import url_host

    class TextbookRedisSpider(RedisCrawlSpider):
        name = "textbook"
        redis_key = "textbook:start_urls"
        allowed_domains = sorted({registrable_domain(url_host(u)) for u in seeds})
        link_extractor = LinkExtractor()
        rules = (Rule(LinkExtractor(), callback="parse_item", follow=True),)

        def parse_item(self, response: Any) -> Any:
            for link in self.link_extractor.extract_links(response):
                yield {"src": response.url, "url": link.url, "text": link.text,
                       "nofollow": link.nofollow}

    process = CrawlerProcess({
        **_settings(seconds),
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "REDIS_URL": redis_url,
        "LINKINDEX_PROXY": proxy,
        "DOWNLOADER_MIDDLEWARES": {"crawler.middlewares.ProxyMiddleware": 740},
        "FEEDS": {str(out / "links.jsonl"): {"format": "jsonlines"}},
    })
    process.crawl(TextbookRedisSpider)
    process.start()


def _cpu(pids: list[int]) -> float:
    import psutil

    return sum(sum(psutil.Process(pid).cpu_times()[:2]) for pid in pids)


def run_engine(engine: str, redis_url: str, proxy: str, seeds: list[str],
               seconds: float, helper_pids: list[int]) -> dict[str, Any]:
    """One run; also the CPU it took (workers, web server, Redis) per second of window."""
    import resource

    import redis

    from crawler.frontier import jobs
    from crawler.spec import CrawlSpec

    server = redis.Redis.from_url(redis_url, decode_responses=True)
    server.flushall()
    workers = 2 if engine == "linkindex-2" else 1
    if engine.startswith("linkindex"):
        jobs.submit(server, "bench", CrawlSpec(seeds, delay=0, robots=False))
    else:
        server.lpush("textbook:start_urls", *seeds)
    helpers_before = _cpu(helper_pids)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_before = children.ru_utime + children.ru_stime
    with tempfile.TemporaryDirectory(prefix=f"bench-cluster-{engine}-") as out:
        procs = [subprocess.Popen(
            [sys.executable, "-m", "bench.cluster", "--run", engine, "--redis", redis_url,
             "--proxy", proxy, "--seeds", json.dumps(seeds), "--out", f"{out}/{i}",
             "--seconds", str(seconds)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(workers)]
        results = []
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=seconds * 10 + 300)
            lines = [line for line in stdout.splitlines() if line.startswith("{")]
            if proc.returncode != 0 or not lines:
                raise RuntimeError(f"{engine} worker failed:\n{stderr[-3000:]}")
            results.append(json.loads(lines[-1]))
    responses = sum(r["responses"] for r in results)
    window = max(r["seconds"] for r in results)
    trips = sum(r["round_trips"] for r in results)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_cpu = children.ru_utime + children.ru_stime - workers_before
    helpers_cpu = _cpu(helper_pids) - helpers_before
    return {"engine": engine, "workers": workers, "responses": responses,
            "seconds": window, "pages_per_s": round(responses / window, 1),
            "round_trips": trips, "round_trips_per_page": round(trips / max(1, responses), 2),
            # cores busy during the window: a 2-core machine saturates at 2.0
            "worker_cores": round(workers_cpu / window, 2),
            "server_and_redis_cores": round(helpers_cpu / window, 2)}


def run(pages: int, seconds: float, smoke: bool,
        engines: tuple[str, ...] = ENGINES) -> dict[str, Any]:
    from linkindex.localredis import RedisServer
    from synthweb import SyntheticWeb

    args = web_args(pages, smoke)
    seeds = SyntheticWeb(**args).seeds()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        server = Server(args, Path(tmp) / "urls.txt")
        try:
            with RedisServer(Path(tmp) / "redis", durable=False) as redis_server:
                helpers = [server.proc.pid, redis_server.process.pid]
                runs = {engine: run_engine(engine, redis_server.url, server.proxy_url, seeds,
                                           seconds, helpers) for engine in engines}
        finally:
            server.stop()
    rate = {engine: r["pages_per_s"] for engine, r in runs.items()}
    return {
        "web": args, "seconds": seconds, "runs": runs,
        "ratio_vs_scrapy_redis": round(ratio(rate["linkindex-1"], rate["scrapy-redis-1"]), 2),
        "ratio_two_vs_one": round(ratio(rate.get("linkindex-2", 0), rate["linkindex-1"]), 2),
    }


def report(results: dict[str, Any]) -> str:
    rows = [[r["engine"], r["workers"], r["pages_per_s"], r["responses"], r["seconds"],
             r["round_trips_per_page"], r["worker_cores"], r["server_and_redis_cores"]]
            for r in results["runs"].values()]
    web = results["web"]
    return "\n".join([
        header("cluster"),
        f"synthetic web: {web['n_sites']} sites x {web['pages_per_site']} pages, "
        f"{web['links_per_page']} links and {web['filler_bytes']:,} filler bytes per page; "
        f"window {results['seconds']} s per run\n",
        table(["engine", "workers", "pages/s", "responses", "seconds", "round trips/page",
               "worker cores", "server+Redis cores"], rows),
        "",
        target_line("linkindex ×1 ÷ scrapy-redis ×1", results["ratio_vs_scrapy_redis"], 10),
        target_line("linkindex ×2 ÷ linkindex ×1", results["ratio_two_vs_one"], 1.6),
    ])


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10_000, help="about this many pages")
    parser.add_argument("--seconds", type=float, default=30.0, help="window per run")
    parser.add_argument("--smoke", action="store_true", help="a tiny web, short runs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--run", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--redis", help=argparse.SUPPRESS)
    parser.add_argument("--proxy", help=argparse.SUPPRESS)
    parser.add_argument("--seeds", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        # the module StatsDump is loaded from (`bench.cluster`), not this `__main__`
        importlib.import_module("bench.cluster").count_round_trips()
        if args.run.startswith("linkindex"):
            run_linkindex_worker(args.redis, "bench", args.proxy, args.out, args.seconds)
        else:
            run_scrapy_redis_worker(args.redis, args.proxy, json.loads(args.seeds), args.out,
                                    args.seconds)
        return None
    if args.smoke:
        args.seconds = min(args.seconds, 3.0)
    results = run(args.pages, args.seconds, args.smoke)
    print(report(results), flush=True)
    write_json(args.json, {"bench": "cluster", **results})
    return results


if __name__ == "__main__":
    main()
