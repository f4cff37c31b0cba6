"""Delivery of a monitor alert: one JSON document, POSTed to webhooks and mailed over SMTP.

The monitor run builds the alert document (a JSON-serialisable dict); this module only
serialises it (`alert_json`), reads destinations (`parse_destination`) and delivers it to
each of them (`deliver`). Every destination is tried on its own and every outcome is a
`DeliveryResult`: nothing is raised for a receiver that is down or refuses, so a run never
loses its results because of a webhook or a mail server.

Webhooks (`https://…`, `http://…`): one POST of `alert_json(document)` with
`Content-Type: application/json`, `User-Agent: linkindex-monitor/<version>`,
`X-Linkindex-Delivery: <uuid4>` (the same on every retry of one destination: receivers
deduplicate on it) and `X-Linkindex-Timestamp: <unix seconds>` (the time of the attempt).
With a secret (`deliver(secret=…)`, else `LINKINDEX_WEBHOOK_SECRET`) each attempt also
carries `X-Linkindex-Signature: sha256=<hex>`, the HMAC-SHA256 with the secret (UTF-8) as
key of the bytes `<timestamp>.<body>`: the timestamp header's ASCII digits, one `.`, then
the exact body. A receiver recomputes it, compares in constant time and refuses an old
timestamp, so a captured request cannot be replayed later. Redirects are not followed
(a POST turned into a GET would lose the alert, and the signature would go to another
host): a 3xx is a final failure naming the status.

E-mail (`mailto:a@b.example[,c@d.example]`; monitor/mail.py): one message to all the
recipients through the SMTP server named by the environment (`SmtpSettings.from_env`):
the caller's subject, the caller's text as the plain-text body, and the document
attached as `linkindex-alert.json`.
Credentials go only over TLS (STARTTLS or implicit TLS), verified against the system's
CAs or `LINKINDEX_SMTP_CA_FILE`.

Retries: each destination gets up to `attempts` tries (4 by default), waiting 1, 2, 4 s
between them, on what may pass: connection errors and time-outs, HTTP 429 and 5xx, SMTP
4xx replies. An HTTP 4xx other than 429, an SMTP 5xx reply, an untrusted certificate or a
server without STARTTLS is final at once. Each attempt has a 10 s time-out (HTTP: for the
connection and for each read; SMTP: for each command).

No secret is ever shown: a webhook URL with credentials (`user:pass@`) is refused, a URL's
query string is shown as `?…`, and the webhook secret and the SMTP password are masked in
every status and log line.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import importlib.metadata
import json
import logging
import os
import re
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from core.errors import LinkindexError
from monitor.delivery import (
    ATTEMPTS,
    CONTROL_RE,
    TIMEOUT,
    DeliveryResult,
    Outcome,
    describe,
    one_line,
    retrying,
)
from monitor.mail import ATTACHMENT_NAME, SmtpSettings, alert_message, deliver_mail

log = logging.getLogger(__name__)

ALERT_SCHEMA_VERSION = 1
SECRET_ENV = "LINKINDEX_WEBHOOK_SECRET"

# An address of a mailto: destination: a dot-atom local part, a host name (no IP literals).
_ADDRESS_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?)*\Z"
)
_USAGE = "give an https:// (or http://) webhook URL or mailto:ADDRESS[,ADDRESS]"


def alert_json(document: Mapping[str, Any]) -> bytes:
    """The document as canonical JSON: sorted keys, no spaces, UTF-8 (not \\u escapes).

    NaN and infinities are no JSON: ValueError; a value JSON cannot hold: TypeError.
    """
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":"))
    return text.encode("utf-8")  # a lone surrogate: UnicodeEncodeError, a ValueError


def sign_body(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Linkindex-Signature` value: `sha256=` + hex HMAC-SHA256 of `timestamp.body`."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                      hashlib.sha256)
    return "sha256=" + digest.hexdigest()


# ---- destinations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    """Where an alert goes: a webhook URL, or a mailto: with its recipients."""

    kind: Literal["webhook", "mailto"]
    url: str  # the webhook URL as given; for mail "mailto:a@b.example,c@d.example"
    recipients: tuple[str, ...] = ()

    def __str__(self) -> str:
        """The destination as shown in results and logs: a query string becomes `?…`."""
        if self.kind == "mailto":
            return self.url
        parts = urlsplit(self.url)
        return (f"{parts.scheme}://{parts.netloc}{parts.path}"
                + ("?…" if parts.query else ""))

    def __repr__(self) -> str:
        return f"Destination({str(self)!r})"


def parse_destination(text: str) -> Destination:
    """`https://…` / `http://…` (a webhook) or `mailto:a@b.example[,c@d.example]`.

    Anything else, a webhook URL with credentials in it, or a bad address: LinkindexError.
    """
    raw = text.strip()
    if not raw:
        raise LinkindexError(f"empty alert destination: {_USAGE}")
    if CONTROL_RE.search(raw):
        raise LinkindexError(f"alert destination {_shown(raw)!r} contains control characters")
    scheme = raw.split(":", 1)[0].lower() if ":" in raw else ""
    if scheme == "mailto":
        return _parse_mailto(raw)
    if scheme in ("http", "https"):
        return _parse_webhook(raw, scheme)
    if re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme) and "@" not in scheme:
        raise LinkindexError(f"unknown kind of alert destination {scheme + ':'!r}: {_USAGE}")
    raise LinkindexError(f"alert destination {_shown(raw)!r} is not a URL: {_USAGE}")


def _parse_webhook(raw: str, scheme: str) -> Destination:
    try:
        parts = urlsplit(raw)
        host = parts.hostname
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        raise LinkindexError(f"bad webhook URL {_shown(raw)!r}: check its host and port") from None
    if "@" in parts.netloc:
        where = f"{scheme}://{host}" if host else f"{scheme}://"
        raise LinkindexError(
            f"webhook URL {where}/… carries credentials (user:password@): give it without "
            f"them and set {SECRET_ENV}: linkindex then signs every request with it"
        )
    if not host:
        raise LinkindexError(f"webhook URL {_shown(raw)!r} has no host")
    if " " in raw:
        raise LinkindexError(f"webhook URL {_shown(raw)!r} contains a space: write it as %20")
    return Destination("webhook", raw)


def _parse_mailto(raw: str) -> Destination:
    rest = raw[len("mailto:"):]
    if "?" in rest or "#" in rest:
        raise LinkindexError(
            f"alert destination {_shown(raw)!r}: a mailto: takes addresses only "
            f"(mailto:a@b.example,c@d.example); the alert sets the subject and the text"
        )
    recipients: list[str] = []
    for item in unquote(rest).split(","):
        address = item.strip()
        if not _ADDRESS_RE.match(address):
            what = (f"{one_line(repr(address), 100)} is not an e-mail address" if address
                    else "an address is missing")
            raise LinkindexError(
                f"alert destination {_shown(raw)!r}: {what} (mailto:a@b.example[,c@d.example])"
            )
        if address not in recipients:
            recipients.append(address)
    return Destination("mailto", "mailto:" + ",".join(recipients), tuple(recipients))


def _shown(text: str) -> str:
    """A destination that could not be read, fit to show: credentials and query masked."""
    text = repr(text)[1:-1]  # control characters escaped
    if text[:7].lower() != "mailto:":
        head, mark, _ = text.partition("?")
        head = head.split("#", 1)[0]
        # Everything from after `scheme://` (or the start) up to the last `@` is masked.
        if "@" in head:
            match = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", head)
            start = match.end() if match else 0
            head = head[:start] + "…" + head[head.rindex("@"):]
        text = head + ("?…" if mark else "")
    return one_line(text, 120)


__all__ = ["ALERT_SCHEMA_VERSION", "ATTACHMENT_NAME", "ATTEMPTS", "DeliveryResult", "Destination",
           "SmtpSettings", "TIMEOUT", "alert_json", "alert_message", "deliver",
           "parse_destination", "sign_body", "user_agent"]


# ---- webhooks -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def user_agent() -> str:
    """`linkindex-monitor/<version>`: the installed distribution's version, else 0."""
    try:
        version = importlib.metadata.version("linkindex")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    return f"linkindex-monitor/{version}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


