"""Issue 19's frontier pieces against a real Redis: shards, fair pops, the scalable seen
filter, compressed robots.txt, the capped failed record, the send-time slot and the
job's memory. Expectations are computed here, not read from the product's helpers."""

from __future__ import annotations

import itertools
import math
import time
import zlib
from hashlib import blake2b

import pytest

from core.errors import LinkindexError
from crawler.frontier import jobs
from crawler.frontier.store import FrontierStore, Link
from crawler.spec import CrawlSpec
from linkindex.localredis import RedisServer

pytestmark = pytest.mark.slow

_names = itertools.count()


@pytest.fixture
def server(redis_server: RedisServer):
    return redis_server.client()


def new_job(server, seeds, **spec) -> FrontierStore:
    name = f"s{next(_names)}"
    jobs.submit(server, name, CrawlSpec(seeds, **spec))
    return FrontierStore(server, name)


def expected_shard(domain: str, shards: int) -> int:
    return int.from_bytes(blake2b(domain.encode(), digest_size=8).digest(), "big") % shards


def prefix(job: str, shard: int) -> str:
    return f"linkindex:{{{job}}}:" if shard == 0 else f"linkindex:{{{job}:{shard}}}:"


def test_each_domain_lives_in_one_shard_with_its_queue_and_counters(server) -> None:
    domains = [f"d{i}.example" for i in range(40)]
    f = new_job(server, [f"http://{d}/" for d in domains], delay=0, shards=4, robots=False)
    assert {key.shard for key in f.shards} == {0, 1, 2, 3}
    for domain in domains:
        home = expected_shard(domain, 4)
        for shard in range(4):
            exists = server.exists(prefix(f.job, shard) + f"q:{domain}")
            assert exists == (shard == home), (domain, shard)
    # each shard counts its own; the job's counts are their sum
    per_shard = [int(server.hget(prefix(f.job, k) + "stats", "queued") or 0) for k in range(4)]
    assert per_shard == [sum(expected_shard(d, 4) == k for d in domains) for k in range(4)]
    assert f.counts()["queued"] == 40
    # every shard has the job's config (its state), and the home the number of shards
    assert {server.hget(prefix(f.job, k) + "job", "state") for k in range(4)} == {"running"}
    assert server.hget(prefix(f.job, 0) + "job", "shards") == "4"


def test_pops_take_the_shards_in_turn(server) -> None:
    domains = [f"p{i}.example" for i in range(12)]
    shards = {d: expected_shard(d, 2) for d in domains}
    assert set(shards.values()) == {0, 1}
    f = new_job(server, [f"http://{d}/" for d in domains], delay=60, shards=2, robots=False)
    order = [expected_shard(f.pop("w", 1).requests[0].domain, 2) for _ in range(8)]
    assert order == [0, 1] * 4
    # a pop wanting more than one shard holds takes from the next one
    rest = f.pop("w", 100).requests
    assert len(rest) == 12 - 8


def test_a_page_cap_needs_one_shard_and_a_bloom_filter_over_512_mb_says_what_to_do() -> None:
    with pytest.raises(LinkindexError, match="--max-pages needs --shards 1"):
        CrawlSpec(["http://a.example/"], shards=2, max_pages=5)
    with pytest.raises(LinkindexError, match="--seen scalable, or more --shards"):
        CrawlSpec(["http://a.example/"], seen_mode="bloom", expected_urls=3_000_000_000)
    # the same filter over 16 shards is 16 filters of a sixteenth: within the limit
    spec = CrawlSpec(["http://a.example/"], seen_mode="bloom", expected_urls=3_000_000_000,
                     shards=16)
    assert spec.seen_filter().bloom_bits < 2**32


def layer(i: int, capacity: int, p: float) -> tuple[int, int, int]:
    """(m, k, capacity) of a scalable filter's layer i: twice the URLs, half the error."""
    cap, rate = capacity * 2**i, p / 2 * 0.5**i
    m = math.ceil(cap * -math.log(rate) / math.log(2) ** 2)
    k = max(1, math.ceil(-math.log2(rate)))
    return m, k, cap


def test_the_scalable_filter_grows_layer_by_layer_under_its_error_rate(server) -> None:
    p = 0.01
    f = new_job(server, ["http://s.example/"], delay=0, robots=False, scope="any",
                max_depth=None, seen_mode="scalable", expected_urls=1000,
                bloom_error_rate=p)
    urls = [f"http://s{i % 50}.example/page/{i}" for i in range(8000)]
    batches = [urls[i:i + 500] for i in range(0, len(urls), 500)]
    queued = sum(f.add([Link(u, u.split("/")[2]) for u in batch], 1) for batch in batches)
    # 1 seed + 8000 links: layers hold 1000, 2000, 4000, then the fourth takes the rest
    assert queued >= 8000 * (1 - p)
    sbf = server.hgetall(prefix(f.job, 0) + "sbf")
    assert int(sbf["layers"]) == 4
    for i in range(4):
        m, k, cap = layer(i, 1000, p)
        assert (int(sbf[f"m{i}"]), int(sbf[f"k{i}"]), int(sbf[f"c{i}"])) == (m, k, cap)
        assert server.strlen(prefix(f.job, 0) + f"bloom:{i}") <= (m + 7) // 8
    assert int(sbf["n"]) == queued + 1 - 7000  # the newest layer's count
    # no false negatives: nothing added comes back
    assert sum(f.add([Link(u, u.split("/")[2]) for u in batch], 1) for batch in batches) == 0
    # false positives on fresh URLs: under the target rate (a generous 2x bound on 20k)
    fresh = [f"http://s{i % 50}.example/fresh/{i}" for i in range(20_000)]
    taken = sum(f.add([Link(u, u.split("/")[2]) for u in fresh[i:i + 500]], 1)
                for i in range(0, len(fresh), 500))
    assert len(fresh) - taken <= 2 * p * len(fresh)
    assert f.seen(urls[123]) and not f.seen("http://s1.example/never")


