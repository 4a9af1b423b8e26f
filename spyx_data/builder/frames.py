"""The field's event representations, exactly as their reference libraries compute them, for
ONE sample: pure, vectorised numpy functions that never modify their inputs.

Times are int64 microseconds. A sample's events are given as ``t_us`` and ``cells``, each
event's flat index into the frame dims ``dims``: :func:`camera_cells` gives them for a camera
(``x, y, p`` on tonic's sensor ``(W, H, P)``, dims ``(P, H, W)``), :func:`audio_cells` for a
spike train (channel ``0..C-1``, dims ``(C,)``). Every counting mode returns
:class:`FrameCounts`: frames ``dtype[T, *dims]`` of event counts in the unsigned integer type
the caller gives (a count that does not fit is clipped to the type's maximum, never wrapped,
and the clipped cells are counted), and how many events lie in no frame.

The modes and their references:

* :func:`window_counts`: the builds' own fixed window (:mod:`spyx_data.builder.raster`'s bins).
* :func:`tonic_time_bins`, :func:`tonic_event_bins`: tonic 1.7 ``ToFrame(n_time_bins=T)`` and
  ``ToFrame(n_event_bins=T)``, with ``overlap``.
* :func:`spikingjelly_number`, :func:`spikingjelly_time`: SpikingJelly 2.0
  ``integrate_events_by_fixed_frames_number(split_by="number" | "time", frames_num=T)``.
* :func:`voxel_grid`: tonic's ``ToVoxelGrid(n_time_bins=T)``, float32.
* :func:`denoise`: tonic's ``Denoise(filter_time)``, event for event.

Each function's docstring states the reference's quirks it reproduces and where it differs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np
from numpy.typing import DTypeLike

from spyx_data.builder import raster
from spyx_data.builder.contracts import option
from spyx_data.builder.raster import check_window, time_bins
from spyx_data.format import framing, records
from spyx_data.format.framing import MODES, OVERLAPPING, TIME_SPLIT, VALUES

#: ``--frames=events``: no frames; each record holds one sample's events after the dataset's
#: rules (time origin, recentring, N-MNIST's first saccade, denoise), at full resolution
#: (:mod:`spyx_data.format.records`' events records), so any frames can be made of them later.
EVENTS = "events"
#: The choices of ``--frames``: the frame modes (:data:`~spyx_data.format.framing.MODES`) and :data:`EVENTS`.
FRAME_CHOICES = (*MODES, EVENTS)
#: Options a build of :data:`EVENTS` does not use: left out of its config and refused as flags.
EVENTS_IGNORE = ("sample_T", "duration_ms", "channels")


@dataclasses.dataclass(frozen=True)
class FrameOptions:
    """Mixin of the specs of every family that frames events: the representation, each field a
    build option (a flag of every dataset of the family). At their defaults (today's window,
    binary, no overlap, no denoise) they are left out of the build's config, so such builds
    keep their names and bytes; otherwise the config, and so the build key, holds each.

    Attributes:
        frames: one of :data:`FRAME_CHOICES`.
        values: one of :data:`~spyx_data.format.framing.VALUES`; a voxel grid is float32 whatever
            it says, and takes only the default; so does :data:`EVENTS`.
        overlap: a fraction of a frame in [0, 1), for the modes of
            :data:`~spyx_data.format.framing.OVERLAPPING` only.
        denoise_us: tonic's ``Denoise(filter_time=denoise_us)`` before framing (0: none).
    """

    frames: str = option("window", "how events become frames: window is the fixed window; events stores each "
                         "sample's events, no frames; the others are the references' (see the docs)", "choice",
                         FRAME_CHOICES, kw_only=True)
    values: str = option("binary", "what a cell holds: binary (presence, bit-packed) or counts (uint16, "
                         "clipped and counted)", "choice", VALUES, kw_only=True)
    overlap: float = option(0.0, "overlap of consecutive frames, a fraction in [0, 1) (tonic_time_bins, "
                            "tonic_event_bins)", "float", kw_only=True)
    denoise_us: int = option(0, "tonic's Denoise(filter_time=N us) before framing; 0: none", "int", kw_only=True)

    #: Whether the family's events are spike trains (which have no voxel grid).
    SPIKE_TRAIN: ClassVar[bool] = False

    def check_frame_options(self) -> None:
        """Raise ``ValueError`` for a combination the references do not define
        (:func:`~spyx_data.format.framing.check_frame_options`; :data:`EVENTS` takes no values nor
        overlap) or a bad ``denoise_us``."""
        if self.frames == EVENTS:
            if self.values != "binary":
                raise ValueError("an events build holds events, no values: leave --values out with --frames=events")
            if self.overlap:
                raise ValueError(f"--overlap is taken by --frames={' and '.join(OVERLAPPING)} only, not events")
        else:
            framing.check_frame_options(self.frames, self.values, self.overlap, spike_train=self.SPIKE_TRAIN)
        if not isinstance(self.denoise_us, int) or self.denoise_us < 0:
            raise ValueError(f"denoise_us is a whole number of microseconds >= 0, got {self.denoise_us!r}")

    @property
    def record_values(self) -> str:
        """The records' :attr:`~spyx_data.format.records.RecordLayout.values`."""
        return "events" if self.events else framing.record_values(self.frames, self.values)

    @property
    def events(self) -> bool:
        """Whether records hold events (:data:`EVENTS`), not frames."""
        return self.frames == EVENTS

    def framing(self, channels: int | None = None, spatial_factor: int = 1,
                merge_polarity: bool = False) -> framing.Frames:
        """These options with the spec's ``sample_T`` and ``duration_ms`` as a
        :class:`~spyx_data.format.framing.Frames` (a spike train's ``channels``, or a camera's
        ``spatial_factor`` and ``merge_polarity``): its ``layout`` is the build's record layout.
        Not for :data:`EVENTS`."""
        return framing.Frames(self.sample_T, self.duration_ms, self.frames, self.values, self.overlap, channels,
                              spatial_factor, merge_polarity)

    def record_layout(self, sensor: tuple[int, int, int], channels: int | None = None, spatial_factor: int = 1,
                      merge_polarity: bool = False) -> records.RecordLayout:
        """The records' layout for events of the full-resolution ``sensor`` (tonic's ``(W, H, P)``;
        a spike train's ``(units, 1, 1)``): :data:`EVENTS` records of its full dims (a camera's
        ``(P, H, W)``, ``(units,)``), else the frames of :meth:`framing`."""
        if self.events:
            dims = (sensor[0],) if self.SPIKE_TRAIN else framing.frame_shape(sensor)
            return records.RecordLayout(0, dims, "events")
        return self.framing(channels, spatial_factor, merge_polarity).layout(sensor)

    @property
    def default_framing(self) -> bool:
        """Whether these are the builds' own binary window without denoise (the rasteriser's fast path)."""
        return not self.frame_config()

    def frame_config(self) -> dict[str, Any]:
        """The options not at their defaults, for the build's config."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(FrameOptions)
                if getattr(self, f.name) != f.default}

    def spec_config(self, *leave_out: str) -> dict[str, Any]:
        """The spec's fields by name but the frame options and ``leave_out`` (and for
        :data:`EVENTS`, :data:`EVENTS_IGNORE`), then :meth:`frame_config`: the start of a spec's
        config, the frame options at their defaults left out."""
        left_out = {f.name for f in dataclasses.fields(FrameOptions)} | set(leave_out)
        if self.events:
            left_out |= set(EVENTS_IGNORE)
        own = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in left_out}
        return {**own, **self.frame_config()}


@dataclasses.dataclass(frozen=True)
class SpikeTrainFrames(FrameOptions):
    """:class:`FrameOptions` of a family of spike trains (events ``(time, unit)``, framed by
    :func:`spike_frames`): every mode but ``voxel_grid``, which needs a camera's 2 polarities."""

    SPIKE_TRAIN = True


