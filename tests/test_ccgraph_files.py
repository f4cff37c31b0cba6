"""Pins the formats tests/ccgraph_files.py writes and what tests/fileserver.py answers.

The files are read back with gzip and plain Python, never with the writer's helpers, so a
mistake in the writer cannot hide behind the same mistake in the reader.
"""

from __future__ import annotations

import gzip
import http.client
import urllib.error
import urllib.request
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
    write_release,
)
from fileserver import serve_folder

HEADER = "#harmonicc_pos\t#harmonicc_val\t#pr_pos\t#pr_val\t#host_rev"

LINKS = {
    "example.com": ["example.org", "example.co.uk", "example.com"],  # a self-link, dropped
    "example.org": ["example.com", "example.com"],  # a repeated link, kept once
    "example.co.uk": ["example.com", "b.example"],
    "a.example": [],
}
HOST_LINKS = {
    "www.example.com": ["blog.example.com", "www.example.org"],
    "blog.example.com": ["www.example.com"],
    "example.com": ["www.example.com"],
}


def lines_of(path: Path) -> list[str]:
    raw = gzip.decompress(path.read_bytes()).decode()
    assert raw == "" or raw.endswith("\n")
    assert "\r" not in raw
    return raw.split("\n")[:-1]


def rev(name: str) -> str:
    return ".".join(name.split(".")[::-1])


def check_vertices(path: Path, level: str) -> list[str]:
    """The reversed names in id order, after checking the file's shape."""
    names = []
    for i, line in enumerate(lines_of(path)):
        fields = line.split("\t")
        assert len(fields) == (3 if level == "domain" else 2)
        assert fields[0] == str(i)
        if level == "domain":
            assert int(fields[2]) >= 1
        names.append(fields[1])
    keys = [n.encode() for n in names]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    return names


def check_edges(path: Path, n_vertices: int) -> list[tuple[int, int]]:
    edges = []
    for line in lines_of(path):
        src, dst = line.split("\t")
        assert src == str(int(src)) and dst == str(int(dst))
        edges.append((int(src), int(dst)))
    assert all(a < b for a, b in zip(edges, edges[1:], strict=False))  # sorted and unique
    assert all(s != d for s, d in edges)
    assert all(0 <= s < n_vertices and 0 <= d < n_vertices for s, d in edges)
    return edges


def check_ranks(path: Path, level: str, names: list[str]) -> list[list[str]]:
    lines = lines_of(path)
    assert lines[0] == (HEADER + "\t#n_hosts" if level == "domain" else HEADER)
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(r) == (6 if level == "domain" else 5) for r in rows)
    assert [int(r[0]) for r in rows] == list(range(1, len(names) + 1))
    assert sorted(int(r[2]) for r in rows) == list(range(1, len(names) + 1))
    assert sorted(r[4] for r in rows) == sorted(names)
    by_h = sorted(rows, key=lambda r: (-float(r[1]), r[4].encode()))
    assert [r[0] for r in by_h] == [r[0] for r in rows]
    by_pr = sorted(rows, key=lambda r: (-float(r[3]), r[4].encode()))
    assert [int(r[2]) for r in by_pr] == list(range(1, len(names) + 1))
    return rows


def check_release(rel: Release) -> None:
    names = check_vertices(rel.vertices_path, rel.level)
    edges = check_edges(rel.edges_path, len(names))
    check_ranks(rel.ranks_path, rel.level, names)
    assert names == [rev(n) for n in rel.names_by_id]
    assert edges == rel.edges
    assert {n: i for i, n in enumerate(rel.names_by_id)} == rel.id_of


def test_domain_release_files(tmp_path: Path) -> None:
    rel = write_release(tmp_path, "cc-main-test", LINKS, n_hosts={"example.com": 3})
    assert rel.vertices_path == tmp_path / "cc-main-test-domain-vertices.txt.gz"
    assert rel.edges_path == tmp_path / "cc-main-test-domain-edges.txt.gz"
    assert rel.ranks_path == tmp_path / "cc-main-test-domain-ranks.txt.gz"
    check_release(rel)
    assert lines_of(rel.vertices_path) == [
        "0\tcom.example\t3", "1\texample.a\t1", "2\texample.b\t1", "3\torg.example\t1",
        "4\tuk.co.example\t1"]
    assert lines_of(rel.edges_path) == ["0\t3", "0\t4", "3\t0", "4\t0", "4\t2"]
    assert rel.referring("example.com") == ["example.co.uk", "example.org"]
    assert rel.referring("a.example") == []
    # computed ranks: example.com has 2 in-links, so the top of both orders
    rows = [line.split("\t") for line in lines_of(rel.ranks_path)[1:]]
    assert rows[0] == ["1", repr(2 + 1.0), "1", repr(3 / 10), "com.example", "3"]
    top = rel.rank_rows[0]
    assert top == {"name": "example.com", "harmonic_pos": 1, "harmonic": 3.0, "pr_pos": 1,
                   "pr": 0.3, "n_hosts": 3}


