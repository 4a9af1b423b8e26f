"""spyx.data's spike encoders and augmentation under its names: JAX functions and Grain transforms.

The maths lives once in :mod:`spyx_data.functional`; the JAX functions here run it with
``jax.numpy`` under ``jax.jit``, the Grain transforms with numpy on one record. For the same
key they give the same spikes (see :mod:`spyx_data.functional` for how keys work). The Grain
transforms are ``grain.MapTransform`` s with spyx.data's arguments and attributes, so that
``transform.map(record)`` works as it did; ``RateCode`` and ``ShiftAugment`` are also Grain
``RandomMap`` s, whose ``random_map(record, rng)`` :class:`~spyx_data.read.loader.GrainLoader` calls with
a per-record seeded generator, while ``map`` draws from a generator the transform owns (``seed=``).
They emit spyx.data's layouts: ``RateCode`` / ``LatencyCode`` time first and bit-packed along time
(``packed=False``: the dense 0/1 array), ``AngleCode`` the one-hot ``[..., neuron_count]``
(``packed=True``: one time step, packed). The encoders take dense input (values, not spikes);
of a build's records only the augmentation touches ``obs``, as stored: bit-packed binary
``[ceil(T/8), *dims]`` uint8, counts ``[T, *dims]`` uint16, float32 ``[T, *dims]``, each
shifted in its own type. Importing this module imports jax and grain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grain
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from spyx_data import functional as F
from spyx_data.format.records import pack_time


def rate_code(num_steps: int, max_r: float = 0.75):
    """Rate-code a batch: ``f(data, key)``: float ``[B, ...]`` in [0, 1] -> uint8 ``[B, num_steps, ...]``.

    Each step of each unit fires with probability ``clip(float32(data) * max_r, 0, 1)``. Unlike
    spyx.data, a new time axis is added after the batch axis (spyx.data's ``jnp.repeat(...,
    axis=1)`` interleaved copies along an existing axis) and probabilities are float32 (spyx.data
    drew in float16, rounding them to multiples of 1/1024). ``key``: a ``jax.random`` key; the
    whole batch draws from it. Jit-compiled. ``max_r`` must be in (0, 1] (``ValueError``
    otherwise, see :class:`spyx_data.functional.Rate`).
    """
    F.Rate(num_steps, max_r)

    def _call(data, key):
        return F.rate_spikes(jnp, data, F.key_words(key), num_steps, max_r)

    return jax.jit(_call)


def latency_code(num_steps: int, threshold: float = 0.01):
    """Time-to-first-spike code: ``f(data)``: float ``[...]`` -> uint8 ``[num_steps, ...]``.

    As spyx.data: ``x = clip(data, 0, 1)`` fires once at ``t = round((1 - x) * (num_steps - 1))``,
    so larger values fire earlier, and ``x <= threshold`` never fires. NaN input raises
    ``checkify.JaxRuntimeError`` (spyx.data's Grain version raised IndexError); the check waits
    for the result. Jit-compiled. ``threshold`` must be in [0, 1) (``ValueError`` otherwise, see
    :class:`spyx_data.functional.Latency`).
    """
    F.Latency(num_steps, threshold)

    def _core(data):
        checkify.check(~jnp.any(jnp.isnan(jnp.asarray(data, jnp.float32))), "latency_code: NaN in the input")
        return F.latency_spikes(jnp, data, num_steps, threshold)

    checked = jax.jit(checkify.checkify(_core))

    def _call(data):
        error, spikes = checked(data)
        error.throw()
        return spikes

    return _call


def angle_code(neuron_count: int, min_val: float, max_val: float):
    """Angle (population) code: ``f(obs)``: ``[...]`` -> uint8 one-hot ``[..., neuron_count]``.

    ``[min_val, max_val]`` is cut into ``neuron_count`` equal bins, so every neuron is reachable
    (spyx.data's top neuron fired only at ``x >= max_val``); values outside go to the end
    neurons. Returns uint8 (spyx.data: float32). Jit-compiled. ``min_val < max_val``, both finite
    float32 numbers (``ValueError`` otherwise, see :class:`spyx_data.functional.Angle`).
    """
    F.Angle(neuron_count, min_val, max_val)

    def _call(obs):
        return F.angle_spikes(jnp, obs, neuron_count, min_val, max_val)

    return jax.jit(_call)


def shift_augment(max_shift: int = 10, axes: Sequence[int] = (-1,), per_sample: bool = False, mode: str = "roll"):
    """Random shift: ``f(data, rng)`` shifts ``data`` along ``axes`` by amounts uniform over
    ``[-max_shift, max_shift]``, both ends included (spyx.data excluded ``+max_shift``).

    ``per_sample``: axis 0 is the batch axis and each sample gets its own shifts (spyx.data: one
    shift for the batch). ``mode="roll"`` wraps around as spyx.data; ``"zero"`` fills the
    vacated positions with zeros (right for cochlear channels). Works on packed data when
    ``axes`` avoid the packed time axis; on counts and float32 data (time not packed) along any
    axis. The type is kept. ``rng``: a ``jax.random`` key. Jit-compiled.
    """
    if mode not in F.MODES:
        raise ValueError(f"mode must be one of {F.MODES}, got {mode!r}")
    if max_shift < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift}")
    axes = tuple(axes)

    def _shift(data, rng):
        return F.shifted(jnp, data, F.key_words(rng), max_shift, axes, per_sample, mode)

    return jax.jit(_shift)


def shuffler(dataset: Sequence[Any], batch_size: int):
    """Build ``f(dataset, rng)`` that shuffles samples and cuts them into batches.

    ``dataset`` is a tuple of arrays that share their leading sample axes: ``(obs, labels)``
    with ``labels`` ``[N]``, or as :func:`spyx_data.prestage` returns them,
    ``[n_batches, B, ...]`` (``labels`` decides how many leading axes are samples); a mask may
    come along. Every array is permuted with the same indices, so they stay aligned, and cut to
    ``[N // batch_size, batch_size, ...]`` (the remainder is dropped each time, a different one
    each shuffle). ``rng``: a ``jax.random`` key. Jit-compiled.
    """
    labels = dataset[1]
    lead = labels.ndim
    n = int(np.prod(labels.shape))
    cutoff = n // batch_size * batch_size
    if cutoff == 0:
        raise ValueError(f"{n} samples make no batch of {batch_size}")

    def _shuffle(dataset, shuffle_rng):
        order = jax.random.permutation(shuffle_rng, n)[:cutoff]
        flat = [a.reshape((n,) + a.shape[lead:]) for a in dataset]
        return tuple(a[order].reshape((-1, batch_size) + a.shape[1:]) for a in flat)

    return jax.jit(_shuffle)


def _emit(spikes: np.ndarray, packed: bool) -> np.ndarray:
    return pack_time(spikes) if packed else spikes


class _RandomTransform(grain.transforms.Map, grain.transforms.RandomMap):
    """A Grain ``RandomMap`` that spyx.data code can also call as its ``MapTransform``:
    ``map(record)`` draws from the transform's own generator, ``numpy.random.default_rng(seed)``
    (``seed=None``: fresh entropy, so different every run, as spyx.data's global ``np.random``;
    an integer: the same draws every run, in the order ``map`` is called)."""

    def __init__(self, seed: int | None):
        # Private: a GrainLoader draws from its own generators, so its state leaves this one out.
        self._rng = np.random.default_rng(seed)

    def map(self, record: dict) -> dict:
        return self.random_map(record, self._rng)


class RateCode(_RandomTransform):
    """Grain transform: ``record[input_key]`` float ``[...]`` (any shape, values in [0, 1]) ->
    rate-coded spikes, uint8 ``[ceil(sample_T/8), ...]`` packed (``packed=False``:
    ``[sample_T, ...]``), in ``record[output_key]``.

    In a :class:`~spyx_data.read.loader.GrainLoader` the key comes from Grain's per-record generator,
    so the spikes are a pure function of the pipeline seed and the record index; ``map`` draws
    from the transform's own generator (``seed``). spyx.data used the global ``np.random``.
    """

    def __init__(self, sample_T: int, max_r: float = 0.75, input_key: str = "obs", output_key: str = "obs",
                 packed: bool = True, seed: int | None = None):
        super().__init__(seed)
        self._encoder = F.Rate(sample_T, max_r)
        self.sample_T, self.max_r = sample_T, max_r
        self.input_key, self.output_key, self.packed = input_key, output_key, packed

    def random_map(self, record: dict, rng: np.random.Generator) -> dict:
        key = rng.integers(0, 2**32, size=2, dtype=np.uint32)
        spikes = self._encoder(np, np.asarray(record[self.input_key]), key)
        return {**record, self.output_key: _emit(spikes, self.packed)}


class LatencyCode(grain.transforms.Map):
    """Grain transform: time-to-first-spike code of ``record[input_key]`` (any shape) into
    ``record[output_key]``, uint8 packed ``[ceil(sample_T/8), ...]`` (or ``[sample_T, ...]``).

    NaN input raises ``ValueError`` naming the record's ``index`` and position.
    """

    def __init__(self, sample_T: int, threshold: float = 0.01, input_key: str = "obs", output_key: str = "obs",
                 packed: bool = True):
        self._encoder = F.Latency(sample_T, threshold)
        self.sample_T, self.threshold = sample_T, threshold
        self.input_key, self.output_key, self.packed = input_key, output_key, packed

    def map(self, record: dict) -> dict:
        data = np.asarray(record[self.input_key], dtype=np.float32)
        F.check_finite(data, f"LatencyCode: record {record.get('index', '?')}")
        return {**record, self.output_key: _emit(self._encoder(np, data), self.packed)}


class AngleCode(grain.transforms.Map):
    """Grain transform: angle code of ``record[input_key]`` ``[...]`` into ``record[output_key]``:
    uint8 one-hot ``[..., neuron_count]`` as spyx.data (``packed=True``: as one time step of the
    shards' layout, ``[1, ..., neuron_count]`` packed)."""

    def __init__(self, neuron_count: int, min_val: float, max_val: float, input_key: str = "obs",
                 output_key: str = "obs", packed: bool = False):
        self._encoder = F.Angle(neuron_count, min_val, max_val)
        self.neuron_count, self.min_val, self.max_val = neuron_count, min_val, max_val
        self.input_key, self.output_key, self.packed = input_key, output_key, packed

    def map(self, record: dict) -> dict:
        spikes = self._encoder(np, np.asarray(record[self.input_key]))
        return {**record, self.output_key: pack_time(spikes) if self.packed else spikes[0]}


class ShiftAugment(_RandomTransform):
    """Grain transform: shift ``record[input_key]`` along ``axes`` (axes of the record's array)
    by amounts uniform over ``[-max_shift, max_shift]``; ``mode`` ``"roll"`` or ``"zero"``. The
    shape is kept.

    Draws like ``shift_augment(..., per_sample=True)`` on a batch of this one record, with the
    key from Grain's per-record generator in a :class:`~spyx_data.read.loader.GrainLoader`, and from
    the transform's own generator (``seed``) in ``map``. Works on packed (binary) ``obs`` along
    any axis but time, on counts and float32 ``obs`` (``[T, *dims]``) along any axis; the type
    is kept.
    """

    def __init__(self, max_shift: int = 10, axes: Sequence[int] = (-1,), input_key: str = "obs",
                 mode: str = "roll", seed: int | None = None):
        if mode not in F.MODES:
            raise ValueError(f"mode must be one of {F.MODES}, got {mode!r}")
        super().__init__(seed)
        self.max_shift, self.axes, self.input_key, self.mode = max_shift, tuple(axes), input_key, mode

    def random_map(self, record: dict, rng: np.random.Generator) -> dict:
        key = rng.integers(0, 2**32, size=2, dtype=np.uint32)
        data = np.asarray(record[self.input_key])[None]
        axes = [a if a < 0 else a + 1 for a in self.axes]
        shifted = F.shifted(np, data, key, self.max_shift, axes, True, self.mode)[0]
        return {**record, self.input_key: shifted}
