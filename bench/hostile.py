"""Hostile markup: what one adversarial page costs, before and after the parse bound
(core/bounds.py), and what the bound costs a normal page.

    python -m bench.hostile                 # 10 MB adversarial pages, 30 s cap on a bare parse
    python -m bench.hostile --smoke         # 100 KB pages, 1 s cap: checks it runs

1. Adversarial pages (SHAPES), each about `--size` characters of one repeated unit:
   - before: a bare lexbor parse of the same text (`LexborHTMLParser(html)`, what the
     extractor did before), in a child process capped at `--cap` seconds and 3 GB of
     memory. Sizes grow from 1/1024 of the page by 4x; a size whose time, predicted from
     the last two, is over 2 caps is not run, and the time at the full size is that
     power law's ("> cap s, ~N s").
   - after: `core.extractor.extract_html` on the page (bound, parse, links): seconds,
     pages/s, links kept, why it was cut.
2. Normal pages: the gate's cost (`core.bounds._gate`, run on every page) against
   `extract_html` on the extract benchmark's pages (45 KB, 75 links), interleaved; the
   model's cost (`_Scan`, run on pages the gate does not pass) on the same pages and on
   a large page of dense, well-formed markup (which the gate sends to the model: more
   than FAST_TAGS tags), against `extract_html` on it.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import fmt, header, median, table, time_calls, write_json

OUT = "http://far.example"


def _repeat(unit: Callable[[int], str], size: int, head: str = "", tail: str = "") -> str:
    parts, total, i = [head], len(head) + len(tail), 0
    while total < size:
        piece = unit(i)
        parts.append(piece)
        total += len(piece)
        i += 1
    parts.append(tail)
    return "".join(parts)


def _nested(open_tag: str, close_tag: str, size: int) -> str:
    n = max(1, size // (len(open_tag) + len(close_tag)))
    return (f'<a href="{OUT}/before">before</a>' + open_tag * n
            + f'<a href="{OUT}/inside">inside</a>' + close_tag * n)


def _attributes(size: int) -> str:
    return _repeat(lambda i: f" d{i}=v", size - 40, "<a", f' href="{OUT}/many">m</a>')


# name → (what it is, page of about `size` characters)
SHAPES: dict[str, tuple[str, Callable[[int], str]]] = {
    "nested-div": ("<div> nested, a link before and inside", lambda s: _nested(
        "<div>", "</div>", s)),
    "nested-inline": ("<b><i> nested, never closed", lambda s: _repeat(
        lambda i: "<b><i>", s, f'<a href="{OUT}/before">before</a>')),
    "stray-end-tags": ("<span></div>: each </div> searches the whole stack", lambda s: _repeat(
        lambda i: "<span></div>", s, f'<a href="{OUT}/before">before</a>')),
    "reopened-formatting": ("<p><b id=N></p>: every <b> reopened in each later <p>",
                            lambda s: _repeat(lambda i: f"<p><b id={i}></p>", s,
                                              f'<a href="{OUT}/before">before</a>')),
    "open-formatting": ("<b id=N> never closed (list of active formatting elements)",
                        lambda s: _repeat(lambda i: f"<b id={i}>", s,
                                          f'<a href="{OUT}/before">before</a>')),
    "nested-lists": ("<dl><dt>x<dd> nested", lambda s: _repeat(
        lambda i: "<dl><dt>x<dd>", s, f'<a href="{OUT}/before">before</a>')),
    "nested-tables": ("<table><tr><td> never closed", lambda s: _repeat(
        lambda i: "<table><tr><td>", s, f'<a href="{OUT}/before">before</a>')),
    "misnested-links": ("<a href><b></a>: the adoption agency each time", lambda s: _repeat(
        lambda i: f'<a href="{OUT}/{i}"><b></a>', s)),
    "many-links": ("links one after another", lambda s: _repeat(
        lambda i: f'<a href="{OUT}/{i}">{i}</a>\n', s)),
    "many-attributes": ("one <a> with distinct attributes, its href last", _attributes),
    "huge-attribute": ("one attribute value the size of the page", lambda s: (
        f'<a title="{"x" * max(1, s - 60)}" href="{OUT}/attr">attr</a>')),
    "repeated-html-tags": ("<html aN=1 bN=2>: attributes merged into the first", lambda s: _repeat(
        lambda i: f"<html a{i}=1 b{i}=2>", s, "", f'<a href="{OUT}/after">after</a>')),
    "select-options": ("<option> in one <select>", lambda s: _repeat(
        lambda i: "<option>x", s, "<select>", f'</select><a href="{OUT}/after">after</a>')),
    "huge-text": ("one text node", lambda s: _repeat(
        lambda i: "word ", s, f'<a href="{OUT}/before">before</a><p>')),
}


def normal_page(size: int) -> str:
    """A large page of dense, well-formed markup (a forum or listing page): header, nav,
    posts with headings, links, inline formatting, lists, tables, forms, inline SVG."""
    head = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Listing</title>'
            '<link rel="stylesheet" href="/s.css"><script>var a = 1 < 2 && "<b>";</script>'
            '</head><body><header class="site-header"><nav class="menu"><ul>'
            + "".join(f'<li><a href="/c/{i}">Category {i}</a></li>' for i in range(20))
            + "</ul></nav></header><main>")
    tail = '</main><footer><p>&copy; <a href="/about">About</a></p></footer></body></html>'

    def post(i: int) -> str:
        return (f'<article class="post" id="p{i}"><h2><a href="/p/{i}">Post number {i}</a></h2>'
                f'<div class="meta"><span class="author"><a href="/u/{i % 97}">user{i % 97}'
                f'</a></span> <time datetime="2026-01-01">Jan 1</time></div>'
                f'<p>Some text with <b>bold</b>, <i>italic</i> and a <a href="{OUT}/{i}" '
                f'rel="nofollow">link</a>.<br>Second line.</p><ul class="tags">'
                + "".join(f'<li><a href="/t/{t}">tag{t}</a></li>' for t in range(i % 4 + 1))
                + f'</ul><table class="stats"><tr><td>{i}</td><td><img src="/i/{i}.png" '
                f'alt="img {i}"></td></tr></table><form action="/r"><input type="text" '
                f'name="q"><button>Reply</button></form><svg viewBox="0 0 10 10">'
                f'<path d="M0 0L10 10"/></svg></article>\n')

    return _repeat(post, size, head, tail)


# ---------------------------------------------------------------------------
# before: a bare lexbor parse in a child process, capped
# ---------------------------------------------------------------------------

MEMORY_CAP = 3 << 30


def bare_parse(shape: str, size: int) -> float:
    """Seconds of one bare lexbor parse of the shape's page (in this process)."""
    from selectolax.lexbor import LexborHTMLParser

    html = SHAPES[shape][1](size)
    start = time.perf_counter()
    LexborHTMLParser(html)
    return time.perf_counter() - start


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def bare_parse_capped(shape: str, size: int, cap: float) -> tuple[str, float | None]:
    """("ok", seconds), ("over", None) past the cap, or ("memory", None) past MEMORY_CAP."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.hostile", "--bare", shape, "--size", str(size)],
            capture_output=True, text=True, timeout=cap, preexec_fn=_limit_memory,
            check=False)
    except subprocess.TimeoutExpired:
        return "over", None
    if proc.returncode != 0:
        return "memory", None
    return "ok", json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]


def before(shape: str, size: int, cap: float, shifts: tuple[int, ...] = (10, 8, 6, 4, 2, 0)
           ) -> dict[str, Any]:
    """The bare parse of the page at `size`, or what its time would be (see __doc__):
    sizes `size >> shift` for each shift, the last 0."""
    sizes = [max(1, size >> shift) for shift in shifts]
    done: list[tuple[int, float]] = []
    outcome = "ok"
    for s in sizes:
        if len(done) >= 2:
            exponent = _exponent(done)
            predicted = done[-1][1] * (s / done[-1][0]) ** exponent
            if predicted > 2 * cap:
                outcome = "not run"
                break
        outcome, seconds = bare_parse_capped(shape, s, cap)
        if seconds is None:
            break
        done.append((s, seconds))
    result: dict[str, Any] = {"outcome": outcome if not done or done[-1][0] != size else "ok",
                              "measured": [{"chars": s, "seconds": round(t, 4)} for s, t in done]}
    if done and done[-1][0] == size:
        result["seconds"] = done[-1][1]
    elif len(done) >= 2:
        result["estimate_s"] = done[-1][1] * (size / done[-1][0]) ** _exponent(done)
    return result


def _exponent(done: list[tuple[int, float]]) -> float:
    """The power law's exponent through the last two (size, seconds), at least 1."""
    import math

    (s1, t1), (s2, t2) = done[-2], done[-1]
    if t1 <= 0.001 or t2 <= t1:  # too fast to tell: take it as linear
        return 1.0
    return max(1.0, math.log(t2 / t1) / math.log(s2 / s1))


