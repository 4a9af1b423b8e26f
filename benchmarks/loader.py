"""GrainLoader epochs against a plain read of the same records, and with workers against in-process."""

from __future__ import annotations

import numpy as np

from benchmarks import median_seconds


def plain_epoch_seconds(build: str, batch: int, repeats: int) -> float:
    """Median time of one epoch of shuffled batches read straight from Grain's
    ``ArrayRecordDataSource`` over the train shards (``__getitems__`` + ``np.frombuffer`` of the
    records' dtype): what reading costs with no checks, transforms or batching logic."""
    import grain

    import spyx_data

    split = spyx_data.open_split(build, "train")
    source = grain.sources.ArrayRecordDataSource(split.paths)
    dtype = split.layout.dtype
    order = np.random.default_rng(0).permutation(len(source))

    def epoch() -> None:
        for b in range(len(source) // batch):
            records = np.frombuffer(b"".join(source.__getitems__(order[b * batch : (b + 1) * batch].tolist())), dtype)
            records["obs"], records["label"].astype(np.int32)

    return median_seconds(epoch, repeats)


def epoch_seconds(build: str, batch: int, repeats: int, worker_count: int = 0, transforms=()) -> float:
    """Median time of a train epoch of a ``GrainLoader`` (batch ``batch``, shuffled); with
    workers, of the epochs after the first (the workers are started and kept)."""
    import spyx_data

    with spyx_data.GrainLoader(spyx_data.open_split(build, "train"), batch, shuffle=True, seed=0,
                               worker_count=worker_count, transforms=transforms) as loader:
        if worker_count:
            list(loader)
        return median_seconds(lambda: list(loader), repeats)
