"""The files of a Common Crawl web-graph release, read as Arrow batches and checked as
they stream (cc-webgraph's formats; all gzip, tab-separated, no quoting):

- vertices: ``id<TAB>reversed_name[<TAB>n_hosts]``, no header; id is the 0-based line
  number in C-locale (byte) order of the reversed name (``com.example``); domain-level
  releases add n_hosts;
- edges: ``from_id<TAB>to_id``, no header, sorted numerically, unique, no self-loops;
- ranks: a header ``#harmonicc_pos #harmonicc_val #pr_pos #pr_val #host_rev [#n_hosts]``
  (tabs), then one line per vertex in harmonic-centrality order; joined on the name.

Some releases were published mis-sorted or with a label twice: each check names the
file, the line and what is wrong (``GraphFileError``), instead of a wrong graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

from core.errors import LinkindexError

__all__ = ["RANKS_HEADER", "GraphFileError", "read_edges", "read_ranks", "read_vertices"]

RANKS_HEADER = ("#harmonicc_pos", "#harmonicc_val", "#pr_pos", "#pr_val", "#host_rev")
BLOCK = 16 << 20  # bytes of text parsed per batch


class GraphFileError(LinkindexError):
    """A release file that is not what its format promises: one line saying where."""


def _open(path: Path, columns: list[str], types: dict[str, pa.DataType],
          skip_rows: int = 0) -> csv.CSVStreamingReader:
    stream = pa.input_stream(str(path), compression="gzip" if path.suffix == ".gz" else None)
    return csv.open_csv(
        stream,
        read_options=csv.ReadOptions(column_names=columns, block_size=BLOCK,
                                     skip_rows=skip_rows),
        parse_options=csv.ParseOptions(delimiter="\t", quote_char=False,
                                       double_quote=False),
        convert_options=csv.ConvertOptions(column_types=types, strings_can_be_null=False),
    )


def _batches(path: Path, what: str,
             opener: Callable[[], csv.CSVStreamingReader]) -> Iterator[pa.RecordBatch]:
    """The reader's batches; a damaged stream (truncated gzip, a bad line) is one line."""
    try:
        for batch in opener():
            if batch.num_rows:
                yield batch
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        reason = str(exc).splitlines()[0]
        if "truncated" in reason.lower() or "gzip" in reason.lower() or isinstance(
                exc, EOFError):
            reason = f"the gzip stream is damaged or ends early ({reason})"
        raise GraphFileError(f"{what} file {path.name}: {reason}") from None


def read_vertices(path: Path, *, domain_level: bool, start: int = 0
                  ) -> Iterator[pa.RecordBatch]:
    """Batches of (id, rev[, n_hosts]), ids checked to be 0, 1, 2, ... and names to be
    strictly increasing in byte order (so unique). A shard of a sharded (host-level)
    release starts at id `start`; its place among the shards is the caller's check."""
    columns = ["id", "rev", "n_hosts"] if domain_level else ["id", "rev"]
    types = {"id": pa.uint64(), "rev": pa.string(), "n_hosts": pa.uint64()}
    expected_id = start
    last: str | None = None
    for batch in _batches(path, "vertices", lambda: _open(path, columns, types)):
        ids = batch.column("id").to_numpy()
        wrong = np.flatnonzero(ids != np.arange(expected_id, expected_id + len(ids),
                                                dtype=np.uint64))
        if len(wrong):
            line = expected_id - start + int(wrong[0]) + 1
            rule = "ids are line numbers from 0" if not start else \
                f"this shard's ids are line numbers from {start:,}"
            raise GraphFileError(f"vertices file {path.name} line {line:,}: id "
                                 f"{int(ids[wrong[0]])}, expected {line - 1 + start} ({rule})")
        rev = batch.column("rev")
        names = pa.concat_arrays([pa.array([last], pa.string()), rev]) if last is not None \
            else rev
        ordered = pc.greater(names.slice(1), names.slice(0, len(names) - 1))
        if not pc.all(ordered).as_py():
            at = int(np.flatnonzero(~ordered.to_numpy(zero_copy_only=False))[0])
            line = expected_id - start + at + (1 if last is not None else 2)
            before, here = names[at].as_py(), names[at + 1].as_py()
            problem = "is there twice" if before == here else f"comes after {before!r}"
            raise GraphFileError(f"vertices file {path.name} line {line:,}: {here!r} "
                                 f"{problem} (names must be unique, in C-locale order)")
        last = rev[-1].as_py()
        expected_id += len(ids)
        yield batch


