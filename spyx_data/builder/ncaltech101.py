"""N-Caltech101: ATIS recordings in class folders (``airplanes/image_0001.bin``), recentred as
tonic does; labels are the positions of the class folders sorted (tonic's are their names)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from spyx_data.builder import events, fixtures
from spyx_data.builder.camera import SampleFiles

#: Class folders of the synthetic data (a few real ones; labels are their sorted order).
FIXTURE_CLASSES = ("BACKGROUND_Google", "Faces_easy", "accordion", "airplanes", "anchor")


def label(parts: tuple[str, ...], classes: tuple[str, ...]) -> int:
    """The position of the recording's folder among the class folders."""
    return classes.index(parts[-2])


FILES = SampleFiles(".bin", events.atis_bin_chunks, label, recentre=True)


def fixture(info: Any, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Synthetic recordings laid out as N-Caltech101's, of different sizes as the real ones."""
    width, height, _ = info.sensor
    for i in range(n):
        label_ = i % len(FIXTURE_CLASSES)
        extent = (width - 7 * (i % 5), height - 5 * (i % 3))
        ev = fixtures.camera_sample(seed, info.name, split, i, label_, extent, info.duration_ms * 1000)
        yield (FIXTURE_CLASSES[label_], f"image_{i:04d}.bin"), fixtures.encode_atis_bin(*ev)
