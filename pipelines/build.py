"""Launching a build: shared flags, the output-directory check, running the pipeline."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import TestOptions

from pipelines.transforms import BuildShards, different_build_message, read_existing
from runners import presets
from runners.local import pipeline_options
from spyx_data import manifest as manifest_lib
from spyx_data import paths, sharding

log = logging.getLogger(__name__)


class BuildError(Exception):
    """A build cannot start or finish for a reason the user can fix; the message says how."""


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """Where and how every build writes. Anything a parser does not know goes to Beam."""
    parser.add_argument(
        "--output_dir",
        required=True,
        help="root of the builds (any Beam path): each build goes to <output_dir>/<dataset>-<config hash>",
    )
    parser.add_argument(
        "--preset", help="runner preset: local, processes[:N], dataflow, dask[:N] (see runners/presets.py)"
    )
    parser.add_argument(
        "--num_shards",
        type=positive_int,
        default=None,
        help="shards per split (default: about 8 MiB each, at least 8 when the split has 2,048 samples)"
    )
    parser.add_argument(
        "--compression",
        choices=sharding.COMPRESSIONS,
        default="uncompressed",
        help="ArrayRecord compression of the shards",
    )
    parser.add_argument(
        "--plan_parts",
        type=positive_int,
        default=1,
        help="plan each split in this many parallel parts; set it to the worker count on runners that "
        "cannot redistribute work (Dask); the output does not depend on it",
    )


def expand_presets(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> list[str]:
    """``argv`` with ``--preset=NAME`` expanded (see :mod:`runners.presets`); a bad preset is a
    usage error."""
    try:
        return presets.expand(argv)
    except ValueError as e:
        parser.error(str(e))


def add_window_arguments(parser: argparse.ArgumentParser) -> None:
    """The time window of the event-dataset builds."""
    parser.add_argument("--sample_T", type=positive_int, default=None, help="time bins (default: the dataset's)")
    parser.add_argument(
        "--duration_ms",
        type=positive_int,
        default=None,
        help="window length, the same for every sample; later events are dropped (default: the dataset's)",
    )


def build(transform: BuildShards, beam_argv: Sequence[str]) -> manifest_lib.Manifest | None:
    """Run ``transform`` unless its folder already holds the build; return the manifest.

    The build goes to ``transform.output_dir``, a folder named by a hash of its configuration,
    so a different configuration never touches it. Shards are written in place under temporary
    names and renamed; the manifest is written last; temporary files left by crashed runs are
    removed at the commit. A run killed at any point can simply be run again, and two runs of
    one configuration at once both finish with the same bytes.

    With ``--dry_run=True`` (Dataflow) the pipeline is only translated: nothing is read or
    written, and None is returned.

    Raises:
        BuildError: the output folder cannot be written, holds a manifest that is not this
            build's, or the runner cannot run the build.
    """
    output_dir = transform.output_dir
    options = pipeline_options(beam_argv)
    dry_run = options.view_as(TestOptions).dry_run
    if not dry_run:
        existing = read_existing(output_dir)
        if existing is not None:
            if existing.build_key != transform.build_key():
                raise BuildError(different_build_message(output_dir, existing))
            changed = changed_sources(transform, existing)
            if changed:
                raise BuildError(
                    f"{output_dir} was built from other inputs than are there now ({changed}); "
                    "remove that folder to rebuild, or build into another --output_dir"
                )
            log.info("%s already holds this build; nothing to do", output_dir)
            return existing
        check_writable(output_dir)
    started = time.perf_counter()
    try:
        pipeline = beam.Pipeline(options=options)
    except ValueError as e:  # an unknown or uninstalled runner
        raise BuildError(str(e)) from e
    _ = pipeline | transform
    progress = None if dry_run or paths.is_remote(output_dir) else ProgressLog(output_dir)
    if progress:
        progress.start()
    try:
        result = pipeline.run()
        try:
            result.wait_until_finish()
        finally:
            client = getattr(result, "client", None)  # the DaskRunner leaves its cluster client open
            if client is not None:
                client.close()
    finally:
        if progress:
            progress.stop()
    if dry_run:
        return None
    manifest = read_existing(output_dir)
    if manifest is None:
        raise BuildError(f"the pipeline finished but wrote no manifest in {output_dir}")
    log.info("%s", metrics_summary(result, manifest, time.perf_counter() - started))
    return manifest


class ProgressLog(threading.Thread):
    """Logs, while a local build runs, each split's samples written so far and the rate.

    It watches the output folder every ``EVERY_S`` seconds: the plan files say how each split is
    cut (remembered once read: the commit removes them), and a shard file under its final name
    is a finished shard. One line per change; a last look when the build ends.
    """

    EVERY_S = 1.0

    def __init__(self, output_dir: str):
        super().__init__(daemon=True)
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
        try:
            names = set(os.listdir(self.output_dir))
        except OSError:
            return
        for name in names - {f".plan-{split}.json" for split in self._plans}:
            if name.startswith(".plan-") and name.endswith(".json"):
                try:
                    with open(os.path.join(self.output_dir, name)) as f:
                        plan = json.load(f)
                except (OSError, ValueError):
                    continue  # being written, or already removed by the commit
                self._plans[name[len(".plan-") : -len(".json")]] = sharding.shard_ranges(
                    plan["num_records"], plan["num_shards"]
                )
        for split, ranges in sorted(self._plans.items()):
            done = [k for k in range(len(ranges)) if sharding.shard_name(split, k, len(ranges)) in names]
            samples = sum(ranges[k][1] - ranges[k][0] for k in done)
            if self._last.get(split) != samples:
                self._last[split] = samples
                rate = sum(self._last.values()) / max(time.perf_counter() - self._began, 1e-9)
                log.info("  %s: %d/%d samples written (%d/%d shards), %.0f samples/s", split, samples,
                         ranges[-1][1], len(done), len(ranges), rate)


def metrics_summary(result: Any, manifest: manifest_lib.Manifest, seconds: float) -> str:
    """One line on what the build did, from its Beam counters (from the manifest where the
    runner keeps no metrics, as the DaskRunner), with the time from the first shard task's
    start to the last one's end (the part of the build that workers share)."""
    from pipelines.transforms import COUNTERS

    totals = {"samples": 0, "events": 0, "dropped_outside_window": 0, "dropped_nonfinite": 0, "bytes_written": 0}
    writing = ""
    try:
        from apache_beam.metrics.metric import MetricsFilter

        found = result.metrics().query(MetricsFilter().with_namespace(COUNTERS))
        for counter in found["counters"]:
            if counter.key.metric.name in totals:
                totals[counter.key.metric.name] += counter.committed or 0
        bounds = {d.key.metric.name: d.committed for d in found["distributions"] if d.committed}
        if "task_start_ms" in bounds and "task_end_ms" in bounds:
            writing = f", shard tasks {(bounds['task_end_ms'].max - bounds['task_start_ms'].min) / 1000:.2f} s"
    except NotImplementedError:
        for info in manifest.splits.values():
            totals["samples"] += info.num_records
            totals["bytes_written"] += sum(s.num_bytes for s in info.shards)
            for key in ("events", "dropped_outside_window", "dropped_nonfinite"):
                totals[key] += info.counts.get(key, 0)
    line = (
        f"built in {seconds:.1f} s{writing}: {totals['samples']} samples "
        f"({totals['samples'] / max(seconds, 1e-9):.0f}/s), {totals['bytes_written'] / 2**20:.1f} MiB written"
    )
    if totals["events"]:
        line += (
            f"; {totals['events']} events, dropped {totals['dropped_outside_window']} outside the window and "
            f"{totals['dropped_nonfinite']} non-finite"
        )
    return line


