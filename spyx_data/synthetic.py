"""Format-exact synthetic Heidelberg data that stock tonic reads offline.

``write_shd(data_dir, "train", n)`` writes ``data_dir/SHD/shd_train.h5`` exactly as the real
dataset lays it out (vlen float16 ``spikes/times`` in seconds, vlen uint16 ``spikes/units``,
uint16 ``labels``, ``extra/keys``, ``extra/speaker``) plus the ``shd_train.h5.zip`` that tonic
only checks for, so ``tonic.datasets.SHD(data_dir)`` opens it without downloading.

Samples are learnable and realistic: each class has three "formant" tracks that sweep across
the 700 units along a class-specific path; a sample lasts 0.3-1.4 s and holds a few thousand
spikes scattered around those tracks, plus background noise and a per-speaker offset.
Everything is a pure function of ``(seed, split, index)``. Needs h5py (installed with tonic).
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from spyx_data.raster import HEIDELBERG_UNITS

SHD_FOLDER = "SHD"  # tonic stores a dataset under save_to/<class name>
SHD_NUM_CLASSES = 20
SHD_CLASS_NAMES = [f"english-{w}" for w in "zero one two three four five six seven eight nine".split()] + [
    f"german-{w}" for w in "null eins zwei drei vier fuenf sechs sieben acht neun".split()
]
SPLIT_IDS = {"train": 0, "test": 1, "valid": 2}
NUM_SPEAKERS = 12
GENERATOR = "spyx_data.synthetic/1"


def shd_path(data_dir: str, split: str) -> str:
    """Where tonic keeps an SHD split: ``data_dir/SHD/shd_<split>.h5``."""
    return os.path.join(data_dir, SHD_FOLDER, f"shd_{split}.h5")


def _class_tracks(num_classes: int) -> np.ndarray:
    """Per class, 3 formants x (start unit, end unit): float64 ``[num_classes, 3, 2]``."""
    rng = np.random.default_rng(1234)
    return rng.uniform(40, HEIDELBERG_UNITS - 40, size=(num_classes, 3, 2))


def audio_sample(
    seed: int, split: str, index: int, num_classes: int = SHD_NUM_CLASSES
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """One synthetic sample: ``(times float16 [n] s, units uint16 [n], label, speaker)``."""
    rng = np.random.default_rng([seed, SPLIT_IDS[split], index])
    label = int(rng.integers(num_classes))
    speaker = int(rng.integers(NUM_SPEAKERS))
    duration = rng.uniform(0.3, 1.4)
    n = int(rng.integers(2_000, 8_000))
    t = np.sort(rng.uniform(0.0, duration, n))
    formant = rng.integers(3, size=n)
    start, end = _class_tracks(num_classes)[label, formant].T
    centre = start + (end - start) * (t / duration) + (speaker - NUM_SPEAKERS / 2) * 4
    units = centre + rng.normal(0.0, 12.0, n)
    noise = rng.random(n) < 0.1
    units[noise] = rng.uniform(0, HEIDELBERG_UNITS, np.count_nonzero(noise))
    units = np.clip(np.round(units), 0, HEIDELBERG_UNITS - 1).astype(np.uint16)
    return t.astype(np.float16), units, label, speaker


def write_shd(data_dir: str, split: str, num_samples: int, seed: int = 0) -> str:
    """Write a synthetic SHD split where tonic looks for it; return the h5 path.

    The file carries ``synthetic``, ``num_samples`` and ``seed`` attributes (see
    :func:`synthetic_params`).
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    path = shd_path(data_dir, split)
    samples = [audio_sample(seed, split, i) for i in range(num_samples)]
    write_heidelberg(path, samples, {"synthetic": GENERATOR, "num_samples": num_samples, "seed": seed})
    return path


def write_heidelberg(
    path: str,
    samples: list[tuple[np.ndarray, np.ndarray, int, int]],
    attrs: dict | None = None,
    class_names: list[str] = SHD_CLASS_NAMES,
) -> None:
    """Write ``(times s, units, label, speaker)`` samples as a Heidelberg h5 file at ``path``.

    Times are stored as float16 and units as uint16, exactly as the published files. Also
    writes the ``path + ".zip"`` that tonic checks for. The h5 goes to a temporary name and is
    renamed, so a crash leaves no half-written file. Needs h5py.
    """
    import h5py

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        for name, column, dtype in (("spikes/times", 0, np.float16), ("spikes/units", 1, np.uint16)):
            data = _object_array([np.asarray(s[column], dtype=dtype) for s in samples])
            f.create_dataset(name, data=data, dtype=h5py.vlen_dtype(dtype))
        f.create_dataset("labels", data=np.array([s[2] for s in samples], dtype=np.uint16))
        f.create_dataset("extra/keys", data=np.array([k.encode() for k in class_names]))
        f.create_dataset("extra/speaker", data=np.array([s[3] for s in samples], dtype=np.uint16))
        f.attrs.update(attrs or {})
    os.replace(tmp, path)
    with zipfile.ZipFile(path + ".zip", "w"):  # tonic only checks that the archive exists
        pass


def synthetic_params(path: str) -> dict | None:
    """``{"num_samples", "seed"}`` of a synthetic file written by :func:`write_shd`, else None
    (missing file, or real data)."""
    import h5py

    if not os.path.exists(path):
        return None
    with h5py.File(path, "r") as f:
        if f.attrs.get("synthetic") != GENERATOR:
            return None
        return {"num_samples": int(f.attrs["num_samples"]), "seed": int(f.attrs["seed"])}


def _object_array(arrays: list[np.ndarray]) -> np.ndarray:
    out = np.empty(len(arrays), dtype=object)
    for i, a in enumerate(arrays):  # element-wise: a slice assignment would broadcast equal-length arrays
        out[i] = a
    return out
