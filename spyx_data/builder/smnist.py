"""S-MNIST: MNIST's idx files, each image read pixel by pixel as a spike train, as tonic's
``SMNIST`` encodes it.

Of ``num_neurons`` (odd) neurons, ``(num_neurons - 1) / 2`` have thresholds
``linspace(0, 254, (num_neurons - 1) / 2)`` (as uint8): neuron ``k`` spikes at step ``s`` when
the intensity crosses its threshold upward between pixels ``s`` and ``s + 1`` (unit
``num_neurons - k``), as many more when it crosses downward (unit ``(num_neurons - 1) / 2 - k``),
and unit 0 spikes at every pixel of 255. With ``duplicate`` each spike at step ``s`` is two, at
steps ``2s`` and ``2s + 1``. A step lasts ``dt`` microseconds: spike times are
``trunc(step * dt)`` us, from the image's first pixel. The default window holds every step
(``ceil(784 * (2 if duplicate else 1) * dt / 1000)`` ms), in 784 bins (one per pixel).
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Iterator
from typing import Any

import numpy as np

from spyx_data import paths
from spyx_data.builder import frames, nmnist, raster
from spyx_data.builder.contracts import GroupedReader, Rasters, option, options_of
from spyx_data.builder.dataset import DatasetInfo
from spyx_data.errors import InputError
from spyx_data.format import records

PIXELS = 28 * 28
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049


def spike_events(images: np.ndarray, num_neurons: int, dt: float, duplicate: bool) -> tuple[np.ndarray, ...]:
    """The spikes of ``images`` (uint8 ``[n, 784]``): ``(sample, t us, unit)`` int64 arrays,
    each sample's in tonic's order (by step, then unit; duplicates next to each other)."""
    half = num_neurons // 2
    thresholds = np.linspace(0.0, 254.0, half).astype(np.uint8)
    lower = images[:, :, None] < thresholds[None, None, :]  # [n, 784, half]
    up = np.nonzero(lower[:, :-1] & ~lower[:, 1:])
    down = np.nonzero(~lower[:, :-1] & lower[:, 1:])
    touch = np.nonzero(images == 255)
    sample = np.concatenate([up[0], down[0], touch[0]]).astype(np.int64)
    step = np.concatenate([up[1], down[1], touch[1]]).astype(np.int64)
    unit = num_neurons - np.concatenate([up[2], down[2] + half, np.full(len(touch[0]), num_neurons)]).astype(np.int64)
    order = np.lexsort((unit, step, sample))
    sample, step, unit = sample[order], step[order], unit[order]
    if duplicate:
        sample, unit = np.repeat(sample, 2), np.repeat(unit, 2)
        step = (np.repeat(step * 2, 2).reshape(-1, 2) + [0, 1]).ravel()
    return sample, (step * dt).astype(np.int64), unit


@dataclasses.dataclass(frozen=True)
class Spec(frames.SpikeTrainFrames, raster.TimeWindow):
    """How to turn S-MNIST's idx files into records ``[T, num_neurons]``, framed by the frame
    options (:func:`~spyx_data.builder.frames.spike_frames`, one channel per neuron).

    Attributes:
        dataset: registry name.
        num_classes: 10.
        sample_T: time bins over the window.
        duration_ms: window length from each image's first pixel.
        num_neurons, dt, duplicate: tonic's ``SMNIST`` options (see the module docstring).
    """

    dataset: str
    num_classes: int
    sample_T: int
    duration_ms: int
    num_neurons: int = option(99, "S-MNIST neurons, odd (tonic's num_neurons)", "positive_int")
    dt: float = option(1000.0, "S-MNIST microseconds per pixel step (tonic's dt)", "float")
    duplicate: bool = option(True, "S-MNIST: two spikes per crossing, true or false (tonic's duplicate)", "bool")

    source_suffix = "-ubyte"  # a source is the folder of the idx files

    @classmethod
    def for_dataset(cls, info: Any, sample_T: int | None, duration_ms: int | None, **options: Any) -> Spec:
        """The spec of the registry entry ``info``; the window, when not given, holds every step."""
        chosen = {name: options.get(name, field.default) for name, field in options_of(cls).items()}
        if duration_ms is None:
            duration_ms = math.ceil(PIXELS * (2 if chosen["duplicate"] else 1) * chosen["dt"] / 1000)
        return cls(info.name, len(info.classes), sample_T or info.sample_T, duration_ms, **options)

    def __post_init__(self) -> None:
        if self.num_neurons < 3 or self.num_neurons % 2 == 0:
            raise ValueError(f"num_neurons must be odd and at least 3, got {self.num_neurons}")
        if not (math.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"dt must be a positive number of microseconds, got {self.dt}")
        self.duration_us  # noqa: B018 (checks the window)
        self.check_frame_options()
        if self.duplicate and self.frames in frames.TIME_SPLIT:
            raise ValueError(f"--frames={self.frames} splits by time, and duplicated spikes are in tonic's order, "
                             "not in time order (2s, 2s+1, 2s, ...): pass --duplicate=false or another --frames")

    @property
    def layout(self) -> records.RecordLayout:
        return self.record_layout((self.num_neurons, 1, 1), self.num_neurons)

    def config(self) -> dict[str, Any]:
        """The build parameters the record bytes depend on (stored in the manifest)."""
        return {**self.spec_config(), "dt": float(self.dt), "time_origin": "first pixel"}

    def prepare(self) -> None:
        """Nothing to import ahead: reading needs numpy only."""

    def open(self, split: str, folder: str) -> IdxFiles:
        return IdxFiles(folder, split, self)


class IdxFiles(GroupedReader):
    """One split's idx files (images and labels), checked; the images read on first use."""

    def __init__(self, folder: str, split: str, spec: Spec):
        self.spec = spec
        self.images_path, self.labels_path = (paths.join(folder, name) for name in FILES[split])
        labels = paths.read_bytes(self._existing(self.labels_path))
        magic, n = struct.unpack(">II", labels[:8]) if len(labels) >= 8 else (None, 0)
        if magic != LABELS_MAGIC or len(labels) != 8 + n:
            raise InputError(f"{self.labels_path}: not an idx1 label file of {n} labels (magic {magic})")
        self.labels = np.frombuffer(labels, np.uint8, offset=8).astype(np.int64)
        if self.labels.size and self.labels.max() >= spec.num_classes:
            i = int(np.argmax(self.labels >= spec.num_classes))
            raise InputError(f"{self.labels_path}: label {self.labels[i]} of image {i} outside 0..9")
        self._images: np.ndarray | None = None

    @staticmethod
    def _existing(path: str) -> str:
        if not paths.exists(path):
            raise InputError(f"{path}: no such file (S-MNIST reads MNIST's idx files, uncompressed)")
        return path

    def images(self) -> np.ndarray:
        """uint8 ``[n, 784]``.

        Raises:
            InputError: naming the file, unless it is an idx3 file of ``n`` 28 x 28 images.
        """
        if self._images is None:
            data = paths.read_bytes(self._existing(self.images_path))
            header = struct.unpack(">IIII", data[:16]) if len(data) >= 16 else (None, 0, 0, 0)
            magic, n, rows, cols = header
            if magic != IMAGES_MAGIC or (rows, cols) != (28, 28) or len(data) != 16 + n * PIXELS:
                raise InputError(f"{self.images_path}: not an idx3 file of 28 x 28 images (header {header}, "
                                 f"{len(data)} bytes)")
            if n != len(self.labels):
                raise InputError(
                    f"{self.images_path}: {n} images, but {self.labels_path} has {len(self.labels)} labels"
                )
            self._images = np.frombuffer(data, np.uint8, offset=16).reshape(n, PIXELS)
        return self._images

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return self.spec.num_classes

    def rasterise(self, start: int, stop: int) -> Rasters:
        spec = self.spec
        sample, t_us, unit = spike_events(self.images()[start:stop], spec.num_neurons, spec.dt, spec.duplicate)
        bounds = np.searchsorted(sample, np.arange(1, stop - start))
        obs, counts = frames.spike_frames(spec, np.split(t_us, bounds), np.split(unit, bounds), spec.sample_T,
                                          spec.num_neurons, spec.duration_us, spec.num_neurons, us_per_time=1)
        return Rasters(start, obs, self.labels[start:stop], counts)


