"""The build's rasterising work as a plain function, for the multiprocessing-pool reference."""

from __future__ import annotations


def rasterise_range(task: tuple[str, int, int]) -> int:
    """Read and rasterise samples ``[start, stop)`` of one SHD file, as a build's shard task does."""
    from spyx_data.build.heidelberg import AudioSpec

    path, start, stop = task
    source = AudioSpec().open("train", path)
    try:
        return sum(len(block.labels) for block in source.rasters(start, stop))
    finally:
        source.close()
