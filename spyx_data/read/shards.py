"""Opening and reading a build's shard files, each checked against its manifest: the one
place the read side touches a shard (``split``, ``prestage`` and ``verify`` build on it).

A remote build's shards are read from local copies (:func:`shard_path`): ArrayRecord's own
``gs://`` client cannot be bounded in time nor pointed at an emulator, and training reads every
record of a split anyway.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator

import numpy as np

from spyx_data import paths
from spyx_data.errors import MachineError, RecordError, ShardError
from spyx_data.format import manifest as manifest_lib
from spyx_data.format import riegeli

#: Where local copies of remote shards are kept (default ``~/.cache/spyx-data/shards``).
SHARD_CACHE_ENV = "SPYX_DATA_SHARD_CACHE"


def shard_cache() -> str:
    """The folder of local copies of remote shards (``$SPYX_DATA_SHARD_CACHE``)."""
    return os.environ.get(SHARD_CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "spyx-data", "shards")


def shard_path(directory: str, shard: manifest_lib.ShardInfo) -> str:
    """A local file holding ``shard`` of the build in ``directory``: the shard itself for a local
    build; for a remote one, a copy in :func:`shard_cache` named by the shard's sha256, fetched
    once (bounded, see :mod:`spyx_data.paths`) and kept only if its size and sha256 are the
    manifest's. So a changed or foreign shard is never served, and a build read again is not
    fetched again.

    Raises:
        ShardError: the remote shard is missing or is not the one the manifest names.
        MachineError: the store did not answer in time, or the copy cannot be written.
    """
    url = paths.join(directory, shard.path)
    if not paths.is_remote(url):
        return url
    local = os.path.join(shard_cache(), f"{shard.sha256}.array_record")
    if os.path.isfile(local) and os.path.getsize(local) == shard.num_bytes:
        return local
    if not paths.exists(url):
        raise ShardError(f"{url}: missing")

    def check(digest: str, size: int) -> None:
        if (size, digest) != (shard.num_bytes, shard.sha256):
            raise ShardError(f"{url}: {size} bytes with sha256 {digest}, the manifest says {shard.num_bytes} bytes "
                             f"with sha256 {shard.sha256} (not this build's shard)")

    fetch(url, local, check)
    return local


def fetch(url: str, local: str, check: Callable[[str, int], None] | None = None) -> None:
    """Copy the file ``url`` to ``local``: written beside it, given to ``check(sha256, size)``
    (which raises to refuse it), then renamed into place. Nothing is left behind if it fails,
    and ``local`` never holds a refused copy.

    Raises:
        MachineError: the store did not answer in time or failed, or ``local`` cannot be written.
    """
    folder = os.path.dirname(local) or "."
    try:
        os.makedirs(folder, exist_ok=True)
        out = tempfile.NamedTemporaryFile(dir=folder, prefix=".fetch-", delete=False)
    except OSError as e:
        raise MachineError(f"{folder}: cannot keep copies of remote shards there ({e.strerror or e}); "
                           f"set {SHARD_CACHE_ENV} to another folder") from e
    digest, size = hashlib.sha256(), 0
    try:
        with out:
            for piece in paths.pieces(url):
                try:
                    out.write(piece)
                except OSError as e:
                    raise MachineError(f"{local}: cannot write the copy of {url} ({e.strerror or e})") from e
                digest.update(piece)
                size += len(piece)
        if check is not None:
            check(digest.hexdigest(), size)
        os.replace(out.name, local)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(out.name)
        raise


def open_reader(path: str):
    """An open ``ArrayRecordReader`` on ``path``.

    Raises:
        ShardError: naming ``path``, when it cannot be opened (missing, truncated or corrupt).
    """
    from array_record.python.array_record_module import ArrayRecordReader

    reader = ArrayRecordReader(path)
    if not reader.ok():
        raise ShardError(f"{path}: cannot open as ArrayRecord (missing, truncated or corrupt)")
    return reader


def open_shard(path: str, shard: manifest_lib.ShardInfo):
    """An open ``ArrayRecordReader`` on ``path`` whose record count matches the manifest.

    Raises:
        ShardError: naming ``path``.
    """
    reader = open_reader(path)
    found = reader.num_records()
    if found != shard.num_records:
        reader.close()
        raise ShardError(f"{path}: {found} records, manifest says {shard.num_records}")
    return reader


def check_shard(path: str, shard: manifest_lib.ShardInfo, manifest: manifest_lib.Manifest) -> None:
    """Open a shard, check its record count against the manifest and that its first record
    belongs to this build (cheap: the header of one record).

    Raises:
        ShardError: naming ``path``.
    """
    reader = open_shard(path, shard)
    try:
        manifest.check_record(reader.read([0])[0], shard.first_index)
    except RecordError as e:
        raise ShardError(f"{path}: {e}") from e
    except RuntimeError as e:  # how ArrayRecord reports a corrupt chunk
        raise ShardError(f"{path}: record 0: {e}") from e
    finally:
        reader.close()


def check_fits(
    path: str, shard: manifest_lib.ShardInfo, manifest: manifest_lib.Manifest, writer_options: str | None = None
) -> None:
    """Refuse a shard whose manifest entry claims more records than its file holds, before
    anything is allocated for them: a shard :func:`iter_shard` reads directly by the room its
    size gives (:func:`spyx_data.format.riegeli.max_records`, no read), any other by the count
    ArrayRecord's reader finds.

    Raises:
        ShardError: naming ``path``.
    """
    writer_options = manifest.writer_options if writer_options is None else writer_options
    if not _readable_directly(path, shard, writer_options):
        open_shard(path, shard).close()
        return
    room = riegeli.max_records(shard.num_bytes, manifest.layout.record_bytes)
    if shard.num_records > room:
        raise ShardError(f"{path}: its {shard.num_bytes} bytes hold at most {room} records of "
                         f"{manifest.layout.record_bytes} bytes, manifest says {shard.num_records}")


def check_checksum(path: str, shard: manifest_lib.ShardInfo) -> None:
    """Recompute a shard's sha256 (reads the whole file).

    Raises:
        ShardError: naming ``path``, when it differs from the manifest's.
    """
    digest, _ = paths.sha256_of(path)
    if digest != shard.sha256:
        raise ShardError(f"{path}: sha256 {digest} differs from the manifest's {shard.sha256}")


def iter_shard(
    path: str,
    shard: manifest_lib.ShardInfo,
    manifest: manifest_lib.Manifest,
    begin: int = 0,
    end: int | None = None,
    writer_options: str | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Records ``[begin, end)`` of one shard of ``manifest``'s build (default all), in order, in pieces.

    A local shard written with :data:`spyx_data.format.riegeli.WRITER_OPTIONS` (how builds write
    uncompressed shards; ``writer_options`` defaults to the manifest's), of the size the manifest
    says, is read straight from its byte layout, a few MiB per ``preadv``
    (:func:`spyx_data.format.riegeli.iter_records`): every chunk header's fields are checked, and when
    the range ends at the shard's last record, that no record follows it; Riegeli's hashes are
    not (the readers' ``verify`` checks the shard's sha256). Any other shard, and the rest of one
    whose layout differs, goes through ArrayRecord's reader, which checks the hashes and the
    record count. Either way every record is checked as belonging to the build
    (:meth:`spyx_data.format.manifest.Manifest.check_records`: layout, that record ``k`` holds source
    index ``shard.first_index + k``, the build id, the label range).

    Yields:
        ``(k, records)``: a structured array of the layout's dtype holding records
        ``begin + k ...``, valid until the next piece is read (copy what you keep).

    Raises:
        ShardError: the file is unreadable or its records disagree with the manifest.
    """
    end = shard.num_records if end is None else end
    writer_options = manifest.writer_options if writer_options is None else writer_options
    layout = manifest.layout
    done, mismatch = 0, False
    try:
        if _readable_directly(path, shard, writer_options):
            try:
                pieces = riegeli.iter_records(path, layout.record_bytes, begin, end, num_records=shard.num_records)
                for k, rows in pieces:
                    yield k, manifest.check_records(rows.view(layout.dtype)[:, 0], shard.first_index + begin + k)
                    done = k + len(rows)
            except (OSError, riegeli.LayoutMismatch):
                mismatch = True  # ArrayRecord's reader reads the rest or says what is wrong
        if begin + done < end:
            rest = _read_with_reader(path, shard, begin + done, end)
            yield done, manifest.decode(rest, shard.first_index + begin + done)
        elif mismatch:  # every record read, but the file goes on otherwise than the manifest says
            open_shard(path, shard).close()
    except ValueError as e:
        raise ShardError(f"{path}: {e}") from e


