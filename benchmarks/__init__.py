"""Benchmarks of spyx-data against the original spyx.data: ``python -m benchmarks``."""

from __future__ import annotations

import dataclasses
import statistics
import subprocess
import threading
import time
from collections.abc import Callable


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
    0.25 s (coarse: polling must not steal CPU from the build it measures).

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
    _, err = process.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    watcher.join()
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{err.decode()[-3000:]}")
    return Watched(elapsed, tree / 2**20, launcher / 2**20, {p: v / 2**20 for p, v in worker.items()}, err.decode())
