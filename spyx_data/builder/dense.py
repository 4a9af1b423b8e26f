"""Dense datasets (a ``.npz`` of ``x`` and ``y``) encoded into spike records offline.

``x`` holds float values in [0, 1], shape ``[N, ...]`` (any sample shape); ``y`` integer labels
``[N]``. Record ``i`` of the split is sample ``i`` encoded, time first and bit-packed along
time. Random encoders draw from :func:`spyx_data.functional.record_key` of ``(seed, split,
i)``, so a record's spikes depend on nothing else: not the runner, the worker count or the
shard it lands in.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from spyx_data import functional as F
from spyx_data import paths
from spyx_data.builder.contracts import GroupedReader, Rasters
from spyx_data.builder.raster import RasterCounts
from spyx_data.errors import InputError
from spyx_data.format import records

ENCODERS = {"rate": F.Rate, "latency": F.Latency, "angle": F.Angle}


def encode_record(encoder: Any, x: np.ndarray, seed: int, split: str, index: int) -> np.ndarray:
    """Sample ``index`` of ``split`` encoded and packed: uint8 ``[ceil(T/8), ...]``."""
    key = F.record_key(seed, split, index) if encoder.random else None
    return records.pack_time(encoder(np, x, key))


@dataclasses.dataclass(frozen=True)
class EncodeSpec:
    """How to turn a dense ``.npz`` into spike records (a spec for ``pipelines.transforms``).

    Attributes:
        encoder: :class:`~spyx_data.functional.Rate`, ``Latency`` or ``Angle``.
        sample_shape: shape of one ``x`` sample.
        seed: seed of the random encoders.
        dataset: name recorded in the manifest.
    """

    encoder: Any
    sample_shape: tuple[int, ...]
    seed: int = 0
    dataset: str = "dense"

    source_suffix = None  # a source is one file (see spyx_data.builder.inputs.fingerprint)

    @property
    def layout(self) -> records.RecordLayout:
        dims = self.sample_shape + ((self.encoder.neuron_count,) if isinstance(self.encoder, F.Angle) else ())
        return records.RecordLayout(self.encoder.time_steps, dims or (1,))

    def config(self) -> dict[str, Any]:
        name = next(k for k, v in ENCODERS.items() if isinstance(self.encoder, v))
        return {"encoder": name, **dataclasses.asdict(self.encoder), "sample_shape": list(self.sample_shape),
                "seed": self.seed}

    def prepare(self) -> None:
        """Nothing to import ahead: reading needs numpy only."""

    def open(self, split: str, path: str) -> DenseReader:
        return DenseReader(self, split, path)


def read_npz(path: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of a dense ``.npz``, checked.

    Raises:
        InputError: naming ``path``: missing arrays, mismatched lengths, labels that are not
            integers or not in ``0..2**31-1`` (a record's label is an int32; naming the first bad
            one and its position), non-numeric or NaN values (naming the first bad sample).
    """
    try:
        with paths.open_read(path) as raw, np.load(raw, allow_pickle=False) as f:
            x, y = f["x"], f["y"]
    except (OSError, ValueError, KeyError) as e:
        raise InputError(f"{path}: not a .npz with arrays x and y ({e})") from e
    if x.ndim < 1 or y.shape != (len(x),):
        raise InputError(f"{path}: x {x.shape} and y {y.shape} must be [N, ...] and [N]")
    check_labels(y, path)
    if x.dtype.kind not in "fiub":
        raise InputError(f"{path}: x must be numeric, got {x.dtype}")
    F.check_finite(x, path)
    return x, y


def check_labels(y: np.ndarray, path: str) -> None:
    """Raise :class:`InputError` naming ``path`` unless every label of ``y`` is an integer in
    ``0..2**31-1`` (what a record's int32 label holds): the first bad label, its position and value.
    """
    if y.dtype.kind not in "iu":
        hint = ""
        if y.dtype.kind == "f":
            fraction = np.flatnonzero(~(np.isfinite(y) & (y == np.round(y))))
            hint = (f" (label {y[fraction[0]]} of sample {fraction[0]} is not a whole number)" if len(fraction)
                    else "; they are whole numbers: save y.astype(np.int64)")
        raise InputError(f"{path}: labels y must be an integer array, got {y.dtype}{hint}")
    bad = (y < 0) | (y > np.iinfo(np.int32).max)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"{path}: label {y[i]} of sample {i} is outside 0..{np.iinfo(np.int32).max}; labels are "
                         "class numbers 0, 1, ... (a record's label is an int32)")


class DenseReader(GroupedReader):
    """One dense split, loaded once; encodes blocks of samples."""

    def __init__(self, spec: EncodeSpec, split: str, path: str):
        self.spec, self.split, self.path = spec, split, path
        self.x, self.y = read_npz(path)
        if self.x.shape[1:] != spec.sample_shape:
            raise InputError(f"{path}: samples have shape {self.x.shape[1:]}, the build expects {spec.sample_shape}")

    def __len__(self) -> int:
        return len(self.y)

    @property
    def num_classes(self) -> int:
        """Labels are in ``0..num_classes-1``: one more than the largest label."""
        return int(self.y.max()) + 1 if len(self.y) else 1

    def rasterise(self, start: int, stop: int) -> Rasters:
        """Samples ``[start, stop)`` encoded."""
        spec = self.spec
        obs = np.stack([encode_record(spec.encoder, self.x[i], spec.seed, self.split, i) for i in range(start, stop)])
        return Rasters(start, obs.reshape(len(obs), *spec.layout.obs_shape), self.y[start:stop], RasterCounts())