# ---------------------------------------------------------------------------
# after: the extractor on the same page
# ---------------------------------------------------------------------------


def after(shape: str, size: int, repeat: int) -> dict[str, Any]:
    from core.extractor import extract_html

    html = SHAPES[shape][1](size)
    result = extract_html(f"{OUT}/page", html)
    times = time_calls(lambda: extract_html(f"{OUT}/page", html), repeat)
    return {"chars": len(html), "seconds": median(times),
            "pages_per_s": 1 / median(times), "links": result.n_links,
            "truncated": result.truncated}


# ---------------------------------------------------------------------------
# normal pages
# ---------------------------------------------------------------------------


def normal(n_pages: int, big_size: int, repeat: int) -> dict[str, Any]:
    from bench.extract import sample_pages
    from core.bounds import _gate, _Scan, bound_markup
    from core.extractor import extract_html

    pages = sample_pages(n_pages)
    assert all(_gate(h) for _, h in pages), "a normal page the gate does not pass"
    engines: dict[str, Callable[[], Any]] = {
        "extract_html": lambda: [extract_html(u, h) for u, h in pages],
        "gate": lambda: [_gate(h) for _, h in pages],
        "model (forced)": lambda: [_Scan(h).run() for _, h in pages],
    }
    for engine in engines.values():
        engine()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(repeat):
        for name, engine in engines.items():
            times[name] += time_calls(engine, 1)
    per_page = {name: median(ts) / len(pages) * 1e6 for name, ts in times.items()}

    big = normal_page(big_size)
    bounded = bound_markup(big)
    assert bounded.truncated is None and bounded.html == big, bounded.truncated
    scan = _Scan(big)
    scan.run()
    big_times = {"extract_html": median(time_calls(lambda: extract_html(f"{OUT}/", big), repeat)),
                 "bound_markup (model)": median(time_calls(lambda: bound_markup(big), repeat))}
    return {
        "pages": len(pages),
        "page_chars": round(sum(len(h) for _, h in pages) / len(pages)),
        "us_per_page": {k: round(v, 1) for k, v in per_page.items()},
        "gate_share": round(per_page["gate"] / per_page["extract_html"], 4),
        "model_share": round(per_page["model (forced)"] / per_page["extract_html"], 4),
        "big_chars": len(big),
        "big_tags": big.count("<"),
        "big_work_per_char": round(scan.work / len(big), 3),
        "big_seconds": {k: round(v, 4) for k, v in big_times.items()},
        "big_model_share": round(big_times["bound_markup (model)"] / big_times["extract_html"], 4),
    }


