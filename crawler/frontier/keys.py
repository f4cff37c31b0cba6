"""The names of a job's Redis keys.

Every key of job J starts with `linkindex:{J}:`. The braces are a Redis Cluster hash
tag: all of a job's keys live in one slot, so the frontier scripts can touch them
together; different jobs spread over the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import check_crawl_id
from crawler.frontier import defaults


@dataclass(frozen=True)
class JobKeys:
    job: str

    def __post_init__(self) -> None:
        check_crawl_id(self.job)  # the job name is the crawl id of its raw parts

    @property
    def prefix(self) -> str:
        return f"{defaults.KEY_PREFIX}:{{{self.job}}}:"

    @property
    def pattern(self) -> str:
        """SCAN pattern matching every key of this job and no other job's."""
        return self.prefix + "*"

    def __getattr__(self, name: str) -> str:
        # keys.config, keys.stats, keys.ready, keys.workers, keys.wstats, keys.failed,
        # keys.robots, keys.delay, keys.skipped, keys.pd, keys.hosts, keys.bloom
        if name.startswith("_"):
            raise AttributeError(name)
        return self.prefix + ("job" if name == "config" else name)

    def queue(self, domain: str) -> str:
        return f"{self.prefix}q:{domain}"

    def leases(self, worker: str) -> str:
        return f"{self.prefix}lw:{worker}"

    def seen(self, bucket: str) -> str:
        return f"{self.prefix}seen:{bucket}"
