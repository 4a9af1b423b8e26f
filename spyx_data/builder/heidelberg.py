"""The family of the Heidelberg spiking audio datasets (SHD, SSC: :mod:`~spyx_data.builder.shd`,
:mod:`~spyx_data.builder.ssc`) in their h5 format: reading and rasterising.

An h5 file holds ``spikes/times`` (seconds), ``spikes/units`` (0..699) and ``labels``; the
published files store vlen float16 times, vlen uint16 units and uint16 labels, and optional
``extra/*`` groups (``extra/keys``, the class names; ``extra/speaker``), which are not read.
Every layout tonic's ``SHD`` / ``SSC`` read is read alike: times and units variable-length
(vlen, one array per sample) or fixed-length 2-D ``[samples, events]`` (as tonic's own tests
write them; every entry of a row is an event), times of any float or integer type, units and
labels of any integer type. This module reads the file with h5py directly (a local path, or any
Beam filesystem path through a file object): it is opened once and read in blocks, times are
widened to float64 before scaling, and a bad sample raises an error naming the file and the
sample.
Locating and downloading the files is tonic's job (see ``pipelines.shd``); h5py is imported
only when a file is opened, so importing this module needs neither tonic nor h5py.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from spyx_data.builder import events, fixtures, frames, raster
from spyx_data.builder.contracts import GroupedReader, Rasters, option
from spyx_data.builder.dataset import DatasetInfo
from spyx_data.errors import InputError
from spyx_data.format import records

#: tonic's ``sensor_size`` of the family's files: 700 cochlear units.
SENSOR = (raster.HEIDELBERG_UNITS, 1, 1)


@dataclasses.dataclass(frozen=True)
class AudioSpec(frames.SpikeTrainFrames, raster.TimeWindow):
    """How to turn one Heidelberg h5 file into records: frames of ``sample_T`` bins of
    ``channels``, by the frame options (:class:`~spyx_data.builder.frames.FrameOptions`: the
    window from time 0 and binary values by default; see :func:`~spyx_data.builder.frames.spike_frames`).

    Attributes:
        dataset: short name (``"shd"``, ``"ssc"``).
        num_classes: labels must lie in ``0..num_classes-1``.
        sample_T: time bins over the window.
        channels: output channels; unit ``u`` goes to channel ``u * channels // UNITS``.
        duration_ms: window length from time 0 of each sample (its times as stored); events at
            or after it are dropped (counted).
    """

    dataset: str = "shd"
    num_classes: int = 20
    sample_T: int = 128
    channels: int = option(128, "audio channels, 1..the dataset's units (700 for shd, ssc)", "positive_int")
    duration_ms: int = 1000

    source_suffix = None  # a source is one file (see spyx_data.builder.inputs.fingerprint)
    #: Input units (cochlear channels) of the family's files.
    UNITS: ClassVar[int] = raster.HEIDELBERG_UNITS

    @classmethod
    def for_dataset(cls, info: Any, sample_T: int | None, duration_ms: int | None, **options: Any) -> AudioSpec:
        """The spec of a registry entry (``info``) of this family (a window left None: the entry's)."""
        return cls(info.name, len(info.classes), sample_T or info.sample_T, duration_ms=duration_ms or info.duration_ms,
                   **options)

    def __post_init__(self) -> None:
        if not 1 <= self.channels <= self.UNITS:
            raise ValueError(f"channels must be in 1..{self.UNITS} for {self.dataset}, got {self.channels}")
        self.duration_us  # noqa: B018 (checks the window)
        self.check_frame_options()

    @property
    def layout(self) -> records.RecordLayout:
        return self.record_layout((self.UNITS, 1, 1), self.channels)

    def config(self) -> dict[str, Any]:
        """The build parameters the record bytes depend on (stored in the manifest)."""
        return {**self.spec_config(), "time_origin": "as stored"}

    def prepare(self) -> None:
        """Import what reading needs (h5py), once per worker."""
        import h5py  # noqa: F401

    def open(self, split: str, path: str) -> AudioFile:
        return AudioFile(path, self)


class AudioFile(GroupedReader):
    """One open Heidelberg h5 file. Reads blocks of samples and rasterises them.

    The file stays open across reads; after every ``REOPEN_AFTER`` samples it is closed and
    opened again, because HDF5 keeps what it read of the variable-length data cached for as
    long as a file is open, and a build's memory must not grow with the dataset.
    """

    REOPEN_AFTER = 8192

    def __init__(self, path: str, spec: AudioSpec):
        self.path = path
        self.spec = spec
        self._open()

    def _open(self) -> None:
        path = self.path
        self._file = events.H5File(path)
        self._h5 = self._file.h5
        self._read_since_open = 0
        try:
            self._times = self._h5["spikes/times"]
            self._units = self._h5["spikes/units"]
            self._labels = self._h5["labels"]
        except KeyError as e:
            self.close()
            raise InputError(f"{path}: missing dataset {e} (expected spikes/times, spikes/units, labels)") from e
        n = len(self._labels)
        problem = None
        if len(self._times) != n or len(self._units) != n:
            problem = f"{len(self._times)} times, {len(self._units)} units, {n} labels"
        elif (_element_kind(self._times) or "?") not in "fiu" or (_element_kind(self._units) or "?") not in "iu":
            problem = (
                f"{self.spec.dataset} spikes/times must be vlen or 2-D numbers and spikes/units vlen or 2-D integers "
                f"(the layouts tonic reads); found {_describe(self._times)} and {_describe(self._units)}"
            )
        elif self._times.ndim == 2 and self._times.shape != self._units.shape:
            problem = f"spikes/times {list(self._times.shape)} and spikes/units {list(self._units.shape)} differ"
        elif self._labels.ndim != 1 or self._labels.dtype.kind not in "iu":
            problem = f"{self.spec.dataset} takes labels as integers [samples], found {_describe(self._labels)}"
        if problem:
            self.close()
            raise InputError(f"{path}: {problem}")
        self._len = n

    def __len__(self) -> int:
        return self._len

    @property
    def num_classes(self) -> int:
        """Labels are in ``0..num_classes-1``."""
        return self.spec.num_classes

    def close(self) -> None:
        self._file.close()

    def read(self, start: int, stop: int) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Raw samples ``[start, stop)``: lists of times (s, as stored) and units, and labels (int64)."""
        if self._read_since_open >= self.REOPEN_AFTER:
            self.close()
            self._open()
        self._read_since_open += stop - start
        times = self._times[start:stop]
        units = self._units[start:stop]
        labels = np.asarray(self._labels[start:stop], dtype=np.int64)
        return list(times), list(units), labels

    def rasterise(self, start: int, stop: int) -> Rasters:
        """Rasterise samples ``[start, stop)`` into a :class:`~spyx_data.builder.contracts.Rasters`.

        Raises:
            InputError: naming the file and sample, for a label outside ``0..num_classes-1``,
                a unit outside ``0..699``, a negative time, mismatched times and units, or
                times that go back under a time-split frame mode.
        """
        spec = self.spec
        times, units, labels = self.read(start, stop)
        bad = (labels < 0) | (labels >= spec.num_classes)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(f"{self.path}: sample {start + i}: label {labels[i]} outside 0..{spec.num_classes - 1}")
        try:
            obs, counts = frames.spike_frames(spec, times, units, spec.sample_T, spec.channels, spec.duration_us,
                                              spec.UNITS)
        except raster.BadSample as e:
            raise InputError(f"{self.path}: sample {start + e.sample}: {e.reason}") from e
        return Rasters(start, obs, labels, counts)


def _describe(dataset: Any) -> str:
    """An h5 dataset's type as a user would say it: ``vlen int32 [300]``, ``float16 [300, 100]``."""
    import h5py

    base = h5py.check_vlen_dtype(dataset.dtype)
    return f"vlen {base} {list(dataset.shape)}" if base is not None else f"{dataset.dtype} {list(dataset.shape)}"


def _element_kind(dataset: Any) -> str:
    """numpy kind of the events of a per-sample h5 dataset: vlen ``[samples]`` or fixed-length
    ``[samples, events]``; "" for any other layout."""
    import h5py

    base = h5py.check_vlen_dtype(dataset.dtype)
    if base is not None:
        return base.kind if dataset.ndim == 1 else ""
    return dataset.dtype.kind if dataset.ndim == 2 else ""


def fixture(info: DatasetInfo, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """The synthetic h5 file of a split (``(), bytes``), laid out as the published files."""
    samples = [fixtures.audio_sample(seed, split, i, len(info.classes), info.name) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fixture.h5")
        fixtures.write_heidelberg(path, samples, fixtures.marker_attrs(n, seed), info.classes)
        with open(path, "rb") as f:
            yield (), f.read()


def dataset_info(
    name: str, tonic_class: str, classes: tuple[str, ...], splits: dict[str, dict[str, Any]]
) -> DatasetInfo:
    """The :class:`~spyx_data.builder.dataset.DatasetInfo` of a dataset of this family: its
    splits (``splits``: tonic's arguments selecting each) are ``<tonic_class>/<name>_<split>.h5``
    under ``data_dir``, beside the ``.zip`` tonic checks for."""
    return DatasetInfo(
        name=name,
        tonic_class=tonic_class,
        tonic_kwargs=splits,
        locations={s: f"{tonic_class}/{name}_{s}.h5" for s in splits},
        archives={s: f"{tonic_class}/{name}_{s}.h5.zip" for s in splits},
        sensor=SENSOR,
        classes=classes,
        sample_T=128,
        duration_ms=1000,
        family=AudioSpec,
        options=("channels",),
        fixture=fixture,
    )
