"""The shared frontier's costs in Redis, against scrapy-redis's defaults.

    python -m bench.frontier                # 1M URLs; round trips from a 20 s crawl
    python -m bench.frontier --smoke        # 5k URLs, 3 s crawl: checks it runs

- bytes per seen URL: N distinct URLs put through the seen filter, then MEMORY USAGE of
  its keys ÷ N. linkindex exact (8-byte fingerprints in intsets), linkindex Bloom (0.1%),
  and scrapy-redis's RFPDupeFilter (40-hex SHA1 fingerprints in one SET). Target ≤ 16 B
  for exact.
- bytes per queued request: linkindex's JSON in per-domain LISTs against scrapy-redis's
  default PriorityQueue (pickled request dicts in a ZSET).
- Redis round trips per crawled page: from bench.cluster's crawl (linkindex ×1 and the
  textbook scrapy-redis worker), counted at the socket. Target ≤ 3.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from bench.common import header, ratio, table, target_line, write_json


def urls(n: int, domains: int = 2000) -> list[str]:
    """Real-looking, distinct URLs spread over many domains."""
    words = ("blog", "news", "product", "category", "article", "help", "about", "tag")
    return [f"https://www.site{i % domains}.example/{words[i % 8]}/{i // domains}-"
            f"page-{i * 2654435761 % 99991}.html" for i in range(n)]


def _memory(server: Any, pattern: str) -> int:
    return sum(server.memory_usage(key, samples=0) or 0
               for key in server.scan_iter(match=pattern, count=10_000))


def linkindex_seen(server: Any, all_urls: list[str], mode: str) -> dict[str, Any]:
    from core.domains import registrable_domain
    from core.urls import url_host
    from crawler.frontier import jobs
    from crawler.frontier.store import FrontierStore, Link
    from crawler.spec import CrawlSpec

    name = f"seen-{mode}"
    jobs.submit(server, name, CrawlSpec(all_urls[:1], robots=False, seen_mode=mode,
                                        expected_urls=len(all_urls)))
    frontier = FrontierStore(server, name)
    for start in range(1, len(all_urls), 1000):
        batch = [Link(u, registrable_domain(url_host(u))) for u in all_urls[start:start + 1000]]
        frontier.add(batch, 1)
    keys = frontier.keys
    seen = _memory(server, keys.prefix + ("seen:*" if mode == "exact" else "bloom"))
    queues = _memory(server, keys.prefix + "q:*")
    queued = frontier.counts()["queued"]
    return {"filter": f"linkindex {mode}", "urls": len(all_urls),
            "bytes_per_url": round(seen / len(all_urls), 2),
            "bytes_per_queued_request": round(queues / max(1, queued), 1)}


def scrapy_redis_seen(server: Any, all_urls: list[str]) -> dict[str, Any]:
    import scrapy
    from scrapy.utils.request import RequestFingerprinter
    from scrapy_redis.queue import PriorityQueue

    fingerprinter = RequestFingerprinter()
    spider = scrapy.Spider(name="textbook")
    queue = PriorityQueue(server, spider, "textbook:requests")  # pickle, its default
    pipe = server.pipeline(transaction=False)
    for i, url in enumerate(all_urls):
        request = scrapy.Request(url)
        pipe.sadd("textbook:dupefilter", fingerprinter.fingerprint(request).hex())
        if i < 100_000:  # the queue's cost per request is flat: sample it
            queue.push(request)
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()
    seen = server.memory_usage("textbook:dupefilter", samples=0)
    queued = min(len(all_urls), 100_000)
    return {"filter": "scrapy-redis RFPDupeFilter", "urls": len(all_urls),
            "bytes_per_url": round(seen / len(all_urls), 2),
            "bytes_per_queued_request": round(
                server.memory_usage("textbook:requests", samples=0) / queued, 1)}


def run(n: int, seconds: float, smoke: bool) -> dict[str, Any]:
    from bench.cluster import run as run_cluster
    from linkindex.localredis import RedisServer

    all_urls = urls(n)
    with tempfile.TemporaryDirectory(prefix="bench-frontier-") as tmp:
        with RedisServer(Path(tmp) / "redis", durable=False) as redis_server:
            server = redis_server.client()
            memory = [linkindex_seen(server, all_urls, "exact"),
                      linkindex_seen(server, all_urls, "bloom")]
            raw = redis_server.client().__class__.from_url(redis_server.url)  # bytes for pickle
            memory.append(scrapy_redis_seen(raw, all_urls))
    crawl = run_cluster(2000, seconds, smoke, engines=("linkindex-1", "scrapy-redis-1"))
    trips = {e: r["round_trips_per_page"] for e, r in crawl["runs"].items()}
    return {"urls": n, "memory": memory, "round_trips_per_page": trips,
            "exact_vs_scrapy_redis": round(ratio(memory[2]["bytes_per_url"],
                                                 memory[0]["bytes_per_url"]), 1)}


def report(results: dict[str, Any]) -> str:
    rows = [[m["filter"], m["urls"], m["bytes_per_url"], m["bytes_per_queued_request"]]
            for m in results["memory"]]
    trips = results["round_trips_per_page"]
    return "\n".join([
        header("frontier"),
        table(["seen filter / queue", "URLs", "bytes per seen URL", "bytes per queued request"],
              rows),
        "",
        table(["worker", "Redis round trips per crawled page"],
              [[engine, value] for engine, value in trips.items()]),
        "",
        target_line("linkindex exact: bytes per seen URL", results["memory"][0]["bytes_per_url"],
                    16, higher_is_better=False),
        target_line("linkindex: round trips per crawled page", trips["linkindex-1"], 3,
                    higher_is_better=False),
    ])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.frontier", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--urls", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="crawl window")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.smoke:
        args.urls, args.seconds = min(args.urls, 5_000), min(args.seconds, 3.0)
    results = run(args.urls, args.seconds, args.smoke)
    print(report(results), flush=True)
    write_json(args.json, {"bench": "frontier", **results})
    return results


if __name__ == "__main__":
    main()
