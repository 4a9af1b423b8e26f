"""Event-space augmentation on the device, with tonic's names, parameters and semantics.

Every transform is a frozen dataclass with the fields of its tonic 1.7 namesake (``sensor_size``
is tonic's ``(W, H, P)``; times are microseconds, places pixels) called as
``transform(keys, batch) -> EventBatch``: ``keys`` are ``[B]`` ``jax.random`` keys, one per sample
(:func:`sample_keys`), ``batch`` an :class:`~spyx_data.read.events.EventBatch` ``[B, N]``. The call
is jitted and runs on the batch's device; each sample is transformed on its own (``jax.vmap``).

Semantics, shared by all (where tonic deletes events or returns a new array):

* A dropped event stays in its slot with ``valid`` False; the others keep their slots and order.
  Only :class:`TimeJitter` with ``sort_timestamps``, :class:`UniformNoise` and :class:`EventMix`
  reorder: they return the sample's events in time order (a stable sort: ties keep their order),
  then the padding.
* Times and places stay integers as in tonic's integer event arrays: tonic adds a float jitter
  or skew and stores it in the integer field, which truncates toward zero; so do these.
* A sample without events is returned unchanged (tonic's ``UniformNoise`` returns it too; its
  ``DropEventByTime`` fails on one).
* Events moved off the sensor or before 0 are kept exactly when tonic keeps them
  (``SpatialJitter(clip_outliers=False)``, ``TimeJitter(clip_negative=False)``, ``TimeSkew`` with
  a negative offset, flips on a sensor the events do not fill); a frame has no cell for them.

Randomness: a sample's draws are a pure function of its key, and :func:`sample_keys` makes the key
from ``(seed, epoch, index)`` (``index``: the sample's index in its split), so a sample gets the
same draws in any batch, at any position, with any padding ``N``, on any number of devices and
after a resume. Draws per event come from the counter-based generator of :mod:`spyx_data.functional`
(event ``i`` of a sample draws from its key and ``i`` only); draws per sample from ``jax.random``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from spyx_data import functional as F
from spyx_data.read.events import EventBatch

Range = float | tuple[float, float]
_INT32_MIN = np.iinfo(np.int32).min


def sample_keys(seed: int, epoch: Any, indices: Any) -> jax.Array:
    """The keys of samples ``indices`` (int ``[B]``, their indices in the split) in ``epoch``:
    ``fold_in(fold_in(key(seed), epoch), index)``, typed ``jax.random`` keys ``[B]``. Jittable."""
    base = jax.random.fold_in(jax.random.key(seed), epoch)
    return jax.vmap(lambda index: jax.random.fold_in(base, index))(jnp.asarray(indices, jnp.uint32))


# ---- draws -----------------------------------------------------------------------------------

def _stream(key: jax.Array, stream: int) -> jax.Array:
    return jax.random.fold_in(key, stream)


def _event_bits(key: jax.Array, stream: int, n: int) -> jax.Array:
    """uint32 ``[n]``: event ``i``'s bits depend on the key and ``i`` only (not on ``n``)."""
    return F.random_bits(jnp, jax.random.key_data(_stream(key, stream)), (n,))


def _event_normal(key: jax.Array, stream: int, n: int) -> jax.Array:
    """float32 ``[n]`` standard normal (inverse CDF of 24-bit uniforms, so within 5.3 sigma)."""
    u = ((_event_bits(key, stream, n) >> 8).astype(jnp.float32) + 0.5) * jnp.float32(2.0**-24)
    return jax.scipy.special.ndtri(u)


def _draw(key: jax.Array, stream: int, value: Range) -> jax.Array:
    """``value``, or where it is a range ``(low, high)`` a float32 uniform in ``[low, high)``."""
    if isinstance(value, tuple):
        low, high = value
        return low + (high - low) * jax.random.uniform(_stream(key, stream), dtype=jnp.float32)
    return jnp.float32(value)


def _coin(key: jax.Array, p: float) -> jax.Array:
    return jax.random.uniform(_stream(key, 0), dtype=jnp.float32) < p


def _as_range(value: Any, name: str) -> Range:
    """A number, or a range given as a 2-sequence, as tonic's ``float | tuple``."""
    if isinstance(value, Sequence):
        if len(value) != 2 or value[0] > value[1]:
            raise ValueError(f"{name} must be a number or a range (low, high) with low <= high, got {value!r}")
        return (float(value[0]), float(value[1]))
    return float(value)


