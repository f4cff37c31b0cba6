"""DATA on an object store: a real S3-protocol server on loopback (moto's server mode).

A crawl, a cluster worker, a build (whole, and step by step in tasks on separate
machines' caches, incremental) and the queries, all on `s3://`, give the same answers
as on a folder; the store never holds half of anything, and a store that is not there
is one line."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from clitools import FAST, REPO, assert_one_line_error, crawl_args, linkindex, run
from clustertools import fetched_urls, finish, start_worker, submit, walk
from s3server import SECRET_KEY, S3Server
from test_incremental import tables, write_random_crawl

from core import layout
from core.mirror import Mirror, Spool, cache_dir, local_listing
from core.storage import Storage
from index.build import build_index


@pytest.fixture
def store_env(s3_env: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The S3 server, and a cache folder of this test's own."""
    monkeypatch.setenv("LINKINDEX_CACHE", str(tmp_path / "cache"))
    return s3_env


def upload(data: Path, storage: Storage, folder: str = "raw") -> None:
    """Publish the files under DATA/folder the store does not have yet (write once)."""
    there = set(storage.list(folder, suffix=None))
    for path in sorted((data / folder).rglob("*")):
        rel = path.relative_to(data).as_posix()
        if path.is_file() and rel not in there:
            storage.put_file(rel, path)


def download(storage: Storage, prefix: str, data: Path) -> None:
    for rel in storage.list(prefix, suffix=None):
        storage.get_file(rel, data / rel)


def store_tables(storage: Storage) -> dict[str, list[dict]]:
    """Every table of the store's live generation, as rows, file by file (as
    test_incremental.tables reads a folder)."""
    generation = storage.read_text_once("index/CURRENT").strip()
    root = f"index/{generation}"
    out = {}
    for rel in storage.list(root):
        name = rel[len(root) + 1:]
        if name.startswith("edges/") or name.removesuffix(".parquet") in (
                "pages", "hosts", "domains"):
            with storage.open_input(rel) as fh:
                out[name.removesuffix(".parquet") if "/" not in name else name] = \
                    pq.read_table(fh).to_pylist()
    return out


def query(data: str | Path, *args: str) -> str:
    return linkindex("query", *args, "--data", data, "--format", "csv",
                     "--include-lost").stdout


def test_a_crawl_build_and_queries_on_s3_answer_as_on_a_folder(
        store_env: S3Server, web_server, seeds_file: Path, web, tmp_path: Path) -> None:
    url = store_env.fresh_url("crawl")
    storage = Storage.of(url)
    out = linkindex("crawl", "--seeds-file", seeds_file, "--warc",
                    *crawl_args(web_server.proxy_url, url, "c1")).stdout  # type: ignore[arg-type]
    assert out.rstrip().endswith(f"→ {url}/raw/c1")
    # every part and WARC is in the store, none is left in the local spool
    assert Spool(storage, cache_dir(storage, "spool")).leftovers() == []
    pages, edges = storage.list("raw/c1/pages"), storage.list("raw/c1/edges")
    assert pages and len(edges) == len(pages)
    local = tmp_path / "copy"
    download(storage, "raw", local)
    assert fetched_urls(local, "c1", web) == walk(web, web.seeds()).fetched
    warcs = {row["warc_file"] for rel in pages
             for row in pq.read_table(local / rel, columns=["warc_file"]).to_pylist()}
    assert warcs - {None} == set(storage.list("warc/c1", suffix=".warc.gz"))
    download(storage, "warc", local)  # the bytes as written: gzip members of WARC records
    for rel in warcs - {None}:
        with gzip.open(local / rel) as fh:
            assert fh.read(8) == b"WARC/1.1"

    out = linkindex("build", "--data", url, "--jobs", "2").stdout
    assert out.startswith("built index g000001")
    build_index(local)  # the same raw parts, built on a folder
    assert store_tables(storage) == tables(local)
    target = web.seeds()[1].split("/")[2]
    for name in ("backlinks", "referring_domains", "anchors", "top_pages", "overview"):
        assert query(url, name, target) == query(local, name, target), name
    assert linkindex("sql", "SELECT count(*) AS n FROM edges", "--data", url,
                     "--format", "csv").stdout == linkindex(
        "sql", "SELECT count(*) AS n FROM edges", "--data", local, "--format", "csv").stdout
    paths = linkindex("paths", "--data", url).stdout
    assert f"edges\t{url}/index/g000001/edges/\n" in paths
    init = linkindex("sql", "--print-init", "--data", url).stdout  # for DuckDB with httpfs
    assert f"read_parquet('{url}/index/g000001/edges/bucket=*/*.parquet'" in init
    metrics = [json.loads(linkindex("metrics", "--data", d, "--format", "json").stdout)
               for d in (url, local)]
    assert metrics[0]["domain_rank"] == metrics[1]["domain_rank"]
    assert "up to date" in linkindex("build", "--data", url).stdout

    # re-extraction and archive import work on the store too, through the same mirror
    archives = sorted(local.glob("warc/c1/*.warc.gz"))
    for data in (url, local):
        out = linkindex("reextract", "--crawl-id", "c1", "--data", data).stdout
        assert out.startswith("reextract c1: ") and out.rstrip().endswith(f"→ {data}/raw/c1")
        out = linkindex("import-warc", "--crawl-id", "c9", *archives, "--data", data).stdout
        assert out.startswith("import c9: ")
        linkindex("build", "--data", data)
    assert storage.list("raw/c9/pages")
    assert query(url, "backlinks", target) == query(local, "backlinks", target)
    assert query(url, "referring_domains", target) == query(local, "referring_domains", target)


