"""ASL-DVS: one MATLAB ``.mat`` file per recording (``ts``, ``x``, ``y``, ``pol`` column
vectors) in letter folders (``a/a_0001.mat``), read with scipy; ``y`` is flipped as tonic flips
it (``179 - y``), and each recording is timed from its first event."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np

from spyx_data.builder import camera, fixtures
from spyx_data.builder.camera import FIRST_EVENT, SampleFiles
from spyx_data.builder.dataset import DatasetInfo
from spyx_data.builder.events import Events, whole_file
from spyx_data.errors import InputError

CLASSES = tuple("abcdefghijklmnopqrstuvwxyz")
HEIGHT = 180
#: The 116-byte text header of the synthetic MAT 5 files.
MAT_HEADER = b"MATLAB 5.0 MAT-file, written by spyx-data as a synthetic ASL-DVS recording".ljust(116)


def read(path: str, where: str) -> Events:
    """``(ts, x, 179 - y, pol)`` of the file, as tonic's ``ASLDVS`` gives them (scipy reads a
    MAT file whole: a recording is held whole while it is decoded)."""
    import scipy.io

    try:
        with open(path, "rb") as f:
            mat = scipy.io.loadmat(f)
        columns = [np.asarray(mat[k]).ravel().astype(np.int64) for k in ("ts", "x", "y", "pol")]
    except (OSError, ValueError, TypeError, KeyError, NotImplementedError) as e:  # scipy: OSError if truncated
        raise InputError(f"{where}: not an ASL-DVS .mat file with ts, x, y, pol ({type(e).__name__}: {e})") from e
    t, x, y, p = columns
    return Events(t, x, HEIGHT - 1 - y, p)


def label(parts: tuple[str, ...], classes: tuple[str, ...]) -> int:
    """The letter its folder's name ends with (tonic reads the last character of the path)."""
    return classes.index(camera.class_folder(parts)[-1])


FILES = SampleFiles(".mat", whole_file(read), label, time_origin=FIRST_EVENT)


def fixture(info: DatasetInfo, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Synthetic recordings laid out as ASL-DVS's: ``<letter>/<letter>_<index>.mat``, written by
    scipy with the published files' types, timestamps not starting at 0."""
    import scipy.io

    width, height, _ = info.sensor
    for i, k, (t, x, y, p) in fixtures.class_recordings(info.name, split, n, seed, len(CLASSES), (width, height),
                                                        info.duration_ms * 1000):
        buffer = io.BytesIO()
        columns = {"ts": t + 3_000_000 + 1_000 * i, "x": x, "y": HEIGHT - 1 - y, "pol": p}
        scipy.io.savemat(buffer, {k: np.asarray(v).astype(np.int32 if k == "ts" else np.uint8)
                                  for k, v in columns.items()}, oned_as="column")
        data = buffer.getvalue()  # its text header says when it was written: made constant
        yield (CLASSES[k], f"{CLASSES[k]}_{i:04d}.mat"), MAT_HEADER + data[len(MAT_HEADER):]


DATASET = DatasetInfo(
    name="asldvs",
    tonic_class="ASLDVS",
    tonic_kwargs={"train": {}, "test": {}},
    locations={"train": "ASLDVS", "test": "ASLDVS"},
    archives={"train": "ASLDVS/ASLDVS.zip", "test": "ASLDVS/ASLDVS.zip"},
    sensor=(240, HEIGHT, 2),
    classes=CLASSES,
    sample_T=10,
    duration_ms=100,
    family=camera.CameraSpec,
    options=("spatial_factor", "merge_polarity", "split_seed", "test_fraction", "split"),
    files=FILES,
    fixture=fixture,
    seeded_test_fraction=0.2,
)
