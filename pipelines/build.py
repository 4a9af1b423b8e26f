"""Launching a build: shared flags, the output-directory check, running the pipeline."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import fcntl
import json
import logging
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions, TestOptions, _BeamArgumentParser

from pipelines.transforms import (
    STOP,
    BuildShards,
    different_build_message,
    plan_name,
    read_existing,
    remove_tree,
)
from runners import local, presets
from runners.worker import WORKERS_ENV
from spyx_data import errors, paths, summaries
from spyx_data.builder import inputs as spyx_inputs
from spyx_data.builder.contracts import BuildSpec
from spyx_data.commands import FlagParser, build_path, positive_int, run_command
from spyx_data.errors import BuildError, Interrupted, UsageError
from spyx_data.format import manifest as manifest_lib
from spyx_data.format import plan

log = logging.getLogger(__name__)


def flag_parser(prog: str, doc: str) -> FlagParser:
    """The parser of a pipeline's own flags (one-line errors, no abbreviations)."""
    return FlagParser(prog, doc.split("\n\n")[0])


def parse_flags(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """``argv`` parsed: the pipeline's flags, and the rest for Beam.

    ``--preset`` is expanded first. Anything that neither ``parser`` nor Beam's
    ``PipelineOptions`` defines is refused (Beam itself only logs "Unparseable argument").

    Raises:
        UsageError: an unknown or misspelled flag (naming the closest valid one), or a stray word.
    """
    try:
        argv = presets.expand(argv)
    except ValueError as e:
        raise UsageError(str(e)) from None
    args, beam_argv = parser.parse_known_args(argv)
    unknown, beam_parser = _unknown_to_beam(beam_argv)
    if unknown:
        arg = unknown[0]
        if not arg.startswith("-"):
            raise UsageError(f"unexpected argument {arg!r} (flags are --name=value); see {parser.prog} --help")
        name = arg.split("=", 1)[0]
        known = [o for p in (parser, beam_parser) for a in p._actions for o in a.option_strings if o.startswith("--")]
        close = [o for o in known if o.replace("-", "_") == name.replace("-", "_")]
        close = close or difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UsageError(f"unknown flag {name}{hint} (neither {parser.prog} nor Beam defines it; see --help)")
    return args, beam_argv


def _unknown_to_beam(argv: Sequence[str]) -> tuple[list[str], argparse.ArgumentParser]:
    """The arguments Beam's ``PipelineOptions`` would log as unparseable and drop, as Beam parses
    them (every ``PipelineOptions`` subclass; the Dask runner's options once it is imported)."""
    for attempt in range(2):
        parser = _BeamArgumentParser(allow_abbrev=False)
        classes: dict[str, type] = {}
        for cls in PipelineOptions.__subclasses__():
            classes.setdefault(str(cls), cls)
        for cls in classes.values():
            cls._add_argparse_args(parser)
        _, unknown = parser.parse_known_args(list(argv))
        if not unknown or attempt or not any(a.startswith("--dask") for a in unknown):
            return unknown, parser
        with contextlib.suppress(ImportError):  # defines DaskOptions
            import apache_beam.runners.dask.dask_runner  # noqa: F401
    return unknown, parser


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """Where and how every build writes. Anything a parser does not know goes to Beam."""
    parser.add_argument(
        "--output_dir",
        required=True,
        type=build_path,
        help="root of the builds (any Beam path): each build goes to <output_dir>/<dataset>-<config hash>",
    )
    parser.add_argument(
        "--preset", help="runner preset: local, processes[:N], dataflow, dask[:N] (see runners/presets.py)"
    )
    parser.add_argument(
        "--num_shards",
        type=positive_int,
        default=None,
        help="shards per split (default: about 8 MiB each, at least 8 when the split has 2,048 samples, at most "
        "one per sample)"
    )
    parser.add_argument(
        "--compression",
        choices=plan.COMPRESSIONS,
        default="uncompressed",
        help="ArrayRecord compression of the shards",
    )
    parser.add_argument(
        "--plan_parts",
        type=positive_int,
        default=1,
        help="plan the shards in this many parallel parts of equal work; set it to the worker count on "
        "runners that cannot redistribute work (Dask); the output does not depend on it",
    )


def add_window_arguments(parser: argparse.ArgumentParser) -> None:
    """The time window of the event-dataset builds."""
    parser.add_argument("--sample_T", type=positive_int, default=None, help="time bins (default: the dataset's)")
    parser.add_argument(
        "--duration_ms",
        type=positive_int,
        default=None,
        help="window length, the same for every sample; later events are dropped (default: the dataset's)",
    )


def build(
    spec: BuildSpec,
    inputs: dict[str, str],
    output_root: str,
    beam_argv: Sequence[str],
    compression: str = "uncompressed",
    num_shards: int | None = None,
    plan_parts: int = 1,
    is_synthetic: Callable[[str], bool] | None = None,
) -> manifest_lib.Manifest | None:
    """Build ``spec`` from ``{split: source path}`` into ``<output_root>/<build name>`` unless it
    is there already; return the manifest.

    The launcher fingerprints every source by content first (:mod:`spyx_data.builder.inputs`): the build
    name covers them, so changed data is a new build in a new folder, never the old one passed
    off as it. ``is_synthetic(split)`` says which splits are synthetic data (the manifest
    records it); a build of synthetic and real splits together is refused. The run writes into
    a staging folder of its own under ``output_root`` and a private temporary folder; the commit
    moves the shards into the build's folder and writes the manifest last. A failed or
    interrupted run (Ctrl-C) removes both and publishes nothing; the next run removes what runs
    killed on this host left (:func:`remove_stale_runs`: liveness is a lock the run holds, not
    its pid). Two runs of one build at once both finish with the same bytes.

    With ``--dry_run=True`` (Dataflow) the pipeline is only translated: nothing is read (not
    even fingerprinted: the folder it names is not the real build's) or written, and None is
    returned.

    Raises:
        BuildError: the output folder cannot be written, holds a manifest that is not this
            build's, or the runner cannot run the build.
        UsageError: synthetic and real splits in one build; a remote path with a character
            URLs or listings misread, or of a scheme Beam has no filesystem for here.
        InputError: a source is missing or unreadable, or bad data inside it.
        MachineError: a write failed (a full disk, say).
        Interrupted: Ctrl-C.
    """
    for path in (output_root, *inputs.values()):  # before any work: a remote path the build cannot use
        paths.beam_filesystems(path)
    options = local.pipeline_options(beam_argv)
    dry_run = options.view_as(TestOptions).dry_run
    sources = {} if dry_run else {s: spyx_inputs.fingerprint(p, spec.source_suffix) for s, p in inputs.items()}
    synthetic = frozenset(s for s in inputs if is_synthetic and not dry_run and is_synthetic(s))
    if synthetic and len(synthetic) < len(inputs):
        raise UsageError(
            f"{', '.join(inputs[s] for s in sorted(synthetic))} hold synthetic data (written by spyx-data), "
            f"{', '.join(inputs[s] for s in sorted(set(inputs) - synthetic))} real data: one build must not mix "
            "them; remove the synthetic data, or build only the real splits (--splits)"
        )
    run_id = f"{RUN_PREFIX}{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    transform = BuildShards(spec, inputs, sources, output_root, plan.writer_options(compression), num_shards,
                            plan_parts, synthetic, run=run_id)
    output_dir = transform.output_dir
    if not dry_run:
        remove_stale_runs(output_root)  # also when there is nothing to build: a killed run may have published
        existing = read_existing(output_dir)
        if existing is not None:
            if existing.build_key != transform.build_key:
                raise BuildError(different_build_message(output_dir, existing))
            log.info("%s already holds this build; nothing to do", output_dir)
            return existing
        check_writable(output_root)
    started = time.perf_counter()
    with held_beam_errors(), _private_temp() as temp, _staging(transform.staging_dir, dry_run), \
            _cleaned_up_on_failure(transform, temp, dry_run):
        try:
            pipeline = local.pipeline(options)
        except ValueError as e:  # an unknown or uninstalled runner
            raise BuildError(str(e)) from e
        _ = pipeline | transform
        progress = None if dry_run or paths.is_remote(output_root) else ProgressLog(transform.staging_dir, output_dir)
        if progress:
            progress.start()
        try:
            result = pipeline.run()
            try:
                result.wait_until_finish()
            except KeyboardInterrupt:  # a remote job runs on unless it is cancelled
                with contextlib.suppress(Exception):
                    result.cancel()
                raise
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


