"""Import jobs (`linkindex job submit-import`): WAT files leased by workers from Redis,
streamed over HTTP from a loopback server, and no file lost or imported twice when a
worker is killed with SIGKILL half-way through one."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from clitools import REPO, assert_one_line_error, linkindex
from clustertools import QUICK_LEASES, STARTED, finish, job_status, wait_for
from fileserver import serve_folder
from watfiles import WatTruth, write_wat_files

from crawler.frontier.filejobs import FileJob, submit_files
from index.archives.job_import import attempt_worker_id, read_paths
from linkindex.localredis import RedisServer

pytestmark = pytest.mark.slow  # workers and a Redis server


def start_import_worker(redis_url: str, data: Path, job: str, worker_id: str,
                        *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LINKINDEX_DEBUG": ""}
    cmd = [sys.executable, "-m", "linkindex", "worker", "--redis", redis_url, "--data",
           str(data), "--job", job, *QUICK_LEASES, "-s", f"LINKINDEX_WORKER_ID={worker_id}",
           "-s", "LINKINDEX_PART_MAX_EDGES=300", *extra]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    STARTED.append(proc)
    return proc


def write_paths(folder: Path, names: list[str]) -> Path:
    path = folder / "wat.paths.gz"
    path.write_bytes(gzip.compress("".join(f"wat/{n}\n" for n in names).encode()))
    return path


def imported(data: Path, job: str) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Every pages row's URL and every link (src, dst, anchor), as stored."""
    raw = data / "raw" / job
    con = duckdb.connect()

    def parts(table: str) -> list[str]:  # whole parts: temporary files start with "."
        return sorted(str(p) for p in (raw / table).glob("[!.]*.parquet"))

    pages = [r[0] for r in con.execute(
        "SELECT url FROM read_parquet(?) ORDER BY url", [parts("pages")]).fetchall()]
    edges = con.execute("SELECT src_url, dst_url, anchor FROM read_parquet(?) ORDER BY ALL",
                        [parts("edges")]).fetchall()
    return pages, edges


def part_names(data: Path, job: str) -> list[str]:
    return sorted(p.name for p in (data / "raw" / job / "pages").glob("[!.]*.parquet"))


def test_two_workers_and_a_kill_9_lose_no_file_and_import_none_twice(
        redis_server: RedisServer, tmp_path: Path) -> None:
    truth = write_wat_files(tmp_path / "cc" / "wat", files=6, pages=240, links=12)
    paths = write_paths(tmp_path, truth.names)
    data, job = tmp_path / "data", "watkill"
    server = redis_server.client()
    # ~0.5 s a file for a fresh worker: the victim is surely half-way through one
    with serve_folder(tmp_path / "cc", bytes_per_second=300_000) as files:
        out = linkindex("job", "submit-import", job, "--paths", paths, "--prefix", files.url,
                        "--redis", redis_server.url).stdout
        assert out.startswith(f"import job {job}: 6 files queued")
        victim = start_import_worker(redis_server.url, data, job, "victim")
        survivor = start_import_worker(redis_server.url, data, job, "survivor")

        def victim_file() -> tuple[str, int] | None:
            """The file the victim holds, once it has written a part of it."""
            for file, raw in server.hgetall(f"linkindex:{{{job}}}:fleases").items():
                lease = json.loads(raw)
                name = f"{attempt_worker_id(file, lease['a'])}-000000.parquet"
                if lease["w"] == "victim" and (data / "raw" / job / "pages" / name).exists():
                    return file, lease["a"]
            return None

        wait_for(lambda: victim_file() is not None, 60, "the victim half-way through a file")
        killed_file, killed_attempt = victim_file()  # type: ignore[misc]
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
        left = [n for n in part_names(data, job)
                if n.startswith(attempt_worker_id(killed_file, killed_attempt))]
        assert left, "the victim had written parts of the file it held"
        out = finish(survivor, timeout=120)
    assert f"job {job}:" in out and "(finished)" in out
    status = job_status(redis_server.url, job)
    assert (status["files"], status["done"], status["failed"], status["pending"],
            status["leased"]) == (6, 6, 0, 0, 0)
    # the killed attempt's parts are gone; the file was imported again, whole
    names = part_names(data, job)
    assert not [n for n in names if n.startswith(attempt_worker_id(killed_file, killed_attempt))]
    assert [n for n in names if n.startswith(attempt_worker_id(killed_file, killed_attempt + 1))]
    pages, edges = imported(data, job)
    assert Counter(pages) == Counter(list(truth.pages))  # each once: none lost, none twice
    assert edges == truth.edges
    assert status["counts"]["pages"] == len(truth.pages)
    assert status["counts"]["edges"] == len(truth.edges)
    # a build reads the job's parts like any crawl's
    linkindex("build", "--data", data)
    answer = linkindex("query", "backlinks", "t1.example", "--data", data, "--format", "json",
                       "--limit", "100000").stdout
    expected = sorted(e for e in truth.edges if e[1].startswith("http://t1.example/"))
    assert sorted((r["src_url"], r["dst_url"], r["anchor"]) for r in json.loads(answer)) \
        == expected


