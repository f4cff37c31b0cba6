"""core.storage: the same behaviour on a local folder and on a real S3-protocol server
(moto on loopback), and clear one-line errors without secrets when S3 is not there."""

from __future__ import annotations

import hashlib
import pickle
import socket
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from s3server import SECRET_KEY, S3Server

from core.errors import LinkindexError
from core.storage import Storage


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return Storage.of(tmp_path / "data")
    s3: S3Server = request.getfixturevalue("s3_env")
    return Storage.of(s3.fresh_url())


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_line_without_secret(message: str) -> None:
    assert "\n" not in message
    assert SECRET_KEY not in message


# -- the same behaviour on both ------------------------------------------------------


def test_put_get_exists_size(store: Storage) -> None:
    assert not store.exists("a/b.bin")
    store.put_bytes("a/b.bin", b"hello")
    assert store.exists("a/b.bin")
    assert store.get_bytes("a/b.bin") == b"hello"
    assert store.size("a/b.bin") == 5
    assert not store.exists("a")  # a folder is not an object
    store.put_bytes("a/b.bin", b"")  # replaced whole (pointers are)
    assert store.get_bytes("a/b.bin") == b""
    assert store.size("a/b.bin") == 0


def test_a_missing_object_is_file_not_found(store: Storage) -> None:
    for read in (store.get_bytes, store.open_input, store.size, store.read_text_once):
        with pytest.raises(FileNotFoundError, match="nothing/here"):
            read("nothing/here")
    store.delete("nothing/here")  # deleting nothing is nothing
    store.delete_prefix("nothing")


def test_pointer_text(store: Storage) -> None:
    store.write_text("index/CURRENT", "g000001")
    assert store.read_text_once("index/CURRENT") == "g000001\n"
    store.write_text("index/CURRENT", "g000002\n")
    assert store.read_text_once("index/CURRENT") == "g000002\n"
    assert store.list("index", suffix=None) == ["index/CURRENT"]


RAW = [
    "raw/c1/pages/w0-000002.parquet",
    "raw/c1/pages/w0-000001.parquet",
    "raw/c1/edges/w0-000001.parquet",
    "raw/c1/pages/.tmp-7-w0-000003.parquet",  # a temporary name
    "raw/.tmp-reextract/pages/w0-000001.parquet",  # a staging folder
    "raw/c1/notes.txt",
    "raw/c10/pages/w1-000001.parquet",
    "index/g000001/edges/bucket=3/part-0.parquet",
]


def test_list_is_recursive_sorted_and_skips_dot_names(store: Storage) -> None:
    for rel in RAW:
        store.put_bytes(rel, rel.encode())
    assert store.list("raw") == [
        "raw/c1/edges/w0-000001.parquet",
        "raw/c1/pages/w0-000001.parquet",
        "raw/c1/pages/w0-000002.parquet",
        "raw/c10/pages/w1-000001.parquet",
    ]
    # a prefix is a folder: raw/c1 is not raw/c10
    assert store.list("raw/c1/") == [
        "raw/c1/edges/w0-000001.parquet",
        "raw/c1/pages/w0-000001.parquet",
        "raw/c1/pages/w0-000002.parquet",
    ]
    assert store.list("raw/c1", suffix=None) == [
        "raw/c1/edges/w0-000001.parquet",
        "raw/c1/notes.txt",
        "raw/c1/pages/w0-000001.parquet",
        "raw/c1/pages/w0-000002.parquet",
    ]
    assert store.list("raw/c1", suffix=".txt") == ["raw/c1/notes.txt"]
    assert store.list() == sorted(["index/g000001/edges/bucket=3/part-0.parquet",
                                   *store.list("raw")])
    # a staging folder is listed when asked for by name
    assert store.list("raw/.tmp-reextract") == ["raw/.tmp-reextract/pages/w0-000001.parquet"]
    assert store.list("nothing") == []


def test_delete_and_delete_prefix(store: Storage) -> None:
    for rel in RAW:
        store.put_bytes(rel, b"x")
    store.delete("raw/c1/notes.txt")
    assert not store.exists("raw/c1/notes.txt")
    store.delete_prefix("raw/c1")
    assert store.list("raw", suffix=None) == ["raw/c10/pages/w1-000001.parquet"]
    assert store.exists("raw/c10/pages/w1-000001.parquet")
    store.delete_prefix("index/")
    assert store.list(suffix=None) == ["raw/c10/pages/w1-000001.parquet"]
    with pytest.raises(ValueError, match="never deletes DATA"):
        store.delete_prefix("")