def _check_within(value: Range, name: str, low: float, high: float, high_open: bool) -> None:
    for v in value if isinstance(value, tuple) else (value,):
        if not (low <= v < high if high_open else low <= v <= high):
            raise ValueError(f"{name} must be in [{low}, {high}{')' if high_open else ']'}, got {value!r}")


def _set(obj: Any, **fields: Any) -> None:
    for name, value in fields.items():
        object.__setattr__(obj, name, value)


# ---- rules shared by several transforms ------------------------------------------------------

def _t_end(ev: EventBatch) -> jax.Array:
    """The sample's last event time (tonic's ``events["t"].max()``), ``INT32_MIN`` without events."""
    return jnp.max(jnp.where(ev.valid, ev.t, _INT32_MIN))


def _time_window(key: jax.Array, t_end: jax.Array, duration_ratio: Range) -> tuple[jax.Array, jax.Array]:
    """tonic's ``drop_by_time_numpy`` window as integer bounds ``[lo, hi]`` (µs, both included):
    ``d = t_end * ratio``, start ``s`` uniform in ``[0, t_end - d)``, times ``s <= t <= s + d``.
    In float32 (tonic: float64)."""
    t_end = t_end.astype(jnp.float32)
    duration = t_end * _draw(key, 1, duration_ratio)
    start = jax.random.uniform(_stream(key, 2), dtype=jnp.float32) * (t_end - duration)
    return jnp.ceil(start).astype(jnp.int32), jnp.floor(start + duration).astype(jnp.int32)


def _in_window(ev: EventBatch, lo: jax.Array, hi: jax.Array) -> jax.Array:
    return (ev.t >= lo) & (ev.t <= hi)


def _box(key: jax.Array, sensor: tuple[int, int, int], area_ratio: Range) -> tuple[jax.Array, ...]:
    """tonic's ``drop_by_area_numpy`` box ``(x0, y0, width, height)`` (pixels): sides
    ``int(W * ratio)`` and ``int(H * ratio)``, corner uniform over ``[0, W - width)`` x ``[0, H - height)``."""
    width, height = sensor[0], sensor[1]
    ratio = _draw(key, 3, area_ratio)
    cut_w = jnp.floor(width * ratio).astype(jnp.int32)
    cut_h = jnp.floor(height * ratio).astype(jnp.int32)
    x0 = jax.random.randint(_stream(key, 4), (), 0, width - cut_w)
    y0 = jax.random.randint(_stream(key, 5), (), 0, height - cut_h)
    return x0, y0, cut_w, cut_h


def _in_box(ev: EventBatch, x0: jax.Array, y0: jax.Array, width: jax.Array, height: jax.Array) -> jax.Array:
    return (ev.x >= x0) & (ev.x <= x0 + width - 1) & (ev.y >= y0) & (ev.y <= y0 + height - 1)


def _jittered(position: jax.Array, shift: jax.Array) -> jax.Array:
    """``trunc(position + shift)`` exactly, in integers: a float added to tonic's integer field."""
    down = position + jnp.floor(shift).astype(jnp.int32)
    return jnp.where(down >= 0, down, position + jnp.ceil(shift).astype(jnp.int32))


def _time_sorted(ev: EventBatch) -> EventBatch:
    """The valid events in time order (stable), then the padding."""
    order = jnp.lexsort((ev.t, ~ev.valid))
    return EventBatch(*(field[order] for field in ev))


def _check_sensor(sensor_size: Sequence[int]) -> tuple[int, int, int]:
    sensor = tuple(int(s) for s in sensor_size)
    if len(sensor) != 3 or min(sensor) < 1:
        raise ValueError(f"sensor_size must be tonic's (W, H, P), each >= 1, got {sensor_size!r}")
    return sensor


# ---- the transforms --------------------------------------------------------------------------

