"""The Redis connection: URL from settings or environment, and outage backoff.

Built on scrapy-redis's connection helper. Credentials ride in the URL
(`redis://:PASSWORD@host:6379/0`); `rediss://` means TLS. A Redis Cluster is reached
with redis-py's cluster client, which follows MOVED and ASK redirections: chosen by
`redis+cluster://HOST:PORT` (`rediss+cluster://` with TLS), or when a plain URL's
server says it runs in cluster mode (a plain client there fails on the first key of
another node with MovedError).
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

import redis
from scrapy_redis.connection import get_redis

from core.errors import LinkindexError
from crawler.frontier import defaults

# What a lost connection raises (on a cluster also a failover in progress); anything
# else is a bug or a refusal (OOM, auth, MOVED on a plain client), not an outage.
OUTAGE_ERRORS = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError,
                 redis.exceptions.ClusterDownError, redis.exceptions.TryAgainError,
                 redis.exceptions.MasterDownError)
# scheme → the scheme redis-py's cluster client takes
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
SCHEMES = ("redis", "rediss", "unix", *CLUSTER_SCHEMES)


def redis_url(url: str | None = None) -> str:
    url = url or os.environ.get(defaults.REDIS_URL_ENV)
    if not url:
        raise LinkindexError(f"no Redis URL: give --redis URL or set {defaults.REDIS_URL_ENV}")
    if urlsplit(url).scheme not in SCHEMES:
        raise LinkindexError(f"bad Redis URL {safe_url(url)!r}: expected redis://HOST:PORT/DB "
                             "or redis+cluster://HOST:PORT")
    return url


def is_cluster(server: redis.Redis | redis.RedisCluster) -> bool:
    return isinstance(server, redis.RedisCluster)


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=user + netloc).geturl()


def _cluster_client(url: str) -> redis.RedisCluster:
    """redis-py's cluster client; it learns every node from the one in the URL."""
    parts = urlsplit(url)
    scheme = CLUSTER_SCHEMES.get(parts.scheme, parts.scheme)
    plain = parts._replace(scheme=scheme, path="").geturl()  # a cluster has only db 0
    try:
        return redis.RedisCluster.from_url(plain, decode_responses=True,
                                           **defaults.REDIS_PARAMS)
    except redis.AuthenticationError:
        raise LinkindexError(f"Redis Cluster at {safe_url(url)} refused the password") from None
    except (redis.exceptions.RedisClusterException, *OUTAGE_ERRORS) as exc:
        raise LinkindexError(f"cannot reach Redis Cluster at {safe_url(url)}: {exc}") from None


def connect(url: str | None = None, *, check: bool = True
            ) -> redis.Redis | redis.RedisCluster:
    """A client for the Redis at `url` (a cluster client for a Redis Cluster); with
    `check`, one clear line if it cannot be reached."""
    url = redis_url(url)
    if urlsplit(url).scheme in CLUSTER_SCHEMES:
        cluster = _cluster_client(url)
        if check:
            _ping(cluster, url)
        return cluster
    server = get_redis(url=url, decode_responses=True, **defaults.REDIS_PARAMS)
    if check:
        _ping(server, url)
        if _cluster_enabled(server):
            return _cluster_client(url)
    return server


def _ping(server: redis.Redis | redis.RedisCluster, url: str) -> None:
    try:
        server.ping()
    except redis.AuthenticationError:
        raise LinkindexError(f"Redis at {safe_url(url)} refused the password") from None
    except redis.ResponseError as exc:
        raise LinkindexError(f"Redis at {safe_url(url)}: {exc}") from None
    except (redis.exceptions.RedisClusterException, *OUTAGE_ERRORS) as exc:
        raise LinkindexError(f"cannot reach Redis at {safe_url(url)}: {exc}") from None


def _cluster_enabled(server: redis.Redis) -> bool:
    try:
        return bool(server.info("cluster").get("cluster_enabled"))
    except redis.ResponseError:  # INFO renamed or refused (managed Redis): not a cluster
        return False


class Backoff:
    """After a failed call, wait before the next: 0.5 s doubling up to 15 s."""

    def __init__(self, first: float = defaults.BACKOFF_SECONDS,
                 cap: float = defaults.BACKOFF_MAX_SECONDS) -> None:
        self.first = first
        self.cap = cap
        self.wait = 0.0
        self.next_try = 0.0
        self.failures = 0
        self.down_since = 0.0

    @property
    def down(self) -> bool:
        return self.failures > 0

    def down_seconds(self) -> float:
        """How long calls have failed without one succeeding (0: up)."""
        return time.monotonic() - self.down_since if self.down else 0.0

    def ready(self) -> bool:
        return time.monotonic() >= self.next_try

    def failed(self) -> None:
        if not self.failures:
            self.down_since = time.monotonic()
        self.failures += 1
        self.wait = min(self.cap, self.wait * 2 if self.wait else self.first)
        self.next_try = time.monotonic() + self.wait

    def succeeded(self) -> None:
        self.failures = 0
        self.wait = 0.0
        self.next_try = 0.0
