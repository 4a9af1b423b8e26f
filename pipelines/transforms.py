"""Beam transforms shared by every build: plan shards, write them, commit the manifest.

The graph is one chain (so every runner, Dask included, computes all of it)::

    Create[(part, parts)] -> PlanShards -> Reshuffle -> WriteShard -> ToList -> CommitManifest

``PlanShards`` opens each source file inside the pipeline, counts its samples and emits one
task per shard (:mod:`spyx_data.format.plan` fixes the ranges; ``parts > 1`` spreads planning for
runners that cannot redistribute work: the splits' shards are dealt to the parts in turn, so
the parts differ by at most one shard). ``WriteShard`` reads its contiguous range, rasterises
it, writes the records (each carrying the build's id) in source order to a local ArrayRecord
file and copies that file into the run's staging folder through Beam's FileSystems. Shard
bytes therefore depend only on the data and the config, never on the runner, the worker count
or bundling. ``CommitManifest`` checks that every shard arrived and no source changed, moves
the shards into the build's folder, writes ``manifest.json`` last and removes the staging folder.

A dataset plugs in through a spec (:class:`spyx_data.builder.contracts.BuildSpec`), whose
``open(split, location)`` gives the reader of a split's source
(:class:`spyx_data.builder.contracts.SplitReader`); nothing else of a dataset is called here.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import functools
import gc
import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import BinaryIO

import apache_beam as beam
from apache_beam.io.filesystem import BeamIOError, CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from spyx_data import paths
from spyx_data.builder import inputs as spyx_inputs
from spyx_data.builder.contracts import BuildSpec, SplitReader
from spyx_data.builder.options import BuildOptions
from spyx_data.builder.raster import RasterCounts
from spyx_data.errors import BuildError, InputError, MachineError, UsageError
from spyx_data.format import manifest as manifest_lib
from spyx_data.format import plan, records

log = logging.getLogger(__name__)
COUNTERS = "spyx_data"
PARTIAL = ".incomplete-"
#: Set by the launcher on Ctrl-C: shard tasks running in its process stop at their next group of samples.
STOP = threading.Event()
#: Test hook, never set outside tests: the path of a Unix socket (:func:`hold_for_tests`).
HOLD_ENV = "SPYX_DATA_TEST_HOLD"


@dataclasses.dataclass(frozen=True)
class ShardTask:
    """Write shard ``shard`` of ``num_shards`` of ``split``: source samples ``[start, stop)`` of
    ``path``, which held ``split_size`` samples of ``num_classes`` classes, the split's members of
    digest ``members_sha256`` (:func:`spyx_data.format.manifest.members_digest`), when the build
    was planned."""

    split: str
    path: str
    split_size: int
    num_classes: int
    shard: int
    num_shards: int
    start: int
    stop: int
    members_sha256: str

    @property
    def name(self) -> str:
        return plan.shard_name(self.split, self.shard, self.num_shards)


@dataclasses.dataclass(frozen=True)
class ShardResult:
    task: ShardTask
    info: manifest_lib.ShardInfo
    counts: RasterCounts


class PlanShards(beam.DoFn):
    """``(part, parts)`` -> a :class:`ShardTask` for every ``parts``-th shard from ``part`` of all
    the splits' shards in turn (parts > 1 spreads the work, in parts that differ by at most one
    shard, on runners that cannot redistribute it). ``sources``: each split's source sha256."""

    def __init__(self, spec: BuildSpec, inputs: dict[str, str], sources: dict[str, str], num_shards: int | None,
                 staging_dir: str, source_bytes: dict[str, int]):
        self.spec = spec
        self.inputs = inputs
        self.sources = sources
        self.source_bytes = source_bytes
        self.num_shards = num_shards
        self.staging_dir = staging_dir

    def record_bytes(self, n: int, source_bytes: int) -> int:
        """The bytes of a record, to size the shards: the layout's; for events records, which take
        their sample's size, the source's bytes per sample (raw event formats take about as many
        bytes an event as the records' 6 or 9)."""
        layout = self.spec.layout
        return max(records.HEADER_BYTES, source_bytes // n) if layout.events else layout.record_bytes

    def process(self, element: tuple[int, int]) -> Iterator[ShardTask]:
        part, parts = element
        dealt = 0  # shards of the splits before this one
        for split, path in self.inputs.items():
            with contextlib.closing(self.spec.open(split, path)) as source:
                n, num_classes = len(source), source.num_classes
                members = manifest_lib.members_digest(self.sources[split], source.members())
            if n == 0:
                raise InputError(f"{path}: split {split!r} has no samples")
            num_shards = self.num_shards or plan.default_num_shards(n, self.record_bytes(n, self.source_bytes[split]))
            if num_shards > n:
                raise UsageError(f"{path}: --num_shards={num_shards} is more than the {n} samples of split {split!r}")
            if part == 0:  # for the launcher's progress log
                with create(paths.join(self.staging_dir, plan_name(split))) as f:
                    f.write(json.dumps({"num_records": n, "num_shards": num_shards}).encode())
            for shard, (start, stop) in enumerate(plan.shard_ranges(n, num_shards)):
                if (dealt + shard) % parts == part:
                    yield ShardTask(split, path, n, num_classes, shard, num_shards, start, stop, members)
            dealt += num_shards


def different_build_message(output_dir: str, existing: manifest_lib.Manifest) -> str:
    """Why ``output_dir``, named as this build, cannot be used: it holds ``existing``, another build."""
    return (
        f"{output_dir} holds a manifest of another build ({existing.dataset}, {existing.config}) under this "
        "build's name: it was edited or moved there; remove that folder to rebuild"
    )


def publish(local_path: str, destination: str) -> tuple[str, int]:
    """Copy a local file to any Beam path; return its ``(sha256 hex, size in bytes)``.

    The copy goes to a unique temporary name (``<destination>.incomplete-<uuid>``) and is renamed
    into place, so a crash, a retried or a duplicated bundle never leaves a partly written file
    under ``destination``. A failed copy deletes its temporary file. See :func:`create`.
    """
    digest = hashlib.sha256()
    size = 0
    partial = f"{destination}{PARTIAL}{uuid.uuid4().hex}"
    try:
        with open(local_path, "rb") as src, create(partial) as dst:
            while chunk := src.read(1 << 22):
                digest.update(chunk)
                dst.write(chunk)
                size += len(chunk)
        FileSystems.rename([partial], [destination])
    except BaseException:
        _delete_quietly(partial)
        raise
    return digest.hexdigest(), size


def create(path: str) -> BinaryIO:
    """A file at ``path`` (any Beam path), created or truncated, open for writing, uncompressed.

    A local file's folder must be there (Beam's ``create`` would make it): a run's staging
    folder is made and locked by its launcher, and one that is gone was removed with its run,
    which a worker left running must not bring back, unlocked.

    Raises:
        FileNotFoundError: a local file's folder is not there.
    """
    folder = os.path.dirname(path)
    if not paths.is_remote(path) and not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, "no such folder (removed with its run?)", folder)
    return FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED)


