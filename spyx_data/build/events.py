"""Decoders for the per-recording event files of camera datasets, vectorised (no loop over events).

A decoder (:data:`Decoder`) reads one recording file in pieces and yields its events in file
order, in chunks of at most ``max_events`` events: a build holds a bounded part of a recording
however long it is. Each chunk is :class:`Events`: int64 arrays ``t`` (microseconds), ``x``,
``y``, ``p``; together they are the values tonic's dataset classes give for the same file.
Where a format's library reads only a whole file (``scipy.io.loadmat``), the decoder yields
pieces of what it read whole (:func:`whole_file`), and says so.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, NamedTuple

import numpy as np

from spyx_data import paths
from spyx_data.errors import InputError

ATIS_EVENT_BYTES = 5
ATIS_OVERFLOW_Y = 240
ATIS_OVERFLOW_US = 2**13


class Events(NamedTuple):
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    p: np.ndarray


#: ``(local path, name for messages, max_events) -> chunks``: a recording's events in file
#: order, in non-empty chunks of at most ``max_events`` events (a local path: see
#: :func:`local_file`).
Decoder = Callable[[str, str, int], Iterator[Events]]


def suffix_of(path: str) -> str:
    """A file's suffix, lower case (``".aedat4"``)."""
    return os.path.splitext(path)[1].lower()


def local_file(path: str) -> contextlib.AbstractContextManager[str]:
    """``path`` as a local file: itself, or for a remote one a temporary copy (written a piece
    at a time, named with its suffix in lower case; removed after)."""
    return _remote_copy(path) if paths.is_remote(path) else contextlib.nullcontext(path)


@contextlib.contextmanager
def _remote_copy(path: str) -> Iterator[str]:
    fd, local = tempfile.mkstemp(suffix=suffix_of(path))
    try:
        with os.fdopen(fd, "wb") as f:
            for piece in paths.pieces(path):
                f.write(piece)
        yield local
    finally:
        os.remove(local)


@contextlib.contextmanager
def _named(path: str, suffix: str) -> Iterator[str]:
    """``path``, or a temporary copy of it ending in ``suffix``, for libraries that tell a
    format by a file's name (in lower case)."""
    if path.endswith(suffix):
        yield path
        return
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "recording" + suffix)
        shutil.copyfile(path, copy)
        yield copy


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


def whole(chunks: Iterable[Events]) -> Events:
    """The chunks of one recording as one :class:`Events`."""
    chunks = list(chunks)
    if not chunks:
        return _no_events()
    return Events(*(np.concatenate(column) for column in zip(*chunks)))


def decode_bytes(decode: Decoder, data: bytes, where: str) -> Events:
    """A whole recording from its bytes with ``decode`` (``where`` names it and gives its suffix)."""
    with on_disk(data, suffix_of(where)) as path:
        return whole(decode(path, where, 1 << 20))


def _pieces(columns: Iterable[np.ndarray], max_events: int) -> Iterator[Events]:
    """``Events`` of int64 ``columns`` (t, x, y, p), cut into chunks of at most ``max_events``."""
    t, x, y, p = columns
    for first in range(0, len(t), max_events):
        piece = slice(first, first + max_events)
        yield Events(*(np.asarray(c[piece]).astype(np.int64) for c in (t, x, y, p)))


def whole_file(read: Callable[[str, str], Events]) -> Decoder:
    """A decoder from ``read(path, where) -> Events``, which reads a whole file at once (for a
    format whose library reads nothing less): the recording is held whole while it is cut up."""

    def decode(path: str, where: str, max_events: int) -> Iterator[Events]:
        yield from _pieces(read(path, where), max_events)

    return decode


