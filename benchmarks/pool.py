"""The build's rasterising work as a plain function, for the multiprocessing-pool reference."""

from __future__ import annotations


def rasterise_range(task: tuple[str, int, int] | tuple[str, int, int, str]) -> int:
    """Read and rasterise samples ``[start, stop)`` of one Heidelberg file (SHD, or the dataset
    named fourth) with the dataset's default spec, as a build's shard task does."""
    from spyx_data.builder import registry

    path, start, stop, *name = task
    source = registry.get(name[0] if name else "shd").spec().open("train", path)
    try:
        return sum(len(block.labels) for block in source.rasters(start, stop))
    finally:
        source.close()
