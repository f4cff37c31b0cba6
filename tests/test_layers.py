"""The layer rules (docs/architecture.md) are contracts in pyproject.toml, checked by
import-linter: a wrong import fails the suite, not a review."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "crawler", "pipelines", "index", "queries", "report", "monitor", "linkindex",
            "synthweb")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # --no-cache: a copy of the tree must not reuse the real tree's import graph.
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
    )


def copy_tree(dest: Path) -> Path:
    dest.mkdir()
    shutil.copy(REPO / "pyproject.toml", dest / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(REPO / package, dest / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_the_layer_contracts_hold() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    # Every rule of docs/architecture.md is a contract that ran.
    for contract in (
        "Stages sit on core/, and nothing imports a later stage",
        "core/ is the Scrapy-free ground floor",
        "index/, queries/ and report/ know no Scrapy, no Redis and no crawler",
        "The crawl side (crawler/, pipelines/) knows no index, queries or report",
    ):
        assert f"{contract} KEPT" in result.stdout


def test_a_wrong_import_fails(tmp_path: Path) -> None:
    """The contracts can fail: each kind of wrong import, added to a copy, breaks one."""
    wrong = {
        "core/schema.py": "import crawler.items  # noqa\n",  # core imports a stage
        "index/build.py": "import scrapy  # noqa\n",  # index/ needs Scrapy
        "queries/export.py": "import core.extractor  # noqa\nimport crawler.seeds  # noqa\n",
        "crawler/seeds.py": "import index.build  # noqa\n",  # crawl side knows the index
    }
    for path, line in wrong.items():
        root = copy_tree(tmp_path / path.replace("/", "_"))
        target = root / path
        target.write_text(target.read_text() + line)
        result = lint_imports(root)
        assert result.returncode == 1, (path, result.stdout)
        assert "BROKEN" in result.stdout, (path, result.stdout)
