"""N-MNIST per-recording cost: decoding (ours vs tonic.io.read_mnist_file) and rasterising.

    python benchmarks/nmnist_decode.py [--samples=2000] [--repeats=5] [--data_dir=DIR]

Writes synthetic N-MNIST recordings (2,000-6,000 events each) into a temporary folder unless
``--data_dir`` already holds them, then times each stage over the same files in one process
and prints the median of ``--repeats`` runs, per recording, and the ratio to tonic's decoder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np
import tonic

from spyx_data import datasets, events, paths, raster, synthetic


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data_dir", default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="nmnist-bench-")
    root = synthetic.location("nmnist", data_dir, "train")
    if not os.path.isdir(root):
        synthetic.write("nmnist", data_dir, "train", args.samples)
    paths = [os.path.join(root, *parts) for parts in paths.list_files(root, ".bin")[: args.samples]]
    blobs = []
    for path in paths:
        with open(path, "rb") as f:
            blobs.append(f.read())
    n = len(paths)
    spec = datasets.get("nmnist").spec()
    decoded = [events.read_atis_bin(b) for b in blobs]

    def rasterise():
        for e in decoded:
            raster.camera_raster(*e, spec.sample_T, spec.duration_us, spec.sensor)

    reader = spec.open("train", root)
    stages = {
        "read files (open + read)": lambda: [open(p, "rb").read() for p in paths],
        "decode: tonic.io.read_mnist_file": lambda: [
            tonic.io.read_mnist_file(p, dtype=tonic.datasets.NMNIST.dtype) for p in paths
        ],
        "decode: spyx_data read_atis_bin (from bytes)": lambda: [events.read_atis_bin(b) for b in blobs],
        "rasterise, packed (T=40, 300 ms)": rasterise,
        "whole reader: read + decode + rasterise + pack": lambda: list(reader.blocks(0, min(n, len(reader)))),
    }
    results = {name: median_time(fn, args.repeats) for name, fn in stages.items()}
    mean_events = np.mean([len(e.t) for e in decoded])
    print(f"{n} N-MNIST recordings, {mean_events:.0f} events on average; median of {args.repeats} runs")
    tonic_time = results["decode: tonic.io.read_mnist_file"]
    for name, seconds in results.items():
        print(f"  {name:48s} {seconds / n * 1e6:8.1f} us/recording   {tonic_time / seconds:6.2f}x tonic decode")


if __name__ == "__main__":
    main()
