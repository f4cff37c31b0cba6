"""Hostile markup: every case is a whole 200 text/html response (also imported as WARC).

Links that test nothing about resolution point out of scope (OUT), so the crawl stores
them and goes no further; relative ones resolve on the case's own host and their targets
are leaves (corpus.with_leaves).
"""

from __future__ import annotations

from synthweb.hostile.corpus import ANY, OUT, Case, Expect, Link, a, case_url, whole
from synthweb.hostile.steps import http, page

NEST = 100_000  # the nesting depth
MANY_LINKS = 100_000
MANY_ATTRIBUTES = 20_000
TITLE_CAP, ANCHOR_CAP = 512, 256  # docs/extraction.md


def _html(case_id: str, what: str, body: str, links: tuple[Link, ...] | None, *,
          head_html: str = "", title: str | None = None, skipped: object = ANY,
          expect_title: object = None, **expect: object) -> Case:
    """A case that is one page: <title>case_id</title> (or `title`) and `body`."""
    shown = case_id if title is None else title
    data = whole(lambda: http(page(shown, body, head_html=head_html)))
    return Case(case_id, "markup", what, case_url(case_id), data,
                Expect(title=case_id if expect_title is None else expect_title,
                       links=links, n_skipped_links=skipped, **expect),  # type: ignore[arg-type]
                warc=True)


