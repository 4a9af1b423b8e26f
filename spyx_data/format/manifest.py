"""The manifest: the JSON file that makes a build visible to readers, and the key that names a build.

A build writes its shards first and ``manifest.json`` last, so a directory without a manifest
holds no dataset. Readers find shards only through the manifest (never a glob). Schema::

    {
      "format": "spyx-data", "manifest_version": 2,
      "dataset": "shd",
      "config": {...},                      # the parameters the bytes depend on
      "num_classes": 20,                    # every label is in 0..num_classes-1
      "record": {"version": 2, "header_bytes": 56, "sample_T": 128, "dims": [128],
                 "packed_shape": [16, 128], "record_bytes": 2104,
                 "packed_axis": 0, "bitorder": "big"},
                                            # other values: "values": "counts" (or "float32"),
                                            # "obs_shape": [128, 128], "obs_dtype": "<u2";
                                            # events: "values": "events", "sample_T": 0,
                                            # "columns": [["t", "<u4"], ["unit", "<u2"]],
                                            # "bytes_per_event": 6, no "record_bytes"
      "writer_options": "group_size:1,uncompressed",
      "splits": {
        "train": {"num_records": 8156,
                  "counts": {"events": ..., "dropped_nonfinite": ..., "dropped_outside_window": ...,
                             "empty_samples": ...},
                  "source": {"files": 1, "bytes": ..., "sha256": "...", "synthetic": false},
                  "members_sha256": "...",  # the split's samples (members_digest); older builds lack it
                  "shards": [{"path": "train-00000-of-00003.array_record", "first_index": 0,
                              "num_records": 2718, "num_bytes": ..., "sha256": "..."}, ...]}
      }
    }

The build's identity (:class:`BuildKey`) is everything its bytes depend on: dataset, config,
record layout, writer options and the content digest of each split's source (a split's members
follow from these, so their digest is not part of it). Its hash names the
build's folder and is written into every record, so a shard of another build is refused, and
so is a folder named as a build that holds another (:func:`check_folder_name`).

A manifest is strict JSON (RFC 8259): no ``NaN`` or ``Infinity``. Writing one, or naming a build
whose config holds such a value, is refused, and so is reading one.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from spyx_data import paths
from spyx_data.errors import ManifestError, NoBuild, UsageError
from spyx_data.format import plan, records

MANIFEST_NAME = "manifest.json"
FORMAT = "spyx-data"
MANIFEST_VERSION = 2
#: What a split may be called (it names shard files).
SPLIT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: The names :attr:`BuildKey.name` gives builds' folders: ``<dataset>-<12 hex digits>``.
BUILD_NAME = re.compile(r".+-[0-9a-f]{12}")


@dataclasses.dataclass(frozen=True)
class ShardInfo:
    """One shard file: ``path`` relative to the dataset directory, holding source indices
    ``[first_index, first_index + num_records)``."""

    path: str
    first_index: int
    num_records: int
    num_bytes: int
    sha256: str


@dataclasses.dataclass(frozen=True)
class SourceInfo:
    """What a split was built from: its files, their bytes, a ``sha256`` of their content
    (:func:`spyx_data.builder.inputs.fingerprint`) and whether spyx-data wrote it as synthetic data."""

    files: int
    bytes: int
    sha256: str
    synthetic: bool


@dataclasses.dataclass(frozen=True)
class SplitInfo:
    """A split: its records, shards, what rasterising counted, the source it was built from and
    ``members_sha256``, the digest of its samples (:func:`members_digest`; None in a manifest
    written before spyx-data recorded it)."""

    num_records: int
    shards: tuple[ShardInfo, ...]
    counts: dict[str, int]
    source: SourceInfo
    members_sha256: str | None = None

    @property
    def num_bytes(self) -> int:
        """The bytes of the split's shard files together."""
        return sum(shard.num_bytes for shard in self.shards)


def members_digest(source_sha256: str, members: Iterable[str]) -> str:
    """The ``members_sha256`` of a split: the sha256 of the UTF-8 text ``<source sha256>\\n``
    followed by a line ``<member>\\n`` per record, in record order.

    ``source_sha256`` is the content digest of the split's source (:class:`SourceInfo`: of the
    file, or of the folder's listing of relative paths, sizes and digests) and a member names
    the record's sample within it (:meth:`spyx_data.builder.contracts.SplitReader.members`: a
    recording's path relative to the source folder, else its index in the file). Nothing in it
    depends on where the data lies, so two builds have equal digests exactly when they took the
    same samples, in the same order, from sources of the same bytes.
    """
    text = source_sha256 + "\n" + "".join(f"{member}\n" for member in members)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclasses.dataclass(frozen=True, eq=False)
