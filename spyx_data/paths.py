"""Paths that are local files or URLs of a remote filesystem (``gs://bucket/dir``, ...).

Local paths go through the OS. A path with a scheme goes through Beam's ``FileSystems`` where
Beam is installed with a filesystem for that scheme (wherever a build runs: any registered
scheme works), else through ``etils.epath`` (``gs://`` with gcsfs), so reading shards never
needs Beam; where neither can read the scheme, a :class:`~spyx_data.errors.UsageError` says
what to install. Every remote call is bounded, a file's reads too: a store that does not answer
within ``$SPYX_DATA_REMOTE_TIMEOUT`` seconds (default 60; for a file, per piece of at most
:data:`PIECE_BYTES`) is a :class:`~spyx_data.errors.MachineError` naming the URL, never a hang.
A remote path holding a character of :data:`UNSAFE` is refused before anything is done with it.
With ``STORAGE_EMULATOR_HOST`` set (a local GCS emulator), Beam's GCS client and gcsfs connect
anonymously at once instead of looking for credentials (Beam retries that for about 20 s in
every process).
"""

from __future__ import annotations

import errno
import functools
import hashlib
import io
import logging
import os
import posixpath
import re
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO, TypeVar

from spyx_data.errors import Error, InputError, MachineError, UsageError

T = TypeVar("T")
TIMEOUT_ENV = "SPYX_DATA_REMOTE_TIMEOUT"
#: Bytes read from a remote file per call.
PIECE_BYTES = 1 << 22
#: Characters refused in a remote path: ``?``, ``#`` and ``%`` mean a query, a fragment and an
#: escape in a URL, and ``*``, ``?``, ``[`` and ``]`` are wildcards in the patterns that listings
#: and clean-up match (so ``gs://b/out?`` would also match ``gs://b/outX``); control characters
#: too. Object stores allow most of them in names (GCS advises against them), but the clients
#: between here and the store read such a path as another one.
UNSAFE = re.compile(r"[?#%*\[\]\x00-\x1f\x7f]")
#: The schemes etils.epath reads (through fsspec's filesystems: gcsfs, s3fs, adlfs, huggingface_hub).
EPATH_SCHEMES = ("gs", "s3", "az", "hf")
#: What to install where neither Beam nor etils.epath can read gs:// here.
GCS_INSTALL = 'pip install "spyx-data[gcs]" (gcsfs), or Beam\'s gcp extra: pip install "apache-beam[gcp]"'


def is_remote(path: str) -> bool:
    """True for a URL-style path with a scheme, such as ``gs://bucket/x``."""
    return "://" in path


def join(directory: str, *names: str) -> str:
    """``directory/name/...`` for a local path or a URL."""
    if is_remote(directory):
        return "/".join([directory.rstrip("/"), *names])
    return posixpath.join(directory, *names)


def base_name(path: str) -> str:
    """The last name of a path however it is spelled: ``.``, ``./data/`` and ``/home/me/data``
    (run in ``/home/me``) are all ``data`` (a local path is made absolute first; a URL loses
    its trailing ``/``)."""
    if is_remote(path):
        return path.rstrip("/").rsplit("/", 1)[-1]
    return os.path.basename(os.path.abspath(path))


