"""The audit web (synthweb.audit): served through the loopback proxy, its HTML, statuses
and robots.txt agree with its ground truth, and the truth says what the brief asks."""

from __future__ import annotations

import http.client
import ipaddress
import math
import re
import socket
import unicodedata
import urllib.robotparser
from collections import Counter
from collections.abc import Iterator

import pytest
from selectolax.lexbor import LexborHTMLParser, LexborNode

from core.extractor import extract_html
from core.schema import SNIPPET_CHARS
from core.urls import absolutize
from synthweb import AuditWeb, WebServer
from synthweb.audit import (
    ACME,
    BRANDS,
    DEAD_TARGETS,
    GLOBEX,
    KEYWORDS,
    NETWORK_DOMAINS,
    NETWORK_SUBNET,
    SHARED_HOSTING,
    SITEWIDE,
    TOPICAL,
    AuditLink,
)
from synthweb.audit_truth import SEED_HOSTS, SITEWIDE_MIN_PAGES, SPAM_HOSTS, SPAM_TARGETS

NEWS = "widget-news.example"
Fetched = tuple[int | None, dict[str, str], bytes]


@pytest.fixture(scope="module")
def audit_web() -> AuditWeb:
    return AuditWeb()


@pytest.fixture(scope="module")
def server(audit_web: AuditWeb) -> Iterator[WebServer]:
    with WebServer(audit_web) as srv:  # type: ignore[arg-type]  # duck-typed web
        yield srv


