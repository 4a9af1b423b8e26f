"""What a dataset plugs into the build: its spec and the reader of one split's source.

A *source* is what a split is built from: one file (an h5, a ``.npz``) or a folder of
recordings. A :class:`BuildSpec` says how to turn a source into records; its :meth:`open` gives
a :class:`SplitReader`, which hands out the rasterised samples in groups (:class:`Rasters`);
:class:`GroupedReader` is the shared loop every reader builds on. The Beam transforms
(``pipelines.transforms``) call nothing else of a dataset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from spyx_data.builder.raster import RasterCounts
from spyx_data.format.records import MAX_RECORD_BYTES, RecordLayout


@dataclasses.dataclass(frozen=True)
class Rasters:
    """Source samples ``[start, start + n)`` rasterised, ready for :meth:`RecordLayout.encode`."""

    start: int
    obs: np.ndarray  # uint8 [n, *obs_shape]
    labels: np.ndarray  # int [n]
    counts: RasterCounts


class SplitReader(Protocol):
    """One split's source, opened: its samples rasterised, in source order."""

    @property
    def num_classes(self) -> int:
        """Labels lie in ``0..num_classes-1``."""

    def __len__(self) -> int:
        """The number of samples."""

    def members(self) -> list[str]:
        """The source sample of each record, in record order: a recording's path relative to the
        source folder (``/``-separated), else the sample's index in its source (``"17"``). The
        manifest records their digest (:func:`spyx_data.format.manifest.members_digest`)."""

    def rasters(self, start: int, stop: int) -> Iterator[Rasters]:
        """Samples ``[start, stop)`` rasterised, in source order, a group at a time."""

    def close(self) -> None:
        """Release what the reader holds open."""


class BuildSpec(Protocol):
    """How a dataset's sources turn into records; picklable (Beam ships it to the workers). A
    spec class is a frozen dataclass whose :func:`option` fields are the build options of the
    datasets that use it, made for a registry entry by ``for_dataset(info, sample_T,
    duration_ms, **options)``."""

    dataset: str  # the registry name, the manifest's ``dataset``
    #: None: a source is one file; else the suffix of its files below a folder.
    source_suffix: str | None

    @property
    def layout(self) -> RecordLayout:
        """The records' layout."""

    def config(self) -> dict[str, Any]:
        """The parameters the record bytes depend on (JSON values; stored in the manifest)."""

    def prepare(self) -> None:
        """Import what reading needs, once per worker."""

    def open(self, split: str, location: str) -> SplitReader:
        """A reader of ``split``'s source at ``location`` (a local path or a Beam URL)."""


#: How an option's flag value is read: ``switch`` takes no value (sets True); ``bool`` takes
#: ``true`` or ``false`` (for an option that is on by default).
#: ``choice`` takes one of the option's ``choices``.
OPTION_KINDS = ("positive_int", "int", "float", "switch", "bool", "choice")


def option(default: Any, help: str, kind: str, choices: tuple[str, ...] = (), kw_only: bool = False) -> Any:
    """A spec field that is also a build option: ``pipelines.tonic`` makes it the flag
    ``--<name>`` (``help``, read as ``kind``, one of :data:`OPTION_KINDS`; a ``choice`` among
    ``choices``), and a registry entry names the options its dataset takes. ``kw_only``: the
    field is a keyword of the spec's constructor (for options a mixin adds)."""
    if kind not in OPTION_KINDS or (kind == "choice") != bool(choices):
        raise ValueError(f"kind must be one of {OPTION_KINDS}, with choices exactly for 'choice'; got {kind!r}")
    metadata = {"help": help, "kind": kind, **({"choices": choices} if choices else {})}
    return dataclasses.field(default=default, metadata=metadata, kw_only=kw_only)


def options_of(spec_class: type) -> dict[str, dataclasses.Field]:
    """The option fields of a spec class (:func:`option`), by name."""
    return {f.name: f for f in dataclasses.fields(spec_class) if "kind" in f.metadata}


class GroupedReader:
    """The loop a reader shares: :meth:`rasters` cuts a range into groups of :attr:`group_samples`
    samples, each rasterised in one go by :meth:`rasterise`, vectorised over the group (and for
    h5 files one slice: slicing variable-length data is about 10x faster than sample by sample).

    A group is bounded by the bytes of its records (:attr:`GROUP_BYTES`) and the rasteriser by
    the events of one pass (:data:`spyx_data.builder.raster.EVENTS_PER_PASS`), so a build's memory
    does not grow with the size of its samples; a reader whose samples can be long reads them
    in bounded pieces too (:class:`spyx_data.builder.camera.FolderReader`).
    """

    #: At most this many samples in a group.
    MAX_SAMPLES = 64
    #: A group's records take at most this many bytes (or one record).
    GROUP_BYTES = MAX_RECORD_BYTES

    spec: BuildSpec

    @property
    def group_samples(self) -> int:
        """Samples in a group: :attr:`MAX_SAMPLES`, fewer where their records would take more
        than :attr:`GROUP_BYTES`, at least one; events records (of their samples' sizes)
        :attr:`MAX_SAMPLES`."""
        layout = self.spec.layout
        return self.MAX_SAMPLES if layout.events else max(1, min(self.MAX_SAMPLES, self.GROUP_BYTES // layout.record_bytes))

    def members(self) -> list[str]:
        """Sample ``i`` is index ``i`` of the source (readers of recordings say otherwise)."""
        return [str(i) for i in range(len(self))]

    def rasters(self, start: int, stop: int) -> Iterator[Rasters]:
        size = self.group_samples
        for first in range(start, stop, size):
            yield self.rasterise(first, min(first + size, stop))

    def rasterise(self, start: int, stop: int) -> Rasters:
        """Samples ``[start, stop)``, at most :attr:`group_samples` of them, rasterised."""
        raise NotImplementedError

    def close(self) -> None:
        pass
