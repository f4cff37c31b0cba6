"""The link audit on a real crawl of the audit web (synthweb.audit), as a user runs it:
crawl through the loopback proxy with the sites' addresses (LINKINDEX_RESOLVE), build,
check-links, build again; then every audit answer against the web's ground truth,
computed here independently (docs/audit.md gives the rules).
"""

from __future__ import annotations

import csv
import ipaddress
import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from clitools import crawl_args, linkindex

from core.pagetext import STOP_WORDS  # the closed list of stop words, not the computation
from synthweb import AuditWeb, WebServer
from synthweb.audit_truth import ACME, GLOBEX, KEYWORDS, NETWORK_DOMAINS
from synthweb.truth import domain_of, host_of

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Audited:
    web: AuditWeb
    data: Path
    ranks: dict[str, float]  # domain -> domain_rank, as built (an input of the scores)


def query(data: Path, *args: str) -> list[dict]:
    out = linkindex("query", *args, "--data", data, "--format", "json").stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Audited:
    web = AuditWeb()
    root = tmp_path_factory.mktemp("audit")
    data = root / "data"
    seeds = root / "seeds.txt"
    seeds.write_text("\n".join(web.seeds()) + "\n")
    resolve = ["-s", f"LINKINDEX_RESOLVE={json.dumps(web.addresses())}"]
    with WebServer(web) as server:  # type: ignore[arg-type] - duck-typed web
        linkindex("crawl", "--seeds-file", seeds, *crawl_args(server.proxy_url, data, "a1"),
                  "--snippets",
                  *resolve)
        linkindex("build", "--data", data)
        linkindex("check-links", "--data", data, "--crawl-id", "check1", "--proxy",
                  server.proxy_url, "--allow-private", "-s", "DOWNLOAD_DELAY=0", *resolve,
                  "-s", 'DEFAULT_REQUEST_HEADERS={"Connection": "close"}')
        linkindex("build", "--data", data)
    generation = (data / "index" / "CURRENT").read_text().strip()
    domains = pq.read_table(data / "index" / generation / "domains.parquet").to_pylist()
    return Audited(web, data, {d["domain"]: d["domain_rank"] for d in domains})


def subnet(address: str) -> str:
    return str(ipaddress.ip_network(f"{address}/24", strict=False))


def acme_links(web: AuditWeb) -> list:
    return [link for link in web.backlinks(ACME)]


# ---------------------------------------------------------------------------
# Referring IPs and subnets (item 4)
# ---------------------------------------------------------------------------


def test_pages_record_each_sites_address_behind_a_proxy(audited: Audited) -> None:
    rows = json.loads(linkindex("sql", "--data", audited.data, "--format", "json",
                                "SELECT host, ip FROM pages WHERE crawl_id = 'a1'").stdout)
    addresses = audited.web.addresses()
    assert rows and all(row["ip"] == addresses[row["host"]] for row in rows), rows


def test_overview_counts_referring_ips_and_subnets(audited: Audited) -> None:
    addresses = audited.web.addresses()
    sources = {link.src_host for link in acme_links(audited.web)}
    (row,) = query(audited.data, "overview", ACME)
    assert row["referring_ips"] == len({addresses[h] for h in sources}) == 12
    assert row["referring_subnets"] == len({subnet(addresses[h]) for h in sources}) == 7
    assert row["referring_domains"] == len({link.src_domain for link in acme_links(audited.web)})


# ---------------------------------------------------------------------------
# Toxic signals (item 6), each part computed here from the ground truth
# ---------------------------------------------------------------------------


def round1(x: float) -> float:
    """To one decimal, halves away from zero as SQL rounds (Python's round() goes to even)."""
    return math.floor(x * 10 + 0.5) / 10


