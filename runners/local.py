"""Local runner presets.

Without ``--runner`` the pipelines run on Beam's FnApiRunner in this process. For several
worker processes on one machine::

    python -m pipelines.shd --runner=FnApiRunner \\
        --direct_running_mode=multi_processing --direct_num_workers=4 ...

``--runner=DirectRunner`` also works: Beam 2.77 first tries its Prism runner (a binary it
downloads, which ignores ``--direct_num_workers``) and, offline, falls back to the FnApiRunner.
"""

from __future__ import annotations

from collections.abc import Sequence

from apache_beam.options.pipeline_options import PipelineOptions

DEFAULT_RUNNER = "FnApiRunner"


def multi_processing(workers: int) -> list[str]:
    """Beam arguments for ``workers`` local worker processes."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return [
        f"--runner={DEFAULT_RUNNER}",
        "--direct_running_mode=multi_processing",
        f"--direct_num_workers={workers}",
    ]


def pipeline_options(beam_argv: Sequence[str]) -> PipelineOptions:
    """Beam's options for the given arguments, the runner defaulting to the FnApiRunner."""
    argv = list(beam_argv)
    if not any(a == "--runner" or a.startswith("--runner=") for a in argv):
        argv.append(f"--runner={DEFAULT_RUNNER}")
    return PipelineOptions(argv)
