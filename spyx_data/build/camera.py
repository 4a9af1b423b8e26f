"""Camera datasets stored as one event file per recording: listing, labelling, rasterising.

A split is a folder (``NMNIST/Train``, ``DVSGesture/ibmGestureTrain``, ...), local or on any
Beam filesystem. Its samples are the files with the format's suffix below it (hidden files and
folders skipped), in the order of their path components sorted
(:func:`spyx_data.paths.list_files`; where recordings sit in leaf folders, as in every registry
dataset, that is tonic's ``os.walk`` order with sorted folders and files), so sample ``i`` is
the same file on every machine and filesystem.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np

from spyx_data import paths

from spyx_data.build import raster

from spyx_data.format import records
from spyx_data.build.contracts import GroupedReader, Rasters, option
from spyx_data.errors import InputError
from spyx_data.build.events import Events


#: The time origins of :class:`SampleFiles` (stated in every manifest's config as ``time_origin``).
AS_STORED = "as stored"
FIRST_EVENT = "first event"
TIME_ORIGINS = (AS_STORED, FIRST_EVENT)


@dataclasses.dataclass(frozen=True)
class SampleFiles:
    """How a dataset's recordings are stored.

    Attributes:
        suffix: file name ending of a recording, e.g. ``".bin"``.
        decode: ``(file bytes, path) -> Events``.
        label: ``(path parts relative to the split folder, class names) -> int``.
        recentre: subtract each recording's smallest x and y, as tonic does for N-Caltech101.
        time_origin: :data:`AS_STORED` (the window starts at time 0 of the file's clock) or
            :data:`FIRST_EVENT` (each recording's earliest event is time 0: for formats whose
            timestamps are absolute clock times, such as AEDAT4).
    """

    suffix: str
    decode: Callable[[bytes, str], Events]
    label: Callable[[tuple[str, ...], tuple[str, ...]], int]
    recentre: bool = False
    time_origin: str = AS_STORED

    def __post_init__(self) -> None:
        if self.time_origin not in TIME_ORIGINS:
            raise ValueError(f"time_origin must be one of {TIME_ORIGINS}, got {self.time_origin!r}")

    def from_origin(self, events: Events) -> Events:
        """``events`` as they are rasterised: recentred and timed from the origin above."""
        if not len(events.t):
            return events
        if self.recentre:
            events = events._replace(x=events.x - events.x.min(), y=events.y - events.y.min())
        if self.time_origin == FIRST_EVENT:
            events = events._replace(t=events.t - events.t.min())
        return events


def seeded_split(relative_path: str, seed: int, test_fraction: float) -> str:
    """``"test"`` or ``"train"`` for one recording, from a hash of ``(seed, path)``.

    A recording keeps its split when others are added or removed; about ``test_fraction`` of
    them are test.
    """
    digest = hashlib.sha256(f"{seed}:{relative_path}".encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") < test_fraction * 2**64 else "train"


@dataclasses.dataclass(frozen=True)
class CameraSpec(raster.TimeWindow):
    """How to turn a split folder of camera recordings into records ``[T, P, H, W]``.

    Attributes:
        dataset: registry name.
        sensor: tonic's ``sensor_size`` ``(W, H, P)``.
        files: the storage format.
        classes: class names; ``None`` means the names of the folders holding the recordings,
            sorted (N-Caltech101 has no fixed list in tonic).
        sample_T: time bins over the window.
        duration_ms: window length, the same for every recording; later events are dropped.
        spatial_factor: integer spatial downsampling (``x // f``, ``y // f``).
        merge_polarity: one polarity channel for all events.
        first_saccade_only: keep only events before 100 ms (N-MNIST's first saccade); later
            events count as outside the window.
        split_seed: for a dataset without official splits, the seed of :func:`seeded_split`.
        test_fraction: share of recordings in the seeded test split.
    """

    dataset: str
    sensor: tuple[int, int, int]
    files: SampleFiles
    classes: tuple[str, ...] | None
    sample_T: int
    duration_ms: int
    spatial_factor: int = option(1, "integer spatial downsampling (x // F)", "positive_int")
    merge_polarity: bool = option(False, "one polarity channel", "switch")
    first_saccade_only: bool = option(False, "only events before 100 ms (N-MNIST's first saccade)", "switch")
    split_seed: int | None = option(None, "seed of a dataset's seeded train/test split", "int")
    test_fraction: float = option(0.2, "test share of a seeded split", "float")

    FIRST_SACCADE_US = 100_000

    @classmethod
    def for_dataset(cls, info: Any, sample_T: int | None, duration_ms: int | None, **options: Any) -> CameraSpec:
        """The spec of a registry entry (``info``) of this family (a window left None: the
        entry's); a seeded split's seed is 0 and its test fraction the entry's, unless given."""
        if info.seeded_test_fraction is not None:
            options.setdefault("split_seed", 0)
            options.setdefault("test_fraction", info.seeded_test_fraction)
        return cls(info.name, info.sensor, info.files, info.classes, sample_T or info.sample_T,
                   duration_ms or info.duration_ms, **options)

    def __post_init__(self) -> None:
        if not isinstance(self.spatial_factor, int) or self.spatial_factor < 1:
            raise ValueError(f"spatial_factor must be a positive integer, got {self.spatial_factor!r}")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        self.duration_us  # noqa: B018 (checks the window)

    @property
    def source_suffix(self) -> str:
        """A source is the folder of these files (see :func:`spyx_data.build.inputs.fingerprint`)."""
        return self.files.suffix

    @property
    def layout(self) -> records.RecordLayout:
        return records.RecordLayout(
            self.sample_T, raster.frame_shape(self.sensor, self.spatial_factor, self.merge_polarity)
        )

    def config(self) -> dict[str, Any]:
        """The build parameters the record bytes depend on (stored in the manifest)."""
        config = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "files"}
        config["sensor"] = list(self.sensor)
        config["time_origin"] = self.files.time_origin
        config["classes"] = list(self.classes) if self.classes else "sorted class folders"
        if self.split_seed is None:
            del config["split_seed"], config["test_fraction"]
        return config

    def prepare(self) -> None:
        """Nothing to import ahead: reading needs numpy only."""

    def open(self, split: str, location: str) -> FolderReader:
        return FolderReader(self, split, location)


class FolderReader(GroupedReader):
    """The recordings of one split, listed once; rasterises blocks of them."""

    def __init__(self, spec: CameraSpec, split: str, root: str):
        self.spec = spec
        self.root = root
        parts = paths.list_files(root, spec.files.suffix)
        self.classes = spec.classes or tuple(sorted({p[-2] for p in parts if len(p) > 1}))
        if spec.split_seed is not None:
            parts = [p for p in parts if seeded_split("/".join(p), spec.split_seed, spec.test_fraction) == split]
        self.parts = parts
        self.labels = np.array([self._label(p) for p in parts], dtype=np.int64)

    def _label(self, parts: tuple[str, ...]) -> int:
        try:
            label = self.spec.files.label(parts, self.classes)
        except (ValueError, IndexError) as e:
            raise InputError(f"{paths.join(self.root, *parts)}: cannot tell its class ({e})") from e
        if not 0 <= label < len(self.classes):
            raise InputError(f"{paths.join(self.root, *parts)}: label {label} outside 0..{len(self.classes) - 1}")
        return label

    def __len__(self) -> int:
        return len(self.parts)

    @property
    def num_classes(self) -> int:
        """Labels are in ``0..num_classes-1``."""
        return len(self.classes)

    def path(self, index: int) -> str:
        return paths.join(self.root, *self.parts[index])

    def events(self, index: int) -> Events:
        """Events of recording ``index`` as tonic gives them (before recentring, the time origin
        and the window cut)."""
        path = self.path(index)
        return self.spec.files.decode(paths.read_bytes(path), path)

    def rasterise(self, start: int, stop: int) -> Rasters:
        """Rasterise recordings ``[start, stop)``.

        Raises:
            ValueError: naming the file, for an undecodable file or an event off the sensor.
        """
        spec = self.spec
        recordings = []
        counts = raster.RasterCounts()
        for i in range(start, stop):
            events = spec.files.from_origin(self.events(i))
            if spec.first_saccade_only:
                early = events.t < spec.FIRST_SACCADE_US
                late = int(np.count_nonzero(~early))
                events = Events(*(a[early] for a in events))
                counts += raster.RasterCounts(events=late, dropped_outside_window=late)
            recordings.append(events)
        try:
            obs, group_counts = raster.camera_rasters(
                recordings, spec.sample_T, spec.duration_us, spec.sensor, spec.spatial_factor, spec.merge_polarity
            )
        except raster.BadSample as e:
            raise InputError(f"{self.path(start + e.sample)}: {e.reason}") from e
        return Rasters(start, obs, self.labels[start:stop], counts + group_counts)
