"""Domain rank: PageRank over the graph of linking domains, run inside DuckDB.

The graph has one node per registrable domain in the index and one arc per distinct
(src_domain -> dst_domain) pair of live, external, dofollow edges: no nofollow, ugc or
sponsored, the links that pass credit by the queries' `is_dofollow` (queries/_links.sql).
It is far smaller than the edge table, and stays in DuckDB so nothing leaves SQL.

PageRank: damping 0.85, uniform teleport over all domains, the mass of domains
without outlinks spread uniformly; iterate until the L1 change is below 1e-9 or 50
iterations. Ranks are held as fixed-point integers (BIGINT, 10^18 = all the mass;
sums in HUGEINT), so every sum is exact and order-independent: a rebuild of the same
inputs gives the same ranks bit for bit, whatever the number of threads (parallel
float sums are not associative). Integer division loses at most one unit (10^-18) per
arc and step; that remainder is shared out with the teleport mass, so the total stays
exact. Scaled to 0..100 on a fixed log scale: 20 points per tenfold rank above the
base (the rank of a domain no link reaches), so a number means the same in every build.

Domain trust (TrustRank, Gyöngyi et al. 2004): the same iteration on the same graph, but
the teleport and the dangling mass go to the trust seeds only (registrable domains a user
vouches for), so trust flows out from the seeds along dofollow links and fades with each
hop. A domain no seed reaches has trust 0; the others score 100 at a seed's teleport
share and 20 points less per tenfold less trust. docs/metrics.md says both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from core.errors import LinkindexError

DAMPING_PERCENT = 85
MAX_ITERATIONS = 50
TOLERANCE = 1e-9
SCALE = 10**18  # fixed-point unit: all the rank mass

# Node ids in domain order, so the same inputs give the same ids. `seed`: where the
# teleport goes (every domain for PageRank, the trust seeds for TrustRank).
_NODES = """
CREATE OR REPLACE TEMP TABLE rank_node AS
SELECT (row_number() OVER (ORDER BY domain) - 1)::INTEGER AS id, domain,
       {seed} AS seed
