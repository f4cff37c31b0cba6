"""Special cases about HTTP and documents: statuses, redirects, robots.txt and meta
robots, canonical links, non-HTML types, charsets, XHTML, missing lang/title."""

from __future__ import annotations

from synthweb.cases import S0, case, end_doc, p_url, simple_page, start_doc
from synthweb.truth import Doc, Page, plain_page, redirect_page


@case("/case/error", "500 response whose HTML body has a link (no edges)")
def error_page(url: str) -> Page:
    """Also edition 2's site4.example/p/1 (synthweb.web.HISTORY_CASES)."""
    body = b'<!DOCTYPE html>\n<h1>Internal Server Error</h1>\n<a href="/p/1">Retry</a>\n'
    return plain_page(url, 500, "text/html; charset=utf-8", body)


@case("/files/annual%20report.pdf", "application/pdf (no edges)", linked=False)
def _pdf(url: str) -> Page:
    body = b"%PDF-1.4\n% see http://site4.example/\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    return plain_page(url, 200, "application/pdf", body)


@case("/files/notes.txt", "text/plain with HTML in it (no edges)", linked=False)
def _txt(url: str) -> Page:
    return plain_page(url, 200, "text/plain; charset=utf-8",
                      b'Notes.\n<a href="http://site4.example/">not a link in text/plain</a>\n')


@case("/case/files", "links to non-HTML responses, one with a space in its path")
def _files(url: str) -> Page:
    return simple_page(url, "Case: files", [
        ("/files/annual report.pdf", f"{S0}/files/annual%20report.pdf", "Annual report (PDF)"),
        ("/files/notes.txt", f"{S0}/files/notes.txt", "Notes (text)"),
    ])


@case("/case/robots", "links into /private/ (robots.txt Disallow: /private/)")
def _robots(url: str) -> Page:
    return simple_page(url, "Case: robots.txt", [
        ("/private/", f"{S0}/private/", "Members"),
        ("/private/admin", f"{S0}/private/admin", "Admin"),
        ("/private/report?id=7", f"{S0}/private/report?id=7", "Report"),
        ("/private", f"{S0}/private", "Not under /private/ (404)"),
        ("http://site2.example/private/x", "http://site2.example/private/x", "Other host"),
        ("http://blog.site1.example/private/draft", "http://blog.site1.example/private/draft",
         "Blog draft"),
    ])


def _robots_case(url: str, title: str, meta: str | None, hidden: list[int],
                 header: str | None = None) -> Page:
    head = f'<meta name="robots" content="{meta}">\n' if meta else ""
    d = start_doc(url, title, head=head)
    tokens = set(" ".join((meta or "", header or "")).replace(",", " ").lower().split())
    d.noindex = bool(tokens & {"noindex", "none"})
    d.nofollow = bool(tokens & {"nofollow", "none"})
    with d.section("<main>\n", "</main>\n", "content"):
        for n in hidden:
            d.a(f"/hidden/{n}", f"{S0}/hidden/{n}", f"Hidden {n}")
        d.a("/p/1", p_url(1), "Page one")
    extra = (("X-Robots-Tag", header),) if header else ()
    return end_doc(d, extra_headers=extra)


@case("/case/meta-nofollow", "meta robots nofollow: its links reach pages only it links to")
def _meta_nofollow(url: str) -> Page:
    return _robots_case(url, "Case: meta nofollow", "nofollow", [1, 2])


@case("/case/meta-none", "meta robots none (= noindex, nofollow)")
def _meta_none(url: str) -> Page:
    return _robots_case(url, "Case: meta none", "none", [3])


@case("/case/x-robots", "X-Robots-Tag: nofollow header")
def _x_robots(url: str) -> Page:
    return _robots_case(url, "Case: X-Robots-Tag", None, [4], header="nofollow")


@case("/case/meta-noindex", "meta robots 'noindex, follow': links are still followed")
def _meta_noindex(url: str) -> Page:
    meta = '<meta name="robots" content="noindex, follow">\n'
    d = start_doc(url, "Case: meta noindex", head=meta)
    d.noindex = True
    d.a("/case/after-noindex", f"{S0}/case/after-noindex", "Only linked from a noindex page")
    return end_doc(d)


@case("/case/after-noindex", "reachable only through the noindex page", linked=False)
def _after_noindex(url: str) -> Page:
    return simple_page(url, "After noindex", [("/", f"{S0}/", "Home")])


@case("/case/canonical", "<link rel=canonical> (relative); a second one is ignored")
def _canonical(url: str) -> Page:
    d = start_doc(url, "Case: canonical", body=False)
    d.canonical("canonical-target", f"{S0}/case/canonical-target")
    d.canonical("/p/1", p_url(1))
    d.raw("</head>\n<body>\n")
    d.a("/p/2", p_url(2), "Page two")
    return end_doc(d)