def fetch(server: WebServer, method: str, url: str) -> Fetched:
    """One request through the proxy; status None when the connection closes unanswered."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(method, url)
        try:
            resp = conn.getresponse()
        except http.client.RemoteDisconnected:
            return None, {}, b""
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def html_urls(web: AuditWeb) -> list[str]:
    return list(web.page_texts())


def collapse(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- statuses, robots


def test_every_url_get_and_head(audit_web: AuditWeb, server: WebServer) -> None:
    for url, facts in audit_web.pages().items():
        status, headers, body = fetch(server, "GET", url)
        assert status == facts.status, url
        assert body == audit_web.response("GET", url).body, url
        h_status, h_headers, h_body = fetch(server, "HEAD", url)
        assert h_body == b"", url
        if url == "http://head-hater.example/page":
            assert (status, h_status) == (200, 405)
            continue
        assert h_status == status, url
        if status is not None:
            assert h_headers["content-length"] == headers["content-length"], url
            assert h_headers.get("content-type") == headers.get("content-type"), url


def test_unknown_urls(audit_web: AuditWeb, server: WebServer) -> None:
    assert fetch(server, "GET", f"http://{ACME}/nowhere")[0] == 404
    assert fetch(server, "GET", "http://elsewhere.example/")[0] == 502
    assert fetch(server, "POST", f"http://{ACME}/")[0] == 405


def test_dead_targets(audit_web: AuditWeb, server: WebServer) -> None:
    seeds = set(SEED_HOSTS)
    for target in DEAD_TARGETS:
        host = target.url.split("/")[2]
        assert host not in seeds
        assert fetch(server, "HEAD", target.url)[0] == target.head_status, target.url
        status, headers, _ = fetch(server, "GET", target.url)
        assert status == target.get_status, target.url
        url = target.url
        while status is not None and 300 <= status < 400:
            url = absolutize(headers["location"], url) or ""
            status, headers, _ = fetch(server, "GET", url)
        assert (url, status) == (target.final_url, target.final_status), target.url
        assert target.broken == (status is None or status >= 400), target.url
        robots = urllib.robotparser.RobotFileParser()
        text = fetch(server, "GET", f"http://{host}/robots.txt")
        robots.parse(text[2].decode().splitlines() if text[0] == 200 else [])
        assert robots.can_fetch("linkindex", target.url) == target.robots_allowed, target.url
        assert audit_web.robots_allowed(target.url) == target.robots_allowed
        # each is linked once, from widget-news, in content
        links = [li for li in audit_web.links(target.src_url) if li.dst_url == target.url]
        assert [(li.anchor, li.position) for li in links] == [(target.anchor, "content")]
    assert [t.broken for t in DEAD_TARGETS] == [True] * 4 + [False] * 4


def test_robots_txt(server: WebServer) -> None:
    status, _, body = fetch(server, "GET", "http://blocked-site.example/robots.txt")
    assert (status, body) == (200, b"User-agent: *\nDisallow: /private/\n")
    for host in (*SEED_HOSTS, *SPAM_TARGETS, "fine-site.example"):
        status, _, body = fetch(server, "GET", f"http://{host}/robots.txt")
        assert (status, body) == (200, b"User-agent: *\nDisallow:\n"), host


def test_silent_host_closes_without_an_answer(server: WebServer) -> None:
    for path in ("/", "/robots.txt", "/anything"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(f"GET http://silent-host.example{path} HTTP/1.1\r\n"
                         "Host: silent-host.example\r\n\r\n".encode())
            assert sock.recv(1024) == b"", path


# ---------------------------------------------------------------- links in the HTML

_POSITIONS = {"nav": "nav", "header": "header", "footer": "footer", "aside": "aside",
              "main": "content"}


def _position(node: LexborNode) -> str:
    parent = node.parent
    while parent is not None and parent.tag not in _POSITIONS:
        parent = parent.parent
    return "content" if parent is None else _POSITIONS[parent.tag or ""]


def _text_of(html: str) -> str:
    node = LexborHTMLParser(f"<p>{html}</p>").css_first("p")
    return collapse(node.text(deep=True)) if node is not None else ""


def _served_links(url: str, body: bytes) -> list[tuple]:
    """(dst, anchor, kind, alt, rel, position, text before, text after) per <a>."""
    out = []
    for node in LexborHTMLParser(body.decode()).css("a[href]"):
        img = node.css_first("img")
        alt = collapse(img.attributes.get("alt") or "") if img is not None else None
        anchor = collapse(node.text(deep=True)) or alt or ""
        block = node.parent
        assert block is not None and block.html is not None and node.html is not None
        before, after = block.html.split(node.html) if block.tag in ("p", "li") else ("", "")
        position = _position(node)
        beside = block.tag in ("p", "li") and position == "content"  # else not kept
        out.append((absolutize(node.attributes["href"] or "", url), anchor,
                    "img" if img is not None else "a", alt,
                    node.attributes.get("rel") or "", position,
                    _text_of(before.partition(">")[2]) or None if beside else None,
                    _text_of(after.rpartition("<")[0]) or None if beside else None))
    return out


def _truth_links(links: list[AuditLink]) -> list[tuple]:
    return [(li.dst_url, li.anchor, li.kind, li.alt, "nofollow" if li.nofollow else "",
             li.position, li.text_before, li.text_after) for li in links]


def test_served_html_has_every_link_of_the_truth(audit_web: AuditWeb, server: WebServer) -> None:
    for url in html_urls(audit_web):
        status, _, body = fetch(server, "GET", url)
        assert status == 200, url
        assert _served_links(url, body) == _truth_links(audit_web.links(url)), url


def test_the_product_extractor_agrees(audit_web: AuditWeb) -> None:
    """The truth is in the stored form: anchors (image-only links: their alt), and the
    text beside content links when the extractor keeps it."""
    for url in html_urls(audit_web):
        cols = extract_html(url, audit_web.response("GET", url).body,
                            snippet_chars=SNIPPET_CHARS).links
        got = list(zip(cols["dst_url"], cols["anchor"], cols["kind"], cols["alt"],
                       cols["nofollow"], cols["position"], strict=True))
        assert got == [(e.dst_url, e.anchor, e.kind, e.alt, e.nofollow, e.position)
                       for e in audit_web.links(url)], url
        if "text_before" in cols:
            assert list(zip(cols["text_before"], cols["text_after"], strict=True)) == [
                (e.text_before, e.text_after) for e in audit_web.links(url)], url


def test_page_texts_match_html(audit_web: AuditWeb, server: WebServer) -> None:
    for url, text in audit_web.page_texts().items():
        tree = LexborHTMLParser(fetch(server, "GET", url)[2].decode())
        assert tree.css_first("html").attributes["lang"] == text.lang  # type: ignore[union-attr]
        assert tree.css_first("title").text() == text.title, url  # type: ignore[union-attr]
        assert tuple(n.text() for n in tree.css("main h1, main h2")) == text.headings, url
        blocks = [collapse(n.text(deep=True)) for n in tree.css("main p, main li")]
        assert blocks == [*text.paragraphs, *text.link_texts], url
        assert audit_web.pages()[url].title == text.title


# ---------------------------------------------------------------- what the truth says


def _norm(text: str) -> str:
    text = "".join(c for c in unicodedata.normalize("NFKD", text.lower())
                   if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


_GENERIC = {_norm(g) for g in ("click here", "read more", "hier klicken", "weiterlesen",
                               "mehr erfahren", "cliquez ici", "en savoir plus",
                               "haz clic aquí", "leer más", "sitio web")}


def _classify(link: AuditLink) -> str:
    """An independent reading of the rules in synthweb.audit_truth's docstring."""
    domain = link.dst_domain
    brands = [domain.split(".")[0], *(BRANDS if domain == ACME else ())]
    anchor = _norm(link.anchor)
    bare = re.sub(r"^(https?://)?(www\.)?", "", link.anchor.lower()).split("/")[0]
    if link.kind == "img":
        return "image"
    if not anchor:
        return "empty"
    if bare == domain:
        return "naked_url"
    if any(f" {_norm(b)} " in f" {anchor} " for b in brands):
        return "branded"
    keywords = [_norm(k) for k in KEYWORDS]
    if anchor in keywords:
        return "exact"
    if any(set(k.split()) <= set(anchor.split()) for k in keywords):
        return "partial"
    return "generic" if anchor in _GENERIC else "other"


