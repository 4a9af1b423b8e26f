"""The field's representations: each frame mode's build against its reference library's own
per-sample loop on the same recordings, the vectorised denoise against tonic's, and the storage
of counts against binary.

    python -m benchmarks.frames [--recordings=64] [--events=100000] [--repeats=3] [--workdir=DIR]

The recordings are ``.npy`` files of ``--events`` events over 1 s on a 128 x 128 sensor
(:mod:`benchmarks.recordings`' data). Ours is the reader a build's worker runs (decoding each
recording and framing it with ``--frames=MODE --values=counts``, in this process; the whole
``python -m pipelines.recordings`` process of each mode, Beam's start-up included, is printed
beside); the reference is one Python loop reading each file with numpy and calling the
library's transform on it: tonic 1.7's ``ToFrame`` / ``ToVoxelGrid``, SpikingJelly 2.0's
``integrate_events_by_fixed_frames_number`` (its own code, :mod:`benchmarks.references`).
Ratios are reference / ours (higher is better). Denoise is timed in-process on one recording.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable

import numpy as np

from benchmarks import Table, median_seconds, ratio, recordings, watch

SAMPLE_T = 16
#: The modes timed, each with what its reference computes on one recording's events.
MODES = ("tonic_time_bins", "tonic_event_bins", "spikingjelly_number", "spikingjelly_time", "voxel_grid")


def reference(mode: str) -> Callable[[np.ndarray], np.ndarray]:
    """The reference library's transform of ``mode`` on one recording's structured events."""
    import tonic

    sensor = recordings.SENSOR
    if mode == "tonic_time_bins":
        return tonic.transforms.ToFrame(sensor_size=sensor, n_time_bins=SAMPLE_T)
    if mode == "tonic_event_bins":
        return tonic.transforms.ToFrame(sensor_size=sensor, n_event_bins=SAMPLE_T)
    if mode == "voxel_grid":  # tonic writes p = -1 into its input: a signed copy (uint8 p overflows there)
        voxel = tonic.transforms.ToVoxelGrid(sensor_size=sensor, n_time_bins=SAMPLE_T)
        signed = [("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "<i2")]
        return lambda events: voxel(events.astype(signed))
    from benchmarks.references import spikingjelly_integrate

    integrate = spikingjelly_integrate()
    split_by = mode.removeprefix("spikingjelly_")
    return lambda events: integrate(events, split_by, SAMPLE_T, sensor[1], sensor[0])


def reference_loop(folder: str, transform: Callable[[np.ndarray], np.ndarray]) -> None:
    """Every recording of ``folder`` read with numpy and put through ``transform``, in path order."""
    for root, _, names in sorted(os.walk(folder)):
        for name in sorted(names):
            if name.endswith(".npy"):
                transform(np.load(os.path.join(root, name)))


def frame_recordings(folder: str, **options: str) -> None:
    """Every recording of ``folder`` framed as a build's worker frames it (decoded by the build's
    decoder, framed by ``options``), in this process."""
    from spyx_data.builder import recordings as recordings_lib

    inputs, classes = recordings_lib.locate(folder, seeded=False)
    spec = recordings_lib.spec(recordings.SENSOR, classes, SAMPLE_T, recordings.DURATION_US // 1000, **options)
    spec.prepare()
    reader = spec.open("train", inputs["train"])
    try:
        for _ in reader.rasters(0, len(reader)):
            pass
    finally:
        reader.close()


def build_seconds(folder: str, workdir: str, repeats: int, *flags: str, sample_T: int | None = SAMPLE_T
                  ) -> tuple[float, str]:
    """Median wall time of fresh ``python -m pipelines.recordings`` builds of ``folder``, and the
    last build's folder (kept); ``sample_T`` None: no ``--sample_T`` (an events build)."""
    times, out = [], ""
    for _ in range(repeats):
        if out:
            shutil.rmtree(out)
        out = tempfile.mkdtemp(dir=workdir, prefix="frames-")
        run = watch([sys.executable, "-m", "pipelines.recordings", f"--data_dir={folder}",
                     f"--sensor_size={','.join(map(str, recordings.SENSOR))}", f"--output_dir={out}",
                     *([f"--sample_T={sample_T}"] if sample_T else []), *flags])
        times.append(run.wall)
    return sorted(times)[len(times) // 2], out


def size_mib(root: str) -> float:
    """Bytes of every file below ``root``, in MiB."""
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs) / 2**20