def test_damaged_missing_and_cut_files_each_end_as_they_should(
        redis_server: RedisServer, tmp_path: Path) -> None:
    """A 404 and a file that is not an archive fail at once (recorded, the job goes on);
    a connection dropped mid-file resumes by Range; a truncated gzip keeps its whole
    records and counts the damage; the job finishes with every sound page once."""
    folder = tmp_path / "cc" / "wat"
    truth = write_wat_files(folder, files=3, pages=60, links=5)
    cut = folder / truth.names[2]
    whole = cut.read_bytes()
    cut.write_bytes(whole[: len(whole) * 2 // 3])  # cut inside a record
    (folder / "not-an-archive.gz").write_bytes(gzip.compress(b"hello, world\n" * 100))
    names = [*truth.names, "missing.warc.wat.gz", "not-an-archive.gz", truth.names[0]]
    paths = write_paths(tmp_path, names)
    data, job = tmp_path / "data", "watbad"
    with serve_folder(tmp_path / "cc", fail_after={f"wat/{truth.names[1]}": 20_000}) as files:
        linkindex("job", "submit-import", job, "--paths", paths, "--prefix", files.url,
                  "--redis", redis_server.url)
        worker = start_import_worker(redis_server.url, data, job, "only")
        finish(worker, timeout=120)
        resumed = [r for (path, r) in files.requests if path == f"/wat/{truth.names[1]}"]
    assert resumed[0] is None and resumed[1].startswith("bytes=") and resumed[1] != "bytes=0-"
    status = job_status(redis_server.url, job)
    # listed twice, imported once: 5 distinct files
    assert (status["files"], status["done"], status["failed"]) == (5, 3, 2)
    reasons = status["failed_files"]
    assert reasons[f"{files.url}wat/missing.warc.wat.gz"].endswith("HTTP 404 Not Found")
    assert "is not a WARC file" in reasons[f"{files.url}wat/not-an-archive.gz"]
    pages, _ = imported(data, job)
    assert Counter(pages)["http://s0.example/p0"] == 1
    sound = {u for u, f in truth.pages.items() if f != truth.names[2]}
    assert sound <= set(pages) and len(pages) == len(set(pages))
    kept = set(pages) - sound  # of the cut file: the records before the cut
    assert 0 < len(kept) < 60 and all(truth.pages[u] == truth.names[2] for u in kept)
    assert status["counts"]["skipped"] == 1


def test_sigterm_hands_the_file_back_at_once(redis_server: RedisServer, tmp_path: Path) -> None:
    truth = write_wat_files(tmp_path / "cc" / "wat", files=2, pages=240, links=12)
    paths = write_paths(tmp_path, truth.names)
    data, job = tmp_path / "data", "watterm"
    server = redis_server.client()
    with serve_folder(tmp_path / "cc", bytes_per_second=100_000) as files:
        linkindex("job", "submit-import", job, "--paths", paths, "--prefix", files.url,
                  "--redis", redis_server.url)
        leaving = start_import_worker(redis_server.url, data, job, "leaving")
        wait_for(lambda: any(n.startswith("f") for n in part_names(data, job)), 60,
                 "a first part")
        leaving.send_signal(signal.SIGTERM)
        out = finish(leaving, timeout=30)
        assert "(shutdown)" in out
        assert part_names(data, job) == []  # its half file removed
        assert server.hlen(f"linkindex:{{{job}}}:fleases") == 0  # handed back at once
        # handed back without counting as an attempt: the next one is attempt 1 again
        stayer = start_import_worker(redis_server.url, data, job, "stayer")
        finish(stayer, timeout=120)
    assert all("-a1-" in n for n in part_names(data, job))
    pages, _ = imported(data, job)
    assert sorted(pages) == sorted(truth.pages)


def test_leases_lapse_into_retries_then_a_recorded_failure(redis_server: RedisServer) -> None:
    """The Lua rules alone: a silent worker's file goes back to the front; after
    max_attempts lapses it is failed, and whoever notices is told to remove its parts."""
    server = redis_server.client()
    submit_files(server, "lapse", ["a", "b"], max_attempts=2)
    job = FileJob(server, "lapse")
    first = job.lease("w1", 0.2)
    assert (first.state, first.lease.file, first.lease.attempt) == ("leased", "a", 1)
    time.sleep(0.3)  # w1 is silent past its lease
    second = job.lease("w2", 0.2)
    assert (second.lease.file, second.lease.attempt, second.failed) == ("a", 2, [])
    assert not job.done("w1", first.lease, {"pages": 5})  # w1's token no longer holds
    time.sleep(0.3)
    third = job.lease("w3", 0.2)
    assert (third.lease.file, third.failed) == ("b", ["a"])
    assert job.failed() == {"a": "lease lapsed 2 times"}
    held, _ = job.beat("w3", {}, 0.2, third.lease)
    assert held
    assert job.done("w3", third.lease, {"pages": 5, "edges": 7})
    assert job.lease("w3", 0.2).state == "finished"
    status = json.loads(linkindex("job", "status", "lapse", "--redis", redis_server.url,
                                  "--json").stdout)
    assert (status["done"], status["failed"], status["counts"]["pages"],
            status["counts"]["edges"]) == (1, 1, 5, 7)
    listing = linkindex("job", "list", "--redis", redis_server.url).stdout
    assert "finished (import)" in listing


def test_path_lists_and_bad_input(redis_server: RedisServer, tmp_path: Path) -> None:
    listed = tmp_path / "wat.paths"
    listed.write_text("# comment\ncrawl-data/a.wat.gz\n\nhttps://x.example/b.wat.gz\n"
                      "/abs/c.wat.gz\ns3://bucket/d.wat.gz\n")
    assert read_paths(str(listed), "https://data.commoncrawl.org") == [
        "https://data.commoncrawl.org/crawl-data/a.wat.gz", "https://x.example/b.wat.gz",
        "/abs/c.wat.gz", "s3://bucket/d.wat.gz"]
    assert read_paths(str(listed), "/mnt/cc/")[0] == "/mnt/cc/crawl-data/a.wat.gz"
    empty = tmp_path / "empty.paths"
    empty.write_text("# nothing\n")
    for args, message in (
        (["--paths", str(tmp_path / "nope.gz")], "cannot read"),
        (["--paths", str(empty)], "names no file"),
        (["--paths", str(listed), "--prefix", "relative/dir"], "--prefix 'relative/dir'"),
    ):
        proc = linkindex("job", "submit-import", "badjob", *args, "--redis", redis_server.url,
                         check=False)
        assert_one_line_error(proc, message)
    # never served: relative lines under a folder that is not there (no address outside)
    linkindex("job", "submit-import", "twice", "--paths", listed, "--prefix", "/nonexistent/",
              "--redis", redis_server.url)
    proc = linkindex("job", "submit-import", "twice", "--paths", listed, "--prefix",
                     "/nonexistent/", "--redis", redis_server.url, check=False)
    assert_one_line_error(proc, "job 'twice' exists")
    linkindex("job", "purge", "twice", "--redis", redis_server.url)


def test_files_read_from_an_object_store(redis_server: RedisServer, s3_env: object,
                                         tmp_path: Path) -> None:
    from core.storage import Storage

    truth: WatTruth = write_wat_files(tmp_path / "wat", files=2, pages=30, links=4)
    url = s3_env.fresh_url("wat")  # type: ignore[attr-defined]
    store = Storage.of(url)
    for name in truth.names:
        store.put_file(f"wat/{name}", tmp_path / "wat" / name)
    paths = write_paths(tmp_path, truth.names)
    data, job = tmp_path / "data", "wats3"
    linkindex("job", "submit-import", job, "--paths", paths, "--prefix", url + "/",
              "--redis", redis_server.url)
    finish(start_import_worker(redis_server.url, data, job, "s3reader"), timeout=120)
    pages, edges = imported(data, job)
    assert (pages, edges) == (sorted(truth.pages), truth.edges)


def test_a_worker_without_job_serves_import_jobs_too(tmp_path: Path) -> None:
    """A Redis of its own: a worker without --job serves the oldest unfinished job."""
    with RedisServer(tmp_path / "redis") as redis_server:
        _serve_any(redis_server, tmp_path)


def _serve_any(redis_server: RedisServer, tmp_path: Path) -> None:
    truth = write_wat_files(tmp_path / "cc" / "wat", files=2, pages=20, links=3)
    paths = write_paths(tmp_path, truth.names)
    data = tmp_path / "data"
    linkindex("job", "submit-import", "watany", "--paths", paths, "--prefix",
              f"{tmp_path}/cc/", "--redis", redis_server.url)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "linkindex", "worker", "--redis",
                           redis_server.url, "--data", str(data), *QUICK_LEASES],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"job watany: {len(truth.pages)} pages" in proc.stdout
    pages, edges = imported(data, "watany")
    assert (pages, edges) == (sorted(truth.pages), truth.edges)
