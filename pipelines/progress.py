"""What a running build reports: each split's progress while it runs (:class:`ProgressLog`), and
what it did when it ends (:func:`run_totals`, in the words of :func:`spyx_data.summaries.run_summary`)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from typing import Any

from pipelines.transforms import COUNTERS, plan_name
from spyx_data import summaries
from spyx_data.format import manifest as manifest_lib
from spyx_data.format import plan

log = logging.getLogger(__name__)


class ProgressLog(threading.Thread):
    """Logs, while a local build runs, each split's samples written so far and the rate.

    It looks into the run's staging folder every ``EVERY_S`` seconds: the plan files say how
    each split is cut (remembered once read: the commit removes them), and a shard file under
    its final name there, or in the build's folder once committed, is a finished shard. One line
    per change; a last look when the build ends.
    """

    EVERY_S = 1.0

    def __init__(self, staging_dir: str, output_dir: str):
        super().__init__(daemon=True)
        self.staging_dir = staging_dir
        self.output_dir = output_dir
        self._stop_event = threading.Event()
        self._plans: dict[str, list[tuple[int, int]]] = {}
        self._last: dict[str, int] = {}
        self._began = time.perf_counter()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.poll()

    def run(self) -> None:
        while not self._stop_event.wait(self.EVERY_S):
            self.poll()

    def poll(self) -> None:
        names = set()
        for folder in (self.staging_dir, self.output_dir):
            with contextlib.suppress(OSError):
                names.update(os.listdir(folder))
        for name in names - {plan_name(split) for split in self._plans}:
            if name.startswith(".plan-") and name.endswith(".json"):
                try:
                    with open(os.path.join(self.staging_dir, name)) as f:
                        cut = json.load(f)
                except (OSError, ValueError):
                    continue  # being written, or already removed by the commit
                self._plans[name[len(".plan-") : -len(".json")]] = plan.shard_ranges(
                    cut["num_records"], cut["num_shards"]
                )
        for split, ranges in sorted(self._plans.items()):
            done = [k for k in range(len(ranges)) if plan.shard_name(split, k, len(ranges)) in names]
            samples = sum(ranges[k][1] - ranges[k][0] for k in done)
            if self._last.get(split) != samples:
                self._last[split] = samples
                rate = sum(self._last.values()) / max(time.perf_counter() - self._began, 1e-9)
                log.info("  %s: %d/%d samples written (%d/%d shards), %.0f samples/s", split, samples,
                         ranges[-1][1], len(done), len(ranges), rate)


def run_totals(result: Any, manifest: manifest_lib.Manifest) -> tuple[dict[str, int], float | None]:
    """What the run of ``result`` (a Beam ``PipelineResult``) did, from its Beam counters (from
    ``manifest`` where the runner keeps no metrics, as the DaskRunner): the totals of
    :func:`spyx_data.summaries.manifest_totals`, and the seconds from the first shard task's start
    to the last one's end (the part of the build that workers share), None where not measured."""
    from apache_beam.metrics.metric import MetricsFilter

    try:
        found = result.metrics().query(MetricsFilter().with_namespace(COUNTERS))
    except NotImplementedError:
        return summaries.manifest_totals(manifest), None
    totals = dict.fromkeys(summaries.manifest_totals(manifest), 0)
    for counter in found["counters"]:
        if counter.key.metric.name in totals:
            totals[counter.key.metric.name] += counter.committed or 0
    bounds = {d.key.metric.name: d.committed for d in found["distributions"] if d.committed}
    if "task_start_ms" in bounds and "task_end_ms" in bounds:
        return totals, (bounds["task_end_ms"].max - bounds["task_start_ms"].min) / 1000
    return totals, None
