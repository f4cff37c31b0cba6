"""Shared fixtures: the synthetic web on loopback, and crawls run as a user runs them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from clitools import crawl_args, linkindex
from clustertools import kill_leftovers
from s3server import FOREIGN_VARS, S3Server, s3_server
from webtools import WEB_ARGS

from linkindex.localredis import RedisServer
from synthweb import SyntheticWeb, WebServer


@pytest.fixture(scope="session")
def web() -> SyntheticWeb:
    return SyntheticWeb(**WEB_ARGS)


@pytest.fixture(scope="session")
def web_server(web: SyntheticWeb) -> Iterator[WebServer]:
    with WebServer(web, access_log=True) as server:
        yield server


@pytest.fixture(scope="session")
def seeds_file(web: SyntheticWeb, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seeds") / "seeds.txt"
    path.write_text("# every home page of the synthetic web\n" + "\n".join(web.seeds()) + "\n")
    return path


@pytest.fixture(scope="session")
def crawled(web_server: WebServer, seeds_file: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DATA after `linkindex crawl` of the whole synthetic web and `linkindex build`."""
    data = tmp_path_factory.mktemp("crawled") / "data"
    linkindex("crawl", "--seeds-file", seeds_file, *crawl_args(web_server.proxy_url, data, "c1"))
    linkindex("build", "--data", data)
    return data


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real Redis on a free loopback port; tests keep apart by job name."""
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(autouse=True)
def no_leftover_workers() -> Iterator[None]:
    """No worker process a test started outlives it, even when the test fails."""
    yield
    kill_leftovers()


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """moto's S3 server on a free loopback port with one bucket; tests keep apart by
    prefix (`s3.fresh_url()`). It sets no environment: use `s3_env`, or `s3.env`."""
    with s3_server() as server:
        yield server


@pytest.fixture
def s3_env(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The S3 server, with this test's environment pointing the AWS SDK at it only."""
    for var in FOREIGN_VARS:
        monkeypatch.delenv(var, raising=False)
    for var, value in s3.env.items():
        monkeypatch.setenv(var, value)
    return s3
