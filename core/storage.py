"""DATA as a folder or an object store: one small API over pyarrow.fs.

`Storage.of(data)` turns a DATA string into a pyarrow FileSystem and a root inside it:

    /srv/linkindex/data        LocalFileSystem, the absolute path
    file:///srv/linkindex/data the same
    s3://bucket/prefix         S3FileSystem, root "bucket/prefix"
    gs://bucket/prefix, …      whatever `pyarrow.fs.FileSystem.from_uri` knows

Every operation takes a path relative to DATA ("raw/c1/pages/w0-000001.parquet").

Choices, and why:

- **pyarrow.fs, not fsspec/s3fs.** pyarrow is already the one library that writes and
  reads every Parquet file here; its filesystems need no further dependency, and a
  `pyarrow.dataset` over them is what DuckDB, polars and pyarrow itself scan.
- **Write once, no rename.** Locally a file is written under a temporary name in its own
  folder (a dot-name, which listings skip), fsynced and renamed, as core.layout does. An
  object store has no rename (a copy and a delete are two requests and not atomic), so an
  object is published by one upload of the whole content, and S3 makes an object visible
  whole or not at all. Names are unique (worker id and sequence, a new generation), so
  nothing is ever overwritten in place, except pointers (below).
  Measured with pyarrow 26: its S3 output stream by default opens a multipart upload
  even for 5 bytes (three requests), and closing the stream after an exception
  *completes* the upload, so a partly written object appears. Here streams are opened
  with `allow_delayed_open`, which makes an upload of up to 10 MiB one PutObject, and the
  whole content is given in one `write` before `close`: a failed part upload makes
  `close` fail without completing. Bigger objects go as a multipart upload, which also
  appears only on completion; an interrupted one leaves invisible parts behind that a
  bucket lifecycle rule (AbortIncompleteMultipartUpload) reclaims.
- **Bytes as they are.** pyarrow's streams (de)compress by the name's extension unless
  told not to: a `.warc.gz` would be stored gzipped twice, or read back inflated. Every
  stream here is opened with `compression=None`.
- **CURRENT is one small object written last.** A build writes every file of a new
  generation under new names, then replaces the pointer with one PUT (`write_text`).
  S3 reads are strongly consistent, so a reader sees the old generation or the new one.
  pyarrow reads an object with a HEAD (its size) and a ranged GET; if a pointer changed
  length in between, the read could be cut short, so `write_text` ends the text with a
  newline and `read_text_once` reads again when the newline is missing.
- **Credentials from the environment only.** The AWS variables (AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, AWS_REGION) and profiles, the
  endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (as pyarrow's `from_uri` reads
  it). A DATA URL carrying credentials (`s3://key:secret@bucket`) or options (`?…`) is
  refused, no secret is passed as an argument, and error messages and `repr` name the
  bucket and prefix only (known secret values are masked besides).
- **Fail fast.** The S3 client gets short connect and request timeouts and at most three
  attempts: measured on loopback, a refused port fails in 1-2 s, a port that accepts and
  never answers in about 11 s. (pyarrow documents `request_timeout` as ignored on Linux;
  measured, it applies there as curl's low-speed limit: "less than 1 byte/sec for that
  many seconds", so a slow but moving transfer is not cut.) A plain `S3FileSystem()`
  would ignore AWS_ENDPOINT_URL and go to amazonaws.com; the endpoint is passed here.
  The first use of an S3 storage checks the bucket once (HEAD), so a wrong endpoint, a
  missing bucket or refused credentials is one `LinkindexError` line naming the URL, not
  a FileNotFoundError later.
- **DuckDB reads objects through pyarrow.** DuckDB's httpfs extension is version-bound
  and cannot be installed offline here (PyPI's builds are for 1.4/1.5, not 2.0), so the
  query layer (queries/live.py) registers this filesystem, wrapped for fsspec, in its
  connections and names files by their `s3://` URLs; DuckDB's own Parquet reader then
  prunes hive partitions and row groups as on a folder. A `pyarrow.dataset` over
  `storage.fs` works too (tests/test_storage.py: DuckDB pushes filters into its scan).
  This module itself imports no DuckDB (core/ is the ground floor).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

from core.errors import LinkindexError
from core.layout import TMP_PREFIX, atomic_path

# Socket timeouts (seconds) and attempts for S3: a wrong endpoint must fail, not hang.
CONNECT_TIMEOUT = 2.0
REQUEST_TIMEOUT = 5.0
RETRY_ATTEMPTS = 3

# Environment variables whose values never appear in a message.
_SECRET_VARS = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                "AWS_ACCESS_KEY_ID")
_ENDPOINT_VARS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
# pyarrow's S3 errors: "… AWS Error CODE during Operation operation: message"
_AWS_ERROR_RE = re.compile(r"AWS Error (?P<code>.+?) during (?P<op>\w+) operation: (?P<msg>.*)",
                           re.S)
_DENIED = ("ACCESS_DENIED", "INVALID_ACCESS_KEY_ID", "SIGNATURE_DOES_NOT_MATCH",
           "EXPIRED_TOKEN", "HTTP status 403", "HTTP status 401")


def is_store_url(text: str) -> bool:
    """Whether a DATA string names an object store (s3://…), not a folder (file:// is one)."""
    return bool(_SCHEME_RE.match(text)) and not text.lower().startswith("file:")


class Storage:
    """DATA on a filesystem pyarrow knows; paths are posix strings relative to DATA."""

    def __init__(self, *, url: str, root: str, source: str,
                 fs: pafs.FileSystem | None = None, bucket: str | None = None) -> None:
        # Use Storage.of(data); the arguments here are already checked.
        self.url = url  # for messages: never carries credentials
        self.root = root  # DATA's path inside self.fs
        self._source = source
        self._bucket = bucket  # set for S3: the filesystem is made on first use
        self._fs = fs
        self._lock = threading.Lock()

    # -- making one ---------------------------------------------------------------------

    @classmethod
    def of(cls, data: str | Path | Storage) -> Storage:
        """The storage for a DATA string: a local path or a URL (no network here)."""
        if isinstance(data, Storage):
            return data
        text = os.fspath(data)
        if not _SCHEME_RE.match(text):
            root = os.path.abspath(os.path.expanduser(text))
            return cls(url=root, root=root, source=root, fs=pafs.LocalFileSystem())
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        shown = f"{scheme}://{parts.hostname or ''}{parts.path}"
        if "@" in parts.netloc:
            raise LinkindexError(
                f"DATA {shown}: credentials in the URL are refused; give them in the "
                "environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)")
        if parts.query or parts.fragment:
            raise LinkindexError(
                f"DATA {shown}: options in the URL (?…) are refused; the endpoint and region "
                "come from the environment (AWS_ENDPOINT_URL, AWS_REGION)")
        if scheme == "file":
            return cls.of(parts.path)
        if scheme == "s3":
            return cls._s3(parts.netloc, parts.path)
        try:
            fs, root = pafs.FileSystem.from_uri(text)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise LinkindexError(_scrub(f"DATA {shown}: {exc}")) from None
        if isinstance(fs, pafs.LocalFileSystem):
            return cls.of(root)
        return cls(url=shown.rstrip("/"), root=root.rstrip("/"), source=text, fs=fs)

    @classmethod
    def _s3(cls, bucket: str, path: str) -> Storage:
        if not _BUCKET_RE.match(bucket):
            raise LinkindexError(
                f"DATA s3://{bucket}{path}: bad bucket name {bucket!r} (3-63 characters: "
                "lower-case letters, digits, '.' and '-')")
        prefix = path.strip("/")
        if prefix:
            _check_rel(prefix)
        root = f"{bucket}/{prefix}" if prefix else bucket
        return cls(url=f"s3://{root}", root=root, source=f"s3://{root}", bucket=bucket)

    def __repr__(self) -> str:
        return f"Storage({self.url!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as its URL: a process that unpickles it resolves credentials itself.
        return (Storage.of, (self._source,))

    @property
    def fs(self) -> pafs.FileSystem:
        """The pyarrow filesystem (for S3 made, and the bucket checked, on first use)."""
        if self._fs is None:
            with self._lock:
                if self._fs is None:
                    self._fs = self._connect()
        return self._fs

    def _connect(self) -> pafs.FileSystem:
        bucket = self._bucket
        assert bucket is not None
        endpoint = _env_endpoint()
        try:
            # Against AWS itself the bucket's region is looked up (as from_uri does);
            # against another endpoint the region comes from the environment or profile.
            region = pafs.resolve_s3_region(bucket) if endpoint is None else None
            fs = pafs.S3FileSystem(
                region=region, endpoint_override=endpoint,
                connect_timeout=CONNECT_TIMEOUT, request_timeout=REQUEST_TIMEOUT,
                retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=RETRY_ATTEMPTS),
                allow_delayed_open=True)
            info = fs.get_file_info(bucket)
        except (OSError, pa.ArrowException) as exc:
            raise self._failure("opening the bucket", exc) from None
        if info.type == pafs.FileType.NotFound:
            raise LinkindexError(_scrub(
                f"{self.url}: bucket {bucket!r} does not exist ({_where(endpoint)})"))
        return fs

    # -- paths --------------------------------------------------------------------------

    @property
    def is_local(self) -> bool:
        return isinstance(self._fs, pafs.LocalFileSystem)

    def path(self, rel: str) -> str:
        """The path of `rel` inside `self.fs` ("bucket/prefix/rel" on S3)."""
        _check_rel(rel)
        return f"{self.root.rstrip('/')}/{rel}"

    def local_path(self, rel: str) -> Path:
        if not self.is_local:
            raise ValueError(f"{self.url} is not a local folder")
        return Path(self.path(rel))

    # -- writing ------------------------------------------------------------------------

    def put_bytes(self, rel: str, data: bytes | bytearray | memoryview) -> None:
        """Publish `data` at `rel`, whole or not at all."""
        path = self.path(rel)
        if self.is_local:
            self._local_publish(rel, path, lambda fh: fh.write(data))
        else:
            self._remote_publish(rel, path, pa.py_buffer(data))

    def put_file(self, rel: str, local_path: str | Path) -> None:
        """Publish a copy of the local file `local_path` at `rel`, whole or not at all."""
        path = self.path(rel)
        if self.is_local:
            with open(local_path, "rb") as src:
                self._local_publish(rel, path, lambda fh: _copy(src, fh))
            return
        with pa.memory_map(os.fspath(local_path)) as src:
            # One buffer, one write: pyarrow sees the whole content before close.
            self._remote_publish(rel, path, src.read_buffer())

    def write_text(self, rel: str, text: str) -> None:
        """Replace a small pointer object (CURRENT) in one PUT; ends it with a newline."""
        self.put_bytes(rel, (text if text.endswith("\n") else text + "\n").encode())

    def _local_publish(self, rel: str, path: str, write: Callable[[BinaryIO], object]) -> None:
        final = Path(path)
        tmp = final.with_name(f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{final.name}")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "xb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except OSError as exc:
            raise self._failure(f"writing {rel}", exc) from None
        finally:
            tmp.unlink(missing_ok=True)

    def _remote_publish(self, rel: str, path: str, buf: pa.Buffer) -> None:
        try:
            out = self.fs.open_output_stream(path, compression=None)
            out.write(buf)
            out.close()
        except (OSError, pa.ArrowException) as exc:
            raise self._failure(f"writing {rel}", exc) from None

    # -- reading ------------------------------------------------------------------------

    def get_bytes(self, rel: str) -> bytes:
        path = self.path(rel)
        try:
            with self.fs.open_input_stream(path, compression=None) as fh:
                return fh.read()
        except FileNotFoundError:
            raise self._missing(rel) from None
        except (OSError, pa.ArrowException) as exc:
            raise self._failure(f"reading {rel}", exc) from None

    def open_input(self, rel: str) -> pa.NativeFile:
        """A random-access file (for pyarrow.parquet); FileNotFoundError if missing."""
        path = self.path(rel)
        try:
            return self.fs.open_input_file(path)
        except FileNotFoundError:
            raise self._missing(rel) from None
        except (OSError, pa.ArrowException) as exc:
            raise self._failure(f"opening {rel}", exc) from None

    def read_text_once(self, rel: str) -> str:
        """A small pointer object (CURRENT), read whole now (never cached).

        On an object store a read that lost the trailing newline `write_text` writes was
        cut by a concurrent replacement: it is read again (a stable text without the
        newline, written by someone else, is returned as it is after three reads).
        """
        data = self.get_bytes(rel)
        for _ in range(2):
            if self.is_local or data.endswith(b"\n"):
                break
            data = self.get_bytes(rel)
        return data.decode()

    def _info(self, rel: str, action: str) -> pafs.FileInfo:
        path = self.path(rel)
        try:
            return self.fs.get_file_info(path)
        except (OSError, pa.ArrowException) as exc:
            raise self._failure(f"{action} {rel}", exc) from None

    def exists(self, rel: str) -> bool:
        """Whether an object (a file, not a folder) is at `rel`."""
        return self._info(rel, "looking up").type == pafs.FileType.File

    def size(self, rel: str) -> int:
        info = self._info(rel, "looking up")
        if info.type != pafs.FileType.File:
            raise self._missing(rel)
        return int(info.size)

    def list(self, prefix: str = "", suffix: str | None = ".parquet") -> list[str]:
        """Relative paths of every object under `prefix` (recursive), sorted.

        Names starting with "." below `prefix` are skipped, files and folders alike
        (temporary files and staging folders), as core.layout.raw_parts does.
        """
        return sorted(rel for rel in self.listing(prefix) if not suffix or rel.endswith(suffix))

    def listing(self, prefix: str = "") -> dict[str, tuple[int, int]]:
        """Every object under `prefix` (as `list`, any suffix): (size, mtime in ns)."""
        prefix = prefix.strip("/")
        base = self.path(prefix) if prefix else self.root.rstrip("/")
        selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
        try:
            infos = self.fs.get_file_info(selector)
        except (OSError, pa.ArrowException) as exc:
            raise self._failure(f"listing {prefix or '.'}/", exc) from None
        found = {}
        for info in infos:
            if info.type != pafs.FileType.File or not info.path.startswith(base + "/"):
                continue
            below = info.path[len(base) + 1:]
            if not any(part.startswith(".") for part in below.split("/")):
                found[f"{prefix}/{below}" if prefix else below] = (int(info.size),
                                                                   int(info.mtime_ns or 0))
        return found

    def get_file(self, rel: str, local_path: str | Path) -> None:
        """Copy the object `rel` to `local_path` (written whole, then renamed into place)."""
        try:
            with (atomic_path(Path(local_path)) as tmp,
                  self.fs.open_input_stream(self.path(rel), compression=None) as src,
                  open(tmp, "wb") as dst):
                _copy(src, dst)
        except FileNotFoundError:
            raise self._missing(rel) from None
        except (OSError, pa.ArrowException) as exc:
            raise self._failure(f"reading {rel}", exc) from None

    def copy(self, src: str, dst: str) -> None:
        """Copy the object `src` to `dst` inside the store (S3: a server-side copy)."""
        if self.is_local:
            try:
                self.put_file(dst, self.path(src))
            except FileNotFoundError:
                raise self._missing(src) from None
            return
        try:
            self.fs.copy_file(self.path(src), self.path(dst))
        except FileNotFoundError:
            raise self._missing(src) from None
        except (OSError, pa.ArrowException) as exc:
            raise self._failure(f"copying {src} to {dst}", exc) from None

    # -- deleting -----------------------------------------------------------------------

    def delete(self, rel: str) -> None:
        """Delete one object; nothing to do if it is missing."""
        path = self.path(rel)
        try:
            self.fs.delete_file(path)
        except FileNotFoundError:
            pass
        except (OSError, pa.ArrowException) as exc:
            raise self._failure(f"deleting {rel}", exc) from None

    def delete_prefix(self, prefix: str) -> None:
        """Delete everything under the folder `prefix` (never DATA itself)."""
        prefix = prefix.strip("/")
        if not prefix:
            raise ValueError("delete_prefix needs a prefix: it never deletes DATA itself")
        path = self.path(prefix)
        try:
            if self.fs.get_file_info(path).type == pafs.FileType.NotFound:
                return
            # S3: pyarrow lists the keys under "prefix/" and deletes them in batches; it
            # then leaves an empty "parent/" marker object, which listings ignore.
            self.fs.delete_dir(path)
        except FileNotFoundError:
            pass
        except (OSError, pa.ArrowException) as exc:
            raise self._failure(f"deleting {prefix}/", exc) from None

    # -- errors -------------------------------------------------------------------------

    def _missing(self, rel: str) -> FileNotFoundError:
        return FileNotFoundError(errno.ENOENT, "no such object", f"{self.url}/{rel}")

    def _failure(self, action: str, exc: BaseException) -> LinkindexError:
        """One line naming the URL and what went wrong; never a credential."""
        endpoint = _env_endpoint() if self._bucket else None
        return LinkindexError(_scrub(f"{self.url}: {action} failed: {_reason(exc, endpoint)}"))


def _check_rel(rel: str) -> None:
    if not isinstance(rel, str) or not rel or rel.startswith("/") or "\\" in rel:
        raise ValueError(f"not a relative posix path: {rel!r}")
    if any(part in ("", ".", "..") for part in rel.split("/")):
        raise ValueError(f"not a plain relative path: {rel!r}")


def _copy(src: BinaryIO, dst: BinaryIO) -> None:
    while chunk := src.read(1 << 20):
        dst.write(chunk)


def _env_endpoint() -> str | None:
    for var in _ENDPOINT_VARS:
        value = os.environ.get(var, "").strip()
        if value:
            return value
    return None


def _where(endpoint: str | None) -> str:
    return f"endpoint {_redact_url(endpoint)}" if endpoint else "AWS S3"


def _reason(exc: BaseException, endpoint: str | None) -> str:
    text = str(exc)
    match = _AWS_ERROR_RE.search(text)
    if not match:
        return text or type(exc).__name__
    code, op = match["code"], match["op"]
    msg = re.sub(r"\s*\(Request ID: [^)]*\)", "", match["msg"]).strip()
    if code == "NETWORK_CONNECTION":
        detail = re.search(r"curlCode: \d+, ([^;]+)", msg)
        return (f"cannot reach the {_where(endpoint)}"
                f" ({detail[1].strip() if detail else msg})")
    if code == "NO_SUCH_BUCKET":
        return f"the bucket does not exist ({_where(endpoint)})"
    if any(d in code for d in _DENIED):
        return (f"access denied ({code} during {op}); credentials come from the "
                "environment: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN "
                "or AWS_PROFILE")
    return f"{code} during {op}: {msg}"


def _redact_url(url: str) -> str:
    return re.sub(r"(//)[^/@\s]*@", r"\1", url)


def _scrub(text: str) -> str:
    """One line, with user:password@ in URLs and known secret values removed."""
    text = _redact_url(text)
    for var in _SECRET_VARS:
        value = os.environ.get(var, "")
        if len(value) >= 8:  # real keys are 20-40 characters; never mask common words
            text = text.replace(value, "***")
    return " ".join(text.split())
