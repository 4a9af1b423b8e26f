"""A Beam entry point's command line: what it logs, what it prints, how it ends.

Each entry point (``python -m pipelines.<name>``, ``spyx-data build``) parses its flags into typed
objects and runs its typed build through :func:`main`: progress and the build's last line are
logged to stderr (:func:`command_logging`), the summary printed to stdout, and a mistake, a
failing machine or Ctrl-C is one line and its exit status (:func:`spyx_data.commands.run_command`).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

from spyx_data import paths, summaries
from spyx_data.builder.options import BuildOptions
from spyx_data.commands import run_command
from spyx_data.format.manifest import Manifest


class Request(Protocol):
    """What an entry point's flags become: its typed build's arguments, :attr:`options` among them."""

    options: BuildOptions


R = TypeVar("R", bound=Request)


def main(parse: Callable[[], R], build: Callable[[R], Manifest | None]) -> int:
    """Run ``build(parse())`` as a command: print the build's summary (or that a dry run wrote
    nothing) and return 0; a mistake, a failing machine or Ctrl-C prints one line and returns its
    exit status (:func:`spyx_data.commands.run_command`). Logs to stderr (:func:`command_logging`)."""

    def command() -> int:
        request = parse()
        manifest = build(request)
        if manifest is None:
            print("dry run: translated, nothing written")
        else:
            print(summaries.build_summary(manifest, paths.join(request.options.output_root, manifest.build_name)))
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
