"""Check a build against its manifest: every shard's size, sha256 and record count, and every record."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterator

from spyx_data import paths
from spyx_data.errors import ManifestError, NoBuild, RecordError, ShardError
from spyx_data.format import manifest as manifest_lib
from spyx_data.read import shards
from spyx_data.read.prestage import progress_bar


@dataclasses.dataclass(frozen=True)
class Problem:
    """Something wrong with a build: in ``shard`` (a path; None for the manifest), at ``record``
    (the position in the shard; None when not tied to one record)."""

    shard: str | None
    record: int | None
    message: str

    def __str__(self) -> str:
        where = self.shard or "manifest"
        if self.record is None:
            return f"{where}: {self.message}"
        return f"{where}: record {self.record}: {self.message}"


def shard_problems(path: str, shard: manifest_lib.ShardInfo, manifest: manifest_lib.Manifest) -> Iterator[Problem]:
    """Every problem of one shard: missing, wrong size or checksum, unreadable records, records
    that do not belong to the build (:meth:`~spyx_data.format.manifest.Manifest.check_records`: the
    layout, the index of their place in the split, the build id, the label range)."""
    if not paths.exists(path):
        yield Problem(path, None, "missing")
        return
    digest, size = paths.sha256_of(path)
    if size != shard.num_bytes:
        yield Problem(path, None, f"{size} bytes, manifest says {shard.num_bytes} (truncated or appended to)")
    if digest != shard.sha256:
        yield Problem(path, None, f"sha256 {digest} differs from the manifest's {shard.sha256}")
    try:
        reader = shards.open_reader(path)
    except ShardError:
        yield Problem(path, None, "not a readable ArrayRecord file")
        return
    try:
        if reader.num_records() != shard.num_records:
            yield Problem(path, None, f"{reader.num_records()} records, manifest says {shard.num_records}")
        for k in range(min(reader.num_records(), shard.num_records)):
            try:
                manifest.check_record(reader.read([k])[0], shard.first_index + k)
            except (RuntimeError, RecordError) as e:  # RuntimeError: ArrayRecord's report of a corrupt chunk
                yield Problem(path, k, f"(source index {shard.first_index + k}) {getattr(e, 'reason', e)}")
    finally:
        reader.close()


def verify(directory: str) -> tuple[manifest_lib.Manifest | None, list[Problem]]:
    """Check the build in ``directory``; return its manifest (None if invalid) and the problems.

    Raises:
        NoBuild: ``directory`` holds no manifest (no build to check).
        UsageError: ``directory`` is named as another build than it holds
            (:func:`~spyx_data.format.manifest.check_folder_name`).
    """
    try:
        manifest = manifest_lib.read_manifest(directory)
    except NoBuild:
        raise
    except ManifestError as e:
        return None, [Problem(None, None, str(e))]
    problems = []
    with progress_bar(sum(info.num_records for info in manifest.splits.values()), "verify") as bar:
        for info in manifest.splits.values():
            for shard in info.shards:
                problems += shard_problems_at(directory, shard, manifest)
                bar.update(shard.num_records)
    return manifest, problems


def shard_problems_at(directory: str, shard: manifest_lib.ShardInfo, manifest: manifest_lib.Manifest) -> list[Problem]:
    """:func:`shard_problems` of ``shard`` of the build in ``directory``; a remote shard is
    fetched to a temporary file first and its problems named by its URL."""
    url = paths.join(directory, shard.path)
    if not paths.is_remote(url):
        return list(shard_problems(url, shard, manifest))
    if not paths.exists(url):
        return [Problem(url, None, "missing")]
    with tempfile.TemporaryDirectory(prefix="spyx-verify-") as folder:
        local = os.path.join(folder, "shard")
        shards.fetch(url, local)
        return [dataclasses.replace(p, shard=url) for p in shard_problems(local, shard, manifest)]