def test_given_ranks_read_back_exactly(tmp_path: Path) -> None:
    ranks = {"example.org": (1.0 / 3, 0.1 + 0.2), "a.example": (7.25e-05, 1e-300)}
    rel = write_release(tmp_path, "r", LINKS, ranks=ranks)
    rows = {r[4]: r for r in (line.split("\t") for line in lines_of(rel.ranks_path)[1:])}
    assert float(rows["org.example"][1]) == 1.0 / 3
    assert float(rows["org.example"][3]) == 0.1 + 0.2
    assert float(rows["example.a"][1]) == 7.25e-05
    assert float(rows["example.a"][3]) == 1e-300


def test_host_release_files(tmp_path: Path) -> None:
    rel = write_release(tmp_path, "cc-host", HOST_LINKS, level="host")
    check_release(rel)
    assert lines_of(rel.vertices_path) == [
        "0\tcom.example", "1\tcom.example.blog", "2\tcom.example.www", "3\torg.example.www"]
    assert all(row["n_hosts"] is None for row in rel.rank_rows)
    assert rel.referring("www.example.com") == ["blog.example.com", "example.com"]


def test_bytewise_order_not_locale_order(tmp_path: Path) -> None:
    links = {"B.example": ["a.example"], "a-b.example": ["ab.example"], "a.example": []}
    rel = write_release(tmp_path, "r", links, level="host")
    names = check_vertices(rel.vertices_path, "host")
    assert names == ["example.B", "example.a", "example.a-b", "example.ab"]


@pytest.mark.parametrize("level", ["domain", "host"])
def test_synthetic_release(tmp_path: Path, level: str) -> None:
    rel = synthetic_release(tmp_path / "a", "syn", n_domains=120, level=level)
    again = synthetic_release(tmp_path / "b", "syn", n_domains=120, level=level)
    check_release(rel)
    for path, other in ((rel.vertices_path, again.vertices_path),
                        (rel.edges_path, again.edges_path), (rel.ranks_path, again.ranks_path)):
        assert path.read_bytes() == other.read_bytes()  # deterministic
    in_degree: dict[int, int] = {}
    for _, dst in rel.edges:
        in_degree[dst] = in_degree.get(dst, 0) + 1
    assert max(in_degree.values()) >= 15  # hubs
    tlds = {name.split(".", 1)[1] if level == "domain" else name.rsplit(".", 1)[1]
            for name in rel.names_by_id}
    assert len(tlds) >= 4
    if level == "domain":
        assert "d0001.example" in rel.id_of and "site2.co.uk" in rel.id_of
    else:
        assert "www.d0001.example" in rel.id_of
        assert any(name.startswith("blog.") for name in rel.names_by_id)


def test_damage_helpers(tmp_path: Path) -> None:
    rel = synthetic_release(tmp_path, "syn", n_domains=50)
    n = len(rel.names_by_id)

    missorted = missorted_edges(rel, tmp_path / "missorted.txt.gz")
    pairs = [tuple(map(int, line.split("\t"))) for line in lines_of(missorted)]
    assert sorted(pairs) == rel.edges
    assert any(b <= a for a, b in zip(pairs, pairs[1:], strict=False))

    repeated = repeated_label(rel, tmp_path / "repeated.txt.gz")
    fields = [line.split("\t") for line in lines_of(repeated)]
    assert [f[0] for f in fields] == [str(i) for i in range(n)]
    labels = [f[1] for f in fields]
    assert len(set(labels)) == n - 1
    assert [x.encode() for x in labels] == sorted(x.encode() for x in labels)

    loops = [tuple(map(int, line.split("\t")))
             for line in lines_of(self_loop_edges(rel, tmp_path / "loop.txt.gz"))]
    assert len(loops) == len(rel.edges) + 1
    assert sum(s == d for s, d in loops) == 1
    assert loops == sorted(loops)

    dup = [tuple(map(int, line.split("\t")))
           for line in lines_of(duplicate_edge(rel, tmp_path / "dup.txt.gz"))]
    assert len(dup) == len(rel.edges) + 1 and len(set(dup)) == len(rel.edges)
    assert dup == sorted(dup)

    for keep in (0.6, 0.01, 0.99):
        cut = truncated(rel.edges_path, tmp_path / f"cut-{keep}.txt.gz", keep_fraction=keep)
        assert 0 < cut.stat().st_size < rel.edges_path.stat().st_size
        with pytest.raises(EOFError):
            gzip.decompress(cut.read_bytes())
        with pytest.raises(EOFError), gzip.open(cut, "rt") as f:
            for _ in f:
                pass


