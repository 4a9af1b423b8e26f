"""The errors spyx-data raises on purpose. Each message is one line naming what is wrong (the
file, sample, shard or flag) and, for a user's mistake, what to do.

Every class has an ``exit_code``: the command line prints ``error: <message>`` and exits with
it (2: the user can fix it; 1: the machine or the stored data failed; 130: interrupted), with no
traceback unless ``SPYX_DATA_DEBUG=1``. Anything else that escapes is a bug and keeps its
traceback. The classes also derive from the built-in exception a caller would expect
(``ValueError`` for bad values, ``OSError`` for bad files), so ``except ValueError`` still works.
"""

from __future__ import annotations

import re

DEBUG_ENV = "SPYX_DATA_DEBUG"


class Error(Exception):
    """Base of every error spyx-data raises on purpose."""

    exit_code = 2


class UsageError(Error, ValueError):
    """A wrong flag, option or argument: the message says which and what is accepted."""


class InputError(Error, ValueError):
    """Bad input data: a file that does not read as its format, a sample out of range, a
    symlink that leads nowhere; the message names the file (and sample)."""


class BuildError(Error):
    """A build cannot start or finish for a reason the user can fix; the message says how."""


class MachineError(Error, OSError):
    """The machine failed a build: a full disk, a failed write; the message names the path."""

    exit_code = 1


class Interrupted(Error):
    """The user interrupted a build (Ctrl-C); nothing was published."""

    exit_code = 130


class ManifestError(Error, ValueError):
    """A manifest is malformed or disagrees with itself or its shards."""

    exit_code = 1


class NoBuild(ManifestError, FileNotFoundError):
    """A folder holds no finished build (no manifest)."""

    exit_code = 2


class ShardError(Error, OSError):
    """A shard file is missing, unreadable, or disagrees with its manifest."""

    exit_code = 1


class RecordError(Error, ValueError):
    """A record does not match the layout or build it is read with: ``record`` (its position in
    what was decoded, when known) and ``reason`` say where and why."""

    exit_code = 1

    def __init__(self, reason: str, record: int | None = None):
        super().__init__(reason if record is None else f"record {record}: {reason}")
        self.reason, self.record = reason, record


_IN_TRACEBACK = re.compile(r"^spyx_data\.errors\.(\w+): (.*)$", re.M)
_STEP_SUFFIX = re.compile(r"( \[while running '[^']*'\])+$")


def raised_by_us(exc: BaseException) -> Error | None:
    """The :class:`Error` behind ``exc`` with its one-line message, also when a Beam runner
    wrapped it: in-process runners append `` [while running 'step']`` to the message, and an
    error in a worker process arrives as a ``RuntimeError`` carrying the worker's traceback as
    text (the last of our errors named there is returned). None for anything else."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, Error):
            return type(exc)(_STEP_SUFFIX.sub("", str(exc)))
        for name, message in reversed(_IN_TRACEBACK.findall(str(exc))):
            cls = globals().get(name)
            if isinstance(cls, type) and issubclass(cls, Error):
                return cls(_STEP_SUFFIX.sub("", message))
        exc = exc.__cause__ or exc.__context__
    return None
