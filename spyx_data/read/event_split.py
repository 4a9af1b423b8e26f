"""A split of an events build (``--frames=events``) in host memory: :func:`load_events`, and
:class:`SplitEvents`, its samples' events as flat columns, cut into :class:`EventBatch` es.

The frames readers (``load_split``, ``prestage``, ``open_split``) serve frames records; an
events build's records hold each sample's events (:mod:`spyx_data.format.records`), read here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from spyx_data.errors import RecordError, ShardError, UsageError
from spyx_data.format import manifest as manifest_lib
from spyx_data.format import records
from spyx_data.format.framing import Frames
from spyx_data.read.events import EventBatch
from spyx_data.read.shards import check_checksum, open_shard, shard_path

#: Records decoded at a time (an ArrayRecord read of that many, then one copy per column).
RECORDS_PER_READ = 1024


class SplitEvents(NamedTuple):
    """A split's events, every sample's concatenated in record order: sample ``k``'s events are
    ``[offsets[k], offsets[k + 1])`` of each column, ``E`` events in all.

    Attributes:
        t: uint32 ``[E]``, microseconds from the sample's time origin.
        x: uint16 ``[E]``: a camera event's column; a spike train's input unit.
        y: uint16 ``[E]``, a camera event's row; None for spike trains.
        p: uint8 ``[E]``, a camera event's polarity; None for spike trains.
        offsets: int64 ``[n + 1]``, ``offsets[0] == 0``, ``offsets[n] == E``.
        labels: int32 ``[n]``.
        dims: the full-resolution frame dims of the events: a camera's ``(P, H, W)``, a spike
            train's ``(units,)``.
    """

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray | None
    p: np.ndarray | None
    offsets: np.ndarray
    labels: np.ndarray
    dims: tuple[int, ...]

    @property
    def num_samples(self) -> int:
        """The samples of the split (``n``)."""
        return len(self.labels)

    def sample(self, k: int) -> tuple[np.ndarray, ...]:
        """Sample ``k``'s columns ``(t, x, y, p)`` (views; ``(t, unit)`` for spike trains)."""
        at = slice(int(self.offsets[k]), int(self.offsets[k + 1]))
        return tuple(c[at] for c in (self.t, self.x, self.y, self.p) if c is not None)

    def batch(self, start: int, stop: int, length: int | None = None) -> EventBatch:
        """Samples ``[start, stop)`` as one numpy :class:`~spyx_data.read.events.EventBatch`, each
        padded with zeros to ``length`` events (default: the longest of them); a spike train's
        ``x`` is its unit, its ``y`` and ``p`` 0. Vectorised: no Python per sample or event.

        Raises:
            ValueError: a range outside the split, or a sample longer than ``length``.
        """
        if not 0 <= start <= stop <= self.num_samples:
            raise ValueError(f"samples [{start}, {stop}) are not within the {self.num_samples} of the split")
        sizes = np.diff(self.offsets[start : stop + 1])
        longest = int(sizes.max(initial=0))
        n = longest if length is None else length
        if longest > n:
            raise ValueError(f"a sample of {longest} events does not fit {n}")
        valid = np.arange(n)[None, :] < sizes[:, None]
        events = slice(int(self.offsets[start]), int(self.offsets[stop]))
        fields = []
        for column in (self.t, self.x, self.y, self.p):
            field = np.zeros((stop - start, n), np.int32)
            if column is not None:
                field[valid] = column[events]  # row-major order of ``valid`` is the events' order
            fields.append(field)
        return EventBatch(*fields, valid)

    def batches(self, batch_size: int, length: int | None = None) -> Iterator[EventBatch]:
        """The split in order, ``batch_size`` samples a batch (the last may have fewer), each
        :meth:`batch` padded to ``length`` (default: the split's longest sample, so every batch
        has one shape)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        length = int(np.diff(self.offsets).max(initial=0)) if length is None else length
        for start in range(0, self.num_samples, batch_size):
            yield self.batch(start, min(start + batch_size, self.num_samples), length)


def _events_layout(manifest: manifest_lib.Manifest) -> records.RecordLayout:
    """The layout of an events build; a :class:`~spyx_data.errors.UsageError` for any other."""
    if not manifest.layout.events:
        raise UsageError(f"{manifest.build_name} is a build of {manifest.layout.values} frames, not of events: read "
                         "it with spyx_data.load_split or prestage")
    return manifest.layout


def event_sensor(layout: records.RecordLayout) -> tuple[int, int, int]:
    """tonic's ``sensor_size`` ``(W, H, P)`` of an events layout's dims (a camera's ``(P, H, W)``;
    a spike train's ``(units,)`` is the sensor ``(units, 1, 1)``): what :class:`Frames` and the
    rasteriser take."""
    dims = layout.dims
    return (dims[2], dims[1], dims[0]) if len(dims) == 3 else (dims[0], 1, 1)


def frames_layout(manifest: manifest_lib.Manifest, frames: Frames | None, reader: str) -> records.RecordLayout:
    """The layout of the records ``reader`` (a function's name) serves from a build given
    ``frames=``: without ``frames``, the frames build's own; with them, for an events build, the
    layout of the frames build of the same flags (:meth:`Frames.layout` of the build's sensor,
    :func:`event_sensor`); for a frames build, its own where ``frames`` are the build's
    (:meth:`Frames.of`; ``duration_ms`` compared in ``window`` mode only, the others do not use it).

    Raises:
        UsageError: an events build without ``frames`` (:meth:`~spyx_data.format.manifest.Manifest.require_frames`).
        ValueError: ``frames`` that is not a :class:`Frames`; a spike train's ``Frames``
            (``channels``) for a camera's events or a camera's for a spike train's, more channels
            than units; a frames build's other frames.
    """
    if frames is None:
        return manifest.require_frames(reader)
    if not isinstance(frames, Frames):
        raise ValueError(f"frames must be a spyx_data.Frames, got {frames!r}")
    layout = manifest.layout
    if layout.events:
        spike_train = len(layout.dims) == 1
        if frames.spike_train != spike_train:
            kind, give = ("a spike train's (units,)", "channels=") if spike_train else \
                (f"a camera's {layout.dims}", "no channels (spatial_factor=, merge_polarity= instead)")
            raise ValueError(f"{manifest.build_name} holds events of {kind}: give Frames {give}")
        return frames.layout(event_sensor(layout))
    try:
        own = Frames.of(manifest)
    except ValueError:
        own = None
    if own is None or _framing(own) != _framing(frames):
        raise ValueError(f"{manifest.build_name} holds frames already{f' ({own})' if own else ''}, not {frames}: "
                         f"leave frames= out to read them, or pass frames= with its events build")
    return layout


def _framing(frames: Frames) -> Frames:
    """``frames`` without what its mode does not use (``duration_ms`` outside ``window``)."""
    return frames if frames.mode == "window" else dataclasses.replace(frames, duration_ms=None)


def iter_event_records(
    directory: str, split: str, manifest: manifest_lib.Manifest, verify: bool = False
) -> Iterator[tuple[int, str, records.EventRecords]]:
    """A split's events records in order, :data:`RECORDS_PER_READ` at a time, each checked
    (:meth:`~spyx_data.format.manifest.Manifest.decode_events`): ``(index of the first, the
    shard's path, the records decoded)``.

    Raises:
        UsageError: the build is not an events build (read it with ``load_split``).
        ShardError: a shard is missing, unreadable or disagrees with the manifest.
    """
    _events_layout(manifest)
    for shard in manifest.split(split).shards:
        path = shard_path(directory, shard)
        if verify:
            check_checksum(path, shard)
        reader = open_shard(path, shard)
        try:
            for begin in range(0, shard.num_records, RECORDS_PER_READ):
                end = min(begin + RECORDS_PER_READ, shard.num_records)
                try:
                    found = manifest.decode_events(reader.read(begin, end), shard.first_index + begin)
                except RecordError as e:
                    raise ShardError(f"{path}: {e}") from e
                except RuntimeError as e:  # how ArrayRecord reports a corrupt chunk
                    raise ShardError(f"{path}: records {begin}..{end - 1}: {e}") from e
                yield shard.first_index + begin, path, found
        finally:
            reader.close()


def events_per_sample(
    directory: str, split: str, manifest: manifest_lib.Manifest | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's number of events, int64 ``[n]``, and its label, int32 ``[n]``, of a split of
    an events build, every record checked; memory: one read's records (the events are not kept).

    Raises:
        UsageError, ShardError: as :func:`iter_event_records`.
    """
    manifest = manifest or manifest_lib.read_manifest(directory)
    n = manifest.split(split).num_records
    sizes, labels = np.empty(n, np.int64), np.empty(n, np.int32)
    for first, _, found in iter_event_records(directory, split, manifest):
        sizes[first : first + len(found.headers)] = np.diff(found.offsets)
        labels[first : first + len(found.headers)] = found.headers["label"]
    return sizes, labels


def load_events(
    directory: str, split: str, manifest: manifest_lib.Manifest | None = None, verify: bool = False
) -> SplitEvents:
    """Every sample's events of a split of an events build, in record order, in host memory.

    One pass over the split's shards, :data:`RECORDS_PER_READ` records at a time, into columns
    allocated once from the manifest's ``stored_events``; every record checked (its header:
    layout, index, build, label; its length). Memory: the columns (9 bytes an event for a
    camera, 6 for a spike train) and one read's records.

    Args:
        verify: also recompute each shard's sha256 against the manifest.

    Raises:
        UsageError: the build is not an events build (read it with ``load_split``).
        ShardError: a shard is missing, unreadable, disagrees with the manifest, or holds more or
            fewer events than the manifest counts.
    """
    manifest = manifest or manifest_lib.read_manifest(directory)
    layout = _events_layout(manifest)
    info = manifest.split(split)
    total = info.counts.get("stored_events", 0)
    columns = {name: np.empty(total, dtype) for name, dtype in layout.columns}
    offsets = np.zeros(info.num_records + 1, np.int64)
    labels = np.empty(info.num_records, np.int32)
    for first, path, found in iter_event_records(directory, split, manifest, verify):
        at = int(offsets[first])
        stop = at + int(found.offsets[-1])
        if stop > total:
            raise ShardError(f"{path}: holds more events than the {total} the manifest counts in {split!r}")
        for name, values in found.columns.items():
            columns[name][at:stop] = values
        offsets[first + 1 : first + len(found.headers) + 1] = at + found.offsets[1:]
        labels[first : first + len(found.headers)] = found.headers["label"]
    if offsets[-1] != total:
        raise ShardError(f"split {split!r} holds {int(offsets[-1])} events, the manifest counts {total}")
    if len(layout.dims) == 3:
        return SplitEvents(columns["t"], columns["x"], columns["y"], columns["p"], offsets, labels, layout.dims)
    return SplitEvents(columns["t"], columns["unit"], None, None, offsets, labels, layout.dims)