class _Transform:
    """``transform(keys, batch)``: ``keys`` ``[B]`` from :func:`sample_keys`, ``batch`` an
    :class:`EventBatch` ``[B, N]``; returns an :class:`EventBatch` ``[B, N']``. Jitted."""

    def _sample(self, key: jax.Array, ev: EventBatch) -> EventBatch:
        raise NotImplementedError

    @functools.partial(jax.jit, static_argnums=0)
    def __call__(self, keys: jax.Array, batch: EventBatch) -> EventBatch:
        batch = EventBatch(*(jnp.asarray(f, jnp.bool_ if i == 4 else jnp.int32) for i, f in enumerate(batch)))
        _check_keys(keys, batch)
        return jax.vmap(self._sample)(keys, batch)


def _check_keys(keys: jax.Array, batch: EventBatch) -> None:
    if not jnp.issubdtype(keys.dtype, jax.dtypes.prng_key) or keys.shape != batch.t.shape[:1]:
        raise ValueError(f"keys must be [{batch.t.shape[0]}] jax.random keys, one per sample (sample_keys), "
                         f"got {keys.dtype}{list(keys.shape)}")


@dataclasses.dataclass(frozen=True)
class DropEvent(_Transform):
    """tonic's ``DropEvent``: drops ``round(p * n)`` of a sample's ``n`` events (``int(p n + 0.5)``),
    chosen uniformly without replacement. ``p`` in ``[0, 1]``, or a range ``(p_min, p_max)``
    from which each sample draws ``p`` uniformly."""

    p: Range

    def __post_init__(self) -> None:
        _set(self, p=_as_range(self.p, "p"))
        _check_within(self.p, "p", 0, 1, high_open=False)

    def _sample(self, key, ev):
        n = ev.valid.sum()
        count = jnp.floor(_draw(key, 1, self.p) * n.astype(jnp.float32) + 0.5).astype(jnp.int32)
        # Drop the `count` events of smallest (random key, slot); every padding slot's key is above theirs.
        keys = jnp.where(ev.valid, _event_bits(key, 2, ev.t.shape[0]) >> 1, jnp.uint32(0xFFFFFFFF))
        threshold = jnp.sort(keys)[jnp.maximum(count - 1, 0)]
        below = keys < threshold
        ties = ev.valid & (keys == threshold)
        drop = (count > 0) & (below | (ties & (jnp.cumsum(ties) <= count - below.sum())))
        return ev._replace(valid=ev.valid & ~drop)


@dataclasses.dataclass(frozen=True)
class DropEventByTime(_Transform):
    """tonic's ``DropEventByTime``: drops the events of a time window of length
    ``d = duration_ratio * t_end`` (``t_end``: the sample's last event time, µs from its origin),
    starting uniformly in ``[0, t_end - d)``; both ends included. ``duration_ratio`` in ``[0, 1)``
    or a range ``(low, high)`` drawn per sample uniformly in ``[low, high)``. The window is
    computed in float32 (tonic: float64)."""

    duration_ratio: Range = 0.2

    def __post_init__(self) -> None:
        _set(self, duration_ratio=_as_range(self.duration_ratio, "duration_ratio"))
        _check_within(self.duration_ratio, "duration_ratio", 0, 1, high_open=True)

    def _sample(self, key, ev):
        lo, hi = _time_window(key, _t_end(ev), self.duration_ratio)
        return ev._replace(valid=ev.valid & ~_in_window(ev, lo, hi))


#: The short name the field also uses for :class:`DropEventByTime` (tonic 1.7's class name).
DropByTime = DropEventByTime


@dataclasses.dataclass(frozen=True)
class DropEventByArea(_Transform):
    """tonic's ``DropEventByArea``: drops the events in a box of ``int(W * area_ratio)`` x
    ``int(H * area_ratio)`` pixels whose corner is uniform over ``[0, W - width) x [0, H - height)``.
    ``area_ratio`` in ``[0, 1)`` or a range ``(low, high)`` drawn per sample uniformly in
    ``[low, high)`` (tonic 1.7 draws a range's ratio in ``[high, 1)``, a bug, not copied)."""

    sensor_size: tuple[int, int, int]
    area_ratio: Range = 0.2

    def __post_init__(self) -> None:
        _set(self, sensor_size=_check_sensor(self.sensor_size), area_ratio=_as_range(self.area_ratio, "area_ratio"))
        _check_within(self.area_ratio, "area_ratio", 0, 1, high_open=True)

    def _sample(self, key, ev):
        return ev._replace(valid=ev.valid & ~_in_box(ev, *_box(key, self.sensor_size, self.area_ratio)))


