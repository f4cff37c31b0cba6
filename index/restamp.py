"""Write a bucket of an incremental build by streaming its previous file.

The previous file is already in EDGE_ORDER. What a build changes in it is small: the
rows of links seen again or anew (new runs) and of pages fetched again (`live`), the
"delta", merged by SQL (index.buckets) and sorted. Every other row only gets its
source's new domain rank. So the file is read row group by row group, the changed rows
are dropped, the delta rows that sort before the group's end are merged in, and each
group is written as it comes: no aggregation and no sort of the whole bucket, where a
merge through SQL would aggregate and sort all of it (bench/RESULTS.md, "build").

Keys are the EDGE_ORDER columns joined with NUL, which sorts below every character they
can hold, so joined keys compare as the tuples do (and as DuckDB's byte-wise ORDER BY).
A key column holding a NUL would break that: such a bucket is merged by SQL instead
(`streamable` checks the delta; `stream_bucket` raises NotStreamable on a previous row
whose anchor holds one: URLs are percent-encoded, hosts, domains and kinds cannot).
"""

from __future__ import annotations

import bisect
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.layout import TMP_PREFIX, parquet_metadata
from core.schema import INDEX_EDGES
from index.compact import EDGE_ORDER

SEP = "\x00"
# Past this share of the bucket, the delta is most of the work: merge by SQL instead.
MAX_DELTA_SHARE = 0.3


def edge_keys(table: pa.Table) -> pa.ChunkedArray | pa.Array:
    return pc.binary_join_element_wise(*(table[c] for c in EDGE_ORDER), SEP)


class NotStreamable(Exception):
    """A previous row the key order cannot place: the caller merges by SQL."""


def _one_chunk(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def streamable(old: Path, delta: pa.Table) -> bool:
    """Whether streaming is the cheaper and a safe way to write this bucket."""
    rows = pq.ParquetFile(old).metadata.num_rows
    if delta.num_rows > MAX_DELTA_SHARE * max(rows, 1):
        return False
    return not any(pc.any(pc.match_substring(delta[c], SEP)).as_py() for c in EDGE_ORDER)


@cache
def _lookup(path: str, mtime_ns: int, key: str, value: str) -> dict[str, float]:
    table = pq.read_table(path, columns=[key, value])
    return dict(zip(table[key].to_pylist(), table[value].to_pylist(), strict=True))


def domain_ranks(path: Path) -> dict[str, float]:
    """The new generation's ranks, read once per process (per ranks file)."""
    return _lookup(str(path), path.stat().st_mtime_ns, "domain", "domain_rank")


def page_ranks(path: Path) -> dict[str, float]:
    """The crawled pages' ranks by URL (index.rank_step.source_ranks_path), read once per
    process (per file)."""
    return _lookup(str(path), path.stat().st_mtime_ns, "url", "page_rank")


def _stamped(batch: pa.Table, key: str, column: str, ranks: dict[str, float]) -> pa.Table:
    """`batch` with `column` looked up in `ranks` per distinct value of `key`."""
    keys = pc.dictionary_encode(batch[key]).combine_chunks()
    values = pa.array([ranks.get(k, 0.0) for k in keys.dictionary.to_pylist()], pa.float64())
    return batch.set_column(batch.schema.get_field_index(column), INDEX_EDGES.field(column),
                            pc.take(values, keys.indices))


def _with_ranks(batch: pa.Table, ranks: dict[str, float],
                pages: dict[str, float]) -> pa.Table:
    """`batch` with src_domain_rank and src_page_rank looked up per distinct source."""
    batch = _stamped(batch, "src_domain", "src_domain_rank", ranks)
    return _stamped(batch, "src_url", "src_page_rank", pages)


def stream_bucket(old: Path, delta: pa.Table, ranks_path: Path, source_ranks_path: Path,
                  out: Path, row_group_size: int) -> None:
    """Write `out`: the rows of `old` not in `delta`, re-ranked, with `delta` merged in
    (delta: INDEX_EDGES rows, ranked, sorted in EDGE_ORDER)."""
    ranks = domain_ranks(ranks_path)
    pages = page_ranks(source_ranks_path)
    delta = delta.cast(INDEX_EDGES)
    delta_keys = _one_chunk(edge_keys(delta)) if delta.num_rows else pa.array([], pa.string())
    key_list = delta_keys.to_pylist()
    # DuckDB rounds a row group size up to a multiple of 2048: the same groups as a full build.
    group = -(-row_group_size // 2048) * 2048
    schema = INDEX_EDGES.with_metadata(parquet_metadata("index_edges"))
    tmp = out.with_name(f"{TMP_PREFIX}{out.name}")
    pending: list[pa.Table] = []
    held = 0
    taken = 0  # delta rows written so far

    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd", write_page_checksum=True) as writer:

            def emit(table: pa.Table, final: bool = False) -> None:
                nonlocal held
                if table.num_rows:
                    pending.append(table)
                    held += table.num_rows
                while held >= group or (final and held):
                    whole = pa.concat_tables(pending)
                    writer.write_table(whole.slice(0, group), row_group_size=group)
                    rest = whole.slice(group)
                    pending[:] = [rest] if rest.num_rows else []
                    held = rest.num_rows

            for batch in pq.ParquetFile(old).iter_batches(batch_size=group):
                rows = pa.Table.from_batches([batch])
                if rows.schema != INDEX_EDGES:
                    rows = rows.cast(INDEX_EDGES)
                if pc.any(pc.match_substring(rows["anchor"], SEP)).as_py():
                    raise NotStreamable(f"an anchor in {old} holds a NUL")
                last = SEP.join(rows[c][-1].as_py() for c in EDGE_ORDER)
                # Both are in key order: the delta rows that sort into this group, and only
                # they, can replace rows of it. Small lookups, never the whole delta.
                upto = bisect.bisect_right(key_list, last, lo=taken)
                if upto > taken:
                    mine = delta.slice(taken, upto - taken)
                    candidate = _one_chunk(pc.is_in(rows["src_url"],
                                                    value_set=_one_chunk(pc.unique(mine["src_url"]))))
                    if pc.any(candidate).as_py():
                        hit = pc.is_in(edge_keys(rows.filter(candidate)),
                                       value_set=delta_keys.slice(taken, upto - taken))
                        # hit's values at the candidates' places, False elsewhere
                        dropped = pc.replace_with_mask(candidate, candidate, _one_chunk(hit))
                        rows = rows.filter(pc.invert(dropped))
                    rows = pa.concat_tables([_with_ranks(rows, ranks, pages), mine])
                    rows = rows.take(pc.sort_indices(edge_keys(rows)))
                    taken = upto
                else:
                    rows = _with_ranks(rows, ranks, pages)
                emit(rows)
            emit(delta.slice(taken), final=True)
    except NotStreamable:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out)
