"""Decoders for the per-recording event files of camera datasets, vectorised (no loop over events).

Each returns :class:`Events`: int64 arrays ``t`` (microseconds), ``x``, ``y``, ``p``, with the
same values tonic's dataset classes give for the same file.

A file cut short is refused (:class:`~spyx_data.errors.InputError` naming it), never decoded
from the events before the cut: each decoder first checks the file against its format's units
(whole 5-byte ATIS events, 8-byte DAT events, 4-byte EVT 2.0 and 2-byte EVT 3.0 words, Event
Stream events, a ``.npy`` header's shape, AEDAT4's packets and file data table).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import struct
import tempfile
import warnings
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

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
        raise truncated(where, f"{len(data)} bytes is not a whole number of {ATIS_EVENT_BYTES}-byte events")
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


def load_npy(data: bytes, where: str = "<bytes>") -> np.ndarray:
    """The array of a ``.npy`` file's bytes. Its header's shape and dtype are checked against the
    bytes that follow it before anything is allocated, so a header claiming a huge shape is
    refused, not a ``MemoryError``.

    Raises:
        InputError: naming ``where``, for a file that is not a ``.npy``, holds Python objects,
            or whose data is shorter or longer than its header says.
    """
    buffer = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buffer)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(buffer)
    except ValueError as e:
        raise InputError(f"{where}: not a readable .npy file ({e})") from e
    if dtype.hasobject:
        raise InputError(f"{where}: a .npy of Python objects ({dtype}), not of numbers")
    expected = math.prod(shape) * dtype.itemsize
    held = len(data) - buffer.tell()
    if held != expected:
        raise truncated(where, f"its header says shape {shape} of {dtype} ({expected} bytes), but {held} bytes "
                               "follow it")
    buffer.seek(0)
    return np.load(buffer, allow_pickle=False)


def read_npy_columns(data: bytes, columns: str, time_scale: int, where: str = "<bytes>") -> Events:
    """Decode a ``.npy`` of shape ``[n, 4]`` whose columns are named by ``columns`` (e.g.
    ``"xypt"``): :func:`column_events` of :func:`load_npy`."""
    return column_events(load_npy(data, where), columns, time_scale, where)


def column_events(array: np.ndarray, columns: str, time_scale: int, where: str = "<bytes>") -> Events:
    """The events of an array of shape ``[n, 4]`` whose columns are named by ``columns``.

    Times are multiplied by ``time_scale`` to give microseconds, after widening them to int64
    (float64 for floats) and, like tonic's conversion to an integer field, truncated: float
    times (DVSGesture's milliseconds) may have a fraction. tonic scales in the file's own type,
    so the two differ only where that wraps or rounds there (int16 milliseconds past 32.767 s,
    float16 past 65.5 s, float32 near a whole microsecond). In a float array, ``x``, ``y`` and
    ``p`` must be whole numbers (tonic would truncate 3.7 to 3) and times finite.

    Raises:
        InputError: naming ``where``, for a wrong shape or dtype, an ``x``, ``y`` or ``p``
            that is not a whole number, or a time that is not finite.
    """
    if array.ndim != 2 or array.shape[1] != 4:
        raise InputError(f"{where}: expected an [n, 4] array of {columns} columns, got shape {array.shape}")
    if array.dtype.kind not in "fiu":
        raise InputError(f"{where}: expected numbers, got {array.dtype}")
    column = {name: array[:, i] for i, name in enumerate(columns)}
    if array.dtype.kind == "f":
        for name in "txyp":
            values = column[name].astype(np.float64)
            bad = ~np.isfinite(values) if name == "t" else ~(np.isfinite(values) & (values == np.round(values)))
            if bad.any():
                row = int(np.argmax(bad))
                what = "not a finite time" if name == "t" else "not a whole number (x, y and p must be)"
                raise InputError(f"{where}: column {name} holds {values[row]} in row {row}, {what}")
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
    ``p`` 1 for ON. The file is checked whole first (:func:`check_aedat4_whole`).

    Raises:
        InputError: naming ``where``, for a file cut short, a file ``aedat`` cannot decode or
            one without an event stream.
    """
    import aedat

    check_aedat4_whole(data, where)
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


AEDAT4_MAGIC = b"#!AER-DAT4.0\r\n"
#: The IOHeader's ``compression`` values of LZ4 frames (LZ4, LZ4_HIGH) and of Zstandard
#: frames (ZSTD, ZSTD_HIGH); 0 is none.
AEDAT4_LZ4, AEDAT4_ZSTD = (1, 2), (3, 4)


def check_aedat4_whole(data: bytes, where: str) -> None:
    """Refuse an AEDAT4 file cut short, by the format's own end-of-file information.

    An AEDAT4 file is its magic line, a size-prefixed IOHeader (``compression``,
    ``dataTablePosition``), packets (stream id, size, then that many bytes) and, where the
    header gives a data table position (DV and faery write one), the file data table from
    there to the end of the file (a size-prefixed flatbuffer, compressed as the packets are).
    Checked: the packets end exactly where the table starts (or, without a table, at the end
    of the file), and the table's compressed frame ends exactly at the end of the file (an LZ4
    or Zstandard frame walked by its block headers, not decompressed; uncompressed, its size
    prefix). A file without a data table cut exactly between two packets cannot be told from a
    shorter recording. A file without the AEDAT4 magic is left to ``aedat`` to name.

    Raises:
        InputError: naming ``where``, for a file cut short or a damaged layout.
    """
    if not data.startswith(AEDAT4_MAGIC):
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


def _aedat4_header(data: bytes) -> tuple[int, int, int]:
    """``(compression, data table position (-1: none), end of the header)`` of an AEDAT4 file,
    from fields 0 and 1 of its IOHeader flatbuffer (read after the magic and its size prefix).

    Raises:
        struct.error: the header runs past the end of ``data``.
    """
    start = len(AEDAT4_MAGIC) + 4
    end = start + struct.unpack_from("<I", data, len(AEDAT4_MAGIC))[0]
    if end > len(data):
        raise struct.error("the header runs past the end of the file")
    header = data[start:end]
    table = struct.unpack_from("<I", header, 0)[0]
    vtable = table - struct.unpack_from("<i", header, table)[0]
    vtable_bytes = struct.unpack_from("<H", header, vtable)[0]

    def field(index: int, form: str, default: int) -> int:
        slot = 4 + 2 * index
        offset = struct.unpack_from("<H", header, vtable + slot)[0] if slot < vtable_bytes else 0
        return struct.unpack_from(form, header, table + offset)[0] if offset else default

    return field(0, "<i", 0), field(1, "<q", -1), end


def _frame_end(data: bytes, start: int, compression: int) -> int:
    """Where the compressed frame (uncompressed: the size-prefixed flatbuffer) starting at
    ``start`` ends, walked by its block headers; past ``len(data)`` for one cut short."""
    try:
        if compression in AEDAT4_LZ4:
            return _lz4_frame_end(data, start)
        if compression in AEDAT4_ZSTD:
            return _zstd_frame_end(data, start)
        return start + 4 + struct.unpack_from("<I", data, start)[0]
    except (struct.error, IndexError):  # cut inside a header
        return len(data) + 1


def _lz4_frame_end(data: bytes, at: int) -> int:
    """The end of the LZ4 frame at ``at``: magic, FLG, BD, the optional content size and
    dictionary id, the header checksum, blocks up to a zero size, the optional content checksum."""
    if struct.unpack_from("<I", data, at)[0] != 0x184D2204:
        return len(data) + 1
    flags = data[at + 4]
    at += 7 + (8 if flags & 0x08 else 0) + (4 if flags & 0x01 else 0)
    while size := struct.unpack_from("<I", data, at)[0]:
        at += 4 + (size & 0x7FFFFFFF) + (4 if flags & 0x10 else 0)
    return at + 4 + (4 if flags & 0x04 else 0)


def _zstd_frame_end(data: bytes, at: int) -> int:
    """The end of the Zstandard frame at ``at``: magic, frame header, blocks up to the last one,
    the optional checksum."""
    if struct.unpack_from("<I", data, at)[0] != 0xFD2FB528:
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


def read_structured_npy(data: bytes, where: str = "<bytes>") -> Events:
    """Decode a ``.npy`` structured array with integer fields ``t`` (microseconds), ``x``, ``y``,
    ``p``, as DVS-Lip stores its recordings: :func:`structured_events` of :func:`load_npy`."""
    return structured_events(load_npy(data, where), where)


def structured_events(array: np.ndarray, where: str = "<bytes>") -> Events:
    """The events of a 1-D structured array with integer (or boolean) fields ``t``
    (microseconds), ``x``, ``y``, ``p``, in any order; other fields are ignored. A float field
    is refused, never floored (a float ``t`` in seconds would put every event in its first
    microsecond).

    Raises:
        InputError: naming ``where``, for missing fields or a field that is not integers.
    """
    missing = [f for f in "txyp" if array.dtype.names is None or f not in array.dtype.names]
    if missing or array.ndim != 1:
        raise InputError(f"{where}: expected a 1-D structured array with fields t, x, y, p; got "
                         f"{array.dtype} of shape {array.shape}")
    for f in "txyp":
        if array.dtype[f].kind not in "iub":
            raise InputError(
                f"{where}: field {f} is {array.dtype[f]}, not integers; a structured .npy holds integer t "
                "(microseconds), x, y and p: save t as np.round(seconds * 1e6).astype(np.int64), and x, y, p as "
                "integers"
            )
    return Events(*(array[f].astype(np.int64) for f in "txyp"))


def read_prophesee(data: bytes, where: str = "<bytes>") -> Events:
    """Decode a Prophesee ``.dat`` or ``.raw`` (EVT 2.0 or EVT 3.0, told by its header) file
    with ``expelliarmus``, as tonic does: ``t`` in the camera's microseconds.

    What follows the ``%`` header lines (and a DAT file's event type and size bytes) must be a
    whole number of 8-byte DAT events, 4-byte EVT 2.0 words or 2-byte EVT 3.0 words. An EVT 3.0
    event spans several words, but any run of whole words is a valid stream: a file cut
    between two words cannot be told from one that ends there.

    Raises:
        InputError: naming ``where``, for another encoding or event size, a file that ends
            part-way through its header, an event or a word, or one expelliarmus cannot read.
    """
    import expelliarmus

    suffix = os.path.splitext(where)[1].lower()
    lines, start = _prophesee_header(data, where)
    if suffix == ".dat":
        encoding = "dat"
        if len(data) < start + 2:
            raise truncated(where, "it ends before the event type and size bytes that follow its header")
        if data[start + 1] != PROPHESEE_UNITS["dat"][0]:
            raise InputError(f"{where}: DAT events of {data[start + 1]} bytes are not read (8-byte events are)")
        start += 2
    else:
        encoding = _evt_version(lines, where)
    unit, name = PROPHESEE_UNITS[encoding]
    if (len(data) - start) % unit:
        raise truncated(where, f"it ends part-way through {name}: {(len(data) - start) % unit} of its {unit} bytes")
    with on_disk(data, suffix) as path:
        try:
            array = expelliarmus.Wizard(encoding=encoding).read(path)
        except (OSError, RuntimeError, ValueError) as e:
            raise InputError(f"{where}: not a readable {encoding.upper()} file ({e})") from e
    if array is None:  # what expelliarmus returns for a file it cannot parse
        raise InputError(f"{where}: not a readable {encoding.upper()} file")
    return Events(*(array[f].astype(np.int64) for f in "txyp"))


def _prophesee_header(data: bytes, where: str) -> tuple[list[bytes], int]:
    """The header lines of a Prophesee file (without their ``%`` and newline) and where its data
    starts: after every line that starts with ``%``, as expelliarmus reads it.

    Raises:
        InputError: the file ends inside a header line (expelliarmus would never return).
    """
    lines: list[bytes] = []
    start = 0
    while data[start : start + 1] == b"%":
        end = data.find(b"\n", start)
        if end < 0:
            raise truncated(where, "it ends inside its header")
        lines.append(data[start + 1 : end])
        start = end + 1
    return lines, start


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


def read_event_stream(data: bytes, where: str = "<bytes>") -> Events:
    """Decode an Event Stream (``.es``, DVS type) file with ``faery``.

    The bytes after the header must be whole events: the format's byte-level state machine is
    run over the file (a regular expression: about 50 ms per million events, a third of the
    time decoding them takes).

    Raises:
        InputError: naming ``where``, for a file faery cannot read as DVS events, or one that
            ends part-way through an event.
    """
    import faery

    with on_disk(data, ".es") as path:
        try:
            chunks = [chunk for chunk in faery.events_stream_from_file(path) if len(chunk)]
        except (OSError, RuntimeError, ValueError, TypeError) as e:
            raise InputError(f"{where}: not a readable Event Stream file of DVS events ({e})") from e
    events = EVENT_STREAM_EVENTS.get(data[15]) if len(data) >= EVENT_STREAM_HEADER_BYTES else None
    if events is None:  # faery reads DVS and ATIS streams only
        raise InputError(f"{where}: not an Event Stream file of DVS events")
    end = events.match(data, EVENT_STREAM_HEADER_BYTES).end()
    if end != len(data):
        raise truncated(where, f"it ends part-way through an event: {len(data) - end} of its 5 bytes")
    if not chunks:
        return _no_events()
    ev = np.concatenate(chunks)
    return Events(*(ev[name].astype(np.int64) for name in ("t", "x", "y", "on")))


def read_csv(data: bytes, where: str = "<bytes>") -> Events:
    """Decode a ``.csv`` of events: a header row naming the columns ``t`` (microseconds), ``x``,
    ``y`` and ``p`` or ``on``, in any order (``x@640``: faery's width note, ignored), then one
    integer row per event. A UTF-8 byte-order mark before the header is read past.

    Raises:
        InputError: naming ``where``, for a missing column, one named twice (``p`` and ``on``
            name the same one), or a value that is not an integer.
    """
    first = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").removeprefix("\ufeff").strip()
    header = [name.strip().split("@")[0].lower() for name in first.split(",")] if first else []
    header = ["on" if name == "p" else name for name in header]
    named = ("t", "x", "y", "on")
    twice = next((name for name in named if header.count(name) > 1), None)
    if twice:
        raise InputError(f"{where}: its header {first!r} names the {'polarity (p or on)' if twice == 'on' else twice} "
                         "column twice; keep one")
    missing = [name for name in named if name not in header]
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
    return Events(*(table[:, header.index(name)] for name in named))


def _no_events() -> Events:
    return Events(*(np.zeros(0, dtype=np.int64) for _ in range(4)))