def test_robots_txt_bodies_are_stored_compressed_and_read_back_exactly(server) -> None:
    f = new_job(server, ["http://r.example/"], delay=0)
    body = "User-agent: *\n" + "".join(f"Disallow: /private/{i}/\n" for i in range(400))
    f.store_robots("http://r.example", body, "r.example", 0)
    raw = server.hget(f.keys.robots, "http://r.example")
    assert raw.startswith("\0z") and len(raw) < len(body) / 4
    assert zlib.decompress(__import__("base64").b64decode(raw[2:])).decode() == body
    assert f.robots("http://r.example") == body
    f.store_robots("http://r.example:8080", "User-agent: *\n", "r.example", 0)
    assert f.robots("http://r.example:8080") == "User-agent: *\n"
    assert f.robots("http://r.example:9") is None
    server.hset(f.keys.robots, "http://old.r.example", "Disallow: /x")  # stored before
    assert f.robots("http://old.r.example") == "Disallow: /x"


def test_failed_reasons_are_kept_up_to_the_cap_and_counted_past_it(server) -> None:
    seeds = [f"http://f{i}.example/" for i in range(5)]
    f = new_job(server, seeds, delay=0, robots=False)
    assert server.hget(f.keys.config, "failed_max") == "100000"
    server.hset(f.keys.config, "failed_max", 3)  # a small cap, to reach it here
    popped = f.pop("w", 10).requests
    assert f.ack("w", [(r.url, f"failed: timeout {i}") for i, r in enumerate(popped)]) == 5
    assert server.hlen(f.keys.failed) == 3
    counts = f.counts()
    assert counts["failed"] == 5 and counts["failed_unrecorded"] == 2
    assert jobs.status(server, f.job).failed_unrecorded == 2


def test_a_late_send_takes_a_fresh_slot_of_its_domain_across_workers(server) -> None:
    f = new_job(server, ["http://t.example/"], delay=0.6, robots=False)
    other = FrontierStore(server, f.job)  # a second worker's view
    ready = f.keys.ready
    assert f.send_wait_ms("t.example") == 0  # its ready time (the submit) has come
    assert float(server.zscore(ready, "t.example")) > time.time() * 1000 + 500
    wait = other.send_wait_ms("t.example")
    assert 0 < wait <= 700  # the delay and the job's margin (0.1 s)
    assert other.pop("w2", 10).requests == []  # the pops wait for that slot too
    assert other.send_wait_ms("u.example") == 0  # another domain is not held up
    time.sleep(wait / 1000 + 0.01)
    assert other.send_wait_ms("t.example") == 0
    # a site's longer Crawl-delay governs its sends too
    f.store_robots("http://v.example", "User-agent: *\nCrawl-delay: 2\n", "v.example", 2000)
    assert f.send_wait_ms("v.example") == 0
    assert 1000 < other.send_wait_ms("v.example") <= 2100
    # no delay: nothing to space, nothing changed
    g = new_job(server, ["http://w.example/"], delay=0)
    before = server.zscore(g.keys.ready, "w.example")
    assert g.send_wait_ms("w.example") == g.send_wait_ms("w.example") == 0
    assert server.zscore(g.keys.ready, "w.example") == before
    # a job paused since the pop sends nothing more: the request is handed back
    jobs.set_state(server, g.job, "paused")
    assert g.send_wait_ms("w.example") == -1


def test_status_measures_the_jobs_memory_over_its_shards(server) -> None:
    f = new_job(server, [f"http://m{i}.example/" for i in range(30)], shards=3)
    keys = [k for pattern in (f"linkindex:{{{f.job}}}:*", f"linkindex:{{{f.job}:*}}:*")
            for k in server.scan_iter(match=pattern)]
    assert {k.split("}")[0] for k in keys} == {
        f"linkindex:{{{f.job}", f"linkindex:{{{f.job}:1", f"linkindex:{{{f.job}:2"}
    status = jobs.status(server, f.job, with_memory=True)
    assert status.memory_bytes == sum(server.memory_usage(k) for k in keys)
    assert status.memory_keys == len(keys) and not status.memory_estimated
    # past the cap on measured keys, the rest are counted and the total scaled
    sampled = jobs.memory(server, f.job, max_measured=10)
    assert (sampled.keys, sampled.measured, sampled.estimated) == (len(keys), 10, True)
    assert 0 < sampled.bytes
    assert status.shards == 3 and sum(status.nodes.values()) == 3
    assert jobs.status(server, f.job).memory_bytes is None
    assert jobs.purge(server, f.job) == len(keys)
