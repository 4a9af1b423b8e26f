"""Spike encoders and augmentation as pure functions, written once for numpy and jax.numpy.

Every function takes the array namespace ``xp`` (``numpy`` or ``jax.numpy``) first, so the JAX
functions of :mod:`spyx_data.encoders`, its Grain transforms and the Beam encode stage run the
same maths and give the same spikes for the same key.

Randomness comes from a counter-based generator: a *key* is two uint32 words, and element ``i``
(in C order) of a requested shape gets ``mix(mix(i ^ k0) ^ k1)`` (the murmur3 finaliser). It is
pure integer arithmetic, so numpy and XLA on any device agree bit for bit; the Grain transforms
take their key from Grain's per-record generator, the Beam stage from ``(seed, split, index)``
(:func:`record_key`), and the JAX functions from a ``jax.random`` key (:func:`key_words`).

Inputs are read as float32, and subnormal values (below ``finfo(float32).tiny``, 1.2e-38) as 0,
in numpy too: XLA flushes them to zero on CPU and GPU, and the two would disagree otherwise.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from spyx_data.errors import InputError

MODES = ("roll", "zero")
_TINY = float(np.finfo(np.float32).tiny)  # float32's smallest normal number: XLA flushes smaller ones to 0


def key_words(key: Any) -> Any:
    """The two uint32 words of a key: a ``jax.random.key`` / ``PRNGKey``, or any uint32 ``[>=2]``."""
    dtype = getattr(key, "dtype", None)
    if dtype is not None and "key<" in str(dtype):  # a typed jax key
        import jax

        key = jax.random.key_data(key)
    return key.reshape(-1)[:2]


def record_key(seed: int, split: str, index: int) -> np.ndarray:
    """The key of record ``index`` of ``split`` for a build seeded with ``seed``: uint32 ``[2]``."""
    digest = hashlib.sha256(f"{seed}/{split}/{index}".encode()).digest()
    return np.frombuffer(digest[:8], dtype="<u4").copy()


def _mix(xp: Any, x: Any) -> Any:
    x = x ^ (x >> 16)
    x = x * xp.uint32(0x85EBCA6B)
    x = x ^ (x >> 13)
    x = x * xp.uint32(0xC2B2AE35)
    return x ^ (x >> 16)


def random_bits(xp: Any, key: Any, shape: Sequence[int]) -> Any:
    """uint32 array of ``shape``, a pure function of ``key`` (uint32 ``[2]``) and the position."""
    key = xp.asarray(key, dtype=xp.uint32)
    count = int(np.prod(shape, dtype=np.int64))
    if count > 2**32:
        raise ValueError(f"cannot draw {count} values from one key (at most 2**32)")
    counter = xp.arange(count, dtype=xp.uint32)
    return _mix(xp, _mix(xp, counter ^ key[0]) ^ key[1]).reshape(tuple(shape))


def uniform(xp: Any, key: Any, shape: Sequence[int]) -> Any:
    """float32 in ``[0, 1)`` on a 2**-24 grid, from :func:`random_bits`."""
    return (random_bits(xp, key, shape) >> 8).astype(xp.float32) * xp.float32(2.0**-24)


def flush_subnormals(xp: Any, x: Any) -> Any:
    """float32 ``x`` with subnormal values set to 0, as XLA computes them."""
    return xp.where(xp.abs(x) < xp.finfo(xp.float32).tiny, xp.float32(0), x)


def as_float32(xp: Any, data: Any) -> Any:
    """``data`` as float32, subnormals read as 0."""
    return flush_subnormals(xp, xp.asarray(data, dtype=xp.float32))


def rate_spikes(xp: Any, data: Any, key: Any, num_steps: int, max_r: float) -> Any:
    """Bernoulli rate code with a new time axis: ``[B, ...] -> uint8 [B, num_steps, ...]``.

    The spike probability of every step is ``clip(float32(data) * max_r, 0, 1)`` (NaN never
    fires); ``spikes = uniform(key, [B, T, ...]) < p``.
    """
    p = xp.clip(flush_subnormals(xp, as_float32(xp, data) * xp.float32(max_r)), 0, 1)
    u = uniform(xp, key, (p.shape[0], num_steps, *p.shape[1:]))
    return (u < p[:, None]).astype(xp.uint8)


def latency_spikes(xp: Any, data: Any, num_steps: int, threshold: float) -> Any:
    """Time-to-first-spike code: ``[...] -> uint8 [num_steps, ...]``, one spike per unit at most.

    ``x = clip(float32(data), 0, 1)`` fires at ``t = round((1 - x) * (num_steps - 1))`` (round
    half to even), so larger values fire earlier; ``x <= threshold`` never fires. NaN input
    must be rejected by the caller.
    """
    x = xp.clip(as_float32(xp, data), 0, 1)
    fire_at = xp.round((1 - x) * xp.float32(num_steps - 1)).astype(xp.int32)
    steps = xp.arange(num_steps, dtype=xp.int32).reshape((num_steps,) + (1,) * x.ndim)
    return ((steps == fire_at) & (x > xp.float32(threshold))).astype(xp.uint8)


def angle_spikes(xp: Any, data: Any, neuron_count: int, min_val: float, max_val: float) -> Any:
    """Population (angle) code: ``[...] -> uint8 one-hot [..., neuron_count]``.

    ``[min_val, max_val]`` is cut into ``neuron_count`` equal bins; bin ``k`` covers
    ``[min + k w, min + (k + 1) w)`` with ``w = (max - min) / neuron_count``, the last bin also
    holds ``max``; values outside the range go to the first or last neuron. (spyx.data's top
    neuron fired only at ``x >= max``: its ``N`` neurons had ``N - 1`` bins.)
    """
    x = as_float32(xp, data)
    scaled = flush_subnormals(xp, x - xp.float32(min_val)) * xp.float32(neuron_count / (max_val - min_val))
    index = xp.clip(xp.floor(scaled), 0, neuron_count - 1).astype(xp.int32)
    return (index[..., None] == xp.arange(neuron_count, dtype=xp.int32)).astype(xp.uint8)


def shift_amounts(xp: Any, key: Any, count: int, num_axes: int, max_shift: int) -> Any:
    """int32 ``[count, num_axes]`` shifts, uniform over ``[-max_shift, max_shift]`` (both ends)."""
    span = 2 * max_shift + 1
    return (random_bits(xp, key, (count, num_axes)) % xp.uint32(span)).astype(xp.int32) - max_shift


def shifted(
    xp: Any, data: Any, key: Any, max_shift: int, axes: Sequence[int], per_sample: bool, mode: str
) -> Any:
    """Shift ``data`` along ``axes`` by random amounts in ``[-max_shift, max_shift]``.

    With ``per_sample`` axis 0 is a batch axis and every sample gets its own shifts (drawn row
    by row: sample ``b`` uses row ``b`` of :func:`shift_amounts`); otherwise one shift per axis
    for the whole array (row 0). ``mode="roll"`` wraps around, ``"zero"`` fills with zeros.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    axes = [a % data.ndim for a in axes]
    if per_sample and 0 in axes:
        raise ValueError("with per_sample, axis 0 is the batch axis and cannot be shifted")
    count = data.shape[0] if per_sample else 1
    shifts = shift_amounts(xp, key, count, len(axes), max_shift)
    out = data
    for j, axis in enumerate(axes):
        n = data.shape[axis]
        source = xp.arange(n)[None, :] - shifts[:, j : j + 1]  # [count, n]: where each position reads from
        shape = [1] * data.ndim
        shape[axis] = n
        if per_sample:
            shape[0] = count
        source = source.reshape(shape)
        out = xp.take_along_axis(out, source % n, axis=axis)
        if mode == "zero":
            out = xp.where((source >= 0) & (source < n), out, xp.zeros((), dtype=out.dtype))
    return out


