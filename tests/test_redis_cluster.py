"""The frontier on a real 3-master Redis Cluster started on loopback (issue 19).

Before: `job submit` through a node not owning the job's slot failed with MovedError, a
job was left half-made (its registry on another node), purge failed half-way, and a
worker without --job logged MovedError and hung. Here a job is submitted through any
node, sharded over all three masters, crawled by two workers (one kill -9ed), and the
result equals the generator's truth, as a local crawl's does (test_end_to_end).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from clitools import linkindex
from clustertools import (
    fetched_urls,
    finish,
    index_edges,
    job_status,
    raw_rows,
    start_worker,
    submit,
    wait_for,
)
from redis.crc import key_slot
from webtools import EDGE_COLUMNS

from linkindex.localredis import LocalRedisCluster, RedisServer
from synthweb import ExpectedCrawl, SyntheticWeb, WebServer

pytestmark = pytest.mark.slow

# Job names whose 6 shards land on all three masters (CRC16 of the hash tags, as laid
# out by LocalRedisCluster: slots split in three equal ranges).
SHARDED = "c3"
CONTROL = "ctl"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedisCluster]:
    with LocalRedisCluster(tmp_path_factory.mktemp("cluster"), masters=3) as started:
        yield started


def owner(cluster: LocalRedisCluster, key: str) -> RedisServer:
    return cluster.node_of_slot(key_slot(key.encode()))


def other_node(cluster: LocalRedisCluster, key: str) -> RedisServer:
    """A node that does not hold `key`: a plain client there gets MOVED."""
    return next(n for n in cluster.nodes if n is not owner(cluster, key))


def keys_on_nodes(cluster: LocalRedisCluster, job: str) -> dict[int, list[str]]:
    """Each node's keys of `job`, asked of each node directly."""
    out = {}
    for node in cluster.nodes:
        client = node.client()
        found = list(client.scan_iter(match=f"linkindex:{{{job}}}:*"))
        found += list(client.scan_iter(match=f"linkindex:{{{job}:*}}:*"))
        out[node.port] = found
    return out


def test_submit_through_any_node_shard_over_three_masters_and_survive_kill_9(
        cluster: LocalRedisCluster, web_server: WebServer, web: SyntheticWeb,
        seeds_file: Path, crawled: Path, tmp_path: Path) -> None:
    truth: ExpectedCrawl = web.expected_crawl()
    # A plain redis:// URL of a node owning neither the job's home nor the job list:
    # the server says it is a cluster, and the cluster client follows its redirections.
    entry = other_node(cluster, f"linkindex:{{{SHARDED}}}:job")
    submit(entry.url, SHARDED, seeds_file, "--delay", "0", "--shards", "6")
    status = job_status(cluster.url, SHARDED)
    assert status["shards"] == 6
    assert len(status["nodes"]) == 3 and sum(status["nodes"].values()) == 6
    assert status["queued"] > 0 and status["memory_bytes"] > 0
    placed = keys_on_nodes(cluster, SHARDED)
    assert all(placed.values()), f"a master holds none of the job: {placed}"

    data = tmp_path / "data"
    victim = start_worker(cluster.url, data, SHARDED, web_server.proxy_url,
                          "-s", "CONCURRENT_REQUESTS=4", "-s", "LINKINDEX_WORKER_ID=victim")
    survivor = start_worker(entry.url, data, SHARDED, web_server.proxy_url,
                            "-s", "CONCURRENT_REQUESTS=4")
    total = len(truth.fetched)

    client = redis.RedisCluster.from_url(cluster.nodes[0].url.removesuffix("/0"),
                                         decode_responses=True)
    tags = [SHARDED] + [f"{SHARDED}:{k}" for k in range(1, 6)]

    def victim_holds_leases() -> bool:
        return sum(client.hlen(f"linkindex:{{{tag}}}:lw:victim") for tag in tags) > 0

    def fetched_share() -> float:  # leases are held until a part is written: count both
        counts = [client.hmget(f"linkindex:{{{tag}}}:stats", ["done", "leased"])
                  for tag in tags]
        return sum(int(v or 0) for pair in counts for v in pair) / total

    wait_for(lambda: fetched_share() >= 0.4 and victim_holds_leases(),
             what="40% of the pages, the victim holding some")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    finish(survivor)

    assert fetched_urls(data, SHARDED, web) == set(truth.fetched)
    rows = raw_rows(data, SHARDED, "pages", "url")
    edges = raw_rows(data, SHARDED, "edges", ", ".join(EDGE_COLUMNS))
    # the victim's unflushed pages were fetched again by the survivor; a page the victim
    # had stored is not stored twice unless its lease lapsed before the ack: compare sets
    assert {r[0] for r in rows} == set(truth.pages)
    assert set(edges) == {tuple(e.row()[c] for c in EDGE_COLUMNS) for e in truth.edges}
    status = job_status(cluster.url, SHARDED)
    assert status["finished"] and status["failed"] == 0 and status["leased"] == 0
    assert status["done"] == len(truth.fetched) + status["robots"]
    assert not victim_holds_leases()  # returned to the queue on every shard
    # and the index built from it is the local crawl's
    linkindex("build", "--data", data)
    assert index_edges(data) == index_edges(crawled)


