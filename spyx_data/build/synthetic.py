"""Format-exact synthetic data for every registry dataset, which stock tonic reads offline.

``write(name, data_dir, split, n)`` lays out ``n`` recordings exactly where and how tonic
expects that dataset under ``data_dir`` (its ``save_to``), plus the archive whose presence tells
tonic the data is there. Heidelberg files hold vlen float16 ``spikes/times`` (s), vlen uint16
``spikes/units``, uint16 ``labels``, ``extra/keys``, ``extra/speaker``; N-MNIST and N-Caltech101
hold 5-byte ATIS ``.bin`` files; DVSGesture and POKERDVS hold ``[n, 4]`` ``.npy`` files.

Samples are learnable and realistic. Audio: each class has three "formant" tracks sweeping
across the 700 units; a sample lasts 0.3-1.4 s with 2,000-8,000 spikes around them, plus noise
and a speaker offset. Camera: each class has a fixed pattern of strokes that moves along a
saccade-like path over the recording, with a few thousand events around it and background
noise. Everything is a pure function of ``(seed, dataset, split, index)``. Needs h5py for the
audio datasets (installed with tonic).
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from collections.abc import Sequence

import numpy as np

from spyx_data.build import registry

from spyx_data import paths
from spyx_data.errors import InputError, UsageError
from spyx_data.build.events import ATIS_EVENT_BYTES
from spyx_data.build.raster import HEIDELBERG_UNITS

SPLIT_IDS = {"train": 0, "test": 1, "valid": 2}
NUM_SPEAKERS = 12
GENERATOR = "spyx_data.synthetic/1"  # an identifier in the files written: unchanged by moves
#: Class folders of the N-Caltech101 fixture (a few real ones; labels are their sorted order).
NCALTECH101_FIXTURE_CLASSES = ("BACKGROUND_Google", "Faces_easy", "accordion", "airplanes", "anchor")
GESTURE_LIGHTING = ("fluorescent", "fluorescent_led", "lab", "led", "natural")
MARKER = ".spyx_synthetic"


def location(name: str, data_dir: str, split: str) -> str:
    """Where tonic keeps ``split`` of dataset ``name`` under ``data_dir`` (a local path or a URL)."""
    return paths.join(data_dir, registry.get(name).locations[split])


def shd_path(data_dir: str, split: str) -> str:
    """Where tonic keeps an SHD split: ``data_dir/SHD/shd_<split>.h5``."""
    return location("shd", data_dir, split)


def _rng(seed: int, name: str, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, sum(map(ord, name)), SPLIT_IDS[split], index])


def audio_sample(
    seed: int, split: str, index: int, num_classes: int = 20, name: str = "shd"
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """One synthetic audio sample: ``(times float16 [n] s, units uint16 [n], label, speaker)``."""
    rng = _rng(seed, name, split, index)
    label = int(rng.integers(num_classes))
    speaker = int(rng.integers(NUM_SPEAKERS))
    duration = rng.uniform(0.3, 1.4)
    n = int(rng.integers(2_000, 8_000))
    t = np.sort(rng.uniform(0.0, duration, n))
    formant = rng.integers(3, size=n)
    tracks = np.random.default_rng(1234).uniform(40, HEIDELBERG_UNITS - 40, size=(num_classes, 3, 2))
    start, end = tracks[label, formant].T
    centre = start + (end - start) * (t / duration) + (speaker - NUM_SPEAKERS / 2) * 4
    units = centre + rng.normal(0.0, 12.0, n)
    noise = rng.random(n) < 0.1
    units[noise] = rng.uniform(0, HEIDELBERG_UNITS, np.count_nonzero(noise))
    units = np.clip(np.round(units), 0, HEIDELBERG_UNITS - 1).astype(np.uint16)
    return t.astype(np.float16), units, label, speaker


def camera_sample(
    seed: int, name: str, split: str, index: int, label: int, extent: tuple[int, int], duration_us: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One synthetic recording of class ``label`` on a ``(width, height)`` field:
    ``(t us, x, y, p)`` int64 arrays, sorted by time, within ``[0, duration_us)``."""
    rng = _rng(seed, name, split, index)
    width, height = extent
    template = np.random.default_rng([4321, label]).uniform(0.2, 0.8, size=(8, 2)) * (width, height)
    n = int(rng.integers(2_000, 6_000))
    t = np.sort(rng.integers(0, int(duration_us * rng.uniform(0.8, 0.99)), n))
    phase = t / duration_us
    drift = np.stack([np.abs(np.sin(3 * np.pi * phase)), np.abs(np.cos(3 * np.pi * phase))], axis=1) * 3
    xy = template[rng.integers(len(template), size=n)] + drift + rng.normal(0, 1.2, (n, 2))
    noise = rng.random(n) < 0.05
    xy[noise] = rng.uniform(0, 1, (np.count_nonzero(noise), 2)) * (width, height)
    x = np.clip(np.round(xy[:, 0]), 0, width - 1).astype(np.int64)
    y = np.clip(np.round(xy[:, 1]), 0, height - 1).astype(np.int64)
    p = (rng.random(n) < 0.5).astype(np.int64)
    return t.astype(np.int64), x, y, p


