"""A build run's folders, kept clean: locks, the staging folder, the private temporary folder,
clean-up on failure and Ctrl-C, and what runs killed on this host left behind.

A run writes into a staging folder of its own (``<output_root>/.staging-<build>-<run>``) and a
private temporary folder (``$TMPDIR/<run>``), each locked (:func:`locked`) for the run's life;
a failed or interrupted run removes its staging folder (:func:`cleaned_up_on_failure`) and its
temporary folder, and the next run on the host removes what killed ones left
(:func:`remove_stale_runs`). A run is named ``<RUN_PREFIX><host>-<pid>-<random>`` (:func:`new_run`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from pipelines.transforms import STOP, remove_tree
from runners import local
from runners.worker import WORKERS_ENV
from spyx_data import paths
from spyx_data.errors import BuildError, Interrupted
from spyx_data.format import manifest as manifest_lib

log = logging.getLogger(__name__)

#: Staging folders (``<output_root>/.staging-<build>-<run>``) and private temporary folders
#: (``$TMPDIR/<run>``) of a run are named ``<RUN_PREFIX><host>-<pid>-<random>``.
RUN_PREFIX = "spyx-run-"
#: The file in each folder of a run that the run holds an ``flock`` on for its whole life.
RUN_LOCK = ".spyx-run.lock"


def new_run() -> str:
    """A name for a new run of this process: ``<RUN_PREFIX><host>-<pid>-<random>``."""
    return f"{RUN_PREFIX}{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def private_temp() -> Iterator[str]:
    """A temporary folder of this run that every temporary file of the build goes into (ours,
    Beam's, and those of local worker processes, which inherit ``TMPDIR``, and leave their pids
    in its ``workers`` folder); locked (:func:`locked`) while the run lives, removed at the end."""
    folder = tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{socket.gethostname()}-{os.getpid()}-")
    with locked(folder):
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
def staging(staging_dir: str, dry_run: bool) -> Iterator[None]:
    """The run's staging folder, made and locked (:func:`locked`) before the pipeline runs and
    for as long as it does (the commit removes it, as does a failure). A dry run makes none; on a
    remote output root (``gs://``: no locks there) the folder is only made by the writes into it."""
    if dry_run or paths.is_remote(staging_dir):
        yield
        return
    os.makedirs(staging_dir)
    with locked(staging_dir):
        yield


@contextlib.contextmanager
def locked(folder: str) -> Iterator[None]:
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
def cleaned_up_on_failure(staging_dir: str, output_dir: str, temp: str, dry_run: bool = False) -> Iterator[None]:
    """Remove the run's ``staging_dir`` if the run fails (a dry run writes none: the output root
    is not even listed); turn Ctrl-C into :class:`~spyx_data.errors.Interrupted`.

    Ctrl-C stops the run's worker processes (those that left their pid in ``temp/workers``, so
    that tearing the pipeline down does not wait for them) and shard tasks running in this
    process (:data:`pipelines.transforms.STOP`: the ``KeyboardInterrupt`` the handler raises can
    land where it is swallowed), and is then ignored until the clean-up is done; what Beam's
    threads raise as the pipeline is torn down is not printed. A run that finished all the same
    says it was interrupted, and that it was published in ``output_dir``.
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
        published = not dry_run and manifest_lib.manifest_in(output_dir) is not None
        return Interrupted(f"interrupted; the build was already published in {output_dir}" if published
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
            remove_tree(staging_dir)
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

    A folder is removed only if its lock can be taken (:func:`locked`): never while its run
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


def check_writable(directory: str) -> None:
    """Fail early, with the reason, when a local ``directory`` cannot be created or written.

    Raises:
        BuildError: naming ``directory`` and why.
    """
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
