"""`linkindex import-cc-graph`: a Common Crawl domain graph in the real formats, served
over HTTP on loopback (tests/fileserver.py), imported, and asked.

The ground truth is the graph the files were written from (tests/ccgraph_files.py): each
domain's referring domains and each domain's ranks. Damaged releases (mis-sorted edges,
a label twice, a self-loop, a repeated edge, a truncated gzip) are one line each and
leave nothing active; a dropped download and an import stopped halfway resume.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ccgraph_files import (
    Release,
    duplicate_edge,
    missorted_edges,
    repeated_label,
    self_loop_edges,
    synthetic_release,
    truncated,
)
from clitools import assert_one_line_error, linkindex
from fileserver import serve_folder
from indexdata import edge, write_index

from core import layout
from queries import Filters, run_query

RELEASE = "cc-main-2025-26-nov-dec-jan"
CRAWLED = "crawled.example"  # the one domain our own (hand-written) index crawled


def publish(release: Release, root: Path) -> Path:
    """The release's files where Common Crawl puts them: <release>/domain/<file>."""
    folder = root / release.release / release.level
    folder.mkdir(parents=True, exist_ok=True)
    for path in (release.vertices_path, release.edges_path, release.ranks_path):
        shutil.copy(path, folder / path.name)
    return root


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Release:
    return synthetic_release(tmp_path_factory.mktemp("release"), RELEASE, n_domains=300)


def hub(graph: Release) -> str:
    """The domain with the most referring domains in the graph."""
    return max(graph.names_by_id, key=lambda name: (len(graph.referring(name)), name))


def index_with_one_crawl_link(root: Path, graph: Release) -> Path:
    """DATA with an index whose one external link goes from CRAWLED to the graph's hub,
    so one answer mixes a crawled referrer (link-level) and the graph's."""
    data = root / "data"
    write_index(data, [edge(f"https://{CRAWLED}/p", f"https://{hub(graph)}/", "hub")],
                ranks={CRAWLED: 12.0})
    return data


