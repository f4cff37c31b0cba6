"""`linkindex import-cc-graph --level host`: a sharded host-level release in the real
formats (tests/ccgraph_files.py), from a folder and over HTTP on loopback, aggregated
to registrable domains.

The ground truth is computed here, in plain Python, from the hosts the files were
written from, with a suffix rule of our own that knows only this graph's names
(``.co.uk`` and one-label suffixes): the domains, their n_hosts, their ranks (the best
host's) and every domain pair. Damaged shards are one line naming the shard; a stopped
import resumes; one job and two give the same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import string
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ccgraph_files import Release, missorted_shard, truncated, write_release
from clitools import assert_one_line_error, linkindex
from fileserver import serve_folder
from indexdata import edge, write_index

from core import layout
from queries import run_query

RELEASE = "cc-main-2025-26-nov-dec-jan"
CRAWLED = "crawled.example"  # our own index's one referrer, of c.com
SHARDS = 4
BUCKETS = 3
HOST_LINKS = {
    "www.a.com": ["b.co.uk", "blog.a.com", "c.com", "x.b.co.uk"],
    "blog.a.com": ["x.b.co.uk", "www.a.com", "www.d.org"],
    "a.com": ["c.com", "b.co.uk"],  # www.a.com and a.com: one host for n_hosts
    "b.co.uk": ["www.a.com", "x.b.co.uk", "c.com"],
    "x.b.co.uk": ["c.com", "www.d.org", "a.com"],
    "c.com": ["www.a.com", "shop.c.com"],
    "shop.c.com": ["b.co.uk", "news.e.net"],
    "www.d.org": ["c.com"],
    "bad!.com": ["c.com", "www.a.com"],  # no host name by our rules: left out
    "e.net": [],
    "news.e.net": ["b.co.uk", "www.a.com"],
}
UNRANKED = ("blog.a.com", "e.net", "news.e.net")  # not in the ranks file


def domain_of(host: str) -> str:
    labels = host.split(".")
    return ".".join(labels[-3:] if host.endswith(".co.uk") else labels[-2:])


def accepted(host: str) -> bool:
    return set(host) <= set(string.ascii_lowercase + string.digits + "-.")


def rev(name: str) -> str:
    return ".".join(reversed(name.split(".")))


def bucket(domain: str) -> int:
    return int(hashlib.md5(domain.encode()).hexdigest()[:8], 16) % BUCKETS


def write(root: Path) -> Release:
    """The release published under `root` (the --base): root/<release>/host/…"""
    return write_release(root / RELEASE / "host", RELEASE, HOST_LINKS, level="host",
                         shards=SHARDS, unranked=UNRANKED)


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Release:
    return write(tmp_path_factory.mktemp("web"))


def base_of(graph: Release) -> Path:
    return graph.ranks_path.parents[2]


@pytest.fixture(scope="module")
def truth(graph: Release) -> dict:
    """Domains (in id order), n_hosts, ranks and pairs, from the hosts alone."""
    hosts = [h for h in graph.names_by_id if accepted(h)]
    domains = sorted({domain_of(h) for h in hosts}, key=lambda d: rev(d).encode())
    n_hosts = {d: len({h.removeprefix("www.") for h in hosts if domain_of(h) == d})
               for d in domains}
    ranks: dict[str, tuple | None] = dict.fromkeys(domains)
    for row in graph.rank_rows:  # in harmonic order: the first of a domain is its best
        if accepted(row["name"]) and ranks[domain_of(row["name"])] is None:
            ranks[domain_of(row["name"])] = (row["harmonic_pos"], row["harmonic"],
                                             row["pr_pos"], row["pr"])
    names = graph.names_by_id
    pairs = {(domain_of(names[s]), domain_of(names[d])) for s, d in graph.edges
             if accepted(names[s]) and accepted(names[d])
             and domain_of(names[s]) != domain_of(names[d])}
    return {"domains": domains, "n_hosts": n_hosts, "ranks": ranks, "pairs": pairs}


def new_data(root: Path) -> Path:
    data = root / "data"
    write_index(data, [edge(f"https://{CRAWLED}/p", "https://c.com/", "c")],
                ranks={CRAWLED: 12.0})
    return data


def import_args(data: Path, *extra: str | Path) -> list[str | Path]:
    return ["import-cc-graph", RELEASE, "--level", "host", "--buckets", str(BUCKETS),
            "--data", data, *extra]


@pytest.fixture(scope="module")
def local(graph: Release, truth: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Imported from the folder, two jobs, chunks of two domain pairs."""
    data = new_data(tmp_path_factory.mktemp("local"))
    out = linkindex(*import_args(data, "--base", base_of(graph), "--jobs", "2",
                                 "--chunk-edges", "2")).stdout
    assert out.startswith(
        f"imported {RELEASE}: {len(truth['domains'])} domains, {len(truth['pairs'])} links "
        f"in {BUCKETS} buckets, from {len(graph.names_by_id)} hosts and "
        f"{len(graph.edges)} host links; 1 domains without ranks"), out
    return data


