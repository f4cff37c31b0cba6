"""The shards of a host-level release, each read by one worker process (``hostlevel``).

A host-level release splits its vertices and its edges into shards listed by
``<release>-host-vertices.paths.gz`` and ``-edges.paths.gz``. Each shard is read by
one task, in a pool of spawned processes (or inline with one job), and leaves files
of its own, so a stopped import redoes only the shards it had not finished:

- a vertex shard: ``hosts/hosts-K.parquet``, each host's id, reversed name and reversed
  registrable domain (``core.domains.registrable_domain`` of the normalised forward
  name, asked once per run of a domain's hosts where that is sure to give the same;
  None for a name our host rules reject);
- an edge shard: ``runs/shard-K-J.parquet``, its host links mapped to domain pairs
  through ``host_domain.npy`` (one uint32 per host, memory-mapped and so shared by the
  workers), self-pairs dropped, unique per chunk, with the linked domain's bucket.

Each returns what the parent checks across shards: the first and last id or name,
or edge, so that shard K continues shard K-1.
"""

from __future__ import annotations

import gzip
import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core import layout
from core.domains import registrable_domain
from core.errors import LinkindexError
from core.urls import normalize_host
from index.ccgraph.formats import GraphFileError, read_edges, read_vertices
from index.ccgraph.remote import fetch_file, is_remote

__all__ = ["NO_DOMAIN", "EdgeTask", "VertexTask", "domain_rev", "domain_revs", "edge_shard",
           "shard_list", "tasks_in", "vertex_shard"]

NO_DOMAIN = np.uint32(0xFFFFFFFF)  # a host our rules reject: its links are left out


def shard_list(path: Path, base: str, release: str, kind: str) -> list[str]:
    """The shards a ``.paths.gz`` list names, as URLs or paths. A line is a URL, or a
    path under `base` (``<release>/host/vertices/part-….txt.gz``; a longer prefix such
    as ``projects/hyperlinkgraph/`` before ``<release>/`` is dropped)."""
    try:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")
        lines = [line.strip() for line in text.splitlines()]
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise GraphFileError(f"{kind} shard list {path.name}: unreadable ({exc})") from None
    shards = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if urlsplit(line).scheme:
            shards.append(line)
            continue
        at = line.find(f"{release}/")
        relative = line[at:] if at > 0 and line[at - 1] == "/" else line.lstrip("/")
        shards.append(f"{base.rstrip('/')}/{relative}")
    if not shards:
        raise GraphFileError(f"{kind} shard list {path.name}: names no shard")
    return shards


def domain_rev(rev: str) -> str | None:
    """A reversed host name's registrable domain, reversed; None if no host."""
    return domain_revs([rev])[0]


def domain_revs(revs: Iterable[str]) -> list[str | None]:
    """`domain_rev` of each name, faster on names in C-locale order, where a domain's
    hosts follow each other: a host under the domain found for the host before has that
    domain, when the suffix list has no rule under it (``_closed``), and is not asked
    again (``registrable_domain`` costs about 8 µs)."""
    out: list[str | None] = []
    domain, dotted, reversed_domain, closed = "", "", "", False
    normalize = getattr(normalize_host, "__wrapped__", normalize_host)  # no cache: seen once
    for rev in revs:
        host = normalize(".".join(reversed(rev.split("."))))
        if host is None:
            out.append(None)
            continue
        if not (closed and (host.endswith(dotted) or host == domain)):
            domain = registrable_domain(host)
            dotted = "." + domain
            reversed_domain = ".".join(reversed(domain.split(".")))
            closed = _closed(domain)
        out.append(reversed_domain)
    return out


