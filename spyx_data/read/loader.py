"""Epochs of batches over a random-access source, with spyx.data's names: ``GrainLoader``, ``State``."""

from __future__ import annotations

import collections
import functools
import multiprocessing.util
import operator
import types
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


def describe(transform: Any, where: str = "transform") -> str:
    """A transform as a loader state names it: its type and its settings, every public
    attribute (a name not starting with ``_``) as a plain Python value (:func:`plain`), e.g.
    ``"ShiftAugment(axes=(-1,), input_key='obs', max_shift=4, mode='roll')"``; a plain
    function as its module and name.

    Raises:
        UsageError: a setting that has no plain value (a generator, a lambda, an object without
            attributes): a state could not tell whether a resumed loader's is the same, so it
            is refused rather than left out.
    """
    return str(plain(transform, where))


class _Text(str):
    """A described object in a plain value: its repr is its text."""

    def __repr__(self) -> str:
        return str(self)


def plain(value: Any, where: str = "value") -> Any:
    """``value`` as plain Python, so that two settings compare equal exactly when they are the
    same: numpy scalars as ``bool`` / ``int`` / ``float`` / ``str``; lists, tuples and numpy
    arrays as (nested) tuples; dicts with their keys sorted; an object (a transform, a
    dataclass) as the text ``Type(name=value, ...)`` of its public attributes (names not starting
    with ``_``), sorted; a module-level function or class as ``module.name``, a bound method as
    its object's text and name. ``where`` names the value in the error.

    Raises:
        UsageError: ``value`` or a part of it has no plain value (a generator, a lambda, a set,
            an object without attributes).
    """
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, (bool, int, float, str)):  # np.float64, np.str_, an IntEnum, ...
        return next(kind(value) for kind in (bool, int, float, str) if isinstance(value, kind))
    if isinstance(value, np.ndarray):
        return plain(value.tolist(), where)
    if isinstance(value, np.generic):  # np.int64, np.bool_, np.float32, ...
        item = value.item()
        if type(item) in (bool, int, float, str):
            return item
    elif isinstance(value, (list, tuple)):
        return tuple(plain(v, f"{where}[{k}]") for k, v in enumerate(value))
    elif isinstance(value, dict):
        items = [(plain(k, where), plain(v, f"{where}[{k!r}]")) for k, v in value.items()]
        return dict(sorted(items, key=lambda kv: repr(kv[0])))
    elif isinstance(value, functools.partial):
        parts = [repr(plain(value.func, where)), *(repr(plain(a, where)) for a in value.args)]
        parts += [f"{k}={plain(v, where)!r}" for k, v in sorted(value.keywords.items())]
        return _Text(f"partial({', '.join(parts)})")
    elif isinstance(value, types.MethodType):
        return _Text(f"{plain(value.__self__, where)!r}.{value.__name__}")
    elif isinstance(getattr(value, "__qualname__", None), str):  # a function or class (instances have no name)
        if "<" not in value.__qualname__:  # not a lambda nor a local function: its name says which
            return _Text(f"{getattr(value, '__module__', None)}.{value.__qualname__}")
    elif not isinstance(value, (set, frozenset, bytes, bytearray, types.ModuleType)):
        settings = _settings(value)
        if settings is not None:
            text = ", ".join(f"{k}={plain(v, f'{where}.{k}')!r}" for k, v in settings)
            return _Text(f"{type(value).__name__}({text})")
    raise UsageError(f"{where} ({_short(value)}) has no plain value, so a loader state cannot name it and a resumed "
                     "loader could not be checked against it; give it plain settings (numbers, strings, arrays, "
                     "module-level functions) or keep what does not change the batches in an attribute whose name "
                     "starts with '_'")


def _settings(value: Any) -> list[tuple[str, Any]] | None:
    """An object's public attributes (its ``__dict__`` and slots), sorted by name; None if it has neither."""
    names = set(getattr(value, "__dict__", ()))
    for cls in type(value).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        names.update([slots] if isinstance(slots, str) else slots)
    if not names and not hasattr(value, "__dict__"):
        return None
    return [(k, getattr(value, k)) for k in sorted(names) if not k.startswith("_") and hasattr(value, k)]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


