"""`linkindex job metrics`: every job's counts over HTTP, read-only.

/metrics is the Prometheus text exposition format (one gauge per count, labelled by job
and kind); /metrics.json is for autoscalers (KEDA's metrics-api trigger reads
`queued_total`); /healthz answers without asking Redis. Each request reads Redis
afresh, so any number of these servers may run; a Redis error is a 503 for that
request only. Stdlib only: it runs in its own small pod.
"""

from __future__ import annotations

import json
import math
import signal
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis

from core.errors import LinkindexError
from crawler.frontier import jobs

# name → help; import jobs count files where crawl jobs count requests.
GAUGES = {
    "queued": "Requests (crawl jobs, robots.txt included) or files (import jobs) waiting.",
    "leased": "Requests or files leased to a worker right now.",
    "done": "Requests or files settled successfully.",
    "failed": "Requests or files given up on.",
    "ignored": "Requests settled without a fetch (crawl jobs only).",
    "fetched": "Pages fetched or imported (crawl jobs: live, from the workers' heartbeats).",
    "stored": "Pages whose rows are in acknowledged Parquet parts.",
    "workers": "Workers with a live heartbeat on the job.",
    "pages_per_second": "Pages per second over the workers' last few seconds.",
    "finished": "1 when nothing is queued and nothing is leased, else 0.",
}
PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# What a request may meet while Redis (or a Cluster node) is down, failing over or
# refusing us: a 503 for that request, never the end of the server.
REDIS_ERRORS = (redis.RedisError, redis.exceptions.RedisClusterException, LinkindexError)


def job_values(status: Any) -> dict[str, Any]:
    """One job's gauges; an import job (filejobs.FileJobStatus) maps its own counters."""
    if getattr(status, "kind", "crawl") == "import":
        pages = status.counts.get("pages", 0)
        values = {"queued": status.pending, "leased": status.leased, "done": status.done,
                  "failed": status.failed, "fetched": pages, "stored": pages}
    else:
        values = {"queued": status.queued, "leased": status.leased, "done": status.done,
                  "failed": status.failed, "ignored": status.ignored,
                  "fetched": status.fetched, "stored": status.stored}
    values.update(workers=len(status.workers),
                  pages_per_second=round(status.pages_per_second, 3),
                  finished=int(status.finished))
    return values


def kind_of(status: Any) -> str:
    return "import" if getattr(status, "kind", "crawl") == "import" else "crawl"


