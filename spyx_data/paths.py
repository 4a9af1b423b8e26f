"""Paths that are local files or URLs of a remote filesystem (``gs://bucket/dir``, ...).

Local paths go through the OS. A path with a scheme goes through Beam's ``FileSystems`` where
Beam is installed (wherever a build runs: any registered scheme works), else through
``etils.epath`` (``gs://`` with gcsfs), so reading shards never needs Beam. ArrayRecord opens
``gs://`` itself.
"""

from __future__ import annotations

import errno
import hashlib
import os
import posixpath
from typing import BinaryIO

from spyx_data.errors import InputError


def is_remote(path: str) -> bool:
    """True for a URL-style path with a scheme, such as ``gs://bucket/x``."""
    return "://" in path


def join(directory: str, *names: str) -> str:
    """``directory/name/...`` for a local path or a URL."""
    if is_remote(directory):
        return "/".join([directory.rstrip("/"), *names])
    return posixpath.join(directory, *names)


def _filesystems():
    """Beam's ``FileSystems``, or None where Beam is not installed."""
    try:
        from apache_beam.io.filesystems import FileSystems
    except ImportError:
        return None
    return FileSystems


def exists(path: str) -> bool:
    if not is_remote(path):
        return os.path.exists(path)
    filesystems = _filesystems()
    if filesystems is not None:
        return filesystems.exists(path)
    from etils import epath

    return epath.Path(path).exists()


def open_read(path: str) -> BinaryIO:
    """A binary file object to read (seekable for local files and cloud filesystems)."""
    if not is_remote(path):
        return open(path, "rb")
    filesystems = _filesystems()
    if filesystems is not None:
        return filesystems.open(path)
    from etils import epath

    return epath.Path(path).open("rb")


def subfolders_with(root: str, name: str) -> list[str]:
    """The folders directly below ``root`` (not hidden ones) that hold a file ``name``, sorted."""
    if not is_remote(root):
        if not os.path.isdir(root):
            return []
        found = [os.path.join(root, d) for d in os.listdir(root) if not d.startswith(".")]
        return sorted(d for d in found if os.path.isfile(os.path.join(d, name)))
    pattern = join(root, "*", name)
    filesystems = _filesystems()
    if filesystems is not None:
        (match,) = filesystems.match([pattern])
        found = [m.path for m in match.metadata_list]
    else:
        from etils import epath

        found = [str(p) for p in epath.Path(root).glob(f"*/{name}")]
    folders = [f[: -len(name) - 1] for f in found]
    return sorted(f for f in folders if not f.rstrip("/").rsplit("/", 1)[-1].startswith("."))


def sha256_of(path: str) -> tuple[str, int]:
    """``(sha256 hex, size in bytes)`` of a file, read in 4 MiB pieces."""
    digest = hashlib.sha256()
    size = 0
    with open_read(path) as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def read_bytes(path: str) -> bytes:
    with open_read(path) as f:
        return f.read()


def list_files(root: str, suffix: str) -> list[tuple[str, ...]]:
    """Path parts (relative to ``root``) of every ``suffix`` file below it, sorted by parts.

    Locally, symlinks are followed, folders and files alike (a symlinked class folder is
    listed as if it were there).

    Raises:
        InputError: ``root`` holds no such files; locally also a leaf folder without any (an
            object store has no empty folders to find), a symlink that leads nowhere or into a
            loop, or a folder that cannot be read; each named.
    """
    if is_remote(root):
        prefix = root.rstrip("/") + "/"
        (result,) = _filesystems().match([prefix + "**" + suffix])  # builds only: Beam is there
        found = sorted(tuple(m.path[len(prefix) :].split("/")) for m in result.metadata_list)
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
