"""Random access to a built split: a Grain data source over the manifest's shards."""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from spyx_data import paths
from spyx_data.errors import RecordError, ShardError
from spyx_data.format import manifest as manifest_lib
from spyx_data.format import riegeli


def _open_shard(path: str, shard: manifest_lib.ShardInfo):
    """An open ``ArrayRecordReader`` on ``path`` whose record count matches the manifest.

    Raises:
        ShardError: naming ``path``.
    """
    from array_record.python.array_record_module import ArrayRecordReader

    reader = ArrayRecordReader(path)
    if not reader.ok():
        raise ShardError(f"{path}: cannot open as ArrayRecord (missing, truncated or corrupt)")
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
    reader = _open_shard(path, shard)
    try:
        manifest.decode(reader.read([0])[0], shard.first_index)
    except RecordError as e:
        raise ShardError(f"{path}: {e}") from e
    except RuntimeError as e:  # how ArrayRecord reports a corrupt chunk
        raise ShardError(f"{path}: record 0: {e}") from e
    finally:
        reader.close()


def check_checksum(path: str, shard: manifest_lib.ShardInfo) -> None:
    """Recompute a shard's sha256 (reads the whole file).

    Raises:
        ShardError: naming ``path``, when it differs from the manifest's.
    """
    from spyx_data.read.verify import sha256_of

    digest, _ = sha256_of(path)
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
            _open_shard(path, shard).close()
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
    reader = _open_shard(path, shard)
    try:
        return b"".join(reader.read_all() if (begin, end) == (0, shard.num_records) else reader.read(begin, end))
    except RuntimeError as e:  # how the reader reports a corrupt chunk
        raise ShardError(f"{path}: {e}") from e
    finally:
        reader.close()


def as_example(record: np.void | np.ndarray) -> dict[str, Any]:
    """One decoded record as the dict readers yield: ``obs`` uint8 ``[ceil(T/8), *dims]``,
    ``labels`` int32 scalar, ``index`` int64 scalar (source index)."""
    return {"obs": record["obs"], "labels": np.int32(record["label"]), "index": np.int64(record["index"])}


class SplitSource:
    """A Grain random-access data source over one split of a build.

    Record ``i`` is source sample ``i`` of the split; ``source[i]`` returns
    ``{"obs": uint8[ceil(T/8), *dims], "labels": int32, "index": int64}``. Built on
    ``grain.sources.ArrayRecordDataSource`` over the shards listed in the manifest (never a
    glob); opening checks that each shard exists and holds the records the manifest says
    (``verify=True``: also its sha256).
    Picklable, so Grain worker processes can use it.
    """

    def __init__(
        self, directory: str, split: str, manifest: manifest_lib.Manifest | None = None, verify: bool = False
    ):
        import grain

        self.directory = str(directory)
        self.split = split
        self.manifest = manifest or manifest_lib.read_manifest(self.directory)
        self.info = self.manifest.split(split)
        self.layout = self.manifest.layout
        self.paths = [paths.join(self.directory, s.path) for s in self.info.shards]
        with ThreadPoolExecutor(min(16, len(self.paths))) as pool:
            list(pool.map(check_shard, self.paths, self.info.shards, [self.manifest] * len(self.paths)))
            if verify:
                list(pool.map(check_checksum, self.paths, self.info.shards))
        self._source = grain.sources.ArrayRecordDataSource(
            [f"{p}[0:{s.num_records}]" for p, s in zip(self.paths, self.info.shards)]
        )

    def __len__(self) -> int:
        return self.info.num_records

    def __getitem__(self, index: int) -> dict[str, Any]:
        return as_example(self._records([index])[0])

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        return [as_example(r) for r in self._records(indices)]

    def read_batch(self, indices: Sequence[int]) -> dict[str, np.ndarray]:
        """Samples ``indices`` as one batch: ``obs`` uint8 ``[B, ceil(T/8), *dims]``,
        ``labels`` int32 ``[B]``, ``index`` int64 ``[B]``; one read and one decode."""
        records = self._records(indices)
        return {
            "obs": records["obs"],
            "labels": records["label"].astype(np.int32),
            "index": records["index"].astype(np.int64),
        }

    def _records(self, indices: Sequence[int]) -> np.ndarray:
        """Records ``indices``, each checked to hold its own source index."""
        indices = [int(i) for i in indices]
        try:
            buffer = b"".join(self._source.__getitems__(indices))
        except RuntimeError as e:  # how ArrayRecord reports a corrupt chunk
            raise self._name_corrupt_record(indices, e) from e
        try:
            records = self.manifest.decode(buffer)
        except RecordError as e:  # another build's record, a label out of range, ...
            raise ShardError(f"{self._where(indices[e.record])}: {e.reason}") from e
        if not np.array_equal(records["index"], indices):
            k = int(np.argmax(records["index"] != np.asarray(indices, dtype=np.uint64)))
            raise ShardError(f"{self._where(indices[k])}: holds source index {records['index'][k]}")
        return records

    def _where(self, index: int) -> str:
        """``<shard path>: record <r> (source index <index> of '<split>')``."""
        shard = self.info.shards[bisect.bisect_right([s.first_index for s in self.info.shards], index) - 1]
        return f"{paths.join(self.directory, shard.path)}: record {index - shard.first_index} " \
               f"(source index {index} of {self.split!r})"

    def _name_corrupt_record(self, indices: Sequence[int], error: RuntimeError) -> ShardError:
        """A ShardError naming the shard file and record of the first of ``indices`` that fails."""
        for i in indices:
            try:
                self._source[i]
            except RuntimeError as e:
                return ShardError(f"{self._where(i)}: {e}")
        return ShardError(f"{self.directory}: {self.split!r}: {error}")

    def __repr__(self) -> str:
        return f"SplitSource({self.directory!r}, {self.split!r}, num_records={len(self)})"


def open_split(directory: str, split: str, verify: bool = False) -> SplitSource:
    """Open ``split`` of the build in ``directory`` (the folder holding ``manifest.json``).

    Opening checks the record schema and that every shard exists with the manifest's record
    count; ``verify=True`` also recomputes every shard's sha256 (reading all of it).
    """
    return SplitSource(directory, split, verify=verify)
