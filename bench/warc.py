"""WARC archiving and import: what --warc costs a crawl, and how fast archives import.

    python -m bench.warc                    # ~3,000 pages of ~45 KB with ~75 links each
    python -m bench.warc --smoke            # a tiny web: checks it runs

Three measurements, each against a baseline in the same run:

1. writer: request + response records per second for the same pages, written by
   core.warc.writer.WarcWriter at gzip levels 0 (plain), 1, 3, 6, 9, against warcio's own
   WARCWriter (gzip level 9, its only level) and warcio uncompressed. No network.
2. crawl: pages/s of the same crawl (bench.crawl's server process and web) without
   --warc, with --warc at the default level 1 and at level 9 (what warcio's writer
   does); interleaved runs, median.
3. import: records/s and pages/s of `import-warc` (index.archives.importer, jobs 1 and 2, full
   schema into Parquet parts) over the WARCs of the --warc crawl, against a plain loop
   over the same files: warcio ArchiveIterator, payload of each HTML response parsed
   with lxml.html, every <a href> and its text_content() collected. And warcio alone
   (iterate, read payloads) as the floor of reading. Each WARC file is read 4 times
   (listed 4 times), so that process start-up does not dominate `--jobs 2`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

from bench.common import header, median, ratio, table, write_json

LEVELS = (0, 1, 3, 6, 9)
CRAWL_VARIANTS = {"no --warc": None, "--warc (level 1, default)": 1,
                  "--warc level 9 (warcio's level)": 9}


# ---------------------------------------------------------------------------
# 1. the writer alone
# ---------------------------------------------------------------------------


def sample_pages(n: int, smoke: bool) -> list[tuple[str, bytes]]:
    """(url, HTML body) of `n` pages of the benchmark web."""
    from bench.crawl import web_args
    from synthweb import SyntheticWeb

    web = SyntheticWeb(**web_args(n, smoke))
    urls = [u for u, p in web.expected_crawl().pages.items() if p.status == 200][:n]
    return [(url, web.response("GET", url).body) for url in urls]


def _evidence(url: str, body: bytes) -> Any:
    from core.warc.format import Evidence

    return Evidence(
        url=url, method="GET",
        request_headers=[(b"Accept", b"text/html"), (b"User-Agent", b"linkindex-bench/0.1"),
                         (b"Accept-Encoding", b"gzip, deflate, br, zstd")],
        protocol="HTTP/1.1", status=200,
        headers=[(b"Content-Type", b"text/html; charset=utf-8"),
                 (b"Content-Length", str(len(body)).encode())],
        body=body, ip="127.0.0.1",
    )


def write_ours(pages: list[tuple[str, bytes]], level: int, out: Path) -> int:
    from datetime import UTC, datetime

    from core.warc.writer import WarcWriter

    writer = WarcWriter(out, "bench", level=level)
    now = datetime.now(UTC)
    for url, body in pages:
        writer.write("w-000000.parquet", {"fetched_at": now, "depth": 1}, _evidence(url, body))
    final = writer.close()
    assert final is not None
    return final.stat().st_size


def write_warcio(pages: list[tuple[str, bytes]], gzip: bool, out: Path) -> int:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path = out / ("warcio.warc.gz" if gzip else "warcio.warc")
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzip, warc_version="WARC/1.1")
        for url, body in pages:
            ev = _evidence(url, body)
            http = StatusAndHeaders("200 OK", [(k.decode(), v.decode()) for k, v in ev.headers],
                                    protocol="HTTP/1.1")
            resp = writer.create_warc_record(url, "response", payload=BytesIO(body),
                                             http_headers=http)
            req_http = StatusAndHeaders("GET / HTTP/1.1", [(k.decode(), v.decode())
                                                           for k, v in ev.request_headers],
                                        is_http_request=True)
            req = writer.create_warc_record(url, "request", http_headers=req_http)
            writer.write_request_response_pair(req, resp)
    return path.stat().st_size


def bench_writer(pages: list[tuple[str, bytes]], repeat: int) -> list[dict[str, Any]]:
    size_in = sum(len(body) for _, body in pages)
    variants: list[tuple[str, Any]] = [
        ("warcio, gzip (level 9)", lambda out: write_warcio(pages, True, out)),
        ("warcio, uncompressed", lambda out: write_warcio(pages, False, out)),
    ] + [(f"WarcWriter level {lv}" + (" (plain)" if lv == 0 else ""),
          lambda out, lv=lv: write_ours(pages, lv, out)) for lv in LEVELS]
    results = []
    times: dict[str, list[float]] = {name: [] for name, _ in variants}
    sizes: dict[str, int] = {}
    for n in range(repeat + 1):  # interleaved; the first round warms up, untimed
        for name, fn in variants:
            with tempfile.TemporaryDirectory(prefix="bench-warc-") as tmp:
                start = time.perf_counter()
                sizes[name] = fn(Path(tmp))
                if n:
                    times[name].append(time.perf_counter() - start)
    for name, _ in variants:
        seconds = median(times[name])
        results.append({"writer": name, "pages_per_s": len(pages) / seconds,
                        "mb_per_s": size_in / seconds / 1e6,
                        "size_ratio": sizes[name] / size_in})
    return results


# ---------------------------------------------------------------------------
# 2. crawls with and without --warc (each in its own process)
# ---------------------------------------------------------------------------


def crawl_once(level: int | None, proxy: str, seeds: list[str], out: Path) -> dict[str, Any]:
    from bench.crawl import SHARED_SETTINGS
    from crawler.runner import run_crawl

    overrides = {**SHARED_SETTINGS, "LINKINDEX_SEEDS": seeds, "LINKINDEX_DATA": str(out),
                 "LINKINDEX_CRAWL_ID": "bench", "LINKINDEX_PROXY": proxy,
                 "LINKINDEX_ALLOW_PRIVATE": True, "LINKINDEX_PROGRESS": "off",
                 # several parts (and WARCs), so --jobs 2 has files to share out
                 "LINKINDEX_PART_MAX_EDGES": 40_000}
    if level is not None:
        overrides.update(LINKINDEX_WARC=True, LINKINDEX_WARC_GZIP_LEVEL=level)
    summary = run_crawl(overrides)
    warc = out / "warc" / "bench"
    return {"pages": summary.pages, "seconds": round(summary.seconds, 2),
            "pages_per_s": round(summary.pages_per_second, 1),
            "warc_bytes": sum(p.stat().st_size for p in warc.iterdir()) if warc.is_dir() else 0}


def run_crawl_process(level: int | None, proxy: str, seeds: list[str], out: Path
                      ) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.warc", "--run-crawl", json.dumps(level),
           "--proxy", proxy, "--seeds", json.dumps(seeds), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"crawl (level {level}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
# 3. import against warcio + lxml
# ---------------------------------------------------------------------------


def warcio_lxml(files: list[Path], parse: bool = True) -> tuple[int, int, int]:
    """(records, HTML pages, links): the plain loop an importer would start from."""
    import lxml.html
    from warcio.archiveiterator import ArchiveIterator

    records = pages = links = 0
    for path in files:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                records += 1
                if record.rec_type != "response":
                    continue
                payload = record.content_stream().read()
                content_type = record.http_headers.get_header("Content-Type") or ""
                if not parse or "html" not in content_type or not payload:
                    continue
                pages += 1
                doc = lxml.html.document_fromstring(payload)
                links += len([(a.get("href"), a.text_content())
                              for a in doc.iter("a") if a.get("href")])
    return records, pages, links


def bench_import(files: list[Path], repeat: int) -> list[dict[str, Any]]:
    import lxml.html  # noqa: F401  (imported before timing)

    from index.archives.importer import import_archives

    def ours(jobs: int) -> tuple[int, int, int]:
        with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
            s = import_archives(Path(tmp), "imp", files, jobs=jobs, progress=False)
            return s.counts.records, s.counts.pages, s.counts.edges

    variants = {
        "warcio, read payloads only": lambda: warcio_lxml(files, parse=False),
        "warcio + lxml <a href> loop": lambda: warcio_lxml(files),
        "import-warc --jobs 1": lambda: ours(1),
        "import-warc --jobs 2": lambda: ours(2),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    counts: dict[str, tuple[int, int, int]] = {}
    for _ in range(repeat):
        for name, fn in variants.items():
            start = time.perf_counter()
            counts[name] = fn()
            times[name].append(time.perf_counter() - start)
    results = []
    for name in variants:
        seconds = median(times[name])
        records, pages, links = counts[name]
        results.append({"reader": name, "records_per_s": records / seconds,
                        "pages_per_s": pages / seconds if pages else float("nan"),
                        "records": records, "pages": pages, "links": links,
                        "seconds": seconds})
    return results


# ---------------------------------------------------------------------------


def run(pages: int, repeat: int, smoke: bool) -> dict[str, Any]:
    from bench.crawl import Server, web_args
    from synthweb import SyntheticWeb

    sample = sample_pages(40 if smoke else 500, smoke)
    writer = bench_writer(sample, repeat)
    args = web_args(pages, smoke)
    seeds = SyntheticWeb(**args).seeds()
    variants = {"no --warc": None, "--warc": 1} if smoke else CRAWL_VARIANTS
    crawls: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory(prefix="bench-warc-") as tmp:
        server = Server(args, Path(tmp) / "urls.txt")
        try:
            for n in range(repeat):
                for name, level in variants.items():
                    out = Path(tmp) / f"crawl-{n}-{level}"
                    crawls[name].append(run_crawl_process(level, server.proxy_url, seeds, out))
        finally:
            server.stop()
        archives = sorted((Path(tmp) / f"crawl-{repeat - 1}-1" / "warc" / "bench").iterdir())
        # Each file read 4 times: enough work that process start-up (--jobs) does not rule.
        imports = bench_import(archives * (1 if smoke else 4), repeat)
    rate = {name: median([r["pages_per_s"] for r in runs]) for name, runs in crawls.items()}
    return {"web": args, "sample_pages": len(sample),
            "sample_bytes": sum(len(b) for _, b in sample), "writer": writer,
            "crawls": crawls, "crawl_pages_per_s": rate, "imports": imports,
            "repeat": repeat}


def report(results: dict[str, Any]) -> str:
    base_writer = results["writer"][0]["pages_per_s"]
    writer_rows = [[r["writer"], r["pages_per_s"], r["mb_per_s"], r["size_ratio"],
                    ratio(r["pages_per_s"], base_writer)] for r in results["writer"]]
    rate = results["crawl_pages_per_s"]
    base = rate["no --warc"]
    crawl_rows = []
    for name, runs in results["crawls"].items():
        last = runs[-1]
        crawl_rows.append([name, rate[name], last["pages"], last["seconds"],
                           last["warc_bytes"] / 1e6, ratio(rate[name], base)])
    imports = results["imports"]
    loop = next(r for r in imports if r["reader"].startswith("warcio + lxml"))
    import_rows = [[r["reader"], r["records_per_s"], r["pages_per_s"], r["records"], r["pages"],
                    r["links"], ratio(r["records_per_s"], loop["records_per_s"])]
                   for r in imports]
    web = results["web"]
    avg = results["sample_bytes"] / max(results["sample_pages"], 1) / 1000
    return "\n".join([
        header("warc"),
        f"synthetic web: {web['n_sites']} sites x {web['pages_per_site']} pages, "
        f"{web['links_per_page']} links and {web['filler_bytes']:,} filler bytes per page; "
        f"median of {results['repeat']} runs\n",
        table(["writer", "pages/s", "MB/s", "size ÷ HTML", "÷ warcio gzip"], writer_rows,
              f"1. writing request + response records, {results['sample_pages']} pages "
              f"of {avg:.0f} KB"),
        "",
        table(["crawl", "pages/s", "pages", "seconds", "WARC MB", "÷ no --warc"], crawl_rows,
              "2. crawl pages/s with and without --warc"),
        "",
        table(["reader", "records/s", "pages/s", "records", "pages", "links",
               "÷ warcio + lxml"], import_rows,
              "3. import of the --warc crawl's WARCs"),
    ])


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    parser = argparse.ArgumentParser(prog="python -m bench.warc", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=3_000, help="about this many pages")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each variant")
    parser.add_argument("--smoke", action="store_true", help="a tiny web, one run each")
    parser.add_argument("--json", type=Path, help="also write the results here")
    # internal: one crawl in this process
    parser.add_argument("--run-crawl", help=argparse.SUPPRESS)
    parser.add_argument("--proxy", help=argparse.SUPPRESS)
    parser.add_argument("--seeds", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_crawl is not None:
        result = crawl_once(json.loads(args.run_crawl), args.proxy, json.loads(args.seeds),
                            args.out)
        print(json.dumps(result), flush=True)
        return None
    if args.smoke:
        args.repeat = 1
    results = run(args.pages, args.repeat, args.smoke)
    print(report(results), flush=True)
    write_json(args.json, {"bench": "warc", **results})
    return results


if __name__ == "__main__":
    main()
