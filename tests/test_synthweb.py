"""The synthetic web: determinism, the loopback proxy server, and its ground truth."""

from __future__ import annotations

import http.client
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import pytest
from clustertools import walk
from selectolax.lexbor import LexborHTMLParser
from w3lib.encoding import html_to_unicode

from core.schema import EDGES
from core.urls import absolutize
from synthweb import ExpectedEdge, SyntheticWeb, WebServer
from synthweb.cases import CASES
from synthweb.cases_markup import LONG_ANCHOR, LONG_TITLE
from synthweb.truth import domain_of, host_of

S0 = "http://site0.example"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def web() -> SyntheticWeb:
    return SyntheticWeb(n_sites=8, pages_per_site=10, seed=3)


@pytest.fixture(scope="module")
def server(web: SyntheticWeb):
    with WebServer(web, access_log=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def crawl(web: SyntheticWeb):
    return web.expected_crawl()


def _read(f: BinaryIO, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
    status = int(f.readline().split()[1])
    headers: dict[str, str] = {}
    while (line := f.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = b"" if head_only else f.read(int(headers.get("content-length", "0")))
    return status, headers, body


def _raw(server: WebServer, *requests: str) -> list[tuple[int, dict[str, str], bytes]]:
    """Send requests one after the other on one loopback connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        f = sock.makefile("rb")
        out = []
        for request in requests:
            sock.sendall(request.encode())
            out.append(_read(f, head_only=request.startswith("HEAD")))
        return out


def _edges(web: SyntheticWeb, path: str) -> list[ExpectedEdge]:
    return web.page_links(S0 + path)


# ---------------------------------------------------------------- generator


def test_same_arguments_give_identical_bytes(web: SyntheticWeb) -> None:
    again = SyntheticWeb(n_sites=8, pages_per_site=10, seed=3)
    other = SyntheticWeb(n_sites=8, pages_per_site=10, seed=4)
    urls = [*web.seeds(), f"{S0}/robots.txt", "http://site5.example/p/7",
            *(S0 + path for path in CASES)]
    for url in urls:
        assert web.response("GET", url) == again.response("GET", url), url
    assert any(web.response("GET", u).body != other.response("GET", u).body for u in urls)


def test_hosts_and_seeds(web: SyntheticWeb) -> None:
    assert web.hosts[0] == "site0.example"
    assert {"blog.site1.example", "xn--bcher-kva.example"} <= set(web.hosts)
    assert len(web.hosts) == 10
    assert web.seeds()[0] == "http://site0.example/"
    assert "http://xn--bcher-kva.example/" in web.seeds()


def test_filler_and_links_per_page() -> None:
    big = SyntheticWeb(n_sites=5, pages_per_site=8, links_per_page=75, filler_bytes=40_000)
    page = big.page("http://site2.example/p/3")
    assert 38_000 < len(page.response.body) < 50_000
    assert page.facts.n_links == 75 + 1  # plus the canonical edge


def test_response_errors(web: SyntheticWeb) -> None:
    assert web.response("GET", "http://nowhere.example/").status == 502
    assert web.response("GET", "http://site0.example:8080/").status == 502
    assert web.response("GET", "http://site3.example/p/999").status == 404
    assert web.response("POST", "http://site3.example/").status == 405
    head = web.response("HEAD", "http://site3.example/")
    assert head.body == b"" and int(head.header("Content-Length") or 0) > 0


# ---------------------------------------------------------------- server


def test_proxy_form_matches_generator(web: SyntheticWeb, server: WebServer) -> None:
    assert server.proxy_url == f"http://127.0.0.1:{server.port}"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    for url in ["http://site3.example/p/2", f"{S0}/case/latin1", f"{S0}/files/notes.txt"]:
        conn.request("GET", url)
        resp = conn.getresponse()
        expected = web.response("GET", url)
        assert resp.status == expected.status
        assert [h for h in resp.getheaders() if h[0] != "Connection"] == expected.headers
        assert resp.read() == expected.body
    conn.close()


def test_origin_form_uses_host_header(web: SyntheticWeb, server: WebServer) -> None:
    [(status, headers, body)] = _raw(
        server, "GET /p/1?x=1 HTTP/1.1\r\nHost: SITE4.example:80\r\n\r\n")
    assert status == 200
    assert body == web.response("GET", "http://site4.example/p/1?x=1").body


def test_robots_redirect_404_502(server: WebServer) -> None:
    robots, moved, missing, gateway = _raw(
        server,
        "GET http://site2.example/robots.txt HTTP/1.1\r\nHost: site2.example\r\n\r\n",
        f"GET {S0}/case/redirect-301 HTTP/1.1\r\nHost: site0.example\r\n\r\n",
        f"GET {S0}/case/missing HTTP/1.1\r\nHost: site0.example\r\n\r\n",
        "GET http://www.wikipedia.org/wiki/X HTTP/1.1\r\nHost: www.wikipedia.org\r\n\r\n",
    )
    assert robots[0] == 200 and robots[2] == b"User-agent: *\nDisallow: /private/\n"
    assert robots[1]["content-type"].startswith("text/plain")
    assert moved[0] == 301 and moved[1]["location"] == f"{S0}/case/redirect-target"
    assert moved[2] == b""
    assert missing[0] == 404
    assert gateway[0] == 502


def test_connect_is_refused(server: WebServer) -> None:
    [(status, headers, _)] = _raw(
        server, "CONNECT www.wikipedia.org:443 HTTP/1.1\r\nHost: www.wikipedia.org:443\r\n\r\n")
    assert status == 405
    assert headers["connection"] == "close"


def test_keep_alive_and_head(web: SyntheticWeb, server: WebServer) -> None:
    request = "{} http://site1.example/p/{} HTTP/1.1\r\nHost: site1.example\r\n\r\n"
    first, head, second = _raw(server, request.format("GET", 1), request.format("HEAD", 2),
                               request.format("GET", 2))
    assert first[1]["connection"] == "keep-alive" and second[1]["connection"] == "keep-alive"
    assert first[2] == web.response("GET", "http://site1.example/p/1").body
    assert head[2] == b"" and head[1]["content-length"] == str(len(second[2]))
    # HTTP/1.0 without keep-alive closes after one response.
    [(status, headers, _)] = _raw(server, "GET http://site1.example/ HTTP/1.0\r\n\r\n")
    assert status == 200 and headers["connection"] == "close"


def test_access_log(server: WebServer) -> None:
    _raw(server, "GET http://site6.example/p/3?q=1 HTTP/1.1\r\nHost: site6.example\r\n\r\n")
    when, host, path, status = server.access_log()[-1]
    assert (host, path, status) == ("site6.example", "/p/3?q=1", 200)
    assert when > 0


def test_start_stop(web: SyntheticWeb) -> None:
    srv = WebServer(web).start()
    port = srv.port
    assert port > 0
    srv.stop()
    srv.stop()  # idempotent
    srv.wait()  # returns at once when stopped
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_module_entry_point() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthweb", "--sites", "5", "--pages", "8", "--port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        conn = http.client.HTTPConnection("127.0.0.1", int(url.rpartition(":")[2]), timeout=5)
        conn.request("GET", "http://site4.example/")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---------------------------------------------------------------- expected crawl


def test_expected_crawl_rules(web: SyntheticWeb, crawl) -> None:
    pages = crawl.pages
    assert not [u for u in pages if "/hidden/" in u]  # only linked from meta-nofollow pages
    # robots.txt: every /private/ URL reached is a row, never fetched, with no edges
    private = {u for u in pages if "/private/" in u}
    assert private == crawl.disallowed and f"{S0}/private/login" in private
    assert {u for u, p in pages.items() if not p.fetched} == private
    for url in private:
        facts = pages[url]
        assert (facts.status, facts.error, facts.error_kind) == (
            None, "robots: disallowed by robots.txt", "robots")
        assert set(facts.row().values()) == {url, host_of(url), domain_of(host_of(url)), None,
                                             facts.error}
        assert facts.row()["status"] is None and facts.row()["n_links"] is None
    assert not [e for e in crawl.edges if e.src_url in private]
    assert f"{S0}/private" in crawl.fetched  # "Disallow: /private/" does not cover /private
    assert pages[f"{S0}/private"].error is None
    assert pages[f"{S0}/case/loop-a"].redirect_to == f"{S0}/case/loop-b"
    assert pages[f"{S0}/case/loop-b"].redirect_to == f"{S0}/case/loop-a"
    assert pages[f"{S0}/case/chain-end"].status == 200
    assert f"{S0}/case/after-noindex" in pages  # noindex still follows
    assert f"{S0}/case/canonical-target" in pages  # canonical edges are followed
    assert not [u for u in pages if "unknown-host" in u or "wikipedia" in u]
    assert all(web.robots_allowed(u) == p.fetched for u, p in pages.items())
    assert all(p.error is None for p in crawl.fetched.values())
    for edge in crawl.edges:
        src = pages[edge.src_url]
        assert src.is_html_2xx or (edge.kind == "redirect" and 300 <= (src.status or 0) < 400)
    for host in web.hosts:  # every regular page is reached
        assert f"http://{host}/p/{web.pages_per_site - 1}" in pages
    edge_keys = {(e.src_url, e.ordinal) for e in crawl.edges}
    assert len(edge_keys) == len(crawl.edges)
    assert sum(p.n_links for p in pages.values()) == len(crawl.edges)
    # a disallowed URL is reached like any other: linked from a page followed, or the
    # target of a redirect
    linked = {e.dst_url for e in crawl.edges if e.kind == "redirect" or (
        pages[e.src_url].is_html_2xx and not pages[e.src_url].meta_nofollow)}
    assert crawl.disallowed <= linked
    assert f"{S0}/private/from-redirect" in crawl.disallowed


def test_expected_crawl_agrees_with_the_cluster_walk(web: SyntheticWeb, crawl) -> None:
    """tests/clustertools.walk works out fetched and disallowed pages on its own."""
    found = walk(web, web.seeds())
    assert found.fetched == set(crawl.fetched) and found.disallowed == crawl.disallowed
    assert found.disallowed and not found.skipped


def test_expected_crawl_scopes(web: SyntheticWeb) -> None:
    one = web.expected_crawl(["http://site5.example/"])
    assert {u.split("/")[2] for u in one.pages} == {"site5.example"}
    blog = web.expected_crawl(["http://site1.example/"])
    assert "http://blog.site1.example/" in blog.pages  # same registrable domain
    assert {u.split("/")[2] for u in one.disallowed} == {"site5.example"}
    anything = web.expected_crawl(["http://site5.example/"], scope="any")
    assert {u.split("/")[2] for u in anything.disallowed} == set(web.hosts)
    assert f"http://site{web.n_sites - 1}.example/p/0" in anything.pages  # all reachable
    assert anything.pages["http://unknown-host.example/"].status == 502
    assert anything.pages["https://www.wikipedia.org/wiki/X"].status is None  # CONNECT refused


def test_edge_rows(web: SyntheticWeb) -> None:
    [edge] = _edges(web, "/case/redirect-308")
    row = edge.row()
    # the text around links is kept only by crawls with --snippets (tests/test_link_audit.py)
    assert set(row) == {f.name for f in EDGES} - {"crawl_id", "fetched_at", "text_before",
                                                  "text_after"}
    assert row["kind"] == "redirect" and row["ordinal"] == 0 and row["position"] is None
    assert row["dst_domain"] == "site1.example" and row["external"] is True
    [_, blog_home, _] = _edges(web, "/case/subdomain")
    assert blog_home.dst_host == "blog.site1.example" and blog_home.dst_domain == "site1.example"


def test_truth_hosts_and_domains_are_the_literal_ones(web: SyntheticWeb) -> None:
    """The oracle's hosts and domains (computed without core/) are what a reader expects."""
    everything = web.expected_crawl(scope="any")
    got = {(e.dst_host, e.dst_domain) for e in everything.edges}
    got |= {(e.src_host, e.src_domain) for e in everything.edges}
    got |= {(p.row()["host"], p.row()["domain"]) for p in everything.pages.values()}
    assert got == {
        *((f"site{k}.example", f"site{k}.example") for k in range(web.n_sites)),
        ("blog.site1.example", "site1.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("formula.example", "formula.example"),
        ("unknown-host.example", "unknown-host.example"),
        ("www.example.org", "example.org"),
        ("www.wikipedia.org", "wikipedia.org"),
        ("de.wikipedia.org", "wikipedia.org"),
    }
    # forms the synthetic web does not serve, so the helpers hold beyond it
    urls = ("http://127.0.0.1:8080/", "http://[::1]/", "http://bücher.example/",
            "http://user@a.example./x")
    assert [host_of(u) for u in urls] == [
        "127.0.0.1", "[::1]", "xn--bcher-kva.example", "a.example"]
    assert [domain_of(h) for h in ("127.0.0.1", "[::1]", "localhost", "co.uk", "a.b.co.uk",
                                   "x.blogspot.com", "a.b.intranet.corp")] == [
        "127.0.0.1", "[::1]", "localhost", "co.uk", "b.co.uk", "blogspot.com", "intranet.corp"]


def test_hand_written_targets_agree_with_absolutize(web: SyntheticWeb, crawl) -> None:
    checked = 0
    for url in crawl.fetched:
        for href, base, dst in web.page(url).hrefs:
            assert absolutize(href, base) == dst, (url, href)
            checked += 1
    assert checked > 1000


# ---------------------------------------------------------------- special cases


def _find(edges: list[ExpectedEdge], **want: object) -> ExpectedEdge:
    hits = [e for e in edges if all(getattr(e, k) == v for k, v in want.items())]
    assert hits, want
    return hits[0]


def test_layout_positions_on_regular_pages(web: SyntheticWeb) -> None:
    edges = web.page_links("http://site2.example/p/4")
    assert {e.position for e in edges} == {None, "header", "nav", "content", "aside", "footer"}
    assert _find(edges, position="header").kind == "img"
    assert edges[0].kind == "canonical" and edges[0].ordinal == 0


def test_case_rel_and_positions(web: SyntheticWeb) -> None:
    rel = _edges(web, "/case/rel")
    flags = [(e.nofollow, e.ugc, e.sponsored) for e in rel]
    assert flags == [(True, False, False), (True, True, False), (False, False, True),
                     (False, False, False), (True, True, True), (False, False, False)]
    got = {e.anchor: e.position for e in _edges(web, "/case/positions")}
    assert got["Role navigation"] == "nav" and got["Role contentinfo"] == "footer"
    assert got["Class site-footer"] == "footer" and got["Id sidebar"] == "aside"
    assert got["Nav in footer"] == "nav" and got["Decoy canvas"] == "content"
    assert set(got.values()) == {"header", "nav", "content", "aside", "footer"}


def test_case_images_and_area(web: SyntheticWeb) -> None:
    images = _edges(web, "/case/images")
    assert _find(images, anchor="Red bicycle").alt == "Red bicycle"
    assert [(e.anchor, e.alt) for e in images[1:3]] == [("", ""), ("", None)]
    assert _find(images, anchor="Read the story").alt == "Logo"
    area = _edges(web, "/case/area")
    assert {e.kind for e in area} == {"area"}
    assert _find(area, anchor="South region").alt == "South region"
    assert _find(area, alt=None).anchor == ""
    assert _find(area, anchor="Paid region").sponsored
    assert _find(area, anchor="Footer area").position == "footer"


def test_case_urls(web: SyntheticWeb) -> None:
    base_dir = _edges(web, "/case/base-dir")
    assert base_dir[0].kind == "canonical" and base_dir[0].dst_url == f"{S0}/case/base-dir"
    assert _find(base_dir, anchor="Page four via base").dst_url == f"{S0}/p/4"
    assert _find(_edges(web, "/case/base-host"), anchor="Relative to the other host").dst_url \
        == "http://site3.example/p/2"
    rel = {e.anchor: e.dst_url for e in _edges(web, "/case/relative")}
    assert rel["Upper case, default port"] == "http://site2.example/p/1"
    assert rel["Protocol-relative"] == "http://site3.example/p/1"
    assert rel["With fragment"] == f"{S0}/p/1" and "Top" not in rel
    assert web.page_facts(f"{S0}/case/relative").n_skipped_links == 1
    ws = _edges(web, "/case/whitespace")
    assert ws[0].dst_url == f"{S0}/p/1?a=1&b=2" and ws[0].anchor == "Fish & chips and peas"
    assert web.page_facts(f"{S0}/case/whitespace").title == "Whitespace, entities & more"
    dup = _edges(web, "/case/duplicate")
    assert {(e.dst_url, e.anchor) for e in dup} == {(f"{S0}/p/1", "Pricing")}
    assert [e.position for e in dup[:2]] == ["nav", "content"]


def test_case_skipped_and_not_links(web: SyntheticWeb) -> None:
    facts = web.page_facts(f"{S0}/case/skipped")
    assert facts.n_skipped_links == 15 and facts.n_links == 1
    body = web.response("GET", f"{S0}/case/skipped").body
    for scheme in (b"javascript:", b"mailto:", b"tel:", b"data:", b'href="#top"'):
        assert scheme in body
    assert web.page_facts(f"{S0}/case/not-links").n_links == 1


def test_case_redirects_and_statuses(web: SyntheticWeb) -> None:
    for path, status in [("/case/redirect-301", 301), ("/case/redirect-302", 302),
                         ("/case/chain-1", 301), ("/case/chain-2", 307), ("/case/loop-a", 302)]:
        facts = web.page_facts(S0 + path)
        [edge] = _edges(web, path)
        assert facts.status == status and facts.redirect_to == edge.dst_url
        assert (edge.kind, edge.ordinal, edge.anchor, edge.position) == ("redirect", 0, "", None)
    assert web.page_facts(f"{S0}/case/missing").status == 404
    assert web.page_facts(f"{S0}/case/error").status == 500
    assert _edges(web, "/case/error") == [] and _edges(web, "/case/missing") == []


def test_case_content_types_and_charsets(web: SyntheticWeb) -> None:
    pdf = web.page_facts(f"{S0}/files/annual%20report.pdf")
    assert (pdf.content_type, pdf.n_links) == ("application/pdf", 0)
    assert web.page_facts(f"{S0}/files/notes.txt").content_type == "text/plain"
    assert web.page_facts(f"{S0}/case/xhtml").content_type == "application/xhtml+xml"
    latin = web.response("GET", f"{S0}/case/latin1")
    assert latin.header("Content-Type") == "text/html; charset=iso-8859-1"
    assert "Café crème".encode("latin-1") in latin.body
    assert _find(_edges(web, "/case/latin1"), anchor="Café crème")
    cp = web.response("GET", f"{S0}/case/cp1252")
    assert cp.header("Content-Type") == "text/html" and b'charset="windows-1252"' in cp.body
    assert _find(_edges(web, "/case/cp1252"), anchor="Prix : 5 €")
    no_lang = web.page_facts(f"{S0}/case/no-lang")
    assert (no_lang.title, no_lang.lang) == (None, None)


def test_case_robots_meta_and_canonical(web: SyntheticWeb) -> None:
    assert web.page_facts(f"{S0}/case/meta-nofollow").meta_nofollow
    assert _find(_edges(web, "/case/meta-nofollow"), dst_url=f"{S0}/hidden/1")
    none = web.page_facts(f"{S0}/case/meta-none")
    assert none.meta_noindex and none.meta_nofollow
    noindex = web.page_facts(f"{S0}/case/meta-noindex")
    assert noindex.meta_noindex and not noindex.meta_nofollow
    assert web.page_facts(f"{S0}/case/x-robots").meta_nofollow
    assert web.response("GET", f"{S0}/case/x-robots").header("X-Robots-Tag") == "nofollow"
    assert any(e.dst_url.startswith(f"{S0}/private/") for e in _edges(web, "/case/robots"))
    for path in ("/case/canonical", "/case/canonical-late"):
        edges = _edges(web, path)
        assert edges[0].kind == "canonical" and edges[0].dst_url == f"{S0}/case/canonical-target"
        assert web.page_facts(S0 + path).canonical == edges[0].dst_url
        assert [e.kind for e in edges].count("canonical") == 1


def test_case_hosts(web: SyntheticWeb) -> None:
    idn = _edges(web, "/case/idn")
    assert {e.dst_host for e in idn} == {"xn--bcher-kva.example"}
    assert "http://bücher.example/".encode() in web.response("GET", f"{S0}/case/idn").body
    external = _edges(web, "/case/external")
    assert _find(external, dst_url="https://www.wikipedia.org/wiki/X").external
    assert _find(external, dst_url="http://unknown-host.example/")
    assert not _find(_edges(web, "/case/subdomain"), anchor="Team blog").dst_url.startswith(S0)


def test_case_long_text(web: SyntheticWeb) -> None:
    # The caps must not fall on a space, or "cap then trim" and "trim then cap" differ.
    assert " " not in (LONG_TITLE[511], LONG_ANCHOR[255])
    assert len(LONG_TITLE) > 512 and len(LONG_ANCHOR) > 256
    assert web.page_facts(f"{S0}/case/long-text").title == LONG_TITLE[:512]
    assert _edges(web, "/case/long-text")[0].anchor == LONG_ANCHOR[:256]


# ---------------------------------------------------------------- HTML agrees with truth

_TAGS = {"nav": "nav", "header": "header", "footer": "footer", "aside": "aside",
         "main": "content", "article": "content"}
_ROLES = {"navigation": "nav", "banner": "header", "contentinfo": "footer",
          "complementary": "aside", "main": "content"}
_TOKENS = {"nav": "nav", "navbar": "nav", "navigation": "nav", "menu": "nav",
           "breadcrumb": "nav", "breadcrumbs": "nav", "header": "header",
           "masthead": "header", "footer": "footer", "sidebar": "aside"}


def _position(node) -> str:
    node = node.parent
    while node is not None and node.tag != "html":
        attrs = node.attributes
        tokens = re.split(r"[\s_-]+", f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower())
        found = (_TAGS.get(node.tag) or _ROLES.get((attrs.get("role") or "").strip().lower())
                 or next((_TOKENS[t] for t in tokens if t in _TOKENS), None))
        if found:
            return found
        node = node.parent
    return "content"


def _reference_extract(url: str, content_type: str, body: bytes) -> tuple[list, int]:
    """A minimal, independent reading of docs/extraction.md, so an edit to a case that
    breaks the agreement between its markup and its stated truth fails here."""
    tree = LexborHTMLParser(html_to_unicode(content_type, body)[1])

    def text(value: str | None) -> str | None:
        return None if value is None else " ".join(value.split())

    base = next((absolutize(b.attributes["href"] or "", url) for b in tree.css("base")
                 if "href" in b.attributes), None) or url
    canonical = next((l.attributes.get("href") for l in tree.css("link")  # noqa: E741
                      if l.attributes.get("rel") == "canonical"), None)
    edges = [(absolutize(canonical, base), "", "canonical", None, (), None)] if canonical else []
    skipped = 0
    for node in tree.css("a, area"):
        if "href" not in node.attributes:
            continue
        dst = absolutize(node.attributes["href"] or "", base)
        if dst is None:
            skipped += 1
            continue
        img = node.css_first("img") if node.tag == "a" else node
        alt = text(img.attributes.get("alt")) if img is not None else None
        kind = "area" if node.tag == "area" else "img" if img is not None else "a"
        anchor = ("" if kind == "area" else text(node.text(deep=True))) or alt or ""
        rel = tuple(sorted(set((node.attributes.get("rel") or "").lower().split())
                           & {"nofollow", "ugc", "sponsored"}))
        edges.append((dst, anchor[:256], kind, alt, rel, _position(node)))
    return edges, skipped


def test_markup_agrees_with_stated_truth(web: SyntheticWeb, crawl) -> None:
    for url, facts in crawl.pages.items():
        if not facts.is_html_2xx:
            continue
        response = web.response("GET", url)
        edges, skipped = _reference_extract(url, response.header("Content-Type") or "",
                                            response.body)
        want = [(e.dst_url, e.anchor, e.kind, e.alt,
                 tuple(f for f in ("nofollow", "sponsored", "ugc") if getattr(e, f)), e.position)
                for e in web.page_links(url)]
        assert edges == want, url
        assert skipped == facts.n_skipped_links, url
