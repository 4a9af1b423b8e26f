"""N-TIDIGITS18: spoken digits from a 64-channel silicon cochlea, in one h5 file
(``n-tidigits.hdf5``) that holds both splits: ``<split>_labels`` lists sample ids such as
``"man-ae-3"`` (the digits after the last ``-``), ``<split>_addresses/<id>`` the channels
(0..63) and ``<split>_timestamps/<id>`` the times (seconds from the utterance's start).

As tonic's ``NTIDIGITS18(single_digits=True)``: only the single-digit samples, in the file's
order, labelled ``o, 1..9, z`` -> ``0..10``; the digit sequences are left out and counted
(``left_out_samples``). Events take the window from time 0, as stored.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from spyx_data.builder import events, fixtures, frames, heidelberg, raster
from spyx_data.builder.contracts import GroupedReader, Rasters, option
from spyx_data.builder.dataset import DatasetInfo
from spyx_data.errors import InputError

CLASSES = ("o", "1", "2", "3", "4", "5", "6", "7", "8", "9", "z")
UNITS = 64


@dataclasses.dataclass(frozen=True)
class Spec(heidelberg.AudioSpec):
    """:class:`~spyx_data.builder.heidelberg.AudioSpec` over N-TIDIGITS' 64 channels (all kept
    by default), reading its own h5 layout."""

    channels: int = option(UNITS, "audio channels, 1..the dataset's units (700 for shd, ssc)", "positive_int")

    UNITS: ClassVar[int] = UNITS

    def config(self) -> dict[str, Any]:
        return {**super().config(), "single_digits": True}

    def open(self, split: str, path: str) -> DigitsFile:
        return DigitsFile(path, split, self)


class DigitsFile(GroupedReader):
    """One split of the N-TIDIGITS file, opened: its single-digit samples rasterised."""

    def __init__(self, path: str, split: str, spec: Spec):
        self.path = path
        self.spec = spec
        self._file = events.H5File(path)
        self._h5 = self._file.h5
        try:
            ids = [bytes(x).decode() for x in self._h5[f"{split}_labels"][()]]
            self._addresses = self._h5[f"{split}_addresses"]
            self._timestamps = self._h5[f"{split}_timestamps"]
        except KeyError as e:
            self.close()
            raise InputError(f"{path}: missing {e} (expected {split}_labels, {split}_addresses, "
                             f"{split}_timestamps)") from e
        self.split = split
        self.ids = [i for i in ids if len(i.split("-")[-1]) == 1]
        self.left_out = len(ids) - len(self.ids)
        unknown = next((i for i in self.ids if i.split("-")[-1] not in CLASSES), None)
        if unknown is not None:
            self.close()
            raise InputError(f"{path}: sample {unknown!r} is not a digit of {', '.join(CLASSES)}")
        self.labels = np.array([CLASSES.index(i.split("-")[-1]) for i in self.ids], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def members(self) -> list[str]:
        """``<split>/<sample id>``: the sample's id in the file's ``<split>_labels``."""
        return [f"{self.split}/{i}" for i in self.ids]

    @property
    def num_classes(self) -> int:
        return len(CLASSES)

    def close(self) -> None:
        self._file.close()

    def rasterise(self, start: int, stop: int) -> Rasters:
        """Samples ``[start, stop)``; the group starting at 0 also counts the left-out sequences.

        Raises:
            InputError: naming the file and sample, for a missing sample, a channel outside
                0..63, a negative time, times and channels of different lengths, or times that
                go back under a time-split frame mode.
        """
        spec = self.spec
        ids = self.ids[start:stop]
        try:
            times = [np.asarray(self._timestamps[i]) for i in ids]
            units = [np.asarray(self._addresses[i]) for i in ids]
        except KeyError as e:
            raise InputError(f"{self.path}: no events for sample {e}") from e
        try:
            obs, counts = frames.spike_frames(spec, times, units, spec.sample_T, spec.channels, spec.duration_us, UNITS)
        except raster.BadSample as e:
            raise InputError(f"{self.path}: sample {start + e.sample} ({ids[e.sample]}): {e.reason}") from e
        left_out = raster.RasterCounts(left_out_samples=self.left_out if start == 0 else 0)
        return Rasters(start, obs, self.labels[start:stop], counts + left_out)


def fixture(info: DatasetInfo, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """The synthetic file (``(), bytes``), both splits: ``n`` single digits each with a digit
    sequence after every seven, written by h5py as the published file."""
    import h5py

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "n-tidigits.hdf5")
        with h5py.File(path, "w") as f:
            for name in info.splits:
                ids, samples, singles = [], [], 0
                while singles < n:
                    i = len(ids)
                    t, units, label, speaker = fixtures.audio_sample(seed, name, i, len(CLASSES), info.name)
                    sequence = i % 8 == 3
                    singles += not sequence
                    digits = "".join(CLASSES[(label + k) % 11] for k in range(3)) if sequence else CLASSES[label]
                    ids.append(f"{('man', 'woman')[speaker % 2]}-{chr(97 + speaker)}{i}-{digits}")
                    samples.append((t.astype(np.float32), units.astype(np.int64) * UNITS // raster.HEIDELBERG_UNITS))
                f.create_dataset(f"{name}_labels", data=np.array([i.encode() for i in ids]))
                for group, column, dtype in (("timestamps", 0, np.float32), ("addresses", 1, np.uint8)):
                    g = f.create_group(f"{name}_{group}")
                    for sample_id, sample in zip(ids, samples):
                        g.create_dataset(sample_id, data=sample[column].astype(dtype))
            f.attrs.update(fixtures.marker_attrs(n, seed))
        with open(path, "rb") as f:
            yield (), f.read()


DATASET = DatasetInfo(
    name="ntidigits18",
    tonic_class="NTIDIGITS18",
    tonic_kwargs={split: {"train": split == "train", "single_digits": True} for split in ("train", "test")},
    locations={"train": "NTIDIGITS18/n-tidigits.hdf5", "test": "NTIDIGITS18/n-tidigits.hdf5"},
    archives={"train": "NTIDIGITS18/n-tidigits.hdf5", "test": "NTIDIGITS18/n-tidigits.hdf5"},
    sensor=(UNITS, 1, 1),
    classes=CLASSES,
    sample_T=100,
    duration_ms=1000,
    family=Spec,
    options=("channels",),
    fixture=fixture,
)
