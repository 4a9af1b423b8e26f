"""N-MNIST: 5-byte ATIS recordings, one folder per digit (``Train/3/00012.bin`` has label 3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from spyx_data.builder import events, fixtures
from spyx_data.builder.camera import SampleFiles

#: tonic's class names of N-MNIST and S-MNIST (label k is digit k).
CLASSES = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
           "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine")


def label(parts: tuple[str, ...], classes: tuple[str, ...]) -> int:
    """The digit folder's name."""
    return int(parts[-2])


FILES = SampleFiles(".bin", events.atis_bin_chunks, label)


def fixture(info: Any, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Synthetic recordings laid out as N-MNIST's: ``<digit>/<index>.bin``."""
    width, height, _ = info.sensor
    for i, digit, ev in fixtures.class_recordings(info.name, split, n, seed, len(info.classes), (width, height),
                                                  info.duration_ms * 1000):
        yield (str(digit), f"{i:05d}.bin"), fixtures.encode_atis_bin(*ev)