def _atis_words(data: bytes, overflows: int) -> tuple[Events, int]:
    """Decode whole 5-byte ATIS words (see :func:`read_atis_bin`) after ``overflows`` overflow
    markers; the events and the markers counted so far."""
    n = len(data) // ATIS_EVENT_BYTES
    if n == 0:
        return _no_events(), overflows
    # Bytes 1-4 of each event, read in place as one big-endian word: y (8) | p (1) | t (23).
    word = np.ndarray((n,), dtype=">u4", buffer=data, offset=1, strides=(ATIS_EVENT_BYTES,)).astype(np.int64)
    y = word >> 24
    overflow = y == ATIS_OVERFLOW_Y
    marks = np.cumsum(overflow)
    if overflows:
        marks += overflows
    t = (word & 0x7FFFFF) + marks * ATIS_OVERFLOW_US
    real = ~overflow
    x = np.frombuffer(data, dtype=np.uint8)[0::ATIS_EVENT_BYTES]
    return Events(t[real], x[real].astype(np.int64), y[real], (word[real] >> 23) & 1), int(marks[-1])


def _atis_length(size: int, where: str) -> None:
    """Raise unless ``size`` bytes are whole events."""
    if size % ATIS_EVENT_BYTES:
        raise InputError(
            f"{where}: {size} bytes is not a whole number of {ATIS_EVENT_BYTES}-byte events (truncated file?)"
        )


def read_atis_bin(data: bytes, where: str = "<bytes>") -> Events:
    """Decode the 5-byte ATIS events of N-MNIST and N-Caltech101 ``.bin`` files.

    Byte layout, big-endian: x (8 bits), y (8 bits), polarity (1 bit), timestamp (23 bits, us).
    An event with ``y == 240`` marks a timestamp overflow: it adds ``2**13`` us to its own and
    every later timestamp and is not itself an event. Identical to ``tonic.io.read_mnist_file``
    (tested on the fixtures), without its Python loop over overflow markers.

    Raises:
        InputError: naming ``where``, when the length is not a whole number of events.
    """
    _atis_length(len(data), where)
    return _atis_words(data, 0)[0]


def atis_bin_chunks(path: str, where: str, max_events: int) -> Iterator[Events]:
    """A ``.bin`` file's ATIS events (:func:`read_atis_bin`), read ``max_events`` words at a time;
    a file cut inside an event is an error (raised after the chunks before the cut)."""
    overflows = size = 0
    with open(path, "rb") as f:
        while data := f.read(ATIS_EVENT_BYTES * max_events):
            size += len(data)
            _atis_length(size, where)  # only the last piece can be short
            events, overflows = _atis_words(data, overflows)
            if len(events.t):  # not only overflow markers
                yield events


class NpyHeader(NamedTuple):
    """What a ``.npy`` file's header says: the array's shape, order and type, and where its data starts."""

    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype
    offset: int


def npy_header(f: BinaryIO, where: str) -> NpyHeader:
    """The header of the ``.npy`` file ``f``, checked against the file's size.

    Raises:
        InputError: naming ``where``, for a file that is not a ``.npy`` file, an array of
            Python objects (never unpickled), or data shorter than the header says.
    """
    try:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read(f)
    except (ValueError, OSError) as e:
        raise InputError(f"{where}: not a readable .npy file ({e})") from e
    if dtype.hasobject:
        raise InputError(f"{where}: not a readable .npy file (an array of Python objects, which is not unpickled)")
    offset = f.tell()
    size = f.seek(0, io.SEEK_END)
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if size - offset < need:
        raise InputError(f"{where}: its header says {list(shape)} {dtype} ({need} bytes), the file holds "
                         f"{size - offset} bytes of data (truncated?)")
    return NpyHeader(tuple(shape), bool(fortran_order), dtype, offset)


