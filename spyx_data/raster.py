"""Event-to-raster maths: pure numpy functions, no I/O.

One rule, used by every pipeline and every test:

* an event time ``t`` (seconds, float) becomes ``t_us = floor(t * 1e6)`` whole microseconds;
* its time bin is ``floor(t_us * sample_T / duration_us)``, computed in exact int64
  arithmetic, so bin ``k`` covers ``[k * duration_us / sample_T, (k + 1) * duration_us / sample_T)``;
* events at or after ``duration_us`` (bin ``>= sample_T``) lie outside the window and are
  dropped (counted in :class:`RasterCounts`);
* a cell holds 1 if at least one event falls in it (binary presence: nothing can wrap).

Rasters come out bit-packed along time, ``uint8[ceil(sample_T / 8), *dims]``, exactly as
:func:`pack_time` (``np.packbits(axis=0)``, big bit order) packs a dense 0/1 ``[sample_T, *dims]``
raster; :func:`unpack_time` gives the dense raster back.
"""

from __future__ import annotations

import dataclasses

import numpy as np

US_PER_S = 1_000_000
#: Input units of the Heidelberg audio datasets (SHD, SSC): cochlear channels 0..699.
HEIDELBERG_UNITS = 700


@dataclasses.dataclass(frozen=True)
class RasterCounts:
    """What rasterisation saw: ``events`` read, how many were dropped, and how many samples
    had no events at all (they give all-zero rasters)."""

    events: int = 0
    dropped_nonfinite: int = 0
    dropped_outside_window: int = 0
    empty_samples: int = 0

    def __add__(self, other: RasterCounts) -> RasterCounts:
        return RasterCounts(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def check_window(sample_T: int, duration_us: int) -> None:
    """Raise ``ValueError`` unless ``sample_T`` bins over ``duration_us`` fit exact int64 maths."""
    if not isinstance(sample_T, (int, np.integer)) or sample_T < 1:
        raise ValueError(f"sample_T must be a positive integer, got {sample_T!r}")
    if not isinstance(duration_us, (int, np.integer)) or duration_us < 1:
        raise ValueError(f"the window must be at least 1 us long, got {duration_us!r} us")
    if int(sample_T) * int(duration_us) >= 2**63:
        raise ValueError(f"sample_T * duration_us = {sample_T} * {duration_us} overflows int64")


def window_us(sample_T: int, duration_ms: int) -> int:
    """The window of ``duration_ms`` in microseconds, after checking it and ``sample_T``.

    Raises:
        ValueError: ``duration_ms`` is not a positive integer, or see :func:`check_window`.
    """
    if not isinstance(duration_ms, (int, np.integer)) or duration_ms < 1:
        raise ValueError(f"duration_ms must be a positive integer, got {duration_ms!r}")
    check_window(sample_T, int(duration_ms) * 1000)
    return int(duration_ms) * 1000


def seconds_to_us(times_s: np.ndarray, duration_us: int) -> tuple[np.ndarray, np.ndarray, RasterCounts]:
    """Convert event times in seconds to whole microseconds inside the window.

    Args:
        times_s: float array ``[n]`` of event times in seconds (any float dtype; the maths is
            float64, so float16 input cannot overflow).
        duration_us: window length in microseconds.

    Returns:
        ``(t_us, keep, counts)``: ``t_us`` int64 ``[m]`` = ``floor(t * 1e6)`` for the kept events,
        ``keep`` bool ``[n]`` marking them, and the counts of dropped events. Non-finite times and
        times at or after the window end are dropped.

    Raises:
        ValueError: a finite time is negative.
    """
    scaled = np.asarray(times_s, dtype=np.float64) * US_PER_S
    finite = np.isfinite(scaled)
    if np.any(scaled[finite] < 0):
        first = int(np.flatnonzero(finite & (scaled < 0))[0])
        raise ValueError(f"event {first} has a negative time ({scaled[first] / US_PER_S!r} s)")
    # floor(y) < D  <=>  y < D for integer D, so this test needs no int conversion of huge values.
    keep = finite & (scaled < duration_us)
    counts = RasterCounts(
        events=int(scaled.size),
        dropped_nonfinite=int(scaled.size - np.count_nonzero(finite)),
        dropped_outside_window=int(np.count_nonzero(finite) - np.count_nonzero(keep)),
        empty_samples=int(scaled.size == 0),
    )
    return np.floor(scaled[keep]).astype(np.int64), keep, counts


def us_in_window(t_us: np.ndarray, duration_us: int) -> tuple[np.ndarray, RasterCounts]:
    """Which integer microsecond times lie in ``[0, duration_us)``.

    Returns:
        ``(keep, counts)``: bool ``[n]`` and the count of events at or after the window end.

    Raises:
        ValueError: a time is negative.
    """
    t_us = np.asarray(t_us)
    if t_us.size and t_us.min() < 0:
        first = int(np.flatnonzero(t_us < 0)[0])
        raise ValueError(f"event {first} has a negative time ({int(t_us[first])} us)")
    keep = t_us < duration_us
    counts = RasterCounts(
        events=int(t_us.size),
        dropped_outside_window=int(t_us.size - np.count_nonzero(keep)),
        empty_samples=int(t_us.size == 0),
    )
    return keep, counts


def time_bins(t_us: np.ndarray, sample_T: int, duration_us: int) -> np.ndarray:
    """Bin of each in-window time: ``t_us * sample_T // duration_us`` (int64, exact).

    ``t_us`` must already lie in ``[0, duration_us)`` (see :func:`seconds_to_us`).
    """
    return np.asarray(t_us, dtype=np.int64) * sample_T // duration_us


def scale_units(units: np.ndarray, n_units: int, channels: int) -> np.ndarray:
    """Map input units ``0..n_units-1`` onto ``channels`` channels: ``unit * channels // n_units``.

    Raises:
        ValueError: a unit lies outside ``0..n_units-1``.
    """
    units = np.asarray(units)
    if units.size:
        bad = (units < 0) | (units >= n_units)
        if np.any(bad):
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(f"event {first} has unit {int(units[first])}, outside 0..{n_units - 1}")
    return units.astype(np.int64) * channels // n_units


def packed_presence(bins: np.ndarray, coords: tuple[np.ndarray, ...], shape: tuple[int, ...]) -> np.ndarray:
    """Binary raster of events ``(bin, *coords)``, bit-packed along time: ``uint8[ceil(T/8), *dims]``.

    ``shape`` is ``(sample_T, *dims)``; every index must already be in range. Equals
    ``pack_time`` of the dense 0/1 raster. Two equivalent ways, chosen by cost: few events on
    a large raster set their bits straight into the packed array; otherwise a dense raster with
    time last (contiguous for ``np.packbits``) is packed and transposed.
    """
    sample_T, dims = shape[0], tuple(shape[1:])
    n_cells = int(np.prod(dims))
    cell = np.ravel_multi_index(coords, dims)
    bins = np.asarray(bins, dtype=np.int64)
    if n_cells * sample_T < _DENSE_CELLS_PER_EVENT * bins.size:
        dense = np.zeros(n_cells * sample_T, dtype=np.uint8)
        dense[cell * sample_T + bins] = 1
        packed = np.packbits(dense.reshape(n_cells, sample_T), axis=1, bitorder="big").T
        return np.ascontiguousarray(packed).reshape(packed_length(sample_T), *dims)
    packed = np.zeros(packed_length(sample_T) * n_cells, dtype=np.uint8)
    np.bitwise_or.at(packed, (bins >> 3) * n_cells + cell, (0x80 >> (bins & 7)).astype(np.uint8))
    return packed.reshape(packed_length(sample_T), *dims)


#: Measured break-even: setting one bit with ``np.bitwise_or.at`` costs about as much as
#: clearing, filling and packing 15 cells of a dense raster.
_DENSE_CELLS_PER_EVENT = 15


def audio_raster(
    times_s: np.ndarray,
    units: np.ndarray,
    sample_T: int,
    channels: int,
    duration_us: int = US_PER_S,
    n_units: int = HEIDELBERG_UNITS,
) -> tuple[np.ndarray, RasterCounts]:
    """Rasterise one SHD/SSC sample: events ``(time in s, unit)`` -> packed ``uint8[ceil(sample_T/8), channels]``.

    Channel is ``unit * channels // n_units``; time bins as in the module docstring. An empty
    sample gives an all-zero raster. Unpack with :func:`unpack_time`.

    Raises:
        ValueError: a unit outside ``0..n_units-1``, a negative time, or ``times_s`` and
            ``units`` of different lengths.
    """
    times_s = np.asarray(times_s)
    units = np.asarray(units)
    if times_s.shape != units.shape or times_s.ndim != 1:
        raise ValueError(f"times {times_s.shape} and units {units.shape} must be 1-D and equal in length")
    t_us, keep, counts = seconds_to_us(times_s, duration_us)
    channel = scale_units(units, n_units, channels)[keep]
    raster = packed_presence(time_bins(t_us, sample_T, duration_us), (channel,), (sample_T, channels))
    return raster, counts


def frame_shape(sensor: tuple[int, int, int], spatial_factor: int = 1, merge_polarity: bool = False) -> tuple[int, int, int]:
    """Frame dims ``(P, H, W)`` of a camera ``sensor`` given as tonic's ``(W, H, P)``.

    Spatial downsampling by ``spatial_factor`` keeps every pixel: ``H' = ceil(H / factor)``.
    """
    width, height, polarities = sensor
    f = spatial_factor
    return (1 if merge_polarity else polarities, -(-height // f), -(-width // f))


def camera_raster(
    t_us: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    p: np.ndarray,
    sample_T: int,
    duration_us: int,
    sensor: tuple[int, int, int],
    spatial_factor: int = 1,
    merge_polarity: bool = False,
) -> tuple[np.ndarray, RasterCounts]:
    """Rasterise one camera recording into binary frames, packed: ``uint8[ceil(sample_T/8), P, H, W]``.

    Unpacked (:func:`unpack_time`) the indexing is ``[t, p, y, x]`` (tonic's ToFrame layout). Time bins as in the module docstring,
    over one fixed window for every sample. ``x // spatial_factor``, ``y // spatial_factor``;
    ``merge_polarity`` puts both polarities in channel 0.

    Args:
        t_us, x, y, p: integer arrays ``[n]``: time (microseconds), column, row, polarity.
        sensor: tonic's ``sensor_size`` ``(W, H, P)``; every event must lie on it.

    Raises:
        ValueError: an event off the sensor (naming the event and the field), a negative time,
            or arrays of different lengths.
    """
    t_us, x, y, p = (np.asarray(a) for a in (t_us, x, y, p))
    if not t_us.shape == x.shape == y.shape == p.shape or t_us.ndim != 1:
        raise ValueError(f"t, x, y, p must be 1-D and equal in length, got {[a.shape for a in (t_us, x, y, p)]}")
    for name, values, size in (("x", x, sensor[0]), ("y", y, sensor[1]), ("p", p, sensor[2])):
        if values.size and (values.min() < 0 or values.max() >= size):
            first = int(np.flatnonzero((values < 0) | (values >= size))[0])
            raise ValueError(f"event {first} has {name}={int(values[first])}, outside the sensor's 0..{size - 1}")
    keep, counts = us_in_window(t_us, duration_us)
    shape = (sample_T, *frame_shape(sensor, spatial_factor, merge_polarity))
    pol = np.zeros(np.count_nonzero(keep), dtype=np.int64) if merge_polarity else p[keep]
    coords = (pol, y[keep] // spatial_factor, x[keep] // spatial_factor)
    return packed_presence(time_bins(t_us[keep], sample_T, duration_us), coords, shape), counts


def pack_time(raster: np.ndarray, axis: int = 0) -> np.ndarray:
    """Bit-pack a 0/1 raster along its time axis: ``[T, ...] -> uint8[ceil(T/8), ...]`` (big bit order)."""
    return np.packbits(raster, axis=axis, bitorder="big")


def unpack_time(packed: np.ndarray, sample_T: int, axis: int = 0) -> np.ndarray:
    """Inverse of :func:`pack_time`: ``uint8[ceil(T/8), ...] -> uint8[T, ...]`` of 0/1, pad bits dropped."""
    return np.unpackbits(packed, axis=axis, count=sample_T, bitorder="big")


def packed_length(sample_T: int) -> int:
    """Bytes per packed time column: ``ceil(sample_T / 8)``."""
    return (sample_T + 7) // 8
