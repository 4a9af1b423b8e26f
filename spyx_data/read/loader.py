"""Epochs of batches over a random-access source, with spyx.data's names: ``GrainLoader``, ``State``."""

from __future__ import annotations

import collections
import itertools
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from spyx_data.errors import UsageError
from spyx_data.read.prestage import check_batches

State = collections.namedtuple("State", "obs labels")


def epoch_seed(seed: int, epoch: int, stream: int = 0) -> int:
    """Seed of one epoch: a hash of ``(seed, epoch, stream)``, so epochs and seeds never collide.

    Stream 0 seeds the shuffle, stream ``1 + j`` the ``j``-th transform's draws.
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
    return stack([dataset[int(i)] for i in indices])


def stack(samples: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Sample dicts stacked field by field into one batch dict."""
    return {key: np.stack([s[key] for s in samples]) for key in samples[0]}


def describe(transform: Any) -> str:
    """A transform as a loader state names it: its type and its plain settings (numbers,
    strings, tuples; not the generator or seed ``map`` draws from, which a loader does not use),
    e.g. ``"ShiftAugment(axes=(-1,), input_key='obs', max_shift=4, mode='roll')"``."""
    settings = {k: v for k, v in sorted(getattr(transform, "__dict__", {}).items())
                if not k.startswith("_") and k not in ("seed", "rng") and isinstance(v, (bool, int, float, str, tuple))}
    return f"{type(transform).__name__}({', '.join(f'{k}={v!r}' for k, v in settings.items())})"


#: Version of :meth:`GrainLoader.get_state`'s dict.
STATE_VERSION = 1


class EpochBatches:
    """Batch ``g`` of a loader's endless stream of epochs: batch ``g % B`` of epoch ``g // B``
    (``B`` batches per epoch), a pure function of the loader's settings, so this process and
    every worker make the same batch for the same ``g``. Picklable (it goes to the workers)."""

    def __init__(self, dataset: Any, batch_size: int, shuffle: bool, seed: int, drop_remainder: bool,
                 transforms: Sequence[Any], process_index: int, process_count: int):
        self.dataset = dataset
        self.batch_size, self.shuffle, self.seed, self.drop_remainder = batch_size, shuffle, seed, drop_remainder
        self.transforms = tuple(transforms)
        self.process_index, self.process_count = process_index, process_count
        n = len(dataset)
        self.cut = n - n % process_count if drop_remainder else n
        per_host = len(range(process_index, self.cut, process_count))
        self.per_epoch = per_host // batch_size if drop_remainder else -(-per_host // batch_size)
        self._order: tuple[int, np.ndarray] | None = None  # the last epoch's order

    def order(self, epoch: int) -> np.ndarray:
        """This host's source indices in epoch ``epoch``, in order (int64)."""
        if self._order is None or self._order[0] != epoch:
            n = len(self.dataset)
            order = np.random.default_rng(epoch_seed(self.seed, epoch)).permutation(n) if self.shuffle else np.arange(n)
            self._order = (epoch, order[: self.cut][self.process_index :: self.process_count])
        return self._order[1]

    def __call__(self, g: int) -> dict[str, np.ndarray]:
        epoch, b = divmod(int(g), self.per_epoch)
        indices = self.order(epoch)[b * self.batch_size : (b + 1) * self.batch_size]
        batch = read_batch(self.dataset, indices)
        if not self.transforms:
            return batch
        return stack([self.transformed({key: value[k] for key, value in batch.items()}, int(i), epoch)
                      for k, i in enumerate(indices)])

    def transformed(self, record: dict[str, Any], index: int, epoch: int) -> dict[str, Any]:
        """``record`` (source index ``index``) through the transforms in epoch ``epoch``: a random
        one (a Grain ``RandomMap``), ``j``-th in the list, draws from
        ``numpy.random.default_rng([epoch_seed(seed, epoch, 1 + j), index])``; a ``MapTransform``
        is ``map``-ped, anything else called."""
        for j, transform in enumerate(self.transforms):
            if hasattr(transform, "random_map"):
                rng = np.random.default_rng([epoch_seed(self.seed, epoch, 1 + j), index])
                record = transform.random_map(record, rng)
            elif hasattr(transform, "map"):
                record = transform.map(record)
            else:
                record = transform(record)
        return record