def expected_toxic(audited: Audited) -> dict[str, dict]:
    web = audited.web
    addresses = web.addresses()
    crawled = Counter(domain_of(host_of(url)) for url in web.expected_crawl().pages)
    external_on_page = Counter(link.src_url for link in web.links() if link.external)
    by_domain: dict[str, list] = defaultdict(list)
    for link in acme_links(web):
        by_domain[link.src_domain].append(link)
    outbound: dict[str, Counter] = defaultdict(Counter)
    dofollow_out: Counter = Counter()
    for link in web.links():
        if link.external:
            outbound[link.src_domain][link.dst_domain] += 1
            if not (link.nofollow or link.ugc or link.sponsored):
                dofollow_out[link.src_domain] += 1
    ip_of = {d: Counter(addresses[link.src_host] for link in links).most_common(1)[0][0]
             for d, links in by_domain.items()}
    on_subnet = Counter(subnet(ip) for ip in ip_of.values())
    profiles = {d: set(outbound[d]) for d in by_domain}
    out = {}
    for domain, links in by_domain.items():
        pages = {link.src_url for link in links}
        sitewide = crawled[domain] >= 5 and len(pages) >= 0.8 * crawled[domain]
        footer = sum(link.position == "footer" for link in links) / len(links)
        exact = sum(link.anchor_class == "exact" for link in links) / len(links)
        n = on_subnet[subnet(ip_of[domain])]
        twins = [len(profiles[domain] & profiles[o]) / len(profiles[domain] | profiles[o])
                 for o in profiles
                 if o != domain and len(profiles[domain]) >= 3 and len(profiles[o]) >= 3]
        twin = max(twins, default=0.0)
        outlinks = sum(outbound[domain].values())
        rank = audited.ranks[domain]
        avg_out = sum(external_on_page[link.src_url] for link in links) / len(links)
        dofollow_share = dofollow_out[domain] / outlinks if outlinks >= 20 else 0.0
        parts = {
            "sitewide_footer_points": round1(15 * (footer if sitewide else 0)),
            "exact_anchor_points": round1(15 * exact),
            "same_subnet_points": round1(20 * min(1.0, max(n - 1, 0) / 4)),
            "twin_profile_points": round1(20 * (twin if twin >= 0.8 else 0)),
            "rank_gap_points": round1(10 * min(1.0, max(0.0, (20 * math.log10(1 + outlinks)
                                                          - rank - 20) / 40))),
            "outlink_heavy_points": round1(10 * min(1.0, max(0.0, (avg_out - 10) / 40))),
            "dofollow_only_points": round1(10 * dofollow_share),
        }
        out[domain] = {"toxic_score": round1(sum(parts.values())), **parts,
                       "sitewide": sitewide, "domains_on_subnet": n,
                       "linking_pages": sorted(pages), "pages_crawled": crawled[domain]}
    return out


def test_toxic_domains_equal_an_independent_computation(audited: Audited) -> None:
    rows = query(audited.data, "toxic_domains", ACME, *keyword_flags())
    expected = expected_toxic(audited)
    got = {row["src_domain"]: {k: row[k] for k in next(iter(expected.values()))}
           for row in rows}
    assert got == expected
    # the network is the worst, every part shown; a sitewide footer partner scores its part
    top = {row["src_domain"] for row in rows if row["toxic_score"] >= 50}
    assert top == set(NETWORK_DOMAINS)
    assert [r["toxic_score"] for r in rows] == sorted((r["toxic_score"] for r in rows),
                                                      reverse=True)
    footer = next(r for r in rows if r["src_domain"] == "footer-partner.example")
    assert footer["reasons"] == "sitewide footer 15.0"


def keyword_flags() -> list[str]:
    return [arg for keyword in KEYWORDS for arg in ("--keyword", keyword)]


# ---------------------------------------------------------------------------
# Disavow (item 6)
# ---------------------------------------------------------------------------


def test_disavow_lists_the_network_and_passes_the_check(audited: Audited, tmp_path: Path) -> None:
    out = tmp_path / "disavow.txt"
    linkindex("disavow", ACME, "--data", audited.data, "--min-score", "50", *keyword_flags(),
              "-o", out)
    text = out.read_text(encoding="utf-8")
    entries = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert entries == [f"domain:{d}" for d in sorted(NETWORK_DOMAINS)]
    check = linkindex("disavow", "--check", out)
    assert check.stdout.strip().endswith("no problems"), check.stdout
    assert len(text.encode()) <= 2 * 1024 * 1024 and len(text.splitlines()) <= 100_000

    keep = tmp_path / "keep.txt"
    keep.write_text("# a partner we vouch for\nnet-a.example\n")
    newer = tmp_path / "disavow2.txt"
    proc = linkindex("disavow", ACME, "--data", audited.data, "--min-score", "50",
                     *keyword_flags(), "--keep", keep, "--diff", out, "-o", newer)
    entries = [line for line in newer.read_text().splitlines()
               if line and not line.startswith("#")]
    assert entries == [f"domain:{d}" for d in sorted(NETWORK_DOMAINS) if d != "net-a.example"]
    assert "- domain:net-a.example" in proc.stdout.splitlines()