def test_anchor_classes(audit_web: AuditWeb) -> None:
    for link in audit_web.links():
        into = link.external and link.dst_domain in (ACME, GLOBEX)
        assert link.anchor_class == (_classify(link) if into else None), link
    news = [(li.anchor, li.anchor_class, li.nofollow) for li in audit_web.backlinks(ACME)
            if li.src_domain == NEWS]
    assert news == [
        ("Acme Widgets", "branded", False), ("ACME-WIDGETS", "branded", False),
        ("acme-widgets.example", "naked_url", False),
        ("https://acme-widgets.example/blue-widgets", "naked_url", False),
        ("www.acme-widgets.example", "naked_url", False), ("blue widgets", "exact", False),
        ("Blue Widgets!", "exact", False), ("cheap blue widgets online", "partial", True),
        ("widgets in blue", "partial", False), ("click here", "generic", False),
        ("Read more", "generic", False), ("Acme logo", "image", False), ("", "empty", False),
        ("a great resource", "other", True), ("the Acme catalogue", "branded", False)]
    by_lang = Counter((li.src_domain, li.anchor_class) for li in audit_web.backlinks(ACME)
                      if li.src_domain.endswith("-blog.example"))
    assert by_lang == {("werkzeug-blog.example", "generic"): 3,
                       ("outils-blog.example", "generic"): 2,
                       ("herramientas-blog.example", "generic"): 3,
                       ("recipes-blog.example", "other"): 1}
    assert {li.src_domain for li in audit_web.backlinks(GLOBEX)} >= {
        "werkzeug-blog.example", "outils-blog.example", "herramientas-blog.example"}


def test_text_around_content_links_is_distinct(audit_web: AuditWeb) -> None:
    around = [(li.text_before, li.text_after) for li in audit_web.links()
              if li.external and li.position == "content"
              and li.src_domain not in NETWORK_DOMAINS]
    assert len(around) == len(set(around)) > 30
    assert all(b and a and len(b) < 60 and len(a) < 60 for b, a in around)


def test_sitewide_and_homepage(audit_web: AuditWeb, server: WebServer) -> None:
    shares = audit_web.link_shares()
    assert shares[("footer-partner.example", ACME)] == (6, 6)
    assert shares[("half-partner.example", ACME)] == (2, 6)
    assert {pair for pair, (n, total) in shares.items()
            if n == total >= SITEWIDE_MIN_PAGES} == SITEWIDE == audit_web.sitewide()
    for k in ("", "p/1", "p/2", "p/3", "p/4", "p/5"):
        tree = LexborHTMLParser(fetch(server, "GET", f"http://footer-partner.example/{k}")[2])
        assert [(a.attributes["href"], a.text()) for a in tree.css("footer a")] == [
            (f"http://{ACME}/", "Acme Widgets")], k
    home = {li.src_domain for li in audit_web.backlinks(ACME) if li.from_homepage}
    assert home == {NEWS, "footer-partner.example", *NETWORK_DOMAINS}
    assert all(li.from_homepage == li.src_url.endswith(".example/")
               for li in audit_web.links())


