"""Rasterisation on the accelerator: a batch of samples' events (:class:`~spyx_data.read.events.EventBatch`)
to the records' ``obs`` of a :class:`~spyx_data.format.framing.Frames`, in JAX, jitted, with
static shapes; byte for byte the numpy rasteriser's (:mod:`spyx_data.builder.frames`, per sample).

How it stays exact without 64-bit types:

* Every mode but the voxel grid is a set of slices: frame ``i`` holds the events whose key
  (the time, or the event's position among the sample's events) lies in ``[lo_i, hi_i)``, with
  ``lo`` and ``hi`` nondecreasing in ``i``. For events in time order this is the references'
  ``searchsorted`` slicing exactly (``searchsorted(t, s) <= j`` iff ``t_j >= ceil(s)``).
  The edges are integers, computed per sample (``T + 1`` numbers, not per event) in int32
  that cannot overflow for times in ``0 .. 2**31 - 1``: the window's ``ceil(i * D / T)``
  (Python integers, at trace time), SpikingJelly's ``t0 + i * ((t[-1] - t0) // T)``, tonic's
  ``t0 + i * ((t[-1] - t0) // T)`` without overlap. Only tonic's slices with an overlap are
  float64 in tonic: those edges (``ceil`` of tonic's float64 starts and stops, its event
  counts ``int(N // T * (1 + overlap))``) are computed in float64 under a scoped
  ``jax.enable_x64``, O(T) numbers per sample, each product rounded on its own as numpy does.
  Keys and edges are compared as uint32, so an edge past ``2**31 - 1`` still lies above every time.
* Each event's frames ``[first, stop)`` come from two binary searches over its sample's edges;
  counts are int32 scatter-adds (order-free), clipped to 65,535 into uint16; binary values
  are ``counts > 0`` bit-packed along time (``jnp.packbits``, big bit order).
* The voxel grid is tonic's float64 arithmetic, under a scoped ``jax.enable_x64``: the same
  operations as :func:`spyx_data.builder.frames.voxel_grid` (one rounding in ``T * (t - t0) /
  (t[-1] - t0)``, the shares ``sign * (1 - frac)`` and ``sign * frac``), summed into each cell in
  numpy's order (every left share, then every right share, each in event order) by one
  scatter-add, then rounded once to float32. The sum's order is XLA's scatter order: in update
  order on the CPU (tested bit-identical); on a GPU, scatter-adds of one cell may be summed in
  another order, so a cell's float64 sum may differ in its last bits, and its float32 by one
  unit where that crosses a rounding boundary of float32.

Limits: times are int32 microseconds ``0 .. 2**31 - 1`` from the sample's time origin (about 35
minutes; a negative time is not an event and is left out); at most ``2**31 - 1`` events per
sample; ``B * T * cells`` is not bounded by int32 (scatter indices are per axis). Events off the
sensor (or a unit past the sensor's units) are in no cell; :func:`check_events` refuses them,
negative times, and times that go back under a mode that splits by time (tonic's and
SpikingJelly's time slicing and the voxel grid assume time order; out of order, each event is
framed by comparing its own time with the edges taken from the sample's first and last events,
where the references refuse or slice differently).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from spyx_data.format.framing import TIME_SPLIT, Frames, frame_shape
from spyx_data.read.events import EventBatch

#: The largest stored count (``uint16``); larger counts are clipped to it.
MAX_COUNT = 65_535
_OPEN = 2**32 - 1  # an edge above every time and every position
_INT32_MAX = 2**31 - 1


def _ends(t: jax.Array, valid: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per sample: the number of events, and the times of its first and last events (any value
    for an empty sample)."""
    n = jnp.sum(valid, axis=1, dtype=jnp.int32)
    first = jnp.argmax(valid, axis=1)
    last = valid.shape[1] - 1 - jnp.argmax(valid[:, ::-1], axis=1)
    return n, jnp.take_along_axis(t, first[:, None], 1)[:, 0], jnp.take_along_axis(t, last[:, None], 1)[:, 0]


def _steps(start: jax.Array, step: jax.Array, sample_T: int) -> jax.Array:
    """``start + i * step`` for ``i = 0..T`` per sample, int32 (the caller keeps them in range)."""
    return start[:, None] + jnp.arange(sample_T + 1, dtype=jnp.int32)[None, :] * step[:, None]


