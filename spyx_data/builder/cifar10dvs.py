"""CIFAR10-DVS: AEDAT4 recordings in class folders (``airplane/cifar10_airplane_0.aedat4``),
decoded with the ``aedat`` package as tonic does. Timestamps are absolute clock microseconds:
each recording is timed from its first event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from spyx_data.builder import events, fixtures
from spyx_data.builder.camera import FIRST_EVENT, SampleFiles

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
#: When the synthetic recordings start: an absolute clock time, as in the real files (2017, in us).
FIXTURE_CLOCK_US = 1_490_000_000_000_000


def label(parts: tuple[str, ...], classes: tuple[str, ...]) -> int:
    """The position of the recording's folder among tonic's classes."""
    return classes.index(parts[-2])


FILES = SampleFiles(".aedat4", events.aedat4_chunks, label, time_origin=FIRST_EVENT)


def fixture(info: Any, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Synthetic recordings laid out as CIFAR10-DVS's, written by ``faery`` as AEDAT4 with
    absolute timestamps (each starting at a different clock time)."""
    width, height, _ = info.sensor
    for i, k, (t, x, y, p) in fixtures.class_recordings(info.name, split, n, seed, len(CLASSES), (width, height),
                                                        info.duration_ms * 1000):
        start = FIXTURE_CLOCK_US + i * 7_919_000
        data = fixtures.faery_bytes(t + start, x, y, p, (width, height), ".aedat4")
        yield (CLASSES[k], f"cifar10_{CLASSES[k]}_{i}.aedat4"), data
