"""`linkindex` with test-only failures, as a script: python tests/crawl_patched.py crawl …

Environment (each optional):
    LINKINDEX_TEST_FAIL     page extraction raises KeyError('href') for every URL
                            containing this text (as the extractor once did on
                            <svg><a xlink:href=…>): a failure the crawl must survive
    LINKINDEX_TEST_HOSTS    "name=address,…": what socket.getaddrinfo answers for these
                            names (offline, a name can then "resolve" to a public address)
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

from crawler.spiders import links
from linkindex.cli import main

ERROR = KeyError("href")
_page_rows = links.page_rows
_getaddrinfo = socket.getaddrinfo


def page_rows(crawl_id: str, url: str, **kwargs: Any) -> Any:
    if os.environ["LINKINDEX_TEST_FAIL"] in url:
        raise ERROR
    return _page_rows(crawl_id, url, **kwargs)


def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    hosts = dict(pair.split("=", 1) for pair in os.environ["LINKINDEX_TEST_HOSTS"].split(","))
    if host in hosts:
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                 (hosts[host], 0))]
    return _getaddrinfo(host, *args, **kwargs)


if __name__ == "__main__":
    if os.environ.get("LINKINDEX_TEST_FAIL"):
        links.page_rows = page_rows
    if os.environ.get("LINKINDEX_TEST_HOSTS"):
        socket.getaddrinfo = getaddrinfo
    sys.exit(main(sys.argv[1:]))