def test_network(audit_web: AuditWeb, server: WebServer) -> None:
    profiles = set()
    for domain in NETWORK_DOMAINS:
        for path in ("/", "/p/1", "/p/2"):
            url = f"http://{domain}{path}"
            links = _served_links(url, fetch(server, "GET", url)[2])
            external = frozenset((dst, anchor, rel) for dst, anchor, _, _, rel, *_ in links
                                 if dst is not None and domain not in dst)
            assert len(external) == 35 and not any(rel for _, _, rel in external)
            profiles.add(external)
    assert len(profiles) == 1
    dsts = {dst for dst, _, _ in profiles.pop()}
    assert dsts >= {f"http://{ACME}/blue-widgets", f"http://{GLOBEX}/",
                    *(f"http://{h}/" for h in (*SPAM_TARGETS, *SPAM_HOSTS))}
    addresses = audit_web.addresses()
    ips = [ipaddress.ip_address(addresses[d]) for d in NETWORK_DOMAINS]
    assert len(set(ips)) == 6 and all(ip in ipaddress.ip_network(NETWORK_SUBNET) for ip in ips)


def test_addresses(audit_web: AuditWeb) -> None:
    addresses = audit_web.addresses()
    assert addresses[SHARED_HOSTING[0]] == addresses[SHARED_HOSTING[1]]
    assert set(addresses) >= {*SEED_HOSTS, *(t.url.split("/")[2] for t in DEAD_TARGETS)}
    others = [addresses[h] for h in addresses
              if h not in NETWORK_DOMAINS and h != SHARED_HOSTING[1]]
    nets = [ipaddress.ip_network(f"{ip}/24", strict=False) for ip in others]
    assert all(ipaddress.ip_address(ip).is_loopback for ip in addresses.values())
    assert len(set(nets)) == len(nets) and ipaddress.ip_network(NETWORK_SUBNET) not in nets


def test_seeds_and_expected_crawl(audit_web: AuditWeb) -> None:
    seeds = audit_web.seeds()
    hosts = {s.split("/")[2] for s in seeds}
    assert hosts == set(SEED_HOSTS)
    assert not hosts & {*SPAM_HOSTS, *SPAM_TARGETS, *(t.url.split("/")[2] for t in DEAD_TARGETS)}
    crawl = audit_web.expected_crawl()
    domains = set(hosts)  # every seed host is its own registrable domain
    reached, todo = set(seeds), list(seeds)
    while todo:  # the crawl's closure: every in-scope target, from the seeds
        src = todo.pop()
        for edge in [e for e in crawl.edges if e.src_url == src]:
            if edge.dst_domain in domains and edge.dst_url not in reached:
                reached.add(edge.dst_url)
                todo.append(edge.dst_url)
    assert reached == set(crawl.pages)
    assert all(p.status == 200 and p.is_html_2xx for p in crawl.pages.values())
    assert len(crawl.pages) == 4 + 2 + 5 + 2 * 3 + 6 * 2 + 2 + 3 * 6


def _tfidf(docs: dict[str, str]) -> dict[str, dict[str, float]]:
    tokens = {url: re.findall(r"[a-z]+", text.lower()) for url, text in docs.items()}
    df = Counter(w for words in tokens.values() for w in set(words))
    return {url: {w: c * math.log(len(docs) / df[w]) for w, c in Counter(words).items()}
            for url, words in tokens.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(v * b.get(w, 0.0) for w, v in a.items())
    return dot / (math.sqrt(sum(v * v for v in a.values()))
                  * math.sqrt(sum(v * v for v in b.values())) or 1.0)


def test_topicality_is_visible_in_the_text(audit_web: AuditWeb) -> None:
    texts = {url: t.all_text for url, t in audit_web.page_texts().items() if t.lang == "en"}
    vectors = _tfidf(texts)
    acme: dict[str, float] = Counter()
    for url, vec in vectors.items():
        if ACME in url:
            acme.update(vec)
    score = {domain: max(_cosine(acme, vec) for url, vec in vectors.items() if domain in url)
             for domain in TOPICAL}
    on = min(s for d, s in score.items() if TOPICAL[d])
    off = max(s for d, s in score.items() if not TOPICAL[d])
    assert on > 0.15 and off < 0.05, score
