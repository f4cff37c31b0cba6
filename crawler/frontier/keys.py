"""The names of a job's Redis keys, and which shard a domain's keys are in.

Every key of job J starts with `linkindex:{J}:`, or for shard k > 0 of a job split into
shards, `linkindex:{J:k}:`. The braces are a Redis Cluster hash tag: all of one shard's
keys live in one slot, so each frontier script touches one slot; different shards (and
jobs) spread over the cluster's nodes. Shard 0 is also the job's home: its config holds
the number of shards, and its worker table the heartbeats `job status` shows. A domain
lives in one shard (a stable hash of its registrable domain), so its politeness, its
page limit and its robots.txt are kept, and checked, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import blake2b

from core.errors import check_crawl_id
from crawler.frontier import defaults


@dataclass(frozen=True)
class JobKeys:
    job: str
    shard: int = 0

    def __post_init__(self) -> None:
        check_crawl_id(self.job)  # the job name is the crawl id of its raw parts

    @property
    def tag(self) -> str:
        # A job name has no ':' (check_crawl_id), so "J:1" is never another job's tag.
        return self.job if self.shard == 0 else f"{self.job}:{self.shard}"

    @property
    def prefix(self) -> str:
        return f"{defaults.KEY_PREFIX}:{{{self.tag}}}:"

    @property
    def pattern(self) -> str:
        """SCAN pattern matching every key of this shard and no other's."""
        return self.prefix + "*"

    def __getattr__(self, name: str) -> str:
        # keys.config, keys.stats, keys.ready, keys.workers, keys.wstats, keys.failed,
        # keys.robots, keys.delay, keys.skipped, keys.pd, keys.hosts, keys.bloom,
        # keys.sbf (a scalable filter's layers)
        if name.startswith("_"):
            raise AttributeError(name)
        return self.prefix + ("job" if name == "config" else name)

    def queue(self, domain: str) -> str:
        return f"{self.prefix}q:{domain}"

    def leases(self, worker: str) -> str:
        return f"{self.prefix}lw:{worker}"

    def seen(self, bucket: str) -> str:
        return f"{self.prefix}seen:{bucket}"


def job_patterns(job: str) -> tuple[str, str]:
    """SCAN patterns matching every key of every shard of `job`, and no other job's."""
    check_crawl_id(job)
    return (JobKeys(job).pattern, f"{defaults.KEY_PREFIX}:{{{job}:*}}:*")


def shard_keys(job: str, shards: int) -> list[JobKeys]:
    return [JobKeys(job, k) for k in range(shards)]


def shard_of(domain: str, shards: int) -> int:
    """The shard of a registrable domain: a hash every process computes alike (Python's
    own hash() is salted per process)."""
    if shards <= 1:
        return 0
    digest = blake2b(domain.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards
