"""Issue 13, "Hostile web, honest errors": the hostile corpus (synthweb/hostile/,
docs/hostile.md), each case served from loopback with its exact expected outcome.

One crawl fetches the whole corpus through the hostile proxy (`--allow-private`, the
proxy is on loopback; DOWNLOAD_TIMEOUT 3 s so slow cases end fast; every other limit the
crawl's default). Then one test per case compares its stored pages row and links with
the expectation, and global tests check that the crawl finished, lost nothing and
counted right. The same cases that are whole responses are imported again from a WARC.
A second, small crawl without `--allow-private` checks that every private-address
spelling is refused before it reaches the proxy.
"""

from __future__ import annotations

import csv
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from clitools import REPO, assert_one_line_error, linkindex, run
from hostilecheck import Stored, mismatches
from warcdata import response, write_warc

from synthweb.hostile import (
    REFUSAL_START,
    START,
    TRAP_HOST,
    TRAP_PAGES,
    TRAP_START,
    Case,
    HostileServer,
    corpus_cases,
    hostile_corpus,
    refusal_cases,
    trap_cases,
)
from synthweb.hostile.cases_links import PRIVATE_SPELLINGS
from synthweb.hostile.doc import corpus_section
from synthweb.hostile.steps import Send

CRAWL_ID = "hostile"
CRAWL_TIMEOUT = 900  # seconds: the bound on the whole crawl (it takes 1-2 min)
TIMEOUT_SETTINGS = ["-s", "DOWNLOAD_DELAY=0", "-s", "DOWNLOAD_TIMEOUT=3",
                    "-s", "CONCURRENT_REQUESTS=64", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16"]
SUMMARY = re.compile(r"crawl (\S+): ([\d,]+) pages, ([\d,]+) links, ([\d,]+) errors")

CORPUS = hostile_corpus()
CASES = {case.id: case for case in CORPUS}
WARC_CASES = {case.id: case for case in CORPUS if case.warc}


@dataclass
class Run:
    """One command's run, and what it stored."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    data: Path
    stored: Stored
    requests: list[tuple[float, str, str]]  # the server's log: (time, Host, target)
    unknown: list[str]  # targets no case serves


def crawl(server: HostileServer, data: Path, crawl_id: str, seeds: list[str],
          *extra: str) -> Run:
    started = time.monotonic()
    proc = run([sys.executable, "-m", "linkindex", "crawl", *seeds, "--data", str(data),
                "--crawl-id", crawl_id, "--proxy", server.proxy_url, *TIMEOUT_SETTINGS,
                *extra], check=False, timeout=CRAWL_TIMEOUT)
    seconds = time.monotonic() - started
    return Run(proc.returncode, proc.stdout, proc.stderr, seconds, data,
               Stored(data, crawl_id), server.requests(), server.unknown())


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """DATA after one crawl of the whole hostile corpus and the calendar trap."""
    data = tmp_path_factory.mktemp("hostile") / "data"
    with HostileServer(CORPUS + trap_cases()) as server:
        return crawl(server, data, CRAWL_ID, [START, TRAP_START], "--allow-private")


# ---- the crawl ------------------------------------------------------------------------


@pytest.mark.slow
def test_the_crawl_finishes_cleanly(hostile: Run) -> None:
    assert hostile.returncode == 0, hostile.stderr[-3000:]
    assert "Traceback" not in hostile.stderr, hostile.stderr[-3000:]
    assert SUMMARY.search(hostile.stdout), hostile.stdout


@pytest.mark.slow
@pytest.mark.parametrize("case_id", list(CASES))
def test_case(hostile: Run, case_id: str) -> None:
    """The case's pages row (status, error kind, content type, title, …) and links."""
    case = CASES[case_id]
    problems = mismatches(case, hostile.stored)
    assert not problems, f"{case.id} ({case.what}): " + "; ".join(problems)


@pytest.mark.slow
def test_nothing_lost_and_nothing_extra(hostile: Run) -> None:
    """Every URL of the corpus that should have a row has exactly one (checked per case
    above); no row is for a URL outside the corpus and the trap; the crawler fetched no
    URL that no case serves."""
    known = {case.url for case in CORPUS} | {case.url for case in trap_cases()}
    problems = []
    extra = sorted(url for url in hostile.stored.pages if url not in known)
    if extra:
        problems.append(f"rows for URLs no case expects: {extra[:10]}")
    if hostile.unknown:
        problems.append(f"fetched URLs no case serves: {hostile.unknown[:10]}")
    missing = sorted(case.id for case in CORPUS
                     if case.expect.row and len(hostile.stored.pages.get(case.url, [])) != 1)
    if missing:
        problems.append(f"{len(missing)} URLs without exactly one row: {missing}")
    assert not problems, "; ".join(problems)


@pytest.mark.slow
def test_summary_counts_the_rows(hostile: Run) -> None:
    """The summary line's pages, links and errors are the stored rows: errors are rows
    with an error or an HTTP error status (disallowed pages counted in the errors or
    apart, "N disallowed by robots.txt"), and the errors by kind add up."""
    match = SUMMARY.search(hostile.stdout)
    assert match, hostile.stdout
    pages, links, errors = (int(match.group(i).replace(",", "")) for i in (2, 3, 4))
    stored = hostile.stored
    assert (pages, links) == (stored.n_pages, stored.n_links), hostile.stdout
    rows = [row for url_rows in stored.pages.values() for row in url_rows]
    # a page cut before parsing ("truncated: …") was fetched: a note, not a failure
    failed = sum(1 for row in rows
                 if (row["error"] is not None and not row["error"].startswith("truncated:"))
                 or (row["status"] or 0) >= 400)
    robots = sum(1 for row in rows if (row["error"] or "").startswith("robots:"))
    apart = re.search(r"([\d,]+) disallowed by robots\.txt", hostile.stdout)
    disallowed = int(apart.group(1).replace(",", "")) if apart else 0
    assert disallowed in (0, robots), hostile.stdout
    assert failed in (errors, errors + disallowed), (failed, hostile.stdout)
    by_kind = re.search(r"errors \(([^)]*)\)", hostile.stdout)
    if by_kind:
        counts = re.findall(r"(?:^|, )(\d[\d,]*) ", by_kind.group(1))
        assert sum(int(n.replace(",", "")) for n in counts) == errors, hostile.stdout


@pytest.mark.slow
def test_calendar_trap_is_bounded_by_default_limits(hostile: Run) -> None:
    """The trap is endless but for the server's own end after TRAP_PAGES months: the
    limits a crawl has by default must stop it well before that."""
    months = sum(1 for url in hostile.stored.pages if url.startswith(f"http://{TRAP_HOST}/"))
    assert months < TRAP_PAGES, (
        f"no default limit stopped the calendar trap: {months} of its {TRAP_PAGES} pages "
        "fetched")


@pytest.mark.slow
def test_export_neutralises_formula_anchors(hostile: Run, tmp_path: Path) -> None:
    """The csv-formula case's anchors, built and exported: every cell a spreadsheet would
    run (= + - @, also behind whitespace or in full width) starts with a quote."""
    data = tmp_path / "data"
    shutil.copytree(hostile.data / "raw", data / "raw")
    built = linkindex("build", "--data", data, check=False)
    assert built.returncode == 0, built.stderr
    out = tmp_path / "anchors.csv"
    linkindex("export", "anchors", "csv.example", "--data", data, "-o", out)
    with out.open(newline="", encoding="utf-8") as fh:
        anchors = sorted(row["anchor"] for row in csv.DictReader(fh))
    assert anchors == sorted(["'=1+1", "'\u200b=2+2", "'\uff1d3+3", "'@SUM(A1)", "'+5"])


# ---- the same responses from a WARC ---------------------------------------------------


def raw_response(case: Case) -> bytes:
    """The bytes the server sends for a case whose reply is one whole response."""
    steps = list(case.reply())
    assert all(isinstance(step, Send) for step in steps), case.id
    return b"".join(step.data for step in steps)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """DATA after `linkindex import-warc` of every whole-response case."""
    folder = tmp_path_factory.mktemp("hostile-warc")
    warc = folder / "hostile.warc.gz"
    write_warc(warc, [response(case.url, raw_response(case)) for case in WARC_CASES.values()])
    data = folder / "data"
    started = time.monotonic()
    proc = linkindex("import-warc", warc, "--crawl-id", "warc", "--data", data, check=False)
    return Run(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started, data,
               Stored(data, "warc"), [], [])


@pytest.mark.slow
def test_warc_import_loses_nothing(imported: Run) -> None:
    assert imported.returncode == 0, imported.stderr
    assert "Traceback" not in imported.stderr, imported.stderr
    assert imported.stored.n_pages == len(WARC_CASES), imported.stdout
    assert set(imported.stored.pages) == {case.url for case in WARC_CASES.values()}


@pytest.mark.slow
@pytest.mark.parametrize("case_id", list(WARC_CASES))
def test_warc_case(imported: Run, case_id: str) -> None:
    case = WARC_CASES[case_id]
    problems = mismatches(case, imported.stored)
    assert not problems, f"{case.id} from WARC ({case.what}): " + "; ".join(problems)


# ---- private addresses, without --allow-private ----------------------------------------


@pytest.mark.slow
def test_private_spellings_are_refused_before_the_proxy(tmp_path: Path) -> None:
    """Every spelling, linked or redirected to, is a `refused:` row, and no request for
    it (robots.txt included) reaches the proxy."""
    cases = refusal_cases()
    with HostileServer(cases) as server:
        result = crawl(server, tmp_path / "data", "refusal", [REFUSAL_START], "--scope", "any")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    problems = {case.id: mismatches(case, result.stored) for case in cases}
    problems = {case_id: found for case_id, found in problems.items() if found}
    assert not problems, problems
    reached = [target for _, _, target in result.requests
               if target.partition("://")[2].partition("/")[0] in PRIVATE_SPELLINGS]
    assert not reached, f"requests for private addresses reached the proxy: {reached}"
    assert not result.unknown, result.unknown


# ---- a worker id that is a path ---------------------------------------------------------


@pytest.mark.slow
def test_worker_id_with_a_path_is_refused_in_one_line(tmp_path: Path) -> None:
    """`-s LINKINDEX_WORKER_ID=../../../x`: one line, exit 1, no file outside DATA/raw."""
    data = tmp_path / "deep" / "er" / "data"
    with HostileServer([c for c in CORPUS if c.id == "start"]) as server:
        proc = linkindex("crawl", START, "--data", data, "--crawl-id", "w", "--proxy",
                         server.proxy_url, "--allow-private", *TIMEOUT_SETTINGS,
                         "-s", "LINKINDEX_WORKER_ID=../../../x", check=False)
    assert_one_line_error(proc, "bad worker id")
    outside = [p for p in tmp_path.rglob("*")
               if p.is_file() and (data / "raw") not in p.parents]
    assert not outside, outside


# ---- the corpus itself -----------------------------------------------------------------


def test_the_corpus_has_at_least_80_cases_and_the_docs_list_them() -> None:
    """docs/hostile.md holds the table `python -m synthweb.hostile` prints."""
    cases = corpus_cases()
    assert len(cases) >= 80
    doc = (REPO / "docs" / "hostile.md").read_text(encoding="utf-8")
    assert corpus_section(cases) in doc, "docs/hostile.md is stale: python -m synthweb.hostile"
