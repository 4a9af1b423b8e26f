"""DVSGesture (tonic's preprocessed version): ``[n, 4]`` ``.npy`` recordings of columns x, y,
p, t (milliseconds), one per gesture and user session (``user01_led/7.npy`` has label 7)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from spyx_data.builder import camera, events, fixtures
from spyx_data.builder.camera import SampleFiles
from spyx_data.builder.dataset import DatasetInfo

LIGHTING = ("fluorescent", "fluorescent_led", "lab", "led", "natural")


def decode(path: str, where: str, max_events: int) -> Iterator[events.Events]:
    return events.npy_column_chunks(path, where, max_events, "xypt", 1000)  # times stored in ms


def label(parts: tuple[str, ...], classes: tuple[str, ...]) -> int:
    """The file's stem."""
    return int(parts[-1].rsplit(".", 1)[0])


FILES = SampleFiles(".npy", decode, label)


def fixture(info: DatasetInfo, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Synthetic recordings laid out as DVSGesture's: ``user<NN>_<lighting>/<label>.npy``."""
    width, height, _ = info.sensor
    classes = len(info.classes)
    for i, gesture, (t, x, y, p) in fixtures.class_recordings(info.name, split, n, seed, classes, (width, height),
                                                              info.duration_ms * 1000):
        user, lighting = divmod(i // classes, len(LIGHTING))
        ms = np.stack([x, y, p, t // 1000], axis=1)
        yield (f"user{user + 1:02d}_{LIGHTING[lighting]}", f"{gesture}.npy"), fixtures.npy_bytes(ms)


DATASET = DatasetInfo(
    name="dvsgesture",
    tonic_class="DVSGesture",
    tonic_kwargs={"train": {"train": True}, "test": {"train": False}},
    locations={"train": "DVSGesture/ibmGestureTrain", "test": "DVSGesture/ibmGestureTest"},
    archives={"train": "DVSGesture/ibmGestureTrain.tar.gz", "test": "DVSGesture/ibmGestureTest.tar.gz"},
    sensor=(128, 128, 2),
    classes=("Hand clapping", "Right hand wave", "Left hand wave", "Right arm cw", "Right arm ccw",
             "Left arm cw", "Left arm ccw", "Arm roll", "Air drums", "Air guitar", "Other gestures"),
    sample_T=60,
    duration_ms=6000,
    family=camera.CameraSpec,
    options=("spatial_factor", "merge_polarity"),
    files=FILES,
    fixture=fixture,
)