# The file server


@pytest.fixture
def served(tmp_path: Path) -> Path:
    (tmp_path / "secret.txt").write_bytes(b"outside the served folder\n")
    folder = tmp_path / "www"
    folder.mkdir()
    (folder / "data.bin").write_bytes(bytes(range(256)) * 40)  # 10240 bytes
    (folder / "small.txt").write_bytes(b"hello\n")
    return folder


def get(url: str, range_: str | None = None, method: str = "GET"
        ) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method)
    if range_ is not None:
        request.add_header("Range", range_)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def test_plain_get_head_and_404(served: Path) -> None:
    data = (served / "data.bin").read_bytes()
    with serve_folder(served) as srv:
        assert srv.url.startswith("http://127.0.0.1:") and srv.url.endswith("/")
        status, headers, body = get(srv.url + "data.bin")
        assert (status, body) == (200, data)
        assert headers["Content-Length"] == str(len(data))
        status, headers, body = get(srv.url + "data.bin", method="HEAD")
        assert (status, body) == (200, b"")
        assert headers["Content-Length"] == str(len(data))
        assert get(srv.url + "missing.bin")[0] == 404
        assert get(srv.url + "../secret.txt")[0] == 404
        assert get(srv.url + "%2e%2e/secret.txt")[0] == 404
        assert get(srv.url)[0] == 404  # a folder
        assert srv.requests[:3] == [("/data.bin", None), ("/data.bin", None),
                                    ("/missing.bin", None)]


def test_ranges(served: Path) -> None:
    data = (served / "data.bin").read_bytes()
    with serve_folder(served) as srv:
        url = srv.url_for("data.bin")
        for header, start, end in (("bytes=0-0", 0, 0), ("bytes=100-199", 100, 199),
                                   ("bytes=5000-", 5000, 10239),
                                   ("bytes=10000-99999", 10000, 10239),
                                   ("bytes=10239-", 10239, 10239), ("bytes=-10", 10230, 10239)):
            status, headers, body = get(url, header)
            assert status == 206, header
            assert body == data[start:end + 1], header
            assert headers["Content-Length"] == str(end - start + 1)
            assert headers["Content-Range"] == f"bytes {start}-{end}/{len(data)}"
        status, headers, _ = get(url, "bytes=10240-")
        assert status == 416
        assert headers["Content-Range"] == "bytes */10240"
        assert get(url, "bytes=20000-20010")[0] == 416
        assert ("/data.bin", "bytes=100-199") in srv.requests


def test_fail_after_then_resume(served: Path) -> None:
    data = (served / "data.bin").read_bytes()
    with serve_folder(served, fail_after={"data.bin": 3000}) as srv:
        url = srv.url_for("data.bin")
        assert get(url, method="HEAD")[0] == 200  # HEAD does not use up the failure
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.headers["Content-Length"] == str(len(data))
            with pytest.raises(http.client.IncompleteRead) as info:
                response.read()
        partial = info.value.partial
        assert partial == data[:3000]
        status, _, rest = get(url, f"bytes={len(partial)}-")
        assert status == 206
        assert partial + rest == data
        status, _, body = get(url)  # later requests succeed
        assert (status, body) == (200, data)
        assert srv.requests[2] == ("/data.bin", "bytes=3000-")


def test_fail_after_on_a_range_request(served: Path) -> None:
    data = (served / "data.bin").read_bytes()
    with serve_folder(served, fail_after={"data.bin": 10}) as srv:
        request = urllib.request.Request(srv.url_for("data.bin"),
                                         headers={"Range": "bytes=1000-"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 206
            with pytest.raises(http.client.IncompleteRead) as info:
                response.read()
        assert info.value.partial == data[1000:1010]
        assert get(srv.url_for("data.bin"), "bytes=1010-")[2] == data[1010:]


def test_fail_first_then_ok(served: Path) -> None:
    with serve_folder(served, fail_first={"small.txt": 2}) as srv:
        url = srv.url_for("small.txt")
        assert get(url)[0] == 503
        assert get(url, method="HEAD")[0] == 503
        status, _, body = get(url)
        assert (status, body) == (200, b"hello\n")
        assert get(srv.url_for("data.bin"))[0] == 200  # other files unaffected
        assert [p for p, _ in srv.requests] == ["/small.txt"] * 3 + ["/data.bin"]
