"""Event-to-raster maths: pure numpy functions, no I/O.

One rule, used by every pipeline and every test:

* an event time ``t`` (seconds, float) becomes ``t_us = floor(t * 1e6)`` whole microseconds;
* its time bin is ``floor(t_us * sample_T / duration_us)``, computed in exact int64
  arithmetic, so bin ``k`` covers ``[k * duration_us / sample_T, (k + 1) * duration_us / sample_T)``;
* events at or after ``duration_us`` (bin ``>= sample_T``) lie outside the window and are
  dropped (counted in :class:`RasterCounts`);
* a cell holds 1 if at least one event falls in it (binary presence: nothing can wrap).

Rasters come out bit-packed along time, ``uint8[ceil(sample_T / 8), *dims]``, exactly as the
record format's :func:`spyx_data.format.records.pack_time` (``np.packbits(axis=0)``, big bit order)
packs a dense 0/1 ``[sample_T, *dims]`` raster; :func:`~spyx_data.format.records.unpack_time`
gives the dense raster back.

The ``*_rasters`` functions rasterise many samples in one pass over their concatenated events
(no Python loop over events or samples), in several passes where the samples hold more than
``events_per_pass`` events together (a longer sample is cut across passes, its bits ORed
together): the rasters are the same, the memory a pass takes is bounded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from spyx_data.format.framing import frame_shape
from spyx_data.format.records import BITORDER, packed_length

US_PER_S = 1_000_000
#: Input units of the Heidelberg audio datasets (SHD, SSC): cochlear channels 0..699.
HEIDELBERG_UNITS = 700
#: Measured break-even: setting one bit with ``np.bitwise_or.at`` costs about as much as
#: clearing, filling and packing 15 cells of a dense raster.
_DENSE_CELLS_PER_EVENT = 15
#: The most events one pass of the rasteriser takes: a pass's temporaries come to about 150
#: bytes an event (about 20 MiB), whatever the samples; a build's readers hold at most this many
#: decoded events of a group. Measured: passes of 2**16 to 2**19 events rasterise SHD and
#: N-MNIST at the same speed (CPU time).
EVENTS_PER_PASS = 1 << 17


@dataclasses.dataclass(frozen=True)
class RasterCounts:
    """What rasterisation saw: ``events`` read, how many were dropped, how many samples had no
    events at all (they give all-zero rasters), and how many samples of the source a dataset
    leaves out by its rule (N-TIDIGITS' digit sequences; counted once per split).

    The framing options (:class:`spyx_data.builder.frames.FrameOptions`) add
    :data:`FRAMING_COUNTS`: events ``dropped_by_denoise``, events ``dropped_by_frames`` (in no
    frame of a mode other than the window, e.g. the tail tonic's ``n_time_bins`` drops; the
    window's own are ``dropped_outside_window``), and ``clipped_cells``, cells whose count
    exceeded the stored type's maximum (stored as that maximum); an events build
    (``--frames=events``) adds ``stored_events``, the events its records hold.
    """

    events: int = 0
    dropped_nonfinite: int = 0
    dropped_outside_window: int = 0
    empty_samples: int = 0
    left_out_samples: int = 0
    dropped_by_denoise: int = 0
    dropped_by_frames: int = 0
    clipped_cells: int = 0
    stored_events: int = 0

    def __add__(self, other: RasterCounts) -> RasterCounts:
        return RasterCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in _COUNT_FIELDS))

    def as_dict(self) -> dict[str, int]:
        """The counts by name, as the manifest stores them: :data:`FRAMING_COUNTS` only where
        not 0 (a build without the framing options counts none, and its manifest is as before)."""
        counts = dataclasses.asdict(self)
        return {k: v for k, v in counts.items() if v or k not in FRAMING_COUNTS}


_COUNT_FIELDS = dataclasses.fields(RasterCounts)
#: The counts only the framing options make (stated in a manifest where not 0).
FRAMING_COUNTS = ("dropped_by_denoise", "dropped_by_frames", "clipped_cells", "stored_events")


class BadSample(ValueError):
    """Sample ``sample`` (its position in the block) cannot be rasterised: ``reason`` says why."""

    def __init__(self, sample: int, reason: str):
        super().__init__(f"sample {sample}: {reason}")
        self.sample, self.reason = sample, reason


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


class TimeWindow:
    """Mixin of the build specs: ``sample_T`` bins over ``duration_ms``, the same for every sample."""

    sample_T: int
    duration_ms: int

    @property
    def duration_us(self) -> int:
        """The window in microseconds; raises ``ValueError`` for a bad window (see :func:`window_us`)."""
        return window_us(self.sample_T, self.duration_ms)


def time_bins(t_us: np.ndarray, sample_T: int, duration_us: int) -> np.ndarray:
    """Bin of each in-window time: ``t_us * sample_T // duration_us`` (int64, exact).

    ``t_us`` must already lie in ``[0, duration_us)``.
    """
    return np.asarray(t_us, dtype=np.int64) * sample_T // duration_us


def passes(lengths: Sequence[int], limit: int) -> list[list[tuple[int, int, int]]]:
    """Samples of ``lengths`` events cut into passes of at most ``limit`` events, in order.

    Each pass is a list of pieces ``(sample, first, stop)``, events ``[first, stop)`` of
    ``sample``; a sample longer than the room left in a pass is cut across passes (so a sample
    is at most once in a pass), and an empty sample is one piece ``(sample, 0, 0)``.
    """
    if limit < 1:
        raise ValueError(f"a pass must take at least 1 event, got {limit}")
    done: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    room = limit
    for sample, n in enumerate(lengths):
        if n == 0:
            current.append((sample, 0, 0))
        first = 0
        while first < n:
            stop = first + min(n - first, room)
            current.append((sample, first, stop))
            room -= stop - first
            first = stop
            if room == 0:
                done.append(current)
                current, room = [], limit
    if current:
        done.append(current)
    return done


class _Events:
    """The events of one pass, concatenated: pieces ``(sample, first, stop)`` of the samples'
    columns, with a way back to (sample, event)."""

    def __init__(self, columns: Sequence[Sequence[np.ndarray]], dtypes: Sequence[type],
                 pieces: Sequence[tuple[int, int, int]], first_event: int = 0):
        self.n = len(pieces)
        self.owner = np.asarray([s for s, _, _ in pieces], dtype=np.int64)
        self.first = np.asarray([a for _, a, _ in pieces], dtype=np.int64) + first_event
        self.lengths = np.asarray([b - a for _, a, b in pieces], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self.columns = [
            np.concatenate([np.asarray(c[s])[a:b] for s, a, b in pieces]).astype(d, copy=False) if self.n
            else np.zeros(0, d)
            for c, d in zip(columns, dtypes)
        ]
        self.sample = np.repeat(np.arange(self.n, dtype=np.int64), self.lengths)

    def fail_at(self, bad: np.ndarray, reason) -> None:
        """Raise :class:`BadSample` for the first event where ``bad`` holds; ``reason(event, pos)``
        gets the event's number in its sample and its position in the pass."""
        if bad.any():
            pos = int(np.argmax(bad))
            piece = int(np.searchsorted(self.offsets, pos, side="right") - 1)
            event = pos - int(self.offsets[piece]) + int(self.first[piece])
            raise BadSample(int(self.owner[piece]), reason(event, pos))


def _check_columns(columns: Sequence[Sequence[np.ndarray]]) -> None:
    """Raise :class:`BadSample` for the first sample whose event arrays (one per column) are not
    1-D and equal in length."""
    for i, parts in enumerate(zip(*columns)):
        if any(np.ndim(p) != 1 for p in parts) or len({len(p) for p in parts}) != 1:
            raise BadSample(i, f"event arrays must be 1-D and equal in length, got {[np.shape(p) for p in parts]}")


def _in_passes(
    columns: Sequence[Sequence[np.ndarray]],
    dtypes: Sequence[type],
    rasterise: Callable[[_Events], tuple[np.ndarray, RasterCounts]],
    events_per_pass: int,
    first_event: int,
) -> tuple[np.ndarray, RasterCounts]:
    """``rasterise`` (one pass: its pieces' packed rasters and counts) over the samples whose
    event arrays ``columns`` hold (one sequence per column), in passes of at most
    ``events_per_pass`` events; the pieces of a sample cut across passes are ORed together."""
    _check_columns(columns)
    plan = passes([len(c) for c in columns[0]], events_per_pass)
    if len(plan) <= 1:  # every sample whole in one pass: its rasters are the result
        return rasterise(_Events(columns, dtypes, plan[0] if plan else [], first_event))
    out = counts = None
    for pieces in plan:
        packed, pass_counts = rasterise(_Events(columns, dtypes, pieces, first_event))
        if out is None:
            out, counts = np.zeros((len(columns[0]), *packed.shape[1:]), dtype=np.uint8), RasterCounts()
        out[pieces[0][0] : pieces[-1][0] + 1] |= packed  # a pass's samples: consecutive, each once
        counts += pass_counts
    return out, counts


def packed_presences(
    sample: np.ndarray, bins: np.ndarray, coords: tuple[np.ndarray, ...], n: int, shape: tuple[int, ...]
) -> np.ndarray:
    """Binary rasters of ``n`` samples from events ``(sample, bin, *coords)``, bit-packed along
    time: ``uint8[n, ceil(T/8), *dims]``; every index must already be in range.

    Equals ``pack_time`` of each dense 0/1 raster. Two equivalent ways, chosen by cost: few
    events on large rasters set their bits straight into the packed array; otherwise dense
    rasters with time last (contiguous for ``np.packbits``) are packed and transposed.
    """
    sample_T, dims = shape[0], tuple(shape[1:])
    n_cells = int(np.prod(dims))
    packed_T = packed_length(sample_T)
    sample = np.asarray(sample, dtype=np.int64)
    cell = np.ravel_multi_index(coords, dims)
    bins = np.asarray(bins, dtype=np.int64)
    if n * n_cells * sample_T < _DENSE_CELLS_PER_EVENT * bins.size:
        dense = np.zeros(n * n_cells * sample_T, dtype=np.uint8)
        dense[(sample * n_cells + cell) * sample_T + bins] = 1
        packed = np.packbits(dense.reshape(n, n_cells, sample_T), axis=2, bitorder=BITORDER).transpose(0, 2, 1)
        return np.ascontiguousarray(packed).reshape(n, packed_T, *dims)
    packed = np.zeros(n * packed_T * n_cells, dtype=np.uint8)
    np.bitwise_or.at(packed, (sample * packed_T + (bins >> 3)) * n_cells + cell, (0x80 >> (bins & 7)).astype(np.uint8))
    return packed.reshape(n, packed_T, *dims)


def _checked_spikes(events: _Events, us_per_time: int, n_units: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The spike-train events of a pass: times scaled to microseconds (float64), units, and
    which times are finite.

    Raises:
        BadSample: a negative time or a unit outside ``0..n_units-1``, naming the sample and event.
    """
    scaled, unit = events.columns
    scaled = scaled * us_per_time
    finite = np.isfinite(scaled)
    negative = finite & (scaled < 0)
    off = (unit < 0) | (unit >= n_units)
    events.fail_at(
        negative | off,
        lambda j, pos: (
            f"event {j} has a negative time ({float(scaled[pos]) / US_PER_S!r} s)"
            if negative[pos]
            else f"event {j} has unit {int(unit[pos])}, outside 0..{n_units - 1}"
        ),
    )
    return scaled, unit, finite


def _spike_counts(events: _Events, finite: np.ndarray, kept: np.ndarray) -> RasterCounts:
    """The counts of a pass of spike-train events: the ``finite`` times, of which ``kept`` in the window."""
    return RasterCounts(
        events=int(finite.size),
        dropped_nonfinite=int(finite.size - np.count_nonzero(finite)),
        dropped_outside_window=int(np.count_nonzero(finite) - np.count_nonzero(kept)),
        empty_samples=int(np.count_nonzero(events.lengths == 0)),
    )


#: The latest time :func:`spike_events` takes, in microseconds (about 146,000 years): every
#: later time is refused, so that times stay exact int64 microseconds in the framing maths.
MAX_SPIKE_US = 2**62


class SpikeTrain(NamedTuple):
    """One sample's finite events, as the framings take them: ``t_us`` int64 microseconds,
    ``unit`` int64, and ``number`` each event's position in the sample as stored (for messages)."""

    t_us: np.ndarray
    unit: np.ndarray
    number: np.ndarray


def spike_events(
    times_s: Sequence[np.ndarray], units: Sequence[np.ndarray], n_units: int = HEIDELBERG_UNITS,
    us_per_time: int = US_PER_S,
) -> tuple[list[SpikeTrain], RasterCounts]:
    """Each spike-train sample's events as :func:`audio_rasters` takes them, before any window:
    times scaled in float64 (``us_per_time`` as there), non-finite ones dropped and counted,
    ``floor`` to int64 microseconds; and the counts ``events``, ``dropped_nonfinite`` and
    ``empty_samples``.

    Raises:
        BadSample: naming the sample (position in the group) and the event, as
            :func:`audio_rasters`, and for a time at or after :data:`MAX_SPIKE_US`.
    """
    _check_columns([times_s, units])
    events = _Events([times_s, units], [np.float64, np.int64], [(i, 0, len(t)) for i, t in enumerate(times_s)])
    scaled, unit, finite = _checked_spikes(events, us_per_time, n_units)
    events.fail_at(finite & (scaled >= MAX_SPIKE_US),
                   lambda j, pos: f"event {j} has a time of {float(scaled[pos]) / US_PER_S!r} s, not a recording's")
    number = np.arange(scaled.size, dtype=np.int64) - np.repeat(events.offsets, events.lengths)
    bounds = np.cumsum(np.bincount(events.sample[finite], minlength=events.n))[:-1]
    columns = (np.floor(scaled[finite]).astype(np.int64), unit[finite], number[finite])
    trains = [SpikeTrain(*parts) for parts in zip(*(np.split(c, bounds) for c in columns))] if events.n else []
    return trains, _spike_counts(events, finite, finite)


def audio_rasters(
    times_s: Sequence[np.ndarray],
    units: Sequence[np.ndarray],
    sample_T: int,
    channels: int,
    duration_us: int = US_PER_S,
    n_units: int = HEIDELBERG_UNITS,
    us_per_time: int = US_PER_S,
    *,
    events_per_pass: int = EVENTS_PER_PASS,
    first_event: int = 0,
) -> tuple[np.ndarray, RasterCounts]:
    """Rasterise spike-train samples (SHD, SSC, N-TIDIGITS, S-MNIST): per sample, events
    ``(time, unit)`` -> packed ``uint8[n, ceil(sample_T/8), channels]``.

    Times are in seconds (``us_per_time`` 1e6) or, with ``us_per_time=1``, microseconds; they
    are scaled in float64 (float16 input cannot overflow); non-finite times are dropped and
    counted; channel is ``unit * channels // n_units``; time bins as in the module docstring.
    An empty sample gives an all-zero raster. At most ``events_per_pass`` events are
    rasterised at once (see the module docstring); ``first_event`` is the number, in their
    samples, of the first events given (a part of longer samples), for error messages.

    Raises:
        BadSample: naming the sample (position in the group) and the event, for a negative
            time, a unit outside ``0..n_units-1``, or times and units of different lengths.
    """

    def one_pass(events: _Events) -> tuple[np.ndarray, RasterCounts]:
        scaled, unit, finite = _checked_spikes(events, us_per_time, n_units)
        keep = finite & (scaled < duration_us)  # floor(y) < D  <=>  y < D for integer D
        t_us = np.floor(scaled[keep]).astype(np.int64)
        counts = _spike_counts(events, finite, keep)
        channel = unit[keep] * channels // n_units
        packed = packed_presences(
            events.sample[keep], time_bins(t_us, sample_T, duration_us), (channel,), events.n, (sample_T, channels)
        )
        return packed, counts

    return _in_passes([times_s, units], [np.float64, np.int64], one_pass, events_per_pass, first_event)


def camera_rasters(
    recordings: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    sample_T: int,
    duration_us: int,
    sensor: tuple[int, int, int],
    spatial_factor: int = 1,
    merge_polarity: bool = False,
    *,
    events_per_pass: int = EVENTS_PER_PASS,
    first_event: int = 0,
) -> tuple[np.ndarray, RasterCounts]:
    """Rasterise camera recordings ``(t_us, x, y, p)`` into binary frames, packed:
    ``uint8[n, ceil(sample_T/8), P, H, W]``.

    Unpacked (:func:`spyx_data.format.records.unpack_time`) the indexing is ``[t, p, y, x]`` (tonic's ToFrame layout).
    Time bins as in the module docstring, over one fixed window for every recording;
    ``x // spatial_factor``, ``y // spatial_factor``; ``merge_polarity`` puts both polarities
    in channel 0. ``sensor`` is tonic's ``sensor_size`` ``(W, H, P)``. At most
    ``events_per_pass`` events are rasterised at once (see the module docstring);
    ``first_event`` is the number, in their recordings, of the first events given (a part of
    longer recordings), for error messages.

    Raises:
        BadSample: naming the recording (position in the group), the event and the field, for
            an event off the sensor, a negative time, or arrays of different lengths.
    """
    shape = (sample_T, *frame_shape(sensor, spatial_factor, merge_polarity))

    def one_pass(events: _Events) -> tuple[np.ndarray, RasterCounts]:
        t, x, y, p = events.columns
        bad = np.zeros(t.size, dtype=bool)
        limits = (("x", x, sensor[0]), ("y", y, sensor[1]), ("p", p, sensor[2]))
        for _, values, size in limits:
            bad |= (values < 0) | (values >= size)
        negative = t < 0

        def reason(j: int, pos: int) -> str:
            for name, values, size in limits:
                if not 0 <= values[pos] < size:
                    return f"event {j} has {name}={int(values[pos])}, outside the sensor's 0..{size - 1}"
            return f"event {j} has a negative time ({int(t[pos])} us)"

        events.fail_at(bad | negative, reason)
        keep = t < duration_us
        counts = RasterCounts(
            events=int(t.size),
            dropped_outside_window=int(t.size - np.count_nonzero(keep)),
            empty_samples=int(np.count_nonzero(events.lengths == 0)),
        )
        polarity = np.zeros(np.count_nonzero(keep), dtype=np.int64) if merge_polarity else p[keep]
        coords = (polarity, y[keep] // spatial_factor, x[keep] // spatial_factor)
        bins = time_bins(t[keep], sample_T, duration_us)
        return packed_presences(events.sample[keep], bins, coords, events.n, shape), counts

    columns = [list(c) for c in zip(*recordings)] if recordings else [[]] * 4
    return _in_passes(columns, [np.int64] * 4, one_pass, events_per_pass, first_event)