def fixture(info: DatasetInfo, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Synthetic idx files for both splits (``n`` images each), as MNIST's: strokes of the
    image's digit class drawn with anti-aliased edges, some pixels saturated at 255."""
    yy, xx = np.mgrid[0:28, 0:28]
    for name, (images_file, labels_file) in FILES.items():
        rng = np.random.default_rng([seed, 1 if name == "test" else 0])
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = np.zeros((n, 28, 28))
        for i, label in enumerate(labels):
            centres = np.random.default_rng([4321, int(label)]).uniform(7, 21, size=(4, 2)) + rng.normal(0, 1, (4, 2))
            for cy, cx in centres:
                images[i] = np.maximum(images[i], 1.3 - np.hypot(yy - cy, xx - cx) / 3.5)
        pixels = np.clip(np.round(images * 255), 0, 255).astype(np.uint8)
        yield (images_file,), struct.pack(">IIII", IMAGES_MAGIC, n, 28, 28) + pixels.tobytes()
        yield (labels_file,), struct.pack(">II", LABELS_MAGIC, n) + labels.tobytes()


DATASET = DatasetInfo(
    name="smnist",
    tonic_class="SMNIST",
    tonic_kwargs={"train": {"train": True}, "test": {"train": False}},
    locations={"train": "smnist", "test": "smnist"},
    archives={split: f"smnist/{images}" for split, (images, _) in FILES.items()},
    required=FILES,
    sensor=(99, 1, 1),
    classes=nmnist.CLASSES,
    sample_T=PIXELS,
    duration_ms=2 * PIXELS,
    family=Spec,
    options=("num_neurons", "dt", "duplicate"),
    fixture=fixture,
)