class FrameCounts(NamedTuple):
    """Frames of one sample: ``frames`` ``dtype[T, *dims]`` event counts; ``clipped`` the number
    of cells whose count exceeded the type's maximum (stored as that maximum); ``outside`` the
    number of events in no frame (dropped by the mode's rule)."""

    frames: np.ndarray
    clipped: int
    outside: int


def _times(t_us: np.ndarray, others: np.ndarray) -> np.ndarray:
    """``t_us`` as a 1-D int64 array as long as ``others``; raise ``ValueError`` for anything else."""
    t = np.asarray(t_us)
    if t.ndim != 1 or not (np.issubdtype(t.dtype, np.integer) or t.size == 0):
        raise ValueError(f"times must be a 1-D integer array of microseconds, got {t.dtype}{list(t.shape)}")
    if t.shape != np.shape(others):
        raise ValueError(f"event arrays must be equal in length, got {t.size} times and {np.size(others)} events")
    return t.astype(np.int64, copy=False)


def _ordered_times(t_us: np.ndarray, others: np.ndarray) -> np.ndarray:
    """:func:`_times`, refusing times that go back (the time-split references assume order)."""
    t = _times(t_us, others)
    back = np.flatnonzero(t[1:] < t[:-1])
    if back.size:
        i = int(back[0]) + 1
        raise ValueError(f"event {i} goes back in time ({int(t[i])} us after {int(t[i - 1])} us): sort the events")
    return t


