"""What changed for one watch since a moment: the body of an alert document.

Everything is read from the index with the catalogue's queries (queries/*.sql), as of
two moments: `since` (the previous run's end; for a first run, the start of its
crawl) and now. docs/monitoring.md defines every field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from core.errors import LinkindexError
from core.storage import Storage
from monitor.defaults import THRESHOLDS
from monitor.watches import TrackedLink, Watch
from queries import Filters, run_query

Data = Path | Storage
LINK_FIELDS = ("src_url", "src_domain", "src_domain_rank", "dst_url", "anchor", "kind",
               "nofollow", "ugc", "sponsored")


def query_rows(data: Data, name: str, target: str, scope: str, filters: Filters | None = None,
               options: Mapping[str, Any] | None = None, args: list[str] | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
    """A query's rows; none for a target the index has no link to yet (nothing to
    compare), any other mistake one LinkindexError line."""
    try:
        return run_query(data, name, [target, *(args or [])], scope=scope,
                         filters=filters or Filters(), options=options,
                         limit=limit).to_pylist()
    except LinkindexError as exc:
        if str(exc).startswith("no data for target"):
            return []  # a target (or competitor) without a link yet: nothing to compare
        raise


def _stamp(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _link(row: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {k: _stamp(row.get(k)) for k in fields}


def _domains(data: Data, target: str, scope: str, as_of: datetime | None
             ) -> dict[str, dict[str, Any]]:
    rows = query_rows(data, "referring_domains", target, scope, Filters(as_of=as_of),
                      {"with_graph": False})
    return {r["src_domain"]: r for r in rows}


def link_changes(data: Data, watch: Watch, since: datetime) -> dict[str, Any]:
    """New and lost links (new_lost since `since`, with reasons), referring domains,
    anchor shifts, sitewide and toxic newcomers, competitor gains: the alert's body."""
    target, scope, limits = watch.target, watch.scope, {**THRESHOLDS, **watch.thresholds}
    rows = query_rows(data, "new_lost", target, scope, args=[since.isoformat()])
    sitewide = {(r["src_url"], r["dst_url"], r["kind"], r["anchor"]) for r in query_rows(
        data, "backlinks", target, scope) if r["sitewide"]}
    fields = (*LINK_FIELDS, "changed_at")
    new_links = [{**_link(r, *fields), "sitewide": (r["src_url"], r["dst_url"], r["kind"],
                                                    r["anchor"]) in sitewide}
                 for r in rows if r["change"] == "new"]
    lost_links = [_link(r, *fields, "lost_reason", "lost_to") for r in rows
                  if r["change"] == "lost"]
    before, now = (_domains(data, target, scope, since), _domains(data, target, scope, None))
    new_domains = [{"domain": d, "domain_rank": now[d]["domain_rank"],
                    "backlinks": now[d]["backlinks"]}
                   for d in sorted(now.keys() - before.keys())]
    reasons: dict[str, set[str]] = {}
    for link in lost_links:
        reasons.setdefault(link["src_domain"], set()).add(link["lost_reason"] or "unknown")
    lost_domains = [{"domain": d, "reasons": sorted(reasons.get(d, {"unknown"}))}
                    for d in sorted(before.keys() - now.keys())]
    ranked_new = [d for d in new_domains
                  if (d["domain_rank"] or 0) >= limits["min_domain_rank"]]
    anchors = watch.anchor_options()
    toxic = {r["src_domain"]: r for r in query_rows(data, "toxic_domains", target, scope,
                                                    options=anchors)}
    new_toxic = [{"domain": d["domain"], "toxic_score": toxic[d["domain"]]["toxic_score"],
                  "reasons": toxic[d["domain"]]["reasons"]}
                 for d in new_domains if d["domain"] in toxic
                 and toxic[d["domain"]]["toxic_score"] >= limits["toxic_score"]]
    shares_then = {r["anchor_class"]: r["backlinks_share"] for r in query_rows(
        data, "anchor_mix", target, scope, Filters(as_of=since), options=anchors)}
    anchor_shift = []
    for row in query_rows(data, "anchor_mix", target, scope, options=anchors):
        then = shares_then.get(row["anchor_class"], 0.0)
        points = round((row["backlinks_share"] - then) * 100, 2)
        if abs(points) >= limits["anchor_shift"]:
            anchor_shift.append({"anchor_class": row["anchor_class"], "share_before": then,
                                 "share_now": row["backlinks_share"], "points": points})
    gains = {}
    for competitor in watch.competitors:
        theirs_then = _domains(data, competitor, scope, since)
        theirs_now = _domains(data, competitor, scope, None)
        gained = sorted((theirs_now.keys() - theirs_then.keys()) - now.keys() - {
            watch.target})
        gains[competitor] = [{"domain": d, "domain_rank": theirs_now[d]["domain_rank"]}
                             for d in gained]
    return {
        "new_links": new_links,
        "lost_links": lost_links,
        "new_referring_domains": new_domains,
        "lost_referring_domains": lost_domains,
        "new_referring_domains_ranked": [d["domain"] for d in ranked_new],
        "anchor_shift": anchor_shift,
        "new_sitewide_links": [link for link in new_links if link["sitewide"]],
        "new_toxic_domains": new_toxic,
        "competitor_gains": gains,
    }