# ---------------------------------------------------------------------------
# Dead targets outside the crawl (item 9)
# ---------------------------------------------------------------------------


def test_broken_outlinks_find_the_dead_targets_check_links_fetched(audited: Audited) -> None:
    rows = query(audited.data, "broken_outlinks", "widget-news.example")
    assert sorted({row["dst_url"] for row in rows}) == sorted(
        t.url for t in audited.web.dead_targets() if t.broken)


# ---------------------------------------------------------------------------
# Relevance (item 5): TF-IDF cosine computed here from the pages' text
# ---------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]{3,}")


def page_vectors(web: AuditWeb) -> dict[str, dict[str, float]]:
    """Each crawled page's top 32 words (title, headings, main text; stop words out)
    weighted tf * (ln((1 + N) / (1 + df)) + 1) and scaled to unit length."""
    texts = web.page_texts()
    crawled = {url for url, page in web.expected_crawl().pages.items()
               if page.status == 200 and url in texts}
    counts = {}
    for url in crawled:
        words = [w for w in _WORD.findall(texts[url].all_text.lower()) if w not in STOP_WORDS]
        top = sorted(Counter(words).items(), key=lambda item: (-item[1], item[0]))[:32]
        if top:
            counts[url] = dict(top)
    df = Counter(term for terms in counts.values() for term in terms)
    n = len(counts)
    vectors = {}
    for url, terms in counts.items():
        weights = {t: c * (math.log((1 + n) / (1 + df[t])) + 1) for t, c in terms.items()}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        vectors[url] = {t: w / norm for t, w in weights.items()}
    return vectors


def cosine(a: dict[str, float] | None, b: dict[str, float] | None) -> float | None:
    if a is None or b is None:
        return None
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def test_relevance_equals_tfidf_cosine_of_the_pages_text(audited: Audited) -> None:
    vectors = page_vectors(audited.web)
    rows = query(audited.data, "backlinks", ACME, "--relevance")
    assert rows
    for row in rows:
        expected = cosine(vectors.get(row["src_url"]), vectors.get(row["dst_url"]))
        assert row["relevance"] == pytest.approx(expected, abs=5.1e-5), row["src_url"]
    # on-topic sources score above off-topic ones, averaged per referring domain
    domains = {r["src_domain"]: r["avg_relevance"]
               for r in query(audited.data, "referring_domains", ACME, "--relevance")}
    assert domains["widget-news.example"] > 0.15 > 0.05 > domains["recipes-blog.example"]
    assert all(domains[d] < 0.05 for d in NETWORK_DOMAINS)


# ---------------------------------------------------------------------------
# Link context (item 2) and the analysts' filters on it (item 3)
# ---------------------------------------------------------------------------


def test_backlinks_carry_their_context(audited: Audited) -> None:
    web = audited.web
    addresses = web.addresses()
    shares = web.link_shares()
    external_on_page = Counter(link.src_url for link in web.links() if link.external)
    lang = {url: text.lang for url, text in web.page_texts().items()}
    expected = sorted(
        (link.src_url, link.dst_url, link.anchor,
         shares[link.src_domain, link.dst_domain][1] >= 5
         and shares[link.src_domain, link.dst_domain][0]
         >= 0.8 * shares[link.src_domain, link.dst_domain][1],
         link.from_homepage, external_on_page[link.src_url], lang[link.src_url],
         addresses[link.src_host], subnet(addresses[link.src_host]),
         link.text_before, link.text_after)
        for link in acme_links(web))
    got = sorted(
        (r["src_url"], r["dst_url"], r["anchor"], r["sitewide"], r["from_homepage"],
         r["src_external_links"], r["src_lang"], r["src_ip"], r["src_subnet"],
         r["text_before"], r["text_after"])
        for r in query(audited.data, "backlinks", ACME))
    assert got == expected
    assert {link.src_domain for link in acme_links(web)
            if (link.src_domain, ACME) in web.sitewide()} == {"footer-partner.example"}


