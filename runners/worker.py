"""A local Beam worker process (the FnApiRunner's ``multi_processing`` mode, see
:class:`runners.local.LocalRunner`): Beam's ``sdk_worker_main``, with two changes.

* It ignores SIGINT. Ctrl-C in a terminal signals the whole process group; the launcher handles
  it (stops the pipeline, which stops its workers, and removes what the run staged), so the
  workers neither race it nor print a traceback each.
* Beam's worker prints the traceback of every failed bundle to its stderr and also sends it to
  the runner, which reports it (the launcher turns a known data error into one line). The
  printed copy is dropped, unless ``SPYX_DATA_DEBUG`` is set.

It also drops Beam's start-up warning "No semi_persistent_directory found", which concerns
runners that stage artifacts for their workers, not these.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import TextIO

from spyx_data.errors import DEBUG_ENV


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
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("apache_beam.runners.worker.sdk_worker_main").addFilter(
        lambda record: not record.getMessage().startswith("No semi_persistent_directory found")
    )
    if not os.environ.get(DEBUG_ENV):
        sys.stderr = _WithoutTracebacks(sys.stderr)
    from apache_beam.runners.worker import sdk_worker_main

    sdk_worker_main.main(sys.argv)


if __name__ == "__main__":
    main()
