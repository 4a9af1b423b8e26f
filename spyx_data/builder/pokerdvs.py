"""POKERDVS: ``[n, 4]`` ``.npy`` recordings of columns t, x, y, p in folders whose names end in
the class code (``pips_train/cl/...``)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from spyx_data.builder import camera, events, fixtures
from spyx_data.builder.camera import SampleFiles
from spyx_data.builder.dataset import DatasetInfo


def decode(path: str, where: str, max_events: int) -> Iterator[events.Events]:
    return events.npy_column_chunks(path, where, max_events, "txyp", 1)


def label(parts: tuple[str, ...], classes: tuple[str, ...]) -> int:
    """The class code its folder's name ends with."""
    return classes.index(camera.class_folder(parts)[-2:])


FILES = SampleFiles(".npy", decode, label)


def fixture(info: DatasetInfo, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Synthetic recordings laid out as POKERDVS's: ``<class>/<class>_<index>.npy``."""
    width, height, _ = info.sensor
    for i, suit, (t, x, y, p) in fixtures.class_recordings(info.name, split, n, seed, len(info.classes),
                                                           (width, height), info.duration_ms * 1000):
        name = info.classes[suit]
        yield (name, f"{name}_{i:04d}.npy"), fixtures.npy_bytes(np.stack([t, x, y, p], axis=1))


DATASET = DatasetInfo(
    name="pokerdvs",
    tonic_class="POKERDVS",
    tonic_kwargs={"train": {"train": True}, "test": {"train": False}},
    locations={"train": "POKERDVS/pips_train", "test": "POKERDVS/pips_test"},
    archives={"train": "POKERDVS/pips_train.tar.gz", "test": "POKERDVS/pips_test.tar.gz"},
    sensor=(35, 35, 2),
    classes=("cl", "he", "di", "sp"),
    sample_T=30,
    duration_ms=30,
    family=camera.CameraSpec,
    options=("spatial_factor", "merge_polarity"),
    files=FILES,
    fixture=fixture,
    unfetchable="tonic 1.7 copies POKERDVS from an archive in its own source tree, which its wheel does not ship: "
    "take {archive} from tonic's repository (tonic/datasets/{archive}) and extract it into {folder}",
)
