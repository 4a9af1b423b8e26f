"""Decoders for the per-recording event files of camera datasets, vectorised (no loop over events).

A decoder (:data:`Decoder`) reads one recording file in pieces and yields its events in file
order, in chunks of at most ``max_events`` events: a build holds a bounded part of a recording
however long it is. Each chunk is :class:`Events`: int64 arrays ``t`` (microseconds), ``x``,
``y``, ``p``; together they are the values tonic's dataset classes give for the same file.
Where a format's library reads only a whole file (``scipy.io.loadmat``), the decoder yields
pieces of what it read whole (:func:`whole_file`), and says so.

A file cut short is refused (:class:`~spyx_data.errors.InputError` naming it), never decoded
from the events before the cut: each decoder checks the file against its format's units (whole
5-byte ATIS events, 8-byte DAT events, 4-byte EVT 2.0 and 2-byte EVT 3.0 words, Event Stream
events, a ``.npy`` header's shape, AEDAT4's packets and file data table). Where the file's size
or layout tells, that is checked before the first chunk, reading a bounded part of the file at a
time; a ``.bin`` file's length is checked as it is read (the error then comes after the chunks
before the cut, and the build fails all the same).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import os
import re
import shutil
import struct
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
#: Bytes of a DAT event, an EVT 2.0 word and an EVT 3.0 word, after a Prophesee file's header.
PROPHESEE_UNITS = {"dat": (8, "a DAT event"), "evt2": (4, "an EVT 2.0 word"), "evt3": (2, "an EVT 3.0 word")}


class Events(NamedTuple):
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    p: np.ndarray


def truncated(where: str, what: str) -> InputError:
    """The error for a file cut short: ``what`` says where it ends."""
    return InputError(f"{where}: {what} (truncated file?); copy it again, or move it out")


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


class H5File:
    """An HDF5 file opened for reading with h5py (imported here, when a file is opened): a local
    path, or a file on any Beam filesystem read through its file object.

    Attributes:
        h5: the ``h5py.File``.

    Raises:
        InputError: the file cannot be opened as HDF5, naming it, then ``remedy`` where given.
    """

    def __init__(self, path: str, remedy: str = ""):
        import h5py

        self._raw = paths.open_read(path) if paths.is_remote(path) else None
        try:
            self.h5 = h5py.File(self._raw or path, "r")
        except OSError as e:
            if self._raw is not None:
                self._raw.close()
            raise InputError(f"{path}: cannot open as HDF5 ({e}){'; ' + remedy if remedy else ''}") from e

    def close(self) -> None:
        self.h5.close()
        if self._raw is not None:
            self._raw.close()

    def __enter__(self) -> H5File:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
        raise truncated(where, f"{size} bytes is not a whole number of {ATIS_EVENT_BYTES}-byte events")


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


def npy_array_header(f: BinaryIO, where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` as the header of the ``.npy`` file ``f`` states them
    (any format version), ``f`` left where the data starts; nothing after the header is read.

    Raises:
        InputError: naming ``where``, for a file that is not a ``.npy`` file, or an array of
            Python objects (never unpickled).
    """
    try:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read(f)
    except (ValueError, OSError) as e:
        raise InputError(f"{where}: not a readable .npy file ({e})") from e
    if dtype.hasobject:
        raise InputError(f"{where}: a .npy of Python objects ({dtype}), not of numbers")
    return tuple(shape), bool(fortran_order), dtype


