"""Alerts by e-mail: one message to a mailto: destination's recipients through the SMTP
server the environment names (LINKINDEX_SMTP_*), the document attached. Credentials go
only over TLS; docs/monitoring.md lists the variables."""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any, Literal, cast

from core.errors import LinkindexError
from monitor.delivery import (
    CONTROL_RE,
    TIMEOUT,
    DeliveryResult,
    Outcome,
    describe,
    one_line,
    retrying,
)

if TYPE_CHECKING:
    from monitor.alerts import Destination

ATTACHMENT_NAME = "linkindex-alert.json"
TLS_MODES = ("starttls", "ssl", "none")

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
                f"LINKINDEX_SMTP_TLS={one_line(tls, 40)!r}: use starttls, ssl or none"
            )
        port_text = environ.get("LINKINDEX_SMTP_PORT", "").strip()
        if not port_text:
            port = 465 if tls == "ssl" else 587
        elif port_text.isdigit() and 0 < int(port_text) < 65536:
            port = int(port_text)
        else:
            raise LinkindexError(
                f"LINKINDEX_SMTP_PORT={one_line(port_text, 40)!r}: give a port (1-65535)"
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
        if CONTROL_RE.search(sender) or "@" not in sender:
            raise LinkindexError(
                f"LINKINDEX_SMTP_FROM={one_line(repr(sender)[1:-1], 80)!r}: give an address"
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
                f"LINKINDEX_SMTP_CA_FILE={self.ca_file!r} cannot be read: {describe(exc)}"
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
               message: EmailMessage, recipients: tuple[str, ...]) -> Outcome:
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
        return Outcome(False, f"the SMTP server refused: {describe(exc)}")
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return Outcome(False, "recipients refused: " + _refusals(exc.recipients),
                        retry=all(400 <= code < 500 for code in codes))
    except smtplib.SMTPResponseException as exc:  # sender, data, auth, connect, helo
        code = exc.smtp_code
        return Outcome(False, f"{code} {_text(exc.smtp_error)}", retry=not 500 <= code < 600)
    except ssl.SSLCertVerificationError as exc:
        return Outcome(False, f"TLS certificate not trusted: {exc.verify_message}")
    except OSError as exc:  # refused, reset, time-outs, TLS errors, SMTPServerDisconnected
        return Outcome(False, f"connection failed: {describe(exc)}", retry=True)
    status = f"{code} {_text(reply)}"
    if refused:
        status += "; refused " + _refusals(refused)
    return Outcome(True, status)


def _refusals(refused: Mapping[str, tuple[int, bytes | str]]) -> str:
    return "; ".join(f"{address}: {code} {_text(reply)}"
                     for address, (code, reply) in refused.items())


def alert_message(body: bytes, *, subject: str, text: str, sender: str,
                  recipients: Iterable[str], delivery_id: str | None = None) -> EmailMessage:
    """The e-mail: subject and plain-text body as given, the JSON attached."""
    message = EmailMessage()
    message["Subject"] = one_line(subject, 998)
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


def deliver_mail(destination: Destination, body: bytes, *, subject: str, text: str,
                  settings: SmtpSettings, attempts: int,
                  sleep: Callable[[float], object]) -> DeliveryResult:
    try:
        context = settings.tls_context()
    except LinkindexError as exc:
        return DeliveryResult(str(destination), False, 0, str(exc), None)
    message = alert_message(body, subject=subject, text=text, sender=settings.sender,
                            recipients=destination.recipients)
    return retrying(
        lambda: _send_once(settings, context, message, destination.recipients),
        str(destination), attempts=attempts, sleep=sleep,
        secrets=(settings.password or "",),
    )