def test_scrapy_crawl_links_writes_to_s3_too(store_env: S3Server, web_server,
                                             tmp_path: Path) -> None:
    """`scrapy crawl links -a data=s3://…`: the Scrapy project way, same spool."""
    url = store_env.fresh_url("scrapy")
    storage = Storage.of(url)
    run([sys.executable, "-m", "scrapy", "crawl", "links", "-a", "seeds=http://site0.example/",
         "-a", f"data={url}", "-a", "crawl_id=s1", "-a", f"proxy={web_server.proxy_url}",
         "-a", "allow_private=true", "-a", "max_pages=5", *FAST, "-s", "LOG_LEVEL=WARNING"],
        cwd=REPO)
    pages = storage.list("raw/s1/pages")
    assert pages and storage.list("raw/s1/edges")
    assert Spool(storage, cache_dir(storage, "spool")).leftovers() == []
    assert not (REPO / "s3:").exists()


def test_a_cluster_worker_writes_its_parts_to_s3(
        store_env: S3Server, redis_server, web_server, seeds_file: Path, web,
        tmp_path: Path) -> None:
    url = store_env.fresh_url("worker")
    storage = Storage.of(url)
    submit(redis_server.url, "s3job", seeds_file, "--delay", "0")  # politeness is not tested here
    worker = start_worker(redis_server.url, url, "s3job",  # type: ignore[arg-type]
                          web_server.proxy_url)
    finish(worker)
    assert Spool(storage, cache_dir(storage, "spool")).leftovers() == []
    local = tmp_path / "copy"
    download(storage, "raw", local)
    assert fetched_urls(local, "s3job", web) == walk(web, web.seeds()).fetched


