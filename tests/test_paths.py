"""`linkindex paths` (queries/paths.py): the live generation's files for engines that read
the Parquet themselves, and the bucket formula of docs/engines.md, on real built indexes.

Bucket numbers are computed here with hashlib and Python integers, never with
core.layout.bucket_of, the function under test's own source of truth.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from clitools import REPO, assert_one_line_error, linkindex
from rawdata import fetch, write_crawl

from index.build import build_index
from queries.paths import bucket_sql, live_paths

BUCKETS = 4
# Twelve target domains over four buckets: several buckets hold files, some targets'
# MD5 starts with a set bit (where a signed reading of the 32 bits would go wrong).
TARGETS = [f"t{i}.example" for i in range(12)]
SOURCES = [f"https://www.s{j}.example/" for j in range(3)]
DOC = REPO / "docs" / "engines.md"
SPARK_ROW = "pmod(cast(conv(substr(md5(dst_domain), 1, 8), 16, 10) AS BIGINT), N)"


def write_links(data: Path, crawl_id: str, pages_per_target: int = 2) -> None:
    """One crawl: every source page links to pages of every target (two URLs each)."""
    links = [f"https://www.{t}/p{k}" for t in TARGETS for k in range(pages_per_target)]
    write_crawl(data, crawl_id, [fetch(src, links, crawl_id=crawl_id) for src in SOURCES])


def new_index(data: Path) -> Path:
    data.mkdir()
    write_links(data, "c1")
    build_index(data, buckets=BUCKETS)
    return data


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real index of several buckets, only read by the tests that use it."""
    return new_index(tmp_path_factory.mktemp("paths") / "data")


# ---- reading the command's output, and the index independently -------------------------------


def paths_json(data: Path) -> dict:
    return json.loads(linkindex("paths", "--data", data, "--format", "json").stdout)


def paths_text(data: Path) -> list[tuple[str, str]]:
    out = linkindex("paths", "--data", data).stdout
    return [tuple(line.split("\t", 1)) for line in out.splitlines()]


def live_dir(data: Path) -> Path:
    """DATA/index/<the generation CURRENT names>, read here without core.layout."""
    return data.resolve() / "index" / (data / "index" / "CURRENT").read_text().strip()


def edge_files_on_disk(gen: Path) -> list[str]:
    """Every edges file of a generation, by bucket number (2 before 10), then name."""
    files = (gen / "edges").glob("bucket=*/*.parquet")
    return [str(f) for f in sorted(files, key=lambda f: (int(f.parent.name[7:]), f.name))]


def spark_bucket(domain: str, buckets: int) -> int:
    """Spark SQL's pmod(cast(conv(substr(md5(d), 1, 8), 16, 10) AS BIGINT), N), step by step:
    md5 is lower-case hex of the UTF-8 bytes, substr is 1-based, conv(…, 16, 10) the
    decimal string of the unsigned number, pmod Java's remainder made non-negative."""
    hexdigest = hashlib.md5(domain.encode("utf-8")).hexdigest()
    decimal = str(int(hexdigest[0:8], 16))  # conv(hex, 16, 10)
    value = int(decimal)  # cast(… AS BIGINT)
    remainder = abs(value) % buckets * (1 if value >= 0 else -1)  # Java's %
    return remainder + buckets if remainder < 0 else remainder


def signed_bucket(domain: str, buckets: int) -> int:
    """The same 4 bytes read as a signed 32-bit integer: the mistake the docs warn of."""
    value = int.from_bytes(hashlib.md5(domain.encode()).digest()[:4], "big", signed=True)
    return value % buckets


# ---- the command ----------------------------------------------------------------------------