def changed_sources(transform: BuildShards, existing: manifest_lib.Manifest) -> str:
    """How the local inputs differ from those ``existing`` was built from ("" if they do not).

    Inputs on a remote filesystem are not looked at from the launching machine."""
    changes = []
    for split, path in transform.inputs.items():
        if paths.is_remote(path) or split not in existing.splits:
            continue
        now = paths.fingerprint(path, transform.spec.source_suffix)
        then = existing.splits[split].source
        if then and now != then:
            changes.append(f"{split}: {then} then, {now} now")
    return "; ".join(changes)


def check_writable(directory: str) -> None:
    """Fail early, with the reason, when a local ``directory`` cannot be created or written."""
    if paths.is_remote(directory):
        return
    probe = os.path.join(directory, f".write-test-{os.getpid()}")
    try:
        os.makedirs(directory, exist_ok=True)
        with open(probe, "wb") as f:
            f.write(b"ok")
        os.remove(probe)
    except OSError as e:
        raise BuildError(f"cannot write to {directory}: {e.strerror or e}") from e


def summary(manifest: manifest_lib.Manifest, output_dir: str) -> str:
    """A few lines saying where the build is and what it holds."""
    layout = manifest.layout
    lines = [
        f"{manifest.dataset} shards in {output_dir}",
        f"  obs uint8 {list(layout.packed_shape)} per sample (sample_T={layout.sample_T}, "
        f"packed along time), {layout.record_bytes} bytes per record, {manifest.writer_options}",
    ]
    for name, info in manifest.splits.items():
        size = sum(s.num_bytes for s in info.shards)
        counts = info.counts
        line = f"  {name}: {info.num_records} samples in {len(info.shards)} shards, {size / 2**20:.1f} MiB"
        if counts["events"]:
            line += (
                f"; {counts['events']} events, dropped {counts['dropped_outside_window']} outside the window "
                f"and {counts['dropped_nonfinite']} non-finite; {counts['empty_samples']} empty samples"
            )
        lines.append(line)
    return "\n".join(lines)


def main(
    parse: Callable[[Sequence[str] | None], tuple[argparse.Namespace, list[str]]],
    build_fn: Callable[[argparse.Namespace, Sequence[str]], manifest_lib.Manifest | None],
    argv: Sequence[str] | None,
) -> int:
    """A pipeline's command line: build, print a summary; a user error prints one line, returns 2."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    args, beam_argv = parse(argv)
    try:
        manifest = build_fn(args, beam_argv)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if manifest is None:
        print("dry run: translated, nothing written")
    else:
        print(summary(manifest, paths.join(args.output_dir, manifest.build_name)))
    return 0
