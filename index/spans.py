"""A link's life in the reduce, as SQL: its sightings, its spans and the merge with the
previous generation's row (docs/history.md). index.buckets runs these in order:
SIGHTINGS, REPLAYED, FRESH_AGG, GAPPED_SPANS, FRESH, KEPT, MERGED.

The merge is the full build's aggregation made incremental. Per distinct link (src_url,
dst_url, kind, anchor): first_seen = min, last_seen = max, the other columns from the
latest sighting (latest fetch, then lowest ordinal, then greater crawl id). Its life is
a list of spans (docs/history.md): runs of consecutive fetches of its page on which it
counted, each lost at the next fetch of the page, with that fetch's reason; live = the
latest span is not lost. A previous row is one pre-aggregated sighting set with its
spans: its latest sighting is (last_seen, ordinal, last_seen_crawl); its open span goes
on if the page's first new fetch counted it, and else ends there. New fetches are
always later than the ones the previous generation holds (index.plan builds in full
otherwise), so spans only ever grow at the end.
"""

from __future__ import annotations

from core.schema import KINDS_COUNTED_ALWAYS


def _counted(link: str) -> str:
    """SQL: the sighting of `link` (an alias) on fetch `f` (NULL: a fetch no build has
    read) counts (core.schema.FETCH_OUTCOMES)."""
    always = ", ".join(f"'{kind}'" for kind in KINDS_COUNTED_ALWAYS)
    return f"f.seq IS NOT NULL AND ({link}.kind IN ({always}) OR f.outcome = 'ok')"


def _lost_reason(outcome: str) -> str:
    """SQL: why a link is lost on a fetch of this outcome ('ok': it was removed)."""
    return f"CASE {outcome} WHEN 'ok' THEN 'link_removed' ELSE {outcome} END"


RECENCY = """epoch_ms({t}.fetched_at)::HUGEINT * 4611686018427387904
             + (2147483647 - {t}.ordinal)::HUGEINT * 1073741824
             + c.rank"""

# Every sighting in the new runs, with its fetch (the stage's fetches.parquet: the ones
# this build adds) and whether the link counted on it (core.schema.FETCH_OUTCOMES).
# recency packs (ms << 62 | ~ordinal << 30 | crawl rank) into one HUGEINT so that
# arg_max compares integers.
SIGHTINGS = """
CREATE TEMP TABLE sighting AS
SELECT e.*,
       epoch_ms(e.fetched_at) AS fetched_ms,
       """ + RECENCY.format(t="e") + """ AS recency,
       f.seq, f.new_rank,
       """ + _counted("e") + """ AS counted
FROM runs AS e
JOIN crawl AS c ON c.crawl_id = e.crawl_id
LEFT JOIN read_parquet($fetches) AS f
  ON f.url = e.src_url AND f.crawl_id = e.crawl_id AND f.fetched_at = e.fetched_at
"""

# A previous row's sightings on fetches that build did not know (`unplaced`: its page's
# row came after its links', a build ran while a writer was between the two parts):
# replayed as sightings of the new runs, so that they count on those fetches as in a
# full build. No recency: the row's latest sighting is known already.
REPLAYED = """
INSERT INTO sighting BY NAME
SELECT o.src_url, o.src_host, o.src_domain, o.dst_url, o.dst_host, o.dst_domain,
       o.anchor, o.kind, o.alt, NOT o.sighting.follow AS nofollow, false AS ugc,
       false AS sponsored, o.position, o.ordinal, o.external, o.text_before, o.text_after,
       o.sighting.crawl_id AS crawl_id, o.sighting.fetched_at AS fetched_at,
       epoch_ms(o.sighting.fetched_at) AS fetched_ms, NULL AS recency,
       f.seq, f.new_rank,
       """ + _counted("o") + """ AS counted
FROM (SELECT *, unnest(unplaced) AS sighting FROM previous) AS o
LEFT JOIN read_parquet($fetches) AS f
  ON f.url = o.src_url AND f.crawl_id = o.sighting.crawl_id
 AND f.fetched_at = o.sighting.fetched_at
"""

