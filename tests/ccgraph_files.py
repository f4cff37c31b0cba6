"""Small Common Crawl web-graph releases, written in the real file formats, for tests.

An importer of the Common Crawl host- or domain-level web graph needs ground truth: files
laid out exactly as the real ones, from a graph small enough to reason about. This module
writes them from a plain description (who links to whom) and returns what was written.

The files of a release R at level L ("domain" or "host"), all gzip text, "\\n" line ends:

    R-L-vertices.txt.gz  no header; "id\\treversed_name" (domain level: "\\tn_hosts" after);
                         ids 0, 1, 2 ... in byte-wise (C locale) order of reversed_name
    R-L-edges.txt.gz     no header; "from_id\\tto_id", numerically sorted, unique,
                         no self-loops
    R-L-ranks.txt.gz     a header line, RANKS_HEADER below (RANKS_HEADER_DOMAIN at domain
                         level), then "harmonicc_pos\\tharmonicc_val\\tpr_pos\\tpr_val\\t
                         reversed_name" (domain level: "\\tn_hosts" after), one line per
                         vertex in order of harmonic centrality position (1-based); positions
                         rank values descending, ties by reversed name; floats with repr()

A reversed name has its labels in reverse order: "www.example.com" -> "com.example.www".

A sharded host-level release (``write_release(..., level="host", shards=K)``), as
cc-webgraph publishes one, in `folder` (meant to be <base>/R/host):

    vertices/part-0000K.txt.gz, edges/part-0000K.txt.gz   K shards of each, the same
                         line formats; the vertices and the edges split in order into K
                         near-equal runs (ids continue across shards; a shard may be empty)
    R-host-vertices.paths.gz, R-host-edges.paths.gz   gzip, one line per shard in order:
                         "R/host/vertices/part-0000K.txt.gz" (`paths_prefix` + kind/file),
                         a path relative to the base the release is published under
    R-host-ranks.txt.gz  one file, as above

The damage helpers write one broken variant each, for the importer's error paths.
"""

from __future__ import annotations

import bisect
import dataclasses
import gzip
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEVELS = ("domain", "host")
RANKS_HEADER = "#harmonicc_pos\t#harmonicc_val\t#pr_pos\t#pr_val\t#host_rev"
RANKS_HEADER_DOMAIN = RANKS_HEADER + "\t#n_hosts"


def reverse_name(name: str) -> str:
    """"www.example.com" -> "com.example.www": the graph's vertices are named so."""
    return ".".join(reversed(name.split(".")))


@dataclass(frozen=True)
class Release:
    """What `write_release` wrote: the file paths and the graph as the files hold it."""

    release: str  # e.g. "cc-main-2024-test"
    level: str  # "domain" or "host"
    vertices_path: Path  # sharded: the list of shards (R-host-vertices.paths.gz)
    edges_path: Path  # sharded: the list of shards (R-host-edges.paths.gz)
    ranks_path: Path
    names_by_id: list[str]  # forward names ("example.com"), index = vertex id
    id_of: dict[str, int]  # forward name -> vertex id
    edges: list[tuple[int, int]]  # as in the edges file: sorted, unique, no self-loops
    # in file order (harmonic position 1, 2, ...); keys: name, harmonic_pos, harmonic,
    # pr_pos, pr, n_hosts (an int at domain level, None at host level). Names left
    # `unranked` have no row.
    rank_rows: list[dict[str, Any]]
    vertex_shards: tuple[Path, ...] = ()  # sharded releases: the shard files, in order
    edge_shards: tuple[Path, ...] = ()
    edges_by_shard: tuple[tuple[tuple[int, int], ...], ...] = ()  # each edge shard's edges

    def referring(self, name: str) -> list[str]:
        """The names that link to `name`, sorted (KeyError if `name` is no vertex)."""
        target = self.id_of[name]
        return sorted({self.names_by_id[src] for src, dst in self.edges if dst == target})

    def reversed_name(self, name: str) -> str:
        """The name as the files spell it."""
        return reverse_name(name)


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "" in name.split("."):
        raise ValueError(f"not a host or domain name: {name!r}")


