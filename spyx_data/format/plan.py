"""How a split is cut into shard files, and among hosts. The only place these rules live.

Shard ``k`` of ``n`` holds the contiguous source indices ``[k * N // n, (k + 1) * N // n)``,
in source order, so record ``i`` of a split is source sample ``i`` and the shard files depend
only on ``N`` and ``n``: never on the runner, the worker count or how work was bundled. Host
``h`` of ``P`` reading a whole split (prestage) takes part ``h`` of the same rule.
"""

from __future__ import annotations

import math

#: Default target size of one shard file before compression.
DEFAULT_SHARD_BYTES = 8 << 20
#: A split of enough samples gets at least this many shards (work to share between workers) ...
MIN_SHARDS = 8
#: ... of at least this many samples each.
MIN_SHARD_RECORDS = 256
SHARD_SUFFIX = ".array_record"
#: ArrayRecord compressions a build may use.
COMPRESSIONS = ("uncompressed", "zstd:1", "zstd:3", "snappy")


def writer_options(compression: str = "uncompressed") -> str:
    """ArrayRecord writer options of a shard: one record per group, as Grain's random access needs."""
    if compression not in COMPRESSIONS:
        raise ValueError(f"compression must be one of {COMPRESSIONS}, got {compression!r}")
    return f"group_size:1,{compression}"


def default_num_shards(num_records: int, record_bytes: int, shard_bytes: int = DEFAULT_SHARD_BYTES) -> int:
    """Shards for a split when none is asked for: about ``shard_bytes`` each, but at least
    ``MIN_SHARDS`` of at least ``MIN_SHARD_RECORDS`` samples when the split has that many, so that
    the workers of a build (and the reading threads of prestage) have work to share; at least 1,
    and never more than ``num_records`` (records over ``shard_bytes`` get a shard each)."""
    by_size = math.ceil(num_records * record_bytes / shard_bytes)
    by_work = min(MIN_SHARDS, num_records // MIN_SHARD_RECORDS)
    return max(1, min(num_records, max(by_size, by_work)))


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


def host_range(num_records: int, process_index: int, process_count: int) -> tuple[int, int]:
    """``[start, stop)`` of the records host ``process_index`` of ``process_count`` reads; the
    hosts' ranges are contiguous, disjoint and cover the split (sizes differ by at most one).

    Raises:
        ValueError: an index outside ``0..process_count-1``, or more hosts than records.
    """
    if not 0 <= process_index < process_count:
        raise ValueError(f"process_index {process_index} is not in 0..{process_count - 1}")
    return shard_ranges(num_records, process_count)[process_index]