class GrainLoader:
    """Batches of a random-access source, one epoch per ``iter()``, as ``State(obs, labels)``.

    Unlike spyx.data's GrainLoader, an epoch ends: each ``iter(loader)`` gives the rest of the
    current epoch (all of it, unless an earlier ``iter`` was left before its end), and the next
    ``iter`` starts the next epoch, reshuffled with that epoch's seed (:func:`epoch_seed` of
    ``(seed, epoch)``). The loader is a cursor over the endless stream of epochs: one iterator at a
    time reads it. Batch ``b`` of epoch ``e`` is a pure function of the settings, ``e`` and ``b``
    (:class:`EpochBatches`): the same for every ``worker_count``, and a run resumed from
    :meth:`get_state` continues byte for byte.

    Args:
        dataset: any ``len`` + ``__getitem__`` source returning ``{"obs", "labels", ...}``
            dicts, e.g. :func:`spyx_data.open_split`.
        batch_size: samples per ``State`` (on this host).
        shuffle: shuffle the order each epoch (a numpy permutation seeded per epoch).
        seed: shuffle seed.
        worker_count: Grain worker processes (``mp_prefetch``). ``None`` or ``0`` reads in
            this process (decoding prebuilt records is cheap; spyx.data started up to 4
            workers); ``> 0`` starts workers on the first ``iter`` and keeps them for every
            later epoch, prefetching across epoch ends, until :meth:`close` (or the loader is
            collected, or the interpreter exits). They need a picklable ``dataset`` and a
            ``__main__`` guard in the calling script.
        drop_remainder: drop the last partial batch (spyx.data always did); with False the
            last batch is short.
        transforms: Grain transforms applied to each record of a batch, in order, before
            stacking (e.g. :class:`~spyx_data.encoders.ShiftAugment`): ``random_map`` for a
            ``RandomMap``, ``map`` for a ``MapTransform``, else called. A random one draws from
            a generator seeded by ``(seed, epoch, its place in the list, record index)``
            (:meth:`EpochBatches.transformed`): the same for every ``worker_count`` and after a
            resume, fresh each epoch.
        process_index, process_count: this host and the number of hosts (default
            ``jax.process_index()`` / ``jax.process_count()``). Every host shuffles the whole
            split alike and takes every ``process_count``-th sample from ``process_index``: the
            hosts' parts are disjoint and together cover the epoch, and batch ``b`` of every host
            together is the global batch ``b`` (lockstep). With ``drop_remainder`` the epoch is
            first cut to a multiple of ``process_count``, so all hosts get the same number of
            batches.
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
        self._batches = EpochBatches(dataset, batch_size, shuffle, seed, drop_remainder, self.transforms,
                                     process_index, process_count)
        check_batches(len(self), repr(dataset), self._samples_per_epoch(), batch_size)
        # Where the stream stands: the epoch and the batches of it delivered.
        self.epoch, self._position = 0, 0
        self._workers = _Workers()
        self._finalizer = weakref.finalize(self, self._workers.close)

    def _samples_per_epoch(self) -> int:
        """Samples this host sees in one epoch."""
        return len(range(self.process_index, self._batches.cut, self.process_count))

    def __len__(self) -> int:
        """Batches per epoch on this host."""
        return self._batches.per_epoch

    def __iter__(self) -> Iterator[State]:
        epoch, start = self.epoch, self._position
        first = epoch * len(self) + start
        if self.worker_count:
            batches = self._workers.stream(self._batches, first, self.worker_count)
        else:
            batches = map(self._batches, itertools.count(first))
        for b in range(start, len(self)):
            batch = next(batches)
            if b + 1 < len(self):
                self._position = b + 1
            else:  # the epoch is delivered: the next iter() starts the next one
                self.epoch, self._position = epoch + 1, 0
            # Copied out: a worker's chunk in shared memory is released once its last batch is.
            yield State(obs=np.array(batch["obs"]), labels=np.array(batch["labels"]))

    def get_state(self) -> dict[str, Any]:
        """Where the stream stands, as a small JSON-serialisable dict: the epoch and the batches
        of it delivered so far, with what identifies the stream (the build and split, batch
        size, shuffle, seed, host count, transforms with their settings, :func:`describe`). The
        hosts of a run stand alike (lockstep), so one host's state serves all. Save it next to
        the model's checkpoint; after :meth:`set_state` the next ``iter`` continues with the
        next batch."""
        return {
            "version": STATE_VERSION,
            "epoch": self.epoch,
            "position": self._position,
            **self._identity(),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (from :meth:`get_state`): the next ``iter`` gives the rest of
        that epoch, and the epochs after follow, byte-identical to an uninterrupted run.

        Raises:
            UsageError: a state of another stream (another build or split, batch size, host
                count, shuffle, seed or transforms), another version, or a position past the epoch.
        """
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise UsageError(f"not a loader state of version {STATE_VERSION}: {str(state)[:80]}")
        mine = self._identity()
        differ = [k for k in mine if state.get(k) != mine[k]]
        if differ:
            k = differ[0]
            raise UsageError(f"the loader state is of another stream: its {k} is {state.get(k)!r}, this loader's "
                             f"{mine[k]!r}; resume with the loader it was saved from")
        epoch, position = state.get("epoch"), state.get("position")
        if not (type(epoch) is int and type(position) is int and epoch >= 0 and 0 <= position < max(len(self), 1)):
            raise UsageError(f"the loader state's epoch {epoch!r} and position {position!r} are not in this "
                             f"loader's epochs of {len(self)} batches")
        self.epoch, self._position = epoch, position

    def _identity(self) -> dict[str, Any]:
        """What a state must share with this loader to continue its stream."""
        manifest, split = getattr(self.dataset, "manifest", None), getattr(self.dataset, "split", None)
        return {
            "source": (f"{manifest.build_name}/{split}" if manifest is not None and split is not None
                       else f"{type(self.dataset).__name__} of {len(self.dataset)}"),
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "seed": int(self.seed),
            "drop_remainder": self.drop_remainder,
            "process_count": self.process_count,
            "transforms": [describe(t) for t in self.transforms],
        }

    def close(self) -> None:
        """Stop the worker processes (the loader starts them again if iterated)."""
        self._workers.close()

    def __enter__(self) -> GrainLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Workers:
    """The worker processes of a loader: one Grain ``mp_prefetch`` iterator over the endless
    stream of batches, kept while the loader reads on from where it left it.

    Each worker makes chunks of consecutive batches of about :data:`CHUNK_BYTES`, concatenated
    into one array per field and handed over in shared memory: Grain's cost per element handed
    over (segment, resource tracker, queue) is then paid once per chunk, not per batch, and the
    pipe carries only the arrays' names, so a worker never blocks on it when the loader closes
    (a pickled 2 MiB element did, and Grain waited 25 s before killing the worker). A worker
    computes its chunks one after another (no reading threads: the loader's read is one batched
    call already)."""

    def __init__(self):
        self._iterator: Any = None
        self._pending: collections.deque = collections.deque()  # the rest of the last chunk
        self._next = -1  # the stream index of the next batch it gives

    def stream(self, batches: EpochBatches, first: int, worker_count: int) -> Iterator[dict[str, np.ndarray]]:
        """Batches ``first, first + 1, ...``, from the running workers if they are there."""
        import grain

        if self._iterator is None or self._next != first:
            self.close()
            _allow_grain_workers()
            size = sum(a.nbytes for a in batches(first).values())
            chunks = _Chunks(batches, first, max(1, min(CHUNK_BATCHES, CHUNK_BYTES // max(size, 1))))
            stream = grain.MapDataset.range(_ENDLESS).map(chunks).to_iter_dataset(grain.ReadOptions(num_threads=0))
            stream = grain.experimental.WithOptionsIterDataset(
                stream, grain.experimental.DatasetOptions(min_shm_size=_SMALL)
            )
            self._iterator = iter(stream.mp_prefetch(grain.MultiprocessingOptions(num_workers=worker_count)))
            self._next = first
        return self._take()

    def _take(self) -> Iterator[dict[str, np.ndarray]]:
        while True:
            if not self._pending:
                chunk = next(self._iterator)
                ends = np.cumsum(chunk["sizes"])
                self._pending.extend({"obs": chunk["obs"][e - n : e], "labels": chunk["labels"][e - n : e]}
                                     for n, e in zip(chunk["sizes"], ends))
            self._next += 1
            yield self._pending.popleft()

    def close(self) -> None:
        self._pending.clear()
        if self._iterator is not None:
            iterator, self._iterator = self._iterator, None
            iterator.close()


class _Chunks:
    """Chunk ``c`` of a stream from batch ``first``: batches ``first + c * k`` onwards, ``k`` of them."""

    def __init__(self, batches: EpochBatches, first: int, k: int):
        self.batches, self.first, self.k = batches, first, k

    def __call__(self, c: int) -> dict[str, np.ndarray]:
        start = self.first + int(c) * self.k
        batches = [self.batches(g) for g in range(start, start + self.k)]
        return {
            "obs": np.concatenate([b["obs"] for b in batches]),
            "labels": np.concatenate([b["labels"] for b in batches]),
            "sizes": np.array([len(b["labels"]) for b in batches]),
        }


#: A worker's chunk of batches is about this many bytes, and at most this many batches.
CHUNK_BYTES = 2 * 2**20
CHUNK_BATCHES = 64
#: The stream of batches the workers make has no end a run reaches.
_ENDLESS = 2**40
_SMALL = 2**16  # arrays under this many bytes go through the pipe
