"""A deterministic synthetic web served by one loopback HTTP proxy, with ground truth.

    web = SyntheticWeb(n_sites=50, pages_per_site=20, seed=0)
    with WebServer(web) as server:      # server.proxy_url == "http://127.0.0.1:PORT"
        ...crawl web.seeds() through server.proxy_url...
    truth = web.expected_crawl()        # .pages and .edges a correct crawl records
"""

from synthweb.server import WebServer, serve_forever
from synthweb.truth import ExpectedCrawl, ExpectedEdge, ExpectedPage, Response
from synthweb.web import SyntheticWeb

__all__ = [
    "ExpectedCrawl",
    "ExpectedEdge",
    "ExpectedPage",
    "Response",
    "SyntheticWeb",
    "WebServer",
    "serve_forever",
]
