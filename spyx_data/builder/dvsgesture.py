"""DVSGesture (tonic's preprocessed version): ``[n, 4]`` ``.npy`` recordings of columns x, y,
p, t (milliseconds), one per gesture and user session (``user01_led/7.npy`` has label 7)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from spyx_data.builder import events, fixtures
from spyx_data.builder.camera import SampleFiles

LIGHTING = ("fluorescent", "fluorescent_led", "lab", "led", "natural")


def decode(path: str, where: str, max_events: int) -> Iterator[events.Events]:
    return events.npy_column_chunks(path, where, max_events, "xypt", 1000)  # times stored in ms


def label(parts: tuple[str, ...], classes: tuple[str, ...]) -> int:
    """The file's stem."""
    return int(parts[-1].rsplit(".", 1)[0])


FILES = SampleFiles(".npy", decode, label)


def fixture(info: Any, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Synthetic recordings laid out as DVSGesture's: ``user<NN>_<lighting>/<label>.npy``."""
    width, height, _ = info.sensor
    classes = len(info.classes)
    for i, gesture, (t, x, y, p) in fixtures.class_recordings(info.name, split, n, seed, classes, (width, height),
                                                              info.duration_ms * 1000):
        user, lighting = divmod(i // classes, len(LIGHTING))
        ms = np.stack([x, y, p, t // 1000], axis=1)
        yield (f"user{user + 1:02d}_{LIGHTING[lighting]}", f"{gesture}.npy"), fixtures.npy_bytes(ms)
