"""Running commands as a user runs them: subprocesses, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Our own loopback server: no need for politeness delays.
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS=64",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16"]


def run(cmd: list[str], *, cwd: Path | None = None, check: bool = True,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LINKINDEX_DEBUG": ""}
    proc = subprocess.run(cmd, cwd=cwd or REPO, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\n"
            f"stderr:\n{proc.stderr}"
        )
    return proc


def linkindex(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the `linkindex` command in a subprocess."""
    return run([sys.executable, "-m", "linkindex", *map(str, args)], check=check)


def crawl_args(proxy_url: str, data: Path, crawl_id: str, *extra: str) -> list[str]:
    return ["--data", str(data), "--crawl-id", crawl_id, "--proxy", proxy_url,
            "--allow-private", *FAST, *extra]


def assert_one_line_error(proc: subprocess.CompletedProcess[str], expected: str) -> None:
    assert proc.returncode == 1, proc
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("linkindex: error: "), lines[0]
    assert expected in lines[0], lines[0]
