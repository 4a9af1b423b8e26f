"""POKERDVS: ``[n, 4]`` ``.npy`` recordings of columns t, x, y, p in folders whose names end in
the class code (``pips_train/cl/...``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from spyx_data.builder import events, fixtures
from spyx_data.builder.camera import SampleFiles


def decode(path: str, where: str, max_events: int) -> Iterator[events.Events]:
    return events.npy_column_chunks(path, where, max_events, "txyp", 1)


def label(parts: tuple[str, ...], classes: tuple[str, ...]) -> int:
    """The class code its folder's name ends with."""
    return classes.index(parts[-2][-2:])


FILES = SampleFiles(".npy", decode, label)


def fixture(info: Any, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Synthetic recordings laid out as POKERDVS's: ``<class>/<class>_<index>.npy``."""
    width, height, _ = info.sensor
    for i, suit, (t, x, y, p) in fixtures.class_recordings(info.name, split, n, seed, len(info.classes),
                                                           (width, height), info.duration_ms * 1000):
        name = info.classes[suit]
        yield (name, f"{name}_{i:04d}.npy"), fixtures.npy_bytes(np.stack([t, x, y, p], axis=1))
