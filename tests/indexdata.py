"""Small hand-made indexes for tests: rows in, one index generation out.

Writes the layout the build writes (core.layout): edges/bucket=<n>/part-00000.parquet
bucketed by layout.bucket_of(dst_domain), sorted by dst_domain, dst_url, src_domain;
pages.parquet, domains.parquet, hosts.parquet, manifest.json; then switches CURRENT.
Hosts and domains of URLs come from the crawler's own identity functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from core import layout
from core.domains import registrable_domain
from core.schema import (
    INDEX_DOMAINS,
    INDEX_EDGES,
    INDEX_FETCHES,
    INDEX_FORMAT,
    INDEX_HOSTS,
    INDEX_PAGES,
)
from core.urls import url_host


def ts(text: str) -> datetime:
    """A UTC moment from ISO text ('2025-01-10' or '2025-01-10T12:00:00')."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def edge(
    src_url: str,
    dst_url: str,
    anchor: str = "",
    *,
    kind: str = "a",
    alt: str | None = None,
    nofollow: bool = False,
    ugc: bool = False,
    sponsored: bool = False,
    position: str | None = "content",
    first: str = "2025-01-10",
    last: str = "2025-03-01",
    live: bool = True,
    lost: str | None = None,
    lost_reason: str = "link_removed",
) -> dict[str, Any]:
    """One index edge; hosts, domains and `external` derived from the URLs. Its one span
    is found at `first`; a link not live was lost at `lost` (default: a day after
    `last`, the next fetch of its page) for `lost_reason`."""
    src_host, dst_host = url_host(src_url), url_host(dst_url)
    src_domain, dst_domain = registrable_domain(src_host), registrable_domain(dst_host)
    return {
        "dst_domain": dst_domain,
        "dst_url": dst_url,
        "src_domain": src_domain,
        "dst_host": dst_host,
        "src_host": src_host,
        "src_url": src_url,
        "anchor": anchor,
        "kind": kind,
        "alt": alt,
        "nofollow": nofollow,
        "ugc": ugc,
        "sponsored": sponsored,
        "position": position,
        "ordinal": 0,  # numbered per source page by write_index
        "external": src_domain != dst_domain,
        "first_seen": ts(first),
        "last_seen": ts(last),
        "live": live,
        "last_seen_crawl": "c1",
        "found_at": ts(first),
        "lost_at": None if live else ts(lost) if lost else ts(last) + timedelta(days=1),
        "lost_reason": None if live else lost_reason,
        "lost_to": None,
        "nofollow_at": ts(first) if nofollow or ugc or sponsored else None,
        "past_spans": None,
        "unplaced": None,
    }


def page(
    url: str,
    status: int | None = 200,
    *,
    error: str | None = None,
    fetched: str = "2025-03-01",
) -> dict[str, Any]:
    """The latest fetch of one URL (index pages row); other columns null or defaults."""
    host = url_host(url)
    row: dict[str, Any] = {field.name: None for field in INDEX_PAGES}
    row.update(
        crawl_id="test",
        fetched_at=ts(fetched),
        url=url,
        host=host,
        domain=registrable_domain(host),
        status=status,
        error=error,
        first_fetched=ts(fetched),
        n_fetches=1,
    )
    return row


def write_index(
    data: Path,
    edges: Iterable[Mapping[str, Any]],
    pages: Iterable[Mapping[str, Any]] = (),
    ranks: Mapping[str, float] | None = None,
    *,
    buckets: int = 8,
    row_group_size: int = 100_000,
) -> str:
    """Write a new index generation under `data` and make it live; return its name."""
    edge_rows = [dict(e) for e in edges]
    page_rows = [dict(p) for p in pages]
    ranks = dict(ranks or {})
    ordinals: dict[str, int] = {}
    for row in edge_rows:
        row["ordinal"] = ordinals.get(row["src_url"], 0)
        ordinals[row["src_url"]] = row["ordinal"] + 1
        row["src_domain_rank"] = float(ranks.get(row["src_domain"], 0.0))  # as the build does
        row.setdefault("src_page_rank", 0.0)  # no page_ranks.parquet: every page rank 0

    generation = layout.next_generation(data)
    gen_dir = layout.generation_dir(data, generation)
    by_bucket: dict[int, list[dict[str, Any]]] = {}
    for row in edge_rows:
        by_bucket.setdefault(layout.bucket_of(row["dst_domain"], buckets), []).append(row)
    for bucket, rows in sorted(by_bucket.items()):
        rows.sort(key=lambda r: (r["dst_domain"], r["dst_url"], r["src_domain"]))
        layout.write_table(
            gen_dir / "edges" / f"bucket={bucket}" / "part-00000.parquet",
            pa.Table.from_pylist(rows, schema=INDEX_EDGES),
            "edges",
            row_group_size=row_group_size,
        )

    hosts = {r["src_host"]: r["src_domain"] for r in edge_rows}
    hosts |= {r["dst_host"]: r["dst_domain"] for r in edge_rows}
    hosts |= {p["host"]: p["domain"] for p in page_rows}
    host_rows = [{"host": h, "domain": d} for h, d in sorted(hosts.items())]
    domain_rows = [
        _domain_row(domain, ranks.get(domain, 0.0), edge_rows, page_rows)
        for domain in sorted(set(hosts.values()) | set(ranks))
    ]
    page_rows.sort(key=lambda p: p["url"])
    layout.write_table(gen_dir / "pages.parquet", _table(page_rows, INDEX_PAGES), "pages")
    layout.write_table(gen_dir / "domains.parquet", _table(domain_rows, INDEX_DOMAINS), "domains")
    layout.write_table(gen_dir / "hosts.parquet", _table(host_rows, INDEX_HOSTS), "hosts")
    fetch_rows = [{"url": p["url"], "seq": 1, "crawl_id": p["crawl_id"],
                   "fetched_at": p["fetched_at"], "status": p["status"], "outcome": "ok",
                   "outcome_to": None} for p in page_rows]
    layout.write_table(gen_dir / "fetches.parquet", _table(fetch_rows, INDEX_FETCHES),
                       "fetches")
    layout.write_json(
        gen_dir / layout.MANIFEST,
        {
            "generation": generation,
            "index_format": INDEX_FORMAT,
            "buckets": buckets,
            "counts": {
                "edges": len(edge_rows),
                "pages": len(page_rows),
                "domains": len(domain_rows),
                "hosts": len(host_rows),
            },
        },
    )
    layout.switch_current(data, generation)
    return generation


def _table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


def _domain_row(
    domain: str, rank: float, edges: list[dict[str, Any]], pages: list[dict[str, Any]]
) -> dict[str, Any]:
    links_in = [e for e in edges if e["dst_domain"] == domain and e["live"] and e["external"]]
    links_out = [e for e in edges if e["src_domain"] == domain and e["live"] and e["external"]]
    return {
        "domain": domain,
        "pages_crawled": sum(p["domain"] == domain for p in pages),
        "backlinks": len(links_in),
        "referring_domains": len({e["src_domain"] for e in links_in}),
        "outlinks": len(links_out),
        "linked_domains": len({e["dst_domain"] for e in links_out}),
        "domain_rank": float(rank),
        "domain_trust": None,  # an index built without trust seeds
        "trust_ratio": None,
    }