@cache
def _rules() -> tuple[frozenset[str], frozenset[str]] | None:
    """The suffix list core.domains uses (tldextract's bundled snapshot, ICANN section):
    every rule and every label-wise suffix of one (``*.`` and ``!`` taken off), and
    the parents of wildcard rules; None if the snapshot is not laid out as expected."""
    text = resources.files("tldextract").joinpath(".tld_set_snapshot").read_text("utf-8")
    begin, end = "===BEGIN ICANN DOMAINS===", "===END ICANN DOMAINS==="
    if begin not in text or end not in text:
        return None
    section = text.split(begin, 1)[1].split(end, 1)[0]
    paths: set[str] = set()
    wildcards: set[str] = set()
    for line in section.splitlines():
        rule = line.strip().split(" ", 1)[0].lower()
        if not rule or rule.startswith("//"):
            continue
        rule = rule.removeprefix("!")
        if rule.startswith("*."):
            rule = rule[2:]
            wildcards.add(rule)
        labels = rule.split(".")
        paths.update(".".join(labels[i:]) for i in range(len(labels)))
    return frozenset(paths), frozenset(wildcards)


def _closed(domain: str) -> bool:
    """Whether every host under `domain` (a registrable domain) has it as its own: the
    suffix list's search, right to left, stops at the domain's first label for them
    all, as no rule is the domain or under it and its parent has no wildcard. IP
    addresses, one-label names and punycode (the list is matched decoded) are asked
    host by host."""
    rules = _rules()
    if rules is None or "." not in domain or "xn--" in domain or \
            domain.rsplit(".", 1)[1].isdigit():
        return False
    paths, wildcards = rules
    return domain not in paths and domain.split(".", 1)[1] not in wildcards


def _local(source: str, folder: Path) -> tuple[Path, bool]:
    """The shard as a local file, and whether it is a download (to delete when read)."""
    if is_remote(source):
        return fetch_file(source, folder), True
    path = Path(source)
    if not path.is_file():
        raise LinkindexError(f"{source}: no such file")
    return path, False


@dataclass(frozen=True)
class VertexTask:
    index: int
    source: str
    work: str  # the import's .import folder


def _first_id(path: Path) -> int:
    """The shard's first id (ids continue across shards); 0 when unreadable, so the
    reader reports the fault."""
    try:
        with gzip.open(path, "rt") if path.suffix == ".gz" else open(path) as fh:
            return int(fh.readline().split("\t", 1)[0])
    except (OSError, EOFError, ValueError, UnicodeDecodeError):
        return 0


def vertex_shard(task: VertexTask) -> dict[str, Any]:
    """Check one vertex shard and store its hosts with their domains."""
    work = Path(task.work)
    download = work / "downloads" / "vertices" / f"{task.index:05d}"
    path, downloaded = _local(task.source, download)
    start = _first_id(path)
    final = work / "hosts" / f"hosts-{task.index:05d}.parquet"
    count = dropped = 0
    first = last = None
    schema = pa.schema([("id", pa.uint64()), ("rev", pa.string()), ("drev", pa.string())])
    with layout.atomic_path(final) as tmp, pq.ParquetWriter(tmp, schema,
                                                            compression="zstd") as writer:
        for batch in read_vertices(path, domain_level=False, start=start):
            revs = batch.column("rev").to_pylist()
            domains = domain_revs(revs)
            dropped += domains.count(None)
            writer.write_batch(pa.record_batch(
                [batch.column("id"), batch.column("rev"), pa.array(domains, pa.string())],
                schema=schema))
            first = revs[0] if first is None else first
            last = revs[-1]
            count += len(revs)
    if downloaded:
        shutil.rmtree(download)
    return {"index": task.index, "name": path.name, "first_id": start if count else None,
            "count": count, "first": first, "last": last, "dropped": dropped}


@dataclass(frozen=True)
class EdgeTask:
    index: int
    source: str
    work: str
    chunk_edges: int


