"""The original spyx.data SHD path, as the baseline of the benchmarks.

It follows spyx.data (see its API reference): tonic's ``SHD`` dataset (tonic 1.7 already reads
times as float64 before scaling), ``Downsample(time_factor=1e-6 * sample_T,
spatial_factor=channels / 700)``, the per-sample ``_SHD2Raster`` and the ``prestage`` loop that
calls ``dataset[i]`` for every sample (tonic reopens the h5 file on each call), and the
``GrainLoader`` over a ``TonicSource`` with ``worker_count=0``.

The reference shows ``_SHD2Raster``'s behaviour but not its body; this one is reconstructed
from it: a ``(t_max + 1, channels)`` uint8 counter filled with ``np.add.at`` (so 256 events in
a cell wrap to 0), cut or zero-padded to ``sample_T`` rows; ``prestage`` packs it along time.
Nothing here is used by spyx-data itself.
"""

from __future__ import annotations

import numpy as np


class SHD2Raster:
    """spyx.data's ``_SHD2Raster``: events -> uint8 ``[sample_T, encoding_dim]`` event counts."""

    def __init__(self, encoding_dim: int, sample_T: int = 100):
        self.encoding_dim = encoding_dim
        self.sample_T = sample_T

    def __call__(self, events: np.ndarray) -> np.ndarray:
        tensor = np.zeros((events["t"].max() + 1, self.encoding_dim), dtype=np.uint8)
        np.add.at(tensor, (events["t"], events["x"]), 1)
        tensor = tensor[: self.sample_T]
        return np.pad(tensor, ((0, self.sample_T - len(tensor)), (0, 0)))


def shd_dataset(download_dir: str, split: str, sample_T: int = 128, channels: int = 128):
    """tonic's SHD with spyx.data's transform."""
    import tonic
    from tonic import transforms

    transform = transforms.Compose(
        [
            transforms.Downsample(time_factor=1e-6 / (1 / sample_T), spatial_factor=channels / 700),
            SHD2Raster(encoding_dim=channels, sample_T=sample_T),
        ]
    )
    return tonic.datasets.SHD(download_dir, train=split == "train", transform=transform)


def prestage(dataset, batch_size: int, sample_T: int = 128, channels: int = 128):
    """spyx.data's ``SHD_loader.prestage``: every sample rasterised in Python, then on the device."""
    import jax.numpy as jnp

    n = len(dataset)
    packed = np.empty((n, (sample_T + 7) // 8, channels), dtype=np.uint8)
    labels = np.empty((n,), dtype=np.int64)
    for i in range(n):
        frame, label = dataset[i]
        packed[i] = np.packbits(frame, axis=0)
        labels[i] = int(label)
    n_batches = n // batch_size
    cutoff = n_batches * batch_size
    obs = jnp.asarray(packed[:cutoff].reshape(n_batches, batch_size, *packed.shape[1:]))
    return obs, jnp.asarray(labels[:cutoff].reshape(n_batches, batch_size))


class TonicSource:
    """spyx.data's ``TonicSource``: a Grain data source that rasterises a tonic sample per read."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict:
        frame, label = self.dataset[index]
        return {"obs": np.squeeze(np.packbits(frame, axis=0)), "labels": label}


def grain_batches(dataset, batch_size: int, seed: int = 0):
    """spyx.data's ``GrainLoader`` (``worker_count=0``): an endless stream of shuffled batches.
    Its reading threads run ahead until :func:`stop` is called on it."""
    import grain

    sampler = grain.samplers.IndexSampler(
        num_records=len(dataset), shuffle=True, seed=seed, shard_options=grain.sharding.NoSharding()
    )
    loader = grain.DataLoader(
        data_source=TonicSource(dataset),
        sampler=sampler,
        worker_count=0,
        operations=[grain.transforms.Batch(batch_size, drop_remainder=True)],
    )
    return iter(loader)


def stop(stream) -> None:
    """Stop the reading threads of a :func:`grain_batches` stream."""
    stream._iterator.close()  # the DataLoader iterator's own has no close
