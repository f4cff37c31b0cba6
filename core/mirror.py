"""A local working copy of DATA on an object store, and the cache folder it lives in.

The build, `import-warc` and `reextract` work on local files: DuckDB sorts and spills on
local disk, hard-links reusable buckets and renames finished files into place. On an
object store (`s3://…`) they run unchanged on a *mirror*, a local folder kept in the
cache: `pull` makes the folder equal to the store (downloading only objects that are new
or changed, by size and time, so a persistent cache downloads only what changed since the
last step), the command runs there, and `push` publishes what it changed. Why not
rewrite every step against the store: the steps' logic stays one code path, tested once,
and a local sort is what a build wants anyway (spill cannot go to an object store).

`push` publishes exactly the difference the command made to the folder, in this order:
new and changed objects (each written once, whole, under its unique name), then the
pointer objects (`CURRENT`) last, then deletions. So several tasks of one cluster step,
each on its own machine and mirror, never undo each other's work: each publishes only
its own files, and a reader of the store sees the old generation or the new one. A file
hard-linked from one that is already in the store (a bucket a build reuses) is copied
inside the store (S3: CopyObject), not uploaded again.

Crawls do not mirror: their parts go to the store as each one is finished (`Spool`),
so a worker's disk holds only the parts it has not published yet.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from core.storage import Storage

POINTERS = ("index/CURRENT",)  # replaced in place: published after everything they point to
TRANSFER_THREADS = 8  # pyarrow's S3 calls release the GIL: transfers overlap
CACHE_ENV = "LINKINDEX_CACHE"
STATE_FILE = ".mirror-state.json"  # a dot-name: never listed, never published

Listing = dict[str, tuple[int, int]]  # relative path → (size, mtime in ns)


def cache_root() -> Path:
    """$LINKINDEX_CACHE, else $XDG_CACHE_HOME/linkindex, else ~/.cache/linkindex."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "linkindex"


def cache_dir(storage: Storage, kind: str) -> Path:
    """This DATA's `kind` folder ("mirror", "spool") in the cache, named after its URL."""
    slug = re.sub(r"[^A-Za-z0-9.-]+", "-", storage.url.split("://", 1)[-1]).strip("-")
    digest = hashlib.sha1(storage.url.encode()).hexdigest()[:10]
    return cache_root() / f"{slug[:60]}-{digest}" / kind


def local_listing(root: Path) -> dict[str, tuple[int, int, int]]:
    """Files under `root` as (size, mtime in ns, inode); dot-names skipped at any depth
    (temporary files, spill folders), as Storage.listing skips them."""
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith("."):
                continue
            path = Path(folder, name)
            st = path.stat()
            found[path.relative_to(root).as_posix()] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return found


def _under(rel: str, prefixes: Iterable[str] | None) -> bool:
    return prefixes is None or any(rel == p.rstrip("/") or rel.startswith(p) for p in prefixes)


def _parallel(action: Callable[[str], object], items: Iterable[str]) -> None:
    items = list(items)
    if len(items) < 2:
        for item in items:
            action(item)
        return
    with ThreadPoolExecutor(TRANSFER_THREADS) as pool:
        for _ in pool.map(action, items):  # the first error is raised here
            pass


