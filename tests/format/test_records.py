"""The record layout: round trips, self-description, and corruption detection."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spyx_data.format import records


@settings(max_examples=50, deadline=None)
@given(
    sample_T=st.integers(1, 40),
    dims=st.lists(st.integers(1, 4), min_size=1, max_size=6).map(tuple),
    n=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_encode_decode_round_trip(sample_T, dims, n, seed):
    layout = records.RecordLayout(sample_T, dims)
    rng = np.random.default_rng(seed)
    obs = rng.integers(0, 256, (n, *layout.obs_shape), dtype=np.uint8)
    labels = rng.integers(-(2**31), 2**31, n)
    indices = rng.integers(0, 2**40, n)
    buffer = layout.encode(obs, labels, indices)
    assert len(buffer) == n * layout.record_bytes == n * (records.HEADER_BYTES + obs[0].size)
    decoded = layout.decode(buffer)
    np.testing.assert_array_equal(decoded["obs"], obs)
    np.testing.assert_array_equal(decoded["label"], labels)
    np.testing.assert_array_equal(decoded["index"], indices)
    assert [len(r) for r in layout.split(buffer)] == [layout.record_bytes] * n


def test_header_is_little_endian_at_documented_offsets():
    layout = records.RecordLayout(10, (3,))
    buffer = layout.encode(np.zeros((1, 2, 3), np.uint8), [7], [258], build=0x0102030405060708)
    assert buffer[:4] == b"SPXR"
    assert buffer[4:6] == (2).to_bytes(2, "little")  # version
    assert buffer[6:8] == (1).to_bytes(2, "little")  # ndim
    assert buffer[8:12] == (7).to_bytes(4, "little")  # label
    assert buffer[12:16] == (10).to_bytes(4, "little")  # sample_T
    assert buffer[16:24] == (258).to_bytes(8, "little")  # index
    assert buffer[24:32] == (0x0102030405060708).to_bytes(8, "little")  # build
    assert buffer[32:56] == b"".join(d.to_bytes(4, "little") for d in (3, 1, 1, 1, 1, 1))
    assert records.HEADER_BYTES == 56 and len(buffer) == 56 + 6


def test_decode_names_the_bad_record():
    layout = records.RecordLayout(16, (4,))
    good = layout.encode(np.zeros((3, 2, 4), np.uint8), [0, 1, 2], [0, 1, 2])
    bad = bytearray(good)
    bad[layout.record_bytes * 2] ^= 0xFF  # magic of record 2
    with pytest.raises(records.RecordError, match="record 2: magic"):
        layout.decode(bytes(bad))
    # 15 and 16 bins pack to the same size: only the header tells them apart.
    with pytest.raises(records.RecordError, match="record 0: sample_T"):
        records.RecordLayout(15, (4,)).decode(good)
    with pytest.raises(records.RecordError, match="not a whole number"):
        layout.decode(good[:-1])
    with pytest.raises(records.RecordError, match="record 0: index"):
        layout.decode(good, first_index=1)
    assert len(layout.decode(good, first_index=0)) == 3


def test_records_of_another_build_or_with_labels_out_of_range_are_refused():
    layout = records.RecordLayout(16, (4,))
    mine = layout.encode(np.zeros((3, 2, 4), np.uint8), [0, 1, 2], [0, 1, 2], build=7)
    assert len(layout.decode(mine, 0, build=7, num_classes=3)) == 3
    theirs = layout.encode(np.zeros((1, 2, 4), np.uint8), [1], [3], build=8)
    with pytest.raises(records.RecordError, match="record 3: belongs to build 0x0000000000000008, not to this one"):
        layout.decode(mine + theirs, 0, build=7)
    with pytest.raises(records.RecordError, match=r"record 2: label 2 outside 0\.\.1"):
        layout.decode(mine, 0, build=7, num_classes=2)
    with pytest.raises(records.RecordError, match=r"record 0: label -1 outside 0\.\.19"):
        layout.decode(layout.encode(np.zeros((1, 2, 4), np.uint8), [-1], [0]), num_classes=20)


def test_a_record_too_big_is_refused_up_front():
    with pytest.raises(ValueError, match="more than the 16,777,216 a record may"):
        records.RecordLayout(1_000_000_000, (128,))


def test_labels_must_fit_int32():
    layout = records.RecordLayout(8, (1,))
    with pytest.raises(ValueError, match="int32"):
        layout.encode(np.zeros((1, 1, 1), np.uint8), [2**31], [0])


def test_up_to_six_feature_dims():
    assert records.RecordLayout(4, (2, 1, 3, 1, 2, 2)).obs_shape == (1, 2, 1, 3, 1, 2, 2)
    with pytest.raises(ValueError, match="dims must be 1..6"):
        records.RecordLayout(4, (1,) * 7)
