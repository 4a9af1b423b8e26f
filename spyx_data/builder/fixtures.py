"""The sample generators and format writers behind the synthetic data (:mod:`spyx_data.builder.synthetic`).

Samples are learnable and realistic. Audio: each class has three "formant" tracks sweeping
across the 700 units; a sample lasts 0.3-1.4 s with 2,000-8,000 spikes around them, plus noise
and a speaker offset. Camera: each class has a fixed pattern of strokes that moves along a
saccade-like path over the recording, with a few thousand events around it and background
noise. Everything is a pure function of ``(seed, dataset, split, index)``. A dataset's module
lays its recordings out (file names, encoding) with these; no registry is needed here.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator, Sequence

import numpy as np

from spyx_data.builder.events import ATIS_EVENT_BYTES
from spyx_data.builder.raster import HEIDELBERG_UNITS

GENERATOR = "spyx_data.synthetic/1"  # an identifier in the files written: unchanged by moves
SPLIT_IDS = {"train": 0, "test": 1, "valid": 2}
NUM_SPEAKERS = 12


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


def class_recordings(
    name: str, split: str, n: int, seed: int, num_classes: int, extent: tuple[int, int], duration_us: int
) -> Iterator[tuple[int, int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]]:
    """``(index, label, (t, x, y, p))`` of ``n`` recordings of classes taken in turn (label
    ``i % num_classes``), each :func:`camera_sample` on a ``(width, height)`` field."""
    for i in range(n):
        label = i % num_classes
        yield i, label, camera_sample(seed, name, split, i, label, extent, duration_us)


def encode_atis_bin(t: np.ndarray, x: np.ndarray, y: np.ndarray, p: np.ndarray) -> bytes:
    """The 5-byte ATIS encoding (see :func:`spyx_data.builder.events.read_atis_bin`) of events with
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


def faery_bytes(
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    p: np.ndarray,
    dimensions: tuple[int, int],
    suffix: str,
    packets_per_s: float | None = None,
    **options,
) -> bytes:
    """Events written by ``faery`` (the event-camera library) as the file type of ``suffix``
    (``.aedat4``, ``.dat``, ``.raw``, ``.es``, ``.csv``); ``dimensions`` is ``(width, height)``,
    times are kept as given (no shift to 0), ``options`` go to faery's ``to_file`` (such as
    ``version="evt3"``). ``packets_per_s``: the stream cut into packets of ``1 / packets_per_s``
    seconds (AEDAT4 stores one packet each; otherwise all events are one packet). Needs faery."""
    import faery

    events = np.zeros(len(t), dtype=faery.EVENTS_DTYPE)
    events["t"], events["x"], events["y"], events["on"] = t, x, y, np.asarray(p).astype(bool)
    file_type = {".aedat4": "aedat", ".raw": "evt"}.get(suffix, suffix.lstrip("."))
    stream = faery.events_stream_from_array(events, dimensions=dimensions)
    if packets_per_s is not None:
        stream = stream.regularize(frequency_hz=packets_per_s)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "events" + suffix)
        stream.to_file(path, zero_t0=False, file_type=file_type, **options)
        with open(path, "rb") as f:
            return f.read()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def marker_attrs(num_samples: int, seed: int) -> dict:
    """What marks a file or folder as synthetic (h5 attributes, or a folder's marker file)."""
    return {"synthetic": GENERATOR, "num_samples": num_samples, "seed": seed}


def write_recordings(root: str, recordings: Iterator[tuple[tuple[str, ...], bytes]]) -> None:
    """Write ``(path parts, bytes)`` files below ``root`` (parts ``()``: ``root`` is the file);
    ``root`` is a temporary name, renamed into place by the caller once every file is written."""
    for parts, data in recordings:
        path = os.path.join(root, *parts)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def write_heidelberg(
    path: str,
    samples: Sequence[tuple[np.ndarray, np.ndarray, int, int]],
    attrs: dict | None = None,
    class_names: Sequence[str] = (),
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
        if class_names:
            f.create_dataset("extra/keys", data=np.array([k.encode() for k in class_names]))
        f.create_dataset("extra/speaker", data=np.array([s[3] for s in samples], dtype=np.uint16))
        f.attrs.update(attrs or {})
    os.replace(tmp, path)
    touch_archive(path + ".zip")


def touch_archive(path: str) -> None:
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


def _object_array(arrays: list[np.ndarray]) -> np.ndarray:
    out = np.empty(len(arrays), dtype=object)
    for i, a in enumerate(arrays):  # element-wise: a slice assignment would broadcast equal-length arrays
        out[i] = a
    return out