@dataclasses.dataclass(frozen=True)
class Rate:
    """The rate code of one sample: ``[...] -> [num_steps, ...]``.

    ``num_steps`` >= 1; ``max_r``, the spike probability per step at ``x = 1``, in ``(0, 1]``
    (at least float32's smallest normal number, 1.2e-38: below it nothing fires; NaN, inf and
    other values outside are refused).
    """

    num_steps: int
    max_r: float = 0.75

    time_steps = property(lambda self: self.num_steps)
    random = True

    def __post_init__(self) -> None:
        _check_steps(self.num_steps)
        if not _TINY <= self.max_r <= 1:  # also False for NaN
            raise ValueError(f"max_r must be in (0, 1] (the spike probability per step at x = 1; in float32, so "
                             f"at least {_TINY:.3g}), got {self.max_r}")

    def __call__(self, xp: Any, x: Any, key: Any) -> Any:
        return rate_spikes(xp, x[None], key, self.num_steps, self.max_r)[0]


@dataclasses.dataclass(frozen=True)
class Latency:
    """The latency code of one sample: ``[...] -> [num_steps, ...]``.

    ``num_steps`` >= 1; ``threshold`` in ``[0, 1)`` (and below 1 in float32): inputs are
    clipped to ``[0, 1]`` and ``x <= threshold`` never fires, so from 1 up nothing would fire,
    and every value below 0 would mean the same (every unit fires, 0 at the last step).
    """

    num_steps: int
    threshold: float = 0.01

    time_steps = property(lambda self: self.num_steps)
    random = False

    def __post_init__(self) -> None:
        _check_steps(self.num_steps)
        if not (0 <= self.threshold and _float32(self.threshold) < 1):  # also False for NaN
            raise ValueError(f"threshold must be in [0, 1), also in float32 (x is clipped to [0, 1] and x <= threshold "
                             f"never fires), got {self.threshold}")

    def __call__(self, xp: Any, x: Any, key: Any = None) -> Any:
        return latency_spikes(xp, x, self.num_steps, self.threshold)