def test_a_cluster_build_on_s3_step_by_step_equals_a_full_build(
        store_env: S3Server, tmp_path: Path) -> None:
    """Tasks of each step run at once, each with its own cache (as pods on separate
    machines), incremental on a build made by the whole command."""
    url = store_env.fresh_url("steps")
    storage = Storage.of(url)
    data, held, rng = tmp_path / "raw-here", [], random.Random(21)
    write_random_crawl(data, rng, "c1", 10, held)
    upload(data, storage)
    linkindex("build", "--data", url, "--buckets", "4")
    write_random_crawl(data, rng, "c2", 20, held)
    upload(data, storage)
    linkindex("build", "plan", "--data", url, "--build-id", "b2")
    for step in ("map", "reduce", "write"):
        tasks = [subprocess.Popen(
            [sys.executable, "-m", "linkindex", "build", step, "--data", url,
             "--build-id", "b2", "--task", str(i), "--tasks", "2", "--wait", "60"],
            cwd=REPO, env={**_env(), "LINKINDEX_CACHE": str(tmp_path / f"pod{i}")},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
        for task in tasks:
            out, err = task.communicate(timeout=300)
            assert task.returncode == 0, err
            assert out.startswith(f"{step} task "), out
    out = linkindex("build", "commit", "--data", url, "--build-id", "b2").stdout
    assert out.startswith("built index g000002") and "incremental on g000001" in out
    full = tmp_path / "full"
    download(storage, "raw", full)
    build_index(full, buckets=4)
    assert store_tables(storage) == tables(full)
    # nothing of the build is left in the store's stage but the kept state
    assert storage.list("stage/edges") == []
    # a target's query reads its bucket's objects only: the others could be garbage
    # (but bucket 0's: DuckDB reads the first file's schema when the view is made)
    expected = query(full, "backlinks", "d1.example")
    assert expected.count("\n") > 2
    keep = {f"bucket={layout.bucket_of('d1.example', 4)}/", "bucket=0/"}
    others = [rel for rel in storage.list("index/g000002/edges")
              if not any(k in rel for k in keep)]
    assert len(others) == 2
    for rel in others:
        storage.put_bytes(rel, b"not parquet at all")
    assert query(url, "backlinks", "d1.example") == expected


def test_a_step_waits_for_the_step_before_it_on_s3(store_env: S3Server,
                                                   tmp_path: Path) -> None:
    url = store_env.fresh_url("wait")
    storage = Storage.of(url)
    data, held = tmp_path / "raw-here", []
    write_random_crawl(data, random.Random(4), "c1", 10, held)
    upload(data, storage)
    env = {**_env(), "LINKINDEX_CACHE": str(tmp_path / "other-pod")}
    early = subprocess.Popen(
        [sys.executable, "-m", "linkindex", "build", "map", "--data", url, "--build-id",
         "w1", "--wait", "120"], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    linkindex("build", "plan", "--data", url, "--build-id", "w1")
    out, err = early.communicate(timeout=180)
    assert early.returncode == 0, err
    assert out.startswith("map task 0/1: "), out
    assert storage.list("stage/maps", suffix=".json")


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(REPO), "LINKINDEX_DEBUG": ""}


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return Storage.of(tmp_path / "store")
    s3: S3Server = request.getfixturevalue("s3_env")
    return Storage.of(s3.fresh_url("mirror"))


def test_a_mirror_publishes_exactly_what_the_command_changed(store: Storage,
                                                             tmp_path: Path) -> None:
    store.put_bytes("raw/c1/pages/a.parquet", b"a" * 10)
    store.put_bytes("index/g1/edges/bucket=0/data_0.parquet", b"bucket")
    store.put_bytes("index/CURRENT", b"g1\n")
    store.put_bytes("stage/old.json", b"{}")
    mirror = Mirror(store, tmp_path / "mirror")
    assert mirror.pull(["raw/", "index/", "stage/"]) == 4
    assert mirror.pull(["raw/", "index/", "stage/"]) == 0  # nothing changed: no download
    (mirror.local / "junk").write_text("not under a pulled prefix")
    before = mirror.snapshot()
    # a command: a new generation reusing a bucket (hard link), the pointer, a deletion
    new = mirror.local / "index/g2/edges/bucket=0/data_0.parquet"
    new.parent.mkdir(parents=True)
    new.hardlink_to(mirror.local / "index/g1/edges/bucket=0/data_0.parquet")
    (mirror.local / "index/g2/manifest.json").write_text("{}")
    (mirror.local / "index/CURRENT").write_text("g2\n")
    (mirror.local / "stage/old.json").unlink()
    (mirror.local / ".tmp-spill").mkdir()
    (mirror.local / ".tmp-spill/x").write_text("never published")
    assert mirror.push(before) == (3, 1)
    assert store.list("", suffix=None) == [
        "index/CURRENT", "index/g1/edges/bucket=0/data_0.parquet",
        "index/g2/edges/bucket=0/data_0.parquet", "index/g2/manifest.json",
        "raw/c1/pages/a.parquet"]
    assert store.get_bytes("index/g2/edges/bucket=0/data_0.parquet") == b"bucket"
    assert store.read_text_once("index/CURRENT") == "g2\n"
    assert mirror.pull(["raw/", "index/", "stage/"]) == 0  # published files are kept
    # another machine removed a generation: the pull removes it here too
    store.delete_prefix("index/g1")
    mirror.pull(["raw/", "index/", "stage/"])
    assert sorted(local_listing(mirror.local)) == [
        "index/CURRENT", "index/g2/edges/bucket=0/data_0.parquet", "index/g2/manifest.json",
        "junk", "raw/c1/pages/a.parquet"]


def test_a_spool_publishes_warc_then_edges_then_pages(store: Storage, tmp_path: Path) -> None:
    spool = Spool(store, tmp_path / "spool")
    for rel in ("raw/c1/pages/w-000001.parquet", "raw/c1/edges/w-000001.parquet",
                "warc/c1/w-000001.warc.gz", "raw/c1/pages/.tmp-1-w-000002.parquet"):
        (spool.local / rel).parent.mkdir(parents=True, exist_ok=True)
        (spool.local / rel).write_bytes(rel.encode())
    assert spool.leftovers() == ["warc/c1/w-000001.warc.gz", "raw/c1/edges/w-000001.parquet",
                                 "raw/c1/pages/w-000001.parquet"]
    assert spool.publish(spool.leftovers()) == 3
    assert spool.leftovers() == []
    assert spool.taken("raw/c1/pages/w-000001.parquet")
    assert store.get_bytes("warc/c1/w-000001.warc.gz") == b"warc/c1/w-000001.warc.gz"


def test_a_crawl_leaves_nothing_behind_a_stopped_run_left(
        store_env: S3Server, web_server, tmp_path: Path) -> None:
    """Parts a run could not publish (the store went away) are published by the next."""
    url = store_env.fresh_url("left")
    storage = Storage.of(url)
    spool = cache_dir(storage, "spool")
    left = spool / "raw/c0/pages/w-000001.parquet"
    left.parent.mkdir(parents=True)
    left.write_bytes(b"a finished part")
    linkindex("crawl", *crawl_args(web_server.proxy_url, url, "c1"),  # type: ignore[arg-type]
              "--max-pages", "3", "http://site0.example/")
    assert storage.get_bytes("raw/c0/pages/w-000001.parquet") == b"a finished part"
    assert not left.exists()


@pytest.mark.parametrize("command", [
    ["crawl", "http://site0.example/"],
    ["worker", "--job", "j", "--redis", "redis://127.0.0.1:1"],
    ["build"],
    ["query", "backlinks", "example.com"],
])
def test_an_unreachable_store_is_one_line(command: list[str], store_env: S3Server,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    proc = linkindex(*command, "--data", store_env.url("x"), check=False)
    assert_one_line_error(proc, f"{store_env.url('x')}: opening the bucket failed: "
                                "cannot reach the endpoint")
    assert SECRET_KEY not in proc.stderr


def test_bad_store_urls_and_an_empty_store_are_one_line(store_env: S3Server) -> None:
    proc = linkindex("build", "--data", "s3://key:secret@bucket/x", check=False)
    assert_one_line_error(proc, "credentials in the URL are refused")
    proc = linkindex("build", "--data", "s3://no-such-bucket-here/x", check=False)
    assert_one_line_error(proc, "bucket 'no-such-bucket-here' does not exist")
    url = store_env.fresh_url("empty")
    proc = linkindex("query", "backlinks", "example.com", "--data", url, check=False)
    assert_one_line_error(proc, f"no index built yet in {url}")
    proc = linkindex("build", "--data", url, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert layout.CURRENT not in " ".join(Storage.of(url).list("", suffix=None))


def test_a_folder_named_as_storage_or_file_url_reads_as_the_folder(crawled: Path) -> None:
    from queries import run_sql

    sql = "SELECT dst_domain, count(*) AS n FROM edges GROUP BY ALL ORDER BY ALL"
    assert run_sql(Storage.of(crawled), sql) == run_sql(crawled, sql)
    as_file_url = linkindex("sql", sql, "--data", f"file://{crawled}", "--format", "csv")
    assert as_file_url.stdout == linkindex("sql", sql, "--data", crawled, "--format",
                                           "csv").stdout
