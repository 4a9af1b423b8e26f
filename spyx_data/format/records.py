"""The record layout: one self-describing binary record per sample, of a fixed size per split for
frames, of the sample's size for events.

A record is a 56-byte little-endian header followed by the packed raster (or the events)::

    offset  type      field
    0       4 bytes   magic      b"SPX" and the kind of values: b"R" binary, b"C" counts, b"F" float32,
                                 b"E" events
    4       uint16    version    2
    6       uint16    ndim       number of feature dims after time, 1..6 (1 for audio, 3 for [P, H, W])
    8       int32     label
    12      uint32    sample_T   time bins before packing (0 for events)
    16      uint64    index      position of the sample in its source split
    24      uint64    build      the build the record belongs to (:attr:`spyx_data.format.manifest.BuildKey.build_id`)
    32      6 uint32  dims       feature dims, unused trailing entries are 1
    56        obs        the sample's frames, by the layout's :attr:`RecordLayout.values`:
                         binary   uint8 [ceil(sample_T / 8), *dims], bit-packed along time
                         counts   little-endian uint16 [sample_T, *dims], event counts
                         float32  little-endian float32 [sample_T, *dims] (voxel grids)

Binary ``obs`` is :func:`pack_time` of the 0/1 raster ``[sample_T, *dims]`` (``np.packbits`` along
axis 0, big bit order); :func:`unpack_time` gives it back. A count above 65,535 is stored as
65,535 (the build counts such cells in the manifest). Binary records are every build's default,
and their bytes are those of the builds before the other kinds existed.

Every record of a split has the same size, so a buffer of ``n`` concatenated records decodes
with one ``np.frombuffer`` into a structured array (:meth:`RecordLayout.decode`). No pickle.
A record is at most :data:`MAX_RECORD_BYTES`.

**Events records** (``values="events"``, the builds of ``--frames=events``) hold one sample's
events instead of frames: the header (``sample_T`` 0; ``dims`` the full-resolution frame dims of
the events: a camera's ``(P, H, W)``, a spike train's ``(units,)``), then the ``n`` events in
columns, each a little-endian array of ``n`` values, one column after the other
(:data:`CAMERA_COLUMNS`, :data:`SPIKE_COLUMNS`)::

    camera (ndim 3)        56 + 4n  t uint32, 2n x uint16, 2n y uint16, n p uint8      9 bytes an event
    spike train (ndim 1)   56 + 4n  t uint32, 2n unit uint16                           6 bytes an event

``t`` is microseconds from the sample's time origin, ``x < W``, ``y < H``, ``p < P``,
``unit < units``; the events are in the dataset's order (time order but for S-MNIST's
duplicated spikes). ``n`` is ``(record bytes - 56) / bytes per event``, so a record of another
length is refused; every column starts aligned to its type. Records of a split differ in size:
each is one ArrayRecord record, and :meth:`RecordLayout.decode_events` decodes any number of
them into flat columns (one copy per column and record, no Python per event).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from spyx_data.errors import RecordError

#: The kinds of record values and the magic of each (binary: bit-packed 0/1, the default).
MAGICS = {"binary": b"SPXR", "counts": b"SPXC", "float32": b"SPXF", "events": b"SPXE"}
#: The element type of ``obs`` for each kind of values.
OBS_DTYPES = {"binary": np.dtype(np.uint8), "counts": np.dtype("<u2"), "float32": np.dtype("<f4")}
VERSION = 2
MAX_DIMS = 6
#: The largest record a build writes (a build rasterises 64 of them at a time in memory).
MAX_RECORD_BYTES = 16 << 20
HEADER_FIELDS: list[tuple] = [
    ("magic", "S4"),
    ("version", "<u2"),
    ("ndim", "<u2"),
    ("label", "<i4"),
    ("sample_T", "<u4"),
    ("index", "<u8"),
    ("build", "<u8"),
    ("dims", "<u4", (MAX_DIMS,)),
]
HEADER_BYTES = np.dtype(HEADER_FIELDS).itemsize
HEADER_DTYPE = np.dtype(HEADER_FIELDS)
#: The columns of a camera's events records, in their order in a record: name and little-endian type.
CAMERA_COLUMNS = (("t", "<u4"), ("x", "<u2"), ("y", "<u2"), ("p", "u1"))
#: The columns of a spike train's events records.
SPIKE_COLUMNS = (("t", "<u4"), ("unit", "<u2"))
#: The axis of a sample's raster that ``obs`` is bit-packed along (time), and the bit order of
#: the packing (``np.packbits``' ``bitorder``: bin ``8k`` is the most significant bit of byte
#: ``k``). The manifest states both (``record.packed_axis``, ``record.bitorder``).
PACKED_AXIS = 0
BITORDER = "big"


def packed_length(sample_T: int) -> int:
    """Bytes per packed time column: ``ceil(sample_T / 8)``."""
    return (sample_T + 7) // 8


def pack_time(raster: np.ndarray, axis: int = PACKED_AXIS) -> np.ndarray:
    """Bit-pack a 0/1 raster along its time axis: ``[T, ...] -> uint8[ceil(T/8), ...]``, the pad bits
    of the last byte 0 (:data:`BITORDER`). ``axis``: the time axis (another for a batch, ``[B, T, ...]``)."""
    return np.packbits(raster, axis=axis, bitorder=BITORDER)


def unpack_time(packed: np.ndarray, sample_T: int, axis: int = PACKED_AXIS) -> np.ndarray:
    """Inverse of :func:`pack_time`: ``uint8[ceil(T/8), ...] -> uint8[T, ...]`` of 0/1, pad bits dropped."""
    return np.unpackbits(packed, axis=axis, count=sample_T, bitorder=BITORDER)


@dataclasses.dataclass(frozen=True)
class RecordLayout:
    """Shape of the records of one split.

    Attributes:
        sample_T: time bins (frames) of a sample.
        dims: feature dims after time, e.g. ``(channels,)`` or ``(P, H, W)``.
        values: what a cell holds, one of :data:`MAGICS`: ``binary`` (0/1, bit-packed along
            time), ``counts`` (uint16 event counts) or ``float32``.
    """

    sample_T: int
    dims: tuple[int, ...]
    values: str = "binary"

    def __post_init__(self) -> None:
        if self.values not in MAGICS:
            raise ValueError(f"values must be one of {sorted(MAGICS)}, got {self.values!r}")
        if not 1 <= len(self.dims) <= MAX_DIMS or min(self.dims) < 1:
            raise ValueError(f"dims must be 1..{MAX_DIMS} positive sizes, got {self.dims}")
        if self.events:
            if self.sample_T != 0 or len(self.dims) not in (1, 3):
                raise ValueError(f"events records have sample_T 0 and dims (P, H, W) or (units,), got "
                                 f"sample_T={self.sample_T}, dims {self.dims}")
            sizes = self.dims[::-1] if len(self.dims) == 3 else self.dims  # (W, H, P): the columns x, y, p
            for (name, dtype), size in zip(self.columns[1:], sizes):
                if size - 1 > np.iinfo(dtype).max:
                    raise ValueError(f"a {name} of up to {size - 1} does not fit the {dtype.name} of an events record")
            return
        if self.sample_T < 1:
            raise ValueError(f"sample_T must be >= 1, got {self.sample_T}")
        size = HEADER_BYTES + self.obs_dtype.itemsize * int(np.prod(self.obs_shape, dtype=object))
        if size > MAX_RECORD_BYTES:
            raise ValueError(
                f"a record of sample_T={self.sample_T} bins of {self.dims} would take {size:,} bytes, more than "
                f"the {MAX_RECORD_BYTES:,} a record may; use fewer time bins or a smaller frame"
            )

    @property
    def events(self) -> bool:
        """Whether records hold a sample's events (``values="events"``), of the sample's size."""
        return self.values == "events"

    @property
    def columns(self) -> tuple[tuple[str, np.dtype], ...]:
        """An events record's columns, in order: name and little-endian type
        (:data:`CAMERA_COLUMNS` for dims ``(P, H, W)``, :data:`SPIKE_COLUMNS` for ``(units,)``)."""
        if not self.events:
            raise ValueError(f"{self.values} records hold frames, not event columns")
        return tuple((name, np.dtype(t)) for name, t in (CAMERA_COLUMNS if len(self.dims) == 3 else SPIKE_COLUMNS))

    @property
    def bytes_per_event(self) -> int:
        """Bytes an event takes in an events record (9 for a camera's, 6 for a spike train's)."""
        return sum(dtype.itemsize for _, dtype in self.columns)

    @property
    def packed(self) -> bool:
        """Whether ``obs`` is bit-packed along time (binary values)."""
        return self.values == "binary"

    def _frames_only(self) -> None:
        if self.events:
            raise ValueError("events records hold a sample's events, of its size: no obs, no fixed record size")

    @property
    def obs_shape(self) -> tuple[int, ...]:
        """Shape of a record's ``obs``: ``(ceil(sample_T / 8), *dims)`` bit-packed, else ``(sample_T, *dims)``."""
        self._frames_only()
        return (packed_length(self.sample_T) if self.packed else self.sample_T, *self.dims)

    @property
    def obs_dtype(self) -> np.dtype:
        """Element type of ``obs`` (:data:`OBS_DTYPES`)."""
        self._frames_only()
        return OBS_DTYPES[self.values]

    @functools.cached_property
    def dtype(self) -> np.dtype:
        """Structured numpy dtype of one record (header fields + ``obs``)."""
        return np.dtype(HEADER_FIELDS + [("obs", self.obs_dtype, self.obs_shape)])

    def describe(self) -> str:
        """``obs`` in words, for summaries: ``obs uint8 [16, 128] (sample_T=128, bit-packed along time)``;
        for events, their columns: ``events t uint32, unit uint16 (6 bytes an event) of [700]``."""
        if self.events:
            columns = ", ".join(f"{name} {dtype.name}" for name, dtype in self.columns)
            return f"events {columns} ({self.bytes_per_event} bytes an event) of {list(self.dims)}"
        what = {"binary": "bit-packed along time", "counts": "event counts", "float32": "float values"}[self.values]
        return f"obs {self.obs_dtype.name} {list(self.obs_shape)} (sample_T={self.sample_T}, {what})"

    def frames(self, obs: np.ndarray, axis: int = PACKED_AXIS) -> np.ndarray:
        """Samples' ``obs`` (time on ``axis``) as frames ``[..., sample_T, *dims]``: unpacked to 0/1
        uint8 for binary values, as they are otherwise."""
        return unpack_time(obs, self.sample_T, axis) if self.packed else obs

    @property
    def record_bytes(self) -> int:
        """Bytes of a frames record (an events record's are its sample's: :attr:`bytes_per_event`)."""
        return self.dtype.itemsize

    def _headers(self, labels: np.ndarray, indices: np.ndarray, build: int) -> np.ndarray:
        """Headers ``[n]`` (:data:`HEADER_DTYPE`) of records of this layout."""
        labels = np.asarray(labels)
        if labels.size and (labels.min() < np.iinfo(np.int32).min or labels.max() > np.iinfo(np.int32).max):
            raise ValueError("labels must fit int32")
        headers = np.zeros(labels.size, dtype=HEADER_DTYPE)
        headers["magic"] = MAGICS[self.values]
        headers["version"] = VERSION
        headers["ndim"] = len(self.dims)
        headers["label"] = labels
        headers["sample_T"] = self.sample_T
        headers["index"] = indices
        headers["build"] = build
        headers["dims"] = self.dims + (1,) * (MAX_DIMS - len(self.dims))
        return headers

    def encode_records(self, obs: Any, labels: np.ndarray, indices: np.ndarray, build: int = 0) -> list[bytes]:
        """``n`` samples as ``n`` records, one ``bytes`` each: frames ``obs`` as :meth:`encode`
        takes them, or for events a sequence of ``n`` samples' columns (:meth:`encode_events`)."""
        if self.events:
            return self.encode_events(obs, labels, indices, build)
        return self.split(self.encode(obs, labels, indices, build))

    def check_events(self, columns: Sequence[np.ndarray]) -> None:
        """Raise ``ValueError`` naming the first event (its place in the sample) and column that an
        events record cannot hold: a time outside ``0..2**32 - 1`` us, a cell off :attr:`dims`;
        or columns not 1-D and of equal length, or not :attr:`columns` in number."""
        names = [name for name, _ in self.columns]
        if len(columns) != len(names) or len({np.shape(c) for c in columns}) != 1 or np.ndim(columns[0]) != 1:
            raise ValueError(f"give the columns {', '.join(names)} of a sample's events, 1-D and of equal length")
        tops = (np.iinfo(np.uint32).max, *(self.dims[::-1] if len(self.dims) == 3 else self.dims))
        for name, column, top in zip(names, columns, (tops[0], *(d - 1 for d in tops[1:]))):
            column = np.asarray(column)
            if column.size and column.dtype.kind not in "biu":
                raise ValueError(f"{name} must be integers (or booleans), got {column.dtype}")
            off = np.flatnonzero((column < 0) | (column > top))
            if off.size:
                j = int(off[0])
                unit = " us from the time origin" if name == "t" else ""
                raise ValueError(f"event {j} has {name}={int(column[j])}{unit}, outside the 0..{top} an events record "
                                 "holds")

    def encode_events(
        self, samples: Sequence[Sequence[np.ndarray]], labels: np.ndarray, indices: np.ndarray, build: int = 0
    ) -> list[bytes]:
        """Encode ``n`` samples' events as ``n`` events records (module docstring), one ``bytes`` each.

        Args:
            samples: per sample, its columns (:attr:`columns`, in order: ``t, x, y, p`` or
                ``t, unit``), 1-D integer arrays of its events, checked by :meth:`check_events`.
            labels: int ``[n]``, must fit int32.
            indices: int ``[n]`` source indices, non-negative.
            build: the id of the build they belong to, a uint64.

        Raises:
            ValueError: see :meth:`check_events`; labels that do not fit int32.
        """
        headers = self._headers(labels, indices, build)
        if len(samples) != len(headers):
            raise ValueError(f"{len(samples)} samples, {len(headers)} labels")
        out = []
        for header, columns in zip(headers, samples):
            self.check_events(columns)
            out.append(header.tobytes() + b"".join(np.asarray(c).astype(dtype, copy=False).tobytes()
                                                   for c, (_, dtype) in zip(columns, self.columns)))
        return out

    def decode_events(
        self,
        records: Sequence[bytes | memoryview],
        first_index: int | None = None,
        build: int | None = None,
        num_classes: int | None = None,
    ) -> EventRecords:
        """Decode events records (each one sample's ``bytes``, as an ArrayRecord reader gives them),
        checked: each record's length is a header and whole events, its header as :meth:`check`
        checks it.

        Raises:
            RecordError: a record of a wrong length, magic, version, dims, index, build or label,
                naming it (its position in ``records``).
        """
        per_event = self.bytes_per_event
        sizes = np.fromiter((len(r) for r in records), np.int64, len(records))
        bad = (sizes < HEADER_BYTES) | ((sizes - HEADER_BYTES) % per_event != 0)
        if bad.any():
            k = int(np.argmax(bad))
            raise RecordError(f"{int(sizes[k])} bytes is not a {HEADER_BYTES}-byte header and whole events of "
                              f"{per_event} bytes", k)
        headers = np.frombuffer(b"".join(bytes(r[:HEADER_BYTES]) for r in records), HEADER_DTYPE)
        self.check(headers, first_index, build, num_classes)
        lengths = (sizes - HEADER_BYTES) // per_event
        offsets = np.zeros(len(records) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        columns = {name: np.empty(int(offsets[-1]), dtype) for name, dtype in self.columns}
        for record, n, at in zip(records, lengths.tolist(), offsets.tolist()):
            start = HEADER_BYTES
            for name, dtype in self.columns:
                columns[name][at : at + n] = np.frombuffer(record, dtype, n, start)
                start += n * dtype.itemsize
        return EventRecords(headers, offsets, columns)

    def encode(self, obs: np.ndarray, labels: np.ndarray, indices: np.ndarray, build: int = 0) -> bytes:
        """Encode ``n`` samples as ``n`` concatenated records.

        Args:
            obs: ``[n, *obs_shape]`` of :attr:`obs_dtype`.
            labels: int ``[n]``, must fit int32.
            indices: int ``[n]`` source indices, non-negative.
            build: the id of the build they belong to, a uint64.
        """
        obs = np.asarray(obs)
        if obs.shape[1:] != self.obs_shape:
            raise ValueError(f"obs has shape {obs.shape[1:]}, layout expects {self.obs_shape}")
        if obs.dtype != self.obs_dtype:
            raise ValueError(f"obs is {obs.dtype}, layout expects {self.obs_dtype}")
        records = np.zeros(obs.shape[0], dtype=self.dtype)
        headers = self._headers(labels, indices, build)
        for field in HEADER_DTYPE.names:
            records[field] = headers[field]
        records["obs"] = obs
        return records.tobytes()

    def split(self, buffer: bytes) -> list[bytes]:
        """Cut a buffer of concatenated records into one ``bytes`` per record."""
        size = self.record_bytes
        return [buffer[i : i + size] for i in range(0, len(buffer), size)]

    def decode(
        self,
        buffer: bytes | memoryview,
        first_index: int | None = None,
        build: int | None = None,
        num_classes: int | None = None,
    ) -> np.ndarray:
        """Decode concatenated records into a read-only structured array ``[n]`` of :attr:`dtype`,
        checked as :meth:`check` does.

        Raises:
            RecordError: wrong size, magic, version, shape, index, build or label.
        """
        size = self.record_bytes
        if len(buffer) % size:
            raise RecordError(f"{len(buffer)} bytes is not a whole number of {size}-byte records")
        return self.check(np.frombuffer(buffer, dtype=self.dtype), first_index, build, num_classes)

    @functools.cached_property
    def _header_fields(self) -> dict[str, np.ndarray]:
        """The header fields every record of this layout has (all but label, index and build)."""
        template = self._headers(np.zeros(1, np.int32), np.zeros(1, np.uint64), 0)[0]
        return {field: template[field] for field in ("magic", "version", "ndim", "sample_T", "dims")}

    def check(
        self,
        records: np.ndarray,
        first_index: int | None = None,
        build: int | None = None,
        num_classes: int | None = None,
    ) -> np.ndarray:
        """Check every header of ``records`` (structured ``[n]`` of :attr:`dtype`, or of
        :data:`HEADER_DTYPE`: the headers alone) against this
        layout, and what is given: that record ``k`` holds source index ``first_index + k``,
        that every record belongs to ``build``, that every label is in ``0..num_classes-1``.
        Returns ``records``.

        Raises:
            RecordError: wrong magic, version, shape, index, build or label; the message names the
                first bad record (its position in ``records``).
        """
        expected = dict(self._header_fields)
        if first_index is not None:
            expected["index"] = np.arange(first_index, first_index + len(records), dtype=np.uint64)
        if build is not None:
            expected["build"] = np.uint64(build)
        for field, want in expected.items():
            bad = records[field] != want
            if bad.any():
                k = int(np.flatnonzero(bad.reshape(len(records), -1).any(axis=1))[0])
                if field == "magic":
                    kind = {magic: kind for kind, magic in MAGICS.items()}.get(bytes(records["magic"][k]))
                    if kind is not None:
                        raise RecordError(f"holds {kind} records, this build's are {self.values}: a shard of "
                                          "another kind of build", k)
                if field == "build":
                    raise RecordError(f"belongs to build {int(records['build'][k]):#018x}, not to this one "
                                      f"({build:#018x}): a shard of another build", k)
                raise RecordError(f"{field} is {records[field][k]!r}, expected layout {self}", k)
        if num_classes is not None:
            labels = records["label"]
            bad = (labels < 0) | (labels >= num_classes)
            if bad.any():
                k = int(np.argmax(bad))
                raise RecordError(f"label {labels[k]} outside 0..{num_classes - 1}", k)
        return records


class EventRecords(NamedTuple):
    """Events records decoded (:meth:`RecordLayout.decode_events`).

    Attributes:
        headers: structured ``[n]`` of :data:`HEADER_DTYPE` (``label``, ``index``, ...).
        offsets: int64 ``[n + 1]``; record ``k``'s events are ``[offsets[k], offsets[k + 1])``.
        columns: each column's values, all records' concatenated in order, by name (the layout's
            :attr:`~RecordLayout.columns`: uint32 ``t``, uint16 ``x``/``y``/``unit``, uint8 ``p``).
    """

    headers: np.ndarray
    offsets: np.ndarray
    columns: dict[str, np.ndarray]
