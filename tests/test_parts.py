"""Raw Parquet parts: whole files only, rolled by size and age, edges before pages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
from rawdata import kill_writer_after_parts

from core.layout import raw_parts
from core.parts import PartWriter
from core.schema import EDGES, PAGES

LINKS = {
    "dst_url": ["http://b.example/", "http://a.example/x"],
    "dst_host": ["b.example", "a.example"],
    "dst_domain": ["b.example", "a.example"],
    "anchor": ["B", "X"],
    "kind": ["a", "img"],
    "alt": [None, "X"],
    "nofollow": [True, False],
    "ugc": [False, False],
    "sponsored": [False, True],
    "position": ["nav", "content"],
    "ordinal": [0, 1],
    "external": [True, False],
}


def page(url: str, when: datetime) -> dict:
    return {
        "crawl_id": "c1",
        "fetched_at": when,
        "url": url,
        "host": "a.example",
        "domain": "a.example",
        "status": 200,
        "content_type": "text/html",
        "depth": 0,
        "n_links": 2,
        "n_external_links": 1,
    }


class FakeClock:
    """A settable clock, so rolling by age is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_parts_hold_schema_v1_rows(tmp_path: Path) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    writer = PartWriter(tmp_path, "c1", "w1")
    writer.add(page("http://a.example/", when), LINKS)
    writer.add(page("http://a.example/empty", when), {k: [] for k in LINKS})
    assert writer.flush() == ["http://a.example/", "http://a.example/empty"]
    [pages_part] = raw_parts(tmp_path, "pages")
    [edges_part] = raw_parts(tmp_path, "edges")
    assert pages_part.name == edges_part.name == "w1-000000.parquet"
    pages = pq.read_table(pages_part)
    edges = pq.read_table(edges_part)
    assert pages.schema.equals(PAGES) and edges.schema.equals(EDGES)
    assert pq.read_metadata(edges_part).metadata[b"linkindex.schema_version"] == b"1"
    rows = edges.to_pylist()
    assert [(r["src_url"], r["dst_url"], r["ordinal"], r["fetched_at"]) for r in rows] == [
        ("http://a.example/", "http://b.example/", 0, when),
        ("http://a.example/", "http://a.example/x", 1, when),
    ]
    assert pages.column("fetched_at").to_pylist() == [when, when]


def test_roll_by_edges_and_by_age(tmp_path: Path) -> None:
    clock = FakeClock()
    writer = PartWriter(tmp_path, "c1", "w1", max_edges=4, max_seconds=60, clock=clock)
    now = datetime.now(UTC)
    writer.add(page("http://a.example/1", now), LINKS)
    assert not writer.due()
    writer.add(page("http://a.example/2", now), LINKS)
    assert writer.due()  # 4 edges
    writer.flush()
    writer.add(page("http://a.example/3", now), LINKS)
    clock.now = 59.9
    assert not writer.due()
    clock.now = 60.0
    assert writer.due()  # 60 s old
    writer.flush()
    assert [p.name for p in raw_parts(tmp_path, "pages")] == [
        "w1-000000.parquet",
        "w1-000001.parquet",
    ]


def test_never_overwrites_an_existing_part(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    for _ in range(2):  # two runs with the same worker id
        writer = PartWriter(tmp_path, "c1", "same")
        writer.add(page("http://a.example/", now), LINKS)
        writer.flush()
    assert len(raw_parts(tmp_path, "pages")) == 2
    assert len(raw_parts(tmp_path, "edges")) == 2


def test_never_overwrites_an_orphan_edges_part(tmp_path: Path) -> None:
    """A run killed between its edges and pages renames leaves edges alone: keep them."""
    orphan = tmp_path / "raw" / "c1" / "edges" / "same-000000.parquet"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"edges of a killed run")
    writer = PartWriter(tmp_path, "c1", "same")
    writer.add(page("http://a.example/", datetime.now(UTC)), LINKS)
    writer.flush()
    assert orphan.read_bytes() == b"edges of a killed run"
    assert [p.name for p in raw_parts(tmp_path, "pages")] == ["same-000001.parquet"]


WRITER_LOOP = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from core.parts import PartWriter
n = 20000
links = {k: [v[0]] * n for k, v in LINKS.items()}
links["ordinal"] = list(range(n))
writer = PartWriter(Path(sys.argv[1]), "c1", "w")
while True:
    writer.add(PAGE, links)
    writer.flush()
"""


def test_killed_writer_leaves_only_whole_files(tmp_path: Path) -> None:
    script = (
        f"LINKS = {LINKS!r}\n"
        "from datetime import UTC, datetime\n"
        "PAGE = "
        + repr(page("http://a.example/", datetime(2026, 1, 1, tzinfo=UTC)))
        .replace("datetime.datetime", "datetime")
        .replace("tzinfo=datetime.timezone.utc", "tzinfo=UTC")
        + "\n"
        + WRITER_LOOP
    )
    kill_writer_after_parts(script, tmp_path)
    parts = raw_parts(tmp_path, "pages") + raw_parts(tmp_path, "edges")
    for part in parts:
        assert pq.read_table(part).num_rows > 0, part
    # every pages part has its edges part (edges are written first)
    edges_names = {p.name for p in raw_parts(tmp_path, "edges")}
    assert {p.name for p in raw_parts(tmp_path, "pages")} <= edges_names