#: The short name the field also uses for :class:`DropEventByArea` (tonic 1.7's class name).
DropByArea = DropEventByArea


@dataclasses.dataclass(frozen=True)
class TimeJitter(_Transform):
    """tonic's ``TimeJitter``: adds to each event's time a normal draw of standard deviation
    ``std`` (µs), truncated toward zero as tonic stores it in its integer times.
    ``clip_negative``: drop events whose time is then below 0 (else they are kept, negative).
    ``sort_timestamps``: return the events in time order (stable; else they keep their slots and
    may be out of time order, as in tonic)."""

    std: float
    clip_negative: bool = True
    sort_timestamps: bool = False

    def __post_init__(self) -> None:
        if not self.std >= 0:
            raise ValueError(f"std must be >= 0 (µs), got {self.std!r}")

    def _sample(self, key, ev):
        t = _jittered(ev.t, jnp.float32(self.std) * _event_normal(key, 1, ev.t.shape[0]))
        out = ev._replace(t=t, valid=ev.valid & (t >= 0) if self.clip_negative else ev.valid)
        return _time_sorted(out) if self.sort_timestamps else out


@dataclasses.dataclass(frozen=True)
class SpatialJitter(_Transform):
    """tonic's ``SpatialJitter``: adds to each event's ``(x, y)`` a draw of the normal distribution
    of mean 0 and covariance ``[[var_x, sigma_xy], [sigma_xy, var_y]]`` (pixels²), truncated toward
    zero as tonic stores it in its integer places. ``clip_outliers``: drop events then off the
    sensor (``x`` outside ``[0, W)`` or ``y`` outside ``[0, H)``); else they are kept there."""

    sensor_size: tuple[int, int, int]
    var_x: float = 1
    var_y: float = 1
    sigma_xy: float = 0
    clip_outliers: bool = False

    def __post_init__(self) -> None:
        _set(self, sensor_size=_check_sensor(self.sensor_size))
        self._factor()

    def _factor(self) -> np.ndarray:
        """``A`` with ``A A^T`` the covariance; refuses one that is not positive semi-definite."""
        cov = np.array([[self.var_x, self.sigma_xy], [self.sigma_xy, self.var_y]], np.float64)
        values, vectors = np.linalg.eigh(cov)
        if not np.all(np.isfinite(cov)) or values.min() < -1e-9 * max(1.0, np.abs(values).max()):
            raise ValueError(f"[[var_x, sigma_xy], [sigma_xy, var_y]] = {cov.tolist()} is not a covariance "
                             "(it must be positive semi-definite: sigma_xy**2 <= var_x * var_y)")
        return (vectors * np.sqrt(np.clip(values, 0, None))).astype(np.float32)

    def _sample(self, key, ev):
        n = ev.t.shape[0]
        shift = jnp.asarray(self._factor()) @ jnp.stack([_event_normal(key, 1, n), _event_normal(key, 2, n)])
        x, y = _jittered(ev.x, shift[0]), _jittered(ev.y, shift[1])
        valid = ev.valid
        if self.clip_outliers:
            valid = valid & (x >= 0) & (x < self.sensor_size[0]) & (y >= 0) & (y < self.sensor_size[1])
        return ev._replace(x=x, y=y, valid=valid)


@dataclasses.dataclass(frozen=True)
class TimeSkew(_Transform):
    """tonic's ``TimeSkew``: ``t' = trunc(t * coefficient + offset)`` (µs). Each of
    ``coefficient`` and ``offset`` is a number or a range ``(low, high)`` drawn per sample
    uniformly in ``[low, high)``. Computed in float32 (tonic: float64), so ``t'`` may differ from
    tonic's by 1 µs; equal where the product and sum are exact in float32. Times below 0 are kept."""

    coefficient: Range
    offset: Range = 0

    def __post_init__(self) -> None:
        _set(self, coefficient=_as_range(self.coefficient, "coefficient"), offset=_as_range(self.offset, "offset"))

    def _sample(self, key, ev):
        t = ev.t.astype(jnp.float32) * _draw(key, 1, self.coefficient) + _draw(key, 2, self.offset)
        return ev._replace(t=jnp.trunc(t).astype(jnp.int32))


