"""Decoders for the per-recording event files of camera datasets, vectorised (no loop over events).

Each returns :class:`Events`: int64 arrays ``t`` (microseconds), ``x``, ``y``, ``p``, with the
same values tonic's dataset classes give for the same file.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from spyx_data.errors import InputError

ATIS_EVENT_BYTES = 5
ATIS_OVERFLOW_Y = 240
ATIS_OVERFLOW_US = 2**13


class Events(NamedTuple):
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    p: np.ndarray


def read_atis_bin(data: bytes, where: str = "<bytes>") -> Events:
    """Decode the 5-byte ATIS events of N-MNIST and N-Caltech101 ``.bin`` files.

    Byte layout, big-endian: x (8 bits), y (8 bits), polarity (1 bit), timestamp (23 bits, us).
    An event with ``y == 240`` marks a timestamp overflow: it adds ``2**13`` us to its own and
    every later timestamp and is not itself an event. Identical to ``tonic.io.read_mnist_file``
    (tested on the fixtures), without its Python loop over overflow markers.

    Raises:
        InputError: naming ``where``, when the length is not a whole number of events.
    """
    if len(data) % ATIS_EVENT_BYTES:
        raise InputError(
            f"{where}: {len(data)} bytes is not a whole number of {ATIS_EVENT_BYTES}-byte events (truncated file?)"
        )
    n = len(data) // ATIS_EVENT_BYTES
    if n == 0:
        return _no_events()
    # Bytes 1-4 of each event, read in place as one big-endian word: y (8) | p (1) | t (23).
    word = np.ndarray((n,), dtype=">u4", buffer=data, offset=1, strides=(ATIS_EVENT_BYTES,)).astype(np.int64)
    y = word >> 24
    overflow = y == ATIS_OVERFLOW_Y
    t = (word & 0x7FFFFF) + np.cumsum(overflow) * ATIS_OVERFLOW_US
    real = ~overflow
    x = np.frombuffer(data, dtype=np.uint8)[0::ATIS_EVENT_BYTES]
    return Events(t[real], x[real].astype(np.int64), y[real], (word[real] >> 23) & 1)


def read_npy_columns(data: bytes, columns: str, time_scale: int, where: str = "<bytes>") -> Events:
    """Decode a ``.npy`` of shape ``[n, 4]`` whose columns are named by ``columns`` (e.g. ``"xypt"``).

    Times are multiplied by ``time_scale`` to give microseconds, after widening them to int64
    (float64 for floats) and, like tonic's conversion to an integer field, truncated. tonic
    scales in the file's own type, so the two differ only where that wraps or rounds there
    (int16 milliseconds past 32.767 s, float16 past 65.5 s, float32 near a whole microsecond).

    Raises:
        InputError: naming ``where``, for an unreadable file or a wrong shape.
    """
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as e:
        raise InputError(f"{where}: not a readable .npy file ({e})") from e
    if array.ndim != 2 or array.shape[1] != 4:
        raise InputError(f"{where}: expected an [n, 4] array of {columns} columns, got shape {array.shape}")
    if array.dtype.kind not in "fiu":
        raise InputError(f"{where}: expected numbers, got {array.dtype}")
    column = {name: array[:, i] for i, name in enumerate(columns)}
    t = column["t"].astype(np.float64 if array.dtype.kind == "f" else np.int64) * time_scale  # widened: no wrap
    return Events(*(np.asarray(v).astype(np.int64) for v in (t, column["x"], column["y"], column["p"])))


@contextlib.contextmanager
def on_disk(data: bytes, suffix: str) -> Iterator[str]:
    """A temporary file holding ``data``, for readers that take only a path (removed after)."""
    fd, path = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        yield path
    finally:
        os.remove(path)


def read_aedat4(data: bytes, where: str = "<bytes>") -> Events:
    """Decode an AEDAT4 file with the ``aedat`` package, as ``tonic.io.read_aedat4`` does: the
    events of the event stream with the lowest id, ``t`` in the file's (absolute) microseconds,
    ``p`` 1 for ON.

    Raises:
        InputError: naming ``where``, for a file ``aedat`` cannot decode or one without an
            event stream.
    """
    import aedat

    with on_disk(data, ".aedat4") as path:
        try:
            decoder = aedat.Decoder(path)
            streams = [i for i, s in decoder.id_to_stream().items() if s["type"] == "events"]
            packets = [p["events"] for p in decoder if streams and p["stream_id"] == min(streams) and "events" in p]
        except (OSError, RuntimeError) as e:  # aedat's errors name no file
            raise InputError(f"{where}: not a readable AEDAT4 file ({e})") from e
    if not streams:
        raise InputError(f"{where}: an AEDAT4 file without an event stream")
    if not packets:
        return _no_events()
    ev = np.concatenate(packets)
    return Events(*(ev[name].astype(np.int64) for name in ("t", "x", "y", "on")))


def read_structured_npy(data: bytes, where: str = "<bytes>") -> Events:
    """Decode a ``.npy`` structured array with integer fields ``t`` (microseconds), ``x``,
    ``y``, ``p`` (any order, other fields ignored), as DVS-Lip stores its recordings.

    Raises:
        InputError: naming ``where``, for an unreadable file or missing fields.
    """
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as e:
        raise InputError(f"{where}: not a readable .npy file ({e})") from e
    missing = [f for f in "txyp" if array.dtype.names is None or f not in array.dtype.names]
    if missing or array.ndim != 1:
        raise InputError(f"{where}: expected a 1-D structured array with fields t, x, y, p; got "
                         f"{array.dtype} of shape {array.shape}")
    return Events(*(array[f].astype(np.int64) for f in "txyp"))


def read_prophesee(data: bytes, where: str = "<bytes>") -> Events:
    """Decode a Prophesee ``.dat`` or ``.raw`` (EVT 2.0 or EVT 3.0, told by its header) file
    with ``expelliarmus``, as tonic does: ``t`` in the camera's microseconds.

    Raises:
        InputError: naming ``where``, for another encoding or a file expelliarmus cannot read.
    """
    import expelliarmus

    suffix = os.path.splitext(where)[1].lower()
    encoding = "dat" if suffix == ".dat" else _evt_version(data, where)
    with on_disk(data, suffix) as path:
        try:
            array = expelliarmus.Wizard(encoding=encoding).read(path)
        except (OSError, RuntimeError, ValueError) as e:
            raise InputError(f"{where}: not a readable {encoding.upper()} file ({e})") from e
    if array is None:  # what expelliarmus returns for a file it cannot parse
        raise InputError(f"{where}: not a readable {encoding.upper()} file")
    return Events(*(array[f].astype(np.int64) for f in "txyp"))


def _evt_version(data: bytes, where: str) -> str:
    """``"evt2"`` or ``"evt3"`` from a ``.raw`` file's ``%`` header lines (``% evt 3.0`` or
    ``% format EVT3;...``)."""
    for line in data[:4096].split(b"\n"):
        if not line.startswith(b"%"):
            break
        words = line[1:].replace(b";", b" ").split()
        if words[:1] == [b"evt"] and len(words) > 1:
            version = words[1].decode(errors="replace")
        elif words[:1] == [b"format"] and len(words) > 1:
            version = words[1].decode(errors="replace").lower().removeprefix("evt")
        else:
            continue
        if version in ("2", "2.0", "3", "3.0"):
            return "evt" + version[0]
        raise InputError(f"{where}: EVT {version} is not read (EVT 2.0 and 3.0 are)")
    raise InputError(f"{where}: no '% evt' or '% format' line in its header: not a Prophesee .raw file")


def read_event_stream(data: bytes, where: str = "<bytes>") -> Events:
    """Decode an Event Stream (``.es``, DVS type) file with ``faery``.

    Raises:
        InputError: naming ``where``, for a file faery cannot read as DVS events.
    """
    import faery

    with on_disk(data, ".es") as path:
        try:
            chunks = [chunk for chunk in faery.events_stream_from_file(path) if len(chunk)]
        except (OSError, RuntimeError, ValueError, TypeError) as e:
            raise InputError(f"{where}: not a readable Event Stream file of DVS events ({e})") from e
    if not chunks:
        return _no_events()
    ev = np.concatenate(chunks)
    return Events(*(ev[name].astype(np.int64) for name in ("t", "x", "y", "on")))


def read_csv(data: bytes, where: str = "<bytes>") -> Events:
    """Decode a ``.csv`` of events: a header row naming the columns ``t`` (microseconds), ``x``,
    ``y`` and ``p`` or ``on``, in any order (``x@640``: faery's width note, ignored), then one
    integer row per event.

    Raises:
        InputError: naming ``where``, for a missing column or a value that is not an integer.
    """
    first = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()
    header = [name.strip().split("@")[0].lower() for name in first.split(",")] if first else []
    names = {"on" if name == "p" else name: i for i, name in enumerate(header)}
    missing = [name for name in ("t", "x", "y", "on") if name not in names]
    if missing:
        raise InputError(f"{where}: its header {first!r} names no {', '.join(missing)} column "
                         "(t, x, y and p or on)")
    try:
        with warnings.catch_warnings():  # a header without rows: no events, not a warning
            warnings.simplefilter("ignore", UserWarning)
            table = np.loadtxt(io.BytesIO(data), delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
    except ValueError as e:
        raise InputError(f"{where}: every row must hold {len(header)} integers ({e})") from e
    if not table.size:
        return _no_events()
    if table.shape[1] != len(header):
        raise InputError(f"{where}: rows of {table.shape[1]} values under a header of {len(header)}")
    return Events(*(table[:, names[name]] for name in ("t", "x", "y", "on")))


def _no_events() -> Events:
    return Events(*(np.zeros(0, dtype=np.int64) for _ in range(4)))