def cases() -> list[Case]:
    u = case_url
    out = [
        # ---- the named cases ----------------------------------------------------
        _html("svg-link", "SVG <a xlink:href> (raised KeyError 'href' in the extractor)",
              '<svg><a xlink:href="/x">y</a></svg>\n<p><a href="/ok">ok</a></p>',
              (a(u("svg-link", "/x")), a(u("svg-link", "/ok")))),
        _html("svg-href", "SVG 2 <a href> inside <svg>",
              '<svg><a href="/svg2"><text>z</text></a></svg>', (a(u("svg-href", "/svg2")),)),
        Case("deep-nesting", "markup",
             f"{NEST:,} nested <div> around a link (lexbor parse time grows with depth²)",
             u("deep-nesting"),
             whole(lambda: http(page("deep-nesting", (
                 f'<a href="{OUT}/before">before</a>' + "<div>" * NEST
                 + f'<a href="{OUT}/inside">inside</a>' + "</div>" * NEST
                 + f'<a href="{OUT}/after">after</a>')))),
             Expect(error=ANY, title="deep-nesting", links=None,
                    links_at_least=(a(f"{OUT}/before"),)),
             warc=True),
        _html("links-100k", f"{MANY_LINKS:,} links on one page (out of scope)",
              "\n".join(f'<a href="http://far.example/{i}">{i}</a>' for i in range(MANY_LINKS)),
              tuple(a(f"http://far.example/{i}") for i in range(MANY_LINKS))),
        # ---- malformed and truncated ----------------------------------------------------
        _html("unclosed-tags", "anchors never closed, stray end tags: the parser reopens the "
              "open anchor in the next block (a second u2 link, as in a browser's DOM)",
              f'<p><a href="{OUT}/u1">one <a href="{OUT}/u2">two</b></i></table><div>',
              (a(f"{OUT}/u1"), a(f"{OUT}/u2"), a(f"{OUT}/u2"))),
        _html("garbage-markup", "angle-bracket soup, bogus tags and attributes around links",
              f"<<<>>> <a <a href='{OUT}/g1'>g1</a> <ahref='{OUT}/no'>no</a> </ <=> "
              f'<a href={OUT}/g2 href="{OUT}/second-href-ignored">g2</a><?pi?><!x>',
              (a(f"{OUT}/g1"), a(f"{OUT}/g2"))),
        Case("truncated-mid-tag", "markup", "body ends inside a start tag",
             u("truncated-mid-tag"),
             whole(lambda: http(
                 b'<!DOCTYPE html><title>truncated-mid-tag</title>'
                 + f'<a href="{OUT}/t1">ok</a><a hre'.encode())),
             Expect(title="truncated-mid-tag", links=(a(f"{OUT}/t1"),)), warc=True),
        Case("truncated-mid-attr", "markup", "body ends inside a quoted href",
             u("truncated-mid-attr"),
             whole(lambda: http(
                 b'<!DOCTYPE html><title>truncated-mid-attr</title>'
                 + f'<a href="{OUT}/t0">ok</a><a href="{OUT}/t2'.encode())),
             Expect(title="truncated-mid-attr", links=(a(f"{OUT}/t0"),)), warc=True),
        Case("truncated-mid-anchor", "markup", "body ends inside an anchor's text",
             u("truncated-mid-anchor"),
             whole(lambda: http(
                 b'<!DOCTYPE html><title>truncated-mid-anchor</title>'
                 + f'<a href="{OUT}/t3">text that never'.encode())),
             Expect(title="truncated-mid-anchor", links=(a(f"{OUT}/t3"),)), warc=True),
        Case("no-skeleton", "markup", "no doctype, html, head or body: a bare anchor",
             u("no-skeleton"),
             whole(lambda: http(f'<a href="{OUT}/bare">bare</a>'.encode())),
             Expect(title=None, links=(a(f"{OUT}/bare"),)), warc=True),
        _html("nested-anchors", "<a> inside <a> (the parser closes the first)",
              f'<a href="{OUT}/o1">outer <a href="{OUT}/o2">inner</a> tail</a>',
              (a(f"{OUT}/o1"), a(f"{OUT}/o2"))),
        _html("foster-parented", "an anchor misplaced in a <table> (foster-parented)",
              f'<table><a href="{OUT}/f1">f</a><tr><td><a href="{OUT}/f2">c</a></td></tr>'
              "</table>", (a(f"{OUT}/f1"), a(f"{OUT}/f2"))),
        _html("comments", "links in comments, and a comment never closed",
              f'<!-- <a href="{OUT}/c1">c1</a> --><a href="{OUT}/c2">c2</a>'
              f'<!--> <a href="{OUT}/c3">c3</a> <!-- <a href="{OUT}/c4">never closed',
              (a(f"{OUT}/c2"), a(f"{OUT}/c3"))),
        _html("raw-text", "anchors as text in <script>, <style>, <textarea>, <xmp>",
              f'<script>document.write(\'<a href="{OUT}/s1">s</a>\')</script>'
              f'<style>/* <a href="{OUT}/s2"> */</style>'
              f'<textarea><a href="{OUT}/s3">t</a></textarea><xmp><a href="{OUT}/s4"></xmp>'
              f'<a href="{OUT}/s5">real</a>', (a(f"{OUT}/s5"),)),
        _html("template", "a link inside <template> (inert content, not in the document)",
              f'<template><a href="{OUT}/tpl">tpl</a></template><a href="{OUT}/doc">doc</a>',
              (a(f"{OUT}/doc"),)),
        Case("nul-chars", "markup", "NUL bytes in text, title and href", u("nul-chars"),
             whole(lambda: http(
                 b'<!DOCTYPE html><title>nul\x00title</title><p>a\x00b</p>'
                 + f'<a href="{OUT}/n\x00ul">x\x00y</a>'.encode())),
             Expect(title="nul\ufffdtitle", links=(a(f"{OUT}/n%EF%BF%BDul"),)), warc=True),
        _html("control-chars", "C0 controls and DEL inside an href and its anchor",
              f'<a href="{OUT}/c\x01t\x7fl">A\x01B</a>', (a(f"{OUT}/c%01t%7Fl"),)),
        _html("tab-newline-href", "tabs and newlines inside an href (removed, as browsers do)",
              f'<a href="{OUT}/a\tb\nc\r">t</a>', (a(f"{OUT}/abc"),)),
        _html("leading-c0-href", "C0 controls and spaces around a relative href",
              '<a href="\x01 /lead \x02">x</a>', (a(u("leading-c0-href", "/lead")),)),
        _html("skipped-schemes", "javascript: (cased, split by a tab, entity-encoded), mailto:,"
              " data:, tel:, vbscript: hrefs: counted, not stored",
              '<a href="javascript:alert(1)">1</a><a href="JaVaScRiPt:alert(2)">2</a>'
              '<a href="java\tscript:alert(3)">3</a><a href="&#106;avascript:alert(4)">4</a>'
              '<a href="  javascript:alert(5)">5</a><a href="mailto:x@example.com">6</a>'
              '<a href="data:text/html,<a>">7</a><a href="tel:+1">8</a>'
              '<a href="vbscript:msgbox">9</a><a href="#top">10</a><a href="">11</a>'
              '<a href="&#x68;ttp://elsewhere.example/ent">ok</a>',
              (a(f"{OUT}/ent"),), skipped=11),
        _html("url-64kb", "a 64 KB href (over the 4,096-character URL cap): skipped",
              f'<a href="/long?q={"a" * 65536}">long</a><a href="{OUT}/short">short</a>',
              (a(f"{OUT}/short"),), skipped=1),
        _html("url-4000", "a 4,000-character URL (under the 4,096 cap): stored, and its "
              "target fetched (a row)",
              f'<a href="/{"b" * 3960}">long but fine</a>',
              (a(u("url-4000", "/" + "b" * 3960)),), skipped=0),
        _html("huge-anchor", "a 1 MiB anchor text (capped)",
              f'<a href="{OUT}/anchor">{"word " * 200_000}</a>', (a(f"{OUT}/anchor"),)),
        Case("huge-title", "markup", "a 1 MiB title (capped at 512 characters)",
             u("huge-title"), whole(lambda: http(page("t" * (1 << 20), "<p>x</p>"))),
             Expect(title="t" * TITLE_CAP), warc=True),
        _html("huge-attribute", "a 4 MiB attribute on a link",
              f'<a title="{"x" * (4 << 20)}" href="{OUT}/attr">attr</a>', (a(f"{OUT}/attr"),)),
        _html("many-attributes", f"{MANY_ATTRIBUTES:,} attributes on one link (lexbor's "
              "time grows with their square: 100,000 took 26-56 s)",
              "<a " + " ".join(f"d{i}=v" for i in range(MANY_ATTRIBUTES))
              + f' href="{OUT}/many">m</a>', (a(f"{OUT}/many"),)),
        _html("duplicate-links", "the same link three times: three edges",
              f'<a href="{OUT}/dup">d</a>' * 3, (a(f"{OUT}/dup"),) * 3),
        # ---- <base href> tricks ----------------------------------------------------------
        _html("base-other-host", "<base href> on another host: relative links go there",
              '<a href="x">x</a>', (a(case_url("base-target", "/dir/x")),),
              head_html=f'<base href="{case_url("base-target", "/dir/")}">'),
        _html("base-javascript", "<base href=javascript:…> is ignored",
              '<a href="y">y</a>', (a(u("base-javascript", "/y")),),
              head_html='<base href="javascript:alert(1)//">'),
        _html("base-two", "two <base> elements: the first counts",
              '<a href="z">z</a>', (a(u("base-two", "/first/z")),),
              head_html='<base href="/first/"><base href="/second/">'),
        _html("base-relative", "a relative <base href> climbing above the root",
              '<a href="w">w</a>', (a(u("base-relative", "/up/w")),),
              head_html='<base href="../../../up/">'),
        _html("base-after-links", "<base> at the end of the body applies to earlier links",
              f'<a href="v">v</a><base href="{OUT}/late/">', (a(f"{OUT}/late/v"),)),
        _html("base-data", "<base href=data:…> is ignored",
              '<a href="d">d</a>', (a(u("base-data", "/d")),),
              head_html='<base href="data:text/html,hi">'),
        _html("base-protocol-relative", "<base href=//other-host/> (out of scope)",
              '<a href="p">p</a>', (a("http://evil.example/p"),),
              head_html='<base href="//evil.example/">'),
        _html("base-empty", "an empty <base href> is the page itself",
              '<a href="e">e</a>', (a(u("base-empty", "/e")),), head_html='<base href="">'),
        _html("base-64kb", "a 64 KB <base href> (unusable) is ignored",
              '<a href="k">k</a>', (a(u("base-64kb", "/k")),),
              head_html=f'<base href="/{"k" * 65536}/">'),
        # ---- meta refresh and canonical ---------------------------------------------------
        _html("meta-refresh", "meta refresh to a relative URL: a link of kind refresh",
              "<p>moving</p>", ((u("meta-refresh", "/refreshed"), "refresh"),),
              head_html='<meta http-equiv="refresh" content="0; url=/refreshed">'),
        _html("meta-refresh-quoted", "meta refresh, quoted absolute URL, odd spacing and case",
              "<p>moving</p>", ((f"{OUT}/r", "refresh"),),
              head_html=f"<meta http-equiv=\"Refresh\" content=\"5 ;URL = '{OUT}/r'\">"),
        _html("meta-refresh-javascript", "meta refresh to javascript: (skipped)",
              "<p>x</p>", (), head_html='<meta http-equiv="refresh" content="0;url=javascript:'
              'alert(1)">'),
        _html("meta-refresh-no-url", "meta refresh without a URL (reloads itself: no link)",
              "<p>x</p>", (), head_html='<meta http-equiv="refresh" content="30">'),
        _html("canonical-tricks", "canonical to javascript: then a second canonical; only "
              "the first counts (skipped)", "<p>x</p>", (), skipped=1,
              head_html=f'<link rel="canonical" href="javascript:x">'
                        f'<link rel="canonical" href="{OUT}/second">'),
        _html("canonical-other-host", "canonical to another domain",
              "<p>x</p>", ((f"{OUT}/canon", "canonical"),),
              head_html=f'<link rel="CANONICAL stylesheet" href="{OUT}/canon">'),
        # ---- the CSV export case of the issue --------------------------------------------
        _html("csv-formula", "anchors that are spreadsheet formulas (export must neutralise)",
              '<a href="http://csv.example/1"> =1+1</a>'
              '<a href="http://csv.example/2">\u200b=2+2</a>'
              '<a href="http://csv.example/3">\uff1d3+3</a>'
              '<a href="http://csv.example/4">@SUM(A1)</a>'
              '<a href="http://csv.example/5">\u3000+5</a>',
              tuple(a(f"http://csv.example/{i}") for i in range(1, 6))),
        # ---- bodies that are not much of a page ------------------------------------------
        Case("empty-body", "markup", "200 text/html with an empty body", u("empty-body"),
             whole(lambda: http(b"")), Expect(title=None), warc=True),
        Case("whitespace-body", "markup", "200 text/html of whitespace only",
             u("whitespace-body"), whole(lambda: http(b" \r\n\t" * 1000)),
             Expect(title=None), warc=True),
        Case("binary-body", "markup", "200 text/html that is random binary",
             u("binary-body"),
             whole(lambda: http(bytes((i * 7919 + 13) % 251 for i in range(65536)))),
             Expect(title=None), warc=True),
    ]
    return out