@pytest.fixture(scope="module")
def imported(graph: Release, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("imported")
    data = index_with_one_crawl_link(root, graph)
    with serve_folder(publish(graph, root / "web")) as server:
        out = linkindex("import-cc-graph", RELEASE, "--base", server.url, "--buckets", "4",
                        "--data", data).stdout
    assert out.startswith(f"imported {RELEASE}: {len(graph.names_by_id):,} domains, "
                          f"{len(graph.edges):,} links in 4 buckets")
    return data


def ranks_of(graph: Release) -> dict[str, dict]:
    return {row["name"]: row for row in graph.rank_rows}


def test_every_domains_referring_domains_come_from_the_graph(imported: Path,
                                                             graph: Release) -> None:
    ranks = ranks_of(graph)
    asked = 0
    for name in graph.names_by_id:
        referring = graph.referring(name)
        if not referring:
            continue
        rows = run_query(imported, "referring_domains", [name]).to_pylist()
        crawled = [row for row in rows if row["source"] == "crawl"]
        from_graph = [row for row in rows if row["source"] == RELEASE]
        assert len(crawled) == (1 if name == hub(graph) else 0)
        expected = sorted((d for d in referring if d != CRAWLED),
                          key=lambda d: (ranks[d]["harmonic_pos"], d))
        assert [row["src_domain"] for row in from_graph] == expected
        for row in from_graph:
            rank = ranks[row["src_domain"]]
            assert (row["cc_harmonic_pos"], row["cc_pr_pos"]) == (rank["harmonic_pos"],
                                                                  rank["pr_pos"])
            assert row["backlinks"] is None and row["first_seen"] is None
        overview = run_query(imported, "overview", [name]).to_pylist()[0]
        assert overview["cc_release"] == RELEASE
        assert overview["cc_referring_domains"] == len(referring)
        assert overview["all_referring_domains"] == len(set(referring) | {
            row["src_domain"] for row in crawled})
        assert (overview["cc_harmonic_pos"], overview["cc_harmonic"], overview["cc_pr_pos"],
                overview["cc_pr"]) == (ranks[name]["harmonic_pos"], ranks[name]["harmonic"],
                                       ranks[name]["pr_pos"], ranks[name]["pr"])
        asked += 1
    assert asked > 100


def test_a_crawled_referrer_keeps_its_link_detail_and_gets_the_graphs_ranks(
        imported: Path, graph: Release) -> None:
    rows = run_query(imported, "referring_domains", [hub(graph)]).to_pylist()
    assert rows[0]["src_domain"] == CRAWLED and rows[0]["source"] == "crawl"
    assert rows[0]["backlinks"] == 1 and rows[0]["domain_rank"] == 12.0
    assert rows[0]["cc_harmonic_pos"] is None  # CRAWLED is not in the release


def test_link_level_filters_leave_the_graph_out(imported: Path, graph: Release) -> None:
    """The graph knows no rel, kind, position or dates: asked for those, it says nothing."""
    target = hub(graph)
    for filters in (Filters(dofollow_only=True), Filters(kind="a"),
                    Filters(position="content"), Filters(live_only=False)):
        rows = run_query(imported, "referring_domains", [target], filters=filters).to_pylist()
        assert [row["source"] for row in rows] == ["crawl"]
        assert run_query(imported, "overview", [target], filters=filters).to_pylist()[0][
            "cc_referring_domains"] is None
    rows = run_query(imported, "referring_domains", [target],
                     options={"with_graph": False}).to_pylist()
    assert [row["source"] for row in rows] == ["crawl"]


@pytest.mark.parametrize(("damage", "expected"), [
    ("missorted", "edges file {edges} line {line}: {pair}: after {before}: not sorted"),
    ("self_loop", "a self-loop"),
    ("duplicate", "the same edge twice"),
    ("repeated", "is there twice (names must be unique, in C-locale order)"),
    ("truncated", "the gzip stream is damaged or ends early"),
])
def test_a_damaged_release_is_one_line_and_activates_nothing(
        damage: str, expected: str, graph: Release, tmp_path: Path) -> None:
    data = index_with_one_crawl_link(tmp_path, graph)
    files = {"vertices": graph.vertices_path, "edges": graph.edges_path,
             "ranks": graph.ranks_path}
    broken = tmp_path / "broken.txt.gz"
    if damage == "missorted":
        missorted_edges(graph, broken)
        middle = len(graph.edges) // 2
        later, earlier = graph.edges[middle], graph.edges[middle - 1]
        expected = expected.format(edges=broken.name, line=middle + 1,
                                   pair=f"{earlier[0]}\t{earlier[1]}",
                                   before=f"{later[0]}\t{later[1]}")
    elif damage == "self_loop":
        self_loop_edges(graph, broken)
    elif damage == "duplicate":
        duplicate_edge(graph, broken)
    elif damage == "repeated":
        repeated_label(graph, broken)
    else:
        truncated(graph.edges_path, broken)
    files["vertices" if damage == "repeated" else "edges"] = broken
    proc = linkindex("import-cc-graph", RELEASE, *(f"--{k}={v}" for k, v in files.items()),
                     "--data", data, check=False)
    assert_one_line_error(proc, expected)
    assert not (layout.ccgraph_dir(data) / layout.CCGRAPH_ACTIVE).exists()
    assert not (layout.ccgraph_dir(data, RELEASE) / layout.MANIFEST).exists()
    assert run_query(data, "overview", [hub(graph)]).to_pylist()[0]["cc_release"] is None


def test_a_dropped_download_and_a_stopped_import_resume(graph: Release, imported: Path,
                                                        tmp_path: Path) -> None:
    data = index_with_one_crawl_link(tmp_path, graph)
    edges_name = graph.edges_path.name
    web = publish(graph, tmp_path / "web")
    with serve_folder(web, fail_after={f"{RELEASE}/domain/{edges_name}": 300},
                      fail_first={f"{RELEASE}/domain/{graph.ranks_path.name}": 2}) as server:
        args = ("import-cc-graph", RELEASE, "--base", server.url, "--buckets", "4",
                "--chunk-edges", "100", "--data", data)
        out = linkindex(*args, "--max-chunks", "2").stdout
        assert out.startswith(f"stopped after {200:,} edges of {RELEASE}")
        assert not (layout.ccgraph_dir(data) / layout.CCGRAPH_ACTIVE).exists()
        out = linkindex(*args).stdout
        assert f"resumed after {200:,} edges" in out
        ranged = [rng for path, rng in server.requests if path.endswith(edges_name)]
        assert ranged[0] is None and ranged[1] == "bytes=300-"  # the rest, not all again
    for name in (hub(graph), *graph.names_by_id[:40]):
        if graph.referring(name):
            assert run_query(data, "referring_domains", [name]).to_pylist() == \
                run_query(imported, "referring_domains", [name]).to_pylist()


def test_mistakes_are_one_line(graph: Release, imported: Path, tmp_path: Path) -> None:
    proc = linkindex("import-cc-graph", RELEASE, "--data", imported,
                     f"--vertices={graph.vertices_path}", f"--edges={graph.edges_path}",
                     f"--ranks={graph.ranks_path}", check=False)
    assert_one_line_error(proc, f"release {RELEASE} is already imported")
    proc = linkindex("import-cc-graph", "../x", "--data", imported, check=False)
    assert_one_line_error(proc, "bad release name '../x'")
    proc = linkindex("import-cc-graph", "r1", "--data", imported,
                     f"--vertices={tmp_path / 'none.gz'}", check=False)
    assert_one_line_error(proc, "none.gz: no such file")
    with serve_folder(tmp_path) as server:  # nothing published there
        proc = linkindex("import-cc-graph", "r2", "--base", server.url, "--data", imported,
                         check=False)
    assert_one_line_error(proc, "HTTP 404")


def test_the_link_gap_counts_the_graphs_links(imported: Path, graph: Release) -> None:
    by_count = sorted(graph.names_by_id, key=lambda n: (-len(graph.referring(n)), n))
    me, rivals = by_count[5], by_count[:2]
    linking_to_me = set(graph.referring(me))
    expected: dict[str, list[str]] = {}
    for rival in rivals:
        for domain in graph.referring(rival):
            if domain not in linking_to_me and domain != me:
                expected.setdefault(domain, []).append(rival)
    assert hub(graph) in rivals  # and our index's one link goes to it: a crawled gap
    expected[CRAWLED] = [hub(graph)]
    rows = run_query(imported, "link_gap", [me, *rivals]).to_pylist()
    ranks = ranks_of(graph)
    assert {row["src_domain"]: row["competitors"] for row in rows} == {
        domain: sorted(linked) for domain, linked in expected.items()}
    for row in rows:
        if row["src_domain"] == CRAWLED:
            assert (row["source"], row["backlinks"], len(row["examples"])) == ("crawl", 1, 1)
            continue
        assert row["source"] == RELEASE and row["backlinks"] == 0 and row["examples"] == []
        assert row["cc_harmonic_pos"] == ranks[row["src_domain"]]["harmonic_pos"]
    without = run_query(imported, "link_gap", [me, *rivals], options={"with_graph": False})
    assert without.column("src_domain").to_pylist() == [CRAWLED]
    out = linkindex("query", "link_gap", me, *rivals, "--with-graph", "no", "--data",
                    imported, "--format", "csv").stdout
    assert out.splitlines()[1].startswith(f"{CRAWLED},")
    assert len(out.splitlines()) == 2


def test_release_files_and_data_on_an_object_store(graph: Release, imported: Path,
                                                   s3_env: object, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The files read from s3:// and DATA on s3:// (a real S3-protocol server on
    loopback): the same answers as the folder's import."""
    from core.storage import Storage

    monkeypatch.setenv("LINKINDEX_CACHE", str(tmp_path / "cache"))
    files_url = s3_env.fresh_url("release")  # type: ignore[attr-defined]
    store = Storage.of(files_url)
    for path in (graph.vertices_path, graph.edges_path, graph.ranks_path):
        store.put_file(path.name, path)
    data_url = s3_env.fresh_url("data")  # type: ignore[attr-defined]
    local = index_with_one_crawl_link(tmp_path, graph)
    data_store = Storage.of(data_url)
    for path in sorted(local.rglob("*")):
        if path.is_file():
            data_store.put_file(path.relative_to(local).as_posix(), path)
    out = linkindex("import-cc-graph", RELEASE, "--buckets", "4", "--data", data_url,
                    *(f"--{kind}={files_url}/{path.name}" for kind, path in (
                        ("vertices", graph.vertices_path), ("edges", graph.edges_path),
                        ("ranks", graph.ranks_path)))).stdout
    assert out.startswith(f"imported {RELEASE}: {len(graph.names_by_id):,} domains")
    for name in (hub(graph), *graph.names_by_id[:20]):
        if graph.referring(name):
            assert run_query(data_store, "referring_domains", [name]).to_pylist() == \
                run_query(imported, "referring_domains", [name]).to_pylist()
