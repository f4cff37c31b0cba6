"""Run a worker: serve one job (or every unfinished job in turn) until it is finished.

A worker joins at any time and leaves at any time. Ctrl-C or SIGTERM: Scrapy stops
gracefully, the pipeline writes the buffered rows and acknowledges them, and the
scheduler hands every other lease back at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.reactor import install_reactor
from twisted.internet import threads
from twisted.internet.error import ReactorNotRunning
from twisted.python.failure import Failure

from core.errors import LinkindexError
from core.parts import default_worker_id
from crawler import settings as project_settings
from crawler.frontier import defaults, health
from crawler.frontier.connection import OUTAGE_ERRORS, Backoff, connect, redis_url, safe_url
from crawler.frontier.filejobs import FileJob, is_import_job
from crawler.frontier.jobs import job_names
from crawler.frontier.keys import JobKeys
from crawler.frontier.store import FrontierStore
from crawler.runner import check_proxy, crawl_settings
from crawler.spiders.links import LinksSpider

# What makes a `links` crawl a cluster worker.
CLUSTER_SETTINGS: dict[str, Any] = {
    "SCHEDULER": "crawler.frontier.scheduler.Scheduler",
    "SCHEDULER_QUEUE_CLASS": "crawler.frontier.queue.DomainQueue",
    "DUPEFILTER_CLASS": "crawler.frontier.dupefilter.SeenDupeFilter",
    "REQUEST_FINGERPRINTER_CLASS": "crawler.frontier.fingerprint.UrlFingerprinter",
    "SCHEDULER_PERSIST": True,
    # The frontier spaces each domain's fetches across all workers: no local delay.
    "DOWNLOAD_DELAY": 0,
    "DOWNLOADER_MIDDLEWARES": {
        **project_settings.DOWNLOADER_MIDDLEWARES,
        "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
        "crawler.frontier.robots.SharedRobotsTxtMiddleware": 100,
    },
    # Scrapy's HTTP handler, after the domain's send slot (politeness at send time)
    "DOWNLOAD_HANDLERS": {"http": "crawler.frontier.politeness.PoliteDownloadHandler",
                          "https": "crawler.frontier.politeness.PoliteDownloadHandler"},
}


@dataclass
class JobRun:
    job: str
    pages: int
    finish_reason: str


@dataclass
class WorkerSummary:
    runs: list[JobRun] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return sum(run.pages for run in self.runs)


def _job_settings(base: dict[str, Any], url: str, job: str) -> Settings:
    return crawl_settings({**base, **CLUSTER_SETTINGS, "LINKINDEX_REDIS_URL": url,
                           "LINKINDEX_JOB": job, "LINKINDEX_CRAWL_ID": job})


def next_job(server: Any, imports: bool = False) -> str | None:
    """The oldest job that is running and not finished: crawl jobs, and with `imports`
    import jobs with files pending."""
    for name in job_names(server):
        if is_import_job(server, name):
            if imports and FileJob(server, name).has_work():
                return name
            continue
        frontier = FrontierStore(server, name)
        if frontier.state() == "running" and not frontier.finished():
            return name
    return None


def run_worker(url: str | None, data: Path, job: str | None = None, *, stay: bool = False,
               overrides: dict[str, Any] | None = None, poll_seconds: float = 5.0,
               serve_import: Callable[[str, threading.Event], JobRun] | None = None
               ) -> WorkerSummary:
    """Serve crawl job `job`, or every unfinished job in turn; import jobs (files, not
    URLs) are served by `serve_import(name, stop)` in a thread, between crawls."""
    url = redis_url(url)
    server = connect(url)  # one clear line now if Redis is unreachable
    if job is not None and not server.exists(JobKeys(job).config):
        raise LinkindexError(f"no job {job!r} in this Redis: `linkindex job submit` it first")
    base = {"LINKINDEX_WORKER_ID": default_worker_id(), **(overrides or {}),
            "LINKINDEX_DATA": str(data)}
    # The process's settings (reactor, logging) name no job: Scrapy copies them into
    # each crawler's, and a job name here would override the crawler's own.
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    settings.update({**base, **CLUSTER_SETTINGS, "LINKINDEX_REDIS_URL": url}, priority="cmdline")
    if job is not None:
        _job_settings(base, url, job)  # validate now: one clear line, before any crawl
    check_proxy(settings.get("LINKINDEX_PROXY"))
    process = CrawlerProcess(settings)
    if settings.get("LOG_LEVEL") not in ("DEBUG", "INFO"):
        logging.getLogger("scrapy.downloadermiddlewares.retry").setLevel(logging.CRITICAL)
    summary = WorkerSummary()
    # Crawlers are made one per job, later: install the reactor they expect now.
    install_reactor(settings["TWISTED_REACTOR"], settings["ASYNCIO_EVENT_LOOP"])
    from twisted.internet import reactor

    outage_max = settings.getfloat("LINKINDEX_OUTAGE_MAX_SECONDS", defaults.OUTAGE_MAX_SECONDS)
    stopping = threading.Event()
    reactor.addSystemEventTrigger("before", "shutdown", stopping.set)

    backoff = Backoff()

    def start_next() -> None:
        try:
            name = job or next_job(server, imports=serve_import is not None)
        except OUTAGE_ERRORS as exc:  # retried, for as long as a crawl would retry
            backoff.failed()
            if backoff.down_seconds() > outage_max:
                fail(f"Redis at {safe_url(url)} unreachable for "
                     f"{backoff.down_seconds():.0f} s ({exc})")
            else:
                reactor.callLater(backoff.wait, start_next)
            return
        except redis.RedisError as exc:  # refused, not down: a retry would meet it again
            fail(f"Redis at {safe_url(url)}: {type(exc).__name__}: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - one line and a non-zero exit, never a hang
            fail(f"the worker failed: {type(exc).__name__}: {exc}")
            return
        backoff.succeeded()
        health.touch()
        if name is None:
            if stay:
                reactor.callLater(poll_seconds, start_next)
            else:
                stop()
            return
        if job is None and serve_import is not None and is_import_job(server, name):
            served = threads.deferToThread(serve_import, name, stopping)
            served.addBoth(lambda result: imported(name, result))
            return
        crawler = Crawler(LinksSpider, _job_settings(base, url, name))
        done = process.crawl(crawler)
        done.addBoth(lambda result: finished(name, crawler, result))

    def fail(reason: str) -> None:
        errors.append(LinkindexError(reason))
        stop()

    def finished(name: str, crawler: Crawler, result: Any) -> None:
        if isinstance(result, Failure):  # the crawl could not start: say why, stop
            errors.append(result.value)
            stop()
            return
        client = getattr(crawler, "_linkindex_frontier", None)
        if client is not None and client.fatal is not None:
            fail(client.fatal)
            return
        stats = crawler.stats.get_stats()
        reason = stats.get("finish_reason", "unknown")
        summary.runs.append(JobRun(name, stats.get("linkindex/pages_stored", 0), reason))
        if job is not None or reason == "shutdown":
            stop()
        else:
            start_next()

    def imported(name: str, result: Any) -> None:
        if isinstance(result, Failure):
            errors.append(result.value)
            stop()
            return
        summary.runs.append(result)
        if stopping.is_set() or result.finish_reason == "shutdown":
            stop()
        else:
            start_next()

    def stop() -> None:
        try:
            reactor.stop()
        except ReactorNotRunning:  # Scrapy's signal handler is stopping it already
            pass

    errors: list[BaseException] = []
    reactor.callWhenRunning(start_next)
    process.start(stop_after_crawl=False)
    if errors:
        error = errors[0]
        if isinstance(error, LinkindexError):
            raise error
        raise LinkindexError(f"the crawl failed to start: {type(error).__name__}: {error}")
    return summary
