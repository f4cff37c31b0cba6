"""What every alert delivery shares: its result, its retries with back-off, and the
text rules (one line, secrets masked). monitor/alerts.py (webhooks) and monitor/mail.py
(SMTP) deliver; docs/monitoring.md says how."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("monitor.alerts")

ATTEMPTS = 4
TIMEOUT = 10.0  # seconds, per attempt (HTTP: connect and each read; SMTP: each command)
_MAX_TEXT = 300
# No control character in an address or a header: no header injection.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


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
class Outcome:
    ok: bool
    status: str
    retry: bool = False


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def one_line(text: str, limit: int = _MAX_TEXT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def masked(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def describe(exc: BaseException) -> str:
    text = str(exc)
    return text if text and text != "None" else type(exc).__name__


def retrying(attempt: Callable[[], Outcome], destination: str, *, attempts: int,
              sleep: Callable[[float], object], secrets: tuple[str, ...]) -> DeliveryResult:
    """Up to `attempts` calls, waiting 1, 2, 4 … s after each failure that may pass."""
    for number in range(1, attempts + 1):
        try:
            outcome = attempt()
        except Exception as exc:  # an error no branch foresaw is recorded, never raised
            outcome = Outcome(False, f"unexpected error: {type(exc).__name__}: {exc}")
        status = one_line(masked(outcome.status, secrets))
        if outcome.ok:
            log.info("alert to %s delivered: %s", destination, status)
            return DeliveryResult(destination, True, number, status, now())
        final = not outcome.retry or number == attempts
        log.warning("alert to %s: attempt %d of %d failed%s: %s", destination, number,
                    attempts, "" if final else ", retrying", status)
        if final:
            return DeliveryResult(destination, False, number, status, None)
        sleep(2 ** (number - 1))
    raise AssertionError("unreachable")  # pragma: no cover
