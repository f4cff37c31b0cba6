"""The report's and the UI's "Since last run" section (report.monitoring).

Alert documents are written here by hand, in the shape `linkindex monitor` writes
(docs/monitoring.md), at DATA/monitor/runs/<watch>/<run id>.json; the index is a small
hand-made one (tests/indexdata.py). Expected cells are written out below.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from clitools import REPO, linkindex
from indexdata import edge, page, write_index

from core.layout import MONITOR_RUNS
from core.storage import Storage
from report.html import render_report
from report.monitoring import ROWS, since_last_run
from report.profile import ViewRequest

TARGET = "site.example"
SCRIPT = "<script>alert(1)</script>"
NEW_LINK = {"src_url": "https://blog.example/post", "src_domain": "blog.example",
            "src_domain_rank": 42.5, "dst_url": "https://site.example/pricing",
            "anchor": SCRIPT, "kind": "a", "nofollow": False, "ugc": True,
            "sponsored": False, "changed_at": "2026-12-04T10:00:00Z", "sitewide": False}
LOST_LINK = {"src_url": "https://old.example/links", "src_domain": "old.example",
             "src_domain_rank": 7.0, "dst_url": "https://site.example/", "anchor": "Site",
             "kind": "a", "nofollow": True, "ugc": False, "sponsored": False,
             "changed_at": "2026-12-03T08:30:00Z", "lost_reason": "redirected",
             "lost_to": "https://rival.example/"}


def document(run_id: str, *, watch: str = "site", target: str = TARGET,
             scope: str = "domain", **fields: Any) -> dict[str, Any]:
    """An alert document of version 1, every field present; `fields` replace some."""
    doc: dict[str, Any] = {
        "document": "linkindex-alert", "version": 1, "watch": watch, "target": target,
        "scope": scope, "competitors": ["rival.example", "other.example"],
        "run": {"id": run_id, "crawl_id": f"monitor-{run_id}",
                "started_at": "2026-12-05T04:40:00+00:00",
                "finished_at": "2026-12-05T04:44:41+00:00",
                "since": "2026-11-28T04:43:10+00:00", "previous_run": "20261128T043900Z",
                "urls_recrawled": 12, "pages_fetched": 11},
        "thresholds": {"lost_links": 1},
        "counts": {"anchor_shift": 1, "competitor_gains": 3, "lost_links": 1,
                   "lost_referring_domains": 1, "new_links": 1,
                   "new_referring_domains": 1, "toxic_score": 1, "tracked_changes": 1},
        "triggered": ["new_links", "lost_links", "competitor_gains"],
        "new_links": [NEW_LINK],
        "lost_links": [LOST_LINK],
        "new_referring_domains": [{"domain": "blog.example", "domain_rank": 42.5,
                                   "backlinks": 2}],
        "new_referring_domains_ranked": ["blog.example"],
        "lost_referring_domains": [{"domain": "old.example",
                                    "reasons": ["redirected", "page_gone"]}],
        "anchor_shift": [{"anchor_class": "exact", "share_before": 0.1, "share_now": 0.25,
                          "points": 15.0}],
        "new_sitewide_links": [],
        "new_toxic_domains": [{"domain": "spam.example", "toxic_score": 72.5,
                               "reasons": "same /24 20.0, thin 15.0"}],
        "competitor_gains": {"rival.example": [{"domain": "news.example", "domain_rank": 60.0},
                                               {"domain": "wiki.example", "domain_rank": 80.0}],
                             "other.example": [{"domain": "forum.example",
                                                "domain_rank": 12.0}]},
        "tracked": [{"source_url": "https://partner.example/", "target_url":
                     "https://site.example/", "status": "lost", "detail": "link_removed",
                     "lost_at": "2026-12-02T00:00:00Z", "previous_status": "live",
                     "news": True}],
        "deliveries": [{"destination": "https://hooks.example.com/seo?…", "ok": False,
                        "attempts": 4, "status": "HTTP 503", "delivered_at": None},
                       {"destination": "mailto:seo@example.com", "ok": True, "attempts": 1,
                        "status": "250 OK", "delivered_at": "2026-12-05T04:44:43+00:00"}],
    }
    doc.update(fields)
    return doc


def write(data: Path, doc: dict[str, Any] | str, watch: str = "", run_id: str = "") -> str:
    """Write a document (a dict as `linkindex monitor` writes it, or raw text) where a
    run writes it; return its path relative to DATA."""
    if isinstance(doc, dict):
        watch, run_id = watch or doc["watch"], run_id or doc["run"]["id"]
        doc = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    rel = f"{MONITOR_RUNS}/{watch}/{run_id}.json"
    (data / rel).parent.mkdir(parents=True, exist_ok=True)
    (data / rel).write_text(doc)
    return rel


# The cells each table shows for document(...), written out.
EXPECTED = {
    "run_counts": [["new_links", "1", "yes"], ["lost_links", "1", "yes"],
                   ["new_referring_domains", "1", ""], ["lost_referring_domains", "1", ""],
                   ["anchor_shift", "1", ""], ["toxic_score", "1", ""],
                   ["competitor_gains", "3", "yes"], ["tracked_changes", "1", ""]],
    "run_new_links": [["https://blog.example/post", "blog.example", "42.5",
                       "https://site.example/pricing", SCRIPT, "a", "false", "true", "false",
                       "2026-12-04T10:00:00Z", "false"]],
    "run_lost_links": [["https://old.example/links", "old.example", "7.0",
                        "https://site.example/", "Site", "a", "true", "false", "false",
                        "2026-12-03T08:30:00Z", "redirected", "https://rival.example/"]],
    "run_new_referring_domains": [["blog.example", "42.5", "2"]],
    "run_lost_referring_domains": [["old.example", "redirected|page_gone"]],
    "run_anchor_shift": [["exact", "0.1", "0.25", "15.0"]],
    "run_new_toxic_domains": [["spam.example", "72.5", "same /24 20.0, thin 15.0"]],
    "run_competitor_gains": [["rival.example", "news.example", "60.0"],
                             ["rival.example", "wiki.example", "80.0"],
                             ["other.example", "forum.example", "12.0"]],
    "run_tracked": [["https://partner.example/", "https://site.example/", "lost", "live",
                     "true", "link_removed"]],
    "run_deliveries": [["https://hooks.example.com/seo?…", "false", "4", "HTTP 503", ""],
                       ["mailto:seo@example.com", "true", "1", "250 OK",
                        "2026-12-05T04:44:43+00:00"]],
}
COLUMNS = {
    "run_new_links": ["src_url", "src_domain", "src_domain_rank", "dst_url", "anchor", "kind",
                      "nofollow", "ugc", "sponsored", "changed_at", "sitewide"],
    "run_lost_links": ["src_url", "src_domain", "src_domain_rank", "dst_url", "anchor",
                       "kind", "nofollow", "ugc", "sponsored", "changed_at", "lost_reason",
                       "lost_to"],
    "run_competitor_gains": ["competitor", "domain", "domain_rank"],
    "run_tracked": ["source_url", "target_url", "status", "previous_status", "news",
                    "detail"],
    "run_deliveries": ["destination", "ok", "attempts", "status", "delivered_at"],
}
LINE = {"run_id": "20261205T044441Z", "run_since": "2026-11-28 04:43:10 UTC",
        "run_finished": "2026-12-05 04:44:41 UTC", "run_watch": "site",
        "run_triggered": "new_links, lost_links, competitor_gains"}


# ---------------------------------------------------------------------------
# The section's data
# ---------------------------------------------------------------------------


def test_the_latest_run_of_a_watch_on_the_target_and_scope(tmp_path: Path) -> None:
    assert since_last_run(tmp_path, TARGET, "domain") is None  # no monitor/ at all
    write(tmp_path, document("20261121T040000Z"))
    write(tmp_path, document("20261128T043900Z"))
    # another watch on the same target and scope: its run is older
    write(tmp_path, document("20261201T000000Z", watch="site-pages"))
    latest = write(tmp_path, document("20261205T044441Z"))
    # ignored: later runs of another target, of the same target under another scope
    write(tmp_path, document("20261206T000000Z", watch="rival", target="rival.example"))
    write(tmp_path, document("20261207T000000Z", watch="site-host", scope="host"))
    (tmp_path / MONITOR_RUNS / "site" / "20261230T000000Z.json.tmp").write_text("{")

    section = since_last_run(tmp_path, TARGET, "domain")
    assert section is not None and section.error is None
    assert section.path == latest
    assert (section.run_id, section.watch, section.since, section.finished) == (
        "20261205T044441Z", "site", "2026-11-28 04:43:10 UTC", "2026-12-05 04:44:41 UTC")
    assert section.triggered == ("new_links", "lost_links", "competitor_gains")
    assert section.counts is not None
    assert section.counts.columns == ["count", "value", "triggered"]
    assert section.counts.rows == EXPECTED["run_counts"]
    tables = {table.key: table for table in section.tables}
    assert list(tables) == list(EXPECTED)[1:]
    for key, table in tables.items():
        assert table.rows == EXPECTED[key], key
        assert table.total == len(EXPECTED[key])
    for key, columns in COLUMNS.items():
        assert tables[key].columns == columns

    host = since_last_run(tmp_path, TARGET, "host")
    assert host is not None and host.run_id == "20261207T000000Z"
    assert since_last_run(tmp_path, "rival.example", "domain").watch == "rival"
    assert since_last_run(tmp_path, "other.example", "domain") is None
    assert since_last_run(tmp_path, TARGET, "exact") is None


def test_a_later_run_of_another_watch_on_the_target_wins(tmp_path: Path) -> None:
    write(tmp_path, document("20261205T044441Z"))
    write(tmp_path, document("20261206T010203Z", watch="site-2"))
    section = since_last_run(tmp_path, TARGET, "domain")
    assert (section.watch, section.run_id) == ("site-2", "20261206T010203Z")


def test_empty_lists_and_the_row_limit(tmp_path: Path) -> None:
    links = [{**NEW_LINK, "src_url": f"https://blog.example/{i:03d}"} for i in range(150)]
    write(tmp_path, document("20261205T044441Z", new_links=links, lost_links=[],
                             competitor_gains={"rival.example": []}, triggered=[],
                             deliveries=[]))
    section = since_last_run(tmp_path, TARGET, "domain")
    tables = {table.key: table for table in section.tables}
    assert tables["run_new_links"].total == 150
    assert [row[0] for row in tables["run_new_links"].rows] == [
        f"https://blog.example/{i:03d}" for i in range(ROWS)]
    for key in ("run_lost_links", "run_competitor_gains", "run_deliveries"):
        assert (tables[key].rows, tables[key].total) == ([], 0)
    assert section.triggered == ()


def broken(doc: dict[str, Any], *path: str | int) -> dict[str, Any]:
    """`doc` without the key at `path` (e.g. "new_links", 0, "anchor")."""
    doc = copy.deepcopy(doc)
    holder: Any = doc
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    return doc


GOOD = document("20261205T044441Z")


@pytest.mark.parametrize(("text", "reason"), [
    ('{"target": "site.example", "scope": "domain", ', "not JSON (Expecting property name "
     "enclosed in double quotes: line 1 column 47 (char 46))"),
    (b'{"anchor": "\xc3\x28"}', "not JSON ('utf-8' codec can't decode byte 0xc3"),
    ("[1, 2]\n", "not a JSON object"),
    (broken(GOOD, "counts"), "no 'counts'"),
    (broken(GOOD, "run", "since"), "no 'run.since'"),
    (broken(GOOD, "new_links", 0, "anchor"), "new_links[0] has no 'anchor'"),
    (broken(GOOD, "tracked", 0, "status"), "tracked[0] has no 'status'"),
    ({**GOOD, "lost_links": {"a": 1}}, "'lost_links' is not a list"),
    ({**GOOD, "competitor_gains": {"rival.example": [3]}},
     "competitor_gains['rival.example'][0] is not an object"),
    ({**GOOD, "run": {**GOOD["run"], "since": "last week"}},
     "'run.since' is not an ISO 8601 moment: 'last week'"),
    ({**GOOD, "document": "something-else"},
     "not a linkindex-alert document (document: 'something-else')"),
    ({**GOOD, "version": "1"}, "'version' is not a whole number"),
])
def test_a_malformed_latest_document_is_one_line(tmp_path: Path, text: Any,
                                                 reason: str) -> None:
    write(tmp_path, document("20261128T043900Z"))  # says whose watch "site" is
    run_id = "20261205T044441Z"
    rel = f"{MONITOR_RUNS}/site/{run_id}.json"
    if isinstance(text, bytes):
        (tmp_path / rel).write_bytes(text)
    else:
        write(tmp_path, text, watch="site", run_id=run_id)
    section = since_last_run(tmp_path, TARGET, "domain")
    assert section is not None and section.path == rel
    expected = f"the latest monitoring run's document could not be read: {rel}: {reason}"
    assert section.error is not None and section.error.startswith(expected)
    assert "\n" not in section.error
    assert (section.counts, section.tables, section.run_id) == (None, (), "")


def test_a_watch_whose_documents_say_nothing_is_skipped(tmp_path: Path) -> None:
    """No readable document names the watch's target: it is no one's."""
    write(tmp_path, "not json", watch="mystery", run_id="20261230T000000Z")
    write(tmp_path, "null", watch="mystery", run_id="20261229T000000Z")
    assert since_last_run(tmp_path, TARGET, "domain") is None
    write(tmp_path, document("20261205T044441Z"))
    assert since_last_run(tmp_path, TARGET, "domain").run_id == "20261205T044441Z"


# ---------------------------------------------------------------------------
# In the report file and in the UI
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DATA with a small index of links to site.example, and no monitoring run."""
    data = tmp_path_factory.mktemp("monitoring") / "data"
    write_index(data, [edge("https://blog.example/post", "https://site.example/pricing",
                            SCRIPT, ugc=True),
                       edge("https://news.example/a", "https://site.example/", "Site")],
                [page("https://site.example/"), page("https://site.example/pricing")],
                ranks={"blog.example": 42.5, "news.example": 60})
    return data