@case("/case/canonical-late", "canonical after the <a> links still has ordinal 0")
def _canonical_late(url: str) -> Page:
    d = start_doc(url, "Case: late canonical")
    d.a("/p/3", p_url(3), "Page three")
    d.a("/p/4", p_url(4), "Page four")
    d.raw("\n")
    d.canonical(f"{S0}/case/canonical-target", f"{S0}/case/canonical-target")
    return end_doc(d)


@case("/case/canonical-target", "target of the canonical links", linked=False)
def _canonical_target(url: str) -> Page:
    return simple_page(url, "Canonical target", [("/", f"{S0}/", "Home")])


@case("/case/latin1", "text/html; charset=iso-8859-1 body with non-ASCII anchors and title")
def _latin1(url: str) -> Page:
    d = start_doc(url, "Crème brûlée à la française", lang="fr", charset="")
    d.a("/p/1", p_url(1), "Café crème")
    d.a("/p/2", p_url(2), "Très bien, garçon")
    d.a("/p/3", p_url(3), '<img src="/img/facade.jpg" alt="Façade">', "Façade", kind="img",
        alt="Façade")
    return end_doc(d, content_type="text/html; charset=iso-8859-1", encoding="latin-1")


@case("/case/cp1252", '<meta charset="windows-1252">, no HTTP charset')
def _cp1252(url: str) -> Page:
    d = start_doc(url, "Crédit – 2024", lang="fr", charset='<meta charset="windows-1252">')
    d.a("/p/1", p_url(1), "Prix : 5 €")
    d.a("/p/2", p_url(2), "“Guillemets” anglais")
    d.a("/p/3", p_url(3), "Œuvre complète")
    return end_doc(d, content_type="text/html", encoding="cp1252")


@case("/case/xhtml", "application/xhtml+xml is HTML")
def _xhtml(url: str) -> Page:
    d = Doc(url)
    d.title, d.lang = "XHTML page", "en"
    d.raw('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
          '<html xmlns="http://www.w3.org/1999/xhtml" lang="en" xml:lang="en">\n'
          "<head><title>XHTML page</title></head>\n<body>\n")
    d.a("/p/1", p_url(1), "XHTML link")
    return end_doc(d, content_type="application/xhtml+xml; charset=utf-8")


@case("/case/no-lang", "no <html lang> and no <title>")
def _no_lang(url: str) -> Page:
    d = start_doc(url, None, lang=None)
    d.a("/p/1", p_url(1), "Untitled link")
    return end_doc(d)


def _redirect(path: str, status: int, location: str, dst: str, what: str,
              linked: bool = True) -> None:
    case(path, what, linked)(lambda url: redirect_page(url, status, location, dst))


_redirect("/case/redirect-301", 301, f"{S0}/case/redirect-target", f"{S0}/case/redirect-target",
          "301 with an absolute Location")
_redirect("/case/redirect-302", 302, "/p/2", p_url(2), "302 with a root-relative Location")
_redirect("/case/redirect-308", 308, "http://site1.example/", "http://site1.example/",
          "308 to another site")
_redirect("/case/chain-1", 301, "/case/chain-2", f"{S0}/case/chain-2",
          "redirect chain, 3 hops (301, 307 relative, 302) to a page")
_redirect("/case/chain-2", 307, "chain-3", f"{S0}/case/chain-3", "chain hop 2", False)
_redirect("/case/chain-3", 302, f"{S0}/case/chain-end", f"{S0}/case/chain-end", "chain hop 3",
          False)
_redirect("/case/loop-a", 302, "/case/loop-b", f"{S0}/case/loop-b", "redirect loop A -> B -> A")
_redirect("/case/loop-b", 302, "/case/loop-a", f"{S0}/case/loop-a", "redirect loop B", False)
_redirect("/case/redirect-private", 302, "/private/from-redirect", f"{S0}/private/from-redirect",
          "redirect into /private/: robots.txt still applies")
_redirect("/case/redirect-external", 301, "https://www.wikipedia.org/wiki/Redirect",
          "https://www.wikipedia.org/wiki/Redirect", "redirect out of scope")


@case("/case/redirect-target", "target of the 301", linked=False)
def _redirect_target(url: str) -> Page:
    return simple_page(url, "Redirect target", [("/", f"{S0}/", "Home")])


@case("/case/chain-end", "end of the redirect chain", linked=False)
def _chain_end(url: str) -> Page:
    return simple_page(url, "Chain end", [("/", f"{S0}/", "Home")])
