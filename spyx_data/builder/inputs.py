"""Content fingerprints of a build's inputs, with a cache of file digests on this machine.

A split's source is one file (an h5, a ``.npz``) or a folder of recordings (the files with one
suffix below it, hidden ones skipped: :func:`spyx_data.paths.list_files`). Its
:class:`Fingerprint` holds the number of files, their bytes and a ``sha256``:

* one file: the sha256 of its bytes (what ``sha256sum`` prints);
* a folder: the sha256 of its listing, a line ``<relative path>\\t<size>\\t<sha256>\\n`` per file
  in the listing's order.

The rule is the same on every filesystem, so the same data builds into the same bytes whether
it is local or on ``gs://`` (a remote file is read once, through Beam's ``FileSystems``).
The digest of a file is cached by its path and stamp (a local file's size, mtime, ctime and
inode; a remote one's size and last update) in an SQLite file, ``$SPYX_DATA_CACHE`` or
``~/.cache/spyx-data/digests.sqlite3``; a re-run rehashes only the files that changed, at the
cost of a ``stat`` each. A cache that cannot be opened or written is not used.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from spyx_data import paths
from spyx_data.errors import InputError

log = logging.getLogger(__name__)
CACHE_ENV = "SPYX_DATA_CACHE"
#: Files hashed (or checksums asked for) at once.
THREADS = 8


@dataclasses.dataclass(frozen=True)
class Fingerprint:
    """A source's content (``files``, ``bytes``, ``sha256``, see the module docstring) and
    ``stamps``: a sha256 of every file's path and stamp, which changes whenever a file is
    written, to tell cheaply that nothing changed since."""

    files: int
    bytes: int
    sha256: str
    stamps: str


def cache_path() -> str:
    """Where the digest cache lives."""
    return os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "spyx-data",
                                                     "digests.sqlite3")


def fingerprint(location: str, suffix: str | None = None) -> Fingerprint:
    """The fingerprint of one file (``suffix`` None) or of the ``suffix`` files below a folder.

    Raises:
        InputError: the location is missing or unreadable, or holds no such files (naming it).
    """
    files = _files(location, suffix)
    digest = _digests([(path, stamp) for _, path, stamp in files])[0] if suffix is None else _listing_digest(files)
    return Fingerprint(len(files), sum(int(stamp.split(":")[0]) for _, _, stamp in files), digest,
                       _stamps_digest(files))


def listing_digest(files: list[tuple[str, str]]) -> str:
    """The sha256 of a listing of ``(relative path, path)`` files (a line ``<relative
    path>\\t<size>\\t<sha256>\\n`` each, in the order given), the rule of a folder's fingerprint;
    digests are cached.

    Raises:
        InputError: a file is missing or unreadable (naming it).
    """
    try:
        return _listing_digest([(rel, path, _stamp(path)) for rel, path in files])
    except OSError as e:
        raise InputError(f"{e.filename}: cannot read it ({e.strerror or e})") from e


def _listing_digest(files: list[tuple[str, str, str]]) -> str:
    digests = _digests([(path, stamp) for _, path, stamp in files])
    listing = "".join(f"{rel}\t{stamp.split(':')[0]}\t{d}\n" for (rel, _, stamp), d in zip(files, digests))
    return hashlib.sha256(listing.encode()).hexdigest()


def stamps(location: str, suffix: str | None = None) -> str:
    """:attr:`Fingerprint.stamps` of a source as it is now (a listing and a ``stat`` per file)."""
    return _stamps_digest(_files(location, suffix))


def _stamps_digest(files: list[tuple[str, str, str]]) -> str:
    return hashlib.sha256("".join(f"{rel}\t{stamp}\n" for rel, _, stamp in files).encode()).hexdigest()


def _files(location: str, suffix: str | None) -> list[tuple[str, str, str]]:
    """``(relative path, path, stamp)`` of every file of a source; a stamp starts with the size."""
    try:
        if suffix is None:
            if not paths.exists(location):
                raise InputError(f"{location}: no such file")
            return [(os.path.basename(location.rstrip("/")), location, _stamp(location))]
        parts = paths.list_files(location, suffix)
        found = [("/".join(p), paths.join(location, *p)) for p in parts]
        if paths.is_remote(location):
            sizes = _remote_metadata(location.rstrip("/"), "/**" + suffix)
            return [(rel, path, sizes[path]) for rel, path in found]
        return [(rel, path, _stamp(path)) for rel, path in found]
    except OSError as e:
        raise InputError(f"{location}: cannot read it ({e.strerror or e})") from e


def _stamp(path: str) -> str:
    """``size:...``, changing whenever the file is written: a local file's size, mtime, ctime and
    inode; a remote one's size and last update."""
    if paths.is_remote(path):
        return _remote_metadata(path)[path]
    st = os.stat(path)
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def _remote_metadata(location: str, below: str = "") -> dict[str, str]:
    """``size:last update`` of the remote file ``location``, or of the files ``location + below``
    (a pattern such as ``/**.bin``) matches, by path."""
    filesystems = paths.beam_filesystems(location)
    (match,) = paths.bounded(location, lambda: filesystems.match([location + below]))
    return {m.path: f"{m.size_in_bytes}:{m.last_updated_in_seconds}" for m in match.metadata_list}


