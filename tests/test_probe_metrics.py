"""`linkindex probe` (the worker pods' liveness and readiness) and `linkindex job metrics`
(Prometheus and autoscalers), run as a pod runs them: subprocesses, a real Redis, real
jobs submitted with `linkindex job submit`, HTTP over loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from clitools import REPO, assert_one_line_error, linkindex
from clustertools import job_status, submit, wait_for

from linkindex.localredis import LocalRedisCluster, RedisServer, free_port
from linkindex.metrics_cmd import label_value

SEEDS = ["http://alpha.example/", "http://alpha.example/about", "http://beta.example/",
         "http://alpha.example/"]  # a repeated seed is queued once
SEED_URLS = len(set(SEEDS))
SITES = 2  # alpha.example, beta.example: one robots.txt request each


# --- helpers ------------------------------------------------------------------------


def get(url: str, method: str = "GET") -> tuple[int, str, str]:
    """(status, content type, body) of one request, errors included."""
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


class MetricsServer:
    """`linkindex job metrics` in a subprocess on a free loopback port."""

    def __init__(self, redis_url: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(REPO), "LINKINDEX_DEBUG": ""}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "linkindex", "job", "metrics", "--redis", redis_url,
             "--port", str(self.port)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL)
        wait_for(self.answers, timeout=60, what="the metrics server to listen")

    def answers(self) -> bool:
        assert self.proc.poll() is None, self.proc.communicate()
        try:
            return get(self.base + "/healthz")[0] == 200
        except OSError:
            return False

    def get(self, path: str, method: str = "GET") -> tuple[int, str, str]:
        return get(self.base + path, method)

    def stop(self) -> tuple[int, str, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, out, err


def parse_exposition(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], str]:
    """Prometheus' text format → {(name, sorted labels): value}; every sample's metric
    has its # HELP and # TYPE lines before it, and the text ends with a newline."""
    assert text.endswith("\n")
    declared: dict[str, set[str]] = {}
    samples = {}
    label = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if line.startswith("# "):
            kind, name = line.split(" ")[1:3]
            declared.setdefault(name, set()).add(kind)
            continue
        m = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.groups()
        assert declared.get(name) == {"HELP", "TYPE"}, f"{name}: no HELP/TYPE before it"
        pairs = label.findall(labels or "")
        assert ",".join(f'{k}="{v}"' for k, v in pairs) == (labels or ""), line
        samples[(name, tuple(sorted(pairs)))] = value
    return samples


def job_sample(samples: dict, gauge: str, job: str, kind: str) -> str:
    return samples[(f"linkindex_job_{gauge}", (("job", job), ("kind", kind)))]


