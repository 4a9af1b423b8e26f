"""Epoch iterators over built splits, with the names and shapes of spyx.data."""

from __future__ import annotations

import collections
import functools
import json
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from spyx_data import paths
from spyx_data.build import inputs, registry
from spyx_data.errors import BuildError, ManifestError, NoBuild
from spyx_data.format import manifest as manifest_lib
from spyx_data.format import plan
from spyx_data.read.prestage import check_batches, prestage
from spyx_data.read.split import SplitSource

State = collections.namedtuple("State", "obs labels")
log = logging.getLogger(__name__)


def epoch_seed(seed: int, epoch: int, stream: int = 0) -> int:
    """Seed of one epoch: a hash of ``(seed, epoch, stream)``, so epochs and seeds never collide.

    Stream 0 seeds the shuffle, stream 1 the random transforms.
    """
    return int(np.random.SeedSequence([seed, epoch, stream]).generate_state(1)[0] >> 1)


def _allow_grain_workers() -> None:
    # grain 0.2.18 reads absl flags in its worker processes; unparsed flags raise there.
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


def read_batch(dataset: Any, indices: np.ndarray) -> dict[str, np.ndarray]:
    """Samples ``indices`` of ``dataset`` stacked into one batch dict.

    Uses ``dataset.read_batch`` when it has one (:class:`~spyx_data.read.split.SplitSource` reads
    and decodes a whole batch at once), else ``dataset[i]`` for each index.
    """
    if hasattr(dataset, "read_batch"):
        return dataset.read_batch(indices)
    samples = [dataset[int(i)] for i in indices]
    return {key: np.stack([s[key] for s in samples]) for key in samples[0]}


