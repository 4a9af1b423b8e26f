"""Random access to a built split: a Grain data source over the manifest's shards."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from spyx_data import paths
from spyx_data.errors import RecordError, ShardError
from spyx_data.format import manifest as manifest_lib
from spyx_data.format.framing import Frames
from spyx_data.read.event_split import frames_layout
from spyx_data.read.shards import check_checksum, check_shard, shard_path


def as_example(record: np.void | np.ndarray) -> dict[str, Any]:
    """One decoded record as the dict readers yield: ``obs`` as stored, ``[*obs_shape]`` of the
    layout's ``obs_dtype`` (binary uint8 ``[ceil(T/8), *dims]``, counts uint16 ``[T, *dims]``,
    float32 ``[T, *dims]``), ``labels`` int32 scalar, ``index`` int64 scalar (source index)."""
    return {"obs": record["obs"], "labels": np.int32(record["label"]), "index": np.int64(record["index"])}


class SplitSource:
    """A Grain random-access data source over one split of a build.

    Record ``i`` is source sample ``i`` of the split; ``source[i]`` returns
    ``{"obs": ..., "labels": int32, "index": int64}``, ``obs`` as stored, by the build's values
    (:attr:`~spyx_data.format.records.RecordLayout.values`): binary uint8 ``[ceil(T/8), *dims]``
    (bit-packed along time), counts uint16 ``[T, *dims]`` (event counts), float32 ``[T, *dims]``
    (a voxel grid's dims are ``[1, H, W]``). Built on
    ``grain.sources.ArrayRecordDataSource`` over the shards listed in the manifest (never a
    glob); opening checks that each shard exists and holds the records the manifest says
    (``verify=True``: also its sha256). A remote build is read from verified local copies of its
    shards (:func:`~spyx_data.read.shards.shard_path`), fetched on open.
    Picklable, so Grain worker processes can use it.
    """

    def __init__(
        self, directory: str, split: str, manifest: manifest_lib.Manifest | None = None, verify: bool = False
    ):
        import grain

        self.directory = str(directory)
        self.split = split
        self.manifest = manifest or manifest_lib.read_manifest(self.directory)
        self.layout = self.manifest.require_frames("open_split")
        self.info = self.manifest.split(split)
        shards = self.info.shards
        with ThreadPoolExecutor(min(16, len(shards))) as pool:
            self.paths = list(pool.map(shard_path, [self.directory] * len(shards), shards))
            list(pool.map(check_shard, self.paths, shards, [self.manifest] * len(shards)))
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
        """Samples ``indices`` as one batch: ``obs`` ``[B, *obs_shape]`` of the layout's
        ``obs_dtype`` (as :meth:`__getitem__`'s), ``labels`` int32 ``[B]``, ``index`` int64
        ``[B]``; one read and one decode."""
        records = self._records(indices)
        return {
            "obs": records["obs"],
            "labels": records["label"].astype(np.int32),
            "index": records["index"].astype(np.int64),
        }

    def _records(self, indices: Sequence[int]) -> np.ndarray:
        """Records ``indices``, each checked to be whole and to hold its own source index."""
        indices = [int(i) for i in indices]
        try:
            found = self._source.__getitems__(indices)
        except RuntimeError as e:  # how ArrayRecord reports a corrupt chunk
            raise self._name_corrupt_record(indices, e) from e
        size = self.layout.record_bytes
        short = next((k for k, record in enumerate(found) if len(record) != size), None)
        if short is not None:  # what ArrayRecord's open reader gives for records cut off the file
            raise ShardError(f"{self._where(indices[short])}: {len(found[short])} bytes read, a record has {size} "
                             "(the file was cut or replaced since the split was opened)")
        try:
            records = self.manifest.decode(b"".join(found))
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


def open_split(directory: str, split: str, verify: bool = False, frames: Frames | None = None) -> Any:
    """Open ``split`` of the build in ``directory`` (the folder holding ``manifest.json``).

    Opening checks that a folder named as a build holds that build, the record schema and that
    every shard exists with the manifest's record count; ``verify=True`` also recomputes every
    shard's sha256 (reading all of it).

    With ``frames=Frames(...)`` an events build (``--frames=events``) gives an
    :class:`~spyx_data.read.event_frames.EventFramesSource`: the same records (``obs``,
    ``labels``, ``index``) as the frames build of the same flags, made from the split's events
    (loaded into host memory and checked on open) on the CPU, batch by batch. A frames build takes
    only its own ``frames`` (:func:`~spyx_data.read.event_split.frames_layout`).

    Raises:
        UsageError: an events build without ``frames``.
        ValueError: ``frames`` that do not fit the build, or events they cannot frame.
    """
    if frames is None:
        return SplitSource(directory, split, verify=verify)
    manifest = manifest_lib.read_manifest(directory)
    frames_layout(manifest, frames, "open_split")
    if not manifest.layout.events:
        return SplitSource(directory, split, manifest, verify)
    from spyx_data.read.event_frames import EventFramesSource

    return EventFramesSource(directory, split, frames, manifest, verify)
