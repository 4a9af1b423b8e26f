"""An in-memory Beam filesystem under the ``memtest://`` scheme, to prove builds use FileSystems.

Registered by being imported (Beam finds ``FileSystem`` subclasses by scheme). Files live in
:data:`FILES` in this process, so it works with the in-process runner only.
"""

from __future__ import annotations

import hashlib
import io

from apache_beam.io.filesystem import BeamIOError, FileMetadata, FileSystem

FILES: dict[str, bytes] = {}
#: When each file was last written (a counter, so that every write changes it).
WRITTEN: dict[str, float] = {}


class _Writer(io.BytesIO):
    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def close(self) -> None:
        if not self.closed:
            FILES[self.path] = self.getvalue()
            WRITTEN[self.path] = float(len(WRITTEN) + 1)
        super().close()


class MemoryFileSystem(FileSystem):
    @classmethod
    def scheme(cls) -> str:
        return "memtest"

    def join(self, basepath, *paths):
        return "/".join([basepath.rstrip("/"), *paths])

    def split(self, path):
        head, _, tail = path.rpartition("/")
        return head, tail

    def mkdirs(self, path):
        pass

    def has_dirs(self):
        return False

    def _list(self, dir_or_prefix):
        for path, data in sorted(FILES.items()):
            if path.startswith(dir_or_prefix):
                yield FileMetadata(path, len(data), WRITTEN.get(path, 0.0))

    def create(self, path, mime_type="application/octet-stream", compression_type=None):
        return _Writer(path)

    def open(self, path, mime_type="application/octet-stream", compression_type=None):
        if path not in FILES:
            raise BeamIOError(f"{path}: no such file", {path: FileNotFoundError(path)})
        return io.BytesIO(FILES[path])

    def copy(self, source_file_names, destination_file_names):
        for src, dst in zip(source_file_names, destination_file_names):
            FILES[dst] = FILES[src]

    def rename(self, source_file_names, destination_file_names):
        for src, dst in zip(source_file_names, destination_file_names):
            FILES[dst] = FILES.pop(src)

    def exists(self, path):
        return path in FILES

    def size(self, path):
        return len(FILES[path])

    def last_updated(self, path):
        return WRITTEN.get(path, 0.0)

    def metadata(self, path):
        return FileMetadata(path, len(FILES[path]), WRITTEN.get(path, 0.0))

    def checksum(self, path):
        return hashlib.sha256(FILES[path]).hexdigest()

    def delete(self, paths):
        for path in paths:
            FILES.pop(path, None)