def test_paths_names_exactly_the_live_generations_files(built: Path) -> None:
    gen = live_dir(built)
    manifest = json.loads((gen / "manifest.json").read_text())
    paths = paths_json(built)

    assert paths["generation"] == gen.name
    assert paths["buckets"] == manifest["buckets"] == BUCKETS
    assert paths["data"] == str(built.resolve())
    assert paths["edges"] == f"{gen / 'edges'}/"
    assert paths["edges_files"] == edge_files_on_disk(gen)
    assert len({Path(f).parent.name for f in paths["edges_files"]}) >= 2, "one bucket only"
    for table in ("pages", "hosts", "domains"):
        assert paths[table] == str(gen / f"{table}.parquet")
    assert paths["manifest"] == str(gen / "manifest.json")
    for name in ("pages", "hosts", "domains", "manifest"):
        assert Path(paths[name]).is_file(), name

    lines = paths_text(built)
    assert [value for name, value in lines if name == "edges_file"] == paths["edges_files"]
    single = dict(line for line in lines if line[0] != "edges_file")
    assert len(single) == len(lines) - len(paths["edges_files"]), "a name printed twice"
    assert single == {name: str(value) for name, value in paths.items()
                      if name != "edges_files"}
    assert single["generation"] == gen.name and single["buckets"] == str(BUCKETS)


def test_after_a_new_build_paths_name_it_and_not_the_old_one(tmp_path: Path) -> None:
    data = new_index(tmp_path / "data")
    old = paths_json(data)
    write_links(data, "c2", pages_per_target=3)  # a new crawl: more links
    build_index(data, force=True, keep=3)
    gen = live_dir(data)
    assert gen.name != old["generation"]
    assert (gen.parent / old["generation"]).is_dir(), "the old generation is kept (--keep 3)"

    new = paths_json(data)
    text = linkindex("paths", "--data", data).stdout
    assert new["generation"] == gen.name
    assert old["generation"] not in json.dumps(new) and old["generation"] not in text
    assert new["edges_files"] == edge_files_on_disk(gen)
    files = [*new["edges_files"], new["pages"], new["hosts"], new["domains"], new["manifest"]]
    assert all(Path(f).is_relative_to(gen) and Path(f).is_file() for f in files)

    # What docs/engines.md warns of: a glob over DATA/index/ reads both generations.
    def count(pattern: str) -> int:
        return duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)",
                                        [pattern]).fetchone()[0]

    live, before = count(f"{new['edges']}bucket=*/*.parquet"), count(f"{old['edges']}*/*")
    assert live == json.loads(Path(new["manifest"]).read_text())["counts"]["edges"] > before
    assert count(f"{data}/index/*/edges/bucket=*/*.parquet") == live + before


def test_duckdb_reads_the_listed_folder_row_for_row(built: Path) -> None:
    paths = paths_json(built)
    counts = json.loads(Path(paths["manifest"]).read_text())["counts"]
    con = duckdb.connect()
    folder = con.execute(
        "SELECT count(*), count(DISTINCT bucket) FROM "
        "read_parquet(?, hive_partitioning = true)", [paths["edges"] + "bucket=*/*.parquet"]
    ).fetchone()
    assert folder == (counts["edges"], len({Path(f).parent for f in paths["edges_files"]}))
    assert counts["edges"] == len(SOURCES) * len(TARGETS) * 2
    listed = con.execute("SELECT count(*) FROM read_parquet(?)", [paths["edges_files"]])
    assert listed.fetchone()[0] == counts["edges"]


