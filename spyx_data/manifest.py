"""The manifest: the JSON file that makes a build visible to readers.

A build writes its shards first and ``manifest.json`` last, so a directory without a manifest
holds no dataset. Readers find shards only through the manifest (never a glob). Schema::

    {
      "format": "spyx-data", "manifest_version": 1,
      "dataset": "shd",
      "config": {...},                      # everything the bytes depend on
      "record": {"version": 1, "header_bytes": 48, "sample_T": 128, "dims": [128],
                 "packed_shape": [16, 128], "record_bytes": 2096,
                 "packed_axis": 0, "bitorder": "big"},
      "writer_options": "group_size:1,uncompressed",
      "splits": {
        "train": {"num_records": 8156,
                  "counts": {"events": ..., "dropped_nonfinite": ..., "dropped_outside_window": ...,
                             "empty_samples": ...},
                  "source": {"files": 1, "bytes": ...},
                  "shards": [{"path": "train-00000-of-00003.array_record", "first_index": 0,
                              "num_records": 2718, "num_bytes": ..., "sha256": "..."}, ...]}
      }
    }
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import posixpath
from typing import Any

from spyx_data import paths, records
from spyx_data.errors import ManifestError, NoBuild, UsageError

MANIFEST_NAME = "manifest.json"
FORMAT = "spyx-data"
MANIFEST_VERSION = 1


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
class SplitInfo:
    """A split: its records, shards, what rasterising counted, and the size of the source it
    was built from (``{"files", "bytes"}``, :func:`spyx_data.paths.fingerprint`)."""

    num_records: int
    shards: tuple[ShardInfo, ...]
    counts: dict[str, int]
    source: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Manifest:
    dataset: str
    config: dict[str, Any]
    layout: records.RecordLayout
    writer_options: str
    splits: dict[str, SplitInfo]

    @property
    def build_key(self) -> tuple:
        """What makes two builds the same: dataset, config, record layout and writer options."""
        return (self.dataset, self.config, self.layout, self.writer_options)

    @property
    def build_name(self) -> str:
        """The name of the folder this build lives in (see :func:`build_name`)."""
        return build_name(*self.build_key)

    def split(self, name: str) -> SplitInfo:
        if name not in self.splits:
            raise UsageError(f"no split {name!r}; this build has {sorted(self.splits)}")
        return self.splits[name]

    def to_json(self) -> str:
        """Deterministic JSON text (sorted keys, no timestamps): equal builds give equal bytes."""
        layout = self.layout
        doc = {
            "format": FORMAT,
            "manifest_version": MANIFEST_VERSION,
            "dataset": self.dataset,
            "config": self.config,
            "record": {
                "version": records.VERSION,
                "header_bytes": records.HEADER_BYTES,
                "sample_T": layout.sample_T,
                "dims": list(layout.dims),
                "packed_shape": list(layout.packed_shape),
                "record_bytes": layout.record_bytes,
                "packed_axis": 0,
                "bitorder": "big",
            },
            "writer_options": self.writer_options,
            "splits": {
                name: {
                    "num_records": info.num_records,
                    "counts": dict(info.counts),
                    "source": dict(info.source),
                    "shards": [dataclasses.asdict(s) for s in info.shards],
                }
                for name, info in self.splits.items()
            },
        }
        return json.dumps(doc, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, where: str = "manifest") -> Manifest:
        """Parse and validate manifest text; errors name ``where``.

        Raises:
            ManifestError: malformed JSON, unknown format or version, a shard path that leaves
                the dataset directory, or record counts that do not add up.
        """
        try:
            doc = json.loads(text)
            if doc.get("format") != FORMAT or doc.get("manifest_version") != MANIFEST_VERSION:
                raise ManifestError(
                    f"not a {FORMAT} manifest of version {MANIFEST_VERSION} "
                    f"(format={doc.get('format')!r}, version={doc.get('manifest_version')!r})"
                )
            rec = doc["record"]
            if rec["version"] != records.VERSION:
                raise ManifestError(f"record version {rec['version']}, this reader knows {records.VERSION}")
            layout = records.RecordLayout(int(rec["sample_T"]), tuple(int(d) for d in rec["dims"]))
            if rec["record_bytes"] != layout.record_bytes:
                raise ManifestError(f"record_bytes {rec['record_bytes']} != {layout.record_bytes} for {layout}")
            splits = {name: _parse_split(name, s) for name, s in doc["splits"].items()}
            return cls(str(doc["dataset"]), dict(doc["config"]), layout, str(doc["writer_options"]), splits)
        except ManifestError as e:
            raise ManifestError(f"{where}: {e}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ManifestError(f"{where}: malformed manifest ({type(e).__name__}: {e})") from None


def build_config(spec_config: dict[str, Any], inputs: dict[str, str], num_shards: int | None) -> dict[str, Any]:
    """A build's ``config``: the spec's parameters, the shard count asked for (None: by size)
    and the file or folder name of each split's source."""
    sources = {split: posixpath.basename(path.rstrip("/")) for split, path in sorted(inputs.items())}
    return {**spec_config, "num_shards": num_shards, "inputs": sources}


def build_name(dataset: str, config: dict[str, Any], layout: records.RecordLayout, writer_options: str) -> str:
    """``<dataset>-<12 hex digits>``: a hash of everything the bytes of a build depend on
    (config, record schema version and layout, writer options). Each build lives in a folder of
    this name under the output root, so a different configuration never touches another's."""
    identity = {
        "dataset": dataset,
        "config": config,
        "record": {"version": records.VERSION, "sample_T": layout.sample_T, "dims": list(layout.dims)},
        "writer_options": writer_options,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return f"{dataset}-{digest[:12]}"


def _parse_split(name: str, doc: dict) -> SplitInfo:
    shards = tuple(ShardInfo(**s) for s in doc["shards"])
    next_index = 0
    for shard in shards:
        if posixpath.isabs(shard.path) or ".." in shard.path.split("/") or "\\" in shard.path or ":" in shard.path:
            raise ManifestError(f"split {name!r}: shard path {shard.path!r} leaves the dataset directory")
        if shard.first_index != next_index or shard.num_records < 1:
            raise ManifestError(f"split {name!r}: shard {shard.path!r} does not continue at index {next_index}")
        next_index += shard.num_records
    if next_index != doc["num_records"] or not shards:
        raise ManifestError(f"split {name!r}: shards hold {next_index} records, manifest says {doc['num_records']}")
    source = {k: int(v) for k, v in doc.get("source", {}).items()}
    return SplitInfo(int(doc["num_records"]), shards, {k: int(v) for k, v in doc["counts"].items()}, source)


def read_manifest(directory: str) -> Manifest:
    """Read and validate ``directory/manifest.json`` (a local path or a URL, see :mod:`spyx_data.paths`).

    Raises:
        NoBuild: no manifest there (no finished build in ``directory``).
        ManifestError: the manifest is invalid.
    """
    path = paths.join(str(directory), MANIFEST_NAME)
    if not paths.exists(path):
        raise NoBuild(f"{path}: no manifest, so no finished build in {directory}")
    return Manifest.from_json(paths.read_bytes(path), where=path)
