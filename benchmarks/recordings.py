"""A recordings build's memory against the length of its recordings.

    python -m benchmarks.recordings [--events=300000] [--recordings=8] [--formats=.npy,.aedat4,...]
        [--workdir=DIR]

Writes ``--recordings`` synthetic recordings of ``--events`` events each and as many of ten times
that many, in each format (each written by its own writer library, as the tests write them),
builds each folder with ``python -m pipelines.recordings`` (the in-process runner: one process
does everything) and prints the build's peak RSS at 1x and 10x. A format whose decoder reads a
recording in pieces keeps the peak flat; one that reads a whole file at once grows with it.
The data is written under ``--workdir`` (default: a new folder in the system's temporary folder,
which is removed after; the command says where).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

import numpy as np

from benchmarks import Table, watch

SENSOR = (128, 128, 2)
DURATION_US = 1_000_000
#: The suffixes measured by default: every format of ``pipelines.recordings``.
FORMATS = (".npy", ".bin", ".aedat4", ".dat", ".raw", ".es", ".csv")


def recording_bytes(suffix: str, n: int, seed: int) -> bytes:
    """One synthetic recording of ``n`` events over 1 s on a 128 x 128 sensor, as ``suffix``."""
    from spyx_data.builder import fixtures

    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, DURATION_US, n)) + 1_000_000
    x, y, p = rng.integers(0, SENSOR[0], n), rng.integers(0, SENSOR[1], n), rng.integers(0, 2, n)
    if suffix == ".npy":
        array = np.zeros(n, dtype=[("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "u1")])
        array["t"], array["x"], array["y"], array["p"] = t, x, y, p
        return fixtures.npy_bytes(array)
    if suffix == ".bin":
        return fixtures.encode_atis_bin(t, x, y, p)
    options = {"version": "evt3"} if suffix == ".raw" else {}
    return fixtures.faery_bytes(t, x, y, p, SENSOR[:2], suffix, **options)


def write(folder: str, suffix: str, recordings: int, events: int) -> None:
    """``folder/train/<class>/<k><suffix>``: ``recordings`` recordings in two classes (kept if there)."""
    marker = os.path.join(folder, ".written")
    if os.path.exists(marker):
        return
    shutil.rmtree(folder, ignore_errors=True)
    for k in range(recordings):
        path = os.path.join(folder, "train", f"class{k % 2}", f"{k:03d}{suffix}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(recording_bytes(suffix, events, k))
    open(marker, "w").close()


def build_peak(data_dir: str, workdir: str) -> float:
    """Peak RSS (MiB) of a fresh ``python -m pipelines.recordings`` build of ``data_dir``."""
    out = tempfile.mkdtemp(dir=workdir, prefix="build-")
    try:
        run = watch([sys.executable, "-m", "pipelines.recordings", f"--data_dir={data_dir}",
                     f"--sensor_size={','.join(map(str, SENSOR))}", f"--output_dir={out}", "--sample_T=100",
                     f"--duration_ms={DURATION_US // 1000}"])
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return run.tree_mib


def run(table, workdir: str, formats: tuple[str, ...], events: int, recordings: int) -> dict[str, dict[str, float]]:
    """Peak RSS of the build at ``events`` and ten times that per recording, per format: a row
    of ``table`` each; the figures."""
    results = {}
    for suffix in formats:
        peaks = {}
        for scale in (1, 10):
            folder = os.path.join(workdir, f"recordings{suffix.replace('.', '-')}-{recordings}x{events * scale}")
            write(folder, suffix, recordings, events * scale)
            peaks[f"{scale}x"] = build_peak(folder, workdir)
        results[suffix] = peaks
        table.add(f"build memory, {suffix}", f"{peaks['1x']:.0f} MiB at {events:,} ev", f"{peaks['10x']:.0f} MiB at 10x",
                  peaks["10x"] / peaks["1x"], "<= 1.3x", lambda r: r <= 1.3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.recordings", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300_000, help="events per recording at 1x")
    parser.add_argument("--recordings", type=int, default=8)
    parser.add_argument("--formats", default=",".join(FORMATS), help="suffixes, comma-separated")
    parser.add_argument("--workdir", default=None, help="keeps the synthetic recordings between runs")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="spyx-bench-recordings-")
    print(f"peak RSS of a recordings build of {args.recordings} recordings per format; synthetic data in {workdir}"
          + ("" if args.workdir else " (removed at the end; --workdir keeps it)"))
    try:
        run(Table(judge=True), workdir, tuple(args.formats.split(",")), args.events, args.recordings)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
