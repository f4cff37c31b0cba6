"""Why a request came to nothing, in one short line: its kind and what happened.

Every request the crawler gives up on is a pages row whose `error` is
``"<kind>: <what happened>"`` (``dns: …``, ``timeout: …``, ``too large: …``), and each
kind is counted (stats ``linkindex/errors/<kind>``), so that `linkindex crawl` can say
"3 errors (2 DNS failures, 1 timeout)" instead of printing tracebacks. Two kinds are
requests not fetched at all (NOT_FETCHED): ``robots`` (robots.txt disallows it) and
``refused`` (the private-address guard); their slot goes back to the crawl's limits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from twisted.internet import error as tx_error
from twisted.python.failure import Failure

ERROR_MAX_CHARS = 300  # pages.error is one line for people, not a traceback

# kind → how the crawl summary names one and several ("1 DNS failure, 2 timeouts")
LABELS = {
    "http_4xx": ("HTTP 4xx", "HTTP 4xx"),
    "http_5xx": ("HTTP 5xx", "HTTP 5xx"),
    "dns": ("DNS failure", "DNS failures"),
    "connection refused": ("connection refused", "connections refused"),
    "timeout": ("timeout", "timeouts"),
    "tls": ("TLS failure", "TLS failures"),
    "connection": ("broken connection", "broken connections"),
    "proxy": ("proxy failure", "proxy failures"),
    "too large": ("too large", "too large"),
    "extract": ("extraction failure", "extraction failures"),
    "other": ("other failure", "other failures"),
    "robots": ("disallowed by robots.txt", "disallowed by robots.txt"),
    "refused": ("private address refused", "private addresses refused"),
    "skipped": ("skipped (crawl-delay over the cap)", "skipped (crawl-delay over the cap)"),
}
# the summary's order: the site's failures first, then the crawl's own refusals
KINDS = tuple(LABELS)

NOT_FETCHED = ("robots", "refused")  # a row, but nothing was fetched
RECEIVED = "linkindex_received"  # request.meta: body bytes received so far


class PrivateAddressRefused(IgnoreRequest):
    """The private-address guard refused a request (crawler.middlewares)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason} (allow with --allow-private)")
        self.reason = reason


class PrivateAddressResolved(tx_error.DNSLookupError):
    """A name resolved to a non-public address, refused by crawler.resolver."""


