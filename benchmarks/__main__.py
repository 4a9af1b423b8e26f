"""spyx-data against the original spyx.data, side by side, in one run.

    python -m benchmarks [--size=full|small|ssc] [--repeats=3] [--workdir=DIR] [--json=FILE]

``full`` uses synthetic SHD at the real size (8,156 train + 2,264 test samples, 2,000-8,000
spikes each over 0.3-1.4 s) and, for the memory checks, ten times that, and a recordings build
of 8 AEDAT4 recordings of 300,000 and of 3,000,000 events (:mod:`benchmarks.recordings`), and
each frame mode on 64 ``.npy`` recordings of 100,000 events against its reference library
(:mod:`benchmarks.frames`), and each on-device augmentation against tonic's transform
(:mod:`benchmarks.augment`);
``small`` is a quick run of every stage (CI runs it so that it cannot rot); ``ssc`` measures
only the build's scaling and memory on SSC-sized data (:mod:`benchmarks.scale`; minutes, not
in CI). Each timing is the median of ``--repeats`` runs on the same data in this one run;
ratios are baseline / spyx-data (higher is better) unless the goal says otherwise; a ratio of a
timing under :data:`benchmarks.MIN_SECONDS` is "n/a" (too short to mean anything on a shared machine).
Nothing is asserted: the table says which goals are met. The synthetic data goes into
``--workdir`` (kept) or a new folder in the system's temporary folder (removed at the end);
the first line says which.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import statistics
import sys
import tempfile

import numpy as np

from benchmarks import Table, median_seconds, ratio, watch

SIZES = {"full": (8156, 2264), "small": (256, 128)}
#: Events per recording of the recordings build's memory check at 1x (10x: ten times that).
RECORDING_EVENTS = {"full": 300_000, "small": 3_000}
#: Recordings and events per recording of the frame modes' stages.
FRAME_RECORDINGS = {"full": (64, 100_000), "small": (4, 2_000)}
#: Samples and events per sample of the augmentation stages.
AUGMENT_SAMPLES = {"full": (32, 20_000), "small": (4, 1_000)}
def median_build(data_dir: str, workdir: str, repeats: int, *flags: str) -> tuple[float, float, float]:
    """Median wall time, peak RSS and median shard-task time (first task start to last task end,
    from the build's own log) of fresh ``python -m pipelines.shd`` builds."""
    results = []
    for _ in range(repeats):
        out = tempfile.mkdtemp(dir=workdir, prefix="build-")
        run = watch([sys.executable, "-m", "pipelines.shd", f"--data_dir={data_dir}", f"--output_dir={out}", *flags])
        wall, rss, log = run.wall, run.tree_mib, run.stderr
        tasks = float(re.search(r"shard tasks ([0-9.]+) s", log).group(1))
        results.append((wall, rss, tasks))
        shutil.rmtree(out)
    return (statistics.median(r[0] for r in results), max(r[1] for r in results),
            statistics.median(r[2] for r in results))


def ensure_data(data_dir: str, train: int, test: int) -> None:
    from spyx_data.builder import shd, synthetic

    for split, n in (("train", train), ("test", test)):
        if synthetic.synthetic_params(shd.DATASET, data_dir, split) != {"num_samples": n, "seed": 0}:
            synthetic.write_shd(data_dir, split, n)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=[*sorted(SIZES), "ssc"], default="full")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", default=None, help="keeps the synthetic data between runs")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="spyx-bench-")
    os.makedirs(workdir, exist_ok=True)
    print(f"synthetic data in {workdir}" + ("" if args.workdir else " (removed at the end; --workdir keeps it)"))
    try:
        run(args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, workdir: str) -> None:
    """Every stage of ``args.size`` on data in ``workdir``."""
    if args.size == "ssc":
        from benchmarks import scale

        print(f"spyx-data benchmarks: synthetic SSC builds, median of {args.repeats}; {os.cpu_count()} CPUs")
        print(f"  {'stage':22s} {'baseline':>26s} {'spyx-data':>26s} {'ratio':>9s}")
        table = Table(judge=True)
        details = scale.run(table, workdir, args.repeats)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"size": "ssc", "repeats": args.repeats, "stages": table.rows, "builds": details}, f,
                          indent=1)
        return
    train_n, test_n = SIZES[args.size]
    repeats = args.repeats
    data_dir = os.path.join(workdir, f"data-{train_n}")
    ensure_data(data_dir, train_n, test_n)

    import jax

    import spyx_data
    from benchmarks import baseline
    from benchmarks import loader as loader_bench
    from benchmarks.pool import rasterise_range
    from pipelines.transforms import keep_freed_memory
    from spyx_data.format import manifest as manifest_lib
    from spyx_data.format import plan

    print(f"spyx-data benchmarks: {train_n} + {test_n} synthetic SHD samples, median of {repeats}; "
          f"{os.cpu_count()} CPUs, jax on {jax.default_backend()}")
    print(f"  {'stage':22s} {'baseline':>26s} {'spyx-data':>26s} {'ratio':>9s}")
    table = Table(judge=args.size == "full")

    # Build: the original's prestage loop over both splits vs the whole Beam build process.
    datasets = {split: baseline.shd_dataset(data_dir, split) for split in ("train", "test")}
    loop = {
        split: median_seconds(lambda d=d: baseline.prestage(d, 1)[0].block_until_ready(), repeats)
        for split, d in datasets.items()
    }
    build_1, rss_1, _ = median_build(data_dir, workdir, repeats)
    loop_both = loop["train"] + loop["test"]
    speedup = ratio(loop_both, build_1)
    table.add("build (1 worker)", f"{loop_both:.2f} s loop", f"{build_1:.2f} s process", speedup, ">= 4x",
              lambda r: r >= 4)

    # Build scaling: a plain 2-process pool on the same work vs the build with 2 workers.
    tasks = []
    for split, n in (("train", train_n), ("test", test_n)):
        path = os.path.join(data_dir, "SHD", f"shd_{split}.h5")
        num_shards = plan.default_num_shards(n, spyx_data.RecordLayout(128, (128,)).record_bytes)
        tasks += [(path, a, b) for a, b in plan.shard_ranges(n, max(num_shards, 4))]
    # Interleaved, one round per repeat, so that drift in the shared machine's speed hits both
    # alike. Like the pool's (started before timing), the build's time is that of its shard tasks,
    # which the workers share; its whole-process times (worker start-up included) are shown too.
    # Both pools are fresh processes set up as build workers are (keep_freed_memory).
    shares, pool_speedups, task_speedups, process_speedups = [], [], [], []
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(1, initializer=keep_freed_memory) as single, spawn.Pool(2, initializer=keep_freed_memory) as pool:
        single.map(rasterise_range, tasks[:1])  # start the workers before timing
        pool.map(rasterise_range, tasks[:2])
        for _ in range(repeats):
            sequential = median_seconds(lambda: single.map(rasterise_range, tasks, chunksize=1), 1)
            pooled = median_seconds(lambda: pool.map(rasterise_range, tasks, chunksize=1), 1)
            one, _, one_tasks = median_build(data_dir, workdir, 1, "--preset=processes:1")
            two, _, two_tasks = median_build(data_dir, workdir, 1, "--preset=processes:2")
            pool_speedups.append(sequential / pooled)
            task_speedups.append(one_tasks / two_tasks)
            process_speedups.append(one / two)
            shares.append(task_speedups[-1] / pool_speedups[-1])
    share = statistics.median(shares)
    table.add("build scaling (2 vs 1)", f"pool {statistics.median(pool_speedups):.2f}x",
              f"tasks {statistics.median(task_speedups):.2f}x", share, ">= 0.85", lambda r: r >= 0.85)
    print(f"  {'':22s} whole build process with 2 workers vs 1: {statistics.median(process_speedups):.2f}x")

    # Prestage: the original's (rasterising from tonic) vs reading shards.
    root = os.path.join(workdir, "shards")
    shutil.rmtree(root, ignore_errors=True)
    manifest = __import__("pipelines.shd", fromlist=["run"]).run([f"--data_dir={data_dir}", f"--output_dir={root}"])
    build = os.path.join(root, manifest.build_name)
    batch = 256 if train_n >= 512 else 32
    ours = median_seconds(lambda: spyx_data.prestage(build, "train", batch)[0].block_until_ready(), max(repeats, 5))
    speedup = ratio(loop["train"], ours)
    table.add("prestage", f"{loop['train']:.3f} s", f"{ours:.4f} s", speedup, ">= 100x",
              lambda r: r >= 100)

    # Events once, any T: the same split from an events build, framed on the device, against the
    # frames build's prestage (above) and its in-process epoch.
    events_root = os.path.join(workdir, "events")
    shutil.rmtree(events_root, ignore_errors=True)
    events = __import__("pipelines.shd", fromlist=["run"]).run(
        [f"--data_dir={data_dir}", f"--output_dir={events_root}", "--frames=events"])
    events_build = os.path.join(events_root, events.build_name)
    frames = spyx_data.Frames.of(manifest)
    from_events = median_seconds(
        lambda: spyx_data.prestage(events_build, "train", batch, frames=frames)[0].block_until_ready(),
        max(repeats, 5))
    table.add("prestage from events", f"{ours:.4f} s frames build", f"{from_events:.4f} s events build",
              ratio(from_events, ours), "<= 3x (time)", lambda r: r <= 3)
    lazy = spyx_data.EventFrames(events_build, "train", batch, frames, shuffle=True)
    lazy_s = median_seconds(lambda: [b.obs.block_until_ready() for b in lazy], repeats)
    frames_epoch = spyx_data.GrainLoader(spyx_data.open_split(build, "train"), batch, shuffle=True, worker_count=0)
    frames_s = median_seconds(lambda: list(frames_epoch), repeats)
    table.add("EventFrames epoch", f"{frames_s:.3f} s GrainLoader", f"{lazy_s:.3f} s on the device",
              ratio(lazy_s, frames_s), "(time)", lambda r: True)
    shutil.rmtree(events_root)

    # Prestage against the machine's limit: np.load of the same packed bytes in one .npy.
    obs, _ = spyx_data.load_split(build, "train")
    npy = os.path.join(workdir, "train-obs.npy")
    np.save(npy, obs)
    limit = median_seconds(lambda: np.load(npy), max(repeats, 5))
    host = median_seconds(lambda: spyx_data.load_split(build, "train"), max(repeats, 5))
    slower = ratio(ours, limit)
    table.add("prestage vs np.load", f"{limit:.4f} s np.load", f"{ours:.4f} s", slower, "<= 3x (time)",
              lambda r: r <= 3)
    table.add("load_split vs np.load", f"{limit:.4f} s np.load", f"{host:.4f} s", ratio(host, limit), "(host only)",
              lambda r: True)

    # The loader against reading the same records plainly, and its workers against in-process (batch 64).
    plain = loader_bench.plain_epoch_seconds(build, 64, max(repeats, 5))
    in_process = loader_bench.epoch_seconds(build, 64, max(repeats, 5))
    speedup = ratio(plain, in_process)
    table.add("epoch vs plain read", f"{plain:.3f} s plain", f"{in_process:.3f} s", speedup, ">= 0.8x",
              lambda r: r >= 0.8)
    workers = loader_bench.epoch_seconds(build, 64, max(repeats, 5), worker_count=2)
    slower = ratio(workers, in_process)
    table.add("2 workers, later epochs", f"{in_process:.3f} s in-process", f"{workers:.3f} s", slower,
              "<= 1.5x (time)", lambda r: r <= 1.5)
    shift = [spyx_data.ShiftAugment(10, axes=(-1,))]
    shift_in_process = loader_bench.epoch_seconds(build, 64, repeats, transforms=shift)
    shift_workers = loader_bench.epoch_seconds(build, 64, repeats, worker_count=2, transforms=shift)
    speedup = ratio(shift_in_process, shift_workers)
    table.add("2 workers, ShiftAugment", f"{shift_in_process:.3f} s in-process", f"{shift_workers:.3f} s",
              speedup, "> 1x", lambda r: r > 1)

    # Grain epoch, worker_count=0: samples per second. Ours first, and the baseline's loader is
    # stopped after: it reads ahead in background threads, which slow whatever runs beside them.
    batches = max(2, min(8, train_n // batch - 1))
    loader = spyx_data.GrainLoader(spyx_data.open_split(build, "train"), batch, shuffle=True, worker_count=0)
    our_time = median_seconds(lambda: list(loader), repeats)
    our_rate = len(loader) * batch / our_time
    stream = baseline.grain_batches(datasets["train"], batch)
    next(stream)
    base_time = median_seconds(lambda: [next(stream) for _ in range(batches)], repeats)
    base_rate = batch * batches / base_time
    baseline.stop(stream)
    speedup = ratio(our_rate, base_rate, our_time, base_time)
    table.add("Grain epoch", f"{base_rate:.0f} samples/s", f"{our_rate:.0f} samples/s", speedup,
              ">= 30x", lambda r: r >= 30)

    # Build memory: a recordings build on recordings of 1x and 10x the events.
    from benchmarks import recordings

    recordings.run(table, workdir, (".aedat4",), RECORDING_EVENTS[args.size], 8)

    # The field's representations: each frame mode against its reference's loop, denoise, counts storage.
    from benchmarks import frames

    frames.run(table, workdir, repeats, *FRAME_RECORDINGS[args.size])

    # Event-space augmentation on the device against tonic's transforms, sample by sample.
    from benchmarks import augment

    augment.run(table, max(repeats, 5), *AUGMENT_SAMPLES[args.size])

    # Build memory: the same build on 1x and 10x the samples (full size only).
    if args.size == "full":
        big_dir = os.path.join(workdir, f"data-{train_n * 10}")
        ensure_data(big_dir, train_n * 10, test_n * 10)
        _, rss_10, _ = median_build(big_dir, workdir, 1)
        table.add("build memory (10x/1x)", f"{rss_1:.0f} MiB at 1x", f"{rss_10:.0f} MiB at 10x", rss_10 / rss_1,
                  "<= 1.3x", lambda r: r <= 1.3)

    compression = compare_compressions(build, manifest_lib.read_manifest(build), workdir, repeats)
    print("  compression of the train records (size, write, load_split-style read):")
    for name, row in compression.items():
        print(f"    {name:13s} {row['mib']:7.1f} MiB  write {row['write_s']:.3f} s  read {row['read_s']:.4f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"size": args.size, "repeats": repeats, "stages": table.rows, "compression": compression}, f,
                      indent=1)


def compare_compressions(build: str, manifest, workdir: str, repeats: int) -> dict[str, dict[str, float]]:
    """Size, write time and read time of the train split's records under each compression."""
    from array_record.python.array_record_module import ArrayRecordWriter

    from spyx_data.format import manifest as manifest_lib
    from spyx_data.format import plan
    from spyx_data.read.shards import read_shard

    layout = manifest.layout
    records = [
        record
        for shard in manifest.split("train").shards
        for record in layout.split(read_shard(os.path.join(build, shard.path), shard, manifest).tobytes())
    ]
    results = {}
    for compression in plan.COMPRESSIONS:
        path = os.path.join(workdir, f"compression-{compression.replace(':', '')}.array_record")

        def write(path=path, compression=compression) -> None:
            writer = ArrayRecordWriter(path, plan.writer_options(compression))
            for record in records:
                writer.write(record)
            writer.close()

        def read(path=path, compression=compression) -> None:
            shard = manifest_lib.ShardInfo(path, 0, len(records), os.path.getsize(path), sha256="")
            read_shard(path, shard, manifest, writer_options=plan.writer_options(compression))

        write_s = median_seconds(write, repeats)
        results[compression] = {"mib": os.path.getsize(path) / 2**20, "write_s": write_s,
                                "read_s": median_seconds(read, max(repeats, 5))}
        os.remove(path)
    return results


if __name__ == "__main__":
    main()
