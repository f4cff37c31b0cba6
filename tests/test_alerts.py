"""monitor.alerts: an alert delivered to real receivers on loopback (an HTTP server, an SMTP
server with STARTTLS and AUTH), retried as documented, every failure recorded, no secret
shown. Back-off waits are recorded by an injected `sleep`, so nothing here waits."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import logging
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from tlsproxy import make_certificates

from core.errors import LinkindexError
from monitor import alerts
from monitor.alerts import (
    ALERT_SCHEMA_VERSION,
    DeliveryResult,
    Destination,
    alert_json,
    deliver,
    parse_destination,
)

DOC = {
    "schema_version": ALERT_SCHEMA_VERSION,
    "target": "example.com",
    "new_referring_domains": ["blog.example.org", "naïve.example.net"],
    "lost": 2,
    "ratio": 0.25,
}
SECRET = "whsec-test-3f9a1c"
SMTP_USER, SMTP_PASSWORD = "alerts", "pw-Xy9-never-shown"
SUBJECT = "linkindex: example.com gained 2 referring domains"
TEXT = "example.com\n  new: blog.example.org, naïve.example.net\n  lost: 2\n"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting of the machine leaks in: no SMTP settings, no secret, no proxy."""
    for var in ("LINKINDEX_WEBHOOK_SECRET", "LINKINDEX_SMTP_HOST", "LINKINDEX_SMTP_PORT",
                "LINKINDEX_SMTP_USER", "LINKINDEX_SMTP_PASSWORD", "LINKINDEX_SMTP_FROM",
                "LINKINDEX_SMTP_TLS", "LINKINDEX_SMTP_CA_FILE", "http_proxy", "https_proxy",
                "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Waits(list[float]):
    """An injected `sleep`: records the back-off waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# ---- an HTTP receiver -----------------------------------------------------------------------


@dataclass
class Receiver:
    """Answers POSTs with the scripted statuses (the last one repeats), records each."""

    statuses: list[int]
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(*statuses: int) -> Receiver:
        state = Receiver(list(statuses))

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                state.requests.append((self.command, headers, body))
                index = min(len(state.requests), len(state.statuses)) - 1
                self.send_response(state.statuses[index])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/linkindex"
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def expected_signature(headers: dict[str, str], body: bytes) -> str:
    """Computed here from the documented rule: HMAC-SHA256(secret, timestamp "." body)."""
    signed = headers["x-linkindex-timestamp"].encode() + b"." + body
    return "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()


# ---- the document ---------------------------------------------------------------------------


def test_alert_json_is_canonical() -> None:
    body = alert_json({"b": [1, 2], "a": {"z": "é", "y": None}})
    assert body == '{"a":{"y":null,"z":"é"},"b":[1,2]}'.encode()
    assert alert_json(DOC) == alert_json(dict(reversed(list(DOC.items()))))
    assert json.loads(alert_json(DOC)) == DOC


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_alert_json_refuses_nan_and_infinity(bad: float) -> None:
    with pytest.raises(ValueError):
        alert_json({"ratio": bad})
    with pytest.raises(ValueError):  # deliver too, before sending anything
        deliver({"x": [bad]}, [], subject="s", text="t")


# ---- destinations ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, kind, shown, recipients", [
    ("https://hooks.example.com/linkindex", "webhook", "https://hooks.example.com/linkindex",
     ()),
    ("http://127.0.0.1:8080/hook", "webhook", "http://127.0.0.1:8080/hook", ()),
    ("HTTPS://Hooks.Example.com/h?token=abc123", "webhook", "https://Hooks.Example.com/h?…",
     ()),
    ("  https://hooks.example.com/x  ", "webhook", "https://hooks.example.com/x", ()),
    ("mailto:seo@example.com", "mailto", "mailto:seo@example.com", ("seo@example.com",)),
    ("mailto:a@b.example,c@d.example", "mailto", "mailto:a@b.example,c@d.example",
     ("a@b.example", "c@d.example")),
    ("MAILTO:a@b.example, c@d.example,a@b.example", "mailto",
     "mailto:a@b.example,c@d.example", ("a@b.example", "c@d.example")),
    ("mailto:first.last+seo@mail.example.co.uk", "mailto",
     "mailto:first.last+seo@mail.example.co.uk", ("first.last+seo@mail.example.co.uk",)),
])
def test_accepted_destinations(text: str, kind: str, shown: str,
                               recipients: tuple[str, ...]) -> None:
    destination = parse_destination(text)
    assert destination.kind == kind
    assert str(destination) == shown
    assert destination.recipients == recipients
    assert "abc123" not in repr(destination)


@pytest.mark.parametrize("text, says", [
    ("https://user:hunter2@hooks.example.com/x", "LINKINDEX_WEBHOOK_SECRET"),
    ("https://tok-hunter2@hooks.example.com/x", "LINKINDEX_WEBHOOK_SECRET"),
    ("https://u:hunter2@hooks.example.com:99999/x", "bad webhook URL"),
    ("ftp://files.example.com/alerts", "unknown kind of alert destination 'ftp:'"),
    ("hooks.example.com/x", "not a URL"),
    ("admin:hunter2@hooks.example.com", "unknown kind"),
    ("", "empty alert destination"),
    ("   ", "empty alert destination"),
    ("https:///no-host", "has no host"),
    ("https://hooks.example.com:99999/", "check its host and port"),
    ("https://[::1/", "bad webhook URL"),
    ("https://hooks.example.com/a b", "%20"),
    ("mailto:", "an address is missing"),
    ("mailto:a@b.example,", "an address is missing"),
    ("mailto:not-an-address", "'not-an-address' is not an e-mail address"),
    ("mailto:a@b.example?subject=hi", "addresses only"),
    ("mailto:a@b.example\r\nBcc: x@evil.example", "control characters"),
    ("mailto:a@b.example%0ABcc:x@evil.example", "is not an e-mail address"),
    ("mailto:Seo Team <seo@example.com>", "is not an e-mail address"),
])
def test_refused_destinations(text: str, says: str) -> None:
    with pytest.raises(LinkindexError) as caught:
        parse_destination(text)
    message = str(caught.value)
    assert says in message
    assert "\n" not in message and "\r" not in message
    assert "hunter2" not in message


# ---- webhooks -------------------------------------------------------------------------------


def test_webhook_delivery_is_one_signed_post(receiver: Any, caplog: pytest.LogCaptureFixture,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("LINKINDEX_WEBHOOK_SECRET", SECRET)  # the default source of the key
    hook = receiver(204)
    waits = Waits()
    [result] = deliver(DOC, [hook.url], subject=SUBJECT, text=TEXT, sleep=waits)

    assert result.ok and result.attempts == 1 and result.status == "HTTP 204", result
    assert result.destination == hook.url and result.delivered_at is not None
    assert result.delivered_at.endswith("+00:00")
    assert waits == []
    [(method, headers, body)] = hook.requests
    assert method == "POST"
    assert body == alert_json(DOC)
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("linkindex-monitor/")
    assert uuid.UUID(headers["x-linkindex-delivery"]).version == 4
    assert headers["x-linkindex-timestamp"].isdigit()
    assert headers["x-linkindex-signature"] == expected_signature(headers, body)
    assert "authorization" not in headers
    assert SECRET not in repr(result) + caplog.text


def test_no_secret_no_signature(receiver: Any) -> None:
    hook = receiver(200)
    [result] = deliver(DOC, [parse_destination(hook.url)], subject=SUBJECT, text=TEXT)
    assert result.ok and result.status == "HTTP 200"
    [(_, headers, _)] = hook.requests
    assert "x-linkindex-signature" not in headers


def test_503_twice_then_204_is_retried_with_one_delivery_id(receiver: Any) -> None:
    hook = receiver(503, 503, 204)
    waits = Waits()
    [result] = deliver(DOC, [hook.url], subject=SUBJECT, text=TEXT, secret=SECRET,
                       sleep=waits)
    assert (result.ok, result.attempts, result.status) == (True, 3, "HTTP 204")
    assert waits == [1, 2]
    assert len(hook.requests) == 3
    ids = {headers["x-linkindex-delivery"] for _, headers, _ in hook.requests}
    assert len(ids) == 1
    for _, headers, body in hook.requests:  # each attempt signed over its own timestamp
        assert body == alert_json(DOC)
        assert headers["x-linkindex-signature"] == expected_signature(headers, body)


def test_always_500_gives_up_after_four_attempts(receiver: Any,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hook = receiver(500)
    waits = Waits()
    [result] = deliver(DOC, [hook.url], subject=SUBJECT, text=TEXT, secret=SECRET,
                       sleep=waits)
    assert (result.ok, result.attempts, result.delivered_at) == (False, 4, None)
    assert "HTTP 500" in result.status
    assert waits == [1, 2, 4]
    assert len(hook.requests) == 4
    assert "retrying" in caplog.text and SECRET not in caplog.text


@pytest.mark.parametrize("status", [400, 404, 410])
def test_a_client_error_is_final(receiver: Any, status: int) -> None:
    hook = receiver(status)
    waits = Waits()
    [result] = deliver(DOC, [hook.url], subject=SUBJECT, text=TEXT, sleep=waits)
    assert (result.ok, result.attempts, result.status) == (False, 1, f"HTTP {status}")
    assert waits == [] and len(hook.requests) == 1


def test_429_is_retried(receiver: Any) -> None:
    hook = receiver(429, 202)
    waits = Waits()
    [result] = deliver(DOC, [hook.url], subject=SUBJECT, text=TEXT, sleep=waits)
    assert (result.ok, result.attempts, result.status, waits) == (True, 2, "HTTP 202", [1])


def test_a_redirect_is_not_followed(receiver: Any) -> None:
    hook = receiver(302)
    [result] = deliver(DOC, [hook.url], subject=SUBJECT, text=TEXT, sleep=Waits())
    assert not result.ok and result.attempts == 1
    assert result.status.startswith("HTTP 302") and "not followed" in result.status


def test_a_closed_port_is_retried_then_recorded() -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    waits = Waits()
    [result] = deliver(DOC, [url], subject=SUBJECT, text=TEXT, sleep=waits, attempts=3)
    assert (result.ok, result.attempts, result.delivered_at) == (False, 3, None)
    assert result.status.startswith("connection failed:") and "refused" in result.status
    assert waits == [1, 2]


def test_a_receiver_that_never_answers_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alerts, "TIMEOUT", 0.3)
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        waits = Waits()
        [result] = deliver(DOC, [url], subject=SUBJECT, text=TEXT, sleep=waits, attempts=2)
    assert (result.ok, result.attempts, waits) == (False, 2, [1])
    assert "timed out" in result.status


def test_every_destination_is_tried_on_its_own(receiver: Any) -> None:
    hook = receiver(204)
    down = f"http://127.0.0.1:{free_port()}/hook"
    results = deliver(DOC, [down, "https://u:hunter2@bad.example/x", "mailto:a@b.example",
                            hook.url], subject=SUBJECT, text=TEXT, sleep=Waits(), attempts=2)
    assert [r.ok for r in results] == [False, False, False, True]
    assert [r.attempts for r in results] == [2, 0, 0, 1]
    assert results[1].destination == "https://…@bad.example/x"
    assert "LINKINDEX_WEBHOOK_SECRET" in results[1].status
    assert "LINKINDEX_SMTP_HOST" in results[2].status
    assert len(hook.requests) == 1
    assert "hunter2" not in repr(results)
    assert all(isinstance(r, DeliveryResult) and "\n" not in r.status for r in results)


# ---- e-mail ---------------------------------------------------------------------------------


class Mailbox:
    """aiosmtpd's handler: keeps every message with what the session knew."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append({
            "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
            "content": envelope.original_content or envelope.content,
            "tls": session.ssl is not None, "authenticated": session.authenticated,
        })
        return "250 OK"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                  auth_data: Any) -> AuthResult:
    """Accepts the user and password the test put in the environment, nothing else."""
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode()
          and auth_data.password == SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535


