"""WAT import speed: pages per second per core, against warcio + json reading the same
files in the same run.

    python -m bench.wat                        # 4 files x 10,000 pages (250 MB), ~6 min
    python -m bench.wat --smoke                # 2 files x 200 pages: checks it runs
    python -m bench.wat --files 8 --pages 20000 --dir /tmp/wat   # bigger, files kept

The files are Common Crawl WAT files as bench/watgen.py writes them (one gzip member
per record, a warcinfo record, then the request, response and metadata envelopes of
each capture; ~100 A@/href per page with a long tail), and watgen counts what it wrote,
so every reader's counts are checked against it. Measured on the same files, in the
same run, interleaved, median of --repeat runs (3):

(a) the product in this process: `index.archives.importer.import_file(path,
    PartWriter(data, crawl_id), crawl_id, data)` for each file, every URL cache cleared
    first (as in a new process); pages/s per core = pages / CPU seconds of this process
    (threads included), and wall pages/s;
(b) the product through the command line: `linkindex import-warc FILES --crawl-id X
    --data D --jobs 2` in a child process; wall pages/s, and per core = pages / CPU
    seconds of the child and its workers (interpreter and worker start-up included);
(c) the baseline: warcio's ArchiveIterator over each file, json.loads of every JSON
    metadata record, a walk of Envelope → … → HTML-Metadata → Links counting the A@/href
    entries (no URL resolution, no Parquet): the floor any WAT reader pays.

Then (a) runs once more, on the first file, under cProfile: the top functions by
cumulative and by own time show where the import's time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import cpu_seconds, header, median, ratio, table, write_json
from bench.watgen import WatFile, generate

REPO = Path(__file__).resolve().parents[1]
CRAWL_ID = "wat-bench"
BASELINE = "warcio + json (baseline)"
IN_PROCESS = "import_file, in process"
_CLI_COUNTS = re.compile(r"([\d,]+) records, ([\d,]+) pages, ([\d,]+) links, ([\d,]+) skipped")
_CLI_SECONDS = re.compile(r" in ([\d.]+)s ")


def cli_name(jobs: int) -> str:
    return f"linkindex import-warc --jobs {jobs}"


# ---------------------------------------------------------------------------
# the three readers: each returns its counts and its wall and CPU seconds
# ---------------------------------------------------------------------------


def warcio_json(files: list[Path]) -> dict[str, int]:
    """The baseline: warcio + json.loads + a walk to the links, counting A@/href."""
    from warcio.archiveiterator import ArchiveIterator

    records = pages = a_href = area_href = 0
    for path in files:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                records += 1
                if record.rec_type != "metadata" or "json" not in (
                        record.rec_headers.get_header("Content-Type") or ""):
                    continue
                envelope = json.loads(record.content_stream().read())["Envelope"]
                if envelope["WARC-Header-Metadata"].get("WARC-Type") != "response":
                    continue
                pages += 1
                http = envelope.get("Payload-Metadata", {}).get("HTTP-Response-Metadata", {})
                for entry in (http.get("HTML-Metadata") or {}).get("Links", ()):
                    path_ = entry.get("path")
                    if path_ == "A@/href":
                        a_href += 1
                    elif path_ == "AREA@/href":
                        area_href += 1
    return {"records": records, "pages": pages, "links": a_href, "a_href": a_href,
            "area_href": area_href}


def import_in_process(files: list[Path], data: Path) -> dict[str, Any]:
    """The product: import_file over each file, each with its own PartWriter."""
    from core.parts import PartWriter
    from index.archives.importer import import_file
    from index.archives.records import Counts

    total = Counts()
    damage = failure = None
    for path in files:
        counts, first_damage, first_failure = import_file(
            path, PartWriter(data, CRAWL_ID), CRAWL_ID, data)
        total.add(counts)
        damage, failure = damage or first_damage, failure or first_failure
    return {"records": total.records, "pages": total.pages, "links": total.edges,
            "skipped": total.skipped, "failed": total.failed, "first_damage": damage,
            "first_failure": failure}


def import_cli(files: list[Path], data: Path, jobs: int) -> dict[str, Any]:
    """The product through its command line, in a child process; CPU of the child and
    of its workers from RUSAGE_CHILDREN (all of them are waited for)."""
    cmd = [sys.executable, "-m", "linkindex", "import-warc", *map(str, files),
           "--crawl-id", CRAWL_ID, "--data", str(data), "--jobs", str(jobs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=3600,
                          stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    found = _CLI_COUNTS.search(proc.stdout)
    if found is None:
        raise RuntimeError(f"unexpected output of import-warc: {proc.stdout!r}")
    records, pages, links, skipped = (int(g.replace(",", "")) for g in found.groups())
    seconds = _CLI_SECONDS.search(proc.stdout)
    return {"records": records, "pages": pages, "links": links, "skipped": skipped,
            "import_seconds": float(seconds.group(1)) if seconds else None,
            "stderr": proc.stderr.strip()[-500:] or None, "wall": wall,
            "cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)}


def _cold() -> None:
    """Every URL, host and domain memo emptied: the in-process runs start as cold as a
    new process (the tldextract suffix list stays loaded, as it is once per process)."""
    from core.domains import registrable_domain
    from core.extractor import clear_caches

    registrable_domain("www.example.co.uk")  # loads the suffix list, untimed
    clear_caches()


def measure(files: list[Path], tmp: Path, repeat: int, jobs: int) -> list[dict[str, Any]]:
    """Each reader `repeat` times, interleaved; medians of wall and CPU seconds."""
    import warcio.archiveiterator  # noqa: F401  (imported before timing)

    import index.archives.importer  # noqa: F401

    names = [BASELINE, IN_PROCESS, cli_name(jobs)]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for n in range(repeat):
        for name in names:
            data = tmp / f"data-{n}-{names.index(name)}"
            if name == cli_name(jobs):
                result = import_cli(files, data, jobs)
            else:
                if name == IN_PROCESS:
                    _cold()
                start_cpu, start = cpu_seconds(), time.perf_counter()
                result = warcio_json(files) if name == BASELINE else \
                    import_in_process(files, data)
                result.update(wall=time.perf_counter() - start, cpu=cpu_seconds() - start_cpu)
            runs[name].append(result)
            shutil.rmtree(data, ignore_errors=True)
    readers = []
    for name in names:
        last = runs[name][-1]
        wall = median([r["wall"] for r in runs[name]])
        cpu = median([r["cpu"] for r in runs[name]])
        counts = {k: v for k, v in last.items() if k not in ("wall", "cpu")}
        readers.append({
            "reader": name, **counts, "seconds": wall, "cpu_seconds": cpu,
            "pages_per_s": last["pages"] / wall, "pages_per_s_per_core": last["pages"] / cpu,
            "records_per_s": last["records"] / wall,
            "runs": [{"seconds": r["wall"], "cpu_seconds": r["cpu"]} for r in runs[name]],
            # every run read the same: counts never move between runs
            "same_counts_every_run": all(
                (r["records"], r["pages"], r["links"]) ==
                (last["records"], last["pages"], last["links"]) for r in runs[name]),
        })
    return readers


# ---------------------------------------------------------------------------
# where the time goes
# ---------------------------------------------------------------------------


def _where(filename: str, line: int, function: str) -> str:
    if filename == "~":  # a built-in
        return function
    for marker in ("site-packages/", f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    else:
        try:
            filename = Path(filename).resolve().relative_to(REPO).as_posix()
        except ValueError:
            pass
    return f"{filename}:{line}({function})"


def profile_import(path: Path, data: Path, top: int = 10) -> dict[str, Any]:
    """One in-process import of `path` under cProfile: the `top` functions by cumulative
    time and by own time, with their share of the profiled total."""
    from core.parts import PartWriter
    from index.archives.importer import import_file

    _cold()
    profiler = cProfile.Profile()
    profiler.enable()
    counts, _, _ = import_file(path, PartWriter(data, CRAWL_ID), CRAWL_ID, data)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # {(file, line, function): (cc, nc, tt, ct, callers)}
    rows = [{"function": _where(*key), "calls": nc, "own_s": tt, "cumulative_s": ct}
            for key, (_, nc, tt, ct, _) in stats.items()]
    total = max(r["cumulative_s"] for r in rows)
    for row in rows:
        row["own_share"] = row["own_s"] / total
        row["cumulative_share"] = row["cumulative_s"] / total
    by = sorted(rows, key=lambda r: -r["cumulative_s"])
    return {"file": path.name, "pages": counts.pages, "seconds": total,
            "by_cumulative": by[:top],
            "by_own": sorted(rows, key=lambda r: -r["own_s"])[:top]}


# ---------------------------------------------------------------------------


def run(n_files: int, pages: int, repeat: int, jobs: int, seed: int, folder: Path | None
        ) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-wat-") as tmp_name:
        tmp = Path(tmp_name)
        started = time.perf_counter()
        wats = generate(folder or tmp / "wat", n_files, pages, seed, jobs=2)
        generated = time.perf_counter() - started
        files = [w.path for w in wats]
        load_before = [round(x, 2) for x in os.getloadavg()]
        readers = measure(files, tmp, repeat, jobs)
        load_after = [round(x, 2) for x in os.getloadavg()]
        profile = profile_import(files[0], tmp / "data-profile")
    return {"files": [w.as_dict() for w in wats], "truth": totals(wats),
            "file_bytes": sum(w.bytes for w in wats), "generate_seconds": generated,
            "pages_per_file": pages, "seed": seed, "repeat": repeat, "jobs": jobs,
            "warcio": metadata.version("warcio"), "readers": readers,
            "ratios": ratios(readers, jobs), "checks": checks(readers, wats),
            "load_avg_before": load_before, "load_avg_after": load_after,
            "profile": profile}


def totals(wats: list[WatFile]) -> dict[str, int]:
    keys = ("records", "pages", "html_pages", "a_href", "area_href", "a_links", "area_links",
            "canonical_links", "redirect_links", "skipped_links", "links")
    return {k: sum(w.as_dict()[k] for w in wats) for k in keys}


def ratios(readers: list[dict[str, Any]], jobs: int) -> dict[str, float]:
    by = {r["reader"]: r for r in readers}
    base, ours, cli = by[BASELINE], by[IN_PROCESS], by[cli_name(jobs)]
    return {
        "in_process_per_core": ratio(ours["pages_per_s_per_core"],
                                     base["pages_per_s_per_core"]),
        "in_process_wall": ratio(ours["pages_per_s"], base["pages_per_s"]),
        "cli_per_core": ratio(cli["pages_per_s_per_core"], base["pages_per_s_per_core"]),
        "cli_wall": ratio(cli["pages_per_s"], base["pages_per_s"]),
    }


def checks(readers: list[dict[str, Any]], wats: list[WatFile]) -> dict[str, bool]:
    """The readers against what the generator wrote (the test asserts the same, from a
    generation of its own)."""
    truth = totals(wats)
    by = {r["reader"]: r for r in readers}
    base = by[BASELINE]
    products = [r for r in readers if r["reader"] != BASELINE]
    return {
        "pages": all(r["pages"] == truth["pages"] for r in readers),
        "records": all(r["records"] == truth["records"] for r in readers),
        "baseline_a_href": base["a_href"] == truth["a_href"],
        "product_links": all(r["links"] == truth["links"] for r in products),
        "no_damage": all(not r.get("skipped") and not r.get("failed") for r in products),
        "same_counts_every_run": all(r["same_counts_every_run"] for r in readers),
    }


def report(results: dict[str, Any]) -> str:
    truth, rat = results["truth"], results["ratios"]
    base = next(r for r in results["readers"] if r["reader"] == BASELINE)
    rows = [[r["reader"], r["pages"], r["records"], r["links"], r["seconds"], r["cpu_seconds"],
             r["cpu_seconds"] / r["seconds"], r["pages_per_s"], r["pages_per_s_per_core"],
             ratio(r["pages_per_s_per_core"], base["pages_per_s_per_core"])]
            for r in results["readers"]]
    prof = results["profile"]

    def profile_rows(order: str) -> list[list[Any]]:
        return [[f"`{r['function']}`", r["calls"], r["own_s"], r["cumulative_s"],
                 f"{100 * r[f'{order}_share']:.0f}%"] for r in prof[f"by_{order}"]]

    n = len(results["files"])
    failed = [name for name, ok in results["checks"].items() if not ok]
    return "\n".join([
        header("wat"),
        f"files: {n} WAT files x {results['pages_per_file']:,} captures "
        f"({results['file_bytes'] / 1e6:.1f} MB gzipped; generated in "
        f"{results['generate_seconds']:.1f} s, seed {results['seed']}): "
        f"{truth['records']:,} records, {truth['pages']:,} response envelopes "
        f"({truth['html_pages']:,} 2xx HTML), {truth['a_href']:,} A@/href entries "
        f"({truth['a_href'] / max(truth['pages'], 1):.0f} a page), {truth['links']:,} "
        f"storable links (A/AREA {truth['a_links'] + truth['area_links']:,}, canonical "
        f"{truth['canonical_links']:,}, redirect {truth['redirect_links']:,}; "
        f"{truth['skipped_links']:,} unstorable); warcio {results['warcio']}; "
        f"median of {results['repeat']} interleaved runs; load average "
        f"{' '.join(map(str, results['load_avg_before']))} before them, "
        f"{' '.join(map(str, results['load_avg_after']))} after\n",
        table(["reader", "pages", "records", "links", "wall s", "CPU s", "cores used",
               "pages/s", "pages/s per core", "÷ baseline (per core)"], rows,
              "WAT import against warcio + json"),
        "",
        "links: the baseline counts A@/href entries; the product counts the edges it "
        "stored. cores used: CPU s ÷ wall s (below 2 for --jobs 2: the other core was "
        "busy, or start-up).",
        f"product ÷ baseline: in process {rat['in_process_per_core']:.2f} per core, "
        f"{rat['in_process_wall']:.2f} wall; CLI --jobs {results['jobs']} "
        f"{rat['cli_per_core']:.2f} per core, {rat['cli_wall']:.2f} wall",
        "checks against the generator's truth: "
        + ("all passed" if not failed else "FAILED: " + ", ".join(failed)),
        "",
        table(["function", "calls", "own s", "cumulative s", "share"],
              profile_rows("cumulative"),
              f"profile of one in-process import ({prof['file']}, {prof['pages']:,} pages, "
              f"{prof['seconds']:.1f} s under cProfile): top by cumulative time"),
        "",
        table(["function", "calls", "own s", "cumulative s", "share"],
              profile_rows("own"), "the same profile: top by own time"),
    ])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.wat", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=4, help="WAT files (default 4)")
    parser.add_argument("--pages", type=int, default=10_000,
                        help="captures per file (default 10,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each reader")
    parser.add_argument("--jobs", type=int, default=2, help="import-warc --jobs (default 2)")
    parser.add_argument("--seed", type=int, default=18, help="the generator's seed")
    parser.add_argument("--dir", type=Path, help="write the WAT files here and keep them")
    parser.add_argument("--smoke", action="store_true", help="2 files x 200 pages, one run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.files, args.pages, args.repeat = 2, 200, 1
    results = run(args.files, args.pages, args.repeat, args.jobs, args.seed, args.dir)
    print(report(results), flush=True)
    write_json(args.json, {"bench": "wat", **results})
    return results


if __name__ == "__main__":
    main()
