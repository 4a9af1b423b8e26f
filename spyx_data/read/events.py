"""A batch of samples' events as the readers hand them to the accelerator: :class:`EventBatch`.

The on-device rasteriser and the event-space augmentations take and give this one form, so
they compose (augment, then rasterise) inside one jitted function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np


class EventBatch(NamedTuple):
    """``B`` samples' events, padded to ``N`` per sample: every field ``[B, N]`` (numpy or JAX).

    Attributes:
        t: int32 microseconds from the sample's time origin.
        x, y, p: int32; a camera's pixel column, row and polarity; for a spike train ``x`` is the
            input unit and ``y``, ``p`` are 0.
        valid: bool; the sample's events are those where it holds, in their order (the stored
            order: time order for every dataset but S-MNIST's duplicated spikes); the rest is
            padding (any values).
    """

    t: Any
    x: Any
    y: Any
    p: Any
    valid: Any


def pad(samples: Sequence[Sequence[np.ndarray]], length: int | None = None) -> EventBatch:
    """``samples`` (each ``(t, x, y, p)`` 1-D arrays of one sample's events, in order) as one
    numpy :class:`EventBatch`, padded with zeros to ``length`` events (default the longest).

    Raises:
        ValueError: a sample longer than ``length``, or columns of different lengths.
    """
    sizes = [len(s[0]) for s in samples]
    for i, columns in enumerate(samples):
        if len(columns) != 4 or any(len(c) != sizes[i] for c in columns):
            raise ValueError(f"sample {i}: give t, x, y, p of equal lengths")
    n = max(sizes, default=0) if length is None else length
    if sizes and max(sizes) > n:
        raise ValueError(f"a sample of {max(sizes)} events does not fit {n}")
    fields = [np.zeros((len(samples), n), np.int32) for _ in range(4)]
    for i, columns in enumerate(samples):
        for field, column in zip(fields, columns):
            field[i, : sizes[i]] = column
    valid = np.arange(n)[None, :] < np.asarray(sizes, dtype=np.int64)[:, None]
    return EventBatch(*fields, valid.reshape(len(samples), n))