@pytest.fixture(scope="module")
def served(graph: Release, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Imported over HTTP with one job; the edge shards listed by absolute URL."""
    root = tmp_path_factory.mktemp("served")
    web = root / "web"
    shutil.copytree(base_of(graph), web)
    data = new_data(root)
    edges_list = web / RELEASE / "host" / graph.edges_path.name
    with serve_folder(web) as server:
        lines = gzip.decompress(edges_list.read_bytes()).decode().splitlines()
        edges_list.write_bytes(gzip.compress("".join(
            f"{server.url}{line}\n" for line in lines).encode()))
        linkindex(*import_args(data, "--base", server.url, "--jobs", "1"))
        asked = {path for path, _ in server.requests}
    assert {f"/{RELEASE}/host/{kind}/{shard.name}" for kind, shards in (
        ("vertices", graph.vertex_shards), ("edges", graph.edge_shards))
        for shard in shards} <= asked
    return data


def release_dir(data: Path) -> Path:
    return layout.ccgraph_dir(data, RELEASE)


def test_the_writer_shards_the_files(graph: Release) -> None:
    """The shards are the unsharded files cut in order; the lists name them."""
    def lines(path: Path) -> list[str]:
        return gzip.decompress(path.read_bytes()).decode().splitlines()

    assert [line for shard in graph.vertex_shards for line in lines(shard)] == [
        f"{i}\t{rev(name)}" for i, name in enumerate(graph.names_by_id)]
    assert [line for shard in graph.edge_shards for line in lines(shard)] == [
        f"{s}\t{d}" for s, d in graph.edges]
    assert all(len(lines(shard)) >= 2 for shard in graph.edge_shards)
    assert lines(graph.edges_path) == [f"{RELEASE}/host/edges/part-{k:05d}.txt.gz"
                                       for k in range(SHARDS)]
    assert {row["name"] for row in graph.rank_rows} == set(graph.names_by_id) - set(UNRANKED)


def test_a_domains_hosts_in_a_row_get_it_as_registrable_domain_would() -> None:
    """The import asks registrable_domain once per run of a domain's hosts: the same
    answers as asking for each host, around wildcard and exception rules (*.ck,
    *.kawasaki.jp, !city.kawasaki.jp), suffixes as hosts, IPs, one label, punycode."""
    from core.domains import registrable_domain
    from index.ccgraph.shards import domain_revs

    names = ["jp.kawasaki", "jp.kawasaki.foo", "jp.kawasaki.foo.x", "jp.kawasaki.city",
             "jp.kawasaki.city.www", "ck.foo", "ck.foo.bar", "ck.www", "ck.www.x", "uk.co",
             "uk.co.b", "uk.co.b.x", "com.a", "com.a.www", "com.a-b", "com.a.x.y", "4.3.2.1",
             "4.3.2.1.a", "localhost", "localhost.x", "example.d1", "example.d1.www",
             "cn.xn--55qx5d", "cn.xn--55qx5d.a", "cn.xn--55qx5d.a.b", "com.blogspot.x.y",
             "uk.co.bad!", "uk.co.bad!.x", "jp.tokyo", "jp.tokyo.x", "jp.tokyo.x.y"]
    for start in range(len(names)):  # each name first once, then in C-locale order
        order = [names[start], *sorted(names[:start] + names[start + 1:], key=str.encode)]
        expected = [None if "!" in name else rev(registrable_domain(rev(name)))
                    for name in order]
        assert domain_revs(order) == expected


def test_domains_their_hosts_and_ranks(local: Path, truth: dict) -> None:
    rows = pq.read_table(release_dir(local) / "vertices.parquet").to_pylist()
    assert [row["domain"] for row in rows] == truth["domains"]
    assert [row["id"] for row in rows] == list(range(len(truth["domains"])))
    for row in rows:
        assert row["rev"] == rev(row["domain"])
        assert row["n_hosts"] == truth["n_hosts"][row["domain"]]
        ranks = (row["cc_harmonic_pos"], row["cc_harmonic"], row["cc_pr_pos"], row["cc_pr"])
        assert ranks == (truth["ranks"][row["domain"]] or (None,) * 4), row["domain"]
    assert truth["n_hosts"]["a.com"] == 2 and truth["ranks"]["e.net"] is None
    manifest = json.loads((release_dir(local) / layout.MANIFEST).read_text())
    assert (manifest["level"], manifest["ranks"], manifest["hosts_dropped"]) == (
        "host", "best host", 1)
    assert (manifest["vertices"], manifest["unranked"]) == (len(truth["domains"]), 1)


def test_every_domain_pair_once_bucketed_and_sorted(local: Path, truth: dict) -> None:
    domains = truth["domains"]
    found = []
    for k in range(BUCKETS):
        rows = pq.read_table(release_dir(local) / "links" / f"bucket={k}" /
                             "data.parquet").to_pylist()
        assert [(r["dst_id"], r["src_domain"]) for r in rows] == sorted(
            (r["dst_id"], r["src_domain"]) for r in rows)
        for row in rows:
            dst = domains[row["dst_id"]]
            assert bucket(dst) == k
            ranks = truth["ranks"][row["src_domain"]]
            assert (row["src_harmonic_pos"], row["src_pr_pos"]) == (
                (ranks[0], ranks[2]) if ranks else (None, None))
            found.append((row["src_domain"], dst))
    assert len(found) == len(set(found))
    assert set(found) == truth["pairs"]


def test_queries_answer_alike_from_one_job_and_two(local: Path, served: Path,
                                                   truth: dict) -> None:
    for data in (local, served):
        for domain in truth["domains"]:
            referring = sorted({s for s, d in truth["pairs"] if d == domain})
            rows = run_query(data, "referring_domains", [domain]).to_pylist()
            graph_rows = [row for row in rows if row["source"] == RELEASE]
            crawled = [row["src_domain"] for row in rows if row["source"] == "crawl"]
            assert crawled == ([CRAWLED] if domain == "c.com" else [])
            expected = sorted(referring, key=lambda d: (
                truth["ranks"][d] is None, (truth["ranks"][d] or (0,))[0], d))
            assert [row["src_domain"] for row in graph_rows] == expected
            for row in graph_rows:
                ranks = truth["ranks"][row["src_domain"]]
                assert (row["cc_harmonic_pos"], row["cc_pr_pos"]) == (
                    (ranks[0], ranks[2]) if ranks else (None, None))
    for name in ("vertices.parquet", *(f"links/bucket={k}/data.parquet"
                                       for k in range(BUCKETS))):
        assert pq.read_table(release_dir(local) / name) == pq.read_table(
            release_dir(served) / name), name
    answers = [linkindex("query", "referring_domains", "a.com", "--data", data, "--format",
                         "json").stdout for data in (local, served)]
    assert answers[0] == answers[1]
    assert f'"source": "{RELEASE}"' in answers[0] and '"cc_harmonic_pos": ' in answers[0]


@pytest.mark.parametrize("damage", ["missorted", "after the shard before", "truncated"])
def test_a_damaged_shard_is_one_line_naming_it(damage: str, tmp_path: Path) -> None:
    graph = write(tmp_path / "web")
    data = new_data(tmp_path)
    shard = graph.edge_shards[2]
    edges = graph.edges_by_shard[2]
    if damage == "missorted":
        missorted_shard(graph, 2)
        i = len(edges) // 2 - 1
        expected = (f"edges file {shard.name} line {i + 2}: {edges[i][0]}\t{edges[i][1]}: "
                    f"after {edges[i + 1][0]}\t{edges[i + 1][1]}: not sorted")
    elif damage == "after the shard before":
        first = graph.edges_by_shard[1][0]  # sorts before shard 1's last
        shard.write_bytes(gzip.compress("".join(
            f"{s}\t{d}\n" for s, d in (first, *edges)).encode()))
        last = graph.edges_by_shard[1][-1]
        expected = (f"edges file {shard.name} line 1: {first[0]}\t{first[1]}: after "
                    f"{last[0]}\t{last[1]}: not sorted ({last[0]}\t{last[1]} is the last "
                    f"of {graph.edge_shards[1].name}")
    else:
        truncated(shard, tmp_path / "cut.gz")
        shutil.move(tmp_path / "cut.gz", shard)
        expected = f"edges file {shard.name}: the gzip stream is damaged or ends early"
    jobs = "2" if damage == "missorted" else "1"
    proc = linkindex(*import_args(data, "--base", tmp_path / "web", "--jobs", jobs),
                     check=False)
    assert_one_line_error(proc, expected)
    assert not (layout.ccgraph_dir(data) / layout.CCGRAPH_ACTIVE).exists()


def test_a_stopped_import_resumes(graph: Release, truth: dict, local: Path,
                                  tmp_path: Path) -> None:
    data = new_data(tmp_path)
    args = import_args(data, "--base", base_of(graph))
    out = linkindex(*args, "--jobs", "1", "--max-chunks", "1").stdout
    done = len(graph.edges_by_shard[0])
    assert out.startswith(f"stopped after {done} host links of {RELEASE} (1 of {SHARDS} "
                          "edge shards")
    assert not (layout.ccgraph_dir(data) / layout.CCGRAPH_ACTIVE).exists()
    # shard 2 stopped half-way left a chunk with a pair the graph does not have: the
    # shard is redone whole, that chunk dropped
    domains = truth["domains"]
    src, dst = next((s, d) for s in domains for d in domains
                    if s != d and (s, d) not in truth["pairs"])
    pq.write_table(pa.table({"bucket": pa.array([bucket(dst)], pa.uint32()),
                             "dst_id": pa.array([domains.index(dst)], pa.uint64()),
                             "src_id": pa.array([domains.index(src)], pa.uint64())}),
                   release_dir(data) / ".import" / "runs" / "shard-00002-00009.parquet")
    out = linkindex(*args, "--jobs", "2").stdout
    assert f"resumed after {done} host links" in out
    for name in ("vertices.parquet", *(f"links/bucket={k}/data.parquet"
                                       for k in range(BUCKETS))):
        assert pq.read_table(release_dir(data) / name) == pq.read_table(
            release_dir(local) / name), name
