"""The Redis connection: URL from settings or environment, and outage backoff.

Built on scrapy-redis's connection helper. Credentials ride in the URL
(`redis://:PASSWORD@host:6379/0`); `rediss://` means TLS.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

import redis
from scrapy_redis.connection import get_redis

from core.errors import LinkindexError
from crawler.frontier import defaults

# What a lost connection raises; anything else is a bug, not an outage.
OUTAGE_ERRORS = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


def redis_url(url: str | None = None) -> str:
    url = url or os.environ.get(defaults.REDIS_URL_ENV)
    if not url:
        raise LinkindexError(f"no Redis URL: give --redis URL or set {defaults.REDIS_URL_ENV}")
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise LinkindexError(f"bad Redis URL {safe_url(url)!r}: expected redis://HOST:PORT/DB")
    return url


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=user + netloc).geturl()


def connect(url: str | None = None, *, check: bool = True) -> redis.Redis:
    """A client for the Redis at `url`; with `check`, one clear line if it cannot be reached."""
    url = redis_url(url)
    server = get_redis(url=url, decode_responses=True, **defaults.REDIS_PARAMS)
    if check:
        try:
            server.ping()
        except redis.AuthenticationError:
            raise LinkindexError(f"Redis at {safe_url(url)} refused the password") from None
        except redis.ResponseError as exc:
            raise LinkindexError(f"Redis at {safe_url(url)}: {exc}") from None
        except OUTAGE_ERRORS as exc:
            raise LinkindexError(f"cannot reach Redis at {safe_url(url)}: {exc}") from None
    return server


class Backoff:
    """After a failed call, wait before the next: 0.5 s doubling up to 15 s."""

    def __init__(self, first: float = defaults.BACKOFF_SECONDS,
                 cap: float = defaults.BACKOFF_MAX_SECONDS) -> None:
        self.first = first
        self.cap = cap
        self.wait = 0.0
        self.next_try = 0.0
        self.failures = 0

    @property
    def down(self) -> bool:
        return self.failures > 0

    def ready(self) -> bool:
        return time.monotonic() >= self.next_try

    def failed(self) -> None:
        self.failures += 1
        self.wait = min(self.cap, self.wait * 2 if self.wait else self.first)
        self.next_try = time.monotonic() + self.wait

    def succeeded(self) -> None:
        self.failures = 0
        self.wait = 0.0
        self.next_try = 0.0
