"""The link targets no crawl has fetched yet: what `linkindex check-links` fetches.

The distinct targets of the live index's live external links of kinds a, img and area
that have no fetched pages row (never fetched, or only a row saying why not: robots,
refused, skipped), one URL of each host in turn, so one heavily linked site does not
hold the others back behind its politeness delay.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import LinkindexError
from core.schema import unfetched_sql
from core.storage import Storage
from queries.session import connect

# The links whose targets are checked: those a reader follows (text and image links,
# image-map areas); not redirect, canonical or refresh targets.
CHECKED_KINDS = ("a", "img", "area")

_TARGETS_SQL = """
SELECT dst_url FROM (
    SELECT dst_url, dst_host,
           row_number() OVER (PARTITION BY dst_host ORDER BY dst_url) AS turn
    FROM (
        SELECT DISTINCT link.dst_url, link.dst_host
        FROM edges AS link
        WHERE link.live AND link.external AND list_contains($kinds, link.kind)
          AND NOT EXISTS (SELECT 1 FROM pages AS page
                          WHERE page.url = link.dst_url AND NOT {unfetched})
    )
)
ORDER BY turn, dst_url
"""


def link_targets(data: Path | Storage, limit: int | None = None) -> list[str]:
    """The URLs to check in DATA's live index (module docstring), one host's turn after
    another's (its first URL, then every host's second, …), at most `limit` of them."""
    if limit is not None and limit < 0:
        raise LinkindexError("--limit must not be negative")
    sql = _TARGETS_SQL.format(unfetched=unfetched_sql("page.error"))
    params: dict[str, object] = {"kinds": list(CHECKED_KINDS)}
    if limit is not None:
        sql += "LIMIT $limit"
        params["limit"] = limit
    con = connect(data)
    try:
        rows = con.execute(sql, params).fetchall()
    finally:
        con.close()
    return [url for (url,) in rows]
