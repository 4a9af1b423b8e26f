"""The direct shard reader returns exactly what was written, refuses any other layout, and the
readers hand such files to ArrayRecord's reader."""

import os

import numpy as np
import pytest
from array_record.python.array_record_module import ArrayRecordWriter

import spyx_data
from spyx_data.errors import ShardError
from spyx_data.format import manifest as manifest_lib
from spyx_data.format import records, riegeli
from spyx_data.read.shards import iter_shard, read_shard


def write_shard(path, rows: np.ndarray, options: str = riegeli.WRITER_OPTIONS) -> str:
    writer = ArrayRecordWriter(str(path), options)
    for row in rows:
        writer.write(row.tobytes())
    writer.close()
    return str(path)


def read_direct(path, record_bytes, begin, end, piece_bytes=riegeli.PIECE_BYTES) -> np.ndarray:
    pieces = [(k, rows.copy()) for k, rows in riegeli.iter_records(path, record_bytes, begin, end, piece_bytes)]
    starts = np.cumsum([0] + [len(rows) for _, rows in pieces])
    assert [k for k, _ in pieces] == starts[:-1].tolist()  # in order, none missed or repeated
    return np.concatenate([rows for _, rows in pieces]) if pieces else np.empty((0, record_bytes), np.uint8)


# 1 and 100: one-byte varint sizes; 2096: SHD's record; 70_000: a chunk longer than a block;
# 2002: 2,046-byte chunks, so that the 32nd ends exactly where the first block does.
@pytest.mark.parametrize("record_bytes", [1, 100, 2002, 2096, 70_000])
@pytest.mark.parametrize("piece_bytes", [1, riegeli.PIECE_BYTES])  # 1: a block per read
def test_direct_reads_return_the_records_written(tmp_path, record_bytes, piece_bytes):
    n = max(5, 600_000 // record_bytes)
    rows = np.random.default_rng(record_bytes).integers(0, 256, (n, record_bytes), dtype=np.uint8)
    path = write_shard(tmp_path / "shard.array_record", rows)
    for begin, end in [(0, n), (1, n - 1), (n - 1, n), (n // 2, n // 2 + 1), (3, 3)]:
        np.testing.assert_array_equal(read_direct(path, record_bytes, begin, end, piece_bytes), rows[begin:end])


@pytest.mark.parametrize(
    "options, record_bytes",
    [
        ("group_size:1,zstd:3", 64),
        ("group_size:2,uncompressed", 64),
        (riegeli.WRITER_OPTIONS, 63),  # read with the wrong record size
    ],
)
def test_other_layouts_are_refused(tmp_path, options, record_bytes):
    path = write_shard(tmp_path / "shard.array_record", np.zeros((40, 64), np.uint8), options)
    with pytest.raises(riegeli.LayoutMismatch, match="the chunk of record 0 is not one uncompressed record"):
        read_direct(path, record_bytes, 0, 40)


def test_short_and_foreign_files_are_refused(tmp_path):
    path = write_shard(tmp_path / "shard.array_record", np.zeros((2000, 64), np.uint8))
    with pytest.raises(riegeli.LayoutMismatch):  # past the records: the footer, then the end
        read_direct(path, 64, 0, 3000)
    with open(path, "r+b") as f:
        f.truncate(65536 + 100)
    with pytest.raises(riegeli.LayoutMismatch, match="ends before record"):
        read_direct(path, 64, 0, 2000)
    np.testing.assert_array_equal(read_direct(path, 64, 0, 600), np.zeros((600, 64), np.uint8))
    foreign = tmp_path / "foreign"
    foreign.write_bytes(b"\0" * 200_000)
    with pytest.raises(riegeli.LayoutMismatch, match="no Riegeli file signature"):
        read_direct(str(foreign), 64, 0, 10)


def first_shard(directory):
    manifest = manifest_lib.read_manifest(str(directory))
    shard = manifest.split("train").shards[0]
    return manifest, shard, os.path.join(str(directory), shard.path)


def flip(path: str, position: int, bits: int) -> None:
    with open(path, "r+b") as f:
        f.seek(position)
        byte = f.read(1)[0]
        f.seek(position)
        f.write(bytes([byte ^ bits]))


def test_a_layout_that_stops_matching_midway_is_read_on_by_arrayrecord(written_build, monkeypatch):
    manifest, shard, path = first_shard(written_build)
    direct = riegeli.iter_records

    def first_piece_only(*args, **kwargs):
        for k, rows in direct(*args, **{**kwargs, "piece_bytes": 1}):
            yield k, rows
            raise riegeli.LayoutMismatch("stop here")

    monkeypatch.setattr(riegeli, "iter_records", first_piece_only)
    read = iter_shard(path, shard, manifest, 10, 90, riegeli.WRITER_OPTIONS)
    pieces = [(k, records.copy()) for k, records in read]
    assert len(pieces) == 2 and pieces[0][0] == 0 and pieces[1][0] == len(pieces[0][1])
    expected = read_shard(path, shard, manifest, 10, 90)  # through ArrayRecord's reader
    np.testing.assert_array_equal(np.concatenate([records for _, records in pieces]), expected)


def test_a_damaged_chunk_header_is_caught_and_named(copy):
    manifest, _, path = first_shard(copy)
    chunk_bytes = len(riegeli.chunk_prefix(manifest.layout.record_bytes)) + manifest.layout.record_bytes
    flip(path, 64 + 5 * chunk_bytes + 8, 1)  # data_size of record 5's chunk
    with pytest.raises(ShardError, match=path):
        spyx_data.load_split(str(copy), "train")
    source = spyx_data.open_split(str(copy), "train")
    with pytest.raises(ShardError, match=f"{path}: record 5 \\(source index 5 of 'train'\\): .*hash mismatch"):
        source.read_batch([7, 5, 0])
    assert source[1]["index"] == 1
    flip(path, 64 + 8, 1)  # record 0's: opening reads it
    with pytest.raises(ShardError, match=f"{path}: record 0: .*hash mismatch"):
        spyx_data.open_split(str(copy), "train")


def test_a_shard_of_another_size_than_the_manifests_goes_to_arrayrecords_reader(copy):
    _, shard, path = first_shard(copy)
    with open(path, "r+b") as f:
        f.truncate(shard.num_bytes - 100)  # every record intact, the footer cut
    with pytest.raises(ShardError, match=f"{path}: cannot open"):
        spyx_data.load_split(str(copy), "train")


def test_a_flipped_record_bit_needs_verify_to_be_caught(copy):
    manifest, _, path = first_shard(copy)
    obs, _ = spyx_data.load_split(str(copy), "train")
    obs_at = 64 + len(riegeli.chunk_prefix(manifest.layout.record_bytes)) + records.HEADER_BYTES
    flip(path, obs_at, 0x80)  # record 0's obs[0, 0]
    damaged, _ = spyx_data.load_split(str(copy), "train")  # Riegeli's hashes are not read
    assert damaged[0, 0, 0] == obs[0, 0, 0] ^ 0x80 and np.array_equal(damaged[1:], obs[1:])
    with pytest.raises(ShardError, match="sha256"):
        spyx_data.load_split(str(copy), "train", verify=True)
    with pytest.raises(ShardError, match="sha256"):
        spyx_data.prestage(str(copy), "train", 10, verify=True)
