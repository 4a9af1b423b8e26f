"""The tests' side of the shard-task hook (:func:`pipelines.transforms.hold_for_tests`): hold a
build's shard tasks as they start, one at a time, and act on the build at that known point.

A build started with :attr:`Holds.env` in its environment (its worker processes inherit it)
stops each shard task before it writes anything, until the test releases it. Nothing here waits
on the clock: a wait ends when the build does something (a task starts, a held task ends, the
build's process ends). ``HANG_S`` is only a safety net that turns a hung build into a failure.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading

#: Seconds a wait may last before the build counts as hung (never the expected path).
HANG_S = 600
_ENDED = "ended"


class Holds:
    """A Unix socket in ``folder`` that shard tasks connect to; each connection is a held task."""

    def __init__(self, folder):
        self.address = os.path.join(str(folder), "hold.sock")
        self._server = socket.socket(socket.AF_UNIX)
        self._server.bind(self.address)
        self._server.listen(64)
        self._server.settimeout(HANG_S)
        self._held: list[socket.socket] = []

    @property
    def env(self) -> dict[str, str]:
        """What to add to a build's environment for its shard tasks to be held here."""
        from pipelines.transforms import HOLD_ENV  # here: tests that need only HANG_S need no Beam

        return {HOLD_ENV: self.address}

    def watch(self, process: subprocess.Popen) -> None:
        """Once ``process`` ends, :meth:`next` fails saying so instead of waiting for a task."""

        def tell() -> None:
            process.wait()
            self.ended()

        threading.Thread(target=tell, daemon=True).start()

    def ended(self) -> None:
        """Say that the build ended: :meth:`next` fails saying so (for builds run in-process)."""
        with socket.socket(socket.AF_UNIX) as s, contextlib.suppress(OSError):
            s.connect(self.address)
            s.sendall(f"0 {_ENDED}\n".encode())

    def next(self, log=None) -> tuple[int, str]:
        """Wait for the next shard task to start and hold it; its ``(process id, shard name)``.
        ``log``: a file whose tail the failure shows if the build ended first."""
        try:
            conn, _ = self._server.accept()
        except TimeoutError:
            raise AssertionError(f"no shard task started in {HANG_S} s: the build hangs") from None
        conn.settimeout(HANG_S)
        line = b""
        while not line.endswith(b"\n"):
            piece = conn.recv(256)
            assert piece, f"a shard task connected but said nothing: {line!r}"
            line += piece
        pid, name = line.decode().split()
        if name == _ENDED:
            conn.close()
            tail = open(log).read()[-3000:] if log else ""
            raise AssertionError("the build ended before the shard task the test waited for started: " + tail)
        self._held.append(conn)
        return int(pid), name

    def pass_tasks(self, count: int, log=None) -> None:
        """Let ``count`` shard tasks through, one after another (each released as the next starts)."""
        for _ in range(count):
            self.next(log)
            self.release()

    def release(self) -> None:
        """Let every held task go on."""
        for conn in self._held:
            conn.close()
        self._held.clear()

    def wait_until_held_tasks_end(self) -> None:
        """Wait, without releasing them, until every held task has ended (its process died, or
        it was interrupted): their connections close."""
        for conn in self._held:
            try:
                assert conn.recv(1) == b"", "a held shard task sent more than its line"
            except TimeoutError:
                raise AssertionError(f"a held shard task was still there after {HANG_S} s") from None
            except ConnectionResetError:
                pass
        self.release()

    def close(self) -> None:
        """Release every task and stop holding: tasks that start from now on are not held."""
        self.release()
        self._server.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.address)

    def __enter__(self) -> Holds:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