class RobotsUnreachable(IgnoreRequest):
    """Not fetched: the host's robots.txt could not be downloaded (RFC 9309: disallow
    all). The page's row names that failure's kind (dns, timeout, …): the site is as
    unreachable as if the page had been requested."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{message} (robots.txt unreachable: nothing fetched)")
        self.kind = kind
        self.message = f"{message} (robots.txt unreachable: nothing fetched)"


class ResponseTooLarge(IgnoreRequest):
    """A response dropped for size after decompression (crawler.middlewares)."""

    def __init__(self, message: str, status: int, content_type: str | None,
                 ip: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.content_type = content_type
        self.ip = ip


_MAXSIZE = re.compile(
    r"(Expected to receive|Received) (\d+) bytes which is larger than download max size "
    r"\((\d+)\)")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes, and the reasons a Twisted ResponseFailed carries."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for reason in getattr(current, "reasons", None) or ():
            if isinstance(reason, Failure) and isinstance(reason.value, BaseException):
                todo.append(reason.value)
        if current.__cause__ is not None:
            todo.append(current.__cause__)
        elif current.__context__ is not None and not current.__suppress_context__:
            todo.append(current.__context__)


def _text(exc: BaseException) -> str:
    reasons = getattr(exc, "reasons", None)
    if reasons:  # ResponseFailed: "[<Failure …>]" says less than its reasons
        return "; ".join(r.getErrorMessage() for r in reasons if isinstance(r, Failure))
    return str(exc).strip() or type(exc).__name__


def _is_tls(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith("OpenSSL") or module == "ssl"


def classify(exc: BaseException, received: int = 0, max_size: int = 0) -> tuple[str, str]:
    """(kind, message) of a download failure (or of a request not made); `received`:
    the body bytes that had arrived, against the request's DOWNLOAD_MAXSIZE."""
    chain = list(_chain(exc))
    for item in chain:
        if isinstance(item, PrivateAddressRefused):
            return "refused", str(item)
        if isinstance(item, PrivateAddressResolved):
            return "refused", f"{' '.join(map(str, item.args))} (allow with --allow-private)"
        if isinstance(item, ResponseTooLarge):
            return "too large", str(item)
    for item in chain:
        match = _MAXSIZE.search(str(item))
        if match:
            verb = "announced" if match.group(1).startswith("Expected") else "received"
            return "too large", (f"{verb} {match.group(2)} bytes, over DOWNLOAD_MAXSIZE "
                                 f"({match.group(3)} bytes)")
    if isinstance(exc, DownloadCancelledError) and max_size and received > max_size:
        # Scrapy cancels a body growing past the limit without saying why (no length sent)
        return "too large", f"received {received} bytes, over DOWNLOAD_MAXSIZE ({max_size} bytes)"
    if isinstance(exc, RobotsUnreachable):
        return exc.kind, exc.message
    if isinstance(exc, IgnoreRequest) and "robots.txt" in str(exc):
        return "robots", "disallowed by robots.txt"
    tls = next((item for item in chain if _is_tls(item)), None)
    if tls is not None:
        details = tls.args[0] if tls.args else None  # OpenSSL: [(library, function, reason)]
        if isinstance(details, list) and details and all(
                isinstance(d, tuple) and d for d in details):
            return "tls", "; ".join(str(d[-1]) for d in details)
        return "tls", _text(tls)
    rules: tuple[tuple[str, tuple[type[BaseException], ...]], ...] = (
        ("dns", (CannotResolveHostError, tx_error.DNSLookupError)),
        ("connection refused", (DownloadConnectionRefusedError, tx_error.ConnectionRefusedError)),
        ("timeout", (DownloadTimeoutError, tx_error.TimeoutError, tx_error.TCPTimedOutError)),
    )
    for kind, types in rules:
        for item in chain:
            if isinstance(item, types):
                text = _text(item)
                if kind == "dns":  # "DNS lookup failed: x." → "x"
                    text = text.removeprefix("DNS lookup failed: ").rstrip(".")
                return kind, text
    if type(exc).__name__ == "TunnelError":  # https through a proxy that refused CONNECT
        return "proxy", _text(exc)
    if isinstance(exc, DownloadFailedError | ResponseDataLossError | DownloadCancelledError
                  | tx_error.ConnectionLost | tx_error.ConnectionDone):
        told = next((item for item in chain if getattr(item, "reasons", None)), exc)
        return "connection", _text(told)
    return "other", f"{type(exc).__name__}: {_text(exc)}"


def error_text(kind: str, message: str) -> str:
    """The pages.error of a failure: "<kind>: <message>", one line, capped."""
    line = " ".join(f"{kind}: {message}".split())
    return line[:ERROR_MAX_CHARS]


def count_error(stats: Any, kind: str, message: str | None, url: str) -> str | None:
    """Count a failure of `kind` in a crawl's stats (the summary reads them); its
    pages.error text, or None for an HTTP status (the status says it)."""
    stats.inc_value("linkindex/errors")
    stats.inc_value(f"linkindex/errors/{kind}")
    if message is None:
        return None
    error = error_text(kind, message)
    if stats.get_value(f"linkindex/first_error/{kind}") is None:
        stats.set_value(f"linkindex/first_error/{kind}", f"{url}: {error}")
    return error


def label(kind: str, count: int = 1) -> str:
    """How the crawl summary names `count` failures of `kind`."""
    one, several = LABELS.get(kind, (kind, kind))
    return one if count == 1 else several


def status_kind(status: int) -> str | None:
    """The error kind of an HTTP status: http_4xx, http_5xx, or None below 400."""
    if status >= 500:
        return "http_5xx"
    if status >= 400:
        return "http_4xx"
    return None