def test_filters_on_language_and_sitewide(audited: Audited) -> None:
    web = audited.web
    lang = {url: text.lang for url, text in web.page_texts().items()}
    german = query(audited.data, "backlinks", ACME, "--src-lang", "DE")
    assert sorted(r["src_url"] for r in german) == sorted(
        link.src_url for link in acme_links(web) if lang[link.src_url] == "de")
    sitewide = query(audited.data, "backlinks", ACME, "--sitewide", "yes")
    assert {r["src_domain"] for r in sitewide} == {"footer-partner.example"}
    rest = query(audited.data, "backlinks", ACME, "--sitewide", "no")
    assert len(rest) + len(sitewide) == len(acme_links(web))
    grouped = query(audited.data, "backlinks", ACME, "--group-similar")
    assert sorted(r["src_domain"] for r in grouped) == sorted(
        {link.src_domain for link in acme_links(web)})


def test_referring_domains_show_addresses_and_subnet_neighbours(audited: Audited) -> None:
    addresses = audited.web.addresses()
    rows = {r["src_domain"]: r for r in query(audited.data, "referring_domains", ACME)}
    for domain in NETWORK_DOMAINS:
        assert rows[domain]["subnet"] == "127.0.77.0/24"
        assert rows[domain]["domains_on_subnet"] == len(NETWORK_DOMAINS)
    news = rows["widget-news.example"]
    assert news["ip"] == addresses["widget-news.example"] == rows["werkzeug-blog.example"]["ip"]
    assert {row["ips"] for row in rows.values()} == {1}  # one host, one address each here
    assert news["domains_on_subnet"] == 2
    assert rows["footer-partner.example"]["sitewide"] is True
    assert rows["half-partner.example"]["sitewide"] is False


def test_anchor_mix_of_the_audit_web(audited: Audited) -> None:
    links = acme_links(audited.web)
    rows = query(audited.data, "anchor_mix", ACME, *keyword_flags(), "--brand", "Acme")
    got = {r["anchor_class"]: r["backlinks"] for r in rows}
    assert got == {cls: sum(link.anchor_class == cls for link in links)
                   for cls in got}
    assert sum(got.values()) == len(links)


# ---------------------------------------------------------------------------
# Compare (item 7) and the gap with coverage (item 8)
# ---------------------------------------------------------------------------


def test_compare_side_by_side(audited: Audited, tmp_path: Path) -> None:
    addresses = audited.web.addresses()
    out = tmp_path / "compare.csv"
    linkindex("compare", ACME, GLOBEX, "--data", audited.data, "-o", out)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [row["target"] for row in rows] == [ACME, GLOBEX]
    for row, target in zip(rows, (ACME, GLOBEX), strict=True):
        links = audited.web.backlinks(target)
        hosts = {link.src_host for link in links}
        assert int(row["backlinks"]) == len(links)
        assert int(row["referring_domains"]) == len({link.src_domain for link in links})
        assert int(row["referring_ips"]) == len({addresses[h] for h in hosts})
        assert int(row["referring_subnets"]) == len({subnet(addresses[h]) for h in hosts})
        dofollow = sum(not (link.nofollow or link.ugc or link.sponsored) for link in links)
        assert float(row["dofollow_share"]) == round(dofollow / len(links), 4)


def test_link_gap_says_what_was_measured(audited: Audited) -> None:
    web = audited.web
    to_acme = {link.src_domain for link in web.backlinks(ACME)}
    to_globex = {link.src_domain for link in web.backlinks(GLOBEX)}
    rows = query(audited.data, "link_gap", GLOBEX, ACME)
    assert sorted(r["src_domain"] for r in rows) == sorted(to_acme - to_globex)
    assert {r["coverage"] for r in rows} == {"measured"}  # every one of them was crawled
    for row in rows:
        (example,) = row["examples"]
        assert example["competitor"] == ACME
        assert any(link.src_url == example["src_url"] and link.dst_url == example["dst_url"]
                   for link in web.backlinks(ACME))
