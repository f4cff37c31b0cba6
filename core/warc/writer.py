"""WARC archiving of a crawl: one rolling WARC file per raw part, whole or not at all.

No Scrapy here. `RawPartsPipeline` calls `WarcWriter.write` for each archived page
before buffering its rows, and `WarcWriter.close` just before each Parquet flush, so:

- the WARC for part `<worker>-<seq>.parquet` is `DATA/warc/<crawl_id>/<worker>-<seq>.warc.gz`;
- it is written under a temporary name and renamed into place *before* the Parquet pair
  that points into it: a pages row never points at a missing file, and a killed worker
  leaves no partial WARC under a final name (only a `.tmp-*` file, which readers skip).

Each record is its own gzip member (so any record can be read from its offset alone),
compressed here with zlib at a low level: warcio writes level 9, measured at ~2 ms per
43 KB page, which would halve a crawl's throughput (bench/warc.py compares levels).
Level 0 writes plain, uncompressed `.warc` files.

The records themselves (fields, dates, digests, headers) are core/warc/format.py.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from core.layout import TMP_PREFIX, warc_dir
from core.parts import epoch_ms
from core.warc.format import (
    DEPTH_HEADER,
    SOFTWARE,
    Evidence,
    base32_digest,
    record_bytes,
    record_head,
    record_id,
    request_block,
    response_head,
    sha1_digest,
    warc_date,
)


class WarcWriter:
    """Writes request + response records per page into the WARC of the current part."""

    def __init__(self, data: Path, crawl_id: str, *, level: int = 1,
                 software: str = SOFTWARE) -> None:
        if not 0 <= level <= 9:
            raise ValueError(f"WARC gzip level must be 0 (no compression) to 9, not {level}")
        self.data = data
        self.crawl_id = crawl_id
        self.level = level
        self.software = software
        self.suffix = ".warc.gz" if level else ".warc"
        self._fh: IO[bytes] | None = None
        self._name: str | None = None  # the part name the open file belongs to
        self._tmp: Path | None = None
        self._pos = 0
        self._info_id = ""
        self._relative = ""  # pages.warc_file of the open file

    def path_for(self, part_name: str) -> Path:
        return warc_dir(self.data, self.crawl_id) / (part_name.rsplit(".", 1)[0] + self.suffix)

    def taken(self, part_name: str) -> bool:
        """A WARC of that part's name exists (a killed run's): PartWriter skips the name."""
        return self.path_for(part_name).exists()

    def _append(self, *pieces: bytes) -> int:
        """Write one record (given in pieces, to spare copying the body) as one member."""
        assert self._fh is not None
        offset = self._pos
        if self.level:
            compressor = zlib.compressobj(self.level, zlib.DEFLATED, 31)  # 31 = gzip framing
            pieces = tuple(compressor.compress(piece) for piece in pieces) + (compressor.flush(),)
        for piece in pieces:
            self._fh.write(piece)
            self._pos += len(piece)
        return offset

    def _open(self, part_name: str) -> None:
        final = self.path_for(part_name)
        final.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = final.with_name(f"{TMP_PREFIX}{os.getpid()}-{final.name}")
        self._fh = open(self._tmp, "wb")
        self._name, self._pos = part_name, 0
        self._relative = final.relative_to(self.data).as_posix()
        self._info_id = record_id()
        info = (f"software: {self.software}\r\nformat: WARC File Format 1.1\r\n"
                f"isPartOf: {self.crawl_id}\r\n").encode()
        self._append(record_bytes([
            ("WARC-Type", "warcinfo"),
            ("WARC-Record-ID", self._info_id),
            ("WARC-Date", warc_date(epoch_ms(datetime.now(UTC)))),
            ("WARC-Filename", final.name),
            ("Content-Type", "application/warc-fields"),
        ], info))

    def write(self, part_name: str, page: dict[str, Any], evidence: Evidence) -> dict[str, Any]:
        """Archive one fetch; return the pages row with `warc_file` and `warc_offset` set."""
        if self._name != part_name:
            self.close()
            self._open(part_name)
        date = warc_date(epoch_ms(page["fetched_at"]))
        response_id = record_id()
        request = request_block(evidence)
        self._append(record_bytes([
            ("WARC-Type", "request"),
            ("WARC-Record-ID", record_id()),
            ("WARC-Date", date),
            ("WARC-Target-URI", evidence.url),
            ("WARC-Concurrent-To", response_id),
            ("WARC-Warcinfo-ID", self._info_id),
            ("WARC-Block-Digest", sha1_digest(request)),
            ("Content-Type", "application/http;msgtype=request"),
        ], request))
        head = response_head(evidence)
        body = evidence.body
        block_digest = hashlib.sha1(head)
        block_digest.update(body)
        fields = [
            ("WARC-Type", "response"),
            ("WARC-Record-ID", response_id),
            ("WARC-Date", date),
            ("WARC-Target-URI", evidence.url),
        ]
        if evidence.ip:
            fields.append(("WARC-IP-Address", evidence.ip))
        fields.append(("WARC-Warcinfo-ID", self._info_id))
        if page.get("depth") is not None:
            fields.append((DEPTH_HEADER, str(page["depth"])))
        fields += [
            ("WARC-Block-Digest", base32_digest(block_digest)),
            ("WARC-Payload-Digest", sha1_digest(body)),
            ("Content-Type", "application/http;msgtype=response"),
        ]
        offset = self._append(record_head(fields, len(head) + len(body)), head, body,
                              b"\r\n\r\n")
        return {**page, "warc_file": self._relative, "warc_offset": offset}

    def close(self) -> Path | None:
        """Make the open WARC whole: flush, fsync, rename into place. None if none open."""
        if self._fh is None or self._name is None or self._tmp is None:
            return None
        final = self.path_for(self._name)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self._tmp, final)
        self._fh = self._name = self._tmp = None
        return final
