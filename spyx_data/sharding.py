"""How a split is cut into shard files. The only place this rule lives.

Shard ``k`` of ``n`` holds the contiguous source indices ``[k * N // n, (k + 1) * N // n)``,
in source order, so record ``i`` of a split is source sample ``i`` and the shard files depend
only on ``N`` and ``n``: never on the runner, the worker count or how work was bundled.
"""

from __future__ import annotations

import math

#: Default target size of one shard file before compression.
DEFAULT_SHARD_BYTES = 8 << 20
SHARD_SUFFIX = ".array_record"


def default_num_shards(num_records: int, record_bytes: int, shard_bytes: int = DEFAULT_SHARD_BYTES) -> int:
    """Shards for a split when none is asked for: ``ceil(N * record_bytes / shard_bytes)``, at least 1."""
    return max(1, math.ceil(num_records * record_bytes / shard_bytes))


def shard_ranges(num_records: int, num_shards: int) -> list[tuple[int, int]]:
    """``[start, stop)`` source indices of each shard; every shard non-empty.

    Raises:
        ValueError: ``num_shards`` is not in ``1..num_records``.
    """
    if not 1 <= num_shards <= num_records:
        raise ValueError(f"cannot cut {num_records} records into {num_shards} non-empty shards")
    return [(k * num_records // num_shards, (k + 1) * num_records // num_shards) for k in range(num_shards)]


def shard_name(split: str, shard: int, num_shards: int) -> str:
    """File name of a shard, relative to the dataset directory: ``train-00003-of-00008.array_record``."""
    return f"{split}-{shard:05d}-of-{num_shards:05d}{SHARD_SUFFIX}"
