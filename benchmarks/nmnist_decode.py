"""N-MNIST per-recording cost: decoding (ours vs tonic.io.read_mnist_file) and rasterising.

    python -m benchmarks.nmnist_decode [--samples=2000] [--repeats=5] [--data_dir=DIR]

Writes synthetic N-MNIST recordings (2,000-6,000 events each) into ``--data_dir`` unless it
already holds them (without ``--data_dir``, into a new folder in the system's temporary folder,
removed at the end), then times each stage over the same files in one process and prints the
median of ``--repeats`` runs, per recording, and the ratio to tonic's decoder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile

import numpy as np
import tonic

from benchmarks import median_seconds
from pipelines.transforms import keep_freed_memory
from spyx_data import paths
from spyx_data.builder import camera, events, nmnist, raster, synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data_dir", default=None)
    args = parser.parse_args()
    keep_freed_memory()  # as build workers do
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="nmnist-bench-")
    print(f"synthetic N-MNIST in {data_dir}" + ("" if args.data_dir else " (removed at the end)"))
    try:
        run(data_dir, args.samples, args.repeats)
    finally:
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)


def run(data_dir: str, samples: int, repeats: int) -> None:
    """Time each stage on ``samples`` recordings in ``data_dir`` (written there if missing)."""
    root = nmnist.DATASET.location(data_dir, "train")
    if not os.path.isdir(root):
        synthetic.write(nmnist.DATASET, data_dir, "train", samples)
    files = [os.path.join(root, *parts) for parts in paths.list_files(root, ".bin")[: samples]]
    blobs = []
    for path in files:
        with open(path, "rb") as f:
            blobs.append(f.read())
    n = len(files)
    spec = nmnist.DATASET.spec()
    decoded = [events.read_atis_bin(b) for b in blobs]

    def rasterise():  # in groups of 64, each in passes of at most raster.EVENTS_PER_PASS events, as the build does
        group = camera.FolderReader.MAX_SAMPLES
        for start in range(0, n, group):
            raster.camera_rasters(decoded[start : start + group], spec.sample_T, spec.duration_us, spec.sensor)

    reader = spec.open("train", root)
    stages = {
        "read files (open + read)": lambda: [open(p, "rb").read() for p in files],
        "decode: tonic.io.read_mnist_file": lambda: [
            tonic.io.read_mnist_file(p, dtype=tonic.datasets.NMNIST.dtype) for p in files
        ],
        "decode: spyx_data read_atis_bin (from bytes)": lambda: [events.read_atis_bin(b) for b in blobs],
        "rasterise into packed frames (T=40, 300 ms)": rasterise,
        "whole reader: read + decode + rasterise + pack": lambda: list(reader.rasters(0, min(n, len(reader)))),
    }
    results = {name: median_seconds(fn, repeats) for name, fn in stages.items()}
    mean_events = np.mean([len(e.t) for e in decoded])
    print(f"{n} N-MNIST recordings, {mean_events:.0f} events on average; median of {repeats} runs")
    tonic_time = results["decode: tonic.io.read_mnist_file"]
    for name, seconds in results.items():
        print(f"  {name:48s} {seconds / n * 1e6:8.1f} us/recording   {tonic_time / seconds:6.2f}x tonic decode")


if __name__ == "__main__":
    main()
