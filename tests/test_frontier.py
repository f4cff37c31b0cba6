"""The shared frontier's scripts against a real Redis: seen filter, politeness, leases,
limits, job states, purge. One job name per test keeps tests apart."""

from __future__ import annotations

import itertools
import json

import pytest

from core.errors import LinkindexError
from crawler.frontier import jobs
from crawler.frontier.fingerprint import SeenFilter
from crawler.frontier.robots import crawl_delay_ms
from crawler.frontier.store import FrontierStore, Link, over_cap_reason
from crawler.spec import CrawlSpec
from linkindex.localredis import RedisServer

# Every test talks to a real Redis server (the session's).
pytestmark = pytest.mark.slow

_names = itertools.count()


@pytest.fixture
def server(redis_server: RedisServer):
    return redis_server.client().__class__.from_url(redis_server.url, decode_responses=True)


def new_job(server, seeds, **spec) -> FrontierStore:
    name = f"t{next(_names)}"
    jobs.submit(server, name, CrawlSpec(seeds, **spec))
    return FrontierStore(server, name)


def links(*urls: str) -> list[Link]:
    return [Link(u, u.split("/")[2].removeprefix("www.")) for u in urls]


def drain(frontier: FrontierStore, worker: str = "w1", n: int = 100) -> list[str]:
    return [r.url for r in frontier.pop(worker, n).requests]


def test_submit_queues_each_seed_once_after_its_robots_txt(server) -> None:
    f = new_job(server, ["http://a.example/", "http://a.example/", "http://b.example/x"],
                delay=0)
    assert f.counts()["queued"] == 4  # 2 pages + 2 robots.txt
    popped = drain(f, n=2)  # robots.txt comes first in each domain
    assert popped == ["http://a.example/robots.txt", "http://b.example/robots.txt"]
    assert drain(f) == ["http://a.example/", "http://b.example/x"]
    assert drain(f) == []
    with pytest.raises(LinkindexError, match="exists"):
        jobs.submit(server, f.job, CrawlSpec(["http://a.example/"]))


def test_add_checks_and_sets_the_seen_filter_in_one_call(server) -> None:
    f = new_job(server, ["http://a.example/"], delay=0, robots=False)
    assert f.add(links("http://a.example/1", "http://a.example/2", "http://a.example/1"), 1) == 2
    assert f.add(links("http://a.example/2", "http://a.example/3", "http://a.example/"), 1) == 1
    assert f.counts()["queued"] == 4
    # exact mode: fingerprints held as integers in small sets (intsets, 8 bytes each)
    seen_keys = list(server.scan_iter(match=f.keys.prefix + "seen:*"))
    assert len(seen_keys) == 4
    assert {server.object("encoding", k) for k in seen_keys} == {"intset"}


def test_bloom_mode_filters_too(server) -> None:
    f = new_job(server, ["http://a.example/"], delay=0, robots=False, seen_mode="bloom",
                expected_urls=1000)
    assert f.seen_filter.mode == "bloom"
    assert f.add(links(*[f"http://a.example/{i}" for i in range(300)]), 1) == 300
    assert f.add(links(*[f"http://a.example/{i}" for i in range(300)]), 1) == 0
    assert server.strlen(f.keys.bloom) == (f.seen_filter.bloom_bits + 7) // 8


def test_seen_filter_sizes() -> None:
    bloom = SeenFilter.sized("bloom", 1_000_000, 0.001)
    assert bloom.bloom_hashes == 10
    assert bloom.bloom_bits / 8 / 1_000_000 == pytest.approx(1.797, abs=0.01)
    assert bloom.false_positive_rate(1_000_000) == pytest.approx(0.001, rel=0.05)
    assert SeenFilter.sized("exact", 10_000_000, 0).bucket_bits == 16
    assert SeenFilter.sized("exact", 1000, 0).bucket_bits == 4
    with pytest.raises(ValueError):
        SeenFilter.sized("fuzzy", 10, 0.1)


def test_a_domain_is_popped_once_per_delay_across_workers(server) -> None:
    f = new_job(server, ["http://a.example/", "http://b.example/"], delay=60, robots=False)
    f.add(links("http://a.example/1", "http://a.example/2", "http://b.example/1"), 1)
    first = f.pop("w1", 10)
    assert sorted(r.url for r in first.requests) == ["http://a.example/", "http://b.example/"]
    later = f.pop("w2", 10)  # another worker, at once: both domains wait their delay
    assert later.requests == [] and later.state == "running"
    assert 59_000 < later.wait_ms <= 60_100
    ready = dict(server.zrange(f.keys.ready, 0, -1, withscores=True))
    assert set(ready) == {"a.example", "b.example"}


