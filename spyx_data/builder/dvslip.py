"""DVS-Lip: structured ``.npy`` recordings (fields ``x``, ``y``, ``p``, ``t`` in microseconds)
in word folders (``train/accused/0.npy``); labels are the word's position in tonic's list.
The clips are cut from longer recordings, so each is timed from its first event."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from spyx_data.builder import camera, events, fixtures
from spyx_data.builder.camera import FIRST_EVENT, SampleFiles
from spyx_data.builder.dataset import DatasetInfo

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

#: Labelled by the position of its word folder's name in tonic's list.
FILES = SampleFiles(".npy", events.npy_structured_chunks, camera.parent_folder, time_origin=FIRST_EVENT)


def fixture(info: DatasetInfo, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Synthetic recordings laid out as DVS-Lip's: ``<word>/<index>.npy``, structured arrays
    whose times start partway into a longer recording."""
    width, height, _ = info.sensor
    for i, k, (t, x, y, p) in fixtures.class_recordings(info.name, split, n, seed, len(CLASSES), (width, height),
                                                        info.duration_ms * 1000):
        array = np.zeros(len(t), dtype=DTYPE)
        array["x"], array["y"], array["p"], array["t"] = x, y, p, t + 20_000_000 + 1_500_000 * i
        yield (CLASSES[k], f"{i}.npy"), fixtures.npy_bytes(array)


DATASET = DatasetInfo(
    name="dvslip",
    tonic_class="DVSLip",
    tonic_kwargs={"train": {"train": True}, "test": {"train": False}},
    locations={"train": "DVSLip/DVS-Lip/train", "test": "DVSLip/DVS-Lip/test"},
    archives={"train": "DVSLip/DVS-Lip.zip", "test": "DVSLip/DVS-Lip.zip"},
    sensor=(128, 128, 2),
    classes=CLASSES,
    sample_T=30,
    duration_ms=1200,
    family=camera.CameraSpec,
    options=("spatial_factor", "merge_polarity"),
    files=FILES,
    fixture=fixture,
    unfetchable="DVS-Lip is on Google Drive, which tonic 1.7 does not download from: download {archive} from "
    "https://drive.google.com/file/d/1dBEgtmctTTWJlWnuWxFtk8gfOdVVpkQ0/view and extract it into {folder}",
)
