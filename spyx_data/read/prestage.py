"""Put a whole split (or this host's part of it) on accelerators in one go."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from spyx_data.format import manifest as manifest_lib
from spyx_data.format import plan
from spyx_data.format.framing import Frames
from spyx_data.read.event_split import frames_layout
from spyx_data.read.shards import check_checksum, check_fits, iter_shard, shard_path

#: Records a reading thread is started for.
BYTES_PER_THREAD = 32 << 20


def load_split(
    directory: str,
    split: str,
    num_rows: int | None = None,
    manifest: manifest_lib.Manifest | None = None,
    start: int = 0,
    stop: int | None = None,
    verify: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Records ``[start, stop)`` of a split (default all) in source order, in host memory.

    Only the shards overlapping the range are read (:func:`spyx_data.read.shards.iter_shard`:
    record headers are checked, and the records' place in the split; Riegeli's hashes are not
    on the direct path), in a thread per ``BYTES_PER_THREAD`` of records, up to one per core
    (starting threads costs more than it gains on smaller reads). Each is first checked to hold
    the records the manifest claims (:func:`spyx_data.read.shards.check_fits`), so a manifest
    claiming more than its files hold fails before memory is allocated for them.

    Args:
        num_rows: rows to allocate, at least ``stop - start``; rows past that are padding
            (all-zero ``obs``, label ``-1``). Default ``stop - start``.
        verify: also recompute each shard's sha256 against the manifest (reads it twice).

    Returns:
        ``(obs, labels)``: ``obs`` ``[num_rows, *obs_shape]`` of the layout's ``obs_dtype``
        (:attr:`~spyx_data.format.records.RecordLayout.obs_shape`, exactly as stored; 64-byte
        aligned, so that ``jax.device_put`` on CPU shares it instead of copying), by the build's
        values: binary uint8 ``[num_rows, ceil(T/8), *dims]`` (bit-packed along time), counts
        uint16 ``[num_rows, T, *dims]``, float32 ``[num_rows, T, *dims]``; ``labels`` int32
        ``[num_rows]``.

    Raises:
        ShardError: a shard is missing, unreadable or disagrees with the manifest.
    """
    manifest = manifest or manifest_lib.read_manifest(directory)
    layout = manifest.require_frames("load_split")
    info = manifest.split(split)
    stop = info.num_records if stop is None else stop
    if not 0 <= start <= stop <= info.num_records:
        raise ValueError(f"records [{start}, {stop}) are not within the {info.num_records} of {split!r}")
    num_rows = stop - start if num_rows is None else num_rows
    if num_rows < stop - start:
        raise ValueError(f"num_rows={num_rows} is less than the {stop - start} records asked for")
    overlapping = [
        s for s in info.shards if s.first_index < stop and s.first_index + s.num_records > start
    ]

    def locate(shard: manifest_lib.ShardInfo) -> str:
        path = shard_path(directory, shard)
        if verify:
            check_checksum(path, shard)
        check_fits(path, shard, manifest)  # before anything is allocated for what the manifest claims
        return path

    def fill(shard: manifest_lib.ShardInfo, path: str) -> manifest_lib.ShardInfo:
        begin = max(start, shard.first_index) - shard.first_index
        end = min(stop, shard.first_index + shard.num_records) - shard.first_index
        row = shard.first_index + begin - start
        for k, records in iter_shard(path, shard, manifest, begin, end):
            rows = slice(row + k, row + k + len(records))
            obs[rows].reshape(len(records), -1)[:] = records["obs"].reshape(len(records), -1)
            labels[rows] = records["label"]
        return shard

    threads = min(len(overlapping), os.cpu_count() or 1, -(-(stop - start) * layout.record_bytes // BYTES_PER_THREAD))
    with ThreadPoolExecutor(max(1, threads)) as pool:
        each = pool.map if threads > 1 else map
        located = list(each(locate, overlapping))
        obs = _aligned_empty((num_rows, *layout.obs_shape), layout.obs_dtype)
        obs[stop - start :] = 0
        labels = np.full(num_rows, -1, dtype=np.int32)
        with progress_bar(stop - start, split) as bar:
            for shard in each(fill, overlapping, located):
                bar.update(min(stop, shard.first_index + shard.num_records) - max(start, shard.first_index))
    return obs, labels


def check_batches(n_batches: int, what: str, samples: int, batch_size: int) -> None:
    """Refuse an epoch of no batches (``what`` has ``samples`` per host).

    Raises:
        ValueError: saying what to change.
    """
    if n_batches == 0:
        raise ValueError(
            f"{what} has {samples} samples per host, fewer than one batch of {batch_size}, so an epoch would "
            "hold no batch; use a smaller batch_size" + (" or drop_remainder=False" if samples else "")
        )


def _aligned_empty(shape: tuple[int, ...], dtype: np.dtype, alignment: int = 64) -> np.ndarray:
    """An uninitialised array of ``shape`` and ``dtype`` whose data starts at a multiple of ``alignment`` bytes."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.empty(size + alignment, dtype=np.uint8)
    skip = -raw.ctypes.data % alignment
    return raw[skip : skip + size].view(dtype).reshape(shape)


def progress_bar(total: int, desc: str, unit: str = "records"):
    """A tqdm bar on a terminal (stderr is a tty), nothing otherwise."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=f" {unit}", disable=not sys.stderr.isatty(), leave=False)


def batch_sharding(devices: Any = None):
    """A ``NamedSharding`` that splits axis 1 (the batch axis of :func:`prestage`'s arrays)
    across ``devices`` (default: every process's devices, ``jax.devices()``; in a single
    process, that process's); pass it as ``prestage(..., device=)``. In a multi-process run it
    spans all processes, so :func:`prestage` makes global arrays of it."""
    import jax

    devices = np.asarray(jax.devices() if devices is None else devices)
    mesh = jax.sharding.Mesh(devices, ("batch",))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(None, "batch"))


def prestage(
    directory: str,
    split: str,
    batch_size: int,
    drop_remainder: bool = True,
    device: Any = None,
    process_index: int | None = None,
    process_count: int | None = None,
    verify: bool = False,
    frames: Frames | None = None,
) -> tuple[Any, ...]:
    """Load a split onto JAX devices, cut into batches, in source order.

    Of an events build (``--frames=events``) with ``frames=Frames(...)``, the result is exactly
    that of the frames build with the same flags (and the same events rules, e.g. denoise): the
    events of this host's part go to the device once, and each batch is gathered, padded to a
    bucketed length and rasterised there (:mod:`spyx_data.read.event_frames`), every sample's
    events first checked on the host (refused naming its source index). The frames are made on
    ``device`` (a sharding's first device of this process); with a sharding over several
    processes they pass through host memory to make the global arrays.

    On several hosts each reads its own contiguous part of the split
    (:func:`spyx_data.format.plan.host_range`): the parts are disjoint and together cover the
    split. Every host gets the same number of batches, so training steps stay in lockstep.

    With ``device`` a sharding over several processes' devices (:func:`batch_sharding` in a
    multi-process run), the result is one global ``jax.Array`` per output, made with
    ``jax.make_array_from_process_local_data``: ``batch_size`` is the global batch, a multiple of
    ``jax.process_count()``, and each process reads only its part of the split, which fills its
    ``batch_size / process_count`` columns of every global batch (the columns its devices hold
    along axis 1; with :func:`batch_sharding`, process ``p``'s are the ``p``-th block). Global
    batch ``b`` is then batch ``b`` of every process's part, side by side. Otherwise the arrays
    are this process's own, of ``batch_size`` samples per batch.

    Args:
        directory: the build (folder holding ``manifest.json``).
        split: e.g. ``"train"``.
        batch_size: samples per batch: per host, or global with a multi-process ``device``.
        drop_remainder: as spyx.data, drop what does not fill a batch (on several hosts: the
            batches of the smallest part, so up to a batch of samples per host). With False
            every sample is kept: batches are padded with all-zero ``obs`` and label ``-1``, and
            a mask marks the real samples (across all processes, each exactly once).
        device: a ``jax.Device`` or ``jax.sharding.Sharding`` (e.g. :func:`batch_sharding` to
            split the batch axis across the devices); None: the default device.
        process_index: this host; default ``jax.process_index()`` (with a multi-process
            ``device``, the only value allowed).
        process_count: the number of hosts; default ``jax.process_count()`` (with a
            multi-process ``device``, the only value allowed).
        verify: also recompute the sha256 of each shard read against the manifest.
        frames: for an events build, the frames to make of its events (:class:`~spyx_data.Frames`;
            ``channels`` for a spike train, a camera's sensor its own); for a frames build,
            None or its own configuration (``Frames.of(manifest)``).

    Returns:
        ``(obs, labels)``, or ``(obs, labels, mask)`` when ``drop_remainder`` is False:
            ``obs`` ``[n_batches, batch_size, *obs_shape]`` of the layout's ``obs_dtype``, as stored:
            binary uint8 ``[n_batches, batch_size, ceil(T/8), *dims]`` (time bit-packed, unpack
            with ``jnp.unpackbits(obs, axis=2, count=T)``), counts uint16 ``[n_batches,
            batch_size, T, *dims]`` (event counts, no unpacking), float32 ``[n_batches,
            batch_size, T, *dims]`` (a voxel grid's dims are ``[1, H, W]``); ``labels`` int32
            ``[n_batches, batch_size]``, ``mask`` bool ``[n_batches, batch_size]`` (``mask ==
            (labels >= 0)``).

    Raises:
        ValueError: ``batch_size < 1``, no whole batch with ``drop_remainder``, or, with a
            multi-process ``device``, a ``batch_size`` that is not a multiple of the process
            count, other ``process_index``/``process_count``, or a sharding whose part on this
            process is not whole along axis 0 and a ``1 / process_count`` block along axis 1.
        ShardError: a shard is missing, unreadable or disagrees with the manifest.
        UsageError: an events build without ``frames``.
        ValueError: ``frames`` that do not fit the build
            (:func:`~spyx_data.read.event_split.frames_layout`), or events they cannot frame.
    """
    import jax

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    spans = isinstance(device, jax.sharding.Sharding) and not device.is_fully_addressable
    if spans:
        given = (process_index, process_count)
        process_index, process_count = jax.process_index(), jax.process_count()
        if given not in ((None, None), (process_index, process_count)):
            raise ValueError(f"process_index, process_count {given} are not this run's ({process_index}, "
                             f"{process_count}); with a sharding over several processes, leave them out")
        if batch_size % process_count:
            raise ValueError(f"batch_size {batch_size} is the global batch over {process_count} processes, so it "
                             f"must be a multiple of {process_count}")
    process_index = jax.process_index() if process_index is None else process_index
    process_count = jax.process_count() if process_count is None else process_count
    local_batch = batch_size // process_count if spans else batch_size
    manifest = manifest_lib.read_manifest(directory)
    frames_layout(manifest, frames, "prestage")
    n = manifest.split(split).num_records
    parts = [plan.host_range(n, h, process_count) for h in range(process_count)]
    sizes = [stop - start for start, stop in parts]
    n_batches = min(sizes) // local_batch if drop_remainder else -(-max(sizes) // local_batch)
    check_batches(n_batches, f"split {split!r}", min(sizes), local_batch)
    rows = n_batches * local_batch
    start, stop = parts[process_index]
    if manifest.layout.events:
        from spyx_data.read.event_frames import prestage_events

        obs, labels = prestage_events(directory, split, manifest, frames, start, min(stop, start + rows), n_batches,
                                      local_batch, device, verify)
    else:
        obs, labels = load_split(directory, split, rows, manifest, start, min(stop, start + rows), verify)
        obs = obs.reshape(n_batches, local_batch, *obs.shape[1:])
        labels = labels.reshape(n_batches, local_batch)
    if spans:
        _check_process_block(device, (n_batches, batch_size), (n_batches, local_batch))
        obs, labels = (jax.make_array_from_process_local_data(device, np.asarray(a),
                                                              (n_batches, batch_size, *a.shape[2:]))
                       for a in (obs, labels))
    else:
        obs, labels = jax.device_put(obs, device), jax.device_put(labels, device)
    if drop_remainder:
        return obs, labels
    return obs, labels, labels >= 0


def _check_process_block(sharding: Any, global_shape: tuple[int, int], local_shape: tuple[int, int]) -> None:
    """Refuse a sharding under which this process's devices do not hold ``local_shape`` of the
    first two axes (whole axis 0, one contiguous block of axis 1)."""
    held = [index[:2] for index in sharding.addressable_devices_indices_map(global_shape).values()]
    rows = {range(*s.indices(global_shape[0])) for s, _ in held}
    columns = sorted({c for _, s in held for c in range(*s.indices(global_shape[1]))})
    if rows != {range(global_shape[0])} or columns != list(range(columns[0], columns[0] + local_shape[1])):
        raise ValueError(f"{sharding} gives this process no whole block of {local_shape[1]} batch columns (axis 1) "
                         "with every batch (axis 0); split axis 1 across the processes, as batch_sharding() does")