class Mirror:
    """The local folder `local` standing for `storage` while a command runs."""

    def __init__(self, storage: Storage, local: Path) -> None:
        self.storage = storage
        self.local = local

    def pull(self, prefixes: Iterable[str] | None = None) -> int:
        """Make the folder equal to the store under `prefixes` (every prefix: all of
        DATA); return how many objects were downloaded."""
        prefixes = None if prefixes is None else list(prefixes)
        remote: Listing = {}
        for prefix in prefixes if prefixes is not None else [""]:
            remote.update(self.storage.listing(prefix))  # a listing per prefix, not of DATA
        self.local.mkdir(parents=True, exist_ok=True)
        here = local_listing(self.local)
        state = self._state()
        for rel in here.keys() - remote.keys():
            if _under(rel, prefixes):
                (self.local / rel).unlink(missing_ok=True)
                state.pop(rel, None)

        def fresh(rel: str) -> bool:
            known = state.get(rel)
            return (known is not None and tuple(known[:2]) == remote[rel]
                    and rel in here and tuple(known[2:]) == here[rel][:2])

        wanted = [rel for rel in remote if not fresh(rel)]

        def download(rel: str) -> None:
            path = self.local / rel
            self.storage.get_file(rel, path)
            # The store's time: every machine then sees one (size, time) per raw part,
            # which the build's map records are keyed on.
            os.utime(path, ns=(remote[rel][1], remote[rel][1]))

        try:
            _parallel(download, wanted)
        finally:
            self._record(state, {rel: remote[rel] for rel in wanted
                                 if (self.local / rel).exists()})
        return len(wanted)

    def snapshot(self) -> dict[str, tuple[int, int, int]]:
        """The folder now: give it to `push` after the command ran."""
        return local_listing(self.local)

    def push(self, before: dict[str, tuple[int, int, int]]) -> tuple[int, int]:
        """Publish what changed in the folder since `before`: new and changed files, then
        pointers, then deletions. Returns (objects written, objects deleted)."""
        now = local_listing(self.local)
        changed = sorted(rel for rel, v in now.items()
                         if rel not in before or before[rel][:2] != v[:2])
        # A new file sharing an inode with a file the store already has: copy in the store.
        stored_inodes = {v[2]: rel for rel, v in before.items() if now.get(rel) == v}
        pointers = [rel for rel in changed if rel in POINTERS]
        files = [rel for rel in changed if rel not in POINTERS]

        def publish(rel: str) -> None:
            source = stored_inodes.get(now[rel][2])
            if source is not None and source != rel:
                self.storage.copy(source, rel)
            else:
                self.storage.put_file(rel, self.local / rel)

        state = self._state()
        try:
            _parallel(publish, files)
            for rel in pointers:
                publish(rel)
            gone = sorted(before.keys() - now.keys())
            _parallel(self.storage.delete, gone)
            for rel in gone:
                state.pop(rel, None)
        finally:
            remote = self.storage.listing() if changed else {}
            for rel in changed:
                path = self.local / rel
                if rel in remote and path.stat().st_nlink == 1:
                    os.utime(path, ns=(remote[rel][1], remote[rel][1]))  # as download
            self._record(state, {rel: remote[rel] for rel in changed if rel in remote})
        return len(changed), len(gone)

    # The remote (size, time) each local file was last made equal to, and the local
    # file's own (size, time) then: a file is fresh when neither side changed since.
    def _state_path(self) -> Path:
        return self.local / STATE_FILE

    def _state(self) -> dict[str, list[int]]:
        try:
            return json.loads(self._state_path().read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def _record(self, state: dict[str, list[int]], synced: dict[str, tuple[int, int]]) -> None:
        for rel, (size, mtime) in synced.items():
            st = (self.local / rel).stat()
            state[rel] = [size, mtime, st.st_size, st.st_mtime_ns]
        tmp = self._state_path().with_name(STATE_FILE + ".new")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self._state_path())


class Spool:
    """Finished files written under a local folder, published to the store one by one
    and then removed locally (a crawl's parts and WARC files)."""

    def __init__(self, storage: Storage, local: Path) -> None:
        self.storage = storage
        self.local = local

    def taken(self, rel: str) -> bool:
        """Whether the store already has `rel` (a name a new file must not reuse)."""
        return self.storage.exists(rel)

    def publish(self, rels: Iterable[str]) -> int:
        """Publish these finished files in the given order, each removed once stored."""
        done = 0
        for rel in rels:
            path = self.local / rel
            if not path.exists():  # another process sharing the spool published it
                continue
            self.storage.put_file(rel, path)
            path.unlink(missing_ok=True)
            done += 1
        return done

    def leftovers(self) -> list[str]:
        """Finished files a stopped run left unpublished, WARC files before parts, edges
        before pages (a pages row in the store implies everything it points to is)."""
        rank = {"warc": 0, "edges": 1, "pages": 2}

        def order(rel: str) -> tuple[int, str]:
            parts = rel.split("/")
            kind = parts[0] if parts[0] == "warc" else parts[2] if len(parts) > 3 else ""
            return rank.get(kind, 3), rel

        return sorted(local_listing(self.local), key=order) if self.local.is_dir() else []
