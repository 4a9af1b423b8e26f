"""What every spyx-data command shares: its flags' parser and types, and how it ends.

The ground floor of the command lines: ``spyx-data`` (:mod:`spyx_data.cli`) and the Beam entry
points (``python -m pipelines.<name>``) both import it, and it imports neither. A user's mistake
in a flag is one :class:`~spyx_data.errors.UsageError` line (:class:`FlagParser`, whose flag
types are the functions here); :func:`run_command` turns whatever a command raises on purpose
into that one line and its exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from spyx_data import errors, paths


class FlagParser(argparse.ArgumentParser):
    """An ``argparse`` parser whose mistakes are one-line :class:`~spyx_data.errors.UsageError` s
    (argparse prints its usage and exits instead), and which takes no abbreviated flags."""

    def __init__(self, prog: str, description: str | None = None, **kwargs):
        super().__init__(prog=prog, description=description, allow_abbrev=False, **kwargs)

    def error(self, message: str):
        raise errors.UsageError(f"{message}; see {self.prog} --help")


def positive_int(text: str) -> int:
    """An integer >= 1, as a flag's type."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def finite_float(text: str) -> float:
    """A finite number, as a flag's type (``nan``, ``inf`` and numbers beyond float64's range are refused)."""
    value = float(text)
    if not -float("inf") < value < float("inf"):  # also False for NaN
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def boolean(text: str) -> bool:
    """``true`` / ``false`` (also ``1`` / ``0``, ``yes`` / ``no``), any case, as a flag's type."""
    value = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"must be true or false, got {text}")
    return value


def build_path(text: str) -> str:
    """A path a build can use (:func:`spyx_data.paths.beam_filesystems`), as a flag's type."""
    try:
        paths.beam_filesystems(text)
    except errors.UsageError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def run_command(command: Callable[[], int | None]) -> int:
    """Run a command; return its exit status (None counts as 0).

    An :class:`~spyx_data.errors.Error` (also one a Beam runner wrapped), Ctrl-C, or an
    ``OSError`` (the machine's fault) becomes one line on stderr, ``error: <message>``, and the
    error's exit status (2, 1, 130, 1). Anything else is a bug and keeps its traceback, as every
    error does with ``SPYX_DATA_DEBUG=1``.
    """
    try:
        code = command()
    except BrokenPipeError:  # the output went to a pager or `head` that closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (Exception, KeyboardInterrupt) as e:
        error = errors.raised_by_us(e)
        if error is None and isinstance(e, KeyboardInterrupt):
            error = errors.Interrupted("interrupted")
        if error is None and isinstance(e, OSError):
            error = errors.MachineError(str(e))
        if error is None or os.environ.get(errors.DEBUG_ENV):
            raise
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    return code if isinstance(code, int) else 0