def within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies below it: local paths compared once made absolute,
    with symlinks resolved (the paths need not exist); URLs by their text."""
    if is_remote(path) or is_remote(folder):
        return (path.rstrip("/") + "/").startswith(folder.rstrip("/") + "/")
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


def check_remote(path: str) -> None:
    """Refuse a remote ``path`` holding a character of :data:`UNSAFE` (local paths pass).

    Raises:
        UsageError: naming the path and the character.
    """
    odd = UNSAFE.search(path) if is_remote(path) else None
    if odd:
        raise UsageError(f"{path}: {odd.group()!r} in a remote path, which URLs or listings would read as another "
                         "path (a query, fragment, escape or wildcard); use a name without ? # % * [ ] or control "
                         "characters")


def _filesystems(path: str):
    """Beam's ``FileSystems`` if Beam is installed with a filesystem for ``path``'s scheme, else
    None (:func:`_epath` then). Checks ``path`` first (:func:`check_remote`)."""
    check_remote(path)
    try:
        quiet_beam_import()
        from apache_beam.io.filesystems import FileSystems
    except ImportError:
        return None
    try:
        FileSystems.get_filesystem(path)
    except ValueError:  # no filesystem of Beam's for this scheme (gs:// without Beam's gcp extra)
        return None
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        _anonymous_gcs()
    return FileSystems


def beam_filesystems(path: str):
    """Beam's ``FileSystems``, for a build's remote ``path`` (:func:`_filesystems`).

    Raises:
        UsageError: ``path`` holds a character of :data:`UNSAFE`, or Beam has no filesystem for
            its scheme here, saying what to install.
    """
    filesystems = _filesystems(path)
    if filesystems is None:
        scheme = path.split("://", 1)[0]
        how = 'pip install "apache-beam[gcp]"' if scheme == "gs" else "install Beam's extra for it"
        raise UsageError(f"{path}: a build reads and writes {scheme}:// paths through Beam, which has no filesystem "
                         f"for them here; {how}")
    return filesystems


def quiet_beam_import() -> None:
    """Import Beam without letting its import print or configure logging.

    What Beam's import logs where a part of it is not installed is kept off stderr: "apitools
    not found" (its gcp extra is needed for Dataflow only) and "Failed to import GCSFileSystem"
    (a filesystem whose client library is missing, which :func:`beam_filesystems` and
    :func:`_epath` then name with what to install), by filters on their loggers. And the root
    logger holds a silent handler while Beam is imported: "apitools not found" is logged with
    ``logging.warning``, whose first use otherwise configures the root logger
    (``logging.basicConfig``) with a handler printing every record any library's logger passes
    up (a Dask local cluster's 73 ``INFO:distributed`` lines); then the root logger is as it was.

    Raises:
        ImportError: Beam is not installed.
    """
    for name in _BEAM_IMPORT_WARNINGS:
        logging.getLogger(None if name == "root" else name).addFilter(_not_import_warning)  # once each
    silent = logging.NullHandler()
    logging.getLogger().addHandler(silent)
    try:
        import apache_beam  # noqa: F401 (imported here, with the root logger silent)
    finally:
        logging.getLogger().removeHandler(silent)


#: How what Beam's import logs where a part of it is not installed begins, by logger.
_BEAM_IMPORT_WARNINGS = {"root": "apitools not found", "apache_beam.io.filesystems": "Failed to import "}


def _not_import_warning(record: logging.LogRecord) -> bool:
    start = _BEAM_IMPORT_WARNINGS.get(record.name)
    return start is None or not record.getMessage().startswith(start)


def _epath(path: str):
    """``etils.epath.Path(path)``, once its scheme's filesystem (fsspec's: gcsfs for ``gs://``) is
    known to be installed; gcsfs logs nothing below errors (unless its logger has a level of the
    user's) and connects anonymously to an emulator.

    Raises:
        UsageError: nothing installed reads the scheme, saying what to install.
    """
    scheme = path.split("://", 1)[0]
    emulator = scheme == "gs" and os.environ.get("STORAGE_EMULATOR_HOST")
    if emulator:  # it serves neither credentials nor the gRPC API gcsfs asks a bucket's type of
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    try:
        if scheme not in EPATH_SCHEMES:
            raise ValueError(f"etils.epath reads {', '.join(EPATH_SCHEMES)}:// paths only")
        import fsspec

        fsspec.get_filesystem_class(scheme)
    except (ImportError, ValueError) as e:
        how = GCS_INSTALL if scheme == "gs" else (f"install fsspec's filesystem for {scheme}:// (or Beam's)"
                                                  if scheme in EPATH_SCHEMES else "install Beam's filesystem for it")
        raise UsageError(f"{path}: nothing installed here reads {scheme}:// paths ({e}); {how}") from None
    gcsfs_log = logging.getLogger("gcsfs")
    if scheme == "gs" and gcsfs_log.level == logging.NOTSET:
        # gcsfs warns on every call where it cannot tell a bucket's type (no permission to ask, an
        # emulator), then reads on; a level the user gave its logger is kept
        gcsfs_log.setLevel(logging.ERROR)
    if emulator:
        fsspec.config.conf.setdefault("gs", {}).setdefault("token", "anon")
    from etils import epath

    return epath.Path(path)


def _anonymous_gcs() -> None:
    """Make Beam's GCS client anonymous, as an emulator expects (Beam caches the credentials
    it looked up once per process; None means an anonymous client)."""
    try:
        from apache_beam.internal.gcp import auth
    except ImportError:  # Beam without its gcp extra has no gs:// at all
        return
    with auth._Credentials._credentials_lock:
        auth._Credentials._credentials_init = True


def remote_timeout() -> float:
    """Seconds a remote store may take to answer one call (``$SPYX_DATA_REMOTE_TIMEOUT``, default 60)."""
    value = os.environ.get(TIMEOUT_ENV, "60")
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0
    if not seconds > 0:
        raise InputError(f"{TIMEOUT_ENV}={value!r} is not a number of seconds above 0")
    return seconds


def bounded(url: str, call: Callable[[], T]) -> T:
    """``call()``, run in a daemon thread and waited for at most :func:`remote_timeout` seconds.

    Raises:
        MachineError: naming ``url``, when no answer came in time (the thread is left to end) or
            the call failed (its first line).
    """
    result: list = []

    def run() -> None:
        try:
            result.append((True, call()))
        except BaseException as e:  # handed to the caller's thread
            result.append((False, e))

    thread = threading.Thread(target=run, daemon=True, name=f"remote {url}")
    thread.start()
    thread.join(remote_timeout())
    if not result:
        raise MachineError(f"{url}: no answer from the store in {remote_timeout():g} s; check that it is "
                           f"reachable and the credentials ({TIMEOUT_ENV} sets how long to wait)")
    ok, value = result[0]
    if ok:
        return value
    if isinstance(value, Error) or not isinstance(value, Exception):
        raise value
    reason = str(value).strip().splitlines()[0] if str(value).strip() else ""
    raise MachineError(f"{url}: the store failed: {type(value).__name__}{': ' + reason if reason else ''}") from value


def exists(path: str) -> bool:
    if not is_remote(path):
        return os.path.exists(path)
    filesystems = _filesystems(path)
    if filesystems is not None:
        return bounded(path, lambda: filesystems.exists(path))
    return bounded(path, _epath(path).exists)


def open_read(path: str) -> BinaryIO:
    """A binary file object to read (seekable for local files and cloud filesystems); a remote
    file's every call bounded (:func:`bounded`, reads a piece of at most :data:`PIECE_BYTES` at a
    time), so a store that stops answering mid-file is an error, not a hang."""
    if not is_remote(path):
        return open(path, "rb")
    filesystems = _filesystems(path)
    if filesystems is not None:
        return _BoundedFile(path, bounded(path, lambda: filesystems.open(path)))
    where = _epath(path)
    return _BoundedFile(path, bounded(path, lambda: where.open("rb")))


class _BoundedFile(io.RawIOBase):
    """A remote file object whose every call is :func:`bounded`, a read a piece at a time. A read
    returns what was asked for unless the file ends first."""

    def __init__(self, url: str, file: BinaryIO):
        super().__init__()
        self._url, self._file = url, file

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._file.seekable()

    def read(self, size: int | None = -1) -> bytes:
        left = float("inf") if size is None or size < 0 else size
        parts = []
        while left > 0:
            piece = bounded(self._url, functools.partial(self._file.read, min(left, PIECE_BYTES)))
            if not piece:
                break
            parts.append(piece)
            left -= len(piece)
        return b"".join(parts)

    def readall(self) -> bytes:
        return self.read()

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return bounded(self._url, lambda: self._file.seek(offset, whence))

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        if not self.closed:
            try:
                bounded(self._url, self._file.close)
            finally:
                super().close()


def pieces(path: str) -> Iterator[bytes]:
    """The bytes of a file, up to :data:`PIECE_BYTES` at a time (bounded for a remote file,
    :func:`open_read`)."""
    with open_read(path) as f:
        while piece := f.read(PIECE_BYTES):
            yield piece


def is_hidden(name: str) -> bool:
    """A hidden file or folder (its name starts with ``.``: ``.DS_Store``, ``.ipynb_checkpoints``):
    never listed as data."""
    return name.startswith(".")


def subfolders_with(root: str, name: str) -> list[str]:
    """The folders directly below ``root`` (not hidden ones) that hold a file ``name``, sorted."""
    if not is_remote(root):
        if not os.path.isdir(root):
            return []
        found = [os.path.join(root, d) for d in os.listdir(root) if not is_hidden(d)]
        return sorted(d for d in found if os.path.isfile(os.path.join(d, name)))
    pattern = join(root, "*", name)
    filesystems = _filesystems(root)
    if filesystems is not None:
        (match,) = bounded(root, lambda: filesystems.match([pattern]))
        found = [m.path for m in match.metadata_list]
    else:
        where = _epath(root)
        found = bounded(root, lambda: [str(p) for p in where.glob(f"*/{name}")])
    folders = [f[: -len(name) - 1] for f in found]
    return sorted(f for f in folders if not is_hidden(base_name(f)))


def sha256_of(path: str) -> tuple[str, int]:
    """``(sha256 hex, size in bytes)`` of a file, read in 4 MiB pieces."""
    digest = hashlib.sha256()
    size = 0
    for piece in pieces(path):
        digest.update(piece)
        size += len(piece)
    return digest.hexdigest(), size


def read_bytes(path: str) -> bytes:
    return b"".join(pieces(path))


def list_files(root: str, suffix: str) -> list[tuple[str, ...]]:
    """Path parts (relative to ``root``) of every ``suffix`` file below it, sorted by parts.

    Hidden files and folders (:func:`is_hidden`) below ``root`` are skipped, with all they hold:
    a ``.DS_Store`` or a JupyterLab ``.ipynb_checkpoints`` folder is neither a recording nor a
    class. Locally, symlinks are followed, folders and files alike (a symlinked class folder is
    listed as if it were there).

    Raises:
        InputError: ``root`` holds no such files; locally also a leaf folder without any (an
            object store has no empty folders to find), a symlink that leads nowhere or into a
            loop, or a folder that cannot be read; each named.
    """
    if is_remote(root):
        prefix = root.rstrip("/") + "/"
        filesystems = beam_filesystems(root)
        (result,) = bounded(root, lambda: filesystems.match([prefix + "**" + suffix]))
        listed = (tuple(m.path[len(prefix) :].split("/")) for m in result.metadata_list)
        found = sorted(parts for parts in listed if not any(is_hidden(part) for part in parts))
    else:
        if not os.path.isdir(root):
            raise InputError(f"{root}: no such folder")
        found = []
        seen: dict[tuple[int, int], str] = {}

        def unreadable(error: OSError) -> None:
            raise InputError(f"{error.filename}: cannot list it ({error.strerror})")

        for path, dirs, files in os.walk(root, onerror=unreadable, followlinks=True):
            st = os.stat(path)
            if (st.st_dev, st.st_ino) in seen:
                raise InputError(f"{path}: the folder {seen[st.st_dev, st.st_ino]} again, through a symlink (a loop, "
                                 "or two links to one folder); fix or remove the link")
            seen[st.st_dev, st.st_ino] = path
            dirs[:] = [d for d in dirs if not is_hidden(d)]
            files = [f for f in files if not is_hidden(f)]
            for name in files:
                _check_link(os.path.join(path, name))
            mine = [f for f in files if f.endswith(suffix)]
            if not dirs and not mine:
                raise InputError(f"{path}: folder holds no {suffix + ' ' if suffix else ''}recordings")
            rel = os.path.relpath(path, root)
            prefix_parts = () if rel == "." else tuple(rel.split(os.sep))
            found.extend(prefix_parts + (f,) for f in mine)
        found.sort()
    if not found:
        raise InputError(f"{root}: holds no {suffix + ' ' if suffix else ''}recordings")
    return found


def _check_link(path: str) -> None:
    """Refuse a symlink that leads nowhere (its target is missing) or into a loop.

    Raises:
        InputError: naming the link and where it points.
    """
    if os.path.islink(path) and not os.path.exists(path):
        try:
            os.stat(path)
        except OSError as e:
            what = "a symlink loop" if e.errno == errno.ELOOP else "a dangling symlink"
            raise InputError(f"{path}: {what} (it points to {os.readlink(path)}); fix or remove it") from None