def npy_header(f: BinaryIO, where: str) -> NpyHeader:
    """The header of the ``.npy`` file ``f`` (:func:`npy_array_header`), checked against the
    file's size before anything is allocated: a header claiming a huge shape is refused, not a
    ``MemoryError``.

    Raises:
        InputError: naming ``where``, for a file that is not a ``.npy`` file, an array of
            Python objects (never unpickled), or data shorter or longer than its header says.
    """
    shape, fortran_order, dtype = npy_array_header(f, where)
    offset = f.tell()
    held = f.seek(0, io.SEEK_END) - offset
    expected = math.prod(shape) * dtype.itemsize
    if held != expected:
        raise truncated(where, f"its header says shape {shape} of {dtype} ({expected} bytes), but {held} bytes "
                               "follow it")
    return NpyHeader(shape, fortran_order, dtype, offset)


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
    (float64 for floats) and, like tonic's conversion to an integer field, truncated: float
    times (DVSGesture's milliseconds) may have a fraction. tonic scales in the file's own type,
    so the two differ only where that wraps or rounds there (int16 milliseconds past 32.767 s,
    float16 past 65.5 s, float32 near a whole microsecond). In a float array, ``x``, ``y`` and
    ``p`` must be whole numbers (tonic would truncate 3.7 to 3) and times finite.

    Raises:
        InputError: naming ``where``, for an unreadable file, a wrong shape or dtype, an ``x``,
            ``y`` or ``p`` that is not a whole number, or a time that is not finite (after the
            chunks before its row).
    """

    def check(header: NpyHeader) -> None:
        if len(header.shape) != 2 or header.shape[1] != 4:
            raise InputError(f"{where}: expected an [n, 4] array of {columns} columns, got shape {header.shape}")
        if header.dtype.kind not in "fiu":
            raise InputError(f"{where}: expected numbers, got {header.dtype}")

    first = 0
    for rows in _npy_rows(path, where, max_events, check):
        column = {name: rows[:, i] for i, name in enumerate(columns)}
        if rows.dtype.kind == "f":
            _check_float_columns(column, first, where)
        first += len(rows)
        t = column["t"].astype(np.float64 if rows.dtype.kind == "f" else np.int64) * time_scale  # widened: no wrap
        yield Events(*(np.asarray(v).astype(np.int64) for v in (t, column["x"], column["y"], column["p"])))


def _check_float_columns(column: dict[str, np.ndarray], first: int, where: str) -> None:
    """Raise unless the float columns ``t`` (finite) and ``x``, ``y``, ``p`` (whole numbers) of
    rows ``first...`` hold what they must."""
    for name in "txyp":
        values = column[name].astype(np.float64)
        bad = ~np.isfinite(values) if name == "t" else ~(np.isfinite(values) & (values == np.round(values)))
        if bad.any():
            row = int(np.argmax(bad))
            what = "not a finite time" if name == "t" else "not a whole number (x, y and p must be)"
            raise InputError(f"{where}: column {name} holds {values[row]} in row {first + row}, {what}")


def npy_structured_chunks(path: str, where: str, max_events: int) -> Iterator[Events]:
    """A ``.npy`` 1-D structured array with integer (or boolean) fields ``t`` (microseconds),
    ``x``, ``y``, ``p``, in any order (other fields ignored), as DVS-Lip stores its recordings.
    A float field is refused, never floored (a float ``t`` in seconds would put every event in
    its first microsecond).

    Raises:
        InputError: naming ``where``, for an unreadable file, missing fields or a field that is
            not integers (from the header, before any event is read).
    """

    def check(header: NpyHeader) -> None:
        names = header.dtype.names or ()
        if any(f not in names for f in "txyp") or len(header.shape) != 1:
            raise InputError(f"{where}: expected a 1-D structured array with fields t, x, y, p; got "
                             f"{header.dtype} of shape {header.shape}")
        for f in "txyp":
            if header.dtype[f].kind not in "iub":
                raise InputError(
                    f"{where}: field {f} is {header.dtype[f]}, not integers; a structured .npy holds integer t "
                    "(microseconds), x, y and p: save t as np.round(seconds * 1e6).astype(np.int64), and x, y, p as "
                    "integers"
                )

    for rows in _npy_rows(path, where, max_events, check):
        yield Events(*(rows[f].astype(np.int64) for f in "txyp"))


def aedat4_chunks(path: str, where: str, max_events: int) -> Iterator[Events]:
    """An AEDAT4 file, decoded with the ``aedat`` package a packet at a time, as
    ``tonic.io.read_aedat4`` does: the events of the event stream with the lowest id, ``t`` in
    the file's (absolute) microseconds, ``p`` 1 for ON. The file is checked whole first
    (:func:`check_aedat4_whole`).

    Raises:
        InputError: naming ``where``, for a file cut short, a file ``aedat`` cannot decode or
            one without an event stream.
    """
    import aedat

    with open(path, "rb") as f:
        check_aedat4_whole(f, where)
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


class _FileBytes:
    """A file's bytes, read where they are indexed (``len``, ``[i]``, ``[a:b]``), not held: for
    walking a format's layout through a file of any size."""

    def __init__(self, f: BinaryIO):
        self._f = f
        self._size = f.seek(0, io.SEEK_END)

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, key: int | slice) -> int | bytes:
        if isinstance(key, slice):
            start, stop, _ = key.indices(self._size)
            self._f.seek(start)
            return self._f.read(max(0, stop - start))
        if not 0 <= key < self._size:
            raise IndexError(key)
        self._f.seek(key)
        return self._f.read(1)[0]


