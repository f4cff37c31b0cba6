"""The worker's heartbeat file, for liveness and readiness probes (`linkindex probe`).

Touched each time a heartbeat reached Redis (and while a worker waits for jobs), so an
orchestrator can restart a worker that is stuck, or cut off from Redis for too long,
without talking to Redis itself. The path comes from --health-file or
$LINKINDEX_HEALTH_FILE; with neither, nothing is written.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from crawler.frontier import defaults

logger = logging.getLogger(__name__)


def health_file() -> Path | None:
    value = os.environ.get(defaults.HEALTH_FILE_ENV)
    return Path(value) if value else None


def touch() -> None:
    """Alive now. A file that cannot be written is logged, never fatal: the probe then
    fails, which says the same thing."""
    path = health_file()
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError as exc:
        logger.warning("cannot touch the health file %s: %s", path, exc)