def test_parquet_put_file_and_read_back(store: Storage, tmp_path: Path) -> None:
    table = pa.table({"dst_domain": ["a.test", "b.test", "c.test"] * 1000,
                      "n": pa.array(range(3000), pa.int64())})
    local = tmp_path / "part.parquet"
    pq.write_table(table, local, row_group_size=1000)
    rel = "raw/c1/edges/w0-000001.parquet"
    store.put_file(rel, local)
    assert store.size(rel) == local.stat().st_size
    assert pq.read_table(store.open_input(rel)).equals(table)
    meta = pq.ParquetFile(store.open_input(rel)).metadata
    assert (meta.num_rows, meta.num_row_groups) == (3000, 3)
    assert store.list("raw") == [rel]


def test_put_file_empty_and_missing_source(store: Storage, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    store.put_file("e/empty", empty)
    assert store.get_bytes("e/empty") == b""
    with pytest.raises(FileNotFoundError):
        store.put_file("e/missing", tmp_path / "missing")
    assert not store.exists("e/missing")


def test_paths_stay_inside_data(store: Storage) -> None:
    for bad in ("", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a\\b"):
        with pytest.raises(ValueError):
            store.put_bytes(bad, b"x")
        with pytest.raises(ValueError):
            store.get_bytes(bad)


def test_pickles_as_its_url(store: Storage) -> None:
    store.put_bytes("p.bin", b"42")
    again = pickle.loads(pickle.dumps(store))
    assert again.url == store.url and again.get_bytes("p.bin") == b"42"


# -- local ---------------------------------------------------------------------------


def test_local_storage(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Storage.of(data)
    assert store.is_local and store.url == str(data)
    assert Storage.of(f"file://{data}").root == str(data)
    store.put_bytes("raw/c1/pages/w0-000001.parquet", b"x")
    assert store.local_path("raw/c1/pages/w0-000001.parquet").read_bytes() == b"x"
    # written under a temporary name and renamed: nothing else is left
    assert [p.name for p in (data / "raw/c1/pages").iterdir()] == ["w0-000001.parquet"]
    assert Storage.of(store) is store


# -- S3 ------------------------------------------------------------------------------


def test_s3_small_objects_are_one_put(s3_env: S3Server, tmp_path: Path) -> None:
    """One PutObject up to 10 MiB (the ETag of a multipart upload ends in -<parts>),
    a multipart upload above, both whole when read back."""
    store = Storage.of(s3_env.fresh_url())
    assert not store.is_local
    small = b"s" * 1000
    store.put_bytes("small.bin", small)
    client = s3_env.client()
    key = store.path("small.bin").split("/", 1)[1]
    etag = client.head_object(Bucket=s3_env.bucket, Key=key)["ETag"]  # type: ignore[attr-defined]
    assert etag.strip('"') == hashlib.md5(small).hexdigest()
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * (11 * 4096))  # 11 MiB
    store.put_file("big.bin", big)
    key = store.path("big.bin").split("/", 1)[1]
    etag = client.head_object(Bucket=s3_env.bucket, Key=key)["ETag"]  # type: ignore[attr-defined]
    assert etag.strip('"').endswith("-2")
    assert store.get_bytes("big.bin") == big.read_bytes()
    uploads = client.list_multipart_uploads(Bucket=s3_env.bucket)  # type: ignore[attr-defined]
    assert not uploads.get("Uploads")


def test_s3_storage_is_named_by_bucket_and_prefix(s3_env: S3Server) -> None:
    url = s3_env.url("some/prefix")
    store = Storage.of(url)
    assert store.url == url and store.root == f"{s3_env.bucket}/some/prefix"
    assert store.path("index/CURRENT") == f"{s3_env.bucket}/some/prefix/index/CURRENT"
    with pytest.raises(ValueError, match="not a local folder"):
        store.local_path("x")
    assert Storage.of(f"s3://{s3_env.bucket}").root == s3_env.bucket


def test_the_s3_endpoint_variable_wins(s3_env: S3Server,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_ENDPOINT_URL_S3 before AWS_ENDPOINT_URL, as the AWS SDKs and from_uri do."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_env.endpoint)
    store = Storage.of(s3_env.fresh_url())
    store.put_bytes("x", b"x")
    assert store.get_bytes("x") == b"x"


def test_an_unreachable_endpoint_fails_fast_in_one_line(
        s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    store = Storage.of(s3_env.url("p"))
    started = time.monotonic()
    with pytest.raises(LinkindexError) as caught:
        store.exists("index/CURRENT")
    assert time.monotonic() - started < 5
    message = str(caught.value)
    one_line_without_secret(message)
    assert message.startswith(f"s3://{s3_env.bucket}/p: ")
    assert f"cannot reach the endpoint {dead}" in message
    for operation in (lambda: store.put_bytes("x", b"x"), lambda: store.list("raw")):
        with pytest.raises(LinkindexError, match="cannot reach"):
            operation()


def test_a_missing_bucket_is_a_clear_error(s3_env: S3Server) -> None:
    store = Storage.of("s3://no-such-bucket/data")
    for operation in (lambda: store.get_bytes("index/CURRENT"), lambda: store.list("raw"),
                      lambda: store.put_bytes("x", b"x"), lambda: store.exists("x")):
        with pytest.raises(LinkindexError) as caught:
            operation()
        message = str(caught.value)
        one_line_without_secret(message)
        assert message == (f"s3://no-such-bucket/data: bucket 'no-such-bucket' does not "
                           f"exist (endpoint {s3_env.endpoint})")


def test_no_secret_in_messages_or_repr(s3_env: S3Server) -> None:
    store = Storage.of(s3_env.fresh_url())
    store.put_bytes("x", b"x")  # connected, with the secret from the environment
    assert SECRET_KEY not in repr(store) and SECRET_KEY not in str(vars(store))
    assert SECRET_KEY.encode() not in pickle.dumps(store)
    assert SECRET_KEY.encode() not in pickle.dumps(store.fs)
    # a message from S3 that would quote the secret is masked
    failure = store._failure("reading x", OSError(
        "When reading 'x': AWS Error ACCESS_DENIED during GetObject operation: "
        f"Access Denied for {SECRET_KEY}\n(Request ID: 1)"))
    one_line_without_secret(str(failure))
    assert "access denied (ACCESS_DENIED during GetObject)" in str(failure)
    # credentials in the URL are refused, without echoing them
    for url in (f"s3://AKIDEXAMPLE:{SECRET_KEY}@{s3_env.bucket}/p",
                f"s3://{s3_env.bucket}/p?secret_key={SECRET_KEY}"):
        with pytest.raises(LinkindexError, match="refused") as caught:
            Storage.of(url)
        one_line_without_secret(str(caught.value))


def test_bad_bucket_names(s3_env: S3Server) -> None:
    for url in ("s3://ab/p", "s3://Upper/p", "s3://bucket:9000/p", "s3:///p"):
        with pytest.raises(LinkindexError, match="bad bucket name"):
            Storage.of(url)


def test_duckdb_queries_parquet_on_s3_through_a_pyarrow_dataset(
        s3_env: S3Server, tmp_path: Path) -> None:
    """The read path of the queries: a hive-partitioned pyarrow dataset over the object
    store, registered in DuckDB; the filter reaches the scan, so a partition it excludes
    is never opened (here one holding a file that is not Parquet at all)."""
    store = Storage.of(s3_env.fresh_url())
    schema = pa.schema([("dst_domain", pa.string()), ("src_domain", pa.string())])
    for bucket, rows in {3: [("x.test", "a.test"), ("x.test", "b.test"), ("y.test", "a.test")],
                         5: [("z.test", "c.test")]}.items():
        local = tmp_path / f"{bucket}.parquet"
        pq.write_table(pa.Table.from_pylist(
            [{"dst_domain": d, "src_domain": s} for d, s in rows], schema), local)
        store.put_file(f"index/g000001/edges/bucket={bucket}/part-0.parquet", local)
    store.put_bytes("index/g000001/edges/bucket=7/part-0.parquet", b"not parquet")
    dataset = pads.dataset(
        store.path("index/g000001/edges"), filesystem=store.fs, format="parquet",
        schema=schema.append(pa.field("bucket", pa.int32())),
        partitioning=pads.partitioning(pa.schema([("bucket", pa.int32())]), flavor="hive"))
    con = duckdb.connect()
    con.register("edges", dataset)
    rows = con.sql("SELECT src_domain FROM edges WHERE bucket = 3 AND dst_domain = 'x.test' "
                   "ORDER BY src_domain").fetchall()
    assert rows == [("a.test",), ("b.test",)]
    assert con.sql("SELECT count(*) FROM edges WHERE bucket IN (3, 5)").fetchall() == [(4,)]
    with pytest.raises(Exception, match="(?i)parquet"):
        con.sql("SELECT count(*) FROM edges").fetchall()  # bucket=7 is read: it fails