# The new runs' sightings aggregated per link as a full build does, with what its
# spans need: when the fetches it counted on (seq) are consecutive, the usual case, it
# has one span and these aggregates say all of it; `unplaced`: sightings on fetches no
# build has read yet (REPLAYED).
FRESH_AGG = """
CREATE TEMP TABLE fresh_agg AS
SELECT src_url, dst_url, kind, anchor,
       min(fetched_ms) AS first_ms,
       max(fetched_ms) AS last_ms,
       max(recency) AS recency,
       arg_max({
           'src_host': src_host, 'src_domain': src_domain,
           'dst_host': dst_host, 'dst_domain': dst_domain,
           'alt': alt, 'nofollow': nofollow, 'ugc': ugc, 'sponsored': sponsored,
           'position': position, 'ordinal': ordinal, 'external': external,
           'text_before': text_before, 'text_after': text_after,
           'last_seen_crawl': crawl_id
       }, recency) AS latest,
       count(*) FILTER (WHERE counted) AS n_counted,
       min(seq) FILTER (WHERE counted) AS min_seq,
       max(seq) FILTER (WHERE counted) AS max_seq,
       min(fetched_ms) FILTER (WHERE counted) AS found_ms,
       min(new_rank) FILTER (WHERE counted) AS first_rank,
       max(seq) FILTER (WHERE counted AND NOT (nofollow OR ugc OR sponsored)) AS last_follow,
       list({'crawl_id': crawl_id, 'fetched_at': fetched_at,
             'follow': NOT (nofollow OR ugc OR sponsored)}
            ORDER BY fetched_at, crawl_id, NOT (nofollow OR ugc OR sponsored))
           FILTER (WHERE seq IS NULL) AS unplaced
FROM sighting
GROUP BY src_url, dst_url, kind, anchor
"""

# The spans of the other links (counted on fetches with gaps between, or twice on one
# fetch), by gaps and islands: runs of consecutive fetches of the page (seq) on which it
# counted (docs/history.md). Per fetch, the link's first occurrence says its rel.
GAPPED_SPANS = """
CREATE TEMP TABLE gapped_span AS
WITH gapped AS (
    SELECT src_url, dst_url, kind, anchor FROM fresh_agg
    WHERE n_counted <> max_seq - min_seq + 1
),
counted AS (
    SELECT s.src_url, s.dst_url, s.kind, s.anchor, s.seq,
           any_value(s.new_rank) AS new_rank, any_value(s.fetched_ms) AS ms,
           arg_min(NOT (s.nofollow OR s.ugc OR s.sponsored), s.ordinal) AS follow
    FROM sighting AS s
    SEMI JOIN gapped AS g
      ON g.src_url = s.src_url AND g.dst_url = s.dst_url
     AND g.kind = s.kind AND g.anchor = s.anchor
    WHERE s.counted
    GROUP BY s.src_url, s.dst_url, s.kind, s.anchor, s.seq
),
island AS (
    SELECT *, seq - row_number() OVER (PARTITION BY src_url, dst_url, kind, anchor
                                       ORDER BY seq) AS island
    FROM counted
),
marked AS (
    SELECT *, max(CASE WHEN follow THEN seq END)
                  OVER (PARTITION BY src_url, dst_url, kind, anchor, island) AS last_follow
    FROM island
),
span AS (
    SELECT src_url, dst_url, kind, anchor,
           min(ms) AS found_ms, min(new_rank) AS first_rank, max(seq) AS last_seq,
           bool_or(follow) AS any_follow,
           min(ms) FILTER (WHERE seq > coalesce(last_follow, -1)) AS nofollow_ms
    FROM marked
    GROUP BY src_url, dst_url, kind, anchor, island
)
SELECT s.src_url, s.dst_url, s.kind, s.anchor,
       list({'found_ms': s.found_ms, 'lost_ms': epoch_ms(f.fetched_at),
             'lost_reason': """ + _lost_reason("f.outcome") + """,
             'lost_to': f.outcome_to, 'nofollow_ms': s.nofollow_ms,
             'first_rank': s.first_rank, 'any_follow': s.any_follow}
            ORDER BY s.found_ms) AS spans
FROM span AS s
LEFT JOIN read_parquet($fetches) AS f ON f.url = s.src_url AND f.seq = s.last_seq + 1
GROUP BY s.src_url, s.dst_url, s.kind, s.anchor
"""

