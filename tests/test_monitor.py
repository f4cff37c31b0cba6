"""`linkindex watch`, `track` and `monitor` on two editions of the synthetic web: a quiet
first run, then the web changes (pages gone, redirected, noindex, nofollow, errors, the
Related links redrawn) and the second run's alert equals the history oracle's changes
(tests/historytruth.py), delivered once to a webhook and once by SMTP on loopback, with
a failing webhook retried and recorded without losing the run."""

from __future__ import annotations

import fcntl
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pytest
from aiosmtpd.controller import Controller
from clitools import FAST, assert_one_line_error, crawl_args, linkindex
from historytruth import counted_links, expected_changes

from core.errors import LinkindexError
from linkindex.localredis import free_port
from synthweb import ExpectedCrawl, SyntheticWeb, WebServer

pytestmark = pytest.mark.slow  # two recrawls of the synthetic web

TARGET = "site1.example"
NETWORKED, COMPETITOR = "site30.example", "site31.example"  # synthweb.web.network_target


def domain(url: str) -> str:
    """The synthetic web's registrable domains are the last two labels of the host."""
    return ".".join((urlsplit(url).hostname or "").split(".")[-2:])


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.posts.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

        server = self
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture(scope="module")
def truth1() -> ExpectedCrawl:
    from webtools import WEB_ARGS

    return SyntheticWeb(**WEB_ARGS).expected_crawl()


@pytest.fixture(scope="module")
def web2() -> Iterator[tuple[WebServer, ExpectedCrawl]]:
    from webtools import WEB_ARGS

    web = SyntheticWeb(**WEB_ARGS, edition=2)
    with WebServer(web) as server:
        yield server, web.expected_crawl()


def fetched(data: Path, crawl_id: str) -> set[str]:
    """The pages a monitor run's crawl fetched (a robots refusal is not a fetch)."""
    return {r[0] for r in duckdb.execute(
        "SELECT url FROM read_parquet(?) WHERE error IS NULL OR split_part(error, ':', 1) "
        "NOT IN ('robots', 'refused', 'skipped')",
        [f"{data}/raw/{crawl_id}/pages/*.parquet"]).fetchall()}


def run_monitor(data: Path, proxy: str, *extra: str, check: bool = True) -> Any:
    return linkindex("monitor", "--data", data, "--own-pages", "0", "--proxy", proxy,
                     "--allow-private", *FAST, *extra, check=check)