def _readable_directly(path: str, shard: manifest_lib.ShardInfo, writer_options: str | None) -> bool:
    """Whether :func:`spyx_data.format.riegeli.iter_records` may read this shard: a local file written
    with its writer options, of the manifest's size."""
    if writer_options != riegeli.WRITER_OPTIONS or paths.is_remote(path) or not hasattr(os, "preadv"):
        return False
    try:
        return os.stat(path).st_size == shard.num_bytes
    except OSError:
        return False


def read_shard(
    path: str,
    shard: manifest_lib.ShardInfo,
    manifest: manifest_lib.Manifest,
    begin: int = 0,
    end: int | None = None,
    writer_options: str | None = None,
) -> np.ndarray:
    """Records ``[begin, end)`` of one shard (default all) as one structured array of the
    layout's dtype, read and checked as :func:`iter_shard` does.

    Raises:
        ShardError: the file is unreadable or its records disagree with the manifest.
    """
    end = shard.num_records if end is None else end
    records = np.empty(end - begin, dtype=manifest.layout.dtype)
    for k, piece in iter_shard(path, shard, manifest, begin, end, writer_options):
        records[k : k + len(piece)] = piece
    return records


def _read_with_reader(path: str, shard: manifest_lib.ShardInfo, begin: int, end: int) -> bytes:
    """Records ``[begin, end)`` concatenated, read with ArrayRecord's reader."""
    reader = open_shard(path, shard)
    try:
        return b"".join(reader.read_all() if (begin, end) == (0, shard.num_records) else reader.read(begin, end))
    except RuntimeError as e:  # how the reader reports a corrupt chunk
        raise ShardError(f"{path}: {e}") from e
    finally:
        reader.close()
