"""Paths that are local files or URLs of a remote filesystem (``gs://bucket/dir``, ...).

Local paths go through the OS. A path with a scheme goes through Beam's ``FileSystems`` where
Beam is installed (wherever a build runs: any registered scheme works), else through
``etils.epath`` (``gs://`` with gcsfs), so reading shards never needs Beam. ArrayRecord opens
``gs://`` itself.
"""

from __future__ import annotations

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


def read_bytes(path: str) -> bytes:
    with open_read(path) as f:
        return f.read()


def list_files(root: str, suffix: str) -> list[tuple[str, ...]]:
    """Path parts (relative to ``root``) of every ``suffix`` file below it, sorted by parts.

    Raises:
        ValueError: ``root`` holds no such files; locally also a leaf folder without any (an
            object store has no empty folders to find).
    """
    if is_remote(root):
        prefix = root.rstrip("/") + "/"
        (result,) = _filesystems().match([prefix + "**" + suffix])  # builds only: Beam is there
        found = sorted(tuple(m.path[len(prefix) :].split("/")) for m in result.metadata_list)
    else:
        if not os.path.isdir(root):
            raise InputError(f"{root}: no such folder")
        found = []
        for path, dirs, files in os.walk(root):
            mine = [f for f in files if f.endswith(suffix)]
            if not dirs and not mine:
                raise InputError(f"{path}: folder holds no {suffix} recordings")
            rel = os.path.relpath(path, root)
            prefix_parts = () if rel == "." else tuple(rel.split(os.sep))
            found.extend(prefix_parts + (f,) for f in mine)
        found.sort()
    if not found:
        raise InputError(f"{root}: holds no {suffix} recordings")
    return found


def fingerprint(location: str, suffix: str | None = None) -> dict[str, int]:
    """``{"files", "bytes"}`` of a source: one file, or the ``suffix`` files below a folder.

    Cheap (sizes only, no data read); a build records it so that a changed input is not
    mistaken for the one a finished build was made from.
    """
    if suffix is None:
        if is_remote(location):
            (match,) = _filesystems().match([location])
            sizes = [m.size_in_bytes for m in match.metadata_list]
        else:
            sizes = [os.path.getsize(location)]
    elif is_remote(location):
        (match,) = _filesystems().match([location.rstrip("/") + "/**" + suffix])
        sizes = [m.size_in_bytes for m in match.metadata_list]
    else:
        sizes = [os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(location) for f in files
                 if f.endswith(suffix)]
    return {"files": len(sizes), "bytes": int(sum(sizes))}
