"""Put a whole split on an accelerator in one go."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from spyx_data import manifest as manifest_lib
from spyx_data import paths
from spyx_data.sources import read_shard


def load_split(
    directory: str, split: str, num_rows: int | None = None, manifest: manifest_lib.Manifest | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Every record of a split in source order, in host memory.

    Args:
        num_rows: rows to allocate, at least the split's ``N``; rows past ``N`` are padding
            (all-zero ``obs``, label ``-1``). Default ``N``.

    Returns:
        ``(obs, labels)``: uint8 ``[num_rows, ceil(T/8), *dims]`` and int32 ``[num_rows]``.
        Shards are read in parallel threads, each with one read and one ``np.frombuffer``.
    """
    manifest = manifest or manifest_lib.read_manifest(directory)
    info = manifest.split(split)
    layout = manifest.layout
    num_rows = info.num_records if num_rows is None else num_rows
    if num_rows < info.num_records:
        raise ValueError(f"num_rows={num_rows} is less than the {info.num_records} records of {split!r}")
    obs = np.zeros((num_rows, *layout.packed_shape), dtype=np.uint8)
    labels = np.full(num_rows, -1, dtype=np.int32)

    def fill(shard: manifest_lib.ShardInfo) -> None:
        records = read_shard(paths.join(directory, shard.path), shard, layout)
        rows = slice(shard.first_index, shard.first_index + shard.num_records)
        obs[rows] = records["obs"]
        labels[rows] = records["label"]

    with ThreadPoolExecutor(min(8, len(info.shards))) as pool:
        list(pool.map(fill, info.shards))
    return obs, labels


def prestage(directory: str, split: str, batch_size: int, drop_remainder: bool = True, device=None):
    """Load a split onto a JAX device, cut into batches, in source order.

    Args:
        directory: the build (folder holding ``manifest.json``).
        split: e.g. ``"train"``.
        batch_size: samples per batch.
        drop_remainder: as spyx.data, drop the last ``N % batch_size`` samples. With False every
            sample is kept: the last batch is padded with all-zero ``obs`` and label ``-1``, and
            a mask marks the real samples.
        device: a ``jax.Device`` or ``jax.sharding.Sharding``; None puts the arrays on the default device.

    Returns:
        ``(obs, labels)``, or ``(obs, labels, mask)`` when ``drop_remainder`` is False:
        ``obs`` uint8 ``[n_batches, batch_size, ceil(T/8), *dims]`` (time bit-packed, unpack with
        ``jnp.unpackbits(obs, axis=2, count=T)``), ``labels`` int32 ``[n_batches, batch_size]``,
        ``mask`` bool ``[n_batches, batch_size]`` (``mask == (labels >= 0)``).

    Raises:
        ValueError: ``batch_size < 1``, or fewer samples than one batch with ``drop_remainder``.
    """
    import jax

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    manifest = manifest_lib.read_manifest(directory)
    n = manifest.split(split).num_records
    n_batches = n // batch_size if drop_remainder else -(-n // batch_size)
    if n_batches == 0:
        raise ValueError(
            f"split {split!r} has {n} samples, fewer than one batch of {batch_size}; "
            "use a smaller batch_size or drop_remainder=False"
        )
    obs, labels = load_split(directory, split, max(n, n_batches * batch_size), manifest)
    obs, labels = obs[: n_batches * batch_size], labels[: n_batches * batch_size]
    obs = jax.device_put(obs.reshape(n_batches, batch_size, *obs.shape[1:]), device)
    labels_b = jax.device_put(labels.reshape(n_batches, batch_size), device)
    if drop_remainder:
        return obs, labels_b
    return obs, labels_b, labels_b >= 0