def _unpack(form: str, data: bytes | _FileBytes, at: int) -> int:
    """The one value of struct format ``form`` at ``at``.

    Raises:
        struct.error: ``data`` ends before it.
    """
    return struct.unpack(form, data[at : at + struct.calcsize(form)])[0]


AEDAT4_MAGIC = b"#!AER-DAT4.0\r\n"
#: The IOHeader's ``compression`` values of LZ4 frames (LZ4, LZ4_HIGH) and of Zstandard
#: frames (ZSTD, ZSTD_HIGH); 0 is none.
AEDAT4_LZ4, AEDAT4_ZSTD = (1, 2), (3, 4)


def check_aedat4_whole(f: BinaryIO, where: str) -> None:
    """Refuse an AEDAT4 file ``f`` cut short, by the format's own end-of-file information.

    An AEDAT4 file is its magic line, a size-prefixed IOHeader (``compression``,
    ``dataTablePosition``), packets (stream id, size, then that many bytes) and, where the
    header gives a data table position (DV and faery write one), the file data table from
    there to the end of the file (a size-prefixed flatbuffer, compressed as the packets are).
    Checked: the packets end exactly where the table starts (or, without a table, at the end
    of the file), and the table's compressed frame ends exactly at the end of the file (an LZ4
    or Zstandard frame walked by its block headers, not decompressed; uncompressed, its size
    prefix). The walk reads the headers only (a few bytes per packet), not the file. A file
    without a data table cut exactly between two packets cannot be told from a shorter
    recording. A file without the AEDAT4 magic is left to ``aedat`` to name.

    Raises:
        InputError: naming ``where``, for a file cut short or a damaged layout.
    """
    data = _FileBytes(f)
    if data[: len(AEDAT4_MAGIC)] != AEDAT4_MAGIC:
        return
    try:
        compression, table, position = _aedat4_header(data)
    except struct.error:
        raise truncated(where, "it ends inside its AEDAT4 header") from None
    end = table if table >= 0 else len(data)
    if end > len(data):
        raise truncated(where, f"it ends at byte {len(data)}, before its file data table at byte {table}: packets "
                               "are missing")
    while position + 8 <= end:
        position += 8 + int.from_bytes(data[position + 4 : position + 8], "little")
    if position != end:
        raise truncated(where, "it ends part-way through a packet" if table < 0 else
                        f"its packets do not end where its file data table starts (byte {table})")
    if table >= 0 and _frame_end(data, table, compression) != len(data):
        raise truncated(where, f"its file data table (from byte {table}) is cut short")


def _aedat4_header(data: _FileBytes) -> tuple[int, int, int]:
    """``(compression, data table position (-1: none), end of the header)`` of an AEDAT4 file,
    from fields 0 and 1 of its IOHeader flatbuffer (read after the magic and its size prefix).

    Raises:
        struct.error: the header runs past the end of ``data``.
    """
    start = len(AEDAT4_MAGIC) + 4
    end = start + _unpack("<I", data, len(AEDAT4_MAGIC))
    if end > len(data):
        raise struct.error("the header runs past the end of the file")
    header = data[start:end]
    table = _unpack("<I", header, 0)
    vtable = table - _unpack("<i", header, table)
    vtable_bytes = _unpack("<H", header, vtable)

    def field(index: int, form: str, default: int) -> int:
        slot = 4 + 2 * index
        offset = _unpack("<H", header, vtable + slot) if slot < vtable_bytes else 0
        return _unpack(form, header, table + offset) if offset else default

    return field(0, "<i", 0), field(1, "<q", -1), end


def _frame_end(data: _FileBytes, start: int, compression: int) -> int:
    """Where the compressed frame (uncompressed: the size-prefixed flatbuffer) starting at
    ``start`` ends, walked by its block headers; past ``len(data)`` for one cut short."""
    try:
        if compression in AEDAT4_LZ4:
            return _lz4_frame_end(data, start)
        if compression in AEDAT4_ZSTD:
            return _zstd_frame_end(data, start)
        return start + 4 + _unpack("<I", data, start)
    except (struct.error, IndexError):  # cut inside a header
        return len(data) + 1