#: Staging folders (``<output_root>/.staging-<build>-<run>``) and private temporary folders
#: (``$TMPDIR/<run>``) of a run are named ``<RUN_PREFIX><host>-<pid>-<random>``.
RUN_PREFIX = "spyx-run-"
#: The file in each folder of a run that the run holds an ``flock`` on for its whole life.
RUN_LOCK = ".spyx-run.lock"


@contextlib.contextmanager
def _private_temp() -> Iterator[str]:
    """A temporary folder of this run that every temporary file of the build goes into (ours,
    Beam's, and those of local worker processes, which inherit ``TMPDIR``, and leave their pids
    in its ``workers`` folder); locked (:func:`_locked`) while the run lives, removed at the end."""
    folder = tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{socket.gethostname()}-{os.getpid()}-")
    with _locked(folder):
        os.mkdir(os.path.join(folder, "workers"))
        saved = {name: os.environ.get(name) for name in ("TMPDIR", WORKERS_ENV)}, tempfile.tempdir
        os.environ.update({"TMPDIR": folder, WORKERS_ENV: os.path.join(folder, "workers")})
        tempfile.tempdir = folder
        try:
            yield folder
        finally:
            for name, value in saved[0].items():
                if value is None:
                    del os.environ[name]
                else:
                    os.environ[name] = value
            tempfile.tempdir = saved[1]
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _staging(staging_dir: str, dry_run: bool) -> Iterator[None]:
    """The run's staging folder, made and locked (:func:`_locked`) before the pipeline runs and
    for as long as it does (the commit removes it, as does a failure). A dry run makes none; on a
    remote output root (``gs://``: no locks there) the folder is only made by the writes into it."""
    if dry_run or paths.is_remote(staging_dir):
        yield
        return
    os.makedirs(staging_dir)
    with _locked(staging_dir):
        yield