class GrainLoader:
    """Batches of a random-access source, one epoch per ``iter()``, as ``State(obs, labels)``.

    Unlike spyx.data's GrainLoader, an epoch ends: each ``iter(loader)`` is one pass over the
    source, and the next ``iter`` reshuffles with the seed of the next epoch
    (:func:`epoch_seed` of ``(seed, epoch)``). Batches are formed from a shuffled index range
    (``grain.MapDataset``) before any worker sees them, so the batches and their order are the
    same for every ``worker_count``.

    Args:
        dataset: any ``len`` + ``__getitem__`` source returning ``{"obs", "labels", ...}``
            dicts, e.g. :func:`spyx_data.open_split`.
        batch_size: samples per ``State``.
        shuffle: shuffle the order each epoch.
        seed: shuffle seed.
        worker_count: Grain worker processes (``mp_prefetch``). ``None`` or ``0`` reads in
            this process (decoding prebuilt records is cheap; spyx.data started up to 4
            workers); ``> 0`` spawns workers, which need a picklable ``dataset`` and a
            ``__main__`` guard in the calling script.
        drop_remainder: drop the last partial batch (spyx.data always did); with False the
            last batch is short.
        transforms: Grain transforms applied to each record before batching (e.g.
            :class:`~spyx_data.encoders.ShiftAugment`). Random ones are seeded per epoch, so
            a record's randomness is a pure function of ``(seed, record index, epoch)``: the
            same for every ``worker_count``, fresh each epoch.
        process_index, process_count: this host and the number of hosts (default
            ``jax.process_index()`` / ``jax.process_count()``). Every host shuffles the whole
            split alike and takes every ``process_count``-th sample from ``process_index``: the
            hosts' parts are disjoint and together cover the epoch. With ``drop_remainder`` the
            epoch is first cut to a multiple of ``process_count``, so all hosts get the same
            number of batches.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        worker_count: int | None = None,
        drop_remainder: bool = True,
        transforms: Sequence[Any] = (),
        process_index: int | None = None,
        process_count: int | None = None,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if worker_count is not None and worker_count < 0:
            raise ValueError(f"worker_count must be >= 0, got {worker_count}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.worker_count = worker_count or 0
        self.drop_remainder = drop_remainder
        self.transforms = tuple(transforms)
        if process_index is None or process_count is None:
            import jax

            process_index = jax.process_index() if process_index is None else process_index
            process_count = jax.process_count() if process_count is None else process_count
        if not 0 <= process_index < process_count:
            raise ValueError(f"process_index {process_index} is not in 0..{process_count - 1}")
        self.process_index, self.process_count = process_index, process_count
        self.epoch = 0
        check_batches(len(self), repr(dataset), self._samples_per_epoch(), batch_size)

    def _samples_per_epoch(self) -> int:
        """Samples this host sees in one epoch."""
        n = len(self.dataset)
        if self.drop_remainder:
            n -= n % self.process_count
        return len(range(self.process_index, n, self.process_count))

    def __len__(self) -> int:
        """Batches per epoch on this host."""
        n = self._samples_per_epoch()
        return n // self.batch_size if self.drop_remainder else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[State]:
        import grain

        if self.transforms:  # record by record, each transform seeing the record's own index
            records = grain.MapDataset.source(self.dataset)
            for transform in self.transforms:
                if isinstance(transform, grain.transforms.RandomMap):
                    records = records.random_map(transform, seed=epoch_seed(self.seed, self.epoch, stream=1))
                else:
                    records = records.map(transform)
        else:  # whole batches at once: a batch of indices becomes one read
            records = grain.MapDataset.range(len(self.dataset))
        if self.shuffle:
            records = records.shuffle(seed=epoch_seed(self.seed, self.epoch))
        if self.process_count > 1:
            n = len(records) - (len(records) % self.process_count if self.drop_remainder else 0)
            records = records[self.process_index : n : self.process_count]
        self.epoch += 1
        batches = records.batch(self.batch_size, drop_remainder=self.drop_remainder)
        if not self.transforms:
            batches = batches.map(functools.partial(read_batch, self.dataset))
        batches = batches.to_iter_dataset()
        if self.worker_count:
            _allow_grain_workers()
            batches = batches.mp_prefetch(grain.MultiprocessingOptions(num_workers=self.worker_count))
        iterator = iter(batches)
        try:
            for batch in iterator:
                # Worker batches arrive in shared memory: copy out so it is released at once.
                yield State(obs=np.array(batch["obs"]), labels=np.array(batch["labels"]))
        finally:
            if hasattr(iterator, "close"):
                iterator.close()


class ShardLoader:
    """Train and test epochs and prestage over one prebuilt dataset, built on first use.

    By default the build lives under ``download_dir/spyx_data``, in the folder the pipeline
    names for this dataset, ``options`` and the content of tonic's files in ``download_dir``
    (:mod:`spyx_data.build.inputs`; a start hashes only files that changed since the last, and a
    ``stat`` each otherwise). If that folder holds no build, the pipeline runs locally once, on
    those files (tonic downloads them if missing); that needs the ``build`` extra. So data that
    changed is built anew, never served from the old build. Without the raw files in
    ``download_dir`` the one build of this configuration from real data under
    ``download_dir/spyx_data`` is used (several: refused, naming them). ``shards_dir`` names a
    build to use instead; it is refused if tonic's files in ``download_dir`` are not what it was
    built from.

    ``train_epoch()`` shuffles (seed ``key``, reshuffled each epoch) and drops the last partial
    batch, as spyx.data; ``test_epoch()`` keeps source order and, unlike spyx.data, every
    sample: its last batch is short unless ``test_drop_remainder=True``. Labels are int32.
    """

    def __init__(
        self,
        dataset: str,
        options: dict[str, Any],
        batch_size: int,
        key: int,
        download_dir: str,
        worker_count: int | None,
        shards_dir: str | None,
        test_drop_remainder: bool,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        info = registry.get(dataset)
        spec = info.spec(**options)
        located = {split: paths.join(download_dir, info.locations[split]) for split in info.splits}
        present = all(paths.exists(path) for path in located.values())
        digests = {s: inputs.fingerprint(p, spec.source_suffix).sha256 for s, p in located.items()} if present else {}
        if shards_dir is not None:
            manifest = manifest_lib.read_manifest(shards_dir)
            _check_built_from(manifest, spec, shards_dir, digests, download_dir)
        else:
            root = paths.join(download_dir, "spyx_data")
            manifest = _find_build(root, spec, located, digests) or _build(info, spec, download_dir, root)
            shards_dir = paths.join(root, manifest.build_name)
        self.shards_dir = shards_dir
        self.manifest = manifest
        train = SplitSource(self.shards_dir, "train", manifest)
        test = SplitSource(self.shards_dir, "test", manifest)
        self._train_dl = GrainLoader(train, batch_size, True, key, worker_count)
        self._test_dl = GrainLoader(test, batch_size, False, key, worker_count, drop_remainder=test_drop_remainder)

    def train_epoch(self) -> Iterator[State]:
        """One shuffled pass over the train split."""
        return iter(self._train_dl)

    def test_epoch(self) -> Iterator[State]:
        """One pass over the test split in source order."""
        return iter(self._test_dl)

    def prestage(self, split: str = "train", drop_remainder: bool = True):
        """The whole split on the default JAX device; see :func:`spyx_data.prestage`."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
        return prestage(self.shards_dir, split, self.batch_size, drop_remainder)


def _default_key(spec: Any, located: dict[str, str], digests: dict[str, str]) -> manifest_lib.BuildKey:
    """The key of the build ``pipelines.tonic`` makes of ``spec`` by default from these sources."""
    return manifest_lib.build_key(spec, located, digests, None, plan.writer_options())


