"""Direct reads of the shard files this project writes, from their Riegeli byte layout.

An ArrayRecord file is a Riegeli/records file (the format is specified in riegeli's
``doc/riegeli_records_file_format.md``): a sequence of chunks, interrupted every 64 KiB by a
24-byte block header. The shards are written with ``group_size:1,uncompressed``, so after the
40-byte file signature chunk, record ``k`` is alone in one simple chunk of a fixed size::

    chunk header   40 bytes  header_hash, data_size, data_hash, chunk_type 'r',
                             num_records 1, decoded_data_size = record size
    chunk data               compression 0, varint size of the sizes, varint record size,
                             the record

With the block headers taken out, these chunks lie back to back, so a range of records is a
``[n, chunk_bytes]`` array, read a few MiB at a time by ``preadv`` calls that put the block
headers aside.
Every chunk header's fields (not its hashes) are checked; a file that does not have exactly
this layout is refused with :class:`LayoutMismatch`, and the caller reads it with
ArrayRecord's reader instead, which checks the hashes and reports corruption.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from spyx_data.format import plan

BLOCK_BYTES = 1 << 16
BLOCK_HEADER_BYTES = 24
USABLE_BLOCK_BYTES = BLOCK_BYTES - BLOCK_HEADER_BYTES
CHUNK_HEADER_BYTES = 40
#: The first 64 bytes of every Riegeli/records file: a block header and the signature chunk.
FILE_SIGNATURE = bytes.fromhex(
    "83af70d10d884a3f0000000000000000400000000000000091bac23c9287e1a9"
    "0000000000000000e19f13c0e9b1c37273000000000000000000000000000000"
)
#: Writer options whose files this module reads.
WRITER_OPTIONS = plan.writer_options("uncompressed")
#: Bytes read at a time (one ``preadv``; Linux takes at most 1024 buffers, two per block).
PIECE_BYTES = 4 << 20


class LayoutMismatch(ValueError):
    """A file is not laid out as one uncompressed record per chunk."""


def varint(value: int) -> bytes:
    """``value`` as a protobuf varint (7 bits per byte, least significant first)."""
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def chunk_prefix(record_bytes: int) -> bytes:
    """The bytes before a record of ``record_bytes`` in its chunk, with both hashes zeroed."""
    size = varint(record_bytes)
    data = bytes([0]) + varint(len(size)) + size
    header = (
        bytes(8)
        + (len(data) + record_bytes).to_bytes(8, "little")
        + bytes(8)
        + b"r"
        + (1).to_bytes(7, "little")
        + record_bytes.to_bytes(8, "little")
    )
    return header + data


def max_records(file_bytes: int, record_bytes: int) -> int:
    """The most records of ``record_bytes`` a file of ``file_bytes`` in this layout can hold
    (every byte after the file signature spent on their chunks)."""
    chunk_bytes = len(chunk_prefix(record_bytes)) + record_bytes
    return max(0, _stream_bytes(file_bytes) - CHUNK_HEADER_BYTES) // chunk_bytes


def _stream_bytes(read: int) -> int:
    """Bytes of chunks in ``read`` bytes from a block boundary (the block headers left out)."""
    blocks, rest = divmod(read, BLOCK_BYTES)
    return blocks * USABLE_BLOCK_BYTES + max(0, rest - BLOCK_HEADER_BYTES)


def iter_records(
    path: str, record_bytes: int, begin: int, end: int, piece_bytes: int = PIECE_BYTES,
    num_records: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Records ``[begin, end)`` of a local shard, read in pieces of about ``piece_bytes``.

    Args:
        num_records: the records the file holds; when ``end`` is that, the chunk after the last
            record must not be a record's too (else the file holds more).

    Yields:
        ``(k, rows)``: rows uint8 ``[n, record_bytes]`` are records ``begin + k ...``; a
        strided view into a buffer that the next piece overwrites (copy what you keep).

    Raises:
        OSError: the file cannot be opened or read.
        LayoutMismatch: the file is shorter than the records, the file signature or any of
            their chunk headers (hashes aside) differs from this layout, or a record follows
            record ``num_records - 1``.
    """
    prefix = np.frombuffer(chunk_prefix(record_bytes), dtype=np.uint8)
    chunk_bytes = prefix.size + record_bytes
    first = CHUNK_HEADER_BYTES + begin * chunk_bytes  # positions in the stream without block headers
    last = CHUNK_HEADER_BYTES + end * chunk_bytes
    first_block, last_block = first // USABLE_BLOCK_BYTES, -(-last // USABLE_BLOCK_BYTES)
    blocks_per_piece = max(1, piece_bytes // BLOCK_BYTES)
    # An unfinished chunk moves to the front before the next piece is read after it.
    stream = np.empty(chunk_bytes + blocks_per_piece * USABLE_BLOCK_BYTES, dtype=np.uint8)
    block_headers = np.empty((blocks_per_piece, BLOCK_HEADER_BYTES), dtype=np.uint8)
    with open(path, "rb", buffering=0) as f:
        fd = f.fileno()
        if os.pread(fd, len(FILE_SIGNATURE), 0) != FILE_SIGNATURE:
            raise LayoutMismatch(f"{path}: no Riegeli file signature")
        k, held, skip = begin, 0, first - first_block * USABLE_BLOCK_BYTES
        for block in range(first_block, last_block, blocks_per_piece):
            buffers = []
            for b in range(min(blocks_per_piece, last_block - block)):
                start = held + b * USABLE_BLOCK_BYTES
                buffers += [block_headers[b], stream[start : start + USABLE_BLOCK_BYTES]]
            data = stream[skip : held + _stream_bytes(os.preadv(fd, buffers, block * BLOCK_BYTES))]
            n = min(len(data) // chunk_bytes, end - k)
            chunks = data[: n * chunk_bytes].reshape(n, chunk_bytes)
            for fixed in (slice(8, 16), slice(24, prefix.size)):  # all but the two hashes
                bad = chunks[:, fixed] != prefix[fixed]
                if bad.any():
                    k += int(np.flatnonzero(bad.any(axis=1))[0])
                    raise LayoutMismatch(f"{path}: the chunk of record {k} is not one uncompressed record")
            if n:
                yield k - begin, chunks[:, prefix.size :]
            k += n
            tail = data[n * chunk_bytes :]
            held, skip = len(tail), 0
            stream[:held] = tail
        if k < end:
            raise LayoutMismatch(f"{path}: ends before record {k}")
        if end == num_records:
            after = _read_stream(fd, last, CHUNK_HEADER_BYTES)
            if after[8:16] == prefix[8:16].tobytes() and after[24:] == prefix[24:CHUNK_HEADER_BYTES].tobytes():
                raise LayoutMismatch(f"{path}: holds a record after record {end - 1}")


def _read_stream(fd: int, start: int, length: int) -> bytes:
    """Up to ``length`` bytes of the chunk stream from position ``start`` (block headers left out)."""
    out = b""
    while len(out) < length:
        block, offset = divmod(start + len(out), USABLE_BLOCK_BYTES)
        piece = os.pread(fd, min(length - len(out), USABLE_BLOCK_BYTES - offset),
                         block * BLOCK_BYTES + BLOCK_HEADER_BYTES + offset)
        if not piece:
            break
        out += piece
    return out