def edge_shard(task: EdgeTask) -> dict[str, Any]:
    """Check one edge shard and write its domain pairs, in chunks sorted by bucket."""
    work = Path(task.work)
    runs = work / "runs"
    runs.mkdir(exist_ok=True)
    mine = f"shard-{task.index:05d}-"
    for old in runs.iterdir():  # a half-written run of this shard: redone whole
        if mine in old.name:
            old.unlink()
    download = work / "downloads" / "edges" / f"{task.index:05d}"
    path, downloaded = _local(task.source, download)
    host_domain = np.load(work / "host_domain.npy", mmap_mode="r")
    buckets = np.load(work / "buckets.npy", mmap_mode="r")
    pending: list[np.ndarray] = []
    counts = {"edges": 0, "pairs": 0, "chunks": 0}
    first: list[int] | None = None
    last: list[int] | None = None

    def flush() -> None:
        if not pending:
            return
        keys = _unique(np.concatenate(pending))
        pending.clear()
        if not len(keys):
            return
        dst = keys >> np.uint64(32)
        src = keys & np.uint64(0xFFFFFFFF)
        bucket = buckets[dst]
        order = np.argsort(bucket, kind="stable")
        table = pa.table({"bucket": pa.array(bucket[order], pa.uint32()),
                          "dst_id": pa.array(dst[order]), "src_id": pa.array(src[order])})
        with layout.atomic_path(runs / f"{mine}{counts['chunks']:05d}.parquet") as tmp:
            pq.write_table(table, tmp, compression="zstd", row_group_size=1 << 20)
        counts["chunks"] += 1
        counts["pairs"] += len(keys)

    rows = 0
    for batch in read_edges(path, len(host_domain)):
        src_hosts = batch.column("src").to_numpy()
        dst_hosts = batch.column("dst").to_numpy()
        if first is None:
            first = [int(src_hosts[0]), int(dst_hosts[0])]
        last = [int(src_hosts[-1]), int(dst_hosts[-1])]
        counts["edges"] += len(src_hosts)
        src = host_domain[src_hosts]
        dst = host_domain[dst_hosts]
        keep = (src != NO_DOMAIN) & (dst != NO_DOMAIN) & (src != dst)
        keys = _unique((dst[keep].astype(np.uint64) << np.uint64(32))
                       | src[keep].astype(np.uint64))
        pending.append(keys)
        rows += len(keys)
        if rows >= task.chunk_edges:
            flush()
            rows = 0
    flush()
    if downloaded:
        shutil.rmtree(download)
    return {"index": task.index, "name": path.name, "first": first, "last": last, **counts}


def _unique(keys: np.ndarray) -> np.ndarray:
    """The distinct keys, sorted (in place: numpy's own unique hashes, several times
    slower on these)."""
    keys.sort()
    if len(keys) < 2:
        return keys
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))]


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Workers:
    """Tasks run inline (one job) or in a pool of spawned processes, started once for
    both kinds of shard and stopped at the end; on an error, the other workers are
    killed, not waited for. A worker that cannot start (or dies) is one error, not a
    pool restarting it for ever."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._pool: ProcessPoolExecutor | None = None

    def run(self, fn: Callable[[Any], dict[str, Any]], tasks: Iterable[Any]
            ) -> Iterator[dict[str, Any]]:
        """Each task's result as it is done (in any order with more than one job)."""
        tasks = list(tasks)
        if self.jobs <= 1 or len(tasks) <= 1:
            for task in tasks:
                yield fn(task)
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.jobs,
                                             mp_context=multiprocessing.get_context("spawn"))
        futures = [self._pool.submit(fn, task) for task in tasks]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BrokenProcessPool:
            raise LinkindexError("a worker process stopped (killed, or out of memory?): run "
                                 "the same command again to go on") from None

    def close(self, failed: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if failed:
            processes = list(getattr(pool, "_processes", {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:  # a shard may take minutes: not waited for
                process.terminate()
            for process in processes:
                process.join()
        else:
            pool.shutdown()


@contextmanager
def workers(jobs: int) -> Iterator[Workers]:
    pool = Workers(jobs)
    try:
        yield pool
    except BaseException:
        pool.close(failed=True)
        raise
    pool.close(failed=False)


def tasks_in(done: dict[str, Any], count: int) -> list[int]:
    """The shard numbers not in `done` (keys are str: the state is JSON)."""
    return [k for k in range(count) if str(k) not in done]
