"""The record layout: one fixed-size, self-describing binary record per sample.

A record is a 56-byte little-endian header followed by the packed raster::

    offset  type      field
    0       4 bytes   magic      b"SPX" and the kind of values: b"R" binary, b"C" counts, b"F" float32
    4       uint16    version    2
    6       uint16    ndim       number of feature dims after time, 1..6 (1 for audio, 3 for [P, H, W])
    8       int32     label
    12      uint32    sample_T   time bins before packing
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
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from spyx_data.errors import RecordError

#: The kinds of record values and the magic of each (binary: bit-packed 0/1, the default).
MAGICS = {"binary": b"SPXR", "counts": b"SPXC", "float32": b"SPXF"}
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
        if self.sample_T < 1:
            raise ValueError(f"sample_T must be >= 1, got {self.sample_T}")
        if not 1 <= len(self.dims) <= MAX_DIMS or min(self.dims) < 1:
            raise ValueError(f"dims must be 1..{MAX_DIMS} positive sizes, got {self.dims}")
        size = HEADER_BYTES + self.obs_dtype.itemsize * int(np.prod(self.obs_shape, dtype=object))
        if size > MAX_RECORD_BYTES:
            raise ValueError(
                f"a record of sample_T={self.sample_T} bins of {self.dims} would take {size:,} bytes, more than "
                f"the {MAX_RECORD_BYTES:,} a record may; use fewer time bins or a smaller frame"
            )

    @property
    def packed(self) -> bool:
        """Whether ``obs`` is bit-packed along time (binary values)."""
        return self.values == "binary"

    @property
    def obs_shape(self) -> tuple[int, ...]:
        """Shape of a record's ``obs``: ``(ceil(sample_T / 8), *dims)`` bit-packed, else ``(sample_T, *dims)``."""
        return (packed_length(self.sample_T) if self.packed else self.sample_T, *self.dims)

    @property
    def obs_dtype(self) -> np.dtype:
        """Element type of ``obs`` (:data:`OBS_DTYPES`)."""
        return OBS_DTYPES[self.values]

    @functools.cached_property
    def dtype(self) -> np.dtype:
        """Structured numpy dtype of one record (header fields + ``obs``)."""
        return np.dtype(HEADER_FIELDS + [("obs", self.obs_dtype, self.obs_shape)])

    def describe(self) -> str:
        """``obs`` in words, for summaries: ``obs uint8 [16, 128] (sample_T=128, bit-packed along time)``."""
        what = {"binary": "bit-packed along time", "counts": "event counts", "float32": "float values"}[self.values]
        return f"obs {self.obs_dtype.name} {list(self.obs_shape)} (sample_T={self.sample_T}, {what})"

    def frames(self, obs: np.ndarray, axis: int = PACKED_AXIS) -> np.ndarray:
        """Samples' ``obs`` (time on ``axis``) as frames ``[..., sample_T, *dims]``: unpacked to 0/1
        uint8 for binary values, as they are otherwise."""
        return unpack_time(obs, self.sample_T, axis) if self.packed else obs

    @property
    def record_bytes(self) -> int:
        return self.dtype.itemsize

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
        records["magic"] = MAGICS[self.values]
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
        template = np.frombuffer(self.encode(np.zeros((1, *self.obs_shape), self.obs_dtype), [0], [0]), self.dtype)[0]
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