def test_crawl_delay_from_robots_lengthens_a_domains_delay(server) -> None:
    f = new_job(server, ["http://a.example/"], delay=0, margin=0, robots=False)
    f.add(links("http://a.example/1"), 1)
    f.store_robots("http://a.example", "User-agent: *\nCrawl-delay: 5\n", "a.example", 5000)
    assert drain(f) == ["http://a.example/"]
    nothing = f.pop("w1", 10)
    assert nothing.requests == [] and 4000 < nothing.wait_ms <= 5000
    assert f.robots("http://a.example") == "User-agent: *\nCrawl-delay: 5\n"


def test_ack_settles_a_lease_and_the_job_finishes(server) -> None:
    f = new_job(server, ["http://a.example/"], delay=0, robots=False)
    assert not f.finished()
    [url] = drain(f)
    assert f.counts() | {"enqueued": 0} == {"queued": 0, "leased": 1, "done": 0, "failed": 0,
                                           "ignored": 0, "enqueued": 0, "robots": 0,
                                           "fetched": 0, "stored": 0, "skipped": 0,
                                               "failed_unrecorded": 0}
    assert not f.finished()
    assert f.ack("w2", [(url, "done")]) == 0  # not w2's lease
    assert f.ack("w1", [(url, "done")]) == 1
    assert f.ack("w1", [(url, "done")]) == 0  # once only
    assert f.counts()["done"] == 1 and f.counts()["stored"] == 1 and f.finished()


def test_a_robots_txt_ack_is_done_without_a_stored_page(server) -> None:
    f = new_job(server, ["http://a.example/"], delay=0)
    robots, page = drain(f)
    f.ack("w1", [(robots, "robots"), (page, "failed: timeout: 30 s")])
    counts = f.counts()
    assert (counts["done"], counts["failed"], counts["stored"], counts["skipped"]) == (
        1, 1, 1, 0)


def test_failed_and_ignored_outcomes(server) -> None:
    f = new_job(server, ["http://a.example/", "http://b.example/"], delay=0, robots=False,
                max_pages=2)
    a, b = drain(f)
    f.ack("w1", [(a, "failed: timeout"), (b, "ignored")])
    assert server.hgetall(f.keys.failed) == {a: "failed: timeout"}
    counts = f.counts()
    assert (counts["failed"], counts["ignored"], counts["enqueued"]) == (1, 1, 1)
    # the ignored page gave its slot back to the page limit
    assert f.add(links("http://a.example/1", "http://a.example/2"), 1) == 1


def test_page_limits(server) -> None:
    f = new_job(server, ["http://a.example/"], delay=0, robots=False, max_pages=3,
                max_pages_per_domain=2)
    assert f.add(links("http://a.example/1", "http://a.example/2", "http://b.example/1",
                       "http://b.example/2", "http://c.example/"), 1) == 2
    # queued without its domain (the queue's key names it); the pop adds it back
    assert [json.loads(r) for r in server.lrange(f.keys.queue("b.example"), 0, -1)] == [
        {"u": "http://b.example/1", "d": 1}]
    assert f.counts()["enqueued"] == 3


def test_release_hands_leases_back_to_the_front(server) -> None:
    f = new_job(server, ["http://a.example/"], delay=0, robots=False)
    f.add(links("http://a.example/1"), 1)
    assert drain(f, n=1) == ["http://a.example/"]
    assert f.release("w1") == 1
    assert server.zscore(f.keys.workers, "w1") is None  # the worker left
    assert drain(f, "w2") == ["http://a.example/", "http://a.example/1"]  # back in front


def test_a_dead_workers_leases_return_and_fail_after_max_attempts(server) -> None:
    f = new_job(server, ["http://a.example/"], delay=0, robots=False, max_attempts=2)
    assert drain(f, "dead") == ["http://a.example/"]
    assert f.beat("alive", {"pages": 0}, lease_seconds=60) == 0  # "dead" beat just now
    assert f.beat("alive", {"pages": 0}, lease_seconds=0) == 1  # …silent "too long"
    requeued = f.pop("dead2", 1).requests
    assert [(r.url, r.attempts) for r in requeued] == [("http://a.example/", 1)]
    f.beat("alive", {"pages": 0}, lease_seconds=0)  # second lapse: attempts == max
    assert server.hgetall(f.keys.failed) == {"http://a.example/": "lease lapsed 2 times"}
    assert f.counts()["failed"] == 1 and f.finished()


def test_pause_resume_stop(server) -> None:
    f = new_job(server, ["http://a.example/"], delay=0, robots=False)
    jobs.set_state(server, f.job, "paused")
    popped = f.pop("w1", 5)
    assert (popped.state, popped.requests) == ("paused", [])
    jobs.set_state(server, f.job, "running")
    assert drain(f) == ["http://a.example/"]
    jobs.set_state(server, f.job, "stopped")
    assert f.pop("w1", 5).state == "stopped"
    with pytest.raises(LinkindexError, match="no job"):
        jobs.set_state(server, "nosuchjob", "paused")


