"""A deterministic synthetic web served by one loopback HTTP proxy, with ground truth.

    web = SyntheticWeb(n_sites=50, pages_per_site=20, seed=0)
    with WebServer(web) as server:      # server.proxy_url == "http://127.0.0.1:PORT"
        ...crawl web.seeds() through server.proxy_url...
    truth = web.expected_crawl()        # .pages and .edges a correct crawl records

``SyntheticWeb(..., edition=2)`` is the same web later: Related links redrawn and the
pages of ``HISTORY_CASES`` changed (gone, redirected, noindex, ... see synthweb.web).
``AuditWeb()`` is a second, small fixed web for the link-audit features (synthweb.audit).
"""

from synthweb.audit import AuditWeb
from synthweb.server import WebServer, serve_forever
from synthweb.truth import ExpectedCrawl, ExpectedEdge, ExpectedPage, Response
from synthweb.web import HISTORY_CASES, HistoryCase, SyntheticWeb

__all__ = [
    "AuditWeb",
    "ExpectedCrawl",
    "ExpectedEdge",
    "ExpectedPage",
    "HISTORY_CASES",
    "HistoryCase",
    "Response",
    "SyntheticWeb",
    "WebServer",
    "serve_forever",
]