# ---------------------------------------------------------------------------


def run(size: int, cap: float, repeat: int, n_pages: int, big_size: int,
        shapes: list[str], shifts: tuple[int, ...] = (10, 8, 6, 4, 2, 0)) -> dict[str, Any]:
    results: dict[str, Any] = {"size": size, "cap_s": cap, "memory_cap_gb": MEMORY_CAP >> 30,
                               "repeat": repeat, "shapes": {}}
    for shape in shapes:
        results["shapes"][shape] = {"what": SHAPES[shape][0],
                                    "before": before(shape, size, cap, shifts),
                                    "after": after(shape, size, repeat)}
        print(f"  {shape}: done", file=sys.stderr, flush=True)
    results["normal"] = normal(n_pages, big_size, repeat)
    return results


def _before_cell(b: dict[str, Any], cap: float) -> str:
    if "seconds" in b:
        return fmt(b["seconds"])
    estimate = f", ~{fmt(b['estimate_s'])} s" if "estimate_s" in b else ""
    if b["outcome"] == "memory":
        return f"over {MEMORY_CAP >> 30} GB{estimate}"
    return f"> {fmt(cap)}{estimate}"


def report(results: dict[str, Any]) -> str:
    cap = results["cap_s"]
    rows = []
    for shape, r in results["shapes"].items():
        b, a = r["before"], r["after"]
        rows.append([shape, f"{a['chars'] / 1e6:.1f}", _before_cell(b, cap), a["seconds"],
                     a["pages_per_s"], a["links"], a["truncated"] or "-"])
    n = results["normal"]
    normal_rows = [[name, us, us / n["us_per_page"]["extract_html"]]
                   for name, us in n["us_per_page"].items()]
    return "\n".join([
        header("hostile"),
        f"adversarial pages of ~{results['size'] / 1e6:.1f} M characters; before: a bare lexbor "
        f"parse in a child process (cap {fmt(cap)} s, {results['memory_cap_gb']} GB; "
        "~: extrapolated from smaller sizes); after: extract_html, median of "
        f"{results['repeat']}\n",
        table(["page", "MB", "before: bare parse s", "after: extract s", "pages/s", "links",
               "truncated"], rows),
        "",
        f"normal pages: {n['pages']} of the extract benchmark (~{n['page_chars'] / 1e3:.0f}K "
        f"characters), median of {results['repeat']} interleaved runs\n",
        table(["per page", "µs", "÷ extract_html"], normal_rows),
        "",
        f"gate ÷ extract_html: {n['gate_share']:.1%} (target < 5%)",
        f"large normal page ({n['big_chars'] / 1e6:.1f} M characters, {n['big_tags']:,} `<`, "
        f"over the gate's {fmt(8192)}: the model runs): extract_html "
        f"{fmt(n['big_seconds']['extract_html'])} s, the model "
        f"{fmt(n['big_seconds']['bound_markup (model)'])} s "
        f"({n['big_model_share']:.1%}); model work {n['big_work_per_char']} steps/character "
        "(budget 16)",
    ])


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000_000, help="characters a page")
    parser.add_argument("--cap", type=float, default=30.0, help="seconds for a bare parse")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pages", type=int, default=300, help="normal pages")
    parser.add_argument("--big", type=int, default=2_000_000, help="large normal page size")
    parser.add_argument("--shapes", help="comma-separated, of: " + ", ".join(SHAPES))
    parser.add_argument("--smoke", action="store_true", help="100 KB pages, 1 s cap")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--bare", help=argparse.SUPPRESS)  # internal: one bare parse
    args = parser.parse_args(argv)
    if args.bare:
        print(json.dumps({"seconds": bare_parse(args.bare, args.size)}), flush=True)
        return None
    shifts = (10, 8, 6, 4, 2, 0)
    if args.smoke:
        args.size, args.cap, args.repeat, args.pages, args.big = 100_000, 1.0, 1, 10, 200_000
        shifts = (4, 2, 0)
    shapes = args.shapes.split(",") if args.shapes else list(SHAPES)
    results = run(args.size, args.cap, args.repeat, args.pages, args.big, shapes, shifts)
    print(report(results), flush=True)
    write_json(args.json, {"bench": "hostile", **results})
    return results


if __name__ == "__main__":
    main()