def test_purge_removes_only_that_jobs_keys(server) -> None:
    keep = new_job(server, ["http://a.example/"], delay=0)
    gone = new_job(server, ["http://a.example/"], delay=0)
    drain(gone)
    before = set(server.scan_iter(match=keep.keys.pattern))
    assert jobs.purge(server, gone.job) >= 5
    assert list(server.scan_iter(match=gone.keys.pattern)) == []
    assert set(server.scan_iter(match=keep.keys.pattern)) == before
    assert gone.job not in jobs.job_names(server) and keep.job in jobs.job_names(server)
    assert all(k.startswith(f"linkindex:{{{keep.job}}}:") for k in before)


def test_status_counts_and_progress(server) -> None:
    f = new_job(server, ["http://a.example/", "http://b.example/"], delay=0, robots=False)
    [a, _] = drain(f)
    f.ack("w1", [(a, "done")])
    f.beat("w1", {"fetched": 2, "stored": 1, "rate": 2.5, "stored_rate": 1.0,
                  "queued_rate": 0.5}, lease_seconds=60, fetched=2)
    s = jobs.status(server, f.job)
    assert (s.state, s.queued, s.leased, s.done, s.finished) == ("running", 0, 1, 1, False)
    assert (s.fetched, s.stored, s.robots, s.display_state) == (2, 1, 0, "running")
    assert s.progress == 0.5 and s.pages_per_second == 2.5 and s.eta_seconds == 0.4
    assert [(w.name, w.fetched, w.stored) for w in s.workers] == [("w1", 2, 1)]
    as_json = s.to_dict()
    assert (as_json["finished"], as_json["fetched"], as_json["stored"]) == (False, 2, 1)
    assert (as_json["pages_per_second"], as_json["eta_seconds"]) == (2.5, 0.4)
    assert as_json["display_state"] == "running" and as_json["growing"] is False


def test_fetched_is_the_sum_of_the_workers_beats_and_outlives_them(server) -> None:
    f = new_job(server, ["http://a.example/"], delay=0, robots=False)
    f.beat("w1", {"fetched": 3}, lease_seconds=60, fetched=3)
    f.beat("w2", {"fetched": 4}, lease_seconds=60, fetched=4)
    f.beat("w1", {"fetched": 5}, lease_seconds=60, fetched=2)  # 2 more since its last
    f.release("w1")  # w1 leaves: its pages stay counted
    s = jobs.status(server, f.job)
    assert s.fetched == 9 and [w.name for w in s.workers] == ["w2"]


@pytest.mark.parametrize(("rates", "eta"), [
    ({"rate": 0.0, "queued_rate": 0.0}, None),  # nothing fetched: unknown
    ({"rate": 4.0, "queued_rate": 4.0}, None),  # the frontier grows as fast: unknown
    ({"rate": 4.0, "queued_rate": 1.0}, 1.0),  # (queued + leased) / rate
])
def test_eta_is_unknown_without_a_rate_or_while_the_frontier_grows(server, rates, eta) -> None:
    f = new_job(server, [f"http://a.example/{i}" for i in range(4)], delay=0, robots=False)
    f.beat("w1", rates, lease_seconds=60)
    s = jobs.status(server, f.job)
    assert s.queued == 4 and s.eta_seconds == eta
    assert s.growing is (rates["rate"] > 0 and rates["queued_rate"] >= rates["rate"])


def test_display_state_is_finished_when_nothing_is_queued_or_leased(server) -> None:
    f = new_job(server, ["http://a.example/"], delay=0, robots=False)
    jobs.set_state(server, f.job, "stopped")
    assert jobs.status(server, f.job).display_state == "stopped"  # still queued
    jobs.set_state(server, f.job, "running")
    [url] = drain(f)
    assert jobs.status(server, f.job).display_state == "running"  # leased
    f.ack("w1", [(url, "done")])
    for state in ("running", "paused", "stopped"):
        jobs.set_state(server, f.job, state)
        s = jobs.status(server, f.job)
        assert (s.state, s.display_state, s.eta_seconds) == (state, "finished", 0.0)
    listed = {s.name: s.display_state for s in jobs.statuses(server)}
    assert listed[f.job] == "finished"


# --- a robots.txt Crawl-delay over the job's cap (issue 13, item 4) ------------------

OVER = "crawl-delay 100000000 s over the cap 60 s"