def test_the_documented_formula_finds_the_one_bucket_of_each_target(built: Path) -> None:
    assert SPARK_ROW in DOC.read_text(), "docs/engines.md no longer shows the Spark formula"
    paths = paths_json(built)
    assert paths["bucket_spark_sql"] == SPARK_ROW.replace("N)", f"{BUCKETS})")
    assert any(hashlib.md5(t.encode()).hexdigest()[0] in "89abcdef" for t in TARGETS)
    con = duckdb.connect()
    edges = f"read_parquet('{paths['edges']}bucket=*/*.parquet', hive_partitioning = true)"
    for target in TARGETS:
        bucket = spark_bucket(target, BUCKETS)
        duck_sql = paths["bucket_duckdb_sql"].replace("dst_domain", "?")
        assert con.execute(f"SELECT {duck_sql}", [target]).fetchone()[0] == bucket
        in_bucket, everywhere, buckets_seen = con.execute(
            f"SELECT count(*) FILTER (WHERE bucket = ?), count(*), list(DISTINCT bucket) "
            f"FROM {edges} WHERE dst_domain = ?", [bucket, target]).fetchone()
        assert everywhere == len(SOURCES) * 2, target
        assert in_bucket == everywhere and buckets_seen == [bucket], target
        # … and a reader of that one folder's files alone gets them all
        folder = [f for f in paths["edges_files"] if Path(f).parent.name == f"bucket={bucket}"]
        alone = con.execute("SELECT count(*) FROM read_parquet(?) WHERE dst_domain = ?",
                            [folder, target]).fetchone()[0]
        assert alone == everywhere, target


@pytest.mark.parametrize("buckets", [3, 7, 12, 16])
def test_every_dialect_reads_the_32_bits_unsigned(buckets: int) -> None:
    """Where N is not a power of two, a signed reading gives other buckets; ours do not."""
    sql = bucket_sql(buckets, "?")
    assert sql["spark_sql"] == SPARK_ROW.replace("md5(dst_domain)", "md5(?)").replace(
        "N)", f"{buckets})")
    con = duckdb.connect()
    domains = [*TARGETS, "example.com", "bücher.example", "xn--bcher-kva.example"]
    for domain in domains:
        expected = spark_bucket(domain, buckets)
        assert con.execute(f"SELECT {sql['duckdb_sql']}", [domain]).fetchone()[0] == expected
    wrong = [d for d in domains if signed_bucket(d, buckets) != spark_bucket(d, buckets)]
    assert bool(wrong) == (buckets & (buckets - 1) != 0)


def test_polars_reads_the_same_rows_of_a_bucket_as_duckdb(built: Path) -> None:
    paths = paths_json(built)
    columns = ["dst_url", "src_url", "anchor", "kind", "live", "bucket"]
    con = duckdb.connect()
    for target in TARGETS:
        bucket = spark_bucket(target, BUCKETS)
        lazy = (pl.scan_parquet(paths["edges"], hive_partitioning=True)
                .filter((pl.col("bucket") == bucket) & (pl.col("dst_domain") == target))
                .select(columns))
        plan = lazy.explain()
        assert f"bucket={bucket}/" in plan and all(
            f"bucket={other}/" not in plan for other in range(BUCKETS) if other != bucket
        ), f"polars should read one bucket folder:\n{plan}"
        got = sorted(lazy.collect().rows())
        want = sorted(con.execute(
            f"SELECT {', '.join(columns)} FROM read_parquet(?, hive_partitioning = true) "
            "WHERE dst_domain = ?", [paths["edges"] + "bucket=*/*.parquet", target]).fetchall())
        assert got == want and len(got) == len(SOURCES) * 2, target


def test_bucket_files_are_listed_by_bucket_number(tmp_path: Path) -> None:
    """bucket=10 comes after bucket=2: numbers, not text."""
    data = tmp_path / "data"
    data.mkdir()
    write_crawl(data, "c1", [fetch(SOURCES[0], [f"https://d{i}.example/" for i in range(40)])])
    build_index(data, buckets=12)
    files = live_paths(data)["edges_files"]
    numbers = [int(Path(f).parent.name.removeprefix("bucket=")) for f in files]
    assert numbers == sorted(numbers) and max(numbers) >= 10, numbers
    assert files == edge_files_on_disk(live_dir(data))


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_index_or_no_data_is_one_line(tmp_path: Path, fmt: str) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = linkindex("paths", "--data", empty, "--format", fmt, check=False)
    assert_one_line_error(proc, "no index built yet")
    assert proc.stdout == ""
    proc = linkindex("paths", "--data", tmp_path / "missing", "--format", fmt, check=False)
    assert_one_line_error(proc, "does not exist")
    assert proc.stdout == ""
