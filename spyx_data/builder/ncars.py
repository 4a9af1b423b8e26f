"""N-CARS (Sironi et al., CVPR 2018, by Prophesee): cars and background seen from a car, 100 ms
clips of an ATIS camera on 120 x 100 pixels after the dataset's crops, one Prophesee DAT file per
clip (``n-cars_train/cars/obj_004396_td.dat``), read with ``expelliarmus`` as tonic reads
Prophesee files. tonic has no class for it: the folders are the published archive's
(``Prophesee_Dataset_n_cars.zip`` holds ``n-cars_train.zip`` and ``n-cars_test.zip``: 15,422
and 8,607 clips) and the labels their class folders in that order, background 0 and cars 1.

A clip's timestamps count from the clip's own start, not from a camera clock (its readers,
tonic's unreleased ``NCARS`` among them, take them as stored), so each window starts at time 0
of its file and, by default, is the clip's 100 ms in 10 bins of 10 ms. Events at or after
100 ms are dropped and counted (``dropped_outside_window``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import numpy as np

from spyx_data.builder import camera, events, fixtures
from spyx_data.builder.dataset import DatasetInfo

CLASSES = ("background", "cars")

FILES = camera.SampleFiles(".dat", events.prophesee_chunks, camera.parent_folder)


def fixture(info: DatasetInfo, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Synthetic clips laid out as N-CARS's, ``<class>/obj_<index>_td.dat``, written by
    ``expelliarmus`` as Prophesee DAT files, timed from the clip's start."""
    import expelliarmus

    width, height, _ = info.sensor
    for i, k, (t, x, y, p) in fixtures.class_recordings(info.name, split, n, seed, len(CLASSES), (width, height),
                                                        info.duration_ms * 1000):
        clip = np.zeros(len(t), dtype=[("t", np.int64), ("x", np.int16), ("y", np.int16), ("p", np.uint8)])
        clip["t"], clip["x"], clip["y"], clip["p"] = t, x, y, p
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "clip.dat")
            expelliarmus.Wizard(encoding="dat").save(path, clip)
            with open(path, "rb") as f:
                yield (CLASSES[k], f"obj_{i:06d}_td.dat"), f.read()


DATASET = DatasetInfo(
    name="ncars",
    locations={"train": "NCARS/n-cars_train", "test": "NCARS/n-cars_test"},
    sensor=(120, 100, 2),
    classes=CLASSES,
    sample_T=10,
    duration_ms=100,
    family=camera.CameraSpec,
    options=("spatial_factor", "merge_polarity"),
    files=FILES,
    fixture=fixture,
    unfetchable="N-CARS is not in tonic: download Prophesee_Dataset_n_cars.zip from Prophesee "
    "(https://www.prophesee.ai/2018/03/13/dataset-n-cars/) and extract the n-cars_{split}.zip it holds into {folder}",
)