def _on_grid(names: tuple[str, ...], columns: tuple[np.ndarray, ...], sizes: tuple[int, ...]) -> None:
    """Raise ``ValueError`` naming the first event whose column ``names[k]`` lies outside ``0..sizes[k]-1``."""
    lengths = {np.shape(c) for c in columns}
    if len(lengths) != 1 or len(next(iter(lengths))) != 1:
        raise ValueError(f"event arrays must be 1-D and equal in length, got {sorted(lengths)}")
    for name, values, size in zip(names, columns, sizes):
        off = np.flatnonzero((values < 0) | (values >= size))
        if off.size:
            j = int(off[0])
            raise ValueError(f"event {j} has {name}={int(values[j])}, outside 0..{size - 1}")


def camera_cells(
    x: np.ndarray, y: np.ndarray, p: np.ndarray, sensor: tuple[int, int, int]
) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Flat cell of each camera event in frames ``[P, H, W]`` (tonic's layout) of the sensor
    ``(W, H, P)`` (tonic's ``sensor_size``): ``(p * H + y) * W + x``, int64, and the dims
    ``(P, H, W)``. Downsampled events (``x // f``) go with the downsampled sensor.

    Raises:
        ValueError: naming the event and field, for an event off the sensor (tonic would index
            frames with it: a negative polarity lands in the last channel) or arrays of
            different lengths.
    """
    width, height, polarities = sensor
    x, y, p = (np.asarray(c).astype(np.int64, copy=False) for c in (x, y, p))
    _on_grid(("x", "y", "p"), (x, y, p), (width, height, polarities))
    return (p * height + y) * width + x, (polarities, height, width)


def audio_cells(channel: np.ndarray, channels: int) -> tuple[np.ndarray, tuple[int]]:
    """Flat cell of each spike-train event in frames ``[C]``: its channel, int64, and ``(C,)``.

    Raises:
        ValueError: naming the event, for a channel outside ``0..channels-1``.
    """
    c = np.asarray(channel).astype(np.int64, copy=False)
    _on_grid(("channel",), (c,), (channels,))
    return c, (channels,)


def _tally(
    frame: np.ndarray, cells: np.ndarray, n_frames: int, dims: tuple[int, ...], dtype: DTypeLike
) -> tuple[np.ndarray, int]:
    """Counts of events ``(frame, cell)`` as ``dtype[n_frames, *dims]``, clipped to the type's
    maximum, and the number of clipped cells."""
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.unsignedinteger):
        raise ValueError(f"counts are stored in an unsigned integer type, got {dtype}")
    n_cells = int(np.prod(dims))
    counts = np.bincount(frame * n_cells + cells, minlength=n_frames * n_cells)
    top = np.iinfo(dtype).max
    clipped = int(np.count_nonzero(counts > top))
    return np.minimum(counts, top).astype(dtype).reshape(n_frames, *dims), clipped


def _slice_counts(
    starts: np.ndarray, stops: np.ndarray, cells: np.ndarray, dims: tuple[int, ...], dtype: DTypeLike
) -> FrameCounts:
    """Frame ``i`` counts events ``cells[starts[i]:stops[i]]`` (Python slice bounds, >= 0; slices
    may overlap): all slices at once, no loop over frames."""
    n = cells.size
    starts = np.minimum(np.asarray(starts, dtype=np.int64), n)
    stops = np.clip(np.asarray(stops, dtype=np.int64), starts, n)
    lengths = stops - starts
    frame = np.repeat(np.arange(starts.size, dtype=np.int64), lengths)
    index = np.arange(frame.size, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths - starts, lengths)
    frames, clipped = _tally(frame, cells[index], starts.size, dims, dtype)
    covered = np.cumsum(np.bincount(starts, minlength=n + 1) - np.bincount(stops, minlength=n + 1))[:n] > 0
    return FrameCounts(frames, clipped, n - int(np.count_nonzero(covered)))


def _check_frames(sample_T: int, overlap: float = 0.0) -> float:
    """Raise ``ValueError`` unless ``sample_T >= 1`` and ``0 <= overlap < 1``; ``overlap`` as float."""
    if not isinstance(sample_T, (int, np.integer)) or sample_T < 1:
        raise ValueError(f"sample_T must be a positive integer, got {sample_T!r}")
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap is a fraction of a frame in [0, 1), got {overlap!r}")
    return float(overlap)


def window_counts(
    t_us: np.ndarray, cells: np.ndarray, dims: tuple[int, ...], sample_T: int, duration_us: int, dtype: DTypeLike
) -> FrameCounts:
    """The builds' window rule, counting: event ``t_us`` (from the recording's time origin) is
    in frame ``t_us * sample_T // duration_us`` (:func:`~spyx_data.builder.raster.time_bins`);
    events at or after ``duration_us`` are outside. ``frames > 0`` is the binary raster the
    builds make.

    Raises:
        ValueError: a negative time, or a bad window (see :func:`~spyx_data.builder.raster.check_window`).
    """
    check_window(sample_T, duration_us)
    t = _times(t_us, cells)
    if t.size and t.min() < 0:
        j = int(np.argmin(t))
        raise ValueError(f"event {j} has a negative time ({int(t[j])} us)")
    keep = t < duration_us
    frames, clipped = _tally(time_bins(t[keep], sample_T, duration_us), cells[keep], sample_T, dims, dtype)
    return FrameCounts(frames, clipped, t.size - int(np.count_nonzero(keep)))


def tonic_time_bins(
    t_us: np.ndarray, cells: np.ndarray, dims: tuple[int, ...], sample_T: int, overlap: float, dtype: DTypeLike
) -> FrameCounts:
    """tonic 1.7 ``ToFrame(n_time_bins=sample_T, overlap=overlap)`` (``SliceByTimeBins``).

    ``window = (t[-1] - t[0]) // T * (1 + overlap)``, ``stride = window * (1 - overlap)``
    (float64); frame ``i`` holds events ``searchsorted(t, s_i) <= j < searchsorted(t, s_i +
    window)`` with ``s_i = t[0] + i * stride``. Quirks kept: the tail remainder, always with the
    last event, is dropped (tonic #313; counted in ``outside``); with ``t[-1] - t[0] < T`` (one
    event, or all at one time) every frame is empty. An empty recording gives empty frames
    (tonic returns zeros too, float64 and ``[T, P, W, H]``). tonic counts in int16, wrapping
    past 32767; here counts are clipped. tonic's ``p = 0`` written into the caller's array on a
    one-polarity sensor is not reproduced: inputs are never modified.

    Raises:
        ValueError: times that go back (tonic's binary search assumes order), a bad
            ``sample_T``/``overlap``, or a ``dtype`` that is not unsigned.
    """
    overlap = _check_frames(sample_T, overlap)
    t = _ordered_times(t_us, cells)
    if t.size == 0:
        return FrameCounts(*_tally(t, t, sample_T, dims, dtype), 0)
    window = (t[-1] - t[0]) // sample_T * (1 + overlap)
    starts = np.arange(sample_T) * (window * (1 - overlap)) + t[0]
    return _slice_counts(np.searchsorted(t, starts), np.searchsorted(t, starts + window), cells, dims, dtype)


def tonic_event_bins(
    cells: np.ndarray, dims: tuple[int, ...], sample_T: int, overlap: float, dtype: DTypeLike
) -> FrameCounts:
    """tonic 1.7 ``ToFrame(n_event_bins=sample_T, overlap=overlap)`` (``SliceByEventBins``):
    ``count = int(N // T * (1 + overlap))``, ``stride = int(count * (1 - overlap))``; frame
    ``i`` holds events ``[i * stride, i * stride + count)``, in the given order.

    Quirks kept: the remainder events past the last frame are dropped (``outside``); with fewer
    events than ``sample_T`` every frame is empty. Counts clipped, not wrapped (tonic: int16).

    Raises:
        ValueError: a bad ``sample_T``/``overlap`` or a ``dtype`` that is not unsigned.
    """
    overlap = _check_frames(sample_T, overlap)
    count = int(cells.size // sample_T * (1 + overlap))
    starts = np.arange(sample_T) * int(count * (1 - overlap))
    return _slice_counts(starts, starts + count, cells, dims, dtype)


def spikingjelly_number(cells: np.ndarray, dims: tuple[int, ...], sample_T: int, dtype: DTypeLike) -> FrameCounts:
    """SpikingJelly 2.0 ``integrate_events_by_fixed_frames_number(split_by="number",
    frames_num=sample_T)``: ``di = N // T``; frame ``i`` holds events ``[i * di, (i + 1) * di)``,
    the last frame runs to ``N``.

    Quirk kept: with fewer events than ``sample_T``, every event is in the last frame.
    SpikingJelly's channel is ``p != 0`` over 2 channels: the same as :func:`camera_cells`' on a
    2-polarity sensor. Its frames are float64; here counts, clipped to ``dtype``.
    """
    _check_frames(sample_T)
    di = cells.size // sample_T
    starts = np.arange(sample_T) * di
    stops = starts + di
    stops[-1] = cells.size
    return _slice_counts(starts, stops, cells, dims, dtype)


def _spikingjelly_edges(t: np.ndarray, sample_T: int) -> np.ndarray:
    """SpikingJelly's time split edges ``t[0] + i * dt``, ``i = 0..T``, ``dt = (t[-1] - t[0]) // T``."""
    return t[0] + np.arange(sample_T + 1) * ((t[-1] - t[0]) // sample_T)


def spikingjelly_time(
    t_us: np.ndarray, cells: np.ndarray, dims: tuple[int, ...], sample_T: int, dtype: DTypeLike
) -> FrameCounts:
    """SpikingJelly 2.0 ``integrate_events_by_fixed_frames_number(split_by="time",
    frames_num=sample_T)``: ``dt = (t[-1] - t[0]) // T``; frame ``i`` holds the events with
    ``t[0] + i * dt <= t < t[0] + (i + 1) * dt``, the last frame runs from its first such event
    to the end (so it also holds the events at or after ``t[0] + T * dt``).

    Where SpikingJelly raises IndexError (a frame whose time range holds no event, e.g. a pause
    in the recording, ``t[-1] - t[0] < T`` or one event; an empty recording), these frames are
    the ones its documented formula defines (``j_l`` the first event at or after the range's
    start, ``j_r`` past the last before its end, the last frame to ``N``): empty frames for empty
    ranges, and the last frame from the first event at or after ``t[0] + (T - 1) * dt``. It
    equals SpikingJelly's result wherever SpikingJelly gives one; :func:`spikingjelly_time_fails`
    says where it does not.

    Raises:
        ValueError: times that go back (SpikingJelly takes each range's first and last matching
            event, which is a slice only in time order), a bad ``sample_T``, a ``dtype`` not unsigned.
    """
    _check_frames(sample_T)
    t = _ordered_times(t_us, cells)
    if t.size == 0:
        return FrameCounts(*_tally(t, t, sample_T, dims, dtype), 0)
    edges = np.searchsorted(t, _spikingjelly_edges(t, sample_T))
    stops = edges[1:].copy()
    stops[-1] = t.size
    return _slice_counts(edges[:-1], stops, cells, dims, dtype)


def spikingjelly_time_fails(t_us: np.ndarray, sample_T: int) -> bool:
    """Whether SpikingJelly's ``split_by="time"`` raises IndexError on these times: the
    recording is empty or one of its ``sample_T`` time ranges holds no event (times in order)."""
    _check_frames(sample_T)
    t = _ordered_times(t_us, t_us)
    return t.size == 0 or bool(np.any(np.diff(np.searchsorted(t, _spikingjelly_edges(t, sample_T))) == 0))


def voxel_grid(
    t_us: np.ndarray, x: np.ndarray, y: np.ndarray, p: np.ndarray, sensor: tuple[int, int, int], sample_T: int
) -> np.ndarray:
    """tonic 1.7 ``ToVoxelGrid(sensor_size=sensor, n_time_bins=sample_T)``: float32 ``[T, 1, H, W]``.

    Computed in float64 with tonic's operations in tonic's order (``ts = T * (t - t[0]) /
    (t[-1] - t[0])``, polarity 0 as -1, bilinear in time: ``p * (1 - frac)`` to bin ``int(ts)``,
    ``p * frac`` to bin ``int(ts) + 1``, bins outside ``[0, T)`` dropped, every left share summed
    before every right share, each in event order), so the float64 sums are tonic's bit for bit;
    then rounded once to the nearest float32 (``astype(np.float32)``, ties to even). Quirk kept:
    events at ``t[-1]`` land on bin ``T`` and are dropped. tonic's ``p = -1`` written into its
    input is not reproduced. An empty recording gives zeros (tonic raises IndexError); so do
    events all at one time (one event, say), all of them at ``t[-1]`` and so dropped by the rule
    above (tonic divides 0 by 0 there and writes NaN at an index made from NaN).

    Raises:
        ValueError: a sensor without exactly 2 polarities (tonic asserts it), an event off the
            sensor, or times that go back.
    """
    _check_frames(sample_T)
    width, height, polarities = sensor
    if polarities != 2:
        raise ValueError(f"a voxel grid needs a 2-polarity sensor (tonic asserts it), got {polarities}")
    cells, _ = camera_cells(x, y, p, sensor)
    t = _ordered_times(t_us, cells)
    n_pixels = width * height
    if t.size == 0 or t[-1] == t[0]:
        return np.zeros((sample_T, 1, height, width), dtype=np.float32)
    ts = sample_T * (t.astype(float) - t[0]) / (t[-1] - t[0])
    left = ts.astype(int)
    frac = ts - left
    sign = np.where(cells >= n_pixels, 1, -1)
    pixel = cells % n_pixels
    bins = np.concatenate([left, left + 1])
    values = np.concatenate([sign * (1.0 - frac), sign * frac])
    valid = bins < sample_T
    grid = np.bincount((bins * n_pixels + np.concatenate([pixel, pixel]))[valid], values[valid],
                       minlength=sample_T * n_pixels)
    return grid.astype(np.float32).reshape(sample_T, 1, height, width)


#: The unsigned type of stored counts (:data:`spyx_data.format.records.OBS_DTYPES`' ``counts``).
COUNT_DTYPE = np.dtype("<u2")


def frame_events(
    options: FrameOptions, t_us: np.ndarray, cells: np.ndarray, dims: tuple[int, ...], sample_T: int,
    duration_us: int,
) -> tuple[np.ndarray, FrameCounts]:
    """One sample's record ``obs`` by a counting mode of ``options`` (any but ``voxel_grid``, which
    needs the events' polarities: :func:`voxel_grid`), and its counts.

    ``t_us``: the sample's times from its time origin (int64 microseconds, in order for the
    time-split modes); ``cells``: each event's flat cell in ``dims`` (:func:`camera_cells`,
    :func:`audio_cells`), after denoising. ``obs`` is bit-packed ``uint8[ceil(T/8), *dims]`` of
    ``frames > 0`` for binary values, ``uint16[T, *dims]`` counts otherwise (the returned
    :class:`FrameCounts`' frames are always the counts).

    Raises:
        ValueError: times that go back (time-split modes), a negative time (window), bad options.
    """
    mode = options.frames
    if mode == "window":
        counts = window_counts(t_us, cells, dims, sample_T, duration_us, COUNT_DTYPE)
    elif mode == "tonic_time_bins":
        counts = tonic_time_bins(t_us, cells, dims, sample_T, options.overlap, COUNT_DTYPE)
    elif mode == "tonic_event_bins":
        counts = tonic_event_bins(cells, dims, sample_T, options.overlap, COUNT_DTYPE)
    elif mode == "spikingjelly_number":
        counts = spikingjelly_number(cells, dims, sample_T, COUNT_DTYPE)
    elif mode == "spikingjelly_time":
        counts = spikingjelly_time(t_us, cells, dims, sample_T, COUNT_DTYPE)
    else:
        raise ValueError(f"frame_events takes the counting modes, not {mode!r}")
    obs = counts.frames if options.values == "counts" else records.pack_time(counts.frames > 0)
    return obs, counts


def denoise(t_us: np.ndarray, x: np.ndarray, y: np.ndarray, filter_time_us: int) -> np.ndarray:
    """tonic 1.7 ``Denoise(filter_time=filter_time_us)``, event for event: the mask ``bool[N]`` of
    the events it keeps, in any event order, ties included.

    tonic walks the events in order with a memory per pixel (initially ``filter_time``) over a
    grid of ``max(x) + 1`` by ``max(y) + 1``; event ``i`` first sets its own pixel's memory to
    ``t_i + filter_time``, then is kept if a 4-neighbour on that grid (left, right, up, down;
    not diagonals, not itself) has memory ``> t_i``. A neighbour's memory when event ``i`` is
    checked is ``t_j + filter_time`` of the latest earlier event ``j < i`` at that pixel (equal
    times: the earlier in order counts), else ``filter_time``; here each is found by a binary
    search over the events sorted by (pixel, order), compared in float64 as tonic's memory is.
    So every event with ``t < filter_time`` that has a neighbour on the grid is kept. The time
    origin is unchanged: callers keep the recording's.

    Raises:
        ValueError: ``filter_time_us`` not a non-negative integer, a negative ``x``/``y``, or
            arrays of different lengths.
    """
    if not isinstance(filter_time_us, (int, np.integer)) or filter_time_us < 0:
        raise ValueError(f"the denoise filter time is a whole number of microseconds >= 0, got {filter_time_us!r}")
    x, y = (np.asarray(c).astype(np.int64, copy=False) for c in (x, y))
    _on_grid(("x", "y"), (x, y), (2**31, 2**31))
    t = _times(t_us, x)
    n = t.size
    if n == 0:
        return np.zeros(0, dtype=bool)
    width, height = int(x.max()) + 1, int(y.max()) + 1
    if width * height * n >= 2**63:
        raise ValueError(f"{n} events on a {width} x {height} grid are too many to denoise at once")
    keys = np.sort((x * height + y) * n + np.arange(n, dtype=np.int64))  # by pixel, then event order
    memory = (t + filter_time_us).astype(np.float64)  # tonic's pixel memory after event j, by j
    event = keys % n  # walked in key order, each direction's queries below are sorted too
    x, y, t = x[event], y[event], t[event]
    kept = np.zeros(n, dtype=bool)
    for dx, dy, inside in ((-1, 0, x > 0), (1, 0, x < width - 1), (0, -1, y > 0), (0, 1, y < height - 1)):
        query = keys[inside] + (dx * height + dy) * n  # (neighbour pixel, i)
        at = np.searchsorted(keys, query) - 1  # the key just below: the latest event before i there, if any
        j = np.maximum(at, 0)
        seen = (at >= 0) & (keys[j] >= query - event[inside])  # at the neighbour pixel, not a pixel before
        last = np.where(seen, memory[event[j]], float(filter_time_us))
        kept[event[inside]] |= last > t[inside]
    return kept


def _denoise_train(options: FrameOptions, t_us: np.ndarray, unit: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """A spike train's events ``(t_us, unit)`` less those ``options.denoise_us`` drops (:func:`denoise`
    on ``x = unit``, ``y = 0``: see :func:`spike_frames`), and how many it dropped."""
    if not options.denoise_us:
        return t_us, unit, 0
    kept = denoise(t_us, unit, np.zeros_like(unit), options.denoise_us)
    return t_us[kept], unit[kept], t_us.size - int(np.count_nonzero(kept))


def _spike_event_records(
    options: FrameOptions, trains: Sequence[raster.SpikeTrain], counts: raster.RasterCounts, n_units: int
) -> tuple[list[tuple[np.ndarray, np.ndarray]], raster.RasterCounts]:
    """:func:`spike_frames` of :data:`EVENTS`: each sample's columns ``(t_us, unit)``, denoised."""
    layout = options.record_layout((n_units, 1, 1))
    samples, denoised, stored = [], 0, 0
    for i, (t_us, unit, _) in enumerate(trains):
        t_us, unit, dropped = _denoise_train(options, t_us, unit)
        try:
            layout.check_events((t_us, unit))
        except ValueError as e:
            raise raster.BadSample(i, str(e)) from e
        samples.append((t_us, unit))
        denoised += dropped
        stored += t_us.size
    return samples, counts + raster.RasterCounts(dropped_by_denoise=denoised, stored_events=stored)


def spike_frames(
    options: FrameOptions, times: Sequence[np.ndarray], units: Sequence[np.ndarray], sample_T: int, channels: int,
    duration_us: int, n_units: int = raster.HEIDELBERG_UNITS, us_per_time: int = raster.US_PER_S,
) -> tuple[np.ndarray | list[tuple[np.ndarray, np.ndarray]], raster.RasterCounts]:
    """Spike-train samples (SHD, SSC, N-TIDIGITS, S-MNIST) framed by ``options``: the records'
    ``obs`` ``[n, *obs_shape]`` (:func:`frame_events`' per sample) and the counts.

    ``times`` are seconds (``us_per_time`` 1e6) or, with ``us_per_time=1``, microseconds; unit
    ``u`` of ``0..n_units-1`` goes to channel ``u * channels // n_units``. At the default
    framing this is :func:`~spyx_data.builder.raster.audio_rasters` (its fast path, the bytes
    of every earlier build). Otherwise, per sample: the events of :func:`~spyx_data.builder.raster.spike_events` (the default
    path's times and checks); with ``denoise_us``, :func:`denoise` on ``x = unit`` (the input
    unit, before units become channels), ``y = 0``: tonic's ``Denoise`` on tonic's events of the
    sample given a ``y`` field of 0 (tonic's own SHD events have none, and its ``Denoise``
    fails on them), so an event's neighbours are the adjacent units ``u - 1`` and ``u + 1``;
    then unit ``u`` is channel ``u * channels // n_units`` and :func:`frame_events` frames the
    sample, its time origin the sample's (time 0 as stored, before denoising). Counted:
    ``dropped_by_denoise``, the ``window``'s late events as ``dropped_outside_window`` and any
    other mode's unframed ones as ``dropped_by_frames``, ``clipped_cells``.

    For :data:`EVENTS` no frames: ``obs`` is each sample's columns ``(t_us, unit)`` (the events
    above, denoised, units kept, not channels), counted as ``stored_events``.

    Raises:
        raster.BadSample: naming the sample (position in the group), as
            :func:`~spyx_data.builder.raster.spike_events`, for times that go back under
            a mode of :data:`~spyx_data.format.framing.TIME_SPLIT` (naming the event as stored),
            and for a time an events record cannot hold (past 2**32 - 1 us).
    """
    if options.default_framing:
        return raster.audio_rasters(times, units, sample_T, channels, duration_us, n_units, us_per_time)
    trains, counts = raster.spike_events(times, units, n_units, us_per_time)
    if options.events:
        return _spike_event_records(options, trains, counts, n_units)
    layout = records.RecordLayout(sample_T, (channels,), options.record_values)
    obs = np.empty((len(trains), *layout.obs_shape), layout.obs_dtype)
    denoised = outside = clipped = 0
    for i, (t_us, unit, number) in enumerate(trains):
        back = np.flatnonzero(t_us[1:] < t_us[:-1]) if options.frames in TIME_SPLIT else ()
        if len(back):
            j = int(back[0]) + 1
            raise raster.BadSample(i, f"event {int(number[j])} goes back in time ({int(t_us[j])} us after "
                                      f"{int(t_us[j - 1])} us); --frames={options.frames} needs events in time order")
        t_us, unit, dropped = _denoise_train(options, t_us, unit)
        denoised += dropped
        cells, dims = audio_cells(unit * channels // n_units, channels)
        obs[i], framed = frame_events(options, t_us, cells, dims, sample_T, duration_us)
        outside += framed.outside
        clipped += framed.clipped
    window = options.frames == "window"
    return obs, counts + raster.RasterCounts(
        dropped_outside_window=outside if window else 0, dropped_by_frames=0 if window else outside,
        dropped_by_denoise=denoised, clipped_cells=clipped)