@dataclasses.dataclass(frozen=True)
class Angle:
    """The angle code of one sample with a single time step: ``[...] -> [1, ..., neuron_count]``.

    ``neuron_count`` >= 1; ``min_val < max_val``, both finite float32 numbers (the code runs in
    float32: they must differ there too), and ``neuron_count / (max_val - min_val)``, the bins
    per unit, a normal float32 (a range narrower than about ``neuron_count * 3e-39`` or wider
    than about ``neuron_count * 8e37`` is refused).
    """

    neuron_count: int
    min_val: float
    max_val: float

    time_steps = 1
    random = False

    def __post_init__(self) -> None:
        if not isinstance(self.neuron_count, (int, np.integer)) or self.neuron_count < 1:
            raise ValueError(f"neuron_count must be a positive integer, got {self.neuron_count!r}")
        low, high = _float32(self.min_val), _float32(self.max_val)
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ValueError(f"min_val and max_val must be finite float32 numbers with min_val < max_val, "
                             f"got min_val={self.min_val}, max_val={self.max_val}")
        scale = self.neuron_count / (float(high) - float(low))
        if not _TINY <= scale <= float(np.finfo(np.float32).max):
            raise ValueError(f"[min_val, max_val] = [{self.min_val}, {self.max_val}] is too "
                             f"{'narrow' if scale > 1 else 'wide'} for {self.neuron_count} bins in float32")

    def __call__(self, xp: Any, x: Any, key: Any = None) -> Any:
        return angle_spikes(xp, x, self.neuron_count, self.min_val, self.max_val)[None]


def check_finite(data: np.ndarray, where: str) -> None:
    """Raise ``ValueError`` naming ``where`` and the first NaN position of ``data``."""
    nan = np.isnan(data)
    if nan.any():
        raise InputError(f"{where}: NaN at position {tuple(int(i) for i in np.argwhere(nan)[0])}")


def _float32(value: float) -> np.float32:
    """``value`` as float32: inf where it is beyond float32's range, NaN where it is not a number."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.float32(value)


def _check_steps(num_steps: int) -> None:
    if not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