@contextlib.contextmanager
def _locked(folder: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``folder/RUN_LOCK`` while the block runs: what tells a
    live run's folder from a dead one's (:func:`remove_stale_runs`), whatever PID namespace or
    container either runs in; the kernel releases it when this process ends, however it ends.

    The lock file is created under a temporary name and locked before it is renamed into place,
    so ``RUN_LOCK`` is never there unlocked while the run lives. Worker processes do not hold it
    (they do not inherit the descriptor): the launcher's life is the run's. Where the filesystem
    has no locks, the file is there unlocked; clean-up, which cannot lock it either, leaves the
    folder alone.
    """
    fd, partial = tempfile.mkstemp(dir=folder, prefix=f"{RUN_LOCK}-")
    try:
        with contextlib.suppress(OSError):  # a filesystem without flock (see above)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(partial, os.path.join(folder, RUN_LOCK))
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _cleaned_up_on_failure(transform: BuildShards, temp: str, dry_run: bool = False) -> Iterator[None]:
    """Remove the run's staging folder if the run fails (a dry run writes none: the output root
    is not even listed); turn Ctrl-C into :class:`Interrupted`.

    Ctrl-C stops the run's worker processes (so that tearing the pipeline down does not wait
    for them) and shard tasks running in this process (:data:`pipelines.transforms.STOP`: the
    ``KeyboardInterrupt`` the handler raises can land where it is swallowed), and is then
    ignored until the clean-up is done; what Beam's threads raise as the pipeline is torn down
    is not printed. A run that finished all the same says it was interrupted, and where it was
    published.
    """
    before = set(threading.enumerate())
    hooks = threading.excepthook, sys.unraisablehook
    STOP.clear()

    def quiet_after_interrupt(args: Any) -> None:
        if not STOP.is_set() or getattr(args, "thread", None) in before:
            (hooks[0] if hasattr(args, "thread") else hooks[1])(args)

    def on_interrupt(signum: int, frame: Any) -> None:
        STOP.set()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        local.stop_workers(os.path.join(temp, "workers"))
        raise KeyboardInterrupt

    def interrupted() -> Interrupted:
        published = not dry_run and read_existing(transform.output_dir) is not None
        return Interrupted(f"interrupted; the build was already published in {transform.output_dir}" if published
                           else "interrupted; nothing was published")

    # Not from another thread (signals are the main thread's), nor where SIGINT is ignored
    # (a background job, nohup): then it stays ignored.
    in_main = threading.current_thread() is threading.main_thread()
    in_main = in_main and signal.getsignal(signal.SIGINT) != signal.SIG_IGN
    previous = signal.signal(signal.SIGINT, on_interrupt) if in_main else None
    threading.excepthook = sys.unraisablehook = quiet_after_interrupt
    try:
        yield
        if STOP.is_set():
            raise interrupted()
    except (Exception, KeyboardInterrupt) as e:
        if isinstance(e, Interrupted):
            raise
        if isinstance(e, KeyboardInterrupt):  # else Beam may have wrapped it (in-process runners do)
            STOP.set()
        if in_main:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        if not dry_run:
            remove_tree(transform.staging_dir)
        if STOP.is_set():
            raise interrupted() from None
        raise
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
        if not STOP.is_set():  # else Beam's threads may still raise as they end
            threading.excepthook, sys.unraisablehook = hooks


def remove_stale_runs(output_root: str) -> list[str]:
    """Remove what runs on this host that ended without cleaning up (killed) left: staging
    folders under a local ``output_root`` and private temporary folders; return them.

    A folder is removed only if its lock can be taken (:func:`_locked`): never while its run
    lives, in whatever PID namespace. Folders without a lock file (left by versions before the
    lock, or a run in the instant between making its folder and locking it) are left alone;
    so are the staging folders on a remote output root, where there are no locks.
    """
    pattern = re.compile(rf"(?:\.staging-.*-)?{re.escape(RUN_PREFIX)}{re.escape(socket.gethostname())}-\d+-[0-9a-z_]+$")
    folders = [tempfile.gettempdir()]
    if not paths.is_remote(output_root) and os.path.isdir(output_root):
        folders.append(output_root)
    removed = [os.path.join(folder, name) for folder in folders for name in os.listdir(folder)
               if pattern.match(name) and _removed_if_dead(os.path.join(folder, name))]
    if removed:
        log.info("removed %d folders left by killed runs", len(removed))
    return removed


def _removed_if_dead(folder: str) -> bool:
    """Remove a run's ``folder`` if its lock file is there and can be locked (its run is over)."""
    try:
        fd = os.open(os.path.join(folder, RUN_LOCK), os.O_RDONLY)  # never made here: no lock file, no removal
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held: the run lives (or the filesystem has no locks)
        return False
    else:
        shutil.rmtree(folder, ignore_errors=True)
        return True
    finally:
        os.close(fd)