def _write_gz(path: Path, lines: Iterable[str]) -> Path:
    """Gzip text, "\\n" after every line, no file name or time in the header (reproducible)."""
    data = "".join(line + "\n" for line in lines).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                mtime=0) as gz:
        gz.write(data)
    return path


def _vertex_lines(release: Release) -> list[str]:
    n_hosts = {row["name"]: row["n_hosts"] for row in release.rank_rows}
    lines = []
    for vid, name in enumerate(release.names_by_id):
        line = f"{vid}\t{reverse_name(name)}"
        if release.level == "domain":
            line += f"\t{n_hosts[name]}"
        lines.append(line)
    return lines


def _edge_lines(edges: Iterable[tuple[int, int]]) -> list[str]:
    return [f"{src}\t{dst}" for src, dst in edges]


def _split(count: int, shards: int) -> list[tuple[int, int]]:
    """`count` items in `shards` runs in order, near-equal: [(start, end), ...]."""
    bounds = [round(k * count / shards) for k in range(shards + 1)]
    return list(zip(bounds, bounds[1:], strict=False))


def write_release(folder: Path, release: str, links: dict[str, list[str]], *,
                  level: str = "domain", n_hosts: dict[str, int] | None = None,
                  ranks: dict[str, tuple[float, float]] | None = None,
                  shards: int | None = None, paths_prefix: str | None = None,
                  unranked: Iterable[str] = ()) -> Release:
    """Write the vertices, edges and ranks files of `links` into `folder`.

    `links` maps a name to the names it links to; every name in it (key or target) is a
    vertex, so a vertex without links is a key with an empty list. Self-links are dropped,
    repeated links kept once. `n_hosts` (domain level only) defaults to 1 per domain.
    `ranks` gives (harmonic, pagerank) for some or all names; the others get
    harmonic = in-degree + 1 / (1 + id) and pagerank = (in-degree + 1) / (edges + vertices).
    Names in `unranked` are left out of the ranks file (the others' positions close up).
    `shards` (host level only) writes the vertices and edges as that many shards and
    their two lists, whose lines are `paths_prefix` (default "R/host/") + kind/file.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    if level == "host" and n_hosts:
        raise ValueError("n_hosts is a column of the domain-level files only")
    if shards is not None and (level != "host" or shards < 1):
        raise ValueError("shards: 1 or more, at host level only")
    if unranked and level != "host":
        raise ValueError("unranked: at host level only (n_hosts is in the domain ranks)")
    n_hosts = dict(n_hosts or {})
    ranks = dict(ranks or {})
    unranked = set(unranked)
    names = set(links)
    for targets in links.values():
        names.update(targets)
    for name in names:
        _check_name(name)
    for extra, what in ((n_hosts, "n_hosts"), (ranks, "ranks"), (unranked, "unranked")):
        unknown = sorted(set(extra) - names)
        if unknown:
            raise ValueError(f"{what} names no vertex of links: {unknown}")

    reversed_of = {name: reverse_name(name) for name in names}
    if len(set(reversed_of.values())) != len(names):
        raise ValueError("two names reverse to the same vertex name")
    names_by_id = sorted(names, key=lambda n: reversed_of[n].encode())
    id_of = {name: vid for vid, name in enumerate(names_by_id)}
    edges = sorted({(id_of[src], id_of[dst]) for src, targets in links.items()
                    for dst in targets if src != dst})

    in_degree = [0] * len(names_by_id)
    for _, dst in edges:
        in_degree[dst] += 1
    total = len(edges) + len(names_by_id)
    harmonic: list[float] = []
    pagerank: list[float] = []
    for vid, name in enumerate(names_by_id):
        if name in ranks:
            h, p = ranks[name]
        else:
            h, p = in_degree[vid] + 1.0 / (1 + vid), (in_degree[vid] + 1) / total
        harmonic.append(float(h))
        pagerank.append(float(p))

    def key_bytes(vid: int) -> bytes:
        return reversed_of[names_by_id[vid]].encode()

    ranked = [vid for vid, name in enumerate(names_by_id) if name not in unranked]
    by_harmonic = sorted(ranked, key=lambda v: (-harmonic[v], key_bytes(v)))
    by_pr = sorted(ranked, key=lambda v: (-pagerank[v], key_bytes(v)))
    pr_pos = {vid: pos for pos, vid in enumerate(by_pr, start=1)}
    rank_rows: list[dict[str, Any]] = []
    for pos, vid in enumerate(by_harmonic, start=1):
        name = names_by_id[vid]
        rank_rows.append({
            "name": name, "harmonic_pos": pos, "harmonic": harmonic[vid],
            "pr_pos": pr_pos[vid], "pr": pagerank[vid],
            "n_hosts": n_hosts.get(name, 1) if level == "domain" else None,
        })

    folder = Path(folder)
    result = Release(
        release=release, level=level,
        vertices_path=folder / f"{release}-{level}-vertices.txt.gz",
        edges_path=folder / f"{release}-{level}-edges.txt.gz",
        ranks_path=folder / f"{release}-{level}-ranks.txt.gz",
        names_by_id=names_by_id, id_of=id_of, edges=edges, rank_rows=rank_rows)

    if shards is None:
        _write_gz(result.vertices_path, _vertex_lines(result))
        _write_gz(result.edges_path, _edge_lines(edges))
    else:
        prefix = f"{release}/host/" if paths_prefix is None else paths_prefix
        vertex_lines = _vertex_lines(result)
        written: dict[str, list[Path]] = {"vertices": [], "edges": []}
        edges_by_shard = []
        for kind, items in (("vertices", vertex_lines), ("edges", edges)):
            for k, (start, end) in enumerate(_split(len(items), shards)):
                path = folder / kind / f"part-{k:05d}.txt.gz"
                if kind == "edges":
                    edges_by_shard.append(tuple(edges[start:end]))
                    _write_gz(path, _edge_lines(edges[start:end]))
                else:
                    _write_gz(path, vertex_lines[start:end])
                written[kind].append(path)
            _write_gz(folder / f"{release}-host-{kind}.paths.gz",
                      [f"{prefix}{kind}/{path.name}" for path in written[kind]])
        result = dataclasses.replace(
            result, vertices_path=folder / f"{release}-host-vertices.paths.gz",
            edges_path=folder / f"{release}-host-edges.paths.gz",
            vertex_shards=tuple(written["vertices"]), edge_shards=tuple(written["edges"]),
            edges_by_shard=tuple(edges_by_shard))
    rank_lines = [RANKS_HEADER_DOMAIN if level == "domain" else RANKS_HEADER]
    for row in rank_rows:
        line = (f"{row['harmonic_pos']}\t{row['harmonic']!r}\t{row['pr_pos']}\t{row['pr']!r}"
                f"\t{reverse_name(row['name'])}")
        if level == "domain":
            line += f"\t{row['n_hosts']}"
        rank_lines.append(line)
    _write_gz(result.ranks_path, rank_lines)
    return result


# Damage: each helper writes one broken variant of a release's file to `path`.

def missorted_shard(release: Release, shard: int) -> Path:
    """Edge shard `shard` of a sharded release rewritten with two adjacent lines in its
    middle swapped; its path."""
    edges = list(release.edges_by_shard[shard])
    if len(edges) < 2:
        raise ValueError("the shard needs at least two edges")
    i = len(edges) // 2 - 1
    edges[i], edges[i + 1] = edges[i + 1], edges[i]
    return _write_gz(release.edge_shards[shard], _edge_lines(edges))


def missorted_edges(release: Release, path: Path) -> Path:
    """An edges file with two adjacent lines in the middle swapped (so out of order)."""
    edges = list(release.edges)
    if len(edges) < 2:
        raise ValueError("needs at least two edges")
    i = len(edges) // 2 - 1
    edges[i], edges[i + 1] = edges[i + 1], edges[i]
    return _write_gz(Path(path), _edge_lines(edges))


def repeated_label(release: Release, path: Path) -> Path:
    """A vertices file where the middle line repeats the previous line's reversed name.

    Ids stay 0..n-1 and the order stays non-decreasing: only the repetition is wrong.
    """
    lines = _vertex_lines(release)
    if len(lines) < 2:
        raise ValueError("needs at least two vertices")
    k = len(lines) // 2
    previous = lines[k - 1].split("\t")
    fields = lines[k].split("\t")
    fields[1] = previous[1]
    lines[k] = "\t".join(fields)
    return _write_gz(Path(path), lines)


def truncated(src: Path, dst: Path, keep_fraction: float = 0.6) -> Path:
    """The first part of the gzip file `src` in `dst`: reading it ends in EOFError."""
    if not 0 < keep_fraction < 1:
        raise ValueError("keep_fraction must be between 0 and 1")
    data = Path(src).read_bytes()
    # past the 10-byte gzip header, short of the last byte: a truncated stream either way
    keep = min(max(int(len(data) * keep_fraction), 10), len(data) - 1)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data[:keep])
    return dst


def self_loop_edges(release: Release, path: Path) -> Path:
    """An edges file with one self-loop (v, v) added in its sorted place."""
    if not release.names_by_id:
        raise ValueError("needs a vertex")
    edges = list(release.edges)
    v = edges[len(edges) // 2][0] if edges else 0
    bisect.insort(edges, (v, v))
    return _write_gz(Path(path), _edge_lines(edges))


def duplicate_edge(release: Release, path: Path) -> Path:
    """An edges file with the middle edge written twice in a row (still sorted)."""
    edges = list(release.edges)
    if not edges:
        raise ValueError("needs an edge")
    i = len(edges) // 2
    edges.insert(i, edges[i])
    return _write_gz(Path(path), _edge_lines(edges))


def _domain_name(i: int) -> str:
    pattern = ("d{:04d}.example", "site{}.co.uk", "d{:04d}.com", "shop{}.de", "d{:04d}.org",
               "news{}.com.au")[(i - 1) % 6]
    return pattern.format(i)


def synthetic_release(folder: Path, release: str, n_domains: int = 200, seed: int = 7,
                      level: str = "domain") -> Release:
    """A deterministic random graph of `n_domains` domains, a few of them hubs.

    Domains are d0001.example, site2.co.uk, d0003.com, shop4.de, d0005.org,
    news6.com.au, d0007.example, ... Every domain is a vertex (some without links);
    about one in twenty is a hub that half of all links point to. At host level each
    domain has www.DOMAIN, some also blog.DOMAIN and some the bare DOMAIN as hosts.
    """
    if n_domains < 2:
        raise ValueError("n_domains must be at least 2")
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    rng = random.Random(seed)
    domains = [_domain_name(i) for i in range(1, n_domains + 1)]
    hubs = rng.sample(domains, max(1, n_domains // 20))
    domain_links: dict[str, list[str]] = {}
    for domain in domains:
        targets = []
        for _ in range(rng.randint(0, 6)):
            targets.append(rng.choice(hubs) if rng.random() < 0.5 else rng.choice(domains))
        domain_links[domain] = targets
    if level == "domain":
        n_hosts = {domain: rng.randint(1, 4) for domain in domains}
        return write_release(folder, release, domain_links, level="domain", n_hosts=n_hosts)

    hosts_of: dict[str, list[str]] = {}
    for domain in domains:
        hosts = [f"www.{domain}"]
        if rng.random() < 0.3:
            hosts.append(f"blog.{domain}")
        if rng.random() < 0.2:
            hosts.append(domain)
        hosts_of[domain] = hosts
    host_links: dict[str, list[str]] = {h: [] for hosts in hosts_of.values() for h in hosts}
    for domain, targets in domain_links.items():
        for target in targets:
            src = rng.choice(hosts_of[domain])
            host_links[src].append(rng.choice(hosts_of[target]))
        if len(hosts_of[domain]) > 1:  # a site's hosts link to each other
            host_links[hosts_of[domain][1]].append(hosts_of[domain][0])
    return write_release(folder, release, host_links, level="host")
