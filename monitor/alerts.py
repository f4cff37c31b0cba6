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

E-mail (`mailto:a@b.example[,c@d.example]`): one message to all the recipients through the
SMTP server named by the environment (`SmtpSettings.from_env`): the caller's subject, the
caller's text as the plain-text body, and the document attached as `linkindex-alert.json`.
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
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import lru_cache
from typing import Any, Literal, cast
from urllib.parse import unquote, urlsplit

from core.errors import LinkindexError

log = logging.getLogger(__name__)

ALERT_SCHEMA_VERSION = 1
ATTACHMENT_NAME = "linkindex-alert.json"
SECRET_ENV = "LINKINDEX_WEBHOOK_SECRET"
ATTEMPTS = 4
TIMEOUT = 10.0  # seconds, per attempt (HTTP: connect and each read; SMTP: each command)
TLS_MODES = ("starttls", "ssl", "none")

_MAX_TEXT = 300
# An address of a mailto: destination: a dot-atom local part, a host name (no IP literals).
_ADDRESS_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?)*\Z"
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
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
    if _CONTROL_RE.search(raw):
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
            what = (f"{_one_line(repr(address), 100)} is not an e-mail address" if address
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
    return _one_line(text, 120)


# ---- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one destination: never a secret in it."""

    destination: str  # as shown: Destination.__str__
    ok: bool
    attempts: int  # 0: not tried (a bad destination, the SMTP settings missing or refused)
    status: str  # "HTTP 204", "250 OK", or the last error, one line
    delivered_at: str | None = None  # ISO 8601 UTC, when ok

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    status: str
    retry: bool = False


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _one_line(text: str, limit: int = _MAX_TEXT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _masked(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return text if text and text != "None" else type(exc).__name__


def _retrying(attempt: Callable[[], _Outcome], destination: str, *, attempts: int,
              sleep: Callable[[float], object], secrets: tuple[str, ...]) -> DeliveryResult:
    """Up to `attempts` calls, waiting 1, 2, 4 … s after each failure that may pass."""
    for number in range(1, attempts + 1):
        try:
            outcome = attempt()
        except Exception as exc:  # an error no branch foresaw is recorded, never raised
            outcome = _Outcome(False, f"unexpected error: {type(exc).__name__}: {exc}")
        status = _one_line(_masked(outcome.status, secrets))
        if outcome.ok:
            log.info("alert to %s delivered: %s", destination, status)
            return DeliveryResult(destination, True, number, status, _now())
        final = not outcome.retry or number == attempts
        log.warning("alert to %s: attempt %d of %d failed%s: %s", destination, number,
                    attempts, "" if final else ", retrying", status)
        if final:
            return DeliveryResult(destination, False, number, status, None)
        sleep(2 ** (number - 1))
    raise AssertionError("unreachable")  # pragma: no cover


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


def _post_once(url: str, body: bytes, headers: dict[str, str], timeout: float) -> _Outcome:
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
            return _Outcome(False, f"TLS certificate not trusted: {reason.verify_message}")
        if isinstance(reason, str):  # an unknown scheme and the like: nothing to retry
            return _Outcome(False, reason)
        return _Outcome(False, f"connection failed: {_describe(reason)}", retry=True)
    except (OSError, http.client.HTTPException) as exc:  # time-outs, resets, bad replies
        return _Outcome(False, f"connection failed: {_describe(exc)}", retry=True)
    status = f"HTTP {code}"
    if 200 <= code < 300:
        return _Outcome(True, status)
    if 300 <= code < 400:
        return _Outcome(False, f"{status} (redirects are not followed: give the final URL)")
    return _Outcome(False, status, retry=code == 429 or code >= 500)


def _deliver_webhook(destination: Destination, body: bytes, *, secret: str, attempts: int,
                     sleep: Callable[[float], object]) -> DeliveryResult:
    delivery_id = str(uuid.uuid4())
    timeout = TIMEOUT

    def attempt() -> _Outcome:
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

    return _retrying(attempt, str(destination), attempts=attempts, sleep=sleep,
                     secrets=(secret,))


# ---- e-mail -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP server of mailto: alerts, from LINKINDEX_SMTP_* variables only."""

    host: str
    port: int
    tls: Literal["starttls", "ssl", "none"]
    sender: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings:
        """The settings, checked: a missing host, a bad value, or credentials that would
        go over a plain connection are one LinkindexError line (naming no secret)."""
        environ = os.environ if environ is None else environ
        host = environ.get("LINKINDEX_SMTP_HOST", "").strip()
        if not host:
            raise LinkindexError(
                "LINKINDEX_SMTP_HOST is not set: mailto: alerts need an SMTP server "
                "(see docs/monitoring.md)"
            )
        tls = environ.get("LINKINDEX_SMTP_TLS", "").strip().lower() or "starttls"
        if tls not in TLS_MODES:
            raise LinkindexError(
                f"LINKINDEX_SMTP_TLS={_one_line(tls, 40)!r}: use starttls, ssl or none"
            )
        port_text = environ.get("LINKINDEX_SMTP_PORT", "").strip()
        if not port_text:
            port = 465 if tls == "ssl" else 587
        elif port_text.isdigit() and 0 < int(port_text) < 65536:
            port = int(port_text)
        else:
            raise LinkindexError(
                f"LINKINDEX_SMTP_PORT={_one_line(port_text, 40)!r}: give a port (1-65535)"
            )
        user = environ.get("LINKINDEX_SMTP_USER", "") or None
        password = environ.get("LINKINDEX_SMTP_PASSWORD", "") or None
        if (user is None) != (password is None):
            raise LinkindexError(
                "LINKINDEX_SMTP_USER and LINKINDEX_SMTP_PASSWORD go together: set both or "
                "neither"
            )
        if user is not None and tls == "none":
            raise LinkindexError(
                "LINKINDEX_SMTP_TLS=none with LINKINDEX_SMTP_USER set: credentials are "
                "never sent over a plain connection; use starttls or ssl"
            )
        sender = environ.get("LINKINDEX_SMTP_FROM", "").strip() or (
            f"linkindex@{socket.gethostname() or 'localhost'}")
        if _CONTROL_RE.search(sender) or "@" not in sender:
            raise LinkindexError(
                f"LINKINDEX_SMTP_FROM={_one_line(repr(sender)[1:-1], 80)!r}: give an address"
            )
        ca_file = environ.get("LINKINDEX_SMTP_CA_FILE", "").strip() or None
        if ca_file is not None and not os.path.isfile(ca_file):
            raise LinkindexError(f"LINKINDEX_SMTP_CA_FILE={ca_file!r}: no such file")
        mode = cast(Literal["starttls", "ssl", "none"], tls)
        return cls(host, port, mode, sender, user, password, ca_file)

    def tls_context(self) -> ssl.SSLContext | None:
        """The context that verifies the server (system CAs, or the CA file), or None."""
        if self.tls == "none":
            return None
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise LinkindexError(
                f"LINKINDEX_SMTP_CA_FILE={self.ca_file!r} cannot be read: {_describe(exc)}"
            ) from None


class _RecordingReply:
    """Keeps the server's reply to the message itself (the end of DATA): "250 OK"."""

    last_reply: tuple[int, bytes] | None = None

    def data(self, msg: Any) -> tuple[int, bytes]:
        reply = super().data(msg)  # type: ignore[misc]
        self.last_reply = reply
        return reply


class _SMTP(_RecordingReply, smtplib.SMTP):
    pass


class _SMTPSSL(_RecordingReply, smtplib.SMTP_SSL):
    pass


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _send_once(settings: SmtpSettings, context: ssl.SSLContext | None,
               message: EmailMessage, recipients: tuple[str, ...]) -> _Outcome:
    client: _SMTP | _SMTPSSL
    try:
        if settings.tls == "ssl":
            client = _SMTPSSL(settings.host, settings.port, timeout=TIMEOUT, context=context)
        else:
            client = _SMTP(settings.host, settings.port, timeout=TIMEOUT)
        with client:
            client.ehlo()
            if settings.tls == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if settings.user is not None and settings.password is not None:
                client.login(settings.user, settings.password)
            refused = client.send_message(message, to_addrs=list(recipients))
            code, reply = client.last_reply or (250, b"OK")
    except smtplib.SMTPNotSupportedError as exc:  # no STARTTLS, no AUTH: asking again won't help
        return _Outcome(False, f"the SMTP server refused: {_describe(exc)}")
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return _Outcome(False, "recipients refused: " + _refusals(exc.recipients),
                        retry=all(400 <= code < 500 for code in codes))
    except smtplib.SMTPResponseException as exc:  # sender, data, auth, connect, helo
        code = exc.smtp_code
        return _Outcome(False, f"{code} {_text(exc.smtp_error)}", retry=not 500 <= code < 600)
    except ssl.SSLCertVerificationError as exc:
        return _Outcome(False, f"TLS certificate not trusted: {exc.verify_message}")
    except OSError as exc:  # refused, reset, time-outs, TLS errors, SMTPServerDisconnected
        return _Outcome(False, f"connection failed: {_describe(exc)}", retry=True)
    status = f"{code} {_text(reply)}"
    if refused:
        status += "; refused " + _refusals(refused)
    return _Outcome(True, status)


def _refusals(refused: Mapping[str, tuple[int, bytes | str]]) -> str:
    return "; ".join(f"{address}: {code} {_text(reply)}"
                     for address, (code, reply) in refused.items())


def alert_message(body: bytes, *, subject: str, text: str, sender: str,
                  recipients: Iterable[str], delivery_id: str | None = None) -> EmailMessage:
    """The e-mail: subject and plain-text body as given, the JSON attached."""
    message = EmailMessage()
    message["Subject"] = _one_line(subject, 998)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(usegmt=True)
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "linkindex.invalid"
    message["Message-ID"] = make_msgid(domain=domain)  # no getfqdn(): no DNS look-up
    message["X-Linkindex-Delivery"] = delivery_id or str(uuid.uuid4())
    message.set_content(text)
    message.add_attachment(body, maintype="application", subtype="json",
                           filename=ATTACHMENT_NAME)
    return message


def _deliver_mail(destination: Destination, body: bytes, *, subject: str, text: str,
                  settings: SmtpSettings, attempts: int,
                  sleep: Callable[[float], object]) -> DeliveryResult:
    try:
        context = settings.tls_context()
    except LinkindexError as exc:
        return DeliveryResult(str(destination), False, 0, str(exc), None)
    message = alert_message(body, subject=subject, text=text, sender=settings.sender,
                            recipients=destination.recipients)
    return _retrying(
        lambda: _send_once(settings, context, message, destination.recipients),
        str(destination), attempts=attempts, sleep=sleep,
        secrets=(settings.password or "",),
    )


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
        results.append(_deliver_mail(destination, body, subject=subject, text=text,
                                     settings=smtp, attempts=attempts, sleep=sleep))
    return results