def test_over_cap_reason() -> None:
    assert over_cap_reason(100_000_000_000, 60_000) == OVER
    assert over_cap_reason(90_500, 60_000) == "crawl-delay 90.5 s over the cap 60 s"
    assert over_cap_reason(60_000, 60_000) is None  # at the cap: honoured
    assert over_cap_reason(1, 0) == "crawl-delay 0.001 s over the cap 0 s"
    assert over_cap_reason(10**30, float("inf")) is None
    assert crawl_delay_ms("User-agent: *\nCrawl-delay: 100000000\n", "bot") == 10**11
    assert crawl_delay_ms("User-agent: *\nCrawl-delay: 1e400\n", "bot") == 0  # not a delay
    with pytest.raises(LinkindexError, match="--max-crawl-delay must not be negative"):
        CrawlSpec(["http://a.example/"], max_crawl_delay=-1)


def test_a_crawl_delay_over_the_cap_skips_the_domain(server) -> None:
    f = new_job(server, ["http://a.example/", "http://b.example/"], delay=0, margin=0)
    assert server.hget(f.keys.config, "max_crawl_delay_ms") == "60000"  # the default cap
    assert drain(f, n=2) == ["http://a.example/robots.txt", "http://b.example/robots.txt"]
    # another host of a.example (its own robots.txt, queued first) and one more page
    f.add(links("http://www.a.example/x", "http://a.example/1"), 1)
    body = "User-agent: *\nCrawl-delay: 100000000\n"
    assert f.store_robots("http://a.example", body, "a.example", 100_000_000_000) == OVER
    assert f.store_robots("http://b.example", "Crawl-delay: 5", "b.example", 5000) is None
    f.ack("w1", [("http://a.example/robots.txt", "robots"),
                 ("http://b.example/robots.txt", "robots")])
    assert f.robots("http://a.example") == body  # stored all the same
    assert f.skipped() == {"a.example": OVER}
    assert server.hgetall(f.keys.delay) == {"b.example": "5000"}  # a.example's not kept
    # a.example's pages are leased at once, marked; www.a.example's robots.txt is not
    # fetched at all (settled as ignored)
    popped = f.pop("w1", 10).requests
    assert [(r.url, r.skip) for r in popped] == [
        ("http://b.example/", ""), ("http://a.example/", OVER),
        ("http://www.a.example/x", OVER), ("http://a.example/1", OVER)]
    counts = f.counts()
    assert (counts["queued"], counts["leased"], counts["ignored"]) == (0, 4, 1)
    # links found later into the skipped domain are leased at once too
    f.add(links("http://a.example/2"), 1)
    assert [(r.url, r.skip) for r in f.pop("w2", 10).requests] == [("http://a.example/2", OVER)]
    # the workers store each as a page row and acknowledge it as failed
    f.ack("w1", [(r.url, "failed: skipped: " + OVER) for r in popped[1:]])
    f.ack("w2", [("http://a.example/2", "failed: skipped: " + OVER)])
    f.ack("w1", [("http://b.example/", "done")])
    counts = f.counts()
    assert (counts["failed"], counts["skipped"], counts["stored"], counts["done"]) == (
        4, 4, 5, 3)
    assert server.hget(f.keys.failed, "http://a.example/1") == "failed: skipped: " + OVER
    assert f.finished()
    s = jobs.status(server, f.job)
    assert (s.skipped, s.skipped_domains, s.display_state) == (4, {"a.example": OVER},
                                                               "finished")
    # a second host's longer delay does not change the reason recorded first
    f.store_robots("http://www.a.example", "Crawl-delay: 999", "a.example", 999_000)
    assert f.skipped() == {"a.example": OVER}


def test_a_skipped_domain_waits_no_longer_for_its_delay(server) -> None:
    f = new_job(server, ["http://a.example/"], delay=600, margin=0, max_crawl_delay=30)
    assert drain(f) == ["http://a.example/robots.txt"]  # a.example is next ready in 600 s
    assert f.pop("w1", 10).wait_ms > 500_000
    assert f.store_robots("http://a.example", "Crawl-delay: 31", "a.example", 31_000) == (
        "crawl-delay 31 s over the cap 30 s")
    f.ack("w1", [("http://a.example/robots.txt", "robots")])
    [page] = f.pop("w1", 10).requests
    assert (page.url, page.skip) == ("http://a.example/", "crawl-delay 31 s over the cap 30 s")
    # a lapsed lease goes back with its mark and is handed out at once again
    assert f.beat("w2", {}, lease_seconds=0) == 1
    [again] = f.pop("w2", 10).requests
    assert (again.url, again.attempts, again.skip) == (page.url, 1, page.skip)


def test_no_cap_honours_any_crawl_delay(server) -> None:
    f = new_job(server, ["http://a.example/"], delay=0, margin=0,
                max_crawl_delay=float("inf"))
    assert server.hget(f.keys.config, "max_crawl_delay_ms") == "inf"
    drain(f)
    assert f.store_robots("http://a.example", "Crawl-delay: 1e8", "a.example", 10**11) is None
    assert f.skipped() == {} and f.pop("w1", 10).requests == []
