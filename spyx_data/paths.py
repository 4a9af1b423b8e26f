"""Paths that are local files or URLs of a remote filesystem (``gs://bucket/dir``, ...).

Local paths go through the OS. A path with a scheme goes through Beam's ``FileSystems`` where
Beam is installed (wherever a build runs: any registered scheme works), else through
``etils.epath`` (``gs://`` with gcsfs), so reading shards never needs Beam. Every remote call
is bounded: a store that does not answer within ``$SPYX_DATA_REMOTE_TIMEOUT`` seconds (default
60; for a file, between two pieces of it) is a :class:`~spyx_data.errors.MachineError` naming
the URL, never a hang. With ``STORAGE_EMULATOR_HOST`` set (a local GCS emulator), Beam's GCS
client connects anonymously at once instead of retrying the credential lookup for about 20 s
in every process.
"""

from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO, TypeVar

from spyx_data.errors import Error, InputError, MachineError

T = TypeVar("T")
TIMEOUT_ENV = "SPYX_DATA_REMOTE_TIMEOUT"
#: Bytes read from a remote file per call.
PIECE_BYTES = 1 << 22


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


def _filesystems():
    """Beam's ``FileSystems``, or None where Beam is not installed."""
    try:
        from apache_beam.io.filesystems import FileSystems
    except ImportError:
        return None
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        _anonymous_gcs()
    return FileSystems


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
    filesystems = _filesystems()
    if filesystems is not None:
        return bounded(path, lambda: filesystems.exists(path))
    from etils import epath

    return bounded(path, epath.Path(path).exists)


def open_read(path: str) -> BinaryIO:
    """A binary file object to read (seekable for local files and cloud filesystems). A remote
    file's reads are not bounded: :func:`pieces` is."""
    if not is_remote(path):
        return open(path, "rb")
    filesystems = _filesystems()
    if filesystems is not None:
        return bounded(path, lambda: filesystems.open(path))
    from etils import epath

    return bounded(path, lambda: epath.Path(path).open("rb"))


def pieces(path: str) -> Iterator[bytes]:
    """The bytes of a file, up to :data:`PIECE_BYTES` at a time; for a remote file every call
    bounded (:func:`bounded`), so a store that stops answering mid-file is an error, not a hang."""
    with open_read(path) as f:
        def read() -> bytes:
            return f.read(PIECE_BYTES)

        while piece := (bounded(path, read) if is_remote(path) else read()):
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
    filesystems = _filesystems()
    if filesystems is not None:
        (match,) = bounded(root, lambda: filesystems.match([pattern]))
        found = [m.path for m in match.metadata_list]
    else:
        from etils import epath

        found = bounded(root, lambda: [str(p) for p in epath.Path(root).glob(f"*/{name}")])
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
        filesystems = _filesystems()  # builds only: Beam is there
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