@pytest.fixture
def redis_alone(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own: the totals count every job in a Redis."""
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    path = tmp_path / "seeds.txt"
    path.write_text("\n".join(SEEDS) + "\n")
    return path


@pytest.fixture
def metrics_servers() -> Iterator[list[MetricsServer]]:
    started: list[MetricsServer] = []
    yield started
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.communicate()


# --- job metrics --------------------------------------------------------------------


def test_metrics_equal_job_status(redis_alone: RedisServer, seeds: Path, tmp_path: Path,
                                  metrics_servers: list[MetricsServer]) -> None:
    url = redis_alone.url
    submit(url, "crawl-a", seeds)
    submit(url, "crawl-paused", seeds)
    linkindex("job", "pause", "crawl-paused", "--redis", url)
    paths = tmp_path / "wat.paths"
    paths.write_text("one.warc.wat.gz\ntwo.warc.wat.gz\nthree.warc.wat.gz\n")
    linkindex("job", "submit-import", "import-a", "--paths", paths, "--prefix", tmp_path,
              "--redis", url)
    status = job_status(url, "crawl-a")
    # what `job submit` queued: every distinct seed and one robots.txt request per site
    assert (status["queued"], status["robots"]) == (SEED_URLS + SITES, SITES)
    queued = status["queued"]

    server = MetricsServer(url)
    metrics_servers.append(server)
    code, content_type, body = server.get("/metrics")
    assert code == 200 and content_type.startswith("text/plain; version=0.0.4"), body
    samples = parse_exposition(body)
    for job, kind, gauge, value in (
            ("crawl-a", "crawl", "queued", queued), ("crawl-a", "crawl", "leased", 0),
            ("crawl-a", "crawl", "done", 0), ("crawl-a", "crawl", "failed", 0),
            ("crawl-a", "crawl", "ignored", 0), ("crawl-a", "crawl", "fetched", 0),
            ("crawl-a", "crawl", "stored", 0), ("crawl-a", "crawl", "workers", 0),
            ("crawl-a", "crawl", "pages_per_second", 0), ("crawl-a", "crawl", "finished", 0),
            ("crawl-paused", "crawl", "queued", queued),
            ("import-a", "import", "queued", 3), ("import-a", "import", "leased", 0),
            ("import-a", "import", "done", 0), ("import-a", "import", "finished", 0)):
        assert job_sample(samples, gauge, job, kind) == str(value), (job, gauge)
    # an import job settles files, never requests: it has no "ignored"
    assert ("linkindex_job_ignored", (("job", "import-a"), ("kind", "import"))) not in samples
    assert samples[("linkindex_jobs", ())] == "3"
    node = (("node", f"127.0.0.1:{redis_alone.port}"),)
    assert int(samples[("linkindex_redis_used_memory_bytes", node)]) > 0
    assert ("linkindex_redis_maxmemory_bytes", node) in samples

    code, content_type, body = server.get("/metrics.json")
    assert code == 200 and content_type == "application/json"
    doc = json.loads(body)
    by_name = {j["name"]: j for j in doc["jobs"]}
    assert [j["name"] for j in doc["jobs"]] == ["crawl-a", "crawl-paused", "import-a"]
    assert by_name["crawl-a"] == {
        "name": "crawl-a", "kind": "crawl", "state": "running", "queued": queued,
        "leased": 0, "done": 0, "failed": 0, "ignored": 0, "fetched": 0, "stored": 0,
        "workers": 0, "pages_per_second": 0, "finished": 0}
    assert (by_name["crawl-paused"]["state"], by_name["import-a"]["queued"]) == ("paused", 3)
    # the paused job waits for no worker: it is not in the totals an autoscaler reads
    assert doc["queued_total"] == queued + 3
    assert doc["leased_total"] == 0
    assert doc["by_kind"] == {"crawl": {"queued": queued, "leased": 0},
                              "import": {"queued": 3, "leased": 0}}

    # Read-only: GET only; anything else answers without touching Redis.
    assert server.get("/healthz")[:1] == (200,)
    assert server.get("/nothing")[0] == 404
    assert server.get("/metrics", method="POST")[0] == 501
    assert server.get("/metrics", method="DELETE")[0] == 501
    assert job_status(url, "crawl-a")["queued"] == queued

    code, out, err = server.stop()  # SIGTERM: a clean exit
    assert code == 0, err
    assert out.strip() == f"serving job metrics on http://127.0.0.1:{server.port}/metrics"
    assert err == ""


def test_metrics_survive_a_redis_outage(redis_alone: RedisServer, seeds: Path,
                                        metrics_servers: list[MetricsServer]) -> None:
    submit(redis_alone.url, "outage", seeds)
    server = MetricsServer(redis_alone.url)
    metrics_servers.append(server)
    assert server.get("/metrics.json")[0] == 200

    redis_alone.kill()
    for path in ("/metrics", "/metrics.json"):
        code, content_type, body = server.get(path)
        assert code == 503, body
        assert content_type.startswith("text/plain")
        assert len(body.splitlines()) == 1 and body.startswith("redis error: "), body
    assert server.get("/healthz")[0] == 200  # the server itself is fine

    redis_alone.start()  # same port, the append-only file replayed
    wait_for(lambda: server.get("/metrics.json")[0] == 200, what="metrics after restart")
    doc = json.loads(server.get("/metrics.json")[2])
    assert doc["queued_total"] == SEED_URLS + SITES

    code, _, err = server.stop()
    assert code == 0 and "Traceback" not in err, err


def test_metrics_on_a_taken_port(redis_server: RedisServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = linkindex("job", "metrics", "--redis", redis_server.url, "--port", str(port),
                         check=False)
    assert_one_line_error(proc, f"cannot listen on 127.0.0.1:{port}: ")
    assert proc.stdout == ""


def test_metrics_need_redis_to_start(tmp_path: Path) -> None:
    proc = linkindex("job", "metrics", "--redis", f"redis://127.0.0.1:{free_port()}/0",
                     "--port", str(free_port()), check=False)
    assert_one_line_error(proc, "cannot reach Redis at redis://127.0.0.1:")


def test_metrics_on_a_redis_cluster(tmp_path: Path, seeds: Path,
                                    metrics_servers: list[MetricsServer]) -> None:
    """Three masters, a job in 12 shards: the counts are summed over every shard, and
    every master's memory is shown."""
    with LocalRedisCluster(tmp_path / "cluster", masters=3) as cluster:
        submit(cluster.url, "sharded", seeds, "--shards", "12")
        status = job_status(cluster.url, "sharded")
        assert status["queued"] == SEED_URLS + SITES
        server = MetricsServer(cluster.url)
        metrics_servers.append(server)
        samples = parse_exposition(server.get("/metrics")[2])
        assert job_sample(samples, "queued", "sharded", "crawl") == str(status["queued"])
        nodes = {dict(labels)["node"] for name, labels in samples
                 if name == "linkindex_redis_used_memory_bytes"}
        assert nodes == {f"127.0.0.1:{node.port}" for node in cluster.nodes}
        assert json.loads(server.get("/metrics.json")[2])["queued_total"] == status["queued"]
        assert server.stop()[0] == 0


def test_label_values_are_escaped() -> None:
    """The exposition format's three escapes (job names cannot hold them; node names and
    future labels might)."""
    assert label_value('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    assert label_value("plain-name_1.2") == "plain-name_1.2"


# --- probe --------------------------------------------------------------------------


def test_probe_fresh_heartbeat(tmp_path: Path) -> None:
    health = tmp_path / "health"
    health.touch()
    proc = linkindex("probe", "--health-file", health)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    proc = linkindex("probe", "--health-file", health, "--max-age", "300")
    assert proc.returncode == 0


def test_probe_stale_heartbeat(tmp_path: Path) -> None:
    health = tmp_path / "health"
    health.touch()
    old = time.time() - 1000
    os.utime(health, (old, old))
    proc = linkindex("probe", "--health-file", health, check=False)
    assert_one_line_error(proc, "worker heartbeat stale: last ")
    m = re.search(r"last (\d+) s ago \(max 60 s\)$", proc.stderr.strip())
    assert m and int(m[1]) >= 1000, proc.stderr
    assert linkindex("probe", "--health-file", health, "--max-age", "600",
                     check=False).returncode == 1
    # the worker's next heartbeat makes the same file fresh again
    health.touch()
    assert linkindex("probe", "--health-file", health).returncode == 0


def test_probe_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "never-written"
    proc = linkindex("probe", "--health-file", missing, check=False)
    assert_one_line_error(proc, f"no heartbeat file {missing} yet")


def test_probe_path_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    health = tmp_path / "health"
    monkeypatch.setenv("LINKINDEX_HEALTH_FILE", str(health))
    assert_one_line_error(linkindex("probe", check=False), f"no heartbeat file {health} yet")
    health.touch()
    assert linkindex("probe").returncode == 0
    monkeypatch.delenv("LINKINDEX_HEALTH_FILE")
    assert_one_line_error(linkindex("probe", check=False),
                          "no health file: give --health-file PATH or set "
                          "LINKINDEX_HEALTH_FILE")


def test_probe_refuses_a_bad_max_age(tmp_path: Path) -> None:
    health = tmp_path / "health"
    health.touch()
    proc = linkindex("probe", "--health-file", health, "--max-age", "0", check=False)
    assert_one_line_error(proc, "--max-age must be more than 0 seconds")


def test_probe_starts_without_scrapy(tmp_path: Path) -> None:
    """It runs every few seconds in every worker pod: no Scrapy or Twisted import."""
    health = tmp_path / "health"
    health.touch()
    code = ("import sys\nfrom linkindex.cli import main\n"
            f"rc = main(['probe', '--health-file', {str(health)!r}])\n"
            "heavy = sorted(m for m in ('scrapy', 'twisted', 'scrapy_redis') if m in sys.modules)\n"
            "print(heavy)\nsys.exit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
