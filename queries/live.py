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
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb

from core import layout
from core.errors import LinkindexError
from core.schema import INDEX_FORMAT
from core.storage import Storage

# The generation's one-file tables, as `linkindex paths` lists them.
TABLES = ("pages", "hosts", "domains", "fetches", "credits", "page_ranks", "credited",
          "page_terms", "domain_links")


@dataclass(frozen=True)
class LiveGraph:
    """The active Common Crawl web-graph release (DATA/ccgraph/ACTIVE), if any."""

    release: str
    buckets: int
    root: str  # its folder: an absolute path, or a URL on a store

    @property
    def vertices(self) -> str:
        return f"{self.root}/vertices.parquet"

    @property
    def links(self) -> str:
        return f"{self.root}/links/bucket=*/*.parquet"


@dataclass
class LiveIndex:
    """The live generation: named by reading CURRENT and its manifest once. Its files
    are listed only when asked (a session opens once per generation; a query on an
    open session must not list 4096 bucket folders)."""

    label: str  # DATA as shown in messages: the folder or the URL
    generation: str
    manifest: dict[str, Any]
    root: str  # the generation's folder: an absolute path, or a URL on a store
    storage: Storage | None = None  # set on an object store
    graph: LiveGraph | None = None  # an imported Common Crawl graph (index/ccgraph/)

    @property
    def buckets(self) -> int:
        return layout.manifest_buckets(self.label, self.generation, self.manifest)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What names what a session reads: DATA, the generation (never changed once
        committed: its name and creation time name it) and the active web graph."""
        return (self.label, self.generation, str(self.manifest.get("created_at")),
                self.graph.release if self.graph else "")

    def location(self, rel: str) -> str:
        """Where `rel` (relative to the generation) is, as a reader opens it."""
        return f"{self.root}/{rel}"

    @cached_property
    def _files(self) -> list[str]:
        """Every file of the generation, relative to it."""
        if self.storage is not None:
            prefix = f"index/{self.generation}"
            return [rel[len(prefix) + 1:] for rel in self.storage.list(prefix)]
        root = Path(self.root)
        return [p.relative_to(root).as_posix() for p in root.rglob("*.parquet")]

    @cached_property
    def edge_files(self) -> list[str]:
        """edges/bucket=<n>/*.parquet, by bucket number (2 before 10), then name."""
        found = []
        for rel in self._files:
            parts = rel.split("/")
            if len(parts) == 3 and parts[0] == "edges" and parts[1].startswith("bucket="):
                number = parts[1].removeprefix("bucket=")
                if number.isdigit() and not parts[2].startswith("."):  # never a temp file
                    found.append((int(number), parts[2], self.location(rel)))
        return [path for _, _, path in sorted(found)]

    @cached_property
    def tables(self) -> dict[str, str]:
        """The generation's one-file tables that exist, each with its location."""
        files = set(self._files)
        return {t: self.location(f"{t}.parquet") for t in TABLES if f"{t}.parquet" in files}


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
    live = LiveIndex(label=str(data), generation=generation, manifest=manifest,
                     root=str(gen_dir), graph=_graph(Storage.of(data), str(data)))
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
    live = LiveIndex(label=label, generation=generation, manifest=manifest,
                     root=f"{scheme}://{storage.root}/{rel}", storage=storage,
                     graph=_graph(storage, f"{scheme}://{storage.root}"))
    return _checked(live, check_format)


def _graph(storage: Storage, root: str) -> LiveGraph | None:
    """The release DATA/ccgraph/ACTIVE names, read with the index's CURRENT."""
    folder = f"{layout.CCGRAPH}"
    try:
        release = storage.read_text_once(f"{folder}/{layout.CCGRAPH_ACTIVE}").strip()
        manifest = json.loads(storage.get_bytes(f"{folder}/{release}/{layout.MANIFEST}"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as exc:
        raise LinkindexError(f"web graph {release} in {root}: unreadable manifest ({exc})"
                             ) from None
    return LiveGraph(release, int(manifest["buckets"]), f"{root}/{folder}/{release}")


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