@dataclass
class SmtpServer:
    mailbox: Mailbox
    port: int
    ca: Path


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """aiosmtpd on a free loopback port: STARTTLS required, then AUTH required."""
    ca, cert, key = make_certificates(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=authenticator,
                            auth_required=True, auth_require_tls=True, ready_timeout=5)
    controller.start()
    try:
        yield SmtpServer(mailbox, port, ca)
    finally:
        controller.stop()


@pytest.fixture
def smtp_env(smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> SmtpServer:
    monkeypatch.setenv("LINKINDEX_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LINKINDEX_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("LINKINDEX_SMTP_USER", SMTP_USER)
    monkeypatch.setenv("LINKINDEX_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("LINKINDEX_SMTP_FROM", "linkindex@monitor.example")
    monkeypatch.setenv("LINKINDEX_SMTP_CA_FILE", str(smtp_server.ca))
    return smtp_server


def test_mail_over_starttls_with_auth(smtp_env: SmtpServer,
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    waits = Waits()
    [result] = deliver(DOC, ["mailto:seo@example.com,boss@example.org"], subject=SUBJECT,
                       text=TEXT, sleep=waits)
    assert (result.ok, result.attempts, result.status) == (True, 1, "250 OK"), result
    assert result.destination == "mailto:seo@example.com,boss@example.org"
    assert waits == []
    [received] = smtp_env.mailbox.messages
    assert received["tls"] and received["authenticated"]
    assert received["mail_from"] == "linkindex@monitor.example"
    assert received["rcpt_tos"] == ["seo@example.com", "boss@example.org"]
    message = email.message_from_bytes(received["content"], policy=email.policy.default)
    assert message["Subject"] == SUBJECT
    assert message["To"] == "seo@example.com, boss@example.org"
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == TEXT
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "linkindex-alert.json"
    assert attachment.get_content_type() == "application/json"
    assert attachment.get_content() == alert_json(DOC)
    assert SMTP_PASSWORD not in repr(result) + caplog.text


def test_a_wrong_password_is_final_and_not_shown(smtp_env: SmtpServer,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("LINKINDEX_SMTP_PASSWORD", "wrong-pw-Q7")
    waits = Waits()
    [result] = deliver(DOC, ["mailto:seo@example.com"], subject=SUBJECT, text=TEXT,
                       sleep=waits)
    assert (result.ok, result.attempts, waits) == (False, 1, [])
    assert result.status.startswith("535"), result.status
    assert "wrong-pw-Q7" not in repr(result) + caplog.text
    assert smtp_env.mailbox.messages == []


def test_an_untrusted_certificate_is_final(smtp_env: SmtpServer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINKINDEX_SMTP_CA_FILE")  # the system's CAs do not know the test CA
    [result] = deliver(DOC, ["mailto:seo@example.com"], subject=SUBJECT, text=TEXT,
                       sleep=Waits())
    assert (result.ok, result.attempts) == (False, 1)
    assert "certificate" in result.status
    assert smtp_env.mailbox.messages == []


def test_credentials_over_a_plain_connection_are_refused_before_connecting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        monkeypatch.setenv("LINKINDEX_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("LINKINDEX_SMTP_PORT", str(listener.getsockname()[1]))
        monkeypatch.setenv("LINKINDEX_SMTP_TLS", "none")
        monkeypatch.setenv("LINKINDEX_SMTP_USER", SMTP_USER)
        monkeypatch.setenv("LINKINDEX_SMTP_PASSWORD", SMTP_PASSWORD)
        waits = Waits()
        [result] = deliver(DOC, ["mailto:seo@example.com"], subject=SUBJECT, text=TEXT,
                           sleep=waits)
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):  # nobody connected
            listener.accept()
    assert (result.ok, result.attempts, waits) == (False, 0, [])
    assert "LINKINDEX_SMTP_TLS=none" in result.status and "\n" not in result.status
    assert SMTP_PASSWORD not in repr(result)
    with pytest.raises(LinkindexError, match="never sent over a plain connection"):
        alerts.SmtpSettings.from_env()


def test_missing_smtp_host_is_a_failed_result() -> None:
    [result] = deliver(DOC, ["mailto:seo@example.com"], subject=SUBJECT, text=TEXT)
    assert (result.ok, result.attempts, result.delivered_at) == (False, 0, None)
    assert "LINKINDEX_SMTP_HOST is not set" in result.status


@pytest.mark.parametrize("env, says", [
    ({"LINKINDEX_SMTP_TLS": "tls"}, "use starttls, ssl or none"),
    ({"LINKINDEX_SMTP_PORT": "smtp"}, "give a port"),
    ({"LINKINDEX_SMTP_USER": "u"}, "go together"),
    ({"LINKINDEX_SMTP_PASSWORD": "p-secret-9"}, "go together"),
    ({"LINKINDEX_SMTP_CA_FILE": "/nonexistent/ca.pem"}, "no such file"),
])
def test_smtp_settings_refused(env: dict[str, str], says: str) -> None:
    with pytest.raises(LinkindexError) as caught:
        alerts.SmtpSettings.from_env({"LINKINDEX_SMTP_HOST": "mail.example", **env})
    assert says in str(caught.value) and "p-secret-9" not in str(caught.value)


def test_smtp_settings_defaults() -> None:
    settings = alerts.SmtpSettings.from_env({"LINKINDEX_SMTP_HOST": "mail.example"})
    assert (settings.port, settings.tls, settings.user) == (587, "starttls", None)
    assert settings.sender.startswith("linkindex@")
    assert alerts.SmtpSettings.from_env(
        {"LINKINDEX_SMTP_HOST": "mail.example", "LINKINDEX_SMTP_TLS": "ssl"}).port == 465
    secret = alerts.SmtpSettings.from_env({
        "LINKINDEX_SMTP_HOST": "mail.example", "LINKINDEX_SMTP_USER": "u",
        "LINKINDEX_SMTP_PASSWORD": "p-secret-9"})
    assert "p-secret-9" not in repr(secret)


def test_a_closed_smtp_port_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKINDEX_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LINKINDEX_SMTP_PORT", str(free_port()))
    waits = Waits()
    [result] = deliver(DOC, [Destination("mailto", "mailto:a@b.example", ("a@b.example",))],
                       subject=SUBJECT, text=TEXT, sleep=waits)
    assert (result.ok, result.attempts, waits) == (False, 4, [1, 2, 4])
    assert result.status.startswith("connection failed:")