def _npy_rows(path: str, where: str, max_events: int, check: Callable[[NpyHeader], None]) -> Iterator[np.ndarray]:
    """The rows of a 1-D or 2-D ``.npy`` array whose header passes ``check``, ``max_events``
    rows at a time, read from their offsets in the file."""
    with open(path, "rb") as f:
        header = npy_header(f, where)
        check(header)
        n = header.shape[0]
        dtype = header.dtype
        width = int(np.prod(header.shape[1:], dtype=np.int64))
        for first in range(0, n, max_events):
            rows = min(max_events, n - first)
            if header.fortran_order and width > 1:  # column after column
                columns = []
                for j in range(width):
                    f.seek(header.offset + (j * n + first) * dtype.itemsize)
                    columns.append(np.frombuffer(f.read(rows * dtype.itemsize), dtype))
                yield np.stack(columns, axis=1)
            else:
                f.seek(header.offset + first * width * dtype.itemsize)
                yield np.frombuffer(f.read(rows * width * dtype.itemsize), dtype).reshape(rows, *header.shape[1:])


def npy_column_chunks(path: str, where: str, max_events: int, columns: str, time_scale: int) -> Iterator[Events]:
    """A ``.npy`` of shape ``[n, 4]`` whose columns are named by ``columns`` (e.g. ``"xypt"``).

    Times are multiplied by ``time_scale`` to give microseconds, after widening them to int64
    (float64 for floats) and, like tonic's conversion to an integer field, truncated. tonic
    scales in the file's own type, so the two differ only where that wraps or rounds there
    (int16 milliseconds past 32.767 s, float16 past 65.5 s, float32 near a whole microsecond).

    Raises:
        InputError: naming ``where``, for an unreadable file or a wrong shape.
    """

    def check(header: NpyHeader) -> None:
        if len(header.shape) != 2 or header.shape[1] != 4:
            raise InputError(f"{where}: expected an [n, 4] array of {columns} columns, got shape {header.shape}")
        if header.dtype.kind not in "fiu":
            raise InputError(f"{where}: expected numbers, got {header.dtype}")

    for rows in _npy_rows(path, where, max_events, check):
        column = {name: rows[:, i] for i, name in enumerate(columns)}
        t = column["t"].astype(np.float64 if rows.dtype.kind == "f" else np.int64) * time_scale  # widened: no wrap
        yield Events(*(np.asarray(v).astype(np.int64) for v in (t, column["x"], column["y"], column["p"])))


def npy_structured_chunks(path: str, where: str, max_events: int) -> Iterator[Events]:
    """A ``.npy`` structured array with integer fields ``t`` (microseconds), ``x``, ``y``, ``p``
    (any order, other fields ignored), as DVS-Lip stores its recordings.

    Raises:
        InputError: naming ``where``, for an unreadable file or missing fields.
    """

    def check(header: NpyHeader) -> None:
        names = header.dtype.names or ()
        if any(f not in names for f in "txyp") or len(header.shape) != 1:
            raise InputError(f"{where}: expected a 1-D structured array with fields t, x, y, p; got "
                             f"{header.dtype} of shape {header.shape}")

    for rows in _npy_rows(path, where, max_events, check):
        yield Events(*(rows[f].astype(np.int64) for f in "txyp"))


def aedat4_chunks(path: str, where: str, max_events: int) -> Iterator[Events]:
    """An AEDAT4 file, decoded with the ``aedat`` package a packet at a time, as
    ``tonic.io.read_aedat4`` does: the events of the event stream with the lowest id, ``t`` in
    the file's (absolute) microseconds, ``p`` 1 for ON.

    Raises:
        InputError: naming ``where``, for a file ``aedat`` cannot decode or one without an
            event stream.
    """
    import aedat

    try:
        decoder = aedat.Decoder(path)
        streams = [i for i, s in decoder.id_to_stream().items() if s["type"] == "events"]
        if not streams:
            raise InputError(f"{where}: an AEDAT4 file without an event stream")
        for packet in decoder:
            if packet["stream_id"] == min(streams) and "events" in packet:
                ev = packet["events"]
                yield from _pieces((ev[name] for name in ("t", "x", "y", "on")), max_events)
    except (OSError, RuntimeError) as e:  # aedat's errors name no file
        raise InputError(f"{where}: not a readable AEDAT4 file ({e})") from e


