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

import sys
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.portability import python_urns
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

DEFAULT_RUNNER = "FnApiRunner"
_FN_API_RUNNERS = {DEFAULT_RUNNER, "apache_beam.runners.portability.fn_api_runner.FnApiRunner"}


class LocalRunner(FnApiRunner):
    """Beam's FnApiRunner, with its ``multi_processing`` workers started as :mod:`runners.worker`
    (Beam's worker, which leaves Ctrl-C to the launcher and does not print the traceback of a
    failed bundle itself: the runner reports it)."""

    def run_via_runner_api(self, pipeline_proto, options):
        for environment in pipeline_proto.components.environments.values():
            if environment.urn == python_urns.SUBPROCESS_SDK:
                environment.payload = f"{sys.executable} -m runners.worker".encode()
        return super().run_via_runner_api(pipeline_proto, options)


def pipeline_options(beam_argv: Sequence[str]) -> PipelineOptions:
    """Beam's options for the given arguments, the runner defaulting to the FnApiRunner."""
    argv = list(beam_argv)
    if not any(a == "--runner" or a.startswith("--runner=") for a in argv):
        argv.append(f"--runner={DEFAULT_RUNNER}")
    return PipelineOptions(argv)


def pipeline(options: PipelineOptions) -> beam.Pipeline:
    """A pipeline on the runner ``options`` name; the FnApiRunner runs as :class:`LocalRunner`.

    Raises:
        ValueError: an unknown runner, or one whose extra is not installed.
    """
    if options.view_as(StandardOptions).runner in _FN_API_RUNNERS:
        return beam.Pipeline(runner=LocalRunner(), options=options)
    return beam.Pipeline(options=options)
