"""DVS-Lip: structured ``.npy`` recordings (fields ``x``, ``y``, ``p``, ``t`` in microseconds)
in word folders (``train/accused/0.npy``); labels are the word's position in tonic's list.
The clips are cut from longer recordings, so each is timed from its first event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from spyx_data.builder import events, fixtures
from spyx_data.builder.camera import FIRST_EVENT, SampleFiles

CLASSES = tuple(
    "accused action allow allowed america american another around attacks banks become being benefit benefits "
    "between billion called capital challenge change chief couple court death described difference different "
    "during economic education election england evening everything exactly general germany giving ground happen "
    "happened having heavy house hundreds immigration judge labour leaders legal little london majority meeting "
    "military million minutes missing needs number numbers paying perhaps point potential press price question "
    "really right russia russian saying security several should significant spend spent started still support "
    "syria syrian taken taking terms these thing think times tomorrow under warning water welcome words worst "
    "years young".split()
)
#: The published files' record type.
DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("p", np.int8), ("t", np.int64)])


def label(parts: tuple[str, ...], classes: tuple[str, ...]) -> int:
    """The position of the word folder's name in tonic's list."""
    return classes.index(parts[-2])


FILES = SampleFiles(".npy", events.npy_structured_chunks, label, time_origin=FIRST_EVENT)


def fixture(info: Any, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Synthetic recordings laid out as DVS-Lip's: ``<word>/<index>.npy``, structured arrays
    whose times start partway into a longer recording."""
    width, height, _ = info.sensor
    for i, k, (t, x, y, p) in fixtures.class_recordings(info.name, split, n, seed, len(CLASSES), (width, height),
                                                        info.duration_ms * 1000):
        array = np.zeros(len(t), dtype=DTYPE)
        array["x"], array["y"], array["p"], array["t"] = x, y, p, t + 20_000_000 + 1_500_000 * i
        yield (CLASSES[k], f"{i}.npy"), fixtures.npy_bytes(array)
