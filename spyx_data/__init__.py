"""spyx_data: read spike datasets prebuilt by the spyx-data Beam pipelines.

The reader side needs numpy, jax, grain and array-record only (no Beam, no tonic); jax and
grain are imported when first used, so ``import spyx_data`` in a Beam worker costs numpy. The
encoders (``rate_code``, ``RateCode``, ...) live in :mod:`spyx_data.encoders` and load it on
first access, the on-device event augmentations (``DropEvent``, ``EventMix``, ``sample_keys``, ...)
in :mod:`spyx_data.read.augment`, likewise. The errors spyx-data raises on purpose are exported here too.

The package has three wings: ``spyx_data.format`` (the records, manifest, shard plan and
Riegeli layout: the contract between builds and readers), ``spyx_data.read`` (what a training
job runs) and ``spyx_data.builder`` (the numpy side of a build, which the Beam pipelines call);
``import spyx_data`` loads the first two only (see docs/architecture.md).
"""

import importlib

from spyx_data.errors import (
    BuildError,
    Error,
    InputError,
    Interrupted,
    MachineError,
    ManifestError,
    NoBuild,
    RecordError,
    ShardError,
    UsageError,
)
from spyx_data.format.manifest import Manifest, read_manifest
from spyx_data.format.records import RecordLayout
from spyx_data.loaders import NMNIST_loader, SHD_loader
from spyx_data.read.event_split import SplitEvents, load_events
from spyx_data.read.loader import GrainLoader, State
from spyx_data.read.prestage import batch_sharding, load_split, prestage
from spyx_data.read.split import SplitSource, open_split

__version__ = "0.1.0"
_ENCODERS = (
    "AngleCode",
    "LatencyCode",
    "RateCode",
    "ShiftAugment",
    "angle_code",
    "latency_code",
    "rate_code",
    "shift_augment",
    "shuffler",
)
_AUGMENTATIONS = (
    "Compose",
    "DropByArea",
    "DropByTime",
    "DropEvent",
    "DropEventByArea",
    "DropEventByTime",
    "EventMix",
    "RandomFlipLR",
    "RandomFlipPolarity",
    "RandomFlipUD",
    "SpatialJitter",
    "TimeJitter",
    "TimeSkew",
    "UniformNoise",
    "sample_keys",
)
__all__ = [
    *_ENCODERS,
    *_AUGMENTATIONS,
    # what spyx-data raises on purpose (spyx_data.errors)
    "BuildError",
    "Error",
    "InputError",
    "Interrupted",
    "MachineError",
    "ManifestError",
    "NoBuild",
    "RecordError",
    "ShardError",
    "UsageError",
    "EventFrames",
    "EventFramesSource",
    "Frames",
    "GrainLoader",
    "Manifest",
    "NMNIST_loader",
    "RecordLayout",
    "SHD_loader",
    "SplitEvents",
    "SplitSource",
    "batch_sharding",
    "State",
    "load_events",
    "load_split",
    "open_split",
    "prestage",
    "read_manifest",
]


def __getattr__(name: str):
    if name in _ENCODERS:
        return getattr(importlib.import_module("spyx_data.encoders"), name)
    if name == "EventFrames":
        return importlib.import_module("spyx_data.read.event_loader").EventFrames
    if name == "EventFramesSource":
        return importlib.import_module("spyx_data.read.event_frames").EventFramesSource
    if name == "Frames":
        return importlib.import_module("spyx_data.format.framing").Frames
    if name in _AUGMENTATIONS:
        return getattr(importlib.import_module("spyx_data.read.augment"), name)
    raise AttributeError(f"module 'spyx_data' has no attribute {name!r}")