def label_value(text: str) -> str:
    """Escaped as the exposition format wants: backslash, double quote, newline."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def sample(value: float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    return repr(value)


def redis_memory(server: Any) -> dict[str, tuple[int, int]]:
    """node → (used_memory, maxmemory) bytes, for every master of a Redis Cluster: with
    noeviction a full node refuses writes, so this is what to alert on."""
    if isinstance(server, redis.RedisCluster):
        infos = server.info("memory", target_nodes=redis.RedisCluster.PRIMARIES)
        if "used_memory" in infos:  # one master: redis-py gives its answer alone
            infos = {server.get_primaries()[0].name: infos}
    else:
        kw = server.connection_pool.connection_kwargs
        infos = {f"{kw.get('host', kw.get('path'))}:{kw.get('port', '')}".rstrip(":"):
                 server.info("memory")}
    return {node: (int(i.get("used_memory", 0)), int(i.get("maxmemory", 0)))
            for node, i in sorted(infos.items())}


def prometheus_text(statuses: list[Any], memory: dict[str, tuple[int, int]]) -> str:
    lines = []
    rows = [(s, f'job="{label_value(s.name)}",kind="{kind_of(s)}"', job_values(s))
            for s in statuses]
    for name, help_text in GAUGES.items():
        lines += [f"# HELP linkindex_job_{name} {help_text}",
                  f"# TYPE linkindex_job_{name} gauge"]
        lines += [f"linkindex_job_{name}{{{labels}}} {sample(values[name])}"
                  for _, labels, values in rows if name in values]
    lines += ["# HELP linkindex_jobs Jobs in this Redis.", "# TYPE linkindex_jobs gauge",
              f"linkindex_jobs {len(statuses)}"]
    for i, (name, help_text) in enumerate((
            ("used_memory", "Bytes Redis uses, per node (per master on a Cluster)."),
            ("maxmemory", "Redis' maxmemory per node (0: none); at it writes are refused."))):
        lines += [f"# HELP linkindex_redis_{name}_bytes {help_text}",
                  f"# TYPE linkindex_redis_{name}_bytes gauge"]
        lines += [f'linkindex_redis_{name}_bytes{{node="{label_value(node)}"}} {values[i]}'
                  for node, values in memory.items()]
    return "\n".join(lines) + "\n"


def metrics_json(statuses: list[Any]) -> dict[str, Any]:
    """Totals count running jobs only: a paused or stopped job waits for no worker."""
    out: list[dict[str, Any]] = []
    for s in statuses:
        out.append({"name": s.name, "kind": kind_of(s), "state": s.display_state,
                    **job_values(s)})
    running = [j for j in out if j["state"] == "running"]
    return {"jobs": out,
            "queued_total": sum(j["queued"] for j in running),
            "leased_total": sum(j["leased"] for j in running),
            "by_kind": {kind: {"queued": sum(j["queued"] for j in running if j["kind"] == kind),
                               "leased": sum(j["leased"] for j in running if j["kind"] == kind)}
                        for kind in ("crawl", "import")}}


class Handler(BaseHTTPRequestHandler):
    server_version = "linkindex-metrics"
    redis_client: Any = None  # set per server by serve_metrics

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            return self.reply(200, "text/plain; charset=utf-8", "ok\n")
        if path not in ("/metrics", "/metrics.json"):
            return self.reply(404, "text/plain; charset=utf-8", "not found: try /metrics\n")
        try:
            statuses = jobs.statuses(self.redis_client)
            memory = redis_memory(self.redis_client) if path == "/metrics" else {}
        except REDIS_ERRORS as exc:
            # One line; the next scrape asks again (redis-py reconnects by itself).
            return self.fail(503, "redis error", exc)
        except Exception as exc:  # a bug: one line to the scraper, the server goes on
            return self.fail(500, "internal error", exc)
        if path == "/metrics":
            return self.reply(200, PROMETHEUS_TYPE, prometheus_text(statuses, memory))
        return self.reply(200, "application/json",
                          json.dumps(metrics_json(statuses), indent=1) + "\n")

    def fail(self, code: int, what: str, exc: Exception) -> None:
        line = f"{what}: {type(exc).__name__}: {exc}".splitlines()[0]
        self.reply(code, "text/plain; charset=utf-8", line + "\n")

    def reply(self, code: int, content_type: str, body: str) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # a scrape every 15 s would fill the pod's log with nothing new


def serve_metrics(server: Any, host: str, port: int) -> int:
    """Serve until SIGTERM or Ctrl-C (then 0); a port already taken is one line."""
    handler = type("MetricsHandler", (Handler,), {"redis_client": server})
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class = type("MetricsServer", (ThreadingHTTPServer,), {"address_family": family})
    try:
        httpd = server_class((host, port), handler)
    except OSError as exc:
        raise LinkindexError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    httpd.daemon_threads = True  # a stuck client must not hold the exit
    stop = threading.Event()
    # serve_forever runs in a thread: shutdown() from a signal handler in the serving
    # thread itself would wait for itself forever.
    thread = threading.Thread(target=httpd.serve_forever, name="metrics", daemon=True)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        thread.start()
        shown = host if ":" not in host else f"[{host}]"
        print(f"serving job metrics on http://{shown}:{httpd.server_address[1]}/metrics",
              flush=True)
        while not stop.wait(1.0):  # wakes for signals, and checks the server lives
            if not thread.is_alive():
                raise LinkindexError("the metrics server stopped")
    finally:
        for signum, handler_before in previous.items():
            signal.signal(signum, handler_before)
        if thread.is_alive():
            httpd.shutdown()
        httpd.server_close()
    return 0
