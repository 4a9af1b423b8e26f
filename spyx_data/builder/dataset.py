"""What a dataset module declares about its dataset: a :class:`DatasetInfo`, as ``DATASET``.

A dataset has one home, its module in ``spyx_data/builder/`` (``nmnist.py``, ``ncars.py``, ...):
its file format, how a recording is labelled, its synthetic fixture and its ``DATASET``, which
says where each split lies, the sensor, the classes, the default window, the family that builds
it and the options it takes, and, for a dataset tonic has, tonic's class that fetches it.
:mod:`spyx_data.builder.registry` lists the modules, one a line.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import Any

from spyx_data import paths
from spyx_data.builder.camera import SampleFiles
from spyx_data.builder.contracts import BuildSpec, options_of
from spyx_data.builder.frames import FrameOptions
from spyx_data.errors import UsageError


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetInfo:
    """One buildable dataset.

    Attributes:
        name: registry key (the name of its module), also the manifest's ``dataset``.
        locations: per split, the h5 file or recordings folder, relative to ``data_dir``
            (tonic's ``save_to``).
        sensor: tonic's ``sensor_size`` (``(700, 1, 1)`` for audio, ``(W, H, P)`` for cameras).
        classes: class names, label ``k`` is ``classes[k]`` (None: sorted class folders).
        sample_T, duration_ms: default time bins and window.
        family: the spec class of its family (:class:`heidelberg.AudioSpec`,
            :class:`camera.CameraSpec`, ...).
        options: the spec's options (:func:`spyx_data.builder.contracts.option`) it takes; a
            family that frames events (:class:`~spyx_data.builder.frames.FrameOptions`) adds
            the frame options to every dataset of it.
        fixture: ``fixture(info, split, n, seed)`` -> the ``(path parts, bytes)`` of ``n``
            synthetic recordings laid out as the dataset's below the split's location (parts
            ``()``: the location is the file), from its module.
        files: for camera datasets, how recordings are stored; None for the spike-train datasets.
        tonic_class: ``tonic.datasets.<tonic_class>`` locates and downloads it; None for a
            dataset tonic lacks (then :attr:`unfetchable` says where its files go).
        tonic_kwargs: per split, the constructor arguments of :attr:`tonic_class` selecting it.
        archives: per split, the archive whose presence tells tonic the data is there (a
            dataset tonic lacks has none).
        seeded_test_fraction: no official split: train/test come from :func:`camera.seeded_split`
            over one folder, with this default test share.
        required: per split, the files below its location that must be there for the split to
            count as present, where splits share a folder (S-MNIST's idx files); else the
            location itself is enough.
        unfetchable: where nothing fetches a missing split (tonic cannot, or has no class for
            the dataset), why not and what to do instead, in words that complete ``<split> is
            not in <location>, and ...``; ``{split}``, ``{archive}`` (the file name of the
            split's archive) and ``{folder}`` (where it is extracted: the folder of the
            split's archive, or of its location where it has none) are filled in. The build
            says so instead of calling tonic.
    """

    name: str
    locations: dict[str, str]
    sensor: tuple[int, int, int]
    classes: tuple[str, ...] | None
    sample_T: int
    duration_ms: int
    family: type
    options: tuple[str, ...]
    fixture: Callable[[DatasetInfo, str, int, int], Iterator[tuple[tuple[str, ...], bytes]]]
    files: SampleFiles | None = None
    tonic_class: str | None = None
    tonic_kwargs: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    archives: dict[str, str] = dataclasses.field(default_factory=dict)
    seeded_test_fraction: float | None = None
    required: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    unfetchable: str | None = None

    def __post_init__(self) -> None:
        if issubclass(self.family, FrameOptions):
            framing = tuple(f.name for f in dataclasses.fields(FrameOptions))
            object.__setattr__(self, "options", tuple(dict.fromkeys((*self.options, *framing))))
        foreign = sorted(set(self.options) - set(options_of(self.family)))
        if foreign:
            raise ValueError(f"{self.name}: {self.family.__name__} has no option {', '.join(foreign)}")
        if self.tonic_class is None and self.unfetchable is None:
            raise ValueError(f"{self.name}: a dataset without a tonic class says where its files go (unfetchable)")
        if self.tonic_class is not None and set(self.tonic_kwargs) != set(self.locations):
            raise ValueError(f"{self.name}: tonic_kwargs must name every split, {sorted(self.locations)}")
        if not set(self.archives) <= set(self.locations):
            raise ValueError(f"{self.name}: archives of splits it does not have")

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.locations)

    def location(self, data_dir: str, split: str) -> str:
        """Where ``split`` lies under ``data_dir`` (a local path or a URL)."""
        return paths.join(data_dir, self.locations[split])

    def is_present(self, split: str, location: str) -> bool:
        """Whether ``split`` is at ``location`` (a local path): the location and the split's
        :attr:`required` files exist."""
        return os.path.exists(location) and all(os.path.exists(os.path.join(location, f))
                                                 for f in self.required.get(split, ()))

    def fetch_by_hand(self, data_dir: str, split: str) -> str | None:
        """What to do to put a missing ``split`` under ``data_dir`` where nothing fetches it
        (:attr:`unfetchable` filled in); None where tonic fetches it."""
        if self.unfetchable is None:
            return None
        archive = self.archives.get(split)
        extracted = os.path.dirname(paths.join(data_dir, archive) if archive else self.location(data_dir, split))
        return self.unfetchable.format(split=split, archive=os.path.basename(archive or ""), folder=extracted)

    @property
    def is_audio(self) -> bool:
        return self.files is None

    def spec(self, sample_T: int | None = None, duration_ms: int | None = None, **options: Any) -> BuildSpec:
        """The build spec, of :attr:`family`; ``options`` (None: the default) must be among
        :attr:`options`; a window left None is the family's default for the entry (mostly
        :attr:`sample_T` and :attr:`duration_ms`).

        Raises:
            UsageError: an option this dataset does not take.
            ValueError: a value out of range.
        """
        unknown = sorted(k for k, v in options.items() if v is not None and k not in self.options)
        if unknown:
            raise UsageError(f"{self.name} has no option {', '.join(unknown)}")
        given = {k: v for k, v in options.items() if v is not None}
        return self.family.for_dataset(self, sample_T, duration_ms, **given)
