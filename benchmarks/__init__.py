"""Benchmarks of spyx-data against the original spyx.data: ``python -m benchmarks``."""

from __future__ import annotations

import dataclasses
import os
import statistics
import subprocess
import threading
import time
from collections.abc import Callable

#: A timing shorter than this is not compared: its ratio is "n/a".
MIN_SECONDS = 1e-3


def ratio(numerator: float, denominator: float, *timings: float) -> float | None:
    """``numerator / denominator``, or None where one of ``timings`` (seconds; by default the
    two) is under :data:`MIN_SECONDS`."""
    if min(timings or (numerator, denominator)) < MIN_SECONDS:
        return None
    return numerator / denominator


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclasses.dataclass
class Watched:
    """A finished process: wall time (s), peak RSS (MiB) of its whole tree, of itself, and of
    each worker (its child processes, and any pids ``watch`` was told of), and its stderr."""

    wall: float
    tree_mib: float
    launcher_mib: float
    worker_mib: dict[int, float]
    stderr: str


def watch(command: list[str], workers: Callable[[], list[int]] = list) -> Watched:
    """Run ``command``, polling the RSS of it, its child processes and ``workers()`` every
    0.25 s (coarse: polling must not steal CPU from the build it measures). The tree's peak is
    never less than the kernel's peak of the process (or of a child it waited for), which a
    short build can reach between two polls.

    Raises:
        RuntimeError: the command failed (with its stderr's end).
    """
    import psutil

    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tree, launcher, worker = 0, 0, {}
    done = threading.Event()

    def poll() -> None:
        nonlocal tree, launcher
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                rss = {p.pid: p.memory_info().rss for p in root.children(recursive=True)}
                for pid in workers():
                    rss.setdefault(pid, psutil.Process(pid).memory_info().rss)
                own = root.memory_info().rss
            except psutil.Error:
                time.sleep(0.05)
                continue
            tree = max(tree, own + sum(rss.values()))
            launcher = max(launcher, own)
            for pid, value in rss.items():
                worker[pid] = max(worker.get(pid, 0), value)
            time.sleep(0.25)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)  # reaped here for its rusage
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    elapsed = time.perf_counter() - start
    done.set()
    watcher.join()
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{err.decode()[-3000:]}")
    tree = max(tree, usage.ru_maxrss * 1024)  # KiB on Linux
    return Watched(elapsed, tree / 2**20, launcher / 2**20, {p: v / 2**20 for p, v in worker.items()}, err.decode())


class Table:
    """The results; goals are judged at full size only (a small run only shows that every stage runs)."""

    def __init__(self, judge: bool) -> None:
        self.rows: list[dict] = []
        self.judge = judge

    def add(self, stage: str, baseline: str, ours: str, ratio: float | None, goal: str,
            meets: Callable[[float], bool]) -> None:
        """A row; the goal is met where ``meets(ratio)``; a ``ratio`` of None (a figure that means
        nothing) prints "n/a" and meets no goal."""
        met = ratio is not None and meets(ratio)
        verdict = ("met" if met else "MISSED") if self.judge else "(full size only)"
        self.rows.append({"stage": stage, "baseline": baseline, "spyx_data": ours,
                          "ratio": None if ratio is None else round(ratio, 3), "goal": goal,
                          "met": met if self.judge else None})
        shown = "n/a" if ratio is None else f"{ratio:.2f}x"
        print(f"  {stage:22s} {baseline:>26s} {ours:>26s} {shown:>9s}  goal {goal:12s} {verdict}", flush=True)
