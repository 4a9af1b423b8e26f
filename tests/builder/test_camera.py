"""Camera frames from hand-built events, and the ATIS decoder against tonic's."""

import numpy as np
import pytest
import tonic
from hypothesis import given, settings
from hypothesis import strategies as st

from spyx_data import paths
from spyx_data.builder import camera, events, nmnist, raster, synthetic
from spyx_data.format import records

from . import single

SENSOR = (6, 4, 2)  # tonic order (W, H, P): 6 columns, 4 rows


def frames(t, x, y, p, sample_T=4, duration_us=1000, **options):
    t, x, y, p = (np.array(a, dtype=np.int64) for a in (t, x, y, p))
    packed, counts = single.camera_raster(t, x, y, p, sample_T, duration_us, SENSOR, **options)
    return records.unpack_time(packed, sample_T), counts


def on(dense):
    return sorted(map(tuple, np.argwhere(dense).tolist()))


def test_layout_is_t_p_y_x_and_x_is_the_column():
    dense, _ = frames([0], [5], [1], [1])
    assert dense.shape == (4, 2, 4, 6)
    assert on(dense) == [(0, 1, 1, 5)]  # [t, p, y, x]: x=5 is a column, y=1 a row


def test_bin_edges_and_window_end():
    # 4 bins of 250 us: 249 -> 0, 250 -> 1, 999 -> 3, 1000 is the window end (dropped).
    dense, counts = frames([249, 250, 999, 1000], [0, 1, 2, 3], [0, 0, 0, 0], [0, 0, 0, 0])
    assert on(dense) == [(0, 0, 0, 0), (1, 0, 0, 1), (3, 0, 0, 2)]
    assert counts == raster.RasterCounts(events=4, dropped_outside_window=1)


def test_both_polarities_and_merging_them():
    dense, _ = frames([0, 0], [2, 2], [3, 3], [0, 1])
    assert on(dense) == [(0, 0, 3, 2), (0, 1, 3, 2)]
    merged, _ = frames([0, 0], [2, 2], [3, 3], [0, 1], merge_polarity=True)
    assert merged.shape == (4, 1, 4, 6) and on(merged) == [(0, 0, 3, 2)]


def test_spatial_downsampling_keeps_edge_pixels():
    dense, _ = frames([0, 0], [5, 0], [3, 0], [0, 0], spatial_factor=4)
    assert dense.shape == (4, 2, 1, 2)  # ceil(4/4) rows, ceil(6/4) columns
    assert on(dense) == [(0, 0, 0, 0), (0, 0, 0, 1)]


def test_many_events_in_one_cell_give_1():
    dense, _ = frames(np.zeros(1000, int), np.ones(1000, int), np.ones(1000, int), np.zeros(1000, int))
    assert dense.sum() == 1 and dense.max() == 1


def test_empty_recording_is_all_zero_and_counted():
    dense, counts = frames([], [], [], [])
    assert not dense.any() and counts == raster.RasterCounts(empty_samples=1)


@pytest.mark.parametrize(
    "x, y, p, message",
    [(6, 0, 0, "event 1 has x=6, outside the sensor's 0..5"), (0, 4, 0, "event 1 has y=4"),
     (0, 0, 2, "event 1 has p=2"), (-1, 0, 0, "event 1 has x=-1")],
)
def test_events_off_the_sensor_are_errors(x, y, p, message):
    with pytest.raises(ValueError, match=message):
        frames([0, 1], [0, x], [0, y], [0, p])


def test_negative_time_is_an_error():
    with pytest.raises(ValueError, match="event 0 has a negative time"):
        frames([-1], [0], [0], [0])


def test_frame_shape_from_tonic_sensor_order():
    assert raster.frame_shape((34, 34, 2)) == (2, 34, 34)
    assert raster.frame_shape((240, 180, 2), spatial_factor=7, merge_polarity=True) == (1, 26, 35)


def atis_bytes(rows):
    return bytes(b for row in rows for b in row)


def tonic_atis(data, tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(data)
    return tonic.io.read_mnist_file(str(path), dtype=tonic.datasets.NMNIST.dtype)


def test_atis_decoder_matches_tonic_with_overflow_markers(tmp_path):
    data = atis_bytes([
        (1, 2, 0x80 | 0x00, 0x01, 0x02),  # x=1 y=2 p=1 t=0x000102
        (3, 240, 0, 0, 0),  # overflow marker: +8192 us from here on
        (4, 5, 0x7F, 0xFF, 0xFF),  # p=0, t=2**23-1 (+8192)
        (3, 240, 0, 0, 0),
        (6, 7, 0x80, 0, 9),
    ])
    ours = events.read_atis_bin(data)
    theirs = tonic_atis(data, tmp_path)
    assert ours.t.tolist() == theirs["t"].tolist() == [0x102, 2**23 - 1 + 8192, 9 + 2 * 8192]
    assert ours.x.tolist() == theirs["x"].tolist() == [1, 4, 6]
    assert ours.y.tolist() == theirs["y"].tolist() == [2, 5, 7]
    assert ours.p.tolist() == theirs["p"].tolist() == [1, 0, 1]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400).map(lambda b: b[: len(b) // 5 * 5]))
def test_atis_decoder_matches_tonic_on_any_bytes(tmp_path_factory, data):
    ours = events.read_atis_bin(data)
    theirs = tonic_atis(data, tmp_path_factory.mktemp("atis"))
    for field in "txyp":
        assert getattr(ours, field).tolist() == theirs[field].tolist()


def test_atis_decoder_matches_tonic_on_fixture_files(tmp_path):
    root = synthetic.write(nmnist.DATASET, str(tmp_path), "train", 12)
    for parts in paths.list_files(root, ".bin"):
        path = "/".join((root, *parts))
        with open(path, "rb") as f:
            ours = events.read_atis_bin(f.read(), path)
        theirs = tonic.io.read_mnist_file(path, dtype=tonic.datasets.NMNIST.dtype)
        assert len(theirs) > 1000
        for field in "txyp":
            np.testing.assert_array_equal(getattr(ours, field), theirs[field])


def test_truncated_atis_file_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"a/b\.bin: 12 bytes is not a whole number of 5-byte events"):
        events.read_atis_bin(b"\0" * 12, "a/b.bin")


def test_seeded_split_is_stable_and_roughly_the_fraction():
    names = [f"class{k % 7}/image_{k:04d}.bin" for k in range(2000)]
    split = [camera.seeded_split(p, 0, 0.2) for p in names]
    assert split == [camera.seeded_split(p, 0, 0.2) for p in names]
    assert 0.17 < split.count("test") / len(names) < 0.23
    assert split != [camera.seeded_split(p, 1, 0.2) for p in names]