def _lz4_frame_end(data: _FileBytes, at: int) -> int:
    """The end of the LZ4 frame at ``at``: magic, FLG, BD, the optional content size and
    dictionary id, the header checksum, blocks up to a zero size, the optional content checksum."""
    if _unpack("<I", data, at) != 0x184D2204:
        return len(data) + 1
    flags = data[at + 4]
    at += 7 + (8 if flags & 0x08 else 0) + (4 if flags & 0x01 else 0)
    while size := _unpack("<I", data, at):
        at += 4 + (size & 0x7FFFFFFF) + (4 if flags & 0x10 else 0)
    return at + 4 + (4 if flags & 0x04 else 0)


def _zstd_frame_end(data: _FileBytes, at: int) -> int:
    """The end of the Zstandard frame at ``at``: magic, frame header, blocks up to the last one,
    the optional checksum."""
    if _unpack("<I", data, at) != 0xFD2FB528:
        return len(data) + 1
    descriptor = data[at + 4]
    single_segment = bool(descriptor & 0x20)
    content_size_bytes = (1 if single_segment else 0, 2, 4, 8)[descriptor >> 6]
    at += 5 + (0 if single_segment else 1) + (0, 1, 2, 4)[descriptor & 0x03] + content_size_bytes
    last = False
    while not last:
        if at + 3 > len(data):
            return len(data) + 1
        header = int.from_bytes(data[at : at + 3], "little")
        kind = (header >> 1) & 3  # raw, RLE (one byte, repeated), compressed, reserved
        if kind == 3:
            return len(data) + 1
        last = bool(header & 1)
        at += 3 + (1 if kind == 1 else header >> 3)
    return at + (4 if descriptor & 0x04 else 0)


def prophesee_chunks(path: str, where: str, max_events: int) -> Iterator[Events]:
    """A Prophesee ``.dat`` or ``.raw`` (EVT 2.0 or EVT 3.0, told by its header) file, read in
    chunks with ``expelliarmus``, as tonic reads it (whole): ``t`` in the camera's microseconds.
    Its layout is checked first (:func:`prophesee_encoding`).

    Raises:
        InputError: naming ``where``, for another encoding or event size, a file that ends
            part-way through its header, an event or a word, or one expelliarmus cannot read.
    """
    import expelliarmus

    suffix = suffix_of(where)
    encoding = prophesee_encoding(path, where)
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


def prophesee_encoding(path: str, where: str) -> str:
    """``"dat"``, ``"evt2"`` or ``"evt3"``: the encoding of the Prophesee file at ``path`` (its
    suffix, in ``where``, and for ``.raw`` its header), its layout checked without reading it.

    What follows the ``%`` header lines (and a DAT file's event type and size bytes) must be a
    whole number of 8-byte DAT events, 4-byte EVT 2.0 words or 2-byte EVT 3.0 words. An EVT 3.0
    event spans several words, but any run of whole words is a valid stream: a file cut
    between two words cannot be told from one that ends there.

    Raises:
        InputError: naming ``where``, for another encoding or event size, or a file that ends
            part-way through its header, an event or a word.
    """
    with open(path, "rb") as f:
        lines = _prophesee_header(f, where)
        start = f.tell()
        if suffix_of(where) == ".dat":
            encoding = "dat"
            type_and_size = f.read(2)
            if len(type_and_size) < 2:
                raise truncated(where, "it ends before the event type and size bytes that follow its header")
            if type_and_size[1] != PROPHESEE_UNITS["dat"][0]:
                raise InputError(f"{where}: DAT events of {type_and_size[1]} bytes are not read (8-byte events are)")
            start += 2
        else:
            encoding = _evt_version(lines, where)
        payload = f.seek(0, io.SEEK_END) - start
    unit, name = PROPHESEE_UNITS[encoding]
    if payload % unit:
        raise truncated(where, f"it ends part-way through {name}: {payload % unit} of its {unit} bytes")
    return encoding


def _prophesee_header(f: BinaryIO, where: str) -> list[bytes]:
    """The header lines of the Prophesee file ``f`` (without their ``%`` and newline), read up to
    where its data starts: after every line that starts with ``%``, as expelliarmus reads it.

    Raises:
        InputError: the file ends inside a header line (expelliarmus would never return).
    """
    lines: list[bytes] = []
    while True:
        start = f.tell()
        if f.read(1) != b"%":
            f.seek(start)
            return lines
        line = f.readline()
        if not line.endswith(b"\n"):
            raise truncated(where, "it ends inside its header")
        lines.append(line[:-1])