@dataclasses.dataclass(frozen=True)
class _Flip(_Transform):
    """With probability ``p`` per sample, mirror the events' ``axis`` (``"x"`` or ``"y"``) on the sensor."""

    sensor_size: tuple[int, int, int]
    p: float = 0.5
    axis: ClassVar[str]

    def __post_init__(self) -> None:
        _set(self, sensor_size=_check_sensor(self.sensor_size))
        _check_within(self.p, "p", 0, 1, high_open=False)

    def _sample(self, key, ev):
        place = getattr(ev, self.axis)
        size = self.sensor_size["xy".index(self.axis)]
        return ev._replace(**{self.axis: jnp.where(_coin(key, self.p), size - 1 - place, place)})


@dataclasses.dataclass(frozen=True)
class RandomFlipLR(_Flip):
    """tonic's ``RandomFlipLR``: with probability ``p`` per sample, ``x' = W - 1 - x``."""

    axis: ClassVar[str] = "x"


@dataclasses.dataclass(frozen=True)
class RandomFlipUD(_Flip):
    """tonic's ``RandomFlipUD``: with probability ``p`` per sample, ``y' = H - 1 - y``."""

    axis: ClassVar[str] = "y"


@dataclasses.dataclass(frozen=True)
class RandomFlipPolarity(_Transform):
    """tonic's ``RandomFlipPolarity``: with probability ``p`` per sample, every polarity of the
    sample flips as tonic's code does: ``p' = 1`` where ``p == 0``, else ``0``."""

    p: float = 0.5

    def __post_init__(self) -> None:
        _check_within(self.p, "p", 0, 1, high_open=False)

    def _sample(self, key, ev):
        return ev._replace(p=jnp.where(_coin(key, self.p), (ev.p == 0).astype(jnp.int32), ev.p))


@dataclasses.dataclass(frozen=True)
class UniformNoise(_Transform):
    """tonic's ``UniformNoise``: adds ``n`` events uniform over the sensor: ``x`` in ``[0, W)``,
    ``y`` in ``[0, H)``, ``p`` in ``[0, P)``, ``t`` in ``[t_min, t_max)`` of the sample's events
    (``t_min`` where they are equal); then the events in time order (stable: a noise event after
    the sample's events of its time). ``n`` an integer, or a range ``(low, high)`` from which each
    sample draws ``n`` uniformly in ``[low, high)`` (``low`` where equal). A sample without events
    gets none. The batch grows by the largest ``n`` to ``[B, N + n_max]`` so that every sample's
    noise fits, whatever its padding."""

    sensor_size: tuple[int, int, int]
    n: int | tuple[int, int]

    def __post_init__(self) -> None:
        n = tuple(self.n) if isinstance(self.n, Sequence) else (self.n, self.n)
        if len(n) != 2 or not all(isinstance(v, (int, np.integer)) for v in n) or not 0 <= n[0] <= n[1]:
            raise ValueError(f"n must be an integer >= 0 or a range (low, high) of integers, 0 <= low <= high, "
                             f"got {self.n!r}")
        _set(self, sensor_size=_check_sensor(self.sensor_size),
             n=tuple(int(v) for v in self.n) if isinstance(self.n, Sequence) else int(self.n))

    @property
    def n_max(self) -> int:
        """The most noise events a sample gets: the slots the batch grows by."""
        return max(self.n[0], self.n[1] - 1) if isinstance(self.n, tuple) else self.n

    def _sample(self, key, ev):
        m = self.n_max
        count = jax.random.randint(_stream(key, 1), (), *self.n) if isinstance(self.n, tuple) else self.n
        t_min = jnp.min(jnp.where(ev.valid, ev.t, np.iinfo(np.int32).max))
        span = jnp.maximum(_t_end(ev) - t_min, 1).astype(jnp.uint32)
        width, height, polarities = self.sensor_size

        def uniform_below(stream, bound):
            return (_event_bits(key, stream, m) % jnp.asarray(bound, jnp.uint32)).astype(jnp.int32)

        noise = EventBatch(t_min + uniform_below(2, span), uniform_below(3, width), uniform_below(4, height),
                           uniform_below(5, polarities), (jnp.arange(m) < count) & ev.valid.any())
        return _time_sorted(EventBatch(*(jnp.concatenate([a, b]) for a, b in zip(ev, noise))))


