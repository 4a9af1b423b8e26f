"""The registry of datasets the pipelines can build: one entry per dataset.

An entry says where tonic keeps each split (relative to tonic's ``save_to``), which tonic class
downloads it, the sensor, the classes, the default window, its family's spec class and the
options it takes and, for camera datasets, its module's recording format (decoder, labels) and
synthetic fixture. Adding a dataset is a module (its format and fixture, or a new family: spec
and reader) plus an entry here; CI then builds it from its fixture.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import Any

from spyx_data.builder import (
    asldvs,
    camera,
    cifar10dvs,
    dvsgesture,
    dvslip,
    heidelberg,
    ncaltech101,
    nmnist,
    ntidigits18,
    pokerdvs,
    smnist,
)
from spyx_data.builder.contracts import BuildSpec, options_of
from spyx_data.errors import UsageError

HEIDELBERG_SENSOR = (700, 1, 1)


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """One buildable dataset.

    Attributes:
        name: registry key, also the manifest's ``dataset``.
        tonic_class: ``tonic.datasets.<tonic_class>`` locates and downloads it.
        tonic_kwargs: per split, the constructor arguments selecting it.
        locations: per split, the h5 file or recordings folder, relative to ``save_to``.
        archives: per split, the archive whose presence tells tonic the data is there.
        sensor: tonic's ``sensor_size`` (``(700, 1, 1)`` for audio, ``(W, H, P)`` for cameras).
        classes: class names, label ``k`` is ``classes[k]`` (None: sorted class folders).
        sample_T, duration_ms: default time bins and window.
        family: the spec class of its family (:class:`heidelberg.AudioSpec`,
            :class:`camera.CameraSpec`).
        options: the spec's options (:func:`spyx_data.builder.contracts.option`) it takes.
        files: for camera datasets, how recordings are stored; None for the spike-train datasets.
        fixture: ``fixture(info, split, n, seed)`` -> the ``(path parts, bytes)`` of ``n``
            synthetic recordings laid out as the dataset's below the split's location (parts
            ``()``: the location is the file), from its module.
        seeded_test_fraction: no official split: train/test come from :func:`camera.seeded_split`
            over one folder, with this default test share.
        required: per split, the files below its location that must be there for the split to
            count as present, where splits share a folder (S-MNIST's idx files); else the
            location itself is enough.
        unfetchable: where tonic cannot fetch a missing split, why not and what to do instead
            (``{archive}`` and ``{folder}`` stand for the split's archive and where it goes); the
            build says so instead of calling tonic.
    """

    name: str
    tonic_class: str
    tonic_kwargs: dict[str, dict[str, Any]]
    locations: dict[str, str]
    archives: dict[str, str]
    sensor: tuple[int, int, int]
    classes: tuple[str, ...] | None
    sample_T: int
    duration_ms: int
    family: type
    options: tuple[str, ...]
    fixture: Callable[[DatasetInfo, str, int, int], Iterator[tuple[tuple[str, ...], bytes]]]
    files: camera.SampleFiles | None = None
    seeded_test_fraction: float | None = None
    required: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    unfetchable: str | None = None

    def __post_init__(self) -> None:
        foreign = sorted(set(self.options) - set(options_of(self.family)))
        if foreign:
            raise ValueError(f"{self.name}: {self.family.__name__} has no option {', '.join(foreign)}")

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.locations)

    def is_present(self, split: str, location: str) -> bool:
        """Whether ``split`` is at ``location`` (a local path): the location and the split's
        :attr:`required` files exist."""
        return os.path.exists(location) and all(os.path.exists(os.path.join(location, f))
                                                 for f in self.required.get(split, ()))

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


def _heidelberg(name: str, tonic_class: str, classes: tuple[str, ...], splits: dict[str, dict]) -> DatasetInfo:
    folder = tonic_class
    return DatasetInfo(
        name=name,
        tonic_class=tonic_class,
        tonic_kwargs=splits,
        locations={s: f"{folder}/{name}_{s}.h5" for s in splits},
        archives={s: f"{folder}/{name}_{s}.h5.zip" for s in splits},
        sensor=HEIDELBERG_SENSOR,
        classes=classes,
        sample_T=128,
        duration_ms=1000,
        family=heidelberg.AudioSpec,
        options=("channels",),
        fixture=heidelberg.fixture,
    )


REGISTRY: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        _heidelberg("shd", "SHD", heidelberg.SHD_CLASSES, {"train": {"train": True}, "test": {"train": False}}),
        _heidelberg(
            "ssc",
            "SSC",
            heidelberg.SSC_CLASSES,
            {"train": {"split": "train"}, "valid": {"split": "valid"}, "test": {"split": "test"}},
        ),
        DatasetInfo(
            name="nmnist",
            tonic_class="NMNIST",
            tonic_kwargs={"train": {"train": True}, "test": {"train": False}},
            locations={"train": "NMNIST/Train", "test": "NMNIST/Test"},
            archives={"train": "NMNIST/train.zip", "test": "NMNIST/test.zip"},
            sensor=(34, 34, 2),
            classes=nmnist.CLASSES,
            sample_T=40,
            duration_ms=300,
            family=camera.CameraSpec,
            options=("spatial_factor", "merge_polarity", "first_saccade_only"),
            files=nmnist.FILES,
            fixture=nmnist.fixture,
        ),
        DatasetInfo(
            name="dvsgesture",
            tonic_class="DVSGesture",
            tonic_kwargs={"train": {"train": True}, "test": {"train": False}},
            locations={"train": "DVSGesture/ibmGestureTrain", "test": "DVSGesture/ibmGestureTest"},
            archives={"train": "DVSGesture/ibmGestureTrain.tar.gz", "test": "DVSGesture/ibmGestureTest.tar.gz"},
            sensor=(128, 128, 2),
            classes=("Hand clapping", "Right hand wave", "Left hand wave", "Right arm cw", "Right arm ccw",
                     "Left arm cw", "Left arm ccw", "Arm roll", "Air drums", "Air guitar", "Other gestures"),
            sample_T=60,
            duration_ms=6000,
            family=camera.CameraSpec,
            options=("spatial_factor", "merge_polarity"),
            files=dvsgesture.FILES,
            fixture=dvsgesture.fixture,
        ),
        DatasetInfo(
            name="pokerdvs",
            tonic_class="POKERDVS",
            tonic_kwargs={"train": {"train": True}, "test": {"train": False}},
            locations={"train": "POKERDVS/pips_train", "test": "POKERDVS/pips_test"},
            archives={"train": "POKERDVS/pips_train.tar.gz", "test": "POKERDVS/pips_test.tar.gz"},
            sensor=(35, 35, 2),
            classes=("cl", "he", "di", "sp"),
            sample_T=30,
            duration_ms=30,
            family=camera.CameraSpec,
            options=("spatial_factor", "merge_polarity"),
            files=pokerdvs.FILES,
            fixture=pokerdvs.fixture,
            unfetchable="tonic 1.7 copies POKERDVS from an archive in its own source tree, which its wheel does "
            "not ship: take {archive} from tonic's repository (tonic/datasets/{archive}) and extract it into {folder}",
        ),
        DatasetInfo(
            name="ncaltech101",
            tonic_class="NCALTECH101",
            tonic_kwargs={"train": {}, "test": {}},
            locations={"train": "NCALTECH101/Caltech101", "test": "NCALTECH101/Caltech101"},
            archives={"train": "NCALTECH101/N-Caltech101-archive.zip", "test": "NCALTECH101/N-Caltech101-archive.zip"},
            sensor=(240, 180, 2),
            classes=None,
            sample_T=30,
            duration_ms=300,
            family=camera.CameraSpec,
            options=("spatial_factor", "merge_polarity", "split_seed", "test_fraction"),
            files=ncaltech101.FILES,
            fixture=ncaltech101.fixture,
            seeded_test_fraction=0.2,
        ),
        DatasetInfo(
            name="cifar10dvs",
            tonic_class="CIFAR10DVS",
            tonic_kwargs={"train": {}, "test": {}},
            locations={"train": "CIFAR10DVS", "test": "CIFAR10DVS"},
            archives={"train": "CIFAR10DVS/CIFAR10DVS.zip", "test": "CIFAR10DVS/CIFAR10DVS.zip"},
            sensor=(128, 128, 2),
            classes=cifar10dvs.CLASSES,
            sample_T=10,
            duration_ms=1300,
            family=camera.CameraSpec,
            options=("spatial_factor", "merge_polarity", "split_seed", "test_fraction"),
            files=cifar10dvs.FILES,
            fixture=cifar10dvs.fixture,
            seeded_test_fraction=0.1,
        ),
        DatasetInfo(
            name="asldvs",
            tonic_class="ASLDVS",
            tonic_kwargs={"train": {}, "test": {}},
            locations={"train": "ASLDVS", "test": "ASLDVS"},
            archives={"train": "ASLDVS/ASLDVS.zip", "test": "ASLDVS/ASLDVS.zip"},
            sensor=(240, 180, 2),
            classes=asldvs.CLASSES,
            sample_T=10,
            duration_ms=100,
            family=camera.CameraSpec,
            options=("spatial_factor", "merge_polarity", "split_seed", "test_fraction"),
            files=asldvs.FILES,
            fixture=asldvs.fixture,
            seeded_test_fraction=0.2,
        ),
        DatasetInfo(
            name="dvslip",
            tonic_class="DVSLip",
            tonic_kwargs={"train": {"train": True}, "test": {"train": False}},
            locations={"train": "DVSLip/DVS-Lip/train", "test": "DVSLip/DVS-Lip/test"},
            archives={"train": "DVSLip/DVS-Lip.zip", "test": "DVSLip/DVS-Lip.zip"},
            sensor=(128, 128, 2),
            classes=dvslip.CLASSES,
            sample_T=30,
            duration_ms=1200,
            family=camera.CameraSpec,
            options=("spatial_factor", "merge_polarity"),
            files=dvslip.FILES,
            fixture=dvslip.fixture,
            unfetchable="DVS-Lip is on Google Drive, which tonic 1.7 does not download from: download {archive} "
            "from https://drive.google.com/file/d/1dBEgtmctTTWJlWnuWxFtk8gfOdVVpkQ0/view and extract it into "
            "{folder}",
        ),
        DatasetInfo(
            name="ntidigits18",
            tonic_class="NTIDIGITS18",
            tonic_kwargs={split: {"train": split == "train", "single_digits": True} for split in ("train", "test")},
            locations={"train": "NTIDIGITS18/n-tidigits.hdf5", "test": "NTIDIGITS18/n-tidigits.hdf5"},
            archives={"train": "NTIDIGITS18/n-tidigits.hdf5", "test": "NTIDIGITS18/n-tidigits.hdf5"},
            sensor=(ntidigits18.UNITS, 1, 1),
            classes=ntidigits18.CLASSES,
            sample_T=100,
            duration_ms=1000,
            family=ntidigits18.Spec,
            options=("channels",),
            fixture=ntidigits18.fixture,
        ),
        DatasetInfo(
            name="smnist",
            tonic_class="SMNIST",
            tonic_kwargs={"train": {"train": True}, "test": {"train": False}},
            locations={"train": "smnist", "test": "smnist"},
            archives={split: f"smnist/{images}" for split, (images, _) in smnist.FILES.items()},
            required=smnist.FILES,
            sensor=(99, 1, 1),
            classes=nmnist.CLASSES,
            sample_T=smnist.PIXELS,
            duration_ms=2 * smnist.PIXELS,
            family=smnist.Spec,
            options=("num_neurons", "dt", "duplicate"),
            fixture=smnist.fixture,
        ),
    ]
}


def get(name: str) -> DatasetInfo:
    """The registry entry for ``name``.

    Raises:
        UsageError: an unknown name, listing the known ones.
    """
    try:
        return REGISTRY[name.lower()]
    except KeyError:
        raise UsageError(f"unknown dataset {name!r}; known: {', '.join(sorted(REGISTRY))}") from None