@pytest.fixture
def monitored(index: Path, tmp_path: Path) -> Path:
    """The index, with runs of watches on site.example and on another target."""
    data = tmp_path / "data"
    shutil.copytree(index, data)
    write(data, document("20261128T043900Z"))
    write(data, document("20261205T044441Z"))
    write(data, document("20261209T000000Z", watch="rival", target="rival.example"))
    return data


class Section(HTMLParser):
    """The "Since last run" section of a page: its tables' cells, the run line's spans."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.heads: dict[str, list[str]] = {}
        self.spans: dict[str, str] = {}
        self.nones: list[str] = []
        self.error = ""
        self._table = ""
        self._cell: list[str] | None = None
        self._in = ""  # the id of the span or paragraph whose text is being read
        match = re.search(r'<section class="table-section" id="since_last_run">.*?</section>',
                          html, re.S)
        self.found = match is not None
        if match:
            self.feed(match[0])

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "table":
            self._table = attr["id"] or ""
            self.tables[self._table], self.heads[self._table] = [], []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("span", "p") and attr.get("id"):
            self._in = attr["id"] or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = ""
        elif tag in ("td", "th") and self._cell is not None:
            text, self._cell = "".join(self._cell), None
            if tag == "th":
                self.heads[self._table].append(text)
            else:
                self.tables[self._table][-1].append(text)
        elif tag in ("span", "p"):
            self._in = ""

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._in.endswith("_none"):
            assert data == "none"
            self.nones.append(self._in.removesuffix("_none"))
        elif self._in == "run_error":
            self.error += data
        elif self._in.startswith("run_") and self._in != "run_line":
            self.spans[self._in] = self.spans.get(self._in, "") + data

    def rows(self, key: str) -> list[list[str]]:
        return [row for row in self.tables[key] if row]  # the heading's row is empty


def assert_the_section(html: str) -> None:
    section = Section(html)
    assert section.found
    assert html.count("Since last run") == 1
    assert section.spans == LINE
    assert section.heads["run_counts"] == ["count", "value", "triggered"]
    for key, columns in COLUMNS.items():
        assert section.heads[key] == columns, key
    assert {key: section.rows(key) for key in section.tables} == EXPECTED
    assert section.nones == []
    # The anchor is text: escaped in the page, never an element.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SCRIPT not in html


@pytest.mark.slow
def test_the_report_shows_the_latest_run(monitored: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.html"
    linkindex("report", TARGET, "--data", monitored, "-o", out)
    assert_the_section(out.read_text("utf-8"))


@pytest.mark.slow
def test_no_run_no_section(index: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.html"
    linkindex("report", TARGET, "--data", index, "-o", out)
    html = out.read_text("utf-8")
    assert "Since last run" not in html and "since_last_run" not in html
    assert "<h1>Backlink profile of" in html  # the report itself is there


def test_a_malformed_document_is_one_line_in_the_report(monitored: Path) -> None:
    rel = write(monitored, '{"target": "site.example"', watch="site",
                run_id="20261210T000000Z")
    html = render_report(monitored, ViewRequest(TARGET))
    section = Section(html)
    assert section.found and section.tables == {} and section.spans == {}
    assert section.error.startswith(
        f"the latest monitoring run's document could not be read: {rel}: not JSON (")
    assert 'id="section_referring_domains"' in html  # the rest of the report is there


def test_another_scope_has_no_section(monitored: Path) -> None:
    html = render_report(monitored, ViewRequest(TARGET, scope="host"))
    assert "Since last run" not in html


class Served:
    """`linkindex serve --port 0` in a subprocess, and the address it printed."""

    def __init__(self, data: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "linkindex", "serve", "--data", str(data), "--port", "0"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        match = re.search(r"on (http://127\.0\.0\.1:\d+/) ", line)
        assert match, (line, self.proc.stderr.read() if self.proc.poll() is not None else "")
        self.url = match[1]

    def get(self, query: str) -> str:
        with urllib.request.urlopen(f"{self.url}?{query}", timeout=30) as answer:
            return answer.read().decode("utf-8")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture
def served(monitored: Path) -> Iterator[Served]:
    server = Served(monitored)
    yield server
    server.stop()


@pytest.mark.slow
def test_the_ui_view_shows_the_latest_run(served: Served, monitored: Path) -> None:
    assert_the_section(served.get(f"target={TARGET}"))
    # a new run shows on the next request
    write(monitored, document("20261212T000000Z", new_links=[], triggered=[]))
    section = Section(served.get(f"target={TARGET}"))
    assert section.spans["run_id"] == "20261212T000000Z"
    assert section.spans["run_triggered"] == "none"
    assert "run_new_links" in section.nones
    assert "Since last run" not in served.get(f"target={TARGET}&scope=host")


def test_on_an_object_store(index: Path, s3_env: Any, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    """DATA on s3:// (moto's server on loopback): the documents are read from the store."""
    monkeypatch.setenv("LINKINDEX_CACHE", str(tmp_path / "cache"))
    storage = Storage.of(s3_env.fresh_url("monitoring"))
    for path in sorted((index / "index").rglob("*")):
        if path.is_file():
            storage.put_file(path.relative_to(index).as_posix(), path)
    assert since_last_run(storage, TARGET, "domain") is None
    assert "Since last run" not in render_report(storage, ViewRequest(TARGET))
    for doc in (document("20261128T043900Z"), document("20261205T044441Z"),
                document("20261209T000000Z", watch="rival", target="rival.example")):
        storage.put_bytes(f"{MONITOR_RUNS}/{doc['watch']}/{doc['run']['id']}.json",
                          json.dumps(doc).encode())
    assert since_last_run(storage, TARGET, "domain").run_id == "20261205T044441Z"
    assert_the_section(render_report(storage, ViewRequest(TARGET)))
