"""Crawl speed: linkindex's local-mode crawl against two Scrapy spiders, same server.

    python -m bench.crawl                   # ~10k pages of ~45 KB with ~75 links each
    python -m bench.crawl --smoke           # ~60 small pages: checks it runs

The synthetic web is served by a separate process (so the server does not share the
crawler's GIL), every page rendered before the first crawl starts. Each crawl runs in
its own process with the same settings: 64 concurrent requests, 16 per host, no delay,
robots.txt off, the proxy set per request (crawler.middlewares.ProxyMiddleware), WARNING
logs. pages/s = responses / (spider close - spider open), from Scrapy's own stats.

- linkindex: the `links` spider through crawler.runner (what `linkindex crawl` runs):
  every link with the full schema into raw Parquet parts.
- scrapy-crawlspider: a textbook CrawlSpider, `Rule(LinkExtractor(), callback, follow=True)`;
  the callback yields one item per link (url, text, nofollow) into a JSON-lines feed.
  Scrapy defaults otherwise. Target: linkindex >= 5x.
- scrapy-noparse: fetches the URLs the linkindex crawl fetches, parses nothing:
  Scrapy's own ceiling on this machine. Target: linkindex >= 0.75x.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from bench.common import cpu_seconds, header, median, ratio, table, target_line, write_json

LINKS_PER_PAGE = 75
FILLER_BYTES = 40_000
REPO = Path(__file__).resolve().parents[1]  # the crawl processes run `-m bench.crawl` from here
ENGINES = ("linkindex", "scrapy-crawlspider", "scrapy-noparse")
SHARED_SETTINGS: dict[str, Any] = {
    "ROBOTSTXT_OBEY": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS": 64,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "LOG_LEVEL": "WARNING",
    "TELNETCONSOLE_ENABLED": False,
}


def web_args(pages: int, smoke: bool) -> dict[str, Any]:
    if smoke:
        return {"n_sites": 5, "pages_per_site": 8, "seed": 0, "links_per_page": 12,
                "filler_bytes": 2_000}
    sites = 100
    return {"n_sites": sites, "pages_per_site": max(8, pages // sites), "seed": 0,
            "links_per_page": LINKS_PER_PAGE, "filler_bytes": FILLER_BYTES}


# ---------------------------------------------------------------------------
# The server process
# ---------------------------------------------------------------------------


def serve(args: dict[str, Any], urls_file: Path) -> None:
    """Render every page a crawl will fetch, write their URLs, then serve forever."""
    from synthweb import SyntheticWeb
    from synthweb.server import serve_forever

    web = SyntheticWeb(**args, cache_size=1 << 20)
    crawl = web.expected_crawl()  # renders (and caches) every reachable page
    urls_file.write_text("\n".join(crawl.fetched) + "\n")
    serve_forever(web)  # prints the proxy URL once listening


class Server:
    def __init__(self, args: dict[str, Any], urls_file: Path) -> None:
        cmd = [sys.executable, "-m", "bench.crawl", "--serve", json.dumps(args),
               "--urls-file", str(urls_file)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert self.proc.stdout is not None
        self.proxy_url = self.proc.stdout.readline().strip()
        if not self.proxy_url.startswith("http://"):
            self.stop()
            raise RuntimeError("the synthetic web server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


# ---------------------------------------------------------------------------
# The crawls (each in its own process: a Twisted reactor runs once per process)
# ---------------------------------------------------------------------------


def _baseline_settings(proxy: str) -> dict[str, Any]:
    return {
        **SHARED_SETTINGS,
        "LINKINDEX_PROXY": proxy,
        "DOWNLOADER_MIDDLEWARES": {"crawler.middlewares.ProxyMiddleware": 740},
    }


def _crawlspider(seeds: list[str]) -> type:
    from scrapy.linkextractors import LinkExtractor
    from scrapy.spiders import CrawlSpider, Rule

    from core.domains import registrable_domain
    from core.urls import url_host

    class TextbookSpider(CrawlSpider):
        name = "textbook"
        allowed_domains = sorted({registrable_domain(url_host(url)) for url in seeds})
        start_urls = seeds
        link_extractor = LinkExtractor()
        rules = (Rule(LinkExtractor(), callback="parse_item", follow=True),)

        def parse_item(self, response: Any) -> Iterator[dict[str, Any]]:
            for link in self.link_extractor.extract_links(response):
                yield {"src": response.url, "url": link.url, "text": link.text,
                       "nofollow": link.nofollow}

    return TextbookSpider


def _noparse(urls: list[str]) -> type:
    import scrapy

    class NoParseSpider(scrapy.Spider):
        name = "noparse"

        async def start(self) -> AsyncIterator[scrapy.Request]:
            for url in urls:
                yield scrapy.Request(url, callback=self.parse)

        def parse(self, response: Any) -> None:
            return None

    return NoParseSpider


def crawl_once(engine: str, proxy: str, seeds: list[str], urls: list[str],
               out: Path) -> dict[str, Any]:
    """Run one crawl in this process; its stats."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    if engine == "linkindex":
        from crawler.runner import crawl_settings
        from crawler.spiders.links import LinksSpider

        settings = crawl_settings({
            **SHARED_SETTINGS, "LINKINDEX_SEEDS": seeds, "LINKINDEX_DATA": str(out),
            "LINKINDEX_CRAWL_ID": "bench", "LINKINDEX_PROXY": proxy,
            "LINKINDEX_ALLOW_PRIVATE": True, "LINKINDEX_PROGRESS": "off",
        })
        spider: type = LinksSpider
    else:
        settings = Settings(_baseline_settings(proxy))
        if engine == "scrapy-crawlspider":
            settings.set("FEEDS", {str(out / "links.jsonl"): {"format": "jsonlines"}})
            spider = _crawlspider(seeds)
        else:
            spider = _noparse(urls)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider)
    process.crawl(crawler)
    cpu = cpu_seconds()
    process.start()
    cpu = cpu_seconds() - cpu
    stats = crawler.stats.get_stats()
    seconds = (stats["finish_time"] - stats["start_time"]).total_seconds()
    responses = stats.get("downloader/response_count", 0)
    return {
        "engine": engine,
        "responses": responses,
        "seconds": round(seconds, 2),
        "pages_per_s": round(responses / seconds, 1) if seconds else 0.0,
        # CPU time of the crawl process per response: what load from other jobs moves least.
        "cpu_ms_per_page": round(1000 * cpu / responses, 3) if responses else 0.0,
        "items": stats.get("item_scraped_count", 0),
        "edges": stats.get("linkindex/edges", 0),
    }