FROM (SELECT DISTINCT domain FROM {domains})
"""

# One arc per linking domain pair, with the out-degree of its source.
_ARCS = """
CREATE OR REPLACE TEMP TABLE rank_arc AS
WITH arc AS (
    SELECT s.id AS src, d.id AS dst
    FROM {links} AS pair
    JOIN rank_node AS s ON s.domain = pair.src_domain
    JOIN rank_node AS d ON d.domain = pair.dst_domain
),
degree AS (
    SELECT src, count(*) AS out_degree FROM arc GROUP BY src
)
SELECT arc.src, arc.dst, degree.out_degree
FROM arc
JOIN degree ON degree.src = arc.src
"""

_START = """
CREATE OR REPLACE TEMP TABLE rank_value AS
SELECT id, (CASE WHEN seed THEN $scale // $k ELSE 0 END)::BIGINT AS r FROM rank_node
"""

# One power iteration. Each node keeps 85% of what flows in over its arcs; everything
# else (the 15% teleport, the mass of dangling nodes, integer rounding) is the
# remainder of SCALE and is shared equally by the $k seed nodes.
_STEP = """
CREATE OR REPLACE TEMP TABLE rank_next AS
WITH inflow AS (
    SELECT a.dst AS id, sum(v.r // a.out_degree) AS r
    FROM rank_arc AS a
    JOIN rank_value AS v ON v.id = a.src
    GROUP BY a.dst
),
damped AS (
    SELECT n.id, n.seed, coalesce(i.r, 0) * $damping // 100 AS r
    FROM rank_node AS n
    LEFT JOIN inflow AS i ON i.id = n.id
)
SELECT id,
       (r + CASE WHEN seed THEN ($scale - sum(r) OVER ()) // $k ELSE 0 END)::BIGINT AS r
FROM damped
"""

_CHANGE = """
SELECT coalesce(sum(abs(a.r - b.r)), 0)::DOUBLE
FROM rank_value AS a
JOIN rank_next AS b ON a.id = b.id
"""

# The share of mass a node gets with no link in at all (the teleport, the dangling mass
# and the rounding, shared by the $k seeds): what the scales below measure from.
_BASE = """
WITH inflow AS (
    SELECT a.dst AS id, sum(v.r // a.out_degree) AS r
    FROM rank_arc AS a
    JOIN rank_value AS v ON v.id = a.src
    GROUP BY a.dst
)
SELECT (($scale - coalesce(sum(r * $damping // 100), 0)) // $k)::DOUBLE FROM inflow
"""

# Every score on one fixed log scale: `top` for a node at the base (0 for rank: a node
# no link reaches; 100 for trust: a seed's teleport share), POINTS_PER_DECADE more per
# tenfold more, within 0..100. No min-max: a node's number depends on its own value
# against the base, not on the strongest node of this index, so unrelated nodes joining
# do not move it (docs/metrics.md). Trust from the seeds is not changed by domains no
# seed reaches. `name`: the node's column in the result (the iteration's node table
# calls it `domain`, URLs included).
_SCALED = """
CREATE OR REPLACE TEMP TABLE {table} AS
SELECT n.domain AS {name},
       CASE WHEN $base <= 0 OR v.r <= 0 THEN 0.0
            ELSE least(100.0, greatest(0.0,
                 round({top} + $points * log10(v.r::DOUBLE / $base), 1)))
       END AS {table}
FROM rank_node AS n
JOIN rank_value AS v ON v.id = n.id
"""

POINTS_PER_DECADE = 20  # 0..100 spans five decades of rank above the base


def _scale(con: duckdb.DuckDBPyConnection, run: RankRun, table: str, name: str,
           top: int = 0) -> None:
    """TEMP TABLE `table`(`name`, `table`): the iteration's values on the fixed scale."""
    con.execute(_SCALED.format(table=table, name=name, top=top),
                {"base": run.base * SCALE, "points": POINTS_PER_DECADE})


# The definition's version: bump it whenever a number could change for the same links.
# 1: followed (not nofollow) links; 2: dofollow links (no nofollow, ugc or sponsored);
# 3: a fixed log scale from the base share (no min-max over the index). Trust 2: the same.
DOMAIN_RANK_VERSION = 3
DOMAIN_TRUST_VERSION = 2
PAGE_RANK_VERSION = 1


@dataclass(frozen=True)
class RankRun:
    """What one computation did: the receipt the manifest keeps (`linkindex metrics`)."""

    nodes: int  # domains
    arcs: int  # distinct (linking, linked) domain pairs with a dofollow link
    dangling: int  # domains with no outgoing arc (their mass is shared out)
    iterations: int
    final_delta: float  # L1 change of the last iteration, as a share of all the mass
    seeds: int  # domains the teleport goes to (all of them for domain rank)
    base: float  # the share of a domain no link reaches (a seed's teleport share, for trust)

    @property
    def converged(self) -> bool:
        return self.final_delta < TOLERANCE

    def trust_receipt(self, seeds: list[str]) -> dict[str, Any]:
        receipt = self.receipt()
        receipt.update(
            version=DOMAIN_TRUST_VERSION,
            formula="TrustRank: PageRank whose teleport goes to the trust seeds only "
                    "(docs/metrics.md)",
            teleport="the trust seeds, equally; dangling mass too",
            seeds={"given": len(seeds), "in_graph": self.seeds,
                   "sha256": seeds_digest(seeds)},
            scale=f"min(100, round(100 + {POINTS_PER_DECADE} * log10(t / base), 1)), base = "
                  "a seed's teleport share; 0 where no trust arrives or below five decades "
                  "under the base",
            ratio="trust_ratio = round(domain_trust / domain_rank, 2), NULL when "
                  "domain_rank is 0")
        return receipt

    def page_receipt(self) -> dict[str, Any]:
        receipt = self.receipt()
        receipt.update(
            version=PAGE_RANK_VERSION,
            formula="PageRank over the URL graph, on domain rank's fixed log scale "
                    "(docs/metrics.md)",
            graph={"nodes": self.nodes, "arcs": self.arcs, "dangling": self.dangling,
                   "links": "live, dofollow (no nofollow, ugc or sponsored), internal ones "
                            "included, one arc per distinct URL pair"},
            teleport="uniform over all URLs; dangling mass shared uniformly")
        receipt["scale"] = receipt["scale"].replace("a domain", "a URL")
        return receipt

    def receipt(self) -> dict[str, Any]:
        return {
            "version": DOMAIN_RANK_VERSION,
            "formula": "PageRank over the domain graph, log-scaled to 0..100 "
                       "(docs/metrics.md)",
            "graph": {"nodes": self.nodes, "arcs": self.arcs, "dangling": self.dangling,
                      "links": "live, external, dofollow (no nofollow, ugc or sponsored), "
                               "one arc per distinct domain pair"},
            "damping": DAMPING_PERCENT / 100,
            "teleport": "uniform over all domains; dangling mass shared uniformly",
            "tolerance": TOLERANCE,
            "max_iterations": MAX_ITERATIONS,
            "iterations": self.iterations,
            "final_delta": self.final_delta,
            "converged": self.converged,
            "arithmetic": f"fixed point, {SCALE:.0e} units of mass, exact sums",
            "scale": f"min(100, round({POINTS_PER_DECADE} * log10(pr / base), 1)), base = "
                     "the rank of a domain no link reaches: a fixed scale, not min-max "
                     "over this index",
            "base": self.base,
        }


def compute_domain_ranks(con: duckdb.DuckDBPyConnection, *, domains: str,
                         links: str) -> RankRun:
    """Create TEMP TABLE domain_rank(domain, domain_rank) for every domain of `domains`.

    `domains` and `links` name tables (or views) of this connection: one with a
    `domain` column, one with the distinct (src_domain, dst_domain) pairs that pass
    rank: in the index, those of live, external, dofollow edges (no nofollow, ugc or
    sponsored). Pairs naming a domain not in `domains` are ignored. Returns what the
    computation did (its receipt).
    """
    run = _power_iteration(con, domains, links, "true")
    _scale(con, run, "domain_rank", "domain")
    _drop(con)
    return run


def compute_page_ranks(con: duckdb.DuckDBPyConnection, *, pages: str, links: str) -> RankRun:
    """Create TEMP TABLE page_rank(url, page_rank): PageRank over URLs (docs/metrics.md).

    `pages` names a table with a `url` column (every node), `links` one with the
    distinct (src_url, dst_url) pairs that pass rank: in the index, those of live,
    dofollow links of any kind, internal ones included (as URL Rating counts them)."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW page_node AS SELECT url AS domain FROM {pages}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW page_arc AS "
                f"SELECT src_url AS src_domain, dst_url AS dst_domain FROM {links}")
    run = _power_iteration(con, "page_node", "page_arc", "true")
    _scale(con, run, "page_rank", "url")
    _drop(con)
    return run


def compute_domain_trust(con: duckdb.DuckDBPyConnection, *, domains: str, links: str,
                         seeds: str) -> RankRun:
    """Create TEMP TABLE domain_trust(domain, domain_trust): TrustRank from the domains
    of the table `seeds` (a `domain` column) over the same graph as domain rank."""
    run = _power_iteration(con, domains, links,
                           f"domain IN (SELECT domain FROM {seeds})")
    _scale(con, run, "domain_trust", "domain", top=100)
    _drop(con)
    return run


def _power_iteration(con: duckdb.DuckDBPyConnection, domains: str, links: str,
                     seed: str) -> RankRun:
    con.execute(_NODES.format(domains=domains, seed=seed))
    con.execute(_ARCS.format(links=links))
    (n, k) = con.execute("SELECT count(*), count(*) FILTER (seed) FROM rank_node").fetchone()
    (arcs, sources) = con.execute(
        "SELECT count(*), count(DISTINCT src) FROM rank_arc").fetchone()
    iterations, change = 0, 0.0
    if k:
        params = {"scale": SCALE, "k": k}
        con.execute(_START, params)
        while iterations < MAX_ITERATIONS:
            iterations += 1
            con.execute(_STEP, {**params, "damping": DAMPING_PERCENT})
            (change,) = con.execute(_CHANGE).fetchone()
            con.execute("DROP TABLE rank_value")
            con.execute("ALTER TABLE rank_next RENAME TO rank_value")
            if change < TOLERANCE * SCALE:
                break
    else:  # no domain at all, or no seed in the graph: every value 0
        con.execute("CREATE OR REPLACE TEMP TABLE rank_value AS "
                    "SELECT id, 0::BIGINT AS r FROM rank_node")
    base = 0.0
    if k:
        (base,) = con.execute(_BASE, {"scale": SCALE, "k": k,
                                      "damping": DAMPING_PERCENT}).fetchone()
    return RankRun(nodes=n, arcs=arcs, dangling=n - sources, iterations=iterations,
                   final_delta=change / SCALE, seeds=k, base=base / SCALE)


def _drop(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("rank_node", "rank_arc", "rank_value"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def read_trust_seeds(path: Path) -> list[str]:
    """The registrable domains of a trust seeds file: one domain (or host, or URL) per
    line, blank lines and `#` comments skipped; sorted, without repeats."""
    from core.domains import registrable_domain
    from core.urls import normalize_url, url_host

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LinkindexError(f"cannot read trust seeds {path}: {exc}") from None
    seeds = set()
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        # as the index names domains: the URL's normalised host, then its registrable part
        url = normalize_url(text if "://" in text else f"http://{text}/")
        host = url_host(url) if url else None
        domain = registrable_domain(host) if host else ""
        if not domain:
            raise LinkindexError(f"{path}:{number}: not a domain: {text!r}")
        seeds.add(domain)
    if not seeds:
        raise LinkindexError(f"{path}: no trust seeds in it (one domain per line)")
    return sorted(seeds)


def seeds_digest(seeds: list[str]) -> str:
    """The SHA-256 of the sorted seed domains, one per line: the receipt names the seeds."""
    return hashlib.sha256("".join(f"{d}\n" for d in seeds).encode()).hexdigest()
