"""The live index generation of DATA, a folder or an object store, resolved once.

A session (our queries, `linkindex paths`) reads `index/CURRENT` once and then names the
files of that one generation, so it never mixes two generations, and a build that
commits meanwhile changes nothing it reads (generations are never modified in place).

On an object store DuckDB reads through pyarrow's filesystem, wrapped for fsspec and
registered in the connection (`register`): its own httpfs extension is version-bound
and cannot be installed offline (PITFALLS). The paths are then `s3://bucket/prefix/…`,
the URLs a DuckDB with httpfs, Spark or polars would use too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from core import layout
from core.errors import LinkindexError
from core.schema import INDEX_FORMAT
from core.storage import Storage

TABLES = ("pages", "domains", "hosts")


@dataclass(frozen=True)
class LiveIndex:
    label: str  # DATA as shown in messages: the folder or the URL
    generation: str
    manifest: dict[str, Any]
    root: str  # the generation's folder: an absolute path, or a URL on a store
    edge_files: list[str]  # edges/bucket=<n>/*.parquet, by bucket number, then name
    tables: dict[str, str] = field(default_factory=dict)  # existing table → its file
    storage: Storage | None = None  # set on an object store

    @property
    def buckets(self) -> int:
        return layout.manifest_buckets(self.label, self.generation, self.manifest)

    def location(self, rel: str) -> str:
        """Where `rel` (relative to the generation) is, as a reader opens it."""
        return f"{self.root}/{rel}"


def resolve(data: Path | Storage, *, check_format: bool = True) -> LiveIndex:
    """DATA's live generation; one clear LinkindexError when there is none."""
    if isinstance(data, Storage) and not data.is_local:
        return _resolve_store(data, check_format)
    folder = Path(data.root) if isinstance(data, Storage) else Path(data)
    return _resolve_folder(folder.resolve(), check_format)


def _resolve_folder(data: Path, check_format: bool) -> LiveIndex:
    generation = layout.current_generation(data)  # CURRENT, read once
    manifest = layout.read_manifest(data, generation)  # raises when there is no index
    assert generation is not None
    gen_dir = layout.generation_dir(data, generation)
    found = []
    for path in (gen_dir / "edges").glob("bucket=*/*.parquet"):
        number = path.parent.name.removeprefix("bucket=")
        if number.isdigit() and not path.name.startswith("."):  # never a temporary file
            found.append((int(number), path.name, str(path)))
    live = LiveIndex(
        label=str(data), generation=generation, manifest=manifest, root=str(gen_dir),
        edge_files=[path for _, _, path in sorted(found)],
        tables={t: str(gen_dir / f"{t}.parquet") for t in TABLES
                if (gen_dir / f"{t}.parquet").is_file()})
    return _checked(live, check_format)


def _resolve_store(storage: Storage, check_format: bool) -> LiveIndex:
    label = storage.url
    try:
        generation = storage.read_text_once(f"index/{layout.CURRENT}").strip()
    except FileNotFoundError:
        generation = ""
    if not generation:
        raise LinkindexError(f"no index built yet in {label}: run `linkindex build --data "
                             f"{label}`")
    rel = f"index/{generation}"
    try:
        manifest = json.loads(storage.get_bytes(f"{rel}/{layout.MANIFEST}"))
    except (FileNotFoundError, json.JSONDecodeError) as exc:
        raise LinkindexError(f"index generation {generation} in {label} is unreadable: "
                             f"{exc}") from None
    scheme = storage.url.split("://", 1)[0]
    root = f"{scheme}://{storage.root}/{rel}"
    names = storage.list(rel)
    found = []
    for name in names:
        below = name[len(rel) + 1:].split("/")
        if len(below) == 3 and below[0] == "edges" and below[1].startswith("bucket="):
            number = below[1].removeprefix("bucket=")
            if number.isdigit():
                found.append((int(number), below[2], f"{root}/{'/'.join(below)}"))
    live = LiveIndex(
        label=label, generation=generation, manifest=manifest, root=root,
        edge_files=[path for _, _, path in sorted(found)],
        tables={t: f"{root}/{t}.parquet" for t in TABLES if f"{rel}/{t}.parquet" in names},
        storage=storage)
    return _checked(live, check_format)


def _checked(live: LiveIndex, check_format: bool) -> LiveIndex:
    index_format = layout.index_format(live.manifest)
    if check_format and index_format != INDEX_FORMAT:
        raise LinkindexError(
            f"index generation {live.generation} in {live.label} has index format "
            f"{index_format}; this linkindex reads format {INDEX_FORMAT}: run `linkindex "
            "build` to rebuild it")
    live.buckets  # noqa: B018 - raises the clear error when the manifest has none
    return live


def register_store(con: duckdb.DuckDBPyConnection, storage: Storage) -> None:
    """Let DuckDB open `scheme://…` paths of `storage` through pyarrow's filesystem."""
    from fsspec.implementations.arrow import ArrowFSWrapper

    scheme = storage.url.split("://", 1)[0]
    wrapper_type = type(f"{scheme.title()}Wrapper", (ArrowFSWrapper,), {"protocol": scheme})
    con.register_filesystem(wrapper_type(storage.fs))
