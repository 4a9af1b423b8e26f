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
import itertools
import math
import posixpath
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from spyx_data import paths
from spyx_data.builder import frames, raster
from spyx_data.builder.contracts import GroupedReader, Rasters, option
from spyx_data.builder.events import Decoder, Events, local_file, whole
from spyx_data.errors import InputError, UsageError
from spyx_data.format import framing, records

#: The time origins of :class:`SampleFiles` (stated in every manifest's config as ``time_origin``).
AS_STORED = "as stored"
FIRST_EVENT = "first event"
TIME_ORIGINS = (AS_STORED, FIRST_EVENT)


@dataclasses.dataclass(frozen=True)
class SampleFiles:
    """How a dataset's recordings are stored.

    Attributes:
        suffix: file name ending of a recording, e.g. ``".bin"``.
        decode: the format's :data:`~spyx_data.builder.events.Decoder`: ``(local path, name,
            max_events)`` -> the recording's events in chunks of at most ``max_events``.
        label: ``(path parts relative to the split folder, class names) -> int``.
        recentre: subtract each recording's smallest x and y, as tonic does for N-Caltech101.
        time_origin: :data:`AS_STORED` (the window starts at time 0 of the file's clock) or
            :data:`FIRST_EVENT` (each recording's earliest event is time 0: for formats whose
            timestamps are absolute clock times, such as AEDAT4).
    """

    suffix: str
    decode: Decoder
    label: Callable[[tuple[str, ...], tuple[str, ...]], int]
    recentre: bool = False
    time_origin: str = AS_STORED

    def __post_init__(self) -> None:
        if self.time_origin not in TIME_ORIGINS:
            raise ValueError(f"time_origin must be one of {TIME_ORIGINS}, got {self.time_origin!r}")

    @property
    def shifted(self) -> bool:
        """Whether a recording's events are moved by what all of them hold (its origin)."""
        return self.recentre or self.time_origin == FIRST_EVENT

    def origin(self, chunks: Iterable[Events]) -> tuple[int, int, int]:
        """``(t, x, y)`` subtracted from each event of the recording given in ``chunks``: its
        earliest time for :data:`FIRST_EVENT` (else 0), its smallest x and y when recentring
        (else 0)."""
        if not self.shifted:
            return 0, 0, 0
        lows: tuple[int, int, int] | None = None
        for chunk in chunks:
            if len(chunk.t):
                low = (int(chunk.t.min()), int(chunk.x.min()), int(chunk.y.min()))
                lows = low if lows is None else (min(lows[0], low[0]), min(lows[1], low[1]), min(lows[2], low[2]))
        if lows is None:
            return 0, 0, 0
        t, x, y = lows
        return (t if self.time_origin == FIRST_EVENT else 0, x if self.recentre else 0, y if self.recentre else 0)

    def from_origin(self, events: Events, origin: tuple[int, int, int] | None = None) -> Events:
        """``events`` as they are rasterised: recentred and timed from the origin of their
        recording (:meth:`origin`; by default, of ``events`` as a whole recording)."""
        t, x, y = self.origin([events]) if origin is None else origin
        if not (t or x or y):
            return events
        return events._replace(t=events.t - t, x=events.x - x, y=events.y - y)


#: The seed of a seeded split where none is given.
SPLIT_SEED = 0


def seeded_options(options: dict[str, Any], test_fraction: float | None = None) -> dict[str, Any]:
    """``options`` of a :class:`CameraSpec` with a seeded train/test split: the seed
    :data:`SPLIT_SEED` and ``test_fraction`` (None: the spec's default) unless given."""
    seeded = {"split_seed": SPLIT_SEED, **({} if test_fraction is None else {"test_fraction": test_fraction})}
    return {**seeded, **options}


def class_folder(parts: tuple[str, ...]) -> str:
    """The name of the folder holding a recording (``parts``: its path below the split folder):
    its class, where recordings are filed by class.

    Raises:
        IndexError: the recording lies directly in the split folder.
    """
    return parts[-2]