def _digests(files: list[tuple[str, str]]) -> list[str]:
    """The sha256 of each ``(path, stamp)``: cached, else read (and cached)."""
    keys = [(_cache_path(path), stamp) for path, stamp in files]
    with _cache() as cache:
        known = cache.get(keys)
        missing = [(path, key) for (path, _), key in zip(files, keys) if key not in known]
        with ThreadPoolExecutor(min(THREADS, max(1, len(missing)))) as pool:
            computed = dict(zip([key for _, key in missing], pool.map(_digest_of, [path for path, _ in missing])))
        cache.put(computed)
    return [known.get(key) or computed[key] for key in keys]


def _digest_of(path: str) -> str:
    return paths.sha256_of(path)[0]


def _cache_path(path: str) -> str:
    return path if paths.is_remote(path) else os.path.abspath(path)


class _Cache:
    """Digests by ``(path, stamp)`` in an SQLite table; does nothing where it cannot be used."""

    def __init__(self, db: sqlite3.Connection | None):
        self._db = db

    def get(self, files: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        if self._db is None or not files:
            return {}
        wanted = set(files)
        found = {}
        for i in range(0, len(files), 500):
            chunk = [path for path, _ in files[i : i + 500]]
            rows = self._guarded(lambda: self._db.execute(
                f"SELECT path, stamp, digest FROM digests WHERE path IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()) or []
            found.update({(p, s): d for p, s, d in rows if (p, s) in wanted})
        return found

    def put(self, digests: dict[tuple[str, str], str]) -> None:
        if self._db is not None and digests:
            rows = [(path, stamp, digest) for (path, stamp), digest in digests.items()]
            self._guarded(lambda: self._db.executemany("REPLACE INTO digests VALUES (?, ?, ?)", rows))
            self._guarded(self._db.commit)

    def _guarded(self, call: Callable):
        try:
            return call()
        except sqlite3.Error as e:
            log.debug("digest cache %s not used: %s", cache_path(), e)
            self._db = None
            return None


@contextlib.contextmanager
def _cache() -> Iterator[_Cache]:
    db = None
    try:
        os.makedirs(os.path.dirname(cache_path()) or ".", exist_ok=True)
        db = sqlite3.connect(cache_path(), timeout=30)
        db.execute("CREATE TABLE IF NOT EXISTS digests (path TEXT PRIMARY KEY, stamp TEXT, digest TEXT)")
    except (OSError, sqlite3.Error) as e:
        log.debug("digest cache %s not used: %s", cache_path(), e)
        db = None
    try:
        yield _Cache(db)
    finally:
        if db is not None:
            db.close()