# Each link of the new runs with its spans: one span from the aggregates when its
# fetches are consecutive (lost at the page's next fetch, if any; nofollow_ms: the fetch
# after its last followed sighting, or found_ms if none was followed), else the islands.
FRESH = """
CREATE TEMP TABLE fresh AS
SELECT a.src_url, a.dst_url, a.kind, a.anchor, a.first_ms, a.last_ms, a.recency, a.latest,
       a.unplaced,
       CASE WHEN a.n_counted = 0 THEN NULL
            WHEN a.n_counted = a.max_seq - a.min_seq + 1 THEN [{
                'found_ms': a.found_ms, 'lost_ms': epoch_ms(lost.fetched_at),
                'lost_reason': """ + _lost_reason("lost.outcome") + """,
                'lost_to': lost.outcome_to,
                'nofollow_ms': CASE WHEN a.last_follow = a.max_seq THEN NULL
                                    WHEN a.last_follow IS NULL THEN a.found_ms
                                    ELSE epoch_ms(unfollowed.fetched_at) END,
                'first_rank': a.first_rank, 'any_follow': a.last_follow IS NOT NULL}]
            ELSE g.spans
       END AS spans
FROM fresh_agg AS a
LEFT JOIN read_parquet($fetches) AS lost ON lost.url = a.src_url AND lost.seq = a.max_seq + 1
LEFT JOIN read_parquet($fetches) AS unfollowed
  ON unfollowed.url = a.src_url AND unfollowed.seq = a.last_follow + 1
LEFT JOIN gapped_span AS g
  ON g.src_url = a.src_url AND g.dst_url = a.dst_url AND g.kind = a.kind AND g.anchor = a.anchor
"""

SPAN_MS = ("{{'found_ms': epoch_ms({p}found_at), 'lost_ms': epoch_ms({p}lost_at), "
            "'lost_reason': {p}lost_reason, 'lost_to': {p}lost_to, 'nofollow_ms': {nofollow}}}")

# The previous generation's rows as pre-aggregated sightings (see the module's doc), with
# their spans, and the first new fetch of their page (`changed`), if any.
KEPT = """
CREATE TEMP VIEW kept AS
SELECT o.src_url, o.dst_url, o.kind, o.anchor,
       epoch_ms(o.first_seen) AS first_ms,
       epoch_ms(o.last_seen) AS last_ms,
       """ + RECENCY.replace("{t}.fetched_at", "o.last_seen").replace("{t}", "o") + """
         AS recency,
       {
           'src_host': o.src_host, 'src_domain': o.src_domain,
           'dst_host': o.dst_host, 'dst_domain': o.dst_domain,
           'alt': o.alt, 'nofollow': o.nofollow, 'ugc': o.ugc, 'sponsored': o.sponsored,
           'position': o.position, 'ordinal': o.ordinal, 'external': o.external,
           'text_before': o.text_before, 'text_after': o.text_after,
           'last_seen_crawl': o.last_seen_crawl
       } AS latest,
       CASE WHEN o.found_at IS NOT NULL THEN """ + SPAN_MS.format(
           p="o.", nofollow="epoch_ms(o.nofollow_at)") + """ END AS span,
       list_transform(coalesce(o.past_spans, []),
                      lambda s: """ + SPAN_MS.format(p="s.", nofollow="NULL::BIGINT") + """)
         AS past,
       epoch_ms(ch.fetched_at) AS next_ms, ch.outcome AS next_outcome,
       ch.outcome_to AS next_to
FROM previous AS o
JOIN crawl AS c ON c.crawl_id = o.last_seen_crawl
LEFT JOIN read_parquet($changed) AS ch ON ch.url = o.src_url
"""