def run_engine(engine: str, proxy: str, urls_file: Path, seeds: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-crawl-{engine}-") as out:
        cmd = [sys.executable, "-m", "bench.crawl", "--run", engine, "--proxy", proxy,
               "--urls-file", str(urls_file), "--out", out, "--seeds", json.dumps(seeds)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, cwd=REPO)
        if proc.returncode != 0:
            raise RuntimeError(f"{engine} crawl failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])


def run(pages: int, repeat: int, smoke: bool,
        engines: tuple[str, ...] = ENGINES) -> dict[str, Any]:
    from synthweb import SyntheticWeb

    args = web_args(pages, smoke)
    seeds = SyntheticWeb(**args).seeds()
    runs: dict[str, list[dict[str, Any]]] = {engine: [] for engine in engines}
    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp:
        urls_file = Path(tmp) / "urls.txt"
        server = Server(args, urls_file)
        try:
            urls = urls_file.read_text().split()
            for _ in range(repeat):  # interleaved: load bursts hit every engine alike
                for engine in engines:
                    runs[engine].append(run_engine(engine, server.proxy_url, urls_file, seeds))
        finally:
            server.stop()
    rate = {engine: median([r["pages_per_s"] for r in rs]) for engine, rs in runs.items()}
    for engine in ENGINES:  # an engine left out reads as "not measured"
        rate.setdefault(engine, float("nan"))
    return {
        "web": args,
        "expected_pages": len(urls),
        "runs": runs,
        "pages_per_s": rate,
        "ratio_vs_crawlspider": round(ratio(rate["linkindex"], rate["scrapy-crawlspider"]), 2),
        "ratio_vs_noparse": round(ratio(rate["linkindex"], rate["scrapy-noparse"]), 3),
        "repeat": repeat,
    }


def report(results: dict[str, Any]) -> str:
    rows = []
    for engine in results["runs"]:
        last = results["runs"][engine][-1]
        links = last["edges"] if engine == "linkindex" else last["items"]
        cpu = median([r.get("cpu_ms_per_page", 0.0) for r in results["runs"][engine]])
        rows.append([engine, results["pages_per_s"][engine], cpu, last["responses"],
                     last["seconds"], links,
                     ratio(results["pages_per_s"]["linkindex"], results["pages_per_s"][engine])])
    web = results["web"]
    return "\n".join([
        header("crawl"),
        f"synthetic web: {web['n_sites']} sites x {web['pages_per_site']} pages, "
        f"{web['links_per_page']} links and {web['filler_bytes']:,} filler bytes per page; "
        f"{results['expected_pages']:,} pages reachable; median of {results['repeat']} runs\n",
        table(["engine", "pages/s", "CPU ms/page", "responses", "seconds", "links stored",
               "linkindex ÷ engine"], rows),
        "",
        target_line("linkindex ÷ textbook CrawlSpider", results["ratio_vs_crawlspider"], 5),
        target_line("linkindex ÷ no-parse ceiling", results["ratio_vs_noparse"], 0.75),
    ])


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    parser = argparse.ArgumentParser(prog="python -m bench.crawl", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10_000, help="about this many pages")
    parser.add_argument("--repeat", type=int, default=1, help="crawls per engine")
    parser.add_argument("--smoke", action="store_true", help="a tiny web, one crawl each")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help="comma-separated subset of: " + ", ".join(ENGINES))
    parser.add_argument("--json", type=Path, help="also write the results here")
    # internal: the server process and the crawl processes
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--run", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--proxy", help=argparse.SUPPRESS)
    parser.add_argument("--urls-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--seeds", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(json.loads(args.serve), args.urls_file)
        return None
    if args.run:
        urls = args.urls_file.read_text().split()
        result = crawl_once(args.run, args.proxy, json.loads(args.seeds), urls, args.out)
        print(json.dumps(result), flush=True)
        return None
    if args.smoke:
        args.repeat = 1
    engines = tuple(e for e in ENGINES if e in args.engines.split(","))
    results = run(args.pages, args.repeat, args.smoke, engines)
    print(report(results), flush=True)
    write_json(args.json, {"bench": "crawl", **results})
    return results


if __name__ == "__main__":
    main()
