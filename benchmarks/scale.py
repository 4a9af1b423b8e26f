"""SSC-sized builds, by measurement: ``python -m benchmarks --size=ssc`` (not in CI).

Synthetic SSC at its real size (75,466 + 9,981 + 20,382 samples, 2,000-8,000 spikes each) and a
tenth of it, built on 1 and 2 local worker processes and on Dask ``LocalCluster`` s of 1 and 2
workers: wall time, task time (the local runner's shard tasks from its metrics; on Dask, which
keeps no Beam metrics, the span of the cluster's task stream: first task start to last task end),
the peak RSS of the launcher and of each worker. A plain 2-process pool on the same rasterising work
gives the speed-up two workers could reach.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import shutil
import statistics
import sys
import tempfile

from benchmarks import median_seconds, watch

SSC = {"train": 75466, "valid": 9981, "test": 20382}


def ensure_ssc(data_dir: str, scale: float) -> dict[str, int]:
    """Synthetic SSC of ``scale`` times the real size in ``data_dir`` (kept between runs)."""
    from spyx_data.builder import ssc, synthetic

    sizes = {split: max(1, round(n * scale)) for split, n in SSC.items()}
    for split, n in sizes.items():
        if synthetic.synthetic_params(ssc.DATASET, data_dir, split) != {"num_samples": n, "seed": 0}:
            synthetic.write(ssc.DATASET, data_dir, split, n)
    return sizes


@contextlib.contextmanager
def dask_cluster(workers: int, workdir: str):
    """A ``LocalCluster`` of ``workers`` single-threaded worker processes, its scratch space in
    ``workdir``, its HTTP server on a free local port (8787 may be another cluster's): its
    address, a function giving their pids, and its task stream (recorded while the context is
    open)."""
    import dask
    from distributed import Client, LocalCluster, get_task_stream

    with dask.config.set({"temporary-directory": workdir}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         dashboard_address="127.0.0.1:0") as cluster, \
            Client(cluster) as client, get_task_stream(client) as stream:
        yield cluster.scheduler_address, lambda: [n.process.pid for n in cluster.workers.values() if n.process], stream


def compute_span(stream) -> float | None:
    """Seconds from the first task's start to the last one's end in a Dask task stream."""
    times = [(s["start"], s["stop"]) for task in stream.data for s in task["startstops"] if s["action"] == "compute"]
    return max(t[1] for t in times) - min(t[0] for t in times) if times else None


def build(data_dir: str, workdir: str, runner: str, workers: int) -> dict:
    """One fresh SSC build with ``workers`` local processes or a Dask cluster of that many."""
    out = tempfile.mkdtemp(dir=workdir, prefix="ssc-build-")
    command = [sys.executable, "-m", "pipelines.tonic", "--dataset=ssc", f"--data_dir={data_dir}",
               f"--output_dir={out}"]
    try:
        if runner == "local":
            run = watch([*command, f"--preset=processes:{workers}"])
        else:
            with dask_cluster(workers, workdir) as (address, pids, stream):
                run = watch([*command, f"--preset=dask:{workers}", f"--dask_client_address={address}"], pids)
            tasks = compute_span(stream)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if runner == "local":
        tasks = float(re.search(r"shard tasks ([0-9.]+) s", run.stderr).group(1))
    worker_mib = sorted(run.worker_mib.values(), reverse=True)[:workers]  # the workers, not helper processes
    return {"wall_s": run.wall, "tasks_s": tasks, "launcher_mib": run.launcher_mib, "worker_mib": worker_mib}


def pool_speedup(data_dir: str, sizes: dict[str, int], repeats: int) -> tuple[float, float]:
    """Times of the builds' rasterising work (one task per shard range) on a 1- and a 2-process pool."""
    from benchmarks.pool import rasterise_range
    from pipelines.transforms import keep_freed_memory
    from spyx_data.builder import ssc
    from spyx_data.format import plan

    record_bytes = ssc.DATASET.spec().layout.record_bytes
    tasks = []
    for split, n in sizes.items():
        path = ssc.DATASET.location(data_dir, split)
        tasks += [(path, a, b, "ssc") for a, b in plan.shard_ranges(n, plan.default_num_shards(n, record_bytes))]
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(1, initializer=keep_freed_memory) as single, spawn.Pool(2, initializer=keep_freed_memory) as pool:
        single.map(rasterise_range, tasks[:1])
        pool.map(rasterise_range, tasks[:2])
        one = median_seconds(lambda: single.map(rasterise_range, tasks, chunksize=1), repeats)
        two = median_seconds(lambda: pool.map(rasterise_range, tasks, chunksize=1), repeats)
    return one, two


def run(table, workdir: str, repeats: int, fraction: float = 1.0) -> dict:
    """Measure at ``fraction`` of SSC's size ("1x") and a tenth of that ("0.1x"), add the goals'
    rows to ``table``, print the details; return them."""
    tenth_dir, full_dir = os.path.join(workdir, f"ssc-{fraction / 10:g}"), os.path.join(workdir, f"ssc-{fraction:g}")
    ensure_ssc(tenth_dir, fraction / 10)
    one, two = pool_speedup(full_dir, ensure_ssc(full_dir, fraction), repeats)
    results = {"pool_s": {"1": one, "2": two}}
    for runner in ("local", "dask"):
        for scale, data_dir in (("1", full_dir), ("0.1", tenth_dir)):
            for workers in ((1, 2) if scale == "1" else (2,)):
                runs = [build(data_dir, workdir, runner, workers) for _ in range(repeats)]
                results[f"{runner} {workers} at {scale}x"] = {
                    key: statistics.median(r[key] for r in runs) for key in ("wall_s", "tasks_s", "launcher_mib")
                } | {"worker_mib": [max(w) for w in zip(*(r["worker_mib"] for r in runs))]}
    pool = one / two
    for runner in ("local", "dask"):
        single, double = results[f"{runner} 1 at 1x"]["tasks_s"], results[f"{runner} 2 at 1x"]["tasks_s"]
        share = single / double / pool
        table.add(f"SSC scaling, {runner}", f"pool {pool:.2f}x", f"tasks {single / double:.2f}x", share, ">= 0.85",
                  lambda r: r >= 0.85)
        grown = max(results[f"{runner} 2 at 1x"]["worker_mib"]) / max(results[f"{runner} 2 at 0.1x"]["worker_mib"])
        table.add(f"SSC worker RSS, {runner}", f"{max(results[f'{runner} 2 at 0.1x']['worker_mib']):.0f} MiB at 0.1x",
                  f"{max(results[f'{runner} 2 at 1x']['worker_mib']):.0f} MiB at 1x", grown, "<= 1.3x", lambda r: r <= 1.3)
    print("  SSC builds (median wall, task span, peak RSS of the launcher and of each worker):")
    for name, row in results.items():
        if name != "pool_s":
            tasks = f"{row['tasks_s']:.1f} s"
            workers = ", ".join(f"{w:.0f}" for w in row["worker_mib"])
            print(f"    {name:18s} wall {row['wall_s']:6.1f} s  tasks {tasks:>7s}  "
                  f"launcher {row['launcher_mib']:5.0f} MiB  workers {workers} MiB")
    print(f"    plain pool         1 process {one:.1f} s, 2 processes {two:.1f} s")
    return results