def parent_folder(parts: tuple[str, ...], classes: tuple[str, ...]) -> int:
    """The label of a recording filed in its class's folder (a :attr:`SampleFiles.label`): the
    position of :func:`class_folder` among ``classes``.

    Raises:
        ValueError: the folder is not one of ``classes``.
        IndexError: the recording lies directly in the split folder.
    """
    return classes.index(class_folder(parts))


def seeded_split(relative_path: str, seed: int, test_fraction: float) -> str:
    """``"test"`` or ``"train"`` for one recording, from a hash of ``(seed, path)``.

    A recording keeps its split when others are added or removed; about ``test_fraction`` of
    them are test.
    """
    digest = hashlib.sha256(f"{seed}:{relative_path}".encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") < test_fraction * 2**64 else "train"


#: ``--split`` of a dataset without official splits: SpikingJelly's (:func:`spikingjelly_split`).
SPIKINGJELLY = "spikingjelly"
#: The train share of SpikingJelly's split, as papers call ``split_to_train_test_set(0.9, ...)``.
SPIKINGJELLY_TRAIN_RATIO = 0.9


def spikingjelly_name(name: str) -> str:
    """The name SpikingJelly 2.0 gives a recording's converted file: its stem plus ``.npz``
    (``create_raw_from_extracted`` of ``spikingjelly/datasets/{cifar10_dvs,asl_dvs,n_caltech101}.py``:
    ``os.path.splitext(bin_file)[0] + ".npz"``; its frame folders keep that name)."""
    return posixpath.splitext(name)[0] + ".npz"


def spikingjelly_split(parts: Sequence[tuple[str, ...]],
                       train_ratio: float = SPIKINGJELLY_TRAIN_RATIO) -> dict[str, list[tuple[str, ...]]]:
    """SpikingJelly 2.0's ``split_to_train_test_set(train_ratio, dataset, num_classes,
    random_split=False)`` (``spikingjelly/datasets/utils.py``) of the recordings ``parts``
    (each ``(class folder, file name)``): ``{"train": [...], "test": [...]}``, each in
    SpikingJelly's ``Subset`` order.

    SpikingJelly's sample order is that of torchvision's ``DatasetFolder`` over its converted
    files: classes by their folder names sorted (``find_classes``), and within a class the
    converted names sorted (``make_dataset``: ``sorted(os.walk(...))``, ``sorted(fnames)``), i.e.
    by :func:`spikingjelly_name`. Per class (in that class order) the first
    ``math.ceil(n * train_ratio)`` recordings go to train, the rest to test; the float product
    is SpikingJelly's (it equals ``ceil(9 n / 10)`` for 0.9 and every n up to 20,000).

    Raises:
        ValueError: a recording not directly in a class folder (SpikingJelly's converters read
            ``<class>/<recording>`` only), naming it.
    """
    by_class: dict[str, list[tuple[str, ...]]] = {}
    for p in parts:
        if len(p) != 2:
            raise ValueError(f"{'/'.join(p)}: not directly in a class folder, and SpikingJelly's datasets read only "
                             "<class>/<recording>")
        by_class.setdefault(p[0], []).append(p)
    split: dict[str, list[tuple[str, ...]]] = {"train": [], "test": []}
    for name in sorted(by_class):
        members = sorted(by_class[name], key=lambda p: spikingjelly_name(p[1]))
        cut = math.ceil(len(members) * train_ratio)
        split["train"] += members[:cut]
        split["test"] += members[cut:]
    return split


@dataclasses.dataclass(frozen=True)
class CameraSpec(frames.FrameOptions, raster.TimeWindow):
    """How to turn a split folder of camera recordings into records ``[T, P, H, W]`` (a voxel
    grid: ``[T, 1, H, W]``), framed as :class:`~spyx_data.builder.frames.FrameOptions` say.

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
        split: None (the dataset's rule: its official splits, or the seeded one) or
            :data:`SPIKINGJELLY` (:func:`spikingjelly_split`, for a dataset without official
            splits; then ``split_seed`` is None).
        frames, values, overlap, denoise_us: the representation
            (:class:`~spyx_data.builder.frames.FrameOptions`); a voxel grid needs the sensor's
            2 polarities, unmerged.
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
    split: str | None = option(None, "spikingjelly: SpikingJelly's split_to_train_test_set(0.9, ...), the first "
                               "ceil(0.9 n) recordings of each class in its order (default: the seeded split)",
                               "choice", (SPIKINGJELLY,))

    FIRST_SACCADE_US = 100_000

    @classmethod
    def for_dataset(cls, info: Any, sample_T: int | None, duration_ms: int | None, **options: Any) -> CameraSpec:
        """The spec of a registry entry (``info``) of this family (a window left None: the
        entry's); a seeded split's seed is 0 and its test fraction the entry's, unless given.

        Raises:
            UsageError: ``split`` for a dataset with official splits, or with ``split_seed`` or
                ``test_fraction``.
        """
        if options.get("split") is not None:
            if info.seeded_test_fraction is None:
                raise UsageError(f"{info.name} has official train/test splits: drop --split")
            seeded = sorted(k for k in ("split_seed", "test_fraction") if options.get(k) is not None)
            if seeded:
                raise UsageError(f"--split={options['split']} takes the first ceil(0.9 n) recordings of each class in "
                                 f"SpikingJelly's order, no seed or fraction: drop --{seeded[0]}")
        elif info.seeded_test_fraction is not None:
            options = seeded_options(options, info.seeded_test_fraction)
        return cls(info.name, info.sensor, info.files, info.classes, sample_T or info.sample_T,
                   duration_ms or info.duration_ms, **options)

    def __post_init__(self) -> None:
        if not isinstance(self.spatial_factor, int) or self.spatial_factor < 1:
            raise ValueError(f"spatial_factor must be a positive integer, got {self.spatial_factor!r}")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if self.split not in (None, SPIKINGJELLY):
            raise ValueError(f"split must be {SPIKINGJELLY} or None, got {self.split!r}")
        if self.split is not None and self.split_seed is not None:
            raise ValueError(f"split={self.split} has no seed: leave split_seed None")
        self.duration_us  # noqa: B018 (checks the window)
        self.check_frame_options()
        framing.check_voxel_sensor(self.frames, self.sensor[2], self.merge_polarity)
        if self.events and (self.spatial_factor != 1 or self.merge_polarity):
            given = "--spatial_factor" if self.spatial_factor != 1 else "--merge_polarity"
            raise ValueError(f"an events build keeps the sensor's full resolution and polarities, so that any frames "
                             f"can be made of it later: drop {given}")

    @property
    def source_suffix(self) -> str:
        """A source is the folder of these files (see :func:`spyx_data.builder.inputs.fingerprint`)."""
        return self.files.suffix

    @property
    def frame_sensor(self) -> tuple[int, int, int]:
        """The sensor ``(W, H, P)`` of the frames: downsampled, one polarity where merged."""
        polarities, height, width = raster.frame_shape(self.sensor, self.spatial_factor, self.merge_polarity)
        return width, height, polarities

    @property
    def layout(self) -> records.RecordLayout:
        return self.record_layout(self.sensor, spatial_factor=self.spatial_factor, merge_polarity=self.merge_polarity)

    def config(self) -> dict[str, Any]:
        """The build parameters the record bytes depend on (stored in the manifest): the frame
        options only where not at their defaults, so default builds keep their names."""
        config = self.spec_config("files")
        config["sensor"] = list(self.sensor)
        config["time_origin"] = self.files.time_origin
        config["classes"] = list(self.classes) if self.classes else "sorted class folders"
        if self.split_seed is None:
            del config["split_seed"], config["test_fraction"]
        if self.split is None:  # builds before --split keep their names
            del config["split"]
        return config

    def prepare(self) -> None:
        """Nothing to import ahead: reading needs numpy only."""

    def open(self, split: str, location: str) -> FolderReader:
        return FolderReader(self, split, location)


class FolderReader(GroupedReader):
    """The recordings of one split, listed once; rasterises groups of them.

    A group is consecutive recordings holding at most :attr:`EVENTS_PER_GROUP` decoded events
    together (and at most :attr:`group_samples` recordings); a recording with more is a group
    of its own, decoded and rasterised a chunk of at most that many events at a time. So the
    events held at once are bounded however long the recordings are, where a format reads in
    pieces (see :mod:`spyx_data.builder.events`). The rasters are those of whole recordings.

    That bound holds for the builds' own framing (the window, binary, no denoise). Any other
    framing (:class:`~spyx_data.builder.frames.FrameOptions`) needs a recording's events
    together (tonic's and SpikingJelly's frames stretch over each recording, denoise looks back
    over it): each recording is decoded whole and framed alone, so a build holds one
    recording's events at a time, however long it is.
    """

    EVENTS_PER_GROUP = raster.EVENTS_PER_PASS

    def __init__(self, spec: CameraSpec, split: str, root: str):
        self.spec = spec
        self.root = root
        parts = paths.list_files(root, spec.files.suffix)
        self.classes = spec.classes or tuple(sorted({class_folder(p) for p in parts if len(p) > 1}))
        if spec.split == SPIKINGJELLY:
            try:
                parts = spikingjelly_split(parts)[split]
            except ValueError as e:
                raise InputError(f"{root}: --split={SPIKINGJELLY}: {e}") from e
        elif spec.split_seed is not None:
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

    def members(self) -> list[str]:
        """Each record's recording: its path relative to the split's folder, ``/``-separated."""
        return ["/".join(p) for p in self.parts]

    @property
    def num_classes(self) -> int:
        """Labels are in ``0..num_classes-1``."""
        return len(self.classes)

    def path(self, index: int) -> str:
        return paths.join(self.root, *self.parts[index])

    def chunks(self, path: str, local: str) -> Iterator[Events]:
        """The events of the recording at ``path`` (read from ``local``, a local copy of it) as
        tonic gives them, before recentring, the time origin and the window cut: non-empty
        chunks of at most :attr:`EVENTS_PER_GROUP` events."""
        return self.spec.files.decode(local, path, self.EVENTS_PER_GROUP)

    def rasters(self, start: int, stop: int) -> Iterator[Rasters]:
        """Recordings ``[start, stop)`` rasterised, in groups (see the class docstring).

        Raises:
            InputError: naming the file, for an undecodable file or an event off the sensor;
                with other framing (see the class docstring), also for events out of time
                order under a mode that splits by time or a voxel grid.
        """
        if not self.spec.default_framing:
            yield from self._framed(start, stop)
            return
        group: list[Events] = []
        held, size = 0, self.group_samples
        for i in range(start, stop):
            path = self.path(i)
            with local_file(path) as local:
                chunks = self.chunks(path, local)
                taken = list(itertools.islice(chunks, 2))
                if len(taken) == 2:
                    if group:
                        yield self._group(i - len(group), group)
                        group, held = [], 0
                    rest = itertools.chain(taken, chunks)
                    del taken  # held by ``rest`` only until read
                    yield self._long(i, path, local, rest)
                    continue
            recording = taken[0] if taken else whole([])
            if group and (held + len(recording.t) > self.EVENTS_PER_GROUP or len(group) == size):
                yield self._group(i - len(group), group)
                group, held = [], 0
            group.append(recording)
            held += len(recording.t)
        if group:
            yield self._group(stop - len(group), group)

    def _prepared(self, chunk: Events, origin: tuple[int, int, int] | None) -> tuple[Events, int]:
        """A recording's events (or a chunk of them) from its origin, less those
        ``first_saccade_only`` drops; how many it dropped."""
        return self._first_saccade(self.spec.files.from_origin(chunk, origin))

    def _first_saccade(self, moved: Events) -> tuple[Events, int]:
        """``moved`` (timed from its origin) less the events ``first_saccade_only`` drops; how many."""
        if not self.spec.first_saccade_only:
            return moved, 0
        early = moved.t < self.spec.FIRST_SACCADE_US
        return Events(*(a[early] for a in moved)), int(np.count_nonzero(~early))

    def _framed(self, start: int, stop: int) -> Iterator[Rasters]:
        """Recordings ``[start, stop)`` framed by the spec's frame options, in groups of at most
        :attr:`group_samples`, each recording decoded whole (see the class docstring)."""
        for first in range(start, stop, self.group_samples):
            last = min(first + self.group_samples, stop)
            framed = [self._frame_file(i) for i in range(first, last)]
            counts = sum((c for _, c in framed), raster.RasterCounts())
            obs = [columns for columns, _ in framed] if self.spec.events else np.stack([obs for obs, _ in framed])
            yield Rasters(first, obs, self.labels[first:last], counts)

    def _frame_file(self, index: int) -> tuple[Any, raster.RasterCounts]:
        """Recording ``index`` decoded whole and framed (:meth:`_frame`), or for an events build its
        columns (:meth:`_event_columns`); a fault of its events is an
        :class:`~spyx_data.errors.InputError` naming the file."""
        path = self.path(index)
        with local_file(path) as local:
            recording = whole(self.chunks(path, local))
        try:
            return self._event_columns(recording) if self.spec.events else self._frame(recording)
        except ValueError as e:
            raise InputError(f"{path}: {e}") from e

    def _events(self, recording: Events) -> tuple[Events, raster.RasterCounts]:
        """One whole recording's events as they are framed, at full resolution, and the counts.

        In tonic's order: the origin of the unfiltered recording; recentred (as tonic's reader
        does); N-MNIST's first saccade (tonic's dataset class, before any transform); denoise
        (:func:`~spyx_data.builder.frames.denoise`) on these events with their times as stored,
        so its mask is tonic's ``Denoise`` event for event; timed from the origin.

        Raises:
            ValueError: an event off the sensor.
        """
        spec = self.spec
        origin = spec.files.origin([recording])
        moved = spec.files.from_origin(recording, origin)
        frames.camera_cells(moved.x, moved.y, moved.p, spec.sensor)  # refuses an event off the sensor, naming it
        moved, late = self._first_saccade(moved)
        counts = raster.RasterCounts(events=len(recording.t), dropped_outside_window=late,
                                     empty_samples=int(len(moved.t) == 0))
        if spec.denoise_us:
            keep = frames.denoise(moved.t + origin[0], moved.x, moved.y, spec.denoise_us)
            moved = Events(*(a[keep] for a in moved))
            counts += raster.RasterCounts(dropped_by_denoise=int(keep.size - np.count_nonzero(keep)))
        return moved, counts

    def _event_columns(self, recording: Events) -> tuple[tuple[np.ndarray, ...], raster.RasterCounts]:
        """One whole recording as its events record's columns ``(t, x, y, p)`` (:meth:`_events`)
        and its counts, ``stored_events`` among them.

        Raises:
            ValueError: an event off the sensor, or timed before the origin or 2**32 us or more
                after it (an events record's times are uint32 microseconds).
        """
        moved, counts = self._events(recording)
        columns = (moved.t, moved.x, moved.y, moved.p)
        self.spec.layout.check_events(columns)
        return columns, counts + raster.RasterCounts(stored_events=len(moved.t))

    def _frame(self, recording: Events) -> tuple[np.ndarray, raster.RasterCounts]:
        """One whole recording as its record's ``obs`` (:attr:`CameraSpec.layout`) and its counts:
        its events (:meth:`_events`) downsampled (``x // spatial_factor``, tonic's
        ``Downsample(spatial_factor=1/f)``), the polarities merged where asked, and framed
        (:func:`~spyx_data.builder.frames.frame_events` or :func:`~spyx_data.builder.frames.voxel_grid`).

        Raises:
            ValueError: an event off the sensor, a negative time (window), events out of time
                order (time-split modes, voxel grid).
        """
        spec = self.spec
        moved, counts = self._events(recording)
        t = np.asarray(moved.t).astype(np.int64, copy=False)
        x, y = (np.asarray(c).astype(np.int64, copy=False) // spec.spatial_factor for c in (moved.x, moved.y))
        p = np.zeros_like(x) if spec.merge_polarity else moved.p
        if spec.frames == "voxel_grid":
            obs = frames.voxel_grid(t, x, y, p, spec.frame_sensor, spec.sample_T)
            at_last = int(np.count_nonzero(t == t[-1])) if t.size else 0  # tonic's bin T: dropped
            return obs, counts + raster.RasterCounts(dropped_by_frames=at_last)
        cells, dims = frames.camera_cells(x, y, p, spec.frame_sensor)
        obs, framed = frames.frame_events(spec, t, cells, dims, spec.sample_T, spec.duration_us)
        outside = "dropped_outside_window" if spec.frames == "window" else "dropped_by_frames"
        return obs, counts + raster.RasterCounts(clipped_cells=framed.clipped, **{outside: framed.outside})

    def _frames(self, first: int, recordings: list[Events], first_event: int = 0
                ) -> tuple[np.ndarray, raster.RasterCounts]:
        """Frames of the recordings from ``first`` on (:func:`raster.camera_rasters`)."""
        spec = self.spec
        try:
            return raster.camera_rasters(recordings, spec.sample_T, spec.duration_us, spec.sensor,
                                         spec.spatial_factor, spec.merge_polarity, first_event=first_event)
        except raster.BadSample as e:
            raise InputError(f"{self.path(first + e.sample)}: {e.reason}") from e

    def _group(self, first: int, recordings: list[Events]) -> Rasters:
        """Rasterise whole recordings ``first, first + 1, ...``."""
        prepared, late = [], 0
        for recording in recordings:
            moved, dropped = self._prepared(recording, None)
            prepared.append(moved)
            late += dropped
        obs, counts = self._frames(first, prepared)
        counts += raster.RasterCounts(events=late, dropped_outside_window=late)
        return Rasters(first, obs, self.labels[first : first + len(recordings)], counts)

    def _long(self, index: int, path: str, local: str, chunks: Iterator[Events]) -> Rasters:
        """Rasterise recording ``index`` from ``chunks`` of it, ORing each chunk's frames into
        the recording's. The origin is taken from the first chunk (with a time origin at the
        first event, the earliest in a file sorted by time); where a later chunk moves it (events
        out of order, or recentring), the recording is read again from ``local``: once to find
        the origin, once to rasterise."""
        files = self.spec.files
        first = next(chunks)
        origin = files.origin([first])
        chunks = itertools.chain([first], chunks)
        del first  # held by ``chunks`` only until read
        rasters = self._chunk_rasters(index, chunks, origin)
        if rasters is None:
            rasters = self._chunk_rasters(index, self.chunks(path, local), files.origin(self.chunks(path, local)))
        return rasters

    def _chunk_rasters(self, index: int, chunks: Iterable[Events], origin: tuple[int, int, int]) -> Rasters | None:
        """Rasterise recording ``index`` from ``chunks`` of it timed from ``origin``; None as soon
        as a chunk would move the origin."""
        files = self.spec.files
        obs = np.zeros((1, *self.spec.layout.obs_shape), dtype=np.uint8)
        counts = raster.RasterCounts()
        kept = 0
        for chunk in chunks:
            if any(low < at for low, at in zip(files.origin([chunk]), origin)):
                return None
            moved, late = self._prepared(chunk, origin)
            frames, chunk_counts = self._frames(index, [moved], first_event=kept)
            obs |= frames
            counts += chunk_counts + raster.RasterCounts(events=late, dropped_outside_window=late)
            kept += len(moved.t)
        counts = dataclasses.replace(counts, empty_samples=int(kept == 0))
        return Rasters(index, obs, self.labels[index : index + 1], counts)