def _post_once(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=timeout) as response:
            code = response.status
    except urllib.error.HTTPError as exc:
        code = exc.code
        exc.close()
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            return Outcome(False, f"TLS certificate not trusted: {reason.verify_message}")
        if isinstance(reason, str):  # an unknown scheme and the like: nothing to retry
            return Outcome(False, reason)
        return Outcome(False, f"connection failed: {describe(reason)}", retry=True)
    except (OSError, http.client.HTTPException) as exc:  # time-outs, resets, bad replies
        return Outcome(False, f"connection failed: {describe(exc)}", retry=True)
    status = f"HTTP {code}"
    if 200 <= code < 300:
        return Outcome(True, status)
    if 300 <= code < 400:
        return Outcome(False, f"{status} (redirects are not followed: give the final URL)")
    return Outcome(False, status, retry=code == 429 or code >= 500)


def _deliver_webhook(destination: Destination, body: bytes, *, secret: str, attempts: int,
                     sleep: Callable[[float], object]) -> DeliveryResult:
    delivery_id = str(uuid.uuid4())
    timeout = TIMEOUT

    def attempt() -> Outcome:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": user_agent(),
            "X-Linkindex-Delivery": delivery_id,
            "X-Linkindex-Timestamp": timestamp,
        }
        if secret:
            headers["X-Linkindex-Signature"] = sign_body(secret, timestamp, body)
        return _post_once(destination.url, body, headers, timeout)

    return retrying(attempt, str(destination), attempts=attempts, sleep=sleep,
                     secrets=(secret,))