class _HeldRecords(logging.Handler, logging.Filter):
    """Holds Beam's error records while a pipeline runs and passes its other records on."""

    def __init__(self):
        logging.Handler.__init__(self)
        self.held: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:  # as the handler of Beam's loggers
        if record.levelno >= logging.ERROR:
            self.held.append(record)
        else:
            logging.getLogger().handle(record)

    def filter(self, record: logging.LogRecord) -> bool:  # on the root logger: what Beam logs there
        if record.levelno >= logging.ERROR and f"{os.sep}apache_beam{os.sep}" in record.pathname:
            self.held.append(record)
            return False
        return True


@contextlib.contextmanager
def held_beam_errors() -> Iterator[None]:
    """While a pipeline runs, keep back the errors Beam logs (a failing worker's traceback, the
    runner's own report of it); its warnings go on. If the pipeline fails with one of our
    errors (:func:`spyx_data.errors.raised_by_us`) or is interrupted, they are dropped, as the
    one line the command prints says it all; otherwise, and with ``SPYX_DATA_DEBUG=1``, they are
    logged when the run ends."""
    beam_logger, root = logging.getLogger("apache_beam"), logging.getLogger()
    held = _HeldRecords()
    propagate = beam_logger.propagate
    beam_logger.addHandler(held)
    beam_logger.propagate = False
    root.addFilter(held)
    drop = False
    try:
        yield
    except (Exception, KeyboardInterrupt) as e:
        drop = not os.environ.get(errors.DEBUG_ENV) and (
            isinstance(e, KeyboardInterrupt) or errors.raised_by_us(e) is not None
        )
        raise
    finally:
        root.removeFilter(held)
        beam_logger.removeHandler(held)
        beam_logger.propagate = propagate
        for record in [] if drop else held.held:
            logging.getLogger(record.name).handle(record)


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


def main(
    parse: Callable[[Sequence[str] | None], tuple[argparse.Namespace, list[str]]],
    build_fn: Callable[[argparse.Namespace, Sequence[str]], manifest_lib.Manifest | None],
    argv: Sequence[str] | None,
) -> int:
    """A pipeline's command line: build and print a summary. A mistake, a failing machine or
    Ctrl-C prints one line and returns its exit status (see :func:`spyx_data.commands.run_command`).
    Progress and the build summary are logged to stderr (:func:`command_logging`)."""

    def command() -> int:
        args, beam_argv = parse(argv)
        manifest = build_fn(args, beam_argv)
        if manifest is None:
            print("dry run: translated, nothing written")
        else:
            print(summaries.build_summary(manifest, paths.join(args.output_dir, manifest.build_name)))
        return 0

    with command_logging():
        return run_command(command)


@contextlib.contextmanager
def command_logging() -> Iterator[None]:
    """While a command runs, log spyx-data's INFO records (progress, the summary) to stderr as
    plain lines, through handlers of its own loggers: not through the root logger, which is for
    whoever configures it (:mod:`pipelines` keeps Beam's import from doing so). Beam's own
    loggers log warnings and up.
    Dask's "Port 8787 is already in use" warning is dropped: a local cluster (Beam starts one
    without ``--dask_client_address``) serves a dashboard the command does not ask for, and
    moving it to another port is nothing to act on."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    ours = [logging.getLogger(name) for name in ("pipelines", "spyx_data")]
    beam = logging.getLogger("apache_beam")
    saved = [(logger.level, logger.propagate) for logger in ours], beam.level
    for logger in ours:
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.addHandler(handler)
    beam.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Port \d+ is already in use", category=UserWarning)
            yield
    finally:
        for logger, (level, propagate) in zip(ours, saved[0]):
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
        beam.setLevel(saved[1])
