"""What of Beam's logging a build holds back: while a pipeline runs, the errors Beam logs (a
failing worker's traceback, the runner's report of it) are held, and dropped when the command's
one line says it all (:func:`held_beam_errors`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

from spyx_data import errors


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
