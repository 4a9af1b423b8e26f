"""The record layout: one fixed-size, self-describing binary record per sample.

A record is a 56-byte little-endian header followed by the packed raster::

    offset  type      field
    0       4 bytes   magic      b"SPXR"
    4       uint16    version    2
    6       uint16    ndim       number of feature dims after time, 1..6 (1 for audio, 3 for [P, H, W])
    8       int32     label
    12      uint32    sample_T   time bins before packing
    16      uint64    index      position of the sample in its source split
    24      uint64    build      the build the record belongs to (:attr:`spyx_data.format.manifest.BuildKey.build_id`)
    32      6 uint32  dims       feature dims, unused trailing entries are 1
    56      uint8[]   obs        raster bit-packed along time: [ceil(sample_T / 8), *dims]

``obs`` is :func:`pack_time` of the 0/1 raster ``[sample_T, *dims]`` (``np.packbits`` along axis 0,
big bit order); :func:`unpack_time` gives it back.

Every record of a split has the same size, so a buffer of ``n`` concatenated records decodes
with one ``np.frombuffer`` into a structured array (:meth:`RecordLayout.decode`). No pickle.
A record is at most :data:`MAX_RECORD_BYTES`.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from spyx_data.errors import RecordError

MAGIC = b"SPXR"
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
        sample_T: time bins of the unpacked raster.
        dims: feature dims after time, e.g. ``(channels,)`` or ``(P, H, W)``.
    """

    sample_T: int
    dims: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.sample_T < 1:
            raise ValueError(f"sample_T must be >= 1, got {self.sample_T}")
        if not 1 <= len(self.dims) <= MAX_DIMS or min(self.dims) < 1:
            raise ValueError(f"dims must be 1..{MAX_DIMS} positive sizes, got {self.dims}")
        size = HEADER_BYTES + packed_length(self.sample_T) * int(np.prod(self.dims, dtype=object))
        if size > MAX_RECORD_BYTES:
            raise ValueError(
                f"a record of sample_T={self.sample_T} bins of {self.dims} would take {size:,} bytes, more than "
                f"the {MAX_RECORD_BYTES:,} a record may; use fewer time bins or a smaller frame"
            )

    @property
    def packed_shape(self) -> tuple[int, ...]:
        """Shape of ``obs``: ``(ceil(sample_T / 8), *dims)``, uint8."""
        return (packed_length(self.sample_T), *self.dims)

    @functools.cached_property
    def dtype(self) -> np.dtype:
        """Structured numpy dtype of one record (header fields + ``obs``)."""
        return np.dtype(HEADER_FIELDS + [("obs", "u1", self.packed_shape)])

    @property
    def record_bytes(self) -> int:
        return self.dtype.itemsize

    def encode(self, obs: np.ndarray, labels: np.ndarray, indices: np.ndarray, build: int = 0) -> bytes:
        """Encode ``n`` samples as ``n`` concatenated records.

        Args:
            obs: uint8 ``[n, *packed_shape]`` packed rasters.
            labels: int ``[n]``, must fit int32.
            indices: int ``[n]`` source indices, non-negative.
            build: the id of the build they belong to, a uint64.
        """
        obs = np.asarray(obs, dtype=np.uint8)
        if obs.shape[1:] != self.packed_shape:
            raise ValueError(f"obs has shape {obs.shape[1:]}, layout expects {self.packed_shape}")
        records = np.zeros(obs.shape[0], dtype=self.dtype)
        records["magic"] = MAGIC
        records["version"] = VERSION
        records["ndim"] = len(self.dims)
        labels = np.asarray(labels)
        if labels.size and (labels.min() < np.iinfo(np.int32).min or labels.max() > np.iinfo(np.int32).max):
            raise ValueError("labels must fit int32")
        records["label"] = labels
        records["sample_T"] = self.sample_T
        records["index"] = indices
        records["build"] = build
        records["dims"] = self.dims + (1,) * (MAX_DIMS - len(self.dims))
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
        template = np.frombuffer(self.encode(np.zeros((1, *self.packed_shape), np.uint8), [0], [0]), self.dtype)[0]
        return {field: template[field] for field in ("magic", "version", "ndim", "sample_T", "dims")}

    def check(
        self,
        records: np.ndarray,
        first_index: int | None = None,
        build: int | None = None,
        num_classes: int | None = None,
    ) -> np.ndarray:
        """Check every header of ``records`` (structured ``[n]`` of :attr:`dtype`) against this
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