def test_two_runs_alert_on_exactly_what_changed(
        crawled: Path, web_server: WebServer, web2: tuple[WebServer, ExpectedCrawl],
        truth1: ExpectedCrawl, seeds_file: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    server2, truth2 = web2
    data = tmp_path / "data"
    shutil.copytree(crawled, data)
    hook, mailbox = Receiver(), Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    dead_hook = f"http://127.0.0.1:{free_port()}/nobody"
    monkeypatch.setenv("LINKINDEX_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LINKINDEX_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("LINKINDEX_SMTP_TLS", "none")
    monkeypatch.setenv("LINKINDEX_WEBHOOK_SECRET", "s3cret")
    try:
        linkindex("watch", "add", TARGET, "--notify", hook.url, "--notify",
                  "mailto:seo@site1.example", "--notify", dead_hook, "--data", data)
        # edition 2's new link networks: to site30, and to its competitor site31
        linkindex("watch", "add", NETWORKED, "--competitor", COMPETITOR, "--keyword",
                  "Partner", "--data", data)
        assert "site1.example: site1.example (scope domain, notify 3)" in linkindex(
            "watch", "list", "--data", data).stdout
        # tracked: one that stays, one whose page goes (404), one turned nofollow, one never seen
        kept = sorted(k for k in counted_links(truth1) & counted_links(truth2)
                      if domain(k[1]) == TARGET and domain(k[0]) != TARGET
                      and k[2] == "a" and k[3])[0]
        links = tmp_path / "links.csv"
        links.write_text(
            "source_url,target_url,anchor,rel\n"
            f"{kept[0]},{kept[1]},{kept[3]},dofollow\n"
            "http://site3.example/p/1,http://site1.example/p/3,,\n"
            "http://site3.example/p/5,http://site1.example/p/3,,dofollow\n")
        linkindex("track", "add", TARGET, "--links", links, "--data", data)

        # run 1, the same web again: nothing changed, nothing sent
        out = run_monitor(data, web_server.proxy_url).stdout
        assert "quiet: nothing reached a threshold" in out
        (first,) = sorted((data / "monitor" / "runs" / TARGET).glob("*.json"))
        doc1 = json.loads(first.read_text())
        (quiet,) = (data / "monitor" / "runs" / NETWORKED).glob("*.json")
        assert json.loads(quiet.read_text())["triggered"] == []
        assert doc1["triggered"] == [] and doc1["deliveries"] == []
        assert doc1["new_links"] == doc1["lost_links"] == []
        assert hook.posts == [] and mailbox.messages == []
        assert {t["status"] for t in doc1["tracked"]} == {"live"}
        links.write_text("http://nowhere.example/page,http://site1.example/\n")
        out = linkindex("track", "add", TARGET, "--links", links, "--data", data).stdout
        assert "4 tracked links" in out

        # the web later: the weekly full crawl finds it, then run 2 rechecks and reports
        linkindex("crawl", "--seeds-file", seeds_file,
                  *crawl_args(server2.proxy_url, data, "c2"))
        out = run_monitor(data, server2.proxy_url).stdout
        assert "alert:" in out and "sent to 2 of 3" in out
        second = sorted((data / "monitor" / "runs" / TARGET).glob("*.json"))[-1]
        doc = json.loads(second.read_text())
    finally:
        smtp.stop()
        hook.shutdown()
    assert doc["run"]["previous_run"] == doc1["run"]["id"]
    expected = {r for r in expected_changes(truth1, truth2)
                if r[0] in ("new", "lost") and domain(r[3]) == TARGET and domain(r[2]) != TARGET}
    got = {(change, link.get("lost_reason"), link["src_url"], link["dst_url"], link["kind"],
            link["anchor"], link.get("lost_to"))
           for change in ("new", "lost") for link in doc[f"{change}_links"]}
    assert got == expected
    assert {r[1] for r in expected} >= {None, "page_gone", "now_nofollow", "page_noindex"}
    assert doc["counts"]["new_links"] == len(doc["new_links"]) > 0
    assert doc["counts"]["lost_links"] == len(doc["lost_links"]) > 0
    # referring domains and competitor gains, independently from the two truths
    def referring(name: str, links: set[tuple]) -> set[str]:
        return {domain(k[0]) for k in links if domain(k[1]) == name and domain(k[0]) != name}

    before, now = counted_links(truth1), counted_links(truth2)
    net = json.loads(sorted((data / "monitor" / "runs" / NETWORKED).glob("*.json"))[-1]
                     .read_text())
    for name, document in ((TARGET, doc), (NETWORKED, net)):
        assert {d["domain"] for d in document["new_referring_domains"]} == (
            referring(name, now) - referring(name, before)), name
        assert {d["domain"] for d in document["lost_referring_domains"]} == (
            referring(name, before) - referring(name, now)), name
    gained = (referring(COMPETITOR, now) - referring(COMPETITOR, before)
              - referring(NETWORKED, now) - {NETWORKED})
    assert {g["domain"] for g in net["competitor_gains"][COMPETITOR]} == gained
    network = {"site44.example", "site45.example", "site46.example"}
    assert network <= {d["domain"] for d in net["new_referring_domains"]}
    assert {"site47.example", "site49.example"} <= gained
    assert network <= {link["src_domain"] for link in net["new_sitewide_links"]}
    assert {"new_referring_domains", "competitor_gains"} <= set(net["triggered"])
    # the network's "Partner" anchors, the watch's keyword: an exact-match spike
    into = [k for k in now if domain(k[1]) == NETWORKED and domain(k[0]) != NETWORKED]
    exact = {row["anchor_class"]: row for row in net["anchor_shift"]}["exact"]
    assert exact["share_before"] == 0.0
    assert exact["share_now"] == round(sum(k[3] == "Partner" for k in into) / len(into), 4)
    assert exact["points"] == round(exact["share_now"] * 100, 2) >= 10
    assert "anchor_shift" in net["triggered"]
    # toxic newcomers: the new referring domains toxic_domains scores 50 or more
    from queries import run_query

    scores = {r["src_domain"]: r["toxic_score"] for r in run_query(
        data, "toxic_domains", [NETWORKED], options={"keywords": ["Partner"]}).to_pylist()}
    newcomers = {d["domain"] for d in net["new_referring_domains"]}
    assert {(d["domain"], d["toxic_score"]) for d in net["new_toxic_domains"]} == {
        (d, scores[d]) for d in newcomers if scores.get(d, 0) >= 50}
    # tracked links, as the second run left them
    status = {t["source_url"]: (t["status"], t["detail"], t["news"]) for t in doc["tracked"]}
    assert status == {
        kept[0]: ("live", "", False),
        "http://site3.example/p/1": ("lost", "page_gone", True),
        "http://site3.example/p/5": ("changed", "rel nofollow, expected dofollow", True),
        "http://nowhere.example/page": ("never_seen", "", True),
    }
    assert doc["counts"]["tracked_changes"] == 3
    # exactly one message each; the dead webhook retried, then recorded failed
    assert len(hook.posts) == 1 and len(mailbox.messages) == 1
    headers, body = hook.posts[0]
    assert json.loads(body) == {**doc, "deliveries": []}
    assert headers["X-Linkindex-Signature"].startswith("sha256=")
    assert mailbox.messages[0].rcpt_tos == ["seo@site1.example"]
    deliveries = {d["destination"]: d for d in doc["deliveries"]}
    assert deliveries[dead_hook]["ok"] is False and deliveries[dead_hook]["attempts"] == 4
    assert deliveries[hook.url]["ok"] and deliveries["mailto:seo@site1.example"]["ok"]


def test_one_run_at_a_time_and_bad_input(crawled: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(crawled, data)
    proc = linkindex("monitor", "--data", data, check=False)
    assert_one_line_error(proc, "no watch to run")
    linkindex("watch", "add", TARGET, "--data", data)
    for args, message in (
        (["watch", "add", TARGET], "watch 'site1.example' exists"),
        (["watch", "add", "x.example", "--notify", "ftp://x"], "alert destination 'ftp:'"),
        (["watch", "add", "x.example", "--threshold", "nope=1"], "--threshold 'nope=1'"),
        (["watch", "remove", "nope"], "no watch 'nope'"),
        (["track", "add", "nope.example", "--links", tmp_path / "x.csv"], "no watch named"),
    ):
        assert_one_line_error(linkindex(*args, "--data", data, check=False), message)
    bad = tmp_path / "bad.csv"
    bad.write_text("http://a.example/,not a url\n")
    assert_one_line_error(linkindex("track", "add", TARGET, "--links", bad, "--data", data,
                                    check=False), "line 1: not an http(s) URL")
    (data / "monitor").mkdir(exist_ok=True)
    with open(data / "monitor" / "monitor.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = linkindex("monitor", "--data", data, check=False)
    assert_one_line_error(proc, "another `linkindex monitor` is running")
    linkindex("watch", "remove", TARGET, "--data", data)
    assert "no watches" in linkindex("watch", "list", "--data", data).stdout


def test_a_run_through_cluster_workers(crawled: Path, web_server: WebServer,
                                       tmp_path: Path) -> None:
    """--redis: the recrawl is a job the standing workers serve; the run waits for it,
    builds, and answers as a local run would. A Redis of its own: a worker without
    --job serves the oldest unfinished job, and other tests leave theirs."""
    from linkindex.localredis import RedisServer

    with RedisServer(tmp_path / "redis") as redis_server:
        _cluster_run(crawled, web_server, redis_server, tmp_path)


def _cluster_run(crawled: Path, web_server: WebServer, redis_server: Any,
                 tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from clitools import REPO
    from clustertools import QUICK_LEASES, STARTED, finish

    from queries import run_query

    data = tmp_path / "data"
    shutil.copytree(crawled, data)
    linkindex("watch", "add", TARGET, "--data", data)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "linkindex", "worker", "--stay", "--redis", redis_server.url,
         "--data", str(data), "--proxy", web_server.proxy_url, "--allow-private", *FAST,
         *QUICK_LEASES], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, stdin=subprocess.DEVNULL)
    STARTED.append(worker)
    out = linkindex("monitor", "--data", data, "--own-pages", "5", "--redis",
                    redis_server.url).stdout
    worker.send_signal(signal.SIGTERM)
    finish(worker, timeout=60)
    assert "quiet: nothing reached a threshold" in out
    (path,) = (data / "monitor" / "runs" / TARGET).glob("*.json")
    doc = json.loads(path.read_text())
    crawl_id = doc["run"]["crawl_id"]
    assert doc["run"]["pages_fetched"] == len(fetched(data, crawl_id)) > 0
    assert doc["run"]["urls_recrawled"] == len(fetched(data, crawl_id))
    # the target's own pages, its best-linked first: the five top_pages gives
    top = [r["dst_url"] for r in run_query(data, "top_pages", [TARGET], limit=5).to_pylist()]
    assert {u for u in fetched(data, crawl_id) if domain(u) == TARGET} == set(top)


def test_watch_and_track_lists_on_an_object_store(s3_env: Any, tmp_path: Path) -> None:
    from core.storage import Storage

    url = s3_env.fresh_url("monitor")
    linkindex("watch", "add", TARGET, "--competitor", COMPETITOR, "--data", url)
    links = tmp_path / "links.csv"
    links.write_text("http://a.example/p,http://site1.example/x,Anchor,nofollow\n")
    assert "1 tracked links" in linkindex("track", "add", TARGET, "--links", links,
                                          "--data", url).stdout
    stored = Storage.of(url)
    watch = json.loads(stored.get_bytes(f"monitor/watches/{TARGET}.json"))
    assert (watch["target"], watch["competitors"], watch["version"]) == (
        TARGET, [COMPETITOR], 1)
    assert json.loads(stored.get_bytes(f"monitor/tracks/{TARGET}.json"))["links"] == [
        {"source_url": "http://a.example/p", "target_url": "http://site1.example/x",
         "anchor": "Anchor", "rel": "nofollow"}]
    assert f"{TARGET}: {TARGET}" in linkindex("watch", "list", "--data", url).stdout
    assert_one_line_error(linkindex("monitor", "--data", url, check=False),
                          "does not take an object store")


def test_a_cluster_run_without_workers_ends_in_one_line(redis_server: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """No worker serves the recrawl job: the run gives up (here after 1 s), it does not
    wait forever; the job stays, for workers that come later."""
    from linkindex.monitor_cmd import _cluster_crawl
    from monitor import defaults

    monkeypatch.setattr(defaults, "NO_WORKER_SECONDS", 1.0)
    monkeypatch.setattr(defaults, "POLL_SECONDS", 0.1)
    with pytest.raises(LinkindexError) as failed:
        _cluster_crawl(redis_server.url, ["http://site1.example/"], "monitor-noworker")
    assert str(failed.value).startswith("no worker has served job monitor-noworker for 1 s")
    linkindex("job", "purge", "monitor-noworker", "--redis", redis_server.url)