def _evt_version(lines: list[bytes], where: str) -> str:
    """``"evt2"`` or ``"evt3"`` from a ``.raw`` file's header lines (``% evt 3.0`` or
    ``% format EVT3;...``)."""
    for line in lines:
        words = line.replace(b";", b" ").split()
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


#: Event Stream 2.x (the version faery reads): the header's bytes, and per stream type (its
#: byte 15) a run of whole events: one-byte overflows and resets, then a byte 0 (whose time
#: bits are not all ones) and four bytes, repeated, then overflows and resets.
EVENT_STREAM_HEADER_BYTES = 20
EVENT_STREAM_EVENTS = {
    1: re.compile(rb"(?:[\xfe\xff]*+[\x00-\xfd].{4})*+[\xfe\xff]*+", re.DOTALL),  # DVS
    2: re.compile(rb"(?:[\xfc-\xff]*+[\x00-\xfb].{4})*+[\xfc-\xff]*+", re.DOTALL),  # ATIS
}
#: Bytes of an Event Stream file checked at a time.
EVENT_STREAM_PIECE_BYTES = 1 << 20


def check_event_stream_whole(f: BinaryIO, where: str) -> None:
    """Refuse an Event Stream file ``f`` whose bytes after the header are not whole events: the
    format's byte-level state machine (a regular expression: about 50 ms per million events) is
    run over the file a piece at a time, carrying the bytes of an event a piece cuts.

    Raises:
        InputError: naming ``where``, for a file that is not an Event Stream of DVS (or ATIS)
            events, or one that ends part-way through an event.
    """
    header = f.read(EVENT_STREAM_HEADER_BYTES)
    events = EVENT_STREAM_EVENTS.get(header[15]) if len(header) == EVENT_STREAM_HEADER_BYTES else None
    if events is None:  # faery reads DVS and ATIS streams only
        raise InputError(f"{where}: not an Event Stream file of DVS events")
    rest = b""  # the start of an event the last piece cut: at most 4 bytes
    while piece := f.read(EVENT_STREAM_PIECE_BYTES):
        data = rest + piece
        rest = data[events.match(data).end() :]
    if rest:
        raise truncated(where, f"it ends part-way through an event: {len(rest)} of its 5 bytes")


def event_stream_chunks(path: str, where: str, max_events: int) -> Iterator[Events]:
    """An Event Stream (``.es``, DVS type) file, checked whole first
    (:func:`check_event_stream_whole`), then decoded with ``faery`` a chunk at a time.

    Raises:
        InputError: naming ``where``, for a file faery cannot read as DVS events, or one that
            ends part-way through an event.
    """
    import faery

    with open(path, "rb") as f:
        check_event_stream_whole(f, where)
    with _named(path, ".es") as local:
        try:
            for chunk in faery.events_stream_from_file(local):
                yield from _pieces((chunk[name] for name in ("t", "x", "y", "on")), max_events)
        except (OSError, RuntimeError, ValueError, TypeError) as e:
            raise InputError(f"{where}: not a readable Event Stream file of DVS events ({e})") from e


def csv_chunks(path: str, where: str, max_events: int) -> Iterator[Events]:
    """A ``.csv`` of events: a header row naming the columns ``t`` (microseconds), ``x``, ``y``
    and ``p`` or ``on``, in any order (``x@640``: faery's width note, ignored), then one integer
    row per event; read ``max_events`` rows at a time. A UTF-8 byte-order mark before the header
    is read past.

    Raises:
        InputError: naming ``where``, for a missing column, one named twice (``p`` and ``on``
            name the same one), or a value that is not an integer.
    """
    named = ("t", "x", "y", "on")
    with open(path, "rb") as f:
        first = f.readline().decode("utf-8", errors="replace").removeprefix("\ufeff").strip()
        header = [name.strip().split("@")[0].lower() for name in first.split(",")] if first else []
        header = ["on" if name == "p" else name for name in header]
        twice = next((name for name in named if header.count(name) > 1), None)
        if twice:
            raise InputError(f"{where}: its header {first!r} names the "
                             f"{'polarity (p or on)' if twice == 'on' else twice} column twice; keep one")
        missing = [name for name in named if name not in header]
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
            yield Events(*(table[:, header.index(name)] for name in named))


def _no_events() -> Events:
    return Events(*(np.zeros(0, dtype=np.int64) for _ in range(4)))
