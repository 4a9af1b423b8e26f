"""N-MNIST: 5-byte ATIS recordings, one folder per digit (``Train/3/00012.bin`` has label 3)."""

from __future__ import annotations

from collections.abc import Iterator

from spyx_data.builder import camera, events, fixtures
from spyx_data.builder.camera import SampleFiles
from spyx_data.builder.dataset import DatasetInfo

#: tonic's class names of N-MNIST and S-MNIST (label k is digit k).
CLASSES = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
           "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine")


def label(parts: tuple[str, ...], classes: tuple[str, ...]) -> int:
    """The digit folder's name."""
    return int(camera.class_folder(parts))


FILES = SampleFiles(".bin", events.atis_bin_chunks, label)


def fixture(info: DatasetInfo, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Synthetic recordings laid out as N-MNIST's: ``<digit>/<index>.bin``."""
    width, height, _ = info.sensor
    for i, digit, ev in fixtures.class_recordings(info.name, split, n, seed, len(info.classes), (width, height),
                                                  info.duration_ms * 1000):
        yield (str(digit), f"{i:05d}.bin"), fixtures.encode_atis_bin(*ev)


DATASET = DatasetInfo(
    name="nmnist",
    tonic_class="NMNIST",
    tonic_kwargs={"train": {"train": True}, "test": {"train": False}},
    locations={"train": "NMNIST/Train", "test": "NMNIST/Test"},
    archives={"train": "NMNIST/train.zip", "test": "NMNIST/test.zip"},
    sensor=(34, 34, 2),
    classes=CLASSES,
    sample_T=40,
    duration_ms=300,
    family=camera.CameraSpec,
    options=("spatial_factor", "merge_polarity", "first_saccade_only"),
    files=FILES,
    fixture=fixture,
)