def test_job_control_and_purge_across_nodes(cluster: LocalRedisCluster,
                                            seeds_file: Path) -> None:
    url = cluster.url
    submit(url, CONTROL, seeds_file, "--shards", "6")
    nodes = {n.port: n.client() for n in cluster.nodes}

    def states() -> set[str]:
        found = set()
        for k in range(6):
            tag = CONTROL if k == 0 else f"{CONTROL}:{k}"
            key = f"linkindex:{{{tag}}}:job"
            found.add(nodes[owner(cluster, key).port].hget(key, "state"))
        return found

    assert states() == {"running"}
    for action, state in (("pause", "paused"), ("resume", "running"), ("stop", "stopped")):
        linkindex("job", action, CONTROL, "--redis", url)
        assert states() == {state}
    # a second submit of the name says so, and leaves the job as it was
    again = linkindex("job", "submit", CONTROL, "https://a.example/", "--redis", url,
                      check=False)
    assert again.returncode == 1 and "exists" in again.stderr and states() == {"stopped"}
    listed = linkindex("job", "list", "--redis", url, "--json").stdout
    assert f'"name": "{CONTROL}"' in listed

    purged = linkindex("job", "purge", CONTROL, "--redis", url).stdout
    assert purged.startswith(f"job {CONTROL}: purged (")
    assert keys_on_nodes(cluster, CONTROL) == {port: [] for port in nodes}
    jobs_key_node = nodes[owner(cluster, "linkindex:jobs").port]
    assert jobs_key_node.zscore("linkindex:jobs", CONTROL) is None
    # the name is free again, and a purge of no job is one line
    submit(url, CONTROL, seeds_file, "--shards", "2")
    linkindex("job", "purge", CONTROL, "--redis", url)
    gone = linkindex("job", "purge", CONTROL, "--redis", url, check=False)
    assert gone.returncode == 1
    assert gone.stderr.strip() == f"linkindex: error: no job '{CONTROL}' in this Redis"


def test_a_worker_without_job_on_a_plain_url_serves_the_cluster_no_moved_hang(
        cluster: LocalRedisCluster, web_server: WebServer, web: SyntheticWeb,
        tmp_path: Path) -> None:
    """The original hang: a worker without --job, pointed at one node, read the job
    list with a plain client, got MovedError and waited forever."""
    entry = other_node(cluster, "linkindex:jobs")
    linkindex("job", "submit", "nomove", web.seeds()[3], "--max-pages", "6", "--delay", "0",
              "--redis", entry.url)
    health = tmp_path / "health"
    proc = linkindex("worker", "--redis", entry.url, "--data", tmp_path / "data", "--proxy",
                     web_server.proxy_url, "--allow-private", "--health-file", health,
                     "-s", "LINKINDEX_LEASE_SECONDS=2")
    assert "job nomove: 6 pages stored by this worker (finished)" in proc.stdout
    assert "MovedError" not in proc.stderr and "Traceback" not in proc.stderr
    assert health.exists()  # touched at each heartbeat that reached Redis
    assert linkindex("probe", "--health-file", health, "--max-age", "600").returncode == 0
    linkindex("job", "purge", "nomove", "--redis", entry.url)


def test_a_redis_error_no_retry_mends_ends_the_worker_loudly(
        cluster: LocalRedisCluster, web_server: WebServer, seeds_file: Path,
        tmp_path: Path) -> None:
    """Redis refusing writes (maxmemory reached, noeviction: the deploy's policy) is not
    an outage to wait out: the worker writes what it holds and exits 1 with one line."""
    job, data = "oom", tmp_path / "data"
    submit(cluster.url, job, seeds_file, "--delay", "0.3", "--shards", "3")
    # parts every second, so pages are stored (and acknowledged) while it crawls
    worker = start_worker(cluster.url, data, job, web_server.proxy_url,
                          "-s", "CONCURRENT_REQUESTS=2", "-s", "LINKINDEX_PART_MAX_SECONDS=1")
    wait_for(lambda: job_status(cluster.url, job)["stored"] >= 20, what="20 pages stored")
    for node in cluster.nodes:
        node.client().config_set("maxmemory", "1")
    try:
        out, err = worker.communicate(timeout=120)
    finally:
        for node in cluster.nodes:
            node.client().config_set("maxmemory", "0")
    assert worker.returncode == 1, (out, err)
    last = err.strip().splitlines()[-1]
    assert last.startswith("linkindex: error: Redis at redis+cluster://127.0.0.1:"), err
    assert "OutOfMemoryError" in last and "> 'maxmemory'" in last, err
    assert "Traceback" not in err, err
    # the pages it had fetched are stored: rows are never lost to a Redis refusal
    stored = {u for (u,) in raw_rows(data, job, "pages", "url")}
    assert len(stored) >= 20
    linkindex("job", "purge", job, "--redis", cluster.url)


def test_status_and_counts_match_a_single_node_job(cluster: LocalRedisCluster,
                                                   redis_server: RedisServer,
                                                   seeds_file: Path) -> None:
    """The same seeds queue the same counts sharded over a cluster and on one Redis."""
    submit(cluster.url, "same", seeds_file, "--shards", "4")
    submit(redis_server.url, "same", seeds_file)
    sharded, single = job_status(cluster.url, "same"), job_status(redis_server.url, "same")
    keys = ("queued", "leased", "done", "failed", "robots")
    assert {k: sharded[k] for k in keys} == {k: single[k] for k in keys}
    assert single["shards"] == 1 and len(single["nodes"]) == 1
    text = linkindex("job", "status", "same", "--redis", cluster.url).stdout
    assert "memory" in text and "shards" in text
    for url in (cluster.url, redis_server.url):
        linkindex("job", "purge", "same", "--redis", url)