@dataclasses.dataclass(frozen=True)
class Compose:
    """tonic's ``Compose``: the transforms in order; transform ``i`` draws from each sample's key
    folded with ``i``. ``compose(keys, batch) -> EventBatch``."""

    transforms: tuple[Any, ...]

    def __post_init__(self) -> None:
        _set(self, transforms=tuple(self.transforms))

    def __call__(self, keys: jax.Array, batch: EventBatch) -> EventBatch:
        for i, transform in enumerate(self.transforms):
            batch = transform(jax.vmap(lambda key, i=i: jax.random.fold_in(key, i))(keys), batch)
        return batch


@dataclasses.dataclass(frozen=True)
class EventMix:
    """An EventMix (Shen et al. 2021) of two samples: ``mix(keys, a, b) -> (EventBatch, weights)``.

    Each sample of ``a`` draws a region (its key): a box of the sensor drawn as
    :class:`DropEventByArea` draws it (``area_ratio``; ``None``: the whole sensor) times a time window
    drawn as :class:`DropEventByTime` draws it (``duration_ratio``; ``None``: all time), with
    ``t_end`` the later of the two samples' last events. The mix holds ``a``'s events outside the
    region and ``b``'s inside it, in time order (stable, ``a``'s first), ``[B, N_a + N_b]``.
    ``weights`` float32 ``[B, 2]``: the shares of the mix's events that came from ``a`` and from
    ``b`` (``(1, 0)`` for a mix without events): mix the labels with them, e.g.
    ``weights[:, :1] * one_hot(label_a) + weights[:, 1:] * one_hot(label_b)``. ``b`` is usually
    ``a`` rolled by one sample along the batch, with its labels.
    """

    sensor_size: tuple[int, int, int]
    area_ratio: Range | None = 0.5
    duration_ratio: Range | None = 0.5

    def __post_init__(self) -> None:
        sensor = _check_sensor(self.sensor_size)
        _set(self, sensor_size=sensor)
        for name in ("area_ratio", "duration_ratio"):
            if getattr(self, name) is not None:
                _set(self, **{name: _as_range(getattr(self, name), name)})
                _check_within(getattr(self, name), name, 0, 1, high_open=True)
        if self.area_ratio is not None:
            low = self.area_ratio[0] if isinstance(self.area_ratio, tuple) else self.area_ratio
            if int(sensor[0] * low) == 0 or int(sensor[1] * low) == 0:
                raise ValueError(f"area_ratio {self.area_ratio} cuts a box of no pixels from a {sensor[0]} x "
                                 f"{sensor[1]} sensor: give a larger ratio, or area_ratio=None to mix a time "
                                 "window over the whole sensor")

    @functools.partial(jax.jit, static_argnums=0)
    def __call__(self, keys: jax.Array, a: EventBatch, b: EventBatch) -> tuple[EventBatch, jax.Array]:
        a, b = (EventBatch(*(jnp.asarray(f, jnp.bool_ if i == 4 else jnp.int32) for i, f in enumerate(e)))
                for e in (a, b))
        _check_keys(keys, a)
        return jax.vmap(self._sample)(keys, a, b)

    def _region(self, key: jax.Array, ev: EventBatch, t_end: jax.Array) -> jax.Array:
        inside = jnp.ones_like(ev.valid)
        if self.area_ratio is not None:
            inside = inside & _in_box(ev, *_box(key, self.sensor_size, self.area_ratio))
        if self.duration_ratio is not None:
            inside = inside & _in_window(ev, *_time_window(key, t_end, self.duration_ratio))
        return inside

    def _sample(self, key, a, b):
        t_end = jnp.maximum(_t_end(a), _t_end(b))
        keep_a = a.valid & ~self._region(key, a, t_end)
        keep_b = b.valid & self._region(key, b, t_end)
        mixed = _time_sorted(EventBatch(*(jnp.concatenate([fa, fb]) for fa, fb in
                                          zip(a._replace(valid=keep_a), b._replace(valid=keep_b)))))
        n_a, n_b = keep_a.sum().astype(jnp.float32), keep_b.sum().astype(jnp.float32)
        total = n_a + n_b
        weights = jnp.where(total > 0, jnp.stack([n_a, n_b]) / jnp.maximum(total, 1), jnp.array([1.0, 0.0]))
        return mixed, weights
