"""PageExtraction speed: linkindex's extractor against Scrapy's LinkExtractor and a bare
lexbor href scan, on the same synthetic pages, in the same run.

    python -m bench.extract                 # 1,000 pages of ~45 KB with ~75 links
    python -m bench.extract --smoke         # a few pages: checks it runs

- linkindex: `core.extractor.extract_html`, every column of schema v1 (absolute
  dst_url, host, registrable domain, anchor, kind, alt, rel flags, position, ordinal,
  external) plus the page facts. Its caches are cleared before each repetition: the
  ratios are for this cold start. linkindex-warm runs right after with the caches the
  cold run filled (every link target seen once), as in a long crawl.
- scrapy: `LinkExtractor().extract_links(HtmlResponse(...))`, the textbook way
  (absolute URL and text of each link), the response built inside the timing.
- lexbor: `LexborHTMLParser(text)` and the href of each `a[href]`: the floor any
  lexbor-based extractor pays. Targets: >= 10x scrapy, >= 0.5x lexbor.

Engines run interleaved, each repetition over all pages; the median is reported.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from bench.common import header, median, ratio, table, target_line, time_calls, write_json
from core.extractor import clear_caches, extract_html
from core.schema import EDGE_LINK_COLUMNS
from synthweb import SyntheticWeb

LINKS_PER_PAGE = 75
FILLER_BYTES = 40_000


def sample_pages(n_pages: int, seed: int = 1) -> list[tuple[str, str]]:
    """(url, html) of `n_pages` regular pages spread over a synthetic web of 100 sites."""
    sites = 100 if n_pages >= 100 else 5
    per_site = max(8, -(-n_pages // sites))
    web = SyntheticWeb(n_sites=sites, pages_per_site=per_site, seed=seed,
                       links_per_page=LINKS_PER_PAGE, filler_bytes=FILLER_BYTES)
    urls = [f"http://site{k}.example/p/{p}" for p in range(per_site) for k in range(sites)]
    return [(url, web.page(url).response.body.decode("utf-8")) for url in urls[:n_pages]]


def run_linkindex(pages: list[tuple[str, str]]) -> int:
    clear_caches()  # a cold start each time: no repetition profits from the one before
    links = 0
    for url, html in pages:
        result = extract_html(url, html)
        links += result.n_links
    return links


def run_linkindex_warm(pages: list[tuple[str, str]]) -> int:
    """The same with the caches the cold run just filled: a long crawl's steady state."""
    return sum(extract_html(url, html).n_links for url, html in pages)


def run_scrapy(pages: list[tuple[str, str]]) -> int:
    from scrapy.http import HtmlResponse
    from scrapy.linkextractors import LinkExtractor

    extractor = LinkExtractor()
    links = 0
    for url, html in pages:
        response = HtmlResponse(url=url, body=html, encoding="utf-8")
        links += len(extractor.extract_links(response))
    return links


def run_lexbor(pages: list[tuple[str, str]]) -> int:
    links = 0
    for _, html in pages:
        tree = LexborHTMLParser(html)
        links += len([node.attrs.get("href") for node in tree.css("a[href]")])
    return links


ENGINES = {"linkindex": run_linkindex, "linkindex-warm": run_linkindex_warm,
           "scrapy": run_scrapy, "lexbor": run_lexbor}


def check_full_schema(pages: list[tuple[str, str]]) -> None:
    """The extractor's output has every link column, all of the same length."""
    for url, html in pages[:5]:
        columns = extract_html(url, html).links
        assert set(columns) == set(EDGE_LINK_COLUMNS), sorted(columns)
        assert len({len(values) for values in columns.values()}) == 1


def run(n_pages: int, repeat: int) -> dict[str, Any]:
    pages = sample_pages(n_pages)
    check_full_schema(pages)
    megabytes = sum(len(html.encode("utf-8")) for _, html in pages) / 1e6
    counts = {name: engine(pages) for name, engine in ENGINES.items()}  # warm-up + counts
    times: dict[str, list[float]] = {name: [] for name in ENGINES}
    for _ in range(repeat):  # interleaved, so a burst of load hits every engine alike
        for name, engine in ENGINES.items():
            times[name] += time_calls(lambda engine=engine: engine(pages), 1)
    mb_s = {name: megabytes / median(ts) for name, ts in times.items()}
    return {
        "pages": len(pages),
        "megabytes": round(megabytes, 3),
        "avg_page_kb": round(megabytes * 1000 / len(pages), 1),
        "links_per_page": {name: round(n / len(pages), 1) for name, n in counts.items()},
        "mb_per_s": {name: round(v, 2) for name, v in mb_s.items()},
        "pages_per_s": {name: round(len(pages) / median(ts), 1) for name, ts in times.items()},
        "ratio_vs_scrapy": round(ratio(mb_s["linkindex"], mb_s["scrapy"]), 2),
        "ratio_vs_lexbor": round(ratio(mb_s["linkindex"], mb_s["lexbor"]), 3),
        "warm_ratio_vs_lexbor": round(ratio(mb_s["linkindex-warm"], mb_s["lexbor"]), 3),
        "repeat": repeat,
    }


def report(results: dict[str, Any]) -> str:
    rows = [
        [name, results["mb_per_s"][name], results["pages_per_s"][name],
         results["links_per_page"][name], ratio(results["mb_per_s"]["linkindex"],
                                                results["mb_per_s"][name])]
        for name in ENGINES
    ]
    return "\n".join([
        header("extract"),
        f"{results['pages']} pages, {results['avg_page_kb']} KB each on average, "
        f"median of {results['repeat']} interleaved repetitions\n",
        table(["engine", "MB/s", "pages/s", "links/page", "linkindex ÷ engine"], rows),
        "",
        target_line("linkindex ÷ scrapy LinkExtractor", results["ratio_vs_scrapy"], 10),
        target_line("linkindex ÷ bare lexbor", results["ratio_vs_lexbor"], 0.5),
        f"(warm caches: linkindex ÷ bare lexbor {results['warm_ratio_vs_lexbor']})",
    ])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.extract", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny size: 10 pages, 1 repetition")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.pages, args.repeat = 10, 1
    results = run(args.pages, args.repeat)
    print(report(results), flush=True)
    write_json(args.json, {"bench": "extract", **results})
    return results


if __name__ == "__main__":
    main()
