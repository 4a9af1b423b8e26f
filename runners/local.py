"""Local runner presets.

Without ``--runner`` the pipelines run on Beam's FnApiRunner in this process. For several
worker processes on one machine::

    python -m pipelines.shd --runner=FnApiRunner \\
        --direct_running_mode=multi_processing --direct_num_workers=4 ...

The FnApiRunner is run as :class:`LocalRunner`, whose worker processes are :mod:`runners.worker`.
``--runner=DirectRunner`` also works: Beam 2.77 first tries its Prism runner (a binary it
downloads, which ignores ``--direct_num_workers``) and, offline, falls back to its own FnApiRunner.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.portability import python_urns
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

DEFAULT_RUNNER = "FnApiRunner"
#: The module a local worker process of a build starts from (:mod:`runners.worker`).
WORKER_MODULE = "runners.worker"
_FN_API_RUNNERS = {DEFAULT_RUNNER, "apache_beam.runners.portability.fn_api_runner.FnApiRunner"}


class LocalRunner(FnApiRunner):
    """Beam's FnApiRunner, with its ``multi_processing`` workers started as :mod:`runners.worker`
    with SIGINT ignored (from before the interpreter starts: Beam starts them through a shell).

    Ctrl-C in a terminal signals the whole process group; the launcher handles it (stops the
    workers, whose pids they leave in ``$SPYX_DATA_WORKERS``, and removes what the run staged),
    so the workers neither race it nor die first with a traceback each.
    """

    def run_via_runner_api(self, pipeline_proto, options):
        command = f"trap '' INT; exec {shlex.quote(sys.executable)} -m {WORKER_MODULE}"
        for environment in pipeline_proto.components.environments.values():
            if environment.urn == python_urns.SUBPROCESS_SDK:
                environment.payload = command.encode()
        return super().run_via_runner_api(pipeline_proto, options)


def stop_workers(folder: str, seconds: float = 2.0) -> None:
    """Stop (SIGTERM), from a thread of its own, the worker processes that left their pid in
    ``folder``, and those that leave it within ``seconds`` (started just before: leaving it is
    their first act)."""

    def stop() -> None:
        stopped: set[str] = set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for name in set(os.listdir(folder) if os.path.isdir(folder) else []) - stopped:
                if name.isdigit():
                    stopped.add(name)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(name), signal.SIGTERM)
            time.sleep(0.05)

    stop_now = threading.Thread(target=stop, daemon=True)
    stop_now.start()


def pipeline_options(beam_argv: Sequence[str]) -> PipelineOptions:
    """Beam's options for the given arguments, the runner defaulting to the FnApiRunner."""
    argv = list(beam_argv)
    if not any(a == "--runner" or a.startswith("--runner=") for a in argv):
        argv.append(f"--runner={DEFAULT_RUNNER}")
    return PipelineOptions(argv)


def pipeline(options: PipelineOptions) -> beam.Pipeline:
    """A pipeline on the runner ``options`` name; the FnApiRunner runs as :class:`LocalRunner`,
    and a Dask local cluster's workers are set up by :func:`quiet_dask_workers`.

    Raises:
        ValueError: an unknown runner, or one whose extra is not installed.
    """
    runner = options.view_as(StandardOptions).runner
    if runner in _FN_API_RUNNERS:
        return beam.Pipeline(runner=LocalRunner(), options=options)
    if str(runner).rsplit(".", 1)[-1] == "DaskRunner" and not options.get_all_options().get("address"):
        quiet_dask_workers()
    return beam.Pipeline(options=options)


def quiet_dask_workers() -> None:
    """Make the workers of a Dask local cluster started in this process (Beam starts one when
    ``--dask_client_address`` is not given) import Beam quietly first (:func:`runners.worker.dask_setup`),
    through Dask's ``distributed.worker.preload``, which the cluster hands to its worker processes.

    Otherwise, where Beam's gcp extra is missing, a worker that is not started from a
    ``pipelines`` module (``spyx-data build ... --preset=dask:N``) imports Beam when it unpickles
    its first task, and Beam's "apitools not found" warning, logged with ``logging.warning``, is
    printed and configures the root logger to print whatever else reaches it.
    """
    import dask

    preload = list(dask.config.get("distributed.worker.preload", default=None) or [])
    if WORKER_MODULE not in preload:
        dask.config.set({"distributed.worker.preload": [*preload, WORKER_MODULE]})