# ---- all of it ----------------------------------------------------------------------------


def deliver(document: Mapping[str, Any], destinations: Iterable[Destination | str], *,
            subject: str, text: str, secret: str | None = None,
            sleep: Callable[[float], object] = time.sleep,
            attempts: int = ATTEMPTS) -> list[DeliveryResult]:
    """Send the alert to every destination, each on its own; one result each, in order.

    Failures are recorded, never raised. `secret` signs webhook requests (None: the
    LINKINDEX_WEBHOOK_SECRET variable, "" or unset: no signature). A document JSON cannot
    hold is the caller's error: ValueError or TypeError, before anything is sent.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    if isinstance(destinations, str | Destination):
        raise TypeError("destinations: give a list of them, not one")
    body = alert_json(document)
    key = os.environ.get(SECRET_ENV, "") if secret is None else secret
    smtp: SmtpSettings | LinkindexError | None = None
    results: list[DeliveryResult] = []
    for item in destinations:
        try:
            destination = item if isinstance(item, Destination) else parse_destination(item)
        except LinkindexError as exc:
            results.append(DeliveryResult(_shown(str(item)), False, 0, str(exc), None))
            continue
        if destination.kind == "webhook":
            results.append(_deliver_webhook(destination, body, secret=key,
                                            attempts=attempts, sleep=sleep))
            continue
        if smtp is None:
            try:
                smtp = SmtpSettings.from_env()
            except LinkindexError as exc:
                smtp = exc
        if isinstance(smtp, LinkindexError):
            log.warning("alert to %s not sent: %s", destination, smtp)
            results.append(DeliveryResult(str(destination), False, 0, str(smtp), None))
            continue
        results.append(deliver_mail(destination, body, subject=subject, text=text,
                                     settings=smtp, attempts=attempts, sleep=sleep))
    return results
