"""CIFAR10-DVS: AEDAT4 recordings in class folders (``airplane/cifar10_airplane_0.aedat4``),
decoded with the ``aedat`` package as tonic does. Timestamps are absolute clock microseconds:
each recording is timed from its first event."""

from __future__ import annotations

from collections.abc import Iterator

from spyx_data.builder import camera, events, fixtures
from spyx_data.builder.camera import FIRST_EVENT, SampleFiles
from spyx_data.builder.dataset import DatasetInfo

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
#: When the synthetic recordings start: an absolute clock time, as in the real files (2017, in us).
FIXTURE_CLOCK_US = 1_490_000_000_000_000

#: Labelled by the position of its folder among tonic's classes.
FILES = SampleFiles(".aedat4", events.aedat4_chunks, camera.parent_folder, time_origin=FIRST_EVENT)


def fixture(info: DatasetInfo, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Synthetic recordings laid out as CIFAR10-DVS's, written by ``faery`` as AEDAT4 with
    absolute timestamps (each starting at a different clock time)."""
    width, height, _ = info.sensor
    for i, k, (t, x, y, p) in fixtures.class_recordings(info.name, split, n, seed, len(CLASSES), (width, height),
                                                        info.duration_ms * 1000):
        start = FIXTURE_CLOCK_US + i * 7_919_000
        data = fixtures.faery_bytes(t + start, x, y, p, (width, height), ".aedat4")
        yield (CLASSES[k], f"cifar10_{CLASSES[k]}_{i}.aedat4"), data


DATASET = DatasetInfo(
    name="cifar10dvs",
    tonic_class="CIFAR10DVS",
    tonic_kwargs={"train": {}, "test": {}},
    locations={"train": "CIFAR10DVS", "test": "CIFAR10DVS"},
    archives={"train": "CIFAR10DVS/CIFAR10DVS.zip", "test": "CIFAR10DVS/CIFAR10DVS.zip"},
    sensor=(128, 128, 2),
    classes=CLASSES,
    sample_T=10,
    duration_ms=1300,
    family=camera.CameraSpec,
    options=("spatial_factor", "merge_polarity", "split_seed", "test_fraction", "split"),
    files=FILES,
    fixture=fixture,
    seeded_test_fraction=0.1,
)