# A view: the write pass sorts it straight into the file's table; the reduce pass keeps
# only the columns its summaries need (index.buckets.summarize_bucket). A previous
# row's open span goes on when its page's first new fetch starts a new span of the link,
# and else ends at that fetch; the new spans follow.
MERGED = """
CREATE TEMP VIEW merged AS
WITH joined AS (
    SELECT coalesce(k.src_url, f.src_url) AS src_url,
           coalesce(k.dst_url, f.dst_url) AS dst_url,
           coalesce(k.kind, f.kind) AS kind,
           coalesce(k.anchor, f.anchor) AS anchor,
           least(k.first_ms, f.first_ms) AS first_ms,
           greatest(k.last_ms, f.last_ms) AS last_ms,
           CASE WHEN f.recency IS NULL OR k.recency >= f.recency THEN k.latest
                ELSE f.latest END AS latest,
           k.span, k.past, k.next_ms, k.next_outcome, k.next_to,
           k.span IS NOT NULL AND k.span.lost_ms IS NULL AS open,
           coalesce(f.spans[1].first_rank = 1, false) AS goes_on,
           list_transform(coalesce(f.spans, []),
                          lambda s: {'found_ms': s.found_ms, 'lost_ms': s.lost_ms,
                                'lost_reason': s.lost_reason, 'lost_to': s.lost_to,
                                'nofollow_ms': s.nofollow_ms}) AS new_spans,
           f.spans[1] AS first_new,
           f.unplaced
    FROM kept AS k
    FULL OUTER JOIN fresh AS f
      ON k.src_url = f.src_url AND k.dst_url = f.dst_url
     AND k.kind = f.kind AND k.anchor = f.anchor
),
spanned AS (
    SELECT *, list_concat(
        coalesce(past, []),
        CASE
            WHEN span IS NULL THEN []
            WHEN open AND goes_on THEN [{
                'found_ms': span.found_ms, 'lost_ms': first_new.lost_ms,
                'lost_reason': first_new.lost_reason, 'lost_to': first_new.lost_to,
                'nofollow_ms': CASE WHEN first_new.any_follow THEN first_new.nofollow_ms
                                    WHEN span.nofollow_ms IS NULL THEN first_new.found_ms
                                    ELSE span.nofollow_ms END}]
            WHEN open AND next_ms IS NOT NULL THEN [{
                'found_ms': span.found_ms, 'lost_ms': next_ms,
                'lost_reason': """ + _lost_reason("next_outcome") + """,
                'lost_to': next_to, 'nofollow_ms': span.nofollow_ms}]
            ELSE [span]
        END,
        CASE WHEN open AND goes_on THEN new_spans[2:] ELSE new_spans END
    ) AS spans
    FROM joined
),
latest_span AS (
    SELECT *, spans[-1] AS cur FROM spanned
)
SELECT src_url, dst_url, kind, anchor,
       epoch_ms(first_ms) AS first_seen, epoch_ms(last_ms) AS last_seen,
       coalesce(cur.found_ms IS NOT NULL AND cur.lost_ms IS NULL, false) AS live,
       epoch_ms(cur.found_ms) AS found_at, epoch_ms(cur.lost_ms) AS lost_at,
       cur.lost_reason AS lost_reason, cur.lost_to AS lost_to,
       epoch_ms(cur.nofollow_ms) AS nofollow_at,
       CASE WHEN len(spans) > 1 THEN list_transform(
           spans[1:len(spans) - 1],
           lambda s: {'found_at': epoch_ms(s.found_ms), 'lost_at': epoch_ms(s.lost_ms),
                 'lost_reason': s.lost_reason, 'lost_to': s.lost_to}) END AS past_spans,
       unplaced,
       unnest(latest)
FROM latest_span
"""
