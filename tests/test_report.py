"""`linkindex report` and `linkindex serve` in a real browser (Chromium via Playwright).

The report is checked as the demo writes it and on a two-crawl history; the web UI on
the same history, and on an index rebuilt while it runs. Rows are compared with the
queries' own answers (`run_query`) for the same target, charts by the points Plotly drew,
downloads byte for byte with `linkindex export`, and every request a page makes is
recorded: nothing may leave the report's file or the UI's loopback address.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import Recorder, chart_points, drawn_marks, launched, screenshot, table_rows
from clitools import REPO, assert_one_line_error, crawl_args, linkindex
from playwright.sync_api import Browser, Page
from webtools import WEB_ARGS

from core.schema import ANCHOR_CLASSES
from queries import Filters, run_query, run_sql
from queries.compare import default_since
from queries.export import cell_text
from synthweb import SyntheticWeb, WebServer

pytestmark = pytest.mark.slow

RANK_BINS = 10  # domain rank 0..100 in bins of 10
PAGE_SIZE = 50  # the UI's rows per page
REPORT_ROWS = 100  # the report's rows per table


# ---------------------------------------------------------------------------
# Data: the demo's, and a two-crawl history of the synthetic web
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo's folder, and what it printed."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    return out, linkindex("demo", "--out", out).stdout


@pytest.fixture(scope="module")
def two_crawls(crawled: Path, seeds_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DATA with crawl c1 (the session's crawl of edition 1) and c2 (edition 2), built."""
    data = tmp_path_factory.mktemp("two_crawls") / "data"
    shutil.copytree(crawled, data)
    with WebServer(SyntheticWeb(**WEB_ARGS, edition=2)) as server:
        linkindex("crawl", "--seeds-file", seeds_file, *crawl_args(server.proxy_url, data, "c2"))
    linkindex("build", "--data", data)
    return data


def most_lost(data: Path) -> str:
    """The domain that lost the most external links between the crawls."""
    return run_sql(data, "SELECT dst_domain FROM edges WHERE lost_at IS NOT NULL AND "
                         "src_domain <> dst_domain GROUP BY ALL ORDER BY count(*) DESC, "
                         "dst_domain LIMIT 1").column("dst_domain")[0].as_py()


def best_linked(data: Path, n: int) -> list[str]:
    return run_sql(data, "SELECT domain FROM domains WHERE pages_crawled > 0 ORDER BY "
                         f"referring_domains DESC, domain LIMIT {n}").column("domain").to_pylist()


def texts(table: Any, rows: int | None = None) -> list[list[str]]:
    records = table.to_pylist() if rows is None else table.slice(0, rows).to_pylist()
    return [[cell_text(value) for value in record.values()] for record in records]


def manifest(data: Path) -> dict[str, Any]:
    generation = (data / "index" / "CURRENT").read_text().strip()
    return json.loads((data / "index" / generation / "manifest.json").read_text())


def exported(tmp: Path, data: Path, *args: str) -> bytes:
    out = tmp / f"export-{len(list(tmp.glob('export-*')))}.csv"
    linkindex("export", *args, "-o", out, "--data", data)
    return out.read_bytes()


# ---------------------------------------------------------------------------
# The report file
# ---------------------------------------------------------------------------


def open_report(browser: Browser, path: Path) -> tuple[Page, Recorder]:
    recorder = Recorder()
    page = recorder.attach(browser.new_page(viewport={"width": 1300, "height": 900}))
    page.goto(path.as_uri())
    page.wait_for_function("() => document.querySelectorAll('.chart .main-svg').length > 0")
    return page, recorder


def assert_offline(recorder: Recorder) -> None:
    """Nothing but the file itself (and data: URLs inside it) was requested."""
    assert recorder.requests, "no request recorded"
    outside = [url for url in recorder.requests if not url.startswith(("file://", "data:"))]
    assert outside == []
    assert recorder.errors == []