def _x64_edges(starts: jax.Array, width: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(ceil(starts), ceil(starts + width))`` of float64 ``starts`` ``[B, T]`` and ``width``
    ``[B]``, each sum rounded on its own, as uint32 edges (clipped to ``0 .. 2**32 - 1``)."""
    starts = jax.lax.optimization_barrier(starts)  # numpy rounds the products before adding
    stops = starts + width[:, None]
    return tuple(jnp.clip(jnp.ceil(e), 0, _OPEN).astype(jnp.int64).astype(jnp.uint32) for e in (starts, stops))


def _slices(frames: Frames, batch: EventBatch, valid: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The slicing of ``frames.mode`` (any but the voxel grid): each event's key, and per sample
    the edges ``lo``, ``hi`` (``uint32[B, T]``, nondecreasing): frame ``i`` holds the events with
    ``lo_i <= key < hi_i``."""
    T, mode, overlap = frames.sample_T, frames.mode, frames.overlap
    n, t0, t_last = _ends(batch.t, valid)
    span = jnp.maximum(t_last - t0, 0)
    position = jnp.cumsum(valid, axis=1, dtype=jnp.int32) - 1
    key = (batch.t if mode in ("window", *TIME_SPLIT) else position).astype(jnp.uint32)
    if mode == "window":
        duration = frames.duration_us
        edges = np.array([min(-(-i * duration // T), _OPEN) for i in range(T + 1)], dtype=np.uint32)
        edges = jnp.broadcast_to(jnp.asarray(edges), (n.shape[0], T + 1))
        return key, edges[:, :-1], edges[:, 1:]
    if mode == "spikingjelly_number":  # di = N // T; the last frame runs to N
        edges = _steps(jnp.zeros_like(n), n // T, T)
        return key, edges[:, :-1], edges[:, 1:].at[:, -1].set(n)
    if mode == "spikingjelly_time":  # dt = (t[-1] - t[0]) // T; the last frame runs to the end
        edges = _steps(t0, span // T, T).astype(jnp.uint32)
        return key, edges[:, :-1], edges[:, 1:].at[:, -1].set(_OPEN)
    if not overlap:  # tonic's float64 edges are these integers without overlap
        if mode == "tonic_time_bins":
            edges = _steps(t0, span // T, T).astype(jnp.uint32)
        else:
            edges = _steps(jnp.zeros_like(n), n // T, T).astype(jnp.uint32)
        return key, edges[:, :-1], edges[:, 1:]
    grow, shrink = 1 + overlap, 1 - overlap  # Python floats, as tonic's
    with jax.enable_x64(True):
        i = jnp.arange(T, dtype=jnp.float64)[None, :]
        if mode == "tonic_time_bins":  # window = (t[-1] - t[0]) // T * (1 + overlap), stride = window * (1 - overlap)
            window = (span // T).astype(jnp.float64) * grow
            stride = window * shrink
            starts = jax.lax.optimization_barrier(i * stride[:, None]) + t0.astype(jnp.float64)[:, None]
            lo, hi = _x64_edges(starts, window)
        else:  # count = int(N // T * (1 + overlap)), stride = int(count * (1 - overlap))
            count = jnp.trunc((n // T).astype(jnp.float64) * grow)
            stride = jnp.trunc(count * shrink)
            lo, hi = _x64_edges(i * stride[:, None], count)
    return key, lo, hi


def _cells(frames: Frames, sensor: tuple[int, int, int], batch: EventBatch) -> tuple[jax.Array, jax.Array]:
    """Each event's flat cell in the frame dims, and whether it is on the sensor."""
    if frames.spike_train:
        units = sensor[0]
        if units * frames.channels >= 2**31:
            raise ValueError(f"{units} units x {frames.channels} channels overflow int32")
        on = (batch.x >= 0) & (batch.x < units)
        return batch.x * frames.channels // units, on
    width, height, polarities = sensor
    on = (batch.x >= 0) & (batch.x < width) & (batch.y >= 0) & (batch.y < height)
    on &= (batch.p >= 0) & (batch.p < polarities)
    f = frames.spatial_factor
    _, rows, columns = frame_shape(sensor, f, frames.merge_polarity)
    channel = jnp.zeros_like(batch.p) if frames.merge_polarity else batch.p
    return (channel * rows + batch.y // f) * columns + batch.x // f, on


def _counts(frames: Frames, sensor: tuple[int, int, int], batch: EventBatch, valid: jax.Array) -> jax.Array:
    """Event counts ``int32[B, T, cells]`` of a counting mode."""
    T = frames.sample_T
    n_cells = int(np.prod(frames.dims(sensor)))
    key, lo, hi = _slices(frames, batch, valid)
    size = key.shape[0]
    search = jax.vmap(functools.partial(jnp.searchsorted, side="right", method="scan_unrolled"))
    first = search(hi, key)  # the first frame i with hi_i > key
    cell, on = _cells(frames, sensor, batch)
    sample = jnp.arange(size)[:, None]
    if not frames.overlap:  # contiguous frames (hi_i == lo_i+1): the event is in frame `first` if it is past lo_0
        inside = valid & on & (first < T) & (key >= lo[:, :1])
        target = jnp.where(inside, (sample * T + first) * n_cells + cell, size * T * n_cells)  # outside: dropped
        counts = jnp.zeros(size * T * n_cells, jnp.int32).at[target].add(1, mode="drop")
        return counts.reshape(size, T, n_cells)
    stop = search(lo, key)  # frames first <= i < stop hold the event (lo_i <= key)
    inside = valid & on & (stop > first)
    width = (T + 1) * n_cells
    begin = jnp.where(inside, (sample * (T + 1) + first) * n_cells + cell, size * width)
    end = jnp.where(inside, (sample * (T + 1) + stop) * n_cells + cell, size * width)
    ends = jnp.zeros(size * width, jnp.int32).at[begin].add(1, mode="drop").at[end].add(-1, mode="drop")
    return jnp.cumsum(ends.reshape(size, T + 1, n_cells), axis=1)[:, :T]


def _voxel_grid(frames: Frames, sensor: tuple[int, int, int], batch: EventBatch, valid: jax.Array) -> jax.Array:
    """tonic's ``ToVoxelGrid`` in tonic's float64, then float32 ``[B, T, 1, H', W']`` (module docstring)."""
    T = frames.sample_T
    _, rows, columns = frames.dims(sensor)
    _, t0, t_last = _ends(batch.t, valid)
    cell, on = _cells(frames, sensor, batch)
    pixel = cell % (rows * columns)
    with jax.enable_x64(True):
        span = (t_last - t0).astype(jnp.float64)
        scaled = T * (batch.t - t0[:, None]).astype(jnp.float64)
        # a true division (XLA turns a division by a broadcast scalar into a product by its reciprocal)
        ts = jax.lax.optimization_barrier((scaled, jnp.broadcast_to(jnp.where(span > 0, span, 1.0)[:, None],
                                                                   scaled.shape)))
        ts = ts[0] / ts[1]
        left = jnp.trunc(ts)
        frac = ts - left
        sign = jnp.where(batch.p != 0, 1.0, -1.0)
        shares = jnp.concatenate([sign * (1.0 - frac), sign * frac], axis=1)
        bins = jnp.concatenate([left, left + 1], axis=1)
        keep = jnp.tile(valid & on & (span > 0)[:, None], 2) & (bins >= 0) & (bins < T)
        target = jnp.where(keep, bins.astype(jnp.int32) * (rows * columns) + jnp.tile(pixel, 2), T * rows * columns)
        sample = jnp.arange(ts.shape[0])[:, None]
        grid = jnp.zeros((ts.shape[0], T * rows * columns), jnp.float64).at[sample, target].add(shares, mode="drop")
        grid = grid.astype(jnp.float32)
    return grid.reshape(ts.shape[0], T, 1, rows, columns)


@functools.partial(jax.jit, static_argnames=("frames", "sensor"))
def rasterise(frames: Frames, sensor: tuple[int, int, int], batch: EventBatch) -> jax.Array:
    """The records' ``obs`` of ``frames`` for a batch of samples' events: ``[B,
    *frames.layout(sensor).obs_shape]`` of the layout's dtype (bit-packed uint8 binary frames,
    uint16 counts clipped to 65,535, float32 voxel grids), each sample equal byte for byte to the
    numpy rasteriser's (:func:`spyx_data.builder.frames.frame_events` or
    :func:`~spyx_data.builder.frames.voxel_grid` of the sample's events after the same mapping:
    ``x // spatial_factor``, ``y // spatial_factor``, polarity 0 where merged; unit ``u`` to
    channel ``u * channels // units``).

    Args:
        frames: the frame configuration (static).
        sensor: tonic's ``sensor_size`` ``(W, H, P)`` of the events, at full resolution; a
            spike train's is ``(units, 1, 1)`` (static).
        batch: the events, ``[B, N]`` int32 times (microseconds from each sample's time origin,
            ``0 .. 2**31 - 1``, in the stored order) and coordinates, bool ``valid``.

    Jitted (``frames`` and ``sensor`` static); callable inside another jitted function. Limits
    and exactness: see the module docstring.
    """
    layout = frames.layout(sensor)
    batch = EventBatch(*(jnp.asarray(a, jnp.int32) for a in batch[:4]), jnp.asarray(batch.valid, bool))
    size = batch.t.shape[0]
    if batch.t.shape[1] == 0:
        return jnp.zeros((size, *layout.obs_shape), layout.obs_dtype)
    valid = batch.valid & (batch.t >= 0)
    if frames.mode == "voxel_grid":
        return _voxel_grid(frames, sensor, batch, valid)
    counts = _counts(frames, sensor, batch, valid).reshape(size, frames.sample_T, *layout.dims)
    if layout.packed:
        return jnp.packbits(counts > 0, axis=1, bitorder="big")
    return jnp.minimum(counts, MAX_COUNT).astype(jnp.uint16)


def check_events(frames: Frames, sensor: tuple[int, int, int], batch: EventBatch) -> None:
    """Refuse, on the host, the events :func:`rasterise` would not frame as the numpy rasteriser:
    raise ``ValueError`` naming the sample and event (its position among the sample's events)
    for a negative time, an event off the ``sensor`` (a spike train: a unit outside ``0 ..
    units - 1``), or a time that goes back under a mode that splits by time or a voxel grid."""
    t, x, y, p, valid = (np.asarray(a) for a in batch)
    offsets = np.concatenate([[0], np.cumsum(valid.sum(axis=1))])
    check_event_columns(frames, sensor, (t[valid], x[valid], y[valid], p[valid]), offsets)


def check_event_columns(
    frames: Frames,
    sensor: tuple[int, int, int],
    columns: tuple[np.ndarray | None, ...],
    offsets: np.ndarray,
    first_index: int = 0,
) -> None:
    """:func:`check_events` of samples given as flat columns ``(t, x, y, p)`` (``y``, ``p`` None
    for a spike train, whose ``x`` is the unit), sample ``k``'s events ``[offsets[k],
    offsets[k + 1])``, vectorised over all events; a sample is named ``first_index + k``. Times
    may be unsigned: one past ``2**31 - 1`` (int32 microseconds) is refused too."""
    frames.layout(sensor)
    t = np.asarray(columns[0])
    offsets = np.asarray(offsets, np.int64)
    width, height, polarities = sensor
    limits = [("unit", 1, width)] if frames.spike_train else [("x", 1, width), ("y", 2, height),
                                                              ("p", 3, polarities)]
    bad = _outside(t, _INT32_MAX + 1)
    for _, c, size in limits:
        bad |= _outside(np.asarray(columns[c]), size)
    if frames.mode in (*TIME_SPLIT, "voxel_grid") and len(t) > 1:
        back = t[1:] < t[:-1]
        back[offsets[1:-1][(offsets[1:-1] > 0) & (offsets[1:-1] < len(t))] - 1] = False  # a sample's first event
        bad[1:] |= back
    if not bad.any():
        return
    k = int(np.searchsorted(offsets, np.argmax(bad), side="right")) - 1
    at = slice(int(offsets[k]), int(offsets[k + 1]))
    ts, name = t[at].astype(np.int64), f"sample {first_index + k}"
    for axis, c, size in limits:
        values = np.asarray(columns[c][at]).astype(np.int64)
        off = np.flatnonzero((values < 0) | (values >= size))
        if off.size:
            j = int(off[0])
            raise ValueError(f"{name}: event {j} has {axis}={int(values[j])}, outside 0..{size - 1}")
    negative = np.flatnonzero(ts < 0)
    if negative.size:
        raise ValueError(f"{name}: event {int(negative[0])} has a negative time ({int(ts[negative[0]])} us)")
    late = np.flatnonzero(ts > _INT32_MAX)
    if late.size:
        raise ValueError(f"{name}: event {int(late[0])} has t={int(ts[late[0]])} us, past the rasteriser's "
                         f"{_INT32_MAX} us (int32)")
    j = int(np.flatnonzero(ts[1:] < ts[:-1])[0]) + 1
    raise ValueError(f"{name}: event {j} goes back in time ({int(ts[j])} us after {int(ts[j - 1])} us); "
                     f"--frames={frames.mode} needs events in time order")


def _outside(values: np.ndarray, size: int) -> np.ndarray:
    """bool: where integer ``values`` lie outside ``0 .. size - 1``, compared in their own type
    (no widened copy of a split's columns)."""
    above = values >= size if size <= np.iinfo(values.dtype).max else np.zeros(values.shape, bool)
    return above | (values < 0) if np.issubdtype(values.dtype, np.signedinteger) else above