def _delete_quietly(path: str) -> None:
    try:
        FileSystems.delete([path])
    except (BeamIOError, OSError):
        pass


def plan_name(split: str) -> str:
    """The file a build writes into its staging folder to say how ``split`` is cut."""
    return f".plan-{split}.json"


def keep_freed_memory(mmap_threshold: int = 64 << 20, trim_threshold: int = 256 << 20) -> bool:
    """Let this process reuse the memory it frees instead of handing it back to the OS at once.

    glibc serves every allocation over 128 KiB with a fresh ``mmap`` and unmaps it on free, so the
    rasteriser's large temporaries are page-faulted in anew for every group of samples: measured
    here, that more than doubles the time a fresh worker takes to rasterise SHD. Raising the
    thresholds (``mallopt``) keeps up to ``trim_threshold`` bytes of freed memory for reuse.
    Linux with glibc only; returns whether it took effect. Build workers call it once.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, mmap_threshold)) and bool(libc.mallopt(m_trim_threshold, trim_threshold))


def hold_for_tests(task: ShardTask) -> None:
    """Where ``$SPYX_DATA_TEST_HOLD`` names a Unix socket, connect to it, send
    ``"<pid> <shard name>\\n"`` and wait until the other end closes the connection; nothing when
    nobody listens there. Tests use it to act on a build at a known point (a shard task started,
    nothing of it written): kill it, interrupt it, race another build with it."""
    address = os.environ.get(HOLD_ENV)
    if not address:
        return
    with socket.socket(socket.AF_UNIX) as held, contextlib.suppress(OSError):
        held.connect(address)
        held.sendall(f"{os.getpid()} {task.name}\n".encode())
        held.recv(1)


class WriteShard(beam.DoFn):
    """:class:`ShardTask` -> shard file in ``staging_dir`` -> :class:`ShardResult`.

    Every record carries ``build_id``. Source files stay open for the life of the DoFn instance
    (one open per worker, not per sample).
    """

    def __init__(self, spec: BuildSpec, staging_dir: str, writer_options: str, build_id: int):
        self.spec = spec
        self.staging_dir = staging_dir
        self.writer_options = writer_options
        self.build_id = build_id
        self.samples = Metrics.counter(COUNTERS, "samples")
        self.events = Metrics.counter(COUNTERS, "events")
        self.dropped_nonfinite = Metrics.counter(COUNTERS, "dropped_nonfinite")
        self.dropped_outside_window = Metrics.counter(COUNTERS, "dropped_outside_window")
        self.bytes_written = Metrics.counter(COUNTERS, "bytes_written")
        # Wall-clock bounds of the shard tasks (ms since the epoch): min start, max end.
        self.task_start = Metrics.distribution(COUNTERS, "task_start_ms")
        self.task_end = Metrics.distribution(COUNTERS, "task_end_ms")

    def setup(self) -> None:
        keep_freed_memory()
        # Imported here, once per worker before its first task, rather than inside the first task.
        from array_record.python import array_record_module

        self._array_record = array_record_module
        self.spec.prepare()
        self._sources: dict[tuple[str, str], SplitReader] = {}

    def teardown(self) -> None:
        for source in self._sources.values():
            source.close()
        self._sources.clear()

    def _source(self, task: ShardTask) -> SplitReader:
        key = (task.split, task.path)
        if key not in self._sources:
            self._sources[key] = self.spec.open(task.split, task.path)
            # Move what lives on (the runner's state, this source's file listing) out of the
            # cyclic collector's way: its full passes otherwise walk it again every few thousand
            # temporary objects; measured on the full N-MNIST build in-process: 45.7 s -> 25.9 s.
            gc.freeze()
        return self._sources[key]

    def process(self, task: ShardTask) -> Iterator[ShardResult]:
        hold_for_tests(task)
        self.task_start.update(int(time.time() * 1000))
        source = self._source(task)
        if len(source) != task.split_size:
            raise InputError(f"{task.path}: {len(source)} samples now, {task.split_size} when the build started")
        local_dir = tempfile.mkdtemp(prefix="spyx-shard-")
        try:
            local = os.path.join(local_dir, task.name)
            counts = self._write_local(source, task, local)
            destination = paths.join(self.staging_dir, task.name)
            try:
                sha256, size = publish(local, destination)
            except OSError as e:
                raise MachineError(f"cannot copy a shard to {destination}: {e}") from e
        finally:
            shutil.rmtree(local_dir, ignore_errors=True)
        self.samples.inc(task.stop - task.start)
        self.events.inc(counts.events)
        self.dropped_nonfinite.inc(counts.dropped_nonfinite)
        self.dropped_outside_window.inc(counts.dropped_outside_window)
        self.bytes_written.inc(size)
        self.task_end.update(int(time.time() * 1000))
        info = manifest_lib.ShardInfo(task.name, task.start, task.stop - task.start, size, sha256)
        yield ShardResult(task, info, counts)

    def _write_local(self, source: SplitReader, task: ShardTask, local: str) -> RasterCounts:
        """Write the task's records to the local file ``local``; return what rasterising counted.

        Raises:
            MachineError: the file cannot be written (a full disk, say), naming it.
        """
        layout = self.spec.layout
        counts = RasterCounts()
        writer = self._array_record.ArrayRecordWriter(local, self.writer_options)
        if not writer.ok():
            raise MachineError(f"{local}: cannot create an ArrayRecord writer with {self.writer_options!r}")

        def guarded(call: Callable[..., None], *args: bytes) -> None:
            try:
                call(*args)
            except (OSError, RuntimeError) as e:  # RuntimeError: how ArrayRecord reports a failed write
                raise MachineError(f"cannot write a shard: {e}") from e

        for group in source.rasters(task.start, task.stop):
            if STOP.is_set():
                raise KeyboardInterrupt
            indices = range(group.start, group.start + len(group.labels))
            for record in layout.encode_records(group.obs, group.labels, indices, self.build_id):
                guarded(writer.write, record)
            counts += group.counts
        guarded(writer.close)  # raises when the data could not be written (a full disk, say)
        return counts


class CommitManifest(beam.DoFn):
    """All :class:`ShardResult` s -> the build in ``output_dir``, its manifest written last.

    The commit checks that every shard arrived and that no input changed since the launcher
    fingerprinted it, writes the manifest into the staging folder, moves the shards into
    ``output_dir`` (a rename each), then the manifest: readers see either no build or all of
    it. A build of the same key committed there first holds the same bytes, so they are
    replaced alike. Last, the staging folder is removed.
    """

    def __init__(self, transform: BuildShards):
        self.spec = transform.spec
        self.inputs = transform.inputs
        self.sources = transform.sources
        self.synthetic = transform.synthetic
        self.key = transform.build_key
        self.output_dir = transform.output_dir
        self.staging_dir = transform.staging_dir

    def process(self, results: list[ShardResult]) -> Iterator[str]:
        by_split: dict[str, list[ShardResult]] = {split: [] for split in self.inputs}
        for result in results:
            by_split[result.task.split].append(result)
        splits = {}
        for split, shards in by_split.items():
            shards.sort(key=lambda r: r.task.shard)
            expected = shards[0].task.num_shards if shards else 0
            if not shards or [r.task.shard for r in shards] != list(range(expected)):
                raise RuntimeError(
                    f"split {split!r}: got shards {[r.task.shard for r in shards]} of {expected}; "
                    "not writing a manifest"
                )
            fingerprint = self.sources[split]
            if spyx_inputs.stamps(self.inputs[split], self.spec.source_suffix) != fingerprint.stamps:
                raise InputError(f"{self.inputs[split]} changed while it was being built; nothing was published: "
                                 "run the build again")
            counts = sum((r.counts for r in shards), RasterCounts())
            splits[split] = manifest_lib.SplitInfo(
                num_records=sum(r.info.num_records for r in shards),
                shards=tuple(r.info for r in shards),
                counts=counts.as_dict(),
                source=manifest_lib.SourceInfo(fingerprint.files, fingerprint.bytes, fingerprint.sha256,
                                               split in self.synthetic),
                members_sha256=shards[0].task.members_sha256,
            )
        key = self.key
        num_classes = max(r.task.num_classes for r in results)
        manifest = manifest_lib.Manifest(key.dataset, dict(key.config), num_classes, key.layout, key.writer_options,
                                         splits)
        text = manifest.to_json()
        manifest_lib.Manifest.from_json(text)  # the reader's own checks, before anything is published
        existing = manifest_lib.manifest_in(self.output_dir)
        if existing is not None and existing.build_key != manifest.build_key:
            raise BuildError(different_build_message(self.output_dir, existing))
        local_dir = tempfile.mkdtemp(prefix="spyx-manifest-")
        try:
            local = os.path.join(local_dir, manifest_lib.MANIFEST_NAME)
            with open(local, "w") as f:
                f.write(text)
            publish(local, paths.join(self.staging_dir, manifest_lib.MANIFEST_NAME))
        finally:
            shutil.rmtree(local_dir, ignore_errors=True)
        names = [s.path for info in manifest.splits.values() for s in info.shards] + [manifest_lib.MANIFEST_NAME]
        if not paths.is_remote(self.output_dir):
            os.makedirs(self.output_dir, exist_ok=True)
        FileSystems.rename([paths.join(self.staging_dir, n) for n in names],
                           [paths.join(self.output_dir, n) for n in names])
        remove_tree(self.staging_dir)
        log.debug("committed %s", self.output_dir)
        yield text


def remove_tree(directory: str) -> None:
    """Delete a folder and everything below it (a local path or a Beam URL); missing is fine."""
    if not paths.is_remote(directory):
        shutil.rmtree(directory, ignore_errors=True)
        return
    (match,) = FileSystems.match([directory.rstrip("/") + "/**"])
    found = [m.path for m in match.metadata_list]
    if found:
        FileSystems.delete(found)


class BuildShards(beam.PTransform):
    """Build a dataset: ``{split: source path}`` -> shards and manifest in :attr:`output_dir`,
    the folder ``<output_root>/<build name>`` (:attr:`spyx_data.format.manifest.BuildKey.name`).

    The shards are written into ``staging_dir`` (a folder of this run only, next to the build's)
    and moved into :attr:`output_dir` by the commit. Outputs a single element, the manifest
    text, once the manifest is written.

    Args:
        options: where and how it writes; its :meth:`~spyx_data.builder.options.BuildOptions.build_key`
            names the build.
        sources: the fingerprint of each split's source, taken by the launcher
            (:func:`spyx_data.builder.inputs.fingerprint`); it names the build, and the commit refuses
            to publish if a source changed since.
        synthetic: the splits whose source is synthetic data (the manifest says so).
        run: a name of this run, unique among the runs of one build; the run writes into
            ``<output_root>/.staging-<build name>-<run>``.
    """

    def __init__(
        self,
        spec: BuildSpec,
        inputs: dict[str, str],
        sources: dict[str, spyx_inputs.Fingerprint],
        options: BuildOptions,
        synthetic: frozenset[str] = frozenset(),
        run: str = "run",
    ):
        super().__init__()
        self.spec = spec
        self.inputs = dict(sorted(inputs.items()))
        self.sources = sources
        self.options = options
        self.synthetic = frozenset(synthetic)
        self.staging_dir = paths.join(options.output_root, f".staging-{self.build_key.name}-{run}")

    @functools.cached_property
    def build_key(self) -> manifest_lib.BuildKey:
        """The key of the build this transform writes (:attr:`spyx_data.format.manifest.Manifest.build_key`)."""
        sources = {split: fingerprint.sha256 for split, fingerprint in self.sources.items()}
        return self.options.build_key(self.spec, self.inputs, sources)

    @property
    def output_dir(self) -> str:
        """Where this build lives: ``<output_root>/<build name>``."""
        return paths.join(self.options.output_root, self.build_key.name)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        write = WriteShard(self.spec, self.staging_dir, self.options.writer_options, self.build_key.build_id)
        return (
            pbegin
            | "Sources" >> beam.Create([(part, self.options.plan_parts) for part in range(self.options.plan_parts)])
            | "PlanShards" >> beam.ParDo(PlanShards(self.spec, self.inputs, self.build_key.sources,
                                                    self.options.num_shards, self.staging_dir,
                                                    {split: f.bytes for split, f in self.sources.items()}))
            | "Distribute" >> beam.Reshuffle()
            | "WriteShards" >> beam.ParDo(write)
            | "Gather" >> beam.combiners.ToList()
            | "CommitManifest" >> beam.ParDo(CommitManifest(self))
        )
