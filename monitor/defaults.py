"""Every monitoring default, in one place (light: the command line reads it at start)."""

from core.schema import TARGET_SCOPES

SCOPES = TARGET_SCOPES  # of a watch's target, as of a query's

# A run alerts when any count reaches its threshold; below every one it sends nothing.
THRESHOLDS: dict[str, float] = {
    "new_links": 1,  # links gained
    "lost_links": 1,  # links lost (unknown ones, pages not recrawled, do not count)
    "new_referring_domains": 1,
    "lost_referring_domains": 1,
    "min_domain_rank": 0.0,  # new referring domains count only from this domain_rank up
    "anchor_shift": 10.0,  # percentage points an anchor class's share moves
    "toxic_score": 50,  # new referring domains scoring this or more are "toxic"
    "competitor_gains": 1,  # referring domains a competitor gained that you lack
    "tracked_changes": 1,  # tracked links that are lost, changed or never seen
}

RECENT_DAYS = 30  # a link lost this recently is still rechecked (it may come back)
OWN_PAGES = 100  # the target's own pages recrawled by default (its best-linked first)
POLL_SECONDS = 1.0  # a monitor run with --redis asks its job's status this often (one call)
NO_WORKER_SECONDS = 600.0  # ... and gives up, one line, when no worker serves it this long