def run(table: Table, workdir: str, repeats: int, num_recordings: int, events: int) -> None:
    """Add the frame stages to ``table``; data in ``workdir``."""
    import tonic

    from spyx_data.builder import frames

    folder = os.path.join(workdir, f"frames-npy-{num_recordings}x{events}")
    recordings.write(folder, ".npy", num_recordings, events)
    processes = []
    for mode in MODES:
        options = {"frames": mode, **({} if mode == "voxel_grid" else {"values": "counts"})}
        ours = median_seconds(lambda o=options: frame_recordings(folder, **o), repeats)
        transform = reference(mode)
        theirs = median_seconds(lambda t=transform: reference_loop(folder, t), repeats)
        table.add(f"frame {mode}", f"{theirs:.3f} s reference loop", f"{ours:.3f} s build reader",
                  ratio(theirs, ours), "(reference / ours)", lambda r: True)
        process, out = build_seconds(folder, workdir, 1, *(f"--{k}={v}" for k, v in options.items()))
        shutil.rmtree(out)
        processes.append(f"{mode} {process:.1f} s")
    print(f"  {'':22s} whole build processes (Beam's start-up included): {', '.join(processes)}")

    one = np.load(next(os.path.join(r, n) for r, _, ns in sorted(os.walk(folder)) for n in sorted(ns)
                       if n.endswith(".npy")))
    for filter_us in (1_000, 10_000):
        tonic_s = median_seconds(lambda f=filter_us: tonic.transforms.Denoise(filter_time=f)(one), repeats)
        ours_s = median_seconds(lambda f=filter_us: frames.denoise(one["t"], one["x"], one["y"], f), repeats)
        table.add(f"denoise {filter_us} us", f"{tonic_s:.3f} s tonic", f"{ours_s:.4f} s", ratio(tonic_s, ours_s),
                  f"({len(one)} events)", lambda r: True)

    _, binary = build_seconds(folder, workdir, 1)
    _, counts = build_seconds(folder, workdir, 1, "--values=counts")
    table.add("counts storage", f"{size_mib(binary):.1f} MiB binary", f"{size_mib(counts):.1f} MiB counts",
              size_mib(counts) / size_mib(binary), "(size, counts / binary)", lambda r: True)
    shutil.rmtree(binary)
    shutil.rmtree(counts)
    events_storage(table, folder, workdir, num_recordings, events)


def events_storage(table: Table, folder: str, workdir: str, num_recordings: int, events: int) -> None:
    """Add the events builds' storage stages: an events build of the recordings in ``folder``
    against the raw files (the ``.npy`` files built, and the same events as EVT3 ``.raw``, a
    compact camera format) and against binary frame builds of them at T=128 and T=1024."""
    from spyx_data.format import manifest as manifest_lib

    compact = os.path.join(workdir, f"frames-raw-{num_recordings}x{events}")
    recordings.write(compact, ".raw", num_recordings, events)
    _, built = build_seconds(folder, workdir, 1, "--frames=events", sample_T=None)
    (build,) = manifest_lib.builds_below(built)
    stored = sum(info.counts["stored_events"] for info in manifest_lib.read_manifest(build).splits.values())
    events_mib = size_mib(build) - os.path.getsize(os.path.join(build, manifest_lib.MANIFEST_NAME)) / 2**20
    frames_mib = {}
    for sample_T in (128, 1024):
        _, out = build_seconds(folder, workdir, 1, sample_T=sample_T)
        frames_mib[sample_T] = size_mib(out)
        shutil.rmtree(out)
    shutil.rmtree(built)
    per_event = events_mib * 2**20 / stored
    table.add("events storage", f"{size_mib(folder):.1f} MiB .npy, {size_mib(compact):.1f} MiB EVT3",
              f"{events_mib:.1f} MiB, {per_event:.2f} B/event", events_mib / size_mib(compact),
              "(size, events / EVT3)", lambda r: True)
    table.add("events vs frames", f"{frames_mib[128]:.1f} MiB T=128, {frames_mib[1024]:.1f} MiB T=1024",
              f"{events_mib:.1f} MiB events", events_mib / frames_mib[1024], "(size, events / T=1024 binary)",
              lambda r: True)
    shutil.rmtree(compact)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.frames", description=__doc__.split("\n\n")[0])
    parser.add_argument("--recordings", type=int, default=64)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", default=None, help="keeps the recordings between runs")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="spyx-frames-")
    os.makedirs(workdir, exist_ok=True)
    print(f"recordings in {workdir}" + ("" if args.workdir else " (removed at the end; --workdir keeps it)"))
    try:
        print(f"frames: {args.recordings} recordings of {args.events} events, T={SAMPLE_T}, median of {args.repeats}")
        print(f"  {'stage':22s} {'reference':>26s} {'spyx-data':>26s} {'ratio':>9s}")
        run(Table(judge=False), workdir, args.repeats, args.recordings, args.events)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