def assert_charts(page: Page, data: Path, target: str, crawls: int) -> None:
    """Each chart has one point or bar per value its query gave."""
    mix = run_query(data, "link_mix", [target]).to_pylist()
    kinds = [row for row in mix if row["facet"] == "kind"]
    positions = [row for row in mix if row["facet"] == "position"]
    expected = {
        "chart_history": [crawls, crawls], "chart_new_lost": [crawls, crawls],
        "chart_anchor_mix": [len(ANCHOR_CLASSES)], "chart_domain_ranks": [RANK_BINS],
        "chart_kinds": [len(kinds)], "chart_positions": [len(positions)], "chart_rel": [4],
    }
    for chart, points in expected.items():
        assert chart_points(page, chart) == points, chart
        assert drawn_marks(page, chart) == sum(points), chart
    # the values drawn, against independent counts
    domains = run_query(data, "referring_domains", [target]).column("domain_rank").to_pylist()
    bins = [sum(1 for rank in domains if rank is not None and min(int(rank // 10), 9) == b)
            for b in range(RANK_BINS)]
    assert page.evaluate("document.getElementById('chart_domain_ranks').data[0].y") == bins
    backlinks = run_query(data, "backlinks", [target])
    by_position: dict[str, int] = {}
    for position in backlinks.column("position").to_pylist():
        by_position[position or "(none)"] = by_position.get(position or "(none)", 0) + 1
    drawn = page.evaluate("(() => { const d = document.getElementById('chart_positions')"
                          ".data[0]; return Object.fromEntries(d.x.map((x, i) => [x, d.y[i]]))"
                          " })()")
    assert drawn == by_position


def test_the_demo_ends_by_writing_the_report(demo: tuple[Path, str], browser: Browser,
                                              tmp_path: Path) -> None:
    out, printed = demo
    report = out / "report.html"
    assert f"Report written to {report}" in printed
    data = out / "data"
    target, *leaders = best_linked(data, 3)
    page, recorder = open_report(browser, report)
    # dated, naming the generation, the crawl window and the metric versions
    info = manifest(data)
    assert page.inner_text("#generation").startswith(info["generation"])
    crawl = info["crawls"][0]
    assert page.inner_text("#window").startswith(
        f"{crawl['first_fetch'][:10]} {crawl['first_fetch'][11:16]} UTC – "
        f"{crawl['last_fetch'][:10]} {crawl['last_fetch'][11:16]} UTC")
    assert page.inner_text("#metrics") == ", ".join(
        f"{name} v{receipt['version']}" for name, receipt in info["metrics"].items())
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", page.inner_text("#generated"))
    assert page.inner_text("#compare") == ", ".join(leaders)
    # the overview's numbers, each with its definition on hover
    overview = run_query(data, "overview", [target]).to_pylist()[0]
    backlinks = page.locator(".tile[data-column=backlinks]")
    assert backlinks.locator(".value").inner_text() == f"{overview['backlinks']:,}"
    assert backlinks.get_attribute("title") == "links to the target"
    assert page.locator(".tile[data-column=referring_domains] .value").inner_text() == \
        f"{overview['referring_domains']:,}"
    assert page.locator(".tile").count() == len(overview) - 2  # not target and scope
    assert_charts(page, data, target, crawls=1)
    # tables: the queries' first rows, and the whole answer as the export's CSV; with one
    # crawl, no new and lost links yet (every link would be "new")
    assert page.locator("#section_new_lost").count() == 0
    assert page.inner_text("#no_new_lost").startswith("The index holds one crawl")
    expected = {
        "referring_domains": ["referring_domains", target],
        "anchors": ["anchors", target],
        "top_pages": ["top_pages", target],
        "link_gap": ["link_gap", target, *leaders],
    }
    for key, (name, *args) in expected.items():
        answer = run_query(data, name, args)
        assert table_rows(page, key) == texts(answer, REPORT_ROWS), key
        with page.expect_download() as download:
            page.click(f"#section_{key} a.csv")
        assert Path(download.value.path()).read_bytes() == exported(tmp_path, data, name, *args)
    assert_offline(recorder)
    screenshot(page, "report.png")


def test_report_of_a_two_crawl_history(two_crawls: Path, browser: Browser,
                                       tmp_path: Path) -> None:
    target = most_lost(two_crawls)
    rival = next(domain for domain in best_linked(two_crawls, 2) if domain != target)
    report = tmp_path / "two.html"
    printed = linkindex("report", target, "--compare", rival, "-o", report,
                        "--data", two_crawls).stdout
    assert printed.startswith(f"wrote the report of {target} to {report} (")
    page, recorder = open_report(browser, report)
    assert page.inner_text("#window").endswith("(2 crawls: c1, c2)")
    assert_charts(page, two_crawls, target, crawls=2)
    history = run_query(two_crawls, "history", [target]).to_pylist()
    assert page.evaluate("document.getElementById('chart_new_lost').data[1].y") == \
        [-row["lost_backlinks"] for row in history]
    assert history[1]["lost_backlinks"] > 0  # the chart shows a loss
    since = default_since(two_crawls).isoformat()
    lost = run_query(two_crawls, "new_lost", [target, since])
    assert "lost" in lost.column("change").to_pylist()
    assert table_rows(page, "new_lost") == texts(lost, REPORT_ROWS)
    gap = run_query(two_crawls, "link_gap", [target, rival])
    assert table_rows(page, "link_gap") == texts(gap, REPORT_ROWS)
    # pages answering 4xx/5xx are marked broken, and only they
    pages = run_query(two_crawls, "top_pages", [target]).slice(0, REPORT_ROWS).to_pylist()
    marks = page.evaluate("Array.from(document.querySelectorAll('#top_pages tbody tr'))"
                          ".map(tr => tr.dataset.mark || null)")
    assert marks == ["broken" if (p["status"] or 0) >= 400 else None for p in pages]
    assert_offline(recorder)


def test_report_mistakes_are_one_line(two_crawls: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    proc = linkindex("report", "nosuch.example", "-o", report, "--data", two_crawls, check=False)
    assert_one_line_error(proc, "no data for target nosuch.example (scope domain) in the index")
    proc = linkindex("report", "example.com", "-o", tmp_path / "r.csv", "--data", two_crawls,
                     check=False)
    assert_one_line_error(proc, "the report is HTML: name a .html file")
    proc = linkindex("report", "example.com", "--data", tmp_path / "none", check=False)
    assert_one_line_error(proc, "does not exist")
    assert list(tmp_path.iterdir()) == []  # nothing half-written


# ---------------------------------------------------------------------------
# The web UI
# ---------------------------------------------------------------------------


class Served:
    """`linkindex serve --port 0` in a subprocess, and the address it printed."""

    def __init__(self, data: Path | str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "linkindex", "serve", "--data", str(data), "--port", "0"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        match = re.search(r"on (http://127\.0\.0\.1:\d+/) ", line)
        assert match, (line, self.proc.stderr.read() if self.proc.poll() is not None else "")
        self.url = match[1]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def served(two_crawls: Path) -> Iterator[Served]:
    server = Served(two_crawls)
    yield server
    server.stop()


def open_ui(browser: Browser, url: str) -> tuple[Page, Recorder]:
    recorder = Recorder()
    page = recorder.attach(browser.new_page(viewport={"width": 1300, "height": 900}))
    page.goto(url)
    wait_for_tables(page)
    return page, recorder


def wait_for_tables(page: Page) -> None:
    page.wait_for_function("() => Array.from(document.querySelectorAll('table[data-source]'))"
                           ".every(t => !t.dataset.loading && t.dataset.loaded)")


def assert_loopback(recorder: Recorder, base: str) -> None:
    assert recorder.requests
    assert [url for url in recorder.requests if not url.startswith(base)] == []
    assert recorder.errors == []


def oracle_sort(rows: list[dict[str, Any]], column: str, descending: bool) -> list[dict]:
    """Stable sort by `column`, nulls last either way (as the UI promises)."""
    valued = [row for row in rows if row[column] is not None]
    nulls = [row for row in rows if row[column] is None]
    return sorted(valued, key=lambda row: row[column], reverse=descending) + nulls


def as_texts(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[cell_text(value) for value in row.values()] for row in rows]


def test_ui_shows_the_reports_views(served: Served, two_crawls: Path, browser: Browser) -> None:
    target = most_lost(two_crawls)
    page, recorder = open_ui(browser, f"{served.url}?target={target}")
    assert page.inner_text("#generation").startswith(manifest(two_crawls)["generation"])
    assert_charts(page, two_crawls, target, crawls=2)
    for key, args in {"referring_domains": [target], "anchors": [target],
                      "top_pages": [target],
                      "new_lost": [target, default_since(two_crawls).isoformat()]}.items():
        answer = run_query(two_crawls, key, args)
        assert table_rows(page, key) == texts(answer, PAGE_SIZE), key
        assert page.inner_text(f'[data-info-for="{key}"]').endswith(
            f"of {answer.num_rows}, page 1 of {max(1, -(-answer.num_rows // PAGE_SIZE))}")
    assert_loopback(recorder, served.url)
    screenshot(page, "ui.png")


def test_ui_sorts_pages_and_filters_on_the_server(served: Served, two_crawls: Path,
                                                   browser: Browser, tmp_path: Path) -> None:
    target = best_linked(two_crawls, 1)[0]
    page, recorder = open_ui(browser, f"{served.url}query?name=backlinks&target={target}")
    answer = run_query(two_crawls, "backlinks", [target])
    rows = answer.to_pylist()
    assert len(rows) > 2 * PAGE_SIZE  # paging has pages to turn
    assert table_rows(page, "backlinks") == as_texts(rows[:PAGE_SIZE])

    def reload(action: Any) -> None:
        page.evaluate("document.getElementById('backlinks').dataset.loaded = ''")
        action()
        wait_for_tables(page)

    reload(lambda: page.click('[data-next-for="backlinks"]'))
    assert table_rows(page, "backlinks") == as_texts(rows[PAGE_SIZE:2 * PAGE_SIZE])
    reload(lambda: page.click('[data-prev-for="backlinks"]'))
    assert table_rows(page, "backlinks") == as_texts(rows[:PAGE_SIZE])
    for descending in (False, True):  # one click sorts ascending, the next descending
        reload(lambda: page.click('#backlinks th[data-column="src_domain_rank"]'))
        assert table_rows(page, "backlinks") == as_texts(
            oracle_sort(rows, "src_domain_rank", descending)[:PAGE_SIZE])
    reload(lambda: page.click('[data-next-for="backlinks"]'))
    assert table_rows(page, "backlinks") == as_texts(
        oracle_sort(rows, "src_domain_rank", True)[PAGE_SIZE:2 * PAGE_SIZE])
    # the filter box: rows holding the text in any column, any case
    word = rows[0]["src_domain"].upper()
    reload(lambda: page.fill('[data-search-for="backlinks"]', word))
    kept = [row for row in oracle_sort(rows, "src_domain_rank", True)
            if any(word.lower() in cell.lower() for cell in as_texts([row])[0])]
    assert table_rows(page, "backlinks") == as_texts(kept[:PAGE_SIZE])
    assert f"of {len(kept)} ({len(rows)} before the filter)" in page.inner_text(
        '[data-info-for="backlinks"]')
    # the CSV download is the whole answer, as `linkindex export` writes it
    with page.expect_download() as download:
        page.click("#section_backlinks a.csv")
    assert Path(download.value.path()).read_bytes() == exported(
        tmp_path, two_crawls, "backlinks", target)
    assert_loopback(recorder, served.url)


def test_ui_takes_the_macros_parameters_as_form_fields(served: Served, two_crawls: Path,
                                                        browser: Browser) -> None:
    target = best_linked(two_crawls, 1)[0]
    page, _ = open_ui(browser, f"{served.url}query?name=anchors")
    page.fill("input[name=target]", target)
    page.check("input[name=dofollow]")
    page.select_option("select[name=position]", "content")
    page.fill("input[name=keywords]", "guide, pricing")
    with page.expect_navigation():
        page.click("button[type=submit]")
    wait_for_tables(page)
    answer = run_query(two_crawls, "anchors", [target],
                       filters=Filters(dofollow_only=True, position="content"),
                       options={"keywords": ["guide", "pricing"]})
    assert answer.num_rows > 0
    assert table_rows(page, "anchors") == texts(answer, PAGE_SIZE)


def test_ui_says_what_is_wrong(served: Served, browser: Browser) -> None:
    page, recorder = open_ui(browser, f"{served.url}?target=nosuch.example")
    assert page.inner_text(".error") == \
        "no data for target nosuch.example (scope domain) in the index"
    page.goto(f"{served.url}?target=http%3A%2F%2F&scope=exact")
    assert page.inner_text(".error").startswith("bad target 'http://'")
    page.goto(f"{served.url}query?name=referring_domains&target=x.example&min_domain_rank=high")
    assert page.inner_text(".error") == "bad min_domain_rank 'high': use a number"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{served.url}api/rows?query=nope&arg=x")
    assert refused.value.code == 400
    assert json.loads(refused.value.read())["error"].startswith("unknown query 'nope'")


def test_ui_answers_loopback_names_only(served: Served) -> None:
    """A page elsewhere cannot reach the UI by pointing its own name at 127.0.0.1."""
    request = urllib.request.Request(served.url, headers={"Host": "attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 400
    with urllib.request.urlopen(served.url) as answer:
        assert answer.status == 200
        assert "default-src 'self'" in answer.headers["Content-Security-Policy"]


def test_ui_picks_up_a_new_generation(crawled: Path, two_crawls: Path, browser: Browser,
                                      tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(crawled, data)
    target = most_lost(two_crawls)
    server = Served(data)
    try:
        page, _ = open_ui(browser, f"{server.url}?target={target}")
        before = manifest(data)["generation"]
        assert page.inner_text("#generation").startswith(before)
        assert chart_points(page, "chart_history") == [1, 1]
        shutil.copytree(two_crawls / "raw" / "c2", data / "raw" / "c2")
        linkindex("build", "--data", data)
        after = manifest(data)["generation"]
        assert after != before
        page.reload()
        wait_for_tables(page)
        assert page.inner_text("#generation").startswith(after)
        assert chart_points(page, "chart_history") == [2, 2]
    finally:
        server.stop()


def test_serve_mistakes_are_one_line(two_crawls: Path, tmp_path: Path) -> None:
    proc = linkindex("serve", "--data", tmp_path / "none", "--port", "0", check=False)
    assert_one_line_error(proc, "does not exist")
    server = Served(two_crawls)
    try:
        port = server.url.rsplit(":", 1)[1].strip("/")
        proc = linkindex("serve", "--data", two_crawls, "--port", port, check=False)
        assert_one_line_error(proc, f"cannot listen on 127.0.0.1:{port}")
    finally:
        server.stop()


def test_report_and_ui_on_an_object_store(two_crawls: Path, s3_env: Any, browser: Browser,
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DATA on s3:// (a real S3-protocol server on loopback): the same views."""
    from test_s3_data import upload

    from core.storage import Storage

    monkeypatch.setenv("LINKINDEX_CACHE", str(tmp_path / "cache"))
    url = s3_env.fresh_url("report")
    upload(two_crawls, Storage.of(url))
    linkindex("build", "--data", url)
    target = most_lost(two_crawls)
    report = tmp_path / "s3.html"
    linkindex("report", target, "-o", report, "--data", url)
    page, recorder = open_report(browser, report)
    answer = run_query(two_crawls, "referring_domains", [target])  # the folder's answer
    assert table_rows(page, "referring_domains") == texts(answer, REPORT_ROWS)
    assert_offline(recorder)
    server = Served(url)
    try:
        page, recorder = open_ui(browser, f"{server.url}?target={target}")
        assert table_rows(page, "referring_domains") == texts(answer, PAGE_SIZE)
        assert_loopback(recorder, server.url)
    finally:
        server.stop()
