"""A local worker process of a build: Beam's ``sdk_worker_main``, quieter, for the
FnApiRunner's ``multi_processing`` mode (started by :class:`runners.local.LocalRunner`), and
:func:`dask_setup` for the workers of a Dask local cluster (:func:`runners.local.quiet_dask_workers`).

* It leaves a file named by its pid in ``$SPYX_DATA_WORKERS`` (when set) before anything else,
  so that the launcher can stop it on Ctrl-C (it is started with SIGINT ignored).
* Beam's worker prints the traceback of every failed bundle to its stderr and also sends it to
  the runner, which reports it (the launcher turns a known data error into one line). The
  printed copy is dropped, unless ``SPYX_DATA_DEBUG`` is set.
* Beam's start-up warning "No semi_persistent_directory found" is dropped: it concerns runners
  that stage artifacts for their workers, not these.
* Where Beam's gcp extra is missing, Beam's import logs "apitools not found" through the root
  logger, whose first use gives it a handler printing every record; Beam's worker then logs at
  INFO, and each worker printed some 15 lines. Beam is imported through
  :func:`spyx_data.paths.quiet_beam_import`, which keeps that warning from configuring the root
  logger, and the root logger then holds a handler
  that prints nothing before Beam's worker starts (so that no first use configures it there
  either): its records go only where Beam's worker sends them (to the runner), as where the
  gcp extra is installed.
"""

from __future__ import annotations

import os

WORKERS_ENV = "SPYX_DATA_WORKERS"
if __name__ == "__main__" and os.environ.get(WORKERS_ENV):
    open(os.path.join(os.environ[WORKERS_ENV], str(os.getpid())), "w").close()

import logging  # noqa: E402 (after the pid is left)
import sys  # noqa: E402
from typing import TextIO  # noqa: E402

from spyx_data.errors import DEBUG_ENV  # noqa: E402
from spyx_data.paths import quiet_beam_import  # noqa: E402


class _WithoutTracebacks:
    """``stderr`` less the tracebacks printed on it (``print`` writes a traceback, then "\\n")."""

    def __init__(self, stream: TextIO):
        self._stream = stream
        self._dropped = False

    def write(self, text: str) -> int:
        dropped, self._dropped = self._dropped, text.startswith("Traceback (most recent call last):")
        if self._dropped or (dropped and text == "\n"):
            return len(text)
        return self._stream.write(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main() -> None:
    quiet_beam_import()
    logging.getLogger().addHandler(logging.NullHandler())
    logging.getLogger("apache_beam.runners.worker.sdk_worker_main").addFilter(
        lambda record: not record.getMessage().startswith("No semi_persistent_directory found")
    )
    if not os.environ.get(DEBUG_ENV):
        sys.stderr = _WithoutTracebacks(sys.stderr)
    from apache_beam.runners.worker import sdk_worker_main

    sdk_worker_main.main(sys.argv)


def dask_setup(worker: object) -> None:
    """Dask's hook for a preloaded module (``distributed.worker.preload``), run as a worker of a
    Dask local cluster starts: import Beam without letting it print or configure logging
    (:func:`spyx_data.paths.quiet_beam_import`), before the worker unpickles a task that imports it."""
    quiet_beam_import()


if __name__ == "__main__":
    main()