def encode_atis_bin(t: np.ndarray, x: np.ndarray, y: np.ndarray, p: np.ndarray) -> bytes:
    """The 5-byte ATIS encoding (see :func:`spyx_data.build.events.read_atis_bin`) of events with
    ``t < 2**23`` us, x and y < 256, p in {0, 1}; no overflow markers."""
    t = np.asarray(t, dtype=np.int64)
    if t.size and (t.max() >= 2**23 or min(t.min(), np.min(x), np.min(y)) < 0 or max(np.max(x), np.max(y)) > 255):
        raise ValueError("events do not fit the 5-byte ATIS encoding")
    raw = np.empty((t.size, ATIS_EVENT_BYTES), dtype=np.uint8)
    raw[:, 0] = x
    raw[:, 1] = y
    raw[:, 2] = (np.asarray(p) << 7) | (t >> 16)
    raw[:, 3] = (t >> 8) & 0xFF
    raw[:, 4] = t & 0xFF
    return raw.tobytes()


def write(name: str, data_dir: str, split: str, num_samples: int, seed: int = 0) -> str:
    """Write ``num_samples`` synthetic recordings of ``split`` of dataset ``name``; return its location.

    Marks the data as synthetic (see :func:`synthetic_params`). A dataset with seeded splits
    (N-Caltech101) has one folder for all splits: ``num_samples`` is then the total.
    """
    if num_samples < 1:
        raise UsageError(f"num_samples must be >= 1, got {num_samples}")
    info = registry.get(name)
    if info.seeded_split:
        split = info.splits[0]
    where = location(name, data_dir, split)
    params = {"generator": GENERATOR, "num_samples": num_samples, "seed": seed}
    if info.is_audio:
        samples = [audio_sample(seed, split, i, len(info.classes), info.name) for i in range(num_samples)]
        write_heidelberg(where, samples, {"synthetic": GENERATOR, "num_samples": num_samples, "seed": seed},
                         info.classes)
    else:
        write_recordings(where, _recordings(info, split, num_samples, seed))
        with open(os.path.join(where, MARKER), "w") as f:
            json.dump(params, f)
    _touch_archive(os.path.join(data_dir, info.archives[split]))
    return where


def _recordings(info: registry.DatasetInfo, split: str, n: int, seed: int):
    """``(path parts, file bytes)`` of each synthetic recording of a camera dataset."""
    width, height, _ = info.sensor
    duration_us = info.duration_ms * 1000
    classes = info.classes or NCALTECH101_FIXTURE_CLASSES
    for i in range(n):
        label = i % len(classes)
        if info.name == "ncaltech101":  # recordings of different sizes, as the real ones
            extent = (width - 7 * (i % 5), height - 5 * (i % 3))
        else:
            extent = (width, height)
        t, x, y, p = camera_sample(seed, info.name, split, i, label, extent, duration_us)
        if info.name == "nmnist":
            yield (str(label), f"{i:05d}.bin"), encode_atis_bin(t, x, y, p)
        elif info.name == "ncaltech101":
            yield (classes[label], f"image_{i:04d}.bin"), encode_atis_bin(t, x, y, p)
        elif info.name == "dvsgesture":  # one file per gesture and user session, times in ms
            user, lighting = divmod(i // len(classes), len(GESTURE_LIGHTING))
            ms = np.stack([x, y, p, t // 1000], axis=1)
            yield (f"user{user + 1:02d}_{GESTURE_LIGHTING[lighting]}", f"{label}.npy"), _npy(ms)
        elif info.name == "pokerdvs":
            yield (classes[label], f"{classes[label]}_{i:04d}.npy"), _npy(np.stack([t, x, y, p], axis=1))
        else:
            raise ValueError(f"no synthetic fixture for {info.name}")


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def write_recordings(root: str, recordings) -> None:
    """Write ``(path parts, bytes)`` files below ``root``."""
    for parts, data in recordings:
        path = os.path.join(root, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def write_shd(data_dir: str, split: str, num_samples: int, seed: int = 0) -> str:
    """Write a synthetic SHD split where tonic looks for it; return the h5 path."""
    return write("shd", data_dir, split, num_samples, seed)


def write_heidelberg(
    path: str,
    samples: Sequence[tuple[np.ndarray, np.ndarray, int, int]],
    attrs: dict | None = None,
    class_names: Sequence[str] = registry.SHD_CLASSES,
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
    _touch_archive(path + ".zip")


def _touch_archive(path: str) -> None:
    """An empty archive where tonic only checks that one exists."""
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if path.endswith(".zip"):
        with zipfile.ZipFile(path, "w"):
            pass
    else:
        with tarfile.open(path, "w:gz"):
            pass


def synthetic_params(name: str, data_dir: str, split: str) -> dict | None:
    """``{"num_samples", "seed"}`` of synthetic data written by :func:`write`; None when the
    location is missing or holds real data. ``data_dir`` may be a URL.

    Raises:
        InputError: a Heidelberg file that is not HDF5 (naming it).
    """
    where = location(name, data_dir, split)
    if not paths.exists(where):
        return None
    if registry.get(name).is_audio:
        import h5py

        try:
            with paths.open_read(where) as raw, h5py.File(raw, "r") as f:
                if f.attrs.get("synthetic") != GENERATOR:
                    return None
                return {"num_samples": int(f.attrs["num_samples"]), "seed": int(f.attrs["seed"])}
        except OSError as e:
            raise InputError(f"{where}: cannot open as HDF5 ({e}); replace the file or remove it") from e
    marker = paths.join(where, MARKER)
    if not paths.exists(marker):
        return None
    params = json.loads(paths.read_bytes(marker))
    return {"num_samples": params["num_samples"], "seed": params["seed"]}


def _object_array(arrays: list[np.ndarray]) -> np.ndarray:
    out = np.empty(len(arrays), dtype=object)
    for i, a in enumerate(arrays):  # element-wise: a slice assignment would broadcast equal-length arrays
        out[i] = a
    return out