def tracked_status(data: Data, tracked: list[TrackedLink]) -> list[dict[str, Any]]:
    """Each tracked link as the index sees it now: live (as expected), changed (live,
    another anchor or rel), lost (with the reason), or never_seen."""
    out = []
    for link in tracked:
        rows = [r for r in query_rows(data, "backlinks", link.target_url, "exact",
                                      Filters(live_only=False, external_only=False))
                if r["src_url"] == link.source_url]
        entry: dict[str, Any] = {"source_url": link.source_url,
                                 "target_url": link.target_url}
        live = [r for r in rows if r["live"]]
        if live:
            row = live[0]
            rel = ("sponsored" if row["sponsored"] else "ugc" if row["ugc"] else
                   "nofollow" if row["nofollow"] else "dofollow")
            changed = []
            if link.anchor is not None and row["anchor"] != link.anchor:
                changed.append(f"anchor {row['anchor']!r}, expected {link.anchor!r}")
            if link.rel is not None and rel != link.rel:
                changed.append(f"rel {rel}, expected {link.rel}")
            entry.update(status="changed" if changed else "live", detail="; ".join(changed),
                         anchor=row["anchor"], rel=rel)
        elif rows:
            row = max(rows, key=lambda r: r["lost_at"] or r["last_seen"])
            entry.update(status="lost", detail=row["lost_reason"] or "",
                         lost_at=_stamp(row["lost_at"]))
        else:
            entry.update(status="never_seen", detail="")
        out.append(entry)
    return out


def counts_of(body: Mapping[str, Any]) -> dict[str, int]:
    """The counts the thresholds compare (monitor.watches.THRESHOLDS)."""
    return {
        "new_links": len(body["new_links"]),
        "lost_links": len(body["lost_links"]),
        "new_referring_domains": len(body["new_referring_domains_ranked"]),
        "lost_referring_domains": len(body["lost_referring_domains"]),
        "anchor_shift": len(body["anchor_shift"]),
        "toxic_score": len(body["new_toxic_domains"]),
        "competitor_gains": sum(len(v) for v in body["competitor_gains"].values()),
        "tracked_changes": sum(bool(t.get("news")) for t in body.get("tracked", [])),
    }


def triggered(counts: Mapping[str, int], thresholds: Mapping[str, float]) -> list[str]:
    """The counts that reach their threshold (anchor_shift and toxic_score count rows
    past their own thresholds: any one triggers)."""
    limits = {**THRESHOLDS, **thresholds}
    out = []
    for name, count in counts.items():
        limit = 1 if name in ("anchor_shift", "toxic_score") else limits[name]
        if count and count >= limit:
            out.append(name)
    return out