class BuildKey:
    """Everything the bytes of a build depend on; two builds with equal keys write equal bytes.

    Attributes:
        dataset: the registry name (the manifest's ``dataset``).
        config: the build parameters (JSON values), as the manifest stores them.
        layout: the record layout.
        writer_options: ArrayRecord's writer options.
        sources: per split, the ``sha256`` of its source (:class:`SourceInfo`).
    """

    dataset: str
    config: Mapping[str, Any]
    layout: records.RecordLayout
    writer_options: str
    sources: Mapping[str, str]

    @functools.cached_property
    def digest(self) -> bytes:
        """sha256 of the key's canonical JSON (sorted keys, the record schema version included)."""
        record = {"version": records.VERSION, "sample_T": self.layout.sample_T, "dims": list(self.layout.dims)}
        if not self.layout.packed:  # binary builds keep the names they had before other values existed
            record["values"] = self.layout.values
        if self.layout.events:
            record["columns"] = _columns_json(self.layout)
        identity = {
            "dataset": self.dataset,
            "config": self.config,
            "record": record,
            "writer_options": self.writer_options,
            "sources": dict(self.sources),
        }
        return hashlib.sha256(strict_json(identity, UsageError, "build option").encode()).digest()

    @property
    def name(self) -> str:
        """``<dataset>-<12 hex digits of the digest>`` (:data:`BUILD_NAME`): the folder the build
        lives in, under the output root, so a different build never touches another's folder."""
        return f"{self.dataset}-{self.digest.hex()[:12]}"

    @property
    def build_id(self) -> int:
        """The uint64 every record of the build carries (the digest's first 8 bytes)."""
        return int.from_bytes(self.digest[:8], "little")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BuildKey) and self.digest == other.digest

    def __hash__(self) -> int:
        return hash(self.digest)