def _find_build(
    root: str, spec: Any, located: dict[str, str], digests: dict[str, str]
) -> manifest_lib.Manifest | None:
    """The default build of ``spec`` under ``root`` made from sources of these ``digests``; with
    no digests (the sources are not there), the one build of ``spec`` from real data under
    ``root``; None when there is none.

    Raises:
        BuildError: the folder of that name holds another build, or several builds fit.
    """
    if digests:
        key = _default_key(spec, located, digests)
        try:
            manifest = manifest_lib.read_manifest(paths.join(root, key.name))
        except NoBuild:
            return None
        if manifest.build_key != key:
            raise BuildError(f"{paths.join(root, key.name)} holds another build than its name says; remove it to "
                             "rebuild")
        return manifest
    found = []
    for name in sorted(os.listdir(root)) if not paths.is_remote(root) and os.path.isdir(root) else []:
        try:
            manifest = manifest_lib.read_manifest(os.path.join(root, name))
        except (NoBuild, ManifestError):
            continue
        sources = {split: info.source.sha256 for split, info in manifest.splits.items()}
        synthetic = any(info.source.synthetic for info in manifest.splits.values())
        if not synthetic and manifest.build_key == _default_key(spec, located, sources):
            found.append(manifest)
    if len(found) > 1:
        raise BuildError(f"{spec.dataset}'s files are not in {', '.join(located.values())} and {root} holds "
                         f"{len(found)} builds of this configuration ({', '.join(m.build_name for m in found)}); "
                         "pass shards_dir= the one to use")
    if found:
        log.info("%s's files are not in %s; using %s", spec.dataset, os.path.dirname(next(iter(located.values()))),
                 os.path.join(root, found[0].build_name))
    return found[0] if found else None


def _check_built_from(
    manifest: manifest_lib.Manifest, spec: Any, shards_dir: str, digests: dict[str, str], download_dir: str
) -> None:
    """Refuse a build in ``shards_dir`` of another dataset or configuration than ``spec``, or,
    where tonic's files are in ``download_dir`` (``digests``), made from other files."""
    wanted = spec.config()
    built = {k: manifest.config.get(k) for k in wanted}
    if manifest.dataset != spec.dataset or json.loads(json.dumps(wanted)) != built:
        raise BuildError(f"{shards_dir} holds a {manifest.dataset} build with {built}; asked for {wanted}")
    changed = [s for s, d in digests.items() if s in manifest.splits and manifest.splits[s].source.sha256 != d]
    if changed:
        raise BuildError(
            f"{shards_dir} was built from other {spec.dataset} data than {download_dir} holds now "
            f"({', '.join(changed)} changed); leave out shards_dir= to build from the data there, or pass the "
            "download_dir it was built from"
        )


class SHD_loader(ShardLoader):
    """Spiking Heidelberg Digits from prebuilt shards, with spyx.data's names and shapes.

    ``obs`` is uint8 ``[batch, ceil(sample_T/8), channels]`` (time bit-packed, big bit order),
    ``labels`` int32 ``[batch]``; see :class:`ShardLoader` for building and epochs.
    """

    def __init__(
        self,
        batch_size: int = 256,
        sample_T: int = 128,
        channels: int = 128,
        key: int = 0,
        download_dir: str = "./data",
        worker_count: int | None = None,
        shards_dir: str | None = None,
        duration_ms: int = 1000,
        test_drop_remainder: bool = False,
    ):
        options = {"sample_T": sample_T, "channels": channels, "duration_ms": duration_ms}
        super().__init__(
            "shd", options, batch_size, key, download_dir, worker_count, shards_dir, test_drop_remainder
        )
        self.sample_T = sample_T
        self.obs_shape = (channels,)
        self.act_shape = (20,)


class NMNIST_loader(ShardLoader):
    """Neuromorphic MNIST from prebuilt shards, with spyx.data's names and shapes.

    ``obs`` is uint8 ``[batch, ceil(sample_T/8), 2, 34, 34]`` (frames ``[t, p, y, x]``,
    bit-packed along time), ``labels`` int32 ``[batch]``. Unlike spyx.data (tonic's
    ``ToFrame(n_time_bins=sample_T)``, whose bins stretch over each recording's own first to
    last event), every recording uses one fixed window of ``duration_ms`` (300 ms) cut into
    ``sample_T`` bins. Adds ``prestage``; see :class:`ShardLoader` for building and epochs.
    """

    def __init__(
        self,
        batch_size: int = 32,
        sample_T: int = 40,
        key: int = 0,
        download_dir: str = "./data",
        worker_count: int | None = None,
        shards_dir: str | None = None,
        duration_ms: int = 300,
        test_drop_remainder: bool = False,
    ):
        options = {"sample_T": sample_T, "duration_ms": duration_ms}
        super().__init__(
            "nmnist", options, batch_size, key, download_dir, worker_count, shards_dir, test_drop_remainder
        )
        self.sample_T = sample_T
        self.obs_shape = (2, 34, 34)
        self.act_shape = (10,)


def _build(info: registry.DatasetInfo, spec: Any, download_dir: str, root: str) -> manifest_lib.Manifest:
    """Build ``spec`` from tonic's files in ``download_dir`` into ``root`` with the pipeline."""
    try:
        from pipelines import tonic
        from runners import presets
    except ImportError as e:
        raise ImportError(
            f"no {info.name} shards under {root} and the build dependencies are missing ({e}); "
            "install them with: pip install 'spyx-data[build]', or pass shards_dir= a finished build"
        ) from e
    # A worker process does the work, so the tuning build workers apply to themselves
    # (allocator thresholds, frozen garbage collection) stays out of this training process.
    return tonic.build_registered(info, spec, download_dir, root, presets.expand(["--preset=processes:1"]))