def read_edges(path: Path, vertices: int, *, skip: int = 0) -> Iterator[pa.RecordBatch]:
    """Batches of (src, dst) ids after the first `skip` lines, checked: sorted by
    (src, dst), unique, no self-loop, every id below `vertices`."""
    types = {"src": pa.uint64(), "dst": pa.uint64()}
    line = 0
    previous: tuple[int, int] | None = None
    for batch in _batches(path, "edges", lambda: _open(path, ["src", "dst"], types)):
        if line + batch.num_rows <= skip:
            line += batch.num_rows
            if skip == line:
                previous = (batch.column("src")[-1].as_py(), batch.column("dst")[-1].as_py())
            continue
        if line < skip:
            cut = skip - line
            previous = (batch.column("src")[cut - 1].as_py(), batch.column("dst")[cut - 1].as_py())
            batch = batch.slice(cut)
            line = skip
        src = batch.column("src").to_numpy()
        dst = batch.column("dst").to_numpy()
        _check_edges(path, src, dst, previous, line, vertices)
        previous = (int(src[-1]), int(dst[-1]))
        line += batch.num_rows
        yield batch


def _check_edges(path: Path, src: np.ndarray, dst: np.ndarray, previous: tuple[int, int] | None,
                 line: int, vertices: int) -> None:
    def bad(index: int, problem: str) -> GraphFileError:
        return GraphFileError(f"edges file {path.name} line {line + index + 1:,}: "
                              f"{int(src[index])}\t{int(dst[index])}: {problem}")

    if previous is not None:
        src = np.concatenate([[previous[0]], src]).astype(np.uint64)
        dst = np.concatenate([[previous[1]], dst]).astype(np.uint64)
        line -= 1
    out = np.flatnonzero((src >= vertices) | (dst >= vertices))
    if len(out):
        raise bad(int(out[0]), f"an id not below the {vertices:,} vertices")
    loops = np.flatnonzero(src == dst)
    if len(loops):
        raise bad(int(loops[0]), "a self-loop")
    after = (src[1:] > src[:-1]) | ((src[1:] == src[:-1]) & (dst[1:] > dst[:-1]))
    wrong = np.flatnonzero(~after)
    if len(wrong):
        at = int(wrong[0]) + 1
        same = src[at] == src[at - 1] and dst[at] == dst[at - 1]
        raise bad(at, "the same edge twice" if same else
                  f"after {int(src[at - 1])}\t{int(dst[at - 1])}: not sorted")


def read_ranks(path: Path, *, domain_level: bool) -> Iterator[pa.RecordBatch]:
    """Batches of (harmonic_pos, harmonic, pr_pos, pr, rev[, n_hosts]) after the header
    is checked, in harmonic-centrality order (checked)."""
    expected = [*RANKS_HEADER, *(["#n_hosts"] if domain_level else [])]
    with pa.input_stream(str(path), compression="gzip" if path.suffix == ".gz" else None) as fh:
        try:
            head = fh.read(4096).split(b"\n", 1)[0].decode("utf-8", "replace")
        except (OSError, EOFError) as exc:
            raise GraphFileError(f"ranks file {path.name}: the gzip stream is damaged ({exc})"
                                 ) from None
    if head.split("\t") != expected:
        raise GraphFileError(f"ranks file {path.name} line 1: header {head!r}, expected "
                             f"{chr(9).join(expected)!r}")
    columns = ["harmonic_pos", "harmonic", "pr_pos", "pr", "rev",
               *(["n_hosts"] if domain_level else [])]
    types = {"harmonic_pos": pa.uint64(), "harmonic": pa.float64(), "pr_pos": pa.uint64(),
             "pr": pa.float64(), "rev": pa.string(), "n_hosts": pa.uint64()}
    line = 1
    last = 0
    for batch in _batches(path, "ranks", lambda: _open(path, columns, types, skip_rows=1)):
        positions = batch.column("harmonic_pos").to_numpy()
        steps = np.diff(np.concatenate([[last], positions]).astype(np.int64))
        wrong = np.flatnonzero(steps <= 0)
        if len(wrong):
            raise GraphFileError(f"ranks file {path.name} line {line + int(wrong[0]) + 1:,}: "
                                 "not in harmonic-centrality order")
        last = int(positions[-1])
        line += batch.num_rows
        yield batch