@dataclasses.dataclass(frozen=True)
class Manifest:
    dataset: str
    config: dict[str, Any]
    num_classes: int
    layout: records.RecordLayout
    writer_options: str
    splits: dict[str, SplitInfo]

    @functools.cached_property
    def build_key(self) -> BuildKey:
        """The key of the build this manifest describes."""
        sources = {name: info.source.sha256 for name, info in self.splits.items()}
        return BuildKey(self.dataset, self.config, self.layout, self.writer_options, sources)

    @property
    def build_name(self) -> str:
        """The name of the folder this build lives in (:attr:`BuildKey.name`)."""
        return self.build_key.name

    def split(self, name: str) -> SplitInfo:
        if name not in self.splits:
            raise UsageError(f"no split {name!r}; this build has {sorted(self.splits)}")
        return self.splits[name]

    def check_records(self, found: np.ndarray, first_index: int | None = None) -> np.ndarray:
        """``found`` (structured records of :attr:`layout`) checked as belonging to this build:
        layout, source indices from ``first_index``, build id and label range
        (:meth:`spyx_data.format.records.RecordLayout.check`)."""
        return self.layout.check(found, first_index, self.build_key.build_id, self.num_classes)

    def decode(self, buffer: bytes | memoryview, first_index: int | None = None) -> np.ndarray:
        """Records decoded from ``buffer`` and checked as :meth:`check_records` does."""
        return self.layout.decode(buffer, first_index, self.build_key.build_id, self.num_classes)

    def decode_events(self, found: list[bytes], first_index: int | None = None) -> records.EventRecords:
        """Events records (one ``bytes`` each) decoded and checked as :meth:`check_records` does
        (:meth:`spyx_data.format.records.RecordLayout.decode_events`)."""
        return self.layout.decode_events(found, first_index, self.build_key.build_id, self.num_classes)

    def check_record(self, record: bytes, index: int) -> None:
        """Check one record (``bytes``) as record ``index`` of its split: :meth:`decode`, or
        :meth:`decode_events` for an events build.

        Raises:
            RecordError: see :meth:`spyx_data.format.records.RecordLayout.check`.
        """
        if self.layout.events:
            self.decode_events([record], index)
        else:
            self.decode(record, index)

    def require_frames(self, reader: str) -> records.RecordLayout:
        """The layout of this build's frames records, for ``reader`` (a function's name).

        Raises:
            UsageError: an events build, whose records hold events, not frames: saying to pass
                ``frames=Frames(...)`` or to read the events with ``spyx_data.load_events``.
        """
        if self.layout.events:
            raise UsageError(f"{self.build_name} is an events build (--frames=events): its records hold events, not "
                             f"frames; pass frames=Frames(...) to {reader} to make frames of them, or read the events "
                             "with spyx_data.load_events")
        return self.layout

    def to_json(self) -> str:
        """Deterministic JSON text (sorted keys, no timestamps): equal builds give equal bytes."""
        layout = self.layout
        doc = {
            "format": FORMAT,
            "manifest_version": MANIFEST_VERSION,
            "dataset": self.dataset,
            "config": self.config,
            "num_classes": self.num_classes,
            "record": _record_json(layout),
            "writer_options": self.writer_options,
            "splits": {name: _split_json(info) for name, info in self.splits.items()},
        }
        return strict_json(doc, ManifestError, "manifest value", indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, where: str = "manifest") -> Manifest:
        """Parse and validate manifest text; errors name ``where``.

        Raises:
            ManifestError: malformed JSON, unknown format or version, a value of the wrong type,
                a shard path that leaves the dataset directory or is not the shard's name, or
                record counts that do not add up.
        """
        try:
            doc = json.loads(text, parse_constant=_not_json, parse_float=_finite_float)
            if doc.get("format") != FORMAT or doc.get("manifest_version") != MANIFEST_VERSION:
                raise ManifestError(
                    f"not a {FORMAT} manifest of version {MANIFEST_VERSION} "
                    f"(format={doc.get('format')!r}, version={doc.get('manifest_version')!r}); "
                    "builds made by other versions of spyx-data must be built again"
                )
            rec = doc["record"]
            if rec["version"] != records.VERSION:
                raise ManifestError(f"record version {rec['version']}, this reader knows {records.VERSION}")
            values = rec.get("values", "binary")
            if values not in records.MAGICS:
                raise ManifestError(f"record values {values!r}, this reader knows {sorted(records.MAGICS)}")
            events = values == "events"
            layout = records.RecordLayout(_count(rec, "sample_T", 0 if events else 1),
                                          tuple(_count(rec, "dims", 1, many=True)), values)
            if events:
                if rec["columns"] != _columns_json(layout) or rec["bytes_per_event"] != layout.bytes_per_event:
                    raise ManifestError(f"event columns {rec['columns']} of {rec['bytes_per_event']} bytes, this reader "
                                        f"knows {_columns_json(layout)} of {layout.bytes_per_event} for dims "
                                        f"{list(layout.dims)}")
            elif rec["record_bytes"] != layout.record_bytes:
                raise ManifestError(f"record_bytes {rec['record_bytes']} != {layout.record_bytes} for {layout}")
            if not isinstance(doc["splits"], dict) or not doc["splits"]:
                raise ManifestError("no splits")
            splits = {name: _parse_split(name, s) for name, s in doc["splits"].items()}
            if not isinstance(doc["config"], dict) or not isinstance(doc["writer_options"], str):
                raise ManifestError("config must be an object and writer_options a string")
            return cls(str(doc["dataset"]), doc["config"], _count(doc, "num_classes", 1), layout,
                       doc["writer_options"], splits)
        except ManifestError as e:
            raise ManifestError(f"{where}: {e}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ManifestError(f"{where}: malformed manifest ({type(e).__name__}: {e})") from None


def _split_json(info: SplitInfo) -> dict[str, Any]:
    """The manifest's entry of a split (``members_sha256`` only where recorded)."""
    doc = {
        "num_records": info.num_records,
        "counts": dict(info.counts),
        "source": dataclasses.asdict(info.source),
        "shards": [dataclasses.asdict(s) for s in info.shards],
    }
    if info.members_sha256 is not None:
        doc["members_sha256"] = info.members_sha256
    return doc


def _record_json(layout: records.RecordLayout) -> dict[str, Any]:
    """The manifest's ``record``: the layout, and how ``obs`` holds it (bit-packed: along which
    axis, in which bit order; otherwise the values and their little-endian type)."""
    record = {
        "version": records.VERSION,
        "header_bytes": records.HEADER_BYTES,
        "sample_T": layout.sample_T,
        "dims": list(layout.dims),
    }
    if layout.events:
        record.update(values=layout.values, columns=_columns_json(layout), bytes_per_event=layout.bytes_per_event)
        return record
    record["record_bytes"] = layout.record_bytes
    if layout.packed:
        record.update(packed_shape=list(layout.obs_shape), packed_axis=records.PACKED_AXIS, bitorder=records.BITORDER)
    else:
        record.update(values=layout.values, obs_shape=list(layout.obs_shape), obs_dtype=layout.obs_dtype.str)
    return record


def _columns_json(layout: records.RecordLayout) -> list[list[str]]:
    """An events layout's columns as the manifest states them: ``[[name, little-endian type], ...]``."""
    return [[name, dtype.str] for name, dtype in layout.columns]


def strict_json(doc: Any, error: type[Exception], what: str, **kwargs: Any) -> str:
    """``doc`` as strict JSON text with sorted keys (``json.dumps``' other ``kwargs``).

    Raises:
        error: ``doc`` holds NaN or an infinity (no JSON number), naming where (``what`` at
            ``config.threshold``, say).
    """
    try:
        return json.dumps(doc, sort_keys=True, allow_nan=False, **kwargs)
    except ValueError:
        found = _non_finite(doc)
        if found is None:  # not a number's fault (a circular reference)
            raise
        raise error(f"{what} {found[0]} is {found[1]}, not a finite number; a manifest is strict JSON") from None


def _non_finite(doc: Any, where: str = "") -> tuple[str, float] | None:
    """``(place, value)`` of the first non-finite float in ``doc`` (dicts, lists, tuples), or None."""
    if isinstance(doc, float) and not math.isfinite(doc):
        return where or "(the document)", doc
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, (list, tuple)) else ()
    for key, value in items:
        found = _non_finite(value, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


def _not_json(token: str) -> None:
    """For ``json.loads``: ``NaN``, ``Infinity`` and ``-Infinity`` are no JSON."""
    raise ManifestError(f"{token} is not JSON (a manifest is strict JSON: finite numbers only)")


def _finite_float(text: str) -> float:
    """For ``json.loads``: a number beyond float64's range (``1e400``) would read as infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise ManifestError(f"the number {text} is beyond float64's range (a manifest holds finite numbers only)")
    return value


def build_key(
    spec: Any, inputs: Mapping[str, str], sources: Mapping[str, str], num_shards: int | None, writer_options: str
) -> BuildKey:
    """The key of building ``spec`` (a build spec: ``dataset``, ``config()``, ``layout``) from
    ``{split: source path}`` whose content digests are ``sources``; ``config`` holds the spec's
    parameters, the shard count asked for (None: by size) and the file or folder name of each
    split's source (:func:`spyx_data.paths.base_name`: the same however the path is spelled).
    The one rule: the pipelines and the loaders both name builds with it."""
    names = {split: paths.base_name(path) for split, path in sorted(inputs.items())}
    config = {**spec.config(), "num_shards": num_shards, "inputs": names}
    return BuildKey(spec.dataset, config, spec.layout, writer_options, dict(sorted(sources.items())))


def _count(doc: dict, key: str, minimum: int = 0, many: bool = False) -> Any:
    """``doc[key]``: an integer (a list of them with ``many``) of at least ``minimum``; a float
    such as 286.0 is refused."""
    values = doc[key] if many else [doc[key]]
    if not isinstance(values, list) or not all(type(v) is int and v >= minimum for v in values):
        raise ManifestError(f"{key} must be {'a list of integers' if many else 'an integer'} >= {minimum}, "
                            f"got {doc[key]!r}")
    return values if many else values[0]


def _parse_split(name: str, doc: dict) -> SplitInfo:
    if not SPLIT_NAME.fullmatch(name):
        raise ManifestError(f"split name {name!r} is not letters, digits, '-' and '_'")
    shards = tuple(
        ShardInfo(s["path"], _count(s, "first_index"), _count(s, "num_records", 1), _count(s, "num_bytes"), s["sha256"])
        for s in doc["shards"]
    )
    next_index = 0
    for k, shard in enumerate(shards):
        path = shard.path
        if not isinstance(path, str) or posixpath.isabs(path) or ".." in path.split("/") or "\\" in path or ":" in path:
            raise ManifestError(f"split {name!r}: shard path {path!r} leaves the dataset directory")
        if path != plan.shard_name(name, k, len(shards)):
            raise ManifestError(f"split {name!r}: shard {k} of {len(shards)} is {path!r}, not "
                                f"{plan.shard_name(name, k, len(shards))!r}")
        if not isinstance(shard.sha256, str) or not _SHA256.fullmatch(shard.sha256):
            raise ManifestError(f"split {name!r}: shard {path!r} has no sha256 of 64 hex digits")
        if shard.first_index != next_index:
            raise ManifestError(f"split {name!r}: shard {path!r} does not continue at index {next_index}")
        next_index += shard.num_records
    if next_index != _count(doc, "num_records", 1) or not shards:
        raise ManifestError(f"split {name!r}: shards hold {next_index} records, manifest says {doc['num_records']}")
    counts = doc["counts"]
    if not isinstance(counts, dict):
        raise ManifestError(f"split {name!r}: counts must be an object")
    source = doc["source"]
    if not isinstance(source.get("sha256"), str) or not _SHA256.fullmatch(source["sha256"]):
        raise ManifestError(f"split {name!r}: its source has no sha256 of 64 hex digits")
    if not isinstance(source.get("synthetic"), bool):
        raise ManifestError(f"split {name!r}: its source must say whether it is synthetic (true or false)")
    members = doc.get("members_sha256")
    if members is not None and not (isinstance(members, str) and _SHA256.fullmatch(members)):
        raise ManifestError(f"split {name!r}: members_sha256 {members!r} is not 64 hex digits")
    return SplitInfo(
        doc["num_records"],
        shards,
        {k: _count(counts, k) for k in counts},
        SourceInfo(_count(source, "files", 1), _count(source, "bytes"), source["sha256"], source["synthetic"]),
        members,
    )


def manifest_in(directory: str) -> Manifest | None:
    """The manifest in ``directory`` (a local path or a URL, see :mod:`spyx_data.paths`: every
    remote call bounded), parsed and validated; None where there is none.

    Raises:
        ManifestError: the manifest is invalid.
    """
    path = paths.join(str(directory), MANIFEST_NAME)
    if not paths.exists(path):
        return None
    return Manifest.from_json(paths.read_bytes(path), where=path)


def read_manifest(directory: str) -> Manifest:
    """Read and validate ``directory/manifest.json`` (a local path or a URL, see :mod:`spyx_data.paths`),
    the build of ``directory`` (:func:`check_folder_name`).

    Raises:
        NoBuild: no manifest there (no finished build in ``directory``); when there are builds
            in the folders below it (an output root), the message names them.
        ManifestError: the manifest is invalid.
        UsageError: the folder bears the name of another build.
    """
    manifest = manifest_in(directory)
    if manifest is None:
        below = builds_below(str(directory))
        if below:
            names = ", ".join(b.rstrip("/").rsplit("/", 1)[-1] for b in below)
            raise NoBuild(f"{directory} is not a build but holds {len(below)} below it ({names}); "
                          "pass the folder of the one to use")
        raise NoBuild(f"{paths.join(str(directory), MANIFEST_NAME)}: no manifest, so no finished build in {directory}")
    check_folder_name(str(directory), manifest)
    return manifest


def check_folder_name(directory: str, manifest: Manifest) -> None:
    """Refuse a folder named as a build (:data:`BUILD_NAME`) that holds another build: one moved,
    copied or linked in under another build's name. A folder of any other name (``./my-shd``)
    passes: the user named it.

    Raises:
        UsageError: naming the folder, its name and the build it holds.
    """
    name = directory.rstrip("/").rsplit("/", 1)[-1] if paths.is_remote(directory) else \
        os.path.basename(os.path.abspath(directory))
    if BUILD_NAME.fullmatch(name) and name != manifest.build_name:
        raise UsageError(f"{directory} holds build {manifest.build_name}, not {name} as its name says (it was moved, "
                         f"copied or linked there); rename it {manifest.build_name} or a name of your own, or remove "
                         "it")


def builds_below(root: str) -> list[str]:
    """The builds in the folders directly below ``root`` (an output root): their folders, sorted."""
    return paths.subfolders_with(root, MANIFEST_NAME)
