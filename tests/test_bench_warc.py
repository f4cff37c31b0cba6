"""bench/warc.py keeps working: its smoke size runs, and its numbers are consistent."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from clitools import run

# A whole benchmark in a subprocess.
pytestmark = pytest.mark.slow


def test_bench_warc_smoke(tmp_path: Path) -> None:
    out = tmp_path / "warc.json"
    proc = run([sys.executable, "-m", "bench.warc", "--smoke", "--json", str(out)])
    assert "## bench warc" in proc.stdout
    results = json.loads(out.read_text())
    writers = {r["writer"]: r for r in results["writer"]}
    assert len(writers) == 7 and all(r["pages_per_s"] > 0 for r in writers.values())
    # gzip members are smaller than the HTML; plain records are larger
    assert writers["WarcWriter level 1"]["size_ratio"] < 1 < writers[
        "WarcWriter level 0 (plain)"]["size_ratio"]
    crawls = results["crawls"]
    [plain], [archived] = crawls["no --warc"], crawls["--warc"]
    assert plain["pages"] == archived["pages"] > 100
    assert plain["warc_bytes"] == 0 < archived["warc_bytes"]
    imports = {r["reader"]: r for r in results["imports"]}
    assert len({r["records"] for r in imports.values()}) == 1  # every reader read every record
    assert imports["import-warc --jobs 1"]["pages"] == archived["pages"]
    assert imports["import-warc --jobs 1"]["links"] == imports["import-warc --jobs 2"]["links"]