def prophesee_chunks(path: str, where: str, max_events: int) -> Iterator[Events]:
    """A Prophesee ``.dat`` or ``.raw`` (EVT 2.0 or EVT 3.0, told by its header) file, read in
    chunks with ``expelliarmus``, as tonic reads it (whole): ``t`` in the camera's microseconds.

    Raises:
        InputError: naming ``where``, for another encoding or a file expelliarmus cannot read.
    """
    import expelliarmus

    suffix = suffix_of(where)
    if suffix == ".dat":
        encoding = "dat"
    else:
        with open(path, "rb") as f:
            encoding = _evt_version(f.read(4096), where)
    with _named(path, suffix) as local:
        read = 0
        try:
            # A chunk may overrun chunk_size by up to 12 events (EVT 3.0 vectors): cut below.
            wizard = expelliarmus.Wizard(encoding=encoding, fpath=local, chunk_size=max(max_events, 13))
            for chunk in wizard.read_chunk():
                read += len(chunk)
                yield from _pieces((chunk[f] for f in "txyp"), max_events)
        except (OSError, RuntimeError, ValueError) as e:
            raise InputError(f"{where}: not a readable {encoding.upper()} file ({e})") from e
        # How expelliarmus ends on a file it cannot parse: its chunks stop unfinished, or there
        # are none (its whole-file read gives None there, also for a file of no events).
        if not read or not wizard.cargo.events_info.finished:
            raise InputError(f"{where}: not a readable {encoding.upper()} file")


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


def event_stream_chunks(path: str, where: str, max_events: int) -> Iterator[Events]:
    """An Event Stream (``.es``, DVS type) file, decoded with ``faery`` a chunk at a time.

    Raises:
        InputError: naming ``where``, for a file faery cannot read as DVS events.
    """
    import faery

    with _named(path, ".es") as local:
        try:
            for chunk in faery.events_stream_from_file(local):
                yield from _pieces((chunk[name] for name in ("t", "x", "y", "on")), max_events)
        except (OSError, RuntimeError, ValueError, TypeError) as e:
            raise InputError(f"{where}: not a readable Event Stream file of DVS events ({e})") from e


def csv_chunks(path: str, where: str, max_events: int) -> Iterator[Events]:
    """A ``.csv`` of events: a header row naming the columns ``t`` (microseconds), ``x``, ``y``
    and ``p`` or ``on``, in any order (``x@640``: faery's width note, ignored), then one integer
    row per event; read ``max_events`` rows at a time.

    Raises:
        InputError: naming ``where``, for a missing column or a value that is not an integer.
    """
    with open(path, "rb") as f:
        first = f.readline().decode("utf-8", errors="replace").strip()
        header = [name.strip().split("@")[0].lower() for name in first.split(",")] if first else []
        names = {"on" if name == "p" else name: i for i, name in enumerate(header)}
        missing = [name for name in ("t", "x", "y", "on") if name not in names]
        if missing:
            raise InputError(f"{where}: its header {first!r} names no {', '.join(missing)} column "
                             "(t, x, y and p or on)")
        line = 2
        while lines := [row.decode("utf-8", errors="replace") for row in itertools.islice(f, max_events)]:
            try:
                with warnings.catch_warnings():  # rows without values: no events, not a warning
                    warnings.simplefilter("ignore", UserWarning)
                    table = np.loadtxt(lines, delimiter=",", dtype=np.int64, ndmin=2)
            except ValueError as e:
                raise InputError(f"{where}: every row must hold {len(header)} integers (rows from line {line}: "
                                 f"{e})") from e
            line += len(lines)
            if not table.size:
                continue
            if table.shape[1] != len(header):
                raise InputError(f"{where}: rows of {table.shape[1]} values under a header of {len(header)}")
            yield Events(*(table[:, names[name]] for name in ("t", "x", "y", "on")))


def _no_events() -> Events:
    return Events(*(np.zeros(0, dtype=np.int64) for _ in range(4)))
