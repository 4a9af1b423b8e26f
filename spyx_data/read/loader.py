"""Epochs of batches over a random-access source, with spyx.data's names: ``GrainLoader``, ``State``."""

from __future__ import annotations

import collections
import functools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from spyx_data.read.prestage import check_batches

State = collections.namedtuple("State", "obs labels")


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