#: Version of :meth:`GrainLoader.get_state`'s dict. Version 2 pads the hosts' epochs with
#: ``drop_remainder=False`` on several hosts; a version 1 state is still taken where the stream
#: is the same (one host, or ``drop_remainder=True``).
STATE_VERSION = 2


class EpochBatches:
    """Batch ``g`` of a loader's endless stream of epochs: batch ``g % B`` of epoch ``g // B``
    (``B`` batches per epoch), a pure function of the loader's settings, so this process and
    every worker make the same batch for the same ``g``. Picklable (it goes to the workers).

    With ``drop_remainder=False`` on several hosts every host's epoch is padded to
    ``B * batch_size`` samples, ``B`` from the host with the most samples: padding rows are
    all-zero ``obs`` and label ``-1``, at the end of the epoch, so every batch is whole and every
    host has the same number of them (lockstep)."""

    def __init__(self, dataset: Any, batch_size: int, shuffle: bool, seed: int, drop_remainder: bool,
                 transforms: Sequence[Any], process_index: int, process_count: int):
        self.dataset = dataset
        self.batch_size, self.shuffle, self.seed, self.drop_remainder = batch_size, shuffle, seed, drop_remainder
        self.transforms = tuple(transforms)
        self.process_index, self.process_count = process_index, process_count
        n = len(dataset)
        self.cut = n - n % process_count if drop_remainder else n
        self.pad = not drop_remainder and process_count > 1
        self.samples = len(range(process_index, self.cut, process_count))  # real samples of this host's epoch
        most = -(-n // process_count) if self.pad else self.samples  # samples of the host with the most
        self.per_epoch = self.samples // batch_size if drop_remainder else -(-most // batch_size)
        self._order: tuple[int, np.ndarray] | None = None  # the last epoch's order

    def order(self, epoch: int) -> np.ndarray:
        """This host's source indices in epoch ``epoch``, in order (int64), without padding."""
        if self._order is None or self._order[0] != epoch:
            n = len(self.dataset)
            order = np.random.default_rng(epoch_seed(self.seed, epoch)).permutation(n) if self.shuffle else np.arange(n)
            self._order = (epoch, order[: self.cut][self.process_index :: self.process_count])
        return self._order[1]

    def indices(self, g: int) -> tuple[int, np.ndarray, int]:
        """Batch ``g``'s epoch, its source indices (int64; padded with index 0 to ``batch_size``
        where this host's epoch is padded) and how many of them are real samples (the first)."""
        epoch, b = divmod(int(g), self.per_epoch)
        indices = self.order(epoch)[b * self.batch_size : (b + 1) * self.batch_size]
        real = len(indices)
        if self.pad and real < self.batch_size:
            indices = np.concatenate([indices, np.zeros(self.batch_size - real, dtype=indices.dtype)])
        return epoch, indices, real

    def __call__(self, g: int) -> dict[str, np.ndarray]:
        epoch, indices, real = self.indices(g)  # padding rows read record 0, then are zeroed
        batch = read_batch(self.dataset, indices)
        if self.transforms:
            batch = stack([self.transformed({key: value[k] for key, value in batch.items()}, int(i), epoch)
                           for k, i in enumerate(indices)])
        if real < len(indices):
            batch = {"obs": np.array(batch["obs"]), "labels": np.array(batch["labels"])}
            batch["obs"][real:] = 0
            batch["labels"][real:] = -1
        return batch

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
    current epoch (all of it, unless an earlier iterator was left before its end), and the next
    ``iter`` starts the next epoch, reshuffled with that epoch's seed (:func:`epoch_seed` of
    ``(seed, epoch)``). The loader is a cursor over the endless stream of epochs, read by one
    iterator at a time: a new ``iter(loader)`` (or :meth:`set_state`) ends the previous iterator,
    whose ``next`` then raises ``UsageError``; so ``for b in loader: ... break`` and then another
    ``for b in loader:`` gives the rest of that epoch. Batch ``b`` of epoch ``e`` is a pure
    function of the settings, ``e`` and ``b`` (:class:`EpochBatches`): the same for every
    ``worker_count``, and a run resumed from :meth:`get_state` continues byte for byte.

    Args:
        dataset: any ``len`` + ``__getitem__`` source returning ``{"obs", "labels", ...}``
            dicts, e.g. :func:`spyx_data.open_split`.
        batch_size: samples per ``State`` (on this host).
        shuffle: shuffle the order each epoch (a numpy permutation seeded per epoch).
        seed: shuffle seed.
        worker_count: Grain worker processes (``mp_prefetch``). ``None`` or ``0`` reads in
            this process (decoding prebuilt records is cheap; spyx.data started up to 4
            workers); ``> 0`` starts workers on the first batch and keeps them for every
            later epoch, prefetching across epoch ends, until :meth:`close` (or the loader is
            collected, or the interpreter exits). They need a picklable ``dataset`` and a
            ``__main__`` guard in the calling script.
        drop_remainder: drop the last partial batch (spyx.data always did). With False, on one
            host the last batch is short; on several hosts every batch is whole, the end of
            each host's epoch padded with all-zero ``obs`` and label ``-1`` (``labels >= 0`` is
            the mask), as :func:`~spyx_data.prestage` pads.
        transforms: Grain transforms applied to each record of a batch, in order, before
            stacking (e.g. :class:`~spyx_data.encoders.ShiftAugment`): ``random_map`` for a
            ``RandomMap``, ``map`` for a ``MapTransform``, else called. A random one draws from
            a generator seeded by ``(seed, epoch, its place in the list, record index)``
            (:meth:`EpochBatches.transformed`): the same for every ``worker_count`` and after a
            resume, fresh each epoch.
        process_index: this host (default ``jax.process_index()``). Every host shuffles the
            whole split alike and takes every ``process_count``-th sample from
            ``process_index``: the hosts' parts are disjoint and together cover the epoch, and
            batch ``b`` of every host together is the global batch ``b`` (lockstep).
        process_count: the number of hosts (default ``jax.process_count()``). Every host has the
            same number of batches: with ``drop_remainder`` the epoch is first cut to a multiple
            of ``process_count``, without it the hosts' epochs are padded.

    Raises:
        UsageError: a count or seed that is not an integer, a flag that is not a bool.
        ValueError: ``batch_size < 1``, ``worker_count < 0``, ``process_index`` outside
            ``0..process_count-1``, or an epoch of no batch.
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
        batch_size, seed = _integer("batch_size", batch_size), _integer("seed", seed)
        worker_count = 0 if worker_count is None else _integer("worker_count", worker_count)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if worker_count < 0:
            raise ValueError(f"worker_count must be >= 0, got {worker_count}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = _flag("shuffle", shuffle)
        self.seed = seed
        self.worker_count = worker_count
        self.drop_remainder = _flag("drop_remainder", drop_remainder)
        self.transforms = tuple(transforms)
        if process_index is None or process_count is None:
            import jax

            process_index = jax.process_index() if process_index is None else process_index
            process_count = jax.process_count() if process_count is None else process_count
        process_index, process_count = _integer("process_index", process_index), _integer("process_count",
                                                                                          process_count)
        if not 0 <= process_index < process_count:
            raise ValueError(f"process_index {process_index} is not in 0..{process_count - 1}")
        self.process_index, self.process_count = process_index, process_count
        self._batches = EpochBatches(dataset, batch_size, self.shuffle, seed, self.drop_remainder, self.transforms,
                                     process_index, process_count)
        check_batches(len(self), repr(dataset), self._batches.samples, batch_size)
        # Where the stream stands: the epoch and the batches of it delivered.
        self.epoch, self._position = 0, 0
        self._reader = _Reader()  # the latest iter()'s: the one iterator that may read the stream
        self._workers = _Workers()
        # Stops the workers when the loader is collected, and at exit before multiprocessing
        # terminates its daemonic children (finalizers of priority >= 0 run first, whatever the
        # order of the atexit hooks: a weakref.finalize ran after that where weakref's hook was
        # registered before multiprocessing's, and the chunks then in flight leaked).
        multiprocessing.util.Finalize(self, self._workers.close, exitpriority=_EXIT_PRIORITY)

    def __len__(self) -> int:
        """Batches per epoch on this host."""
        return self._batches.per_epoch

    def __iter__(self) -> Iterator[State]:
        """An iterator over the rest of the current epoch; the iterator before it ends."""
        return self._iter("a newer iter(loader)")

    def _iter(self, why: str, from_start: bool = False) -> Iterator[State]:
        """``iter(loader)``, the iterator before it ended by ``why``; ``from_start``: over the
        whole current epoch (the batches of it delivered are given again)."""
        self._end_reader(why)
        if from_start:
            self._position = 0
        return _EpochIterator(self, self._reader, self.epoch)

    def _end_reader(self, why: str) -> None:
        self._reader.ended_by, self._reader = why, _Reader()

    def _next_batch(self) -> State:
        """The next batch of the stream; counted as delivered."""
        g = self.epoch * len(self) + self._position
        batch = self._read(g)
        self.epoch, self._position = divmod(g + 1, len(self))
        return batch

    def _read(self, g: int) -> State:
        """Batch ``g`` of the stream."""
        if self.worker_count:
            batch = self._workers.batch(self._batches, g, self.worker_count)
        else:
            read = self._batches(g)  # copied when they are views: they would keep the whole read alive
            batch = {"obs": np.ascontiguousarray(read["obs"]), "labels": np.ascontiguousarray(read["labels"])}
        return State(obs=batch["obs"], labels=batch["labels"])

    def get_state(self) -> dict[str, Any]:
        """Where the stream stands, as a small JSON-serialisable dict: the epoch and the batches
        of it delivered so far, with what identifies the stream (the build and split, batch
        size, shuffle, seed, host count, transforms with their settings, :func:`describe`). The
        hosts of a run stand alike (lockstep), so one host's state serves all. Save it next to
        the model's checkpoint; after :meth:`set_state` the next ``iter`` continues with the
        next batch.

        Raises:
            UsageError: a transform has a setting a state cannot name (:func:`plain`).
        """
        return {
            "version": STATE_VERSION,
            "epoch": self.epoch,
            "position": self._position,
            **self._identity(),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (from :meth:`get_state`): the next ``iter`` gives the rest of
        that epoch, and the epochs after follow, byte-identical to an uninterrupted run. An
        iterator taken before ends (its ``next`` raises ``UsageError``).

        Raises:
            UsageError: a state of another stream (another build or split, batch size, host
                count, shuffle, seed or transforms), another version, or a position past the
                epoch; a transform has a setting a state cannot name.
        """
        version = state.get("version") if isinstance(state, dict) else None
        if not (version == STATE_VERSION or version == 1 and not self._batches.pad):
            raise UsageError(f"not a loader state of version {STATE_VERSION}"
                             f"{'' if self._batches.pad else ' or 1'}: {str(state)[:80]}")
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
        self._end_reader("set_state")
        self.epoch, self._position = epoch, position

    def _identity(self) -> dict[str, Any]:
        """What a state must share with this loader to continue its stream, in plain values."""
        manifest, split = getattr(self.dataset, "manifest", None), getattr(self.dataset, "split", None)
        frames = getattr(self.dataset, "frames", None)  # the frames a source makes of an events build
        return {
            "source": (f"{manifest.build_name}/{split}" if manifest is not None and split is not None
                       else f"{type(self.dataset).__name__} of {len(self.dataset)}")
                      + ("" if frames is None else f" as {plain(frames, 'frames')!r}"),
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "seed": self.seed,
            "drop_remainder": self.drop_remainder,
            "process_count": self.process_count,
            "transforms": [describe(t, f"transforms[{j}]") for j, t in enumerate(self.transforms)],
        }

    def close(self) -> None:
        """Stop the worker processes (the loader starts them again if iterated)."""
        self._workers.close()

    def __enter__(self) -> GrainLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _integer(name: str, value: Any) -> int:
    """``value`` (a Python or numpy integer) as an int.

    Raises:
        UsageError: it is not an integer (a float, a string, a bool).
    """
    if isinstance(value, (bool, np.bool_)):
        raise UsageError(f"{name} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise UsageError(f"{name} must be an integer, got {value!r}") from None


def _flag(name: str, value: Any) -> bool:
    """``value`` (a Python or numpy bool) as a bool.

    Raises:
        UsageError: it is not a bool.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise UsageError(f"{name} must be True or False, got {value!r}")
    return bool(value)


class _Reader:
    """Whether an iterator of a loader may still read it: ``ended_by`` says what ended it."""

    __slots__ = ("ended_by",)

    def __init__(self):
        self.ended_by = ""


class _EpochIterator:
    """An iterator over the rest of one epoch of a :class:`GrainLoader`; it reads the loader's
    cursor until the epoch is delivered, or raises ``UsageError`` once a newer ``iter(loader)``
    or ``set_state`` has ended it. Holds no batches of its own."""

    def __init__(self, loader: GrainLoader, reader: _Reader, epoch: int):
        self._loader, self._reader, self._epoch, self._done = loader, reader, epoch, False

    def __iter__(self) -> _EpochIterator:
        return self

    def __next__(self) -> State:
        loader = self._loader
        if self._done:
            raise StopIteration
        if self._reader.ended_by:
            raise UsageError(f"this iterator of the loader was ended by {self._reader.ended_by}: a loader is read by "
                             "one iterator at a time, so read from the newest iter(loader)")
        if loader.epoch != self._epoch:
            self._done = True
            raise StopIteration
        return loader._next_batch()


class _Workers:
    """The worker processes of a loader: one Grain ``mp_prefetch`` iterator over the endless
    stream of batches, kept while the loader reads on from where it left it.

    Each worker makes chunks of consecutive batches of about :data:`CHUNK_BYTES`, concatenated
    into one array per field and handed over in shared memory: Grain's cost per element handed
    over (segment, resource tracker, queue) is then paid once per chunk, not per batch, and the
    pipe carries only the arrays' names, so a worker never blocks on it when the loader closes
    (a pickled 2 MiB element did, and Grain waited 25 s before killing the worker). A worker
    computes its chunks one after another (no reading threads: the loader's read is one batched
    call already). A chunk is copied out of shared memory as it arrives, one array per batch,
    and its segment unlinked at once (:func:`_copied_out`), so no segment outlives the call
    that received it, whatever the caller keeps or leaves unfinished at exit; the loader's
    finalizer closes the workers at exit before multiprocessing terminates them."""

    def __init__(self):
        self._iterator: Any = None
        self._pending: collections.deque = collections.deque()  # the rest of the last chunk
        self._next = -1  # the stream index of the next batch it gives

    def batch(self, batches: EpochBatches, g: int, worker_count: int) -> dict[str, np.ndarray]:
        """Batch ``g`` of the stream, from the running workers if they are at ``g``, else from
        workers started there."""
        import grain

        if self._iterator is None or self._next != g:
            self.close()
            _allow_grain_workers()
            size = sum(a.nbytes for a in batches(g).values())
            chunks = _Chunks(batches, g, max(1, min(CHUNK_BATCHES, CHUNK_BYTES // max(size, 1))))
            stream = grain.MapDataset.range(_ENDLESS).map(chunks).to_iter_dataset(grain.ReadOptions(num_threads=0))
            stream = grain.experimental.WithOptionsIterDataset(
                stream, grain.experimental.DatasetOptions(min_shm_size=_SMALL)
            )
            self._iterator = iter(stream.mp_prefetch(grain.MultiprocessingOptions(num_workers=worker_count)))
            self._next = g
        if not self._pending:
            self._pending.extend(_copied_out(next(self._iterator)))
        self._next += 1
        return self._pending.popleft()

    def close(self) -> None:
        self._pending.clear()
        if self._iterator is not None:
            iterator, self._iterator = self._iterator, None
            iterator.close()


def _copied_out(chunk: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """The batches of a worker's chunk, each copied into arrays of its own; the chunk's shared
    memory segments are unlinked here.

    Grain 0.2.18 unlinks a segment when its array is collected, in a thread pool it does not
    wait for at exit, and an array still referenced at interpreter shutdown fails in its
    ``__del__`` (its module is torn down) and leaves the segment to the resource tracker's leak
    warning; so the loader never lets one live past this call."""
    for array in chunk.values():
        if getattr(array, "_unlink_on_del", False):  # a grain SharedMemoryArray this process owns
            array._unlink_on_del = False
            array.shm.unlink()  # the name goes now; the mapping stays valid until the array is collected
    ends = np.cumsum(chunk["sizes"])
    return [{"obs": np.array(chunk["obs"][e - n : e]), "labels": np.array(chunk["labels"][e - n : e])}
            for n, e in zip(chunk["sizes"], ends)]


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
#: Before multiprocessing's own exit finalizers (a pool's is 15).
_EXIT_PRIORITY = 20
