"""Golden rasters from hand-built events."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spyx_data.builder import raster
from spyx_data.format import records

from . import single


def shd(times, units, sample_T=128, channels=128, duration_us=1_000_000):
    """The dense raster (unpacked) and counts."""
    packed, counts = single.audio_raster(
        np.array(times, dtype=np.float64), np.array(units), sample_T, channels, duration_us
    )
    assert packed.shape == (records.packed_length(sample_T), channels)
    return records.unpack_time(packed, sample_T), counts


def cells(dense):
    return sorted(map(tuple, np.argwhere(dense).tolist()))


def test_event_on_a_bin_edge_opens_the_next_bin():
    # 128 bins of 7812.5 us: 15625 us is exactly the start of bin 2; 15624 us is still bin 1.
    dense, _ = shd([0.015625, 0.015624], [0, 0])
    assert cells(dense) == [(1, 0), (2, 0)]
    # 10000 us with 100 bins starts bin 1 in exact integer maths; spyx.data's float time factor
    # gives 10000 * (1e-6 / (1 / 100)) = 0.99999... -> bin 0.
    dense, _ = shd([0.01], [0], sample_T=100)
    assert cells(dense) == [(1, 0)]


def test_window_end_is_exclusive():
    dense, counts = shd([0.999999, 1.0, 1.3], [5, 5, 5])
    assert cells(dense) == [(127, 0)]
    assert counts == raster.RasterCounts(events=3, dropped_outside_window=2)


def test_a_longer_window_keeps_late_events():
    dense, counts = shd([1.0, 1.4], [0, 0], sample_T=15, duration_us=1_500_000)
    assert cells(dense) == [(10, 0), (14, 0)]
    assert counts.dropped_outside_window == 0


def test_300_events_in_one_cell_give_1_not_a_wrapped_count():
    dense, counts = shd(np.full(300, 0.5), np.full(300, 350))
    assert dense.dtype == np.uint8
    assert dense[64, 64] == 1 and dense.sum() == 1
    assert counts.events == 300


def test_nan_and_inf_times_are_dropped_and_counted():
    dense, counts = shd([np.nan, np.inf, -np.inf, 0.5], [1, 2, 3, 350])
    assert cells(dense) == [(64, 64)]
    assert counts == raster.RasterCounts(events=4, dropped_nonfinite=3)


def test_float16_times_are_scaled_in_float64():
    times = np.array([0.5, 1.2], dtype=np.float16)  # float16 * 1e6 overflows to inf in numpy 2
    packed, counts = single.audio_raster(times, np.array([0, 0]), 128, 128)
    assert cells(records.unpack_time(packed, 128)) == [(64, 0)] and counts.dropped_nonfinite == 0


def test_empty_sample_gives_all_zero_raster():
    dense, counts = shd([], np.array([], dtype=np.uint16))
    assert dense.shape == (128, 128) and not dense.any()
    assert counts == raster.RasterCounts(empty_samples=1)


def test_unit_699_maps_to_the_last_channel_and_700_is_an_error():
    dense, _ = shd([0.0], [699])
    assert cells(dense) == [(0, 127)]
    with pytest.raises(ValueError, match="event 1 has unit 700, outside 0..699"):
        shd([0.0, 0.1], [3, 700])


def test_channels_use_exact_integer_division():
    # 420 * 45 / 700 = 27 exactly; spyx.data's float factor gives 420 * (45 / 700) = 26.99... -> 26.
    dense, _ = shd([0.0], [420], channels=45)
    assert cells(dense) == [(0, 27)]


def test_negative_time_is_an_error():
    with pytest.raises(ValueError, match="negative time"):
        shd([0.1, -0.001], [0, 0])


def test_sample_T_not_a_multiple_of_8_packs_and_unpacks():
    dense, _ = shd([0.0, 0.95], [0, 699], sample_T=10, channels=3)
    assert cells(dense) == [(0, 0), (9, 2)]
    packed = records.pack_time(dense)
    assert packed.shape == (2, 3)
    assert packed[0, 0] == 0b1000_0000 and packed[1, 2] == 0b0100_0000
    np.testing.assert_array_equal(records.unpack_time(packed, 10), dense)


def test_one_channel_keeps_the_channel_axis():
    dense, _ = shd([0.0, 0.5], [0, 699], sample_T=16, channels=1)
    assert dense.shape == (16, 1) and cells(dense) == [(0, 0), (8, 0)]
    packed = records.pack_time(dense)
    assert packed.shape == (2, 1) and packed[:, 0].tolist() == [0b1000_0000, 0b1000_0000]


@given(
    t_us=st.lists(st.integers(0, 2_000_000), max_size=200),
    sample_T=st.integers(1, 300),
    duration_us=st.integers(1, 2_000_000),
)
def test_time_bins_match_exact_rational_floor(t_us, sample_T, duration_us):
    t = np.array([x for x in t_us if x < duration_us], dtype=np.int64)
    bins = raster.time_bins(t, sample_T, duration_us)
    assert bins.tolist() == [(x * sample_T) // duration_us for x in t.tolist()]
    assert all(0 <= b < sample_T for b in bins.tolist())


def test_window_too_large_for_int64_is_rejected():
    with pytest.raises(ValueError, match="overflows int64"):
        raster.check_window(2**40, 2**40)
    with pytest.raises(ValueError, match="sample_T must be a positive integer"):
        raster.check_window(0, 1_000_000)


@settings(max_examples=40, deadline=None)
@given(
    sample_T=st.integers(1, 70),
    dims=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple),
    n=st.integers(0, 300),
    seed=st.integers(0, 2**32 - 1),
)
def test_packed_presence_equals_packing_the_dense_raster(sample_T, dims, n, seed):
    rng = np.random.default_rng(seed)
    bins = rng.integers(0, sample_T, n)
    coords = tuple(rng.integers(0, d, n) for d in dims)
    dense = np.zeros((sample_T, *dims), np.uint8)
    dense[(bins, *coords)] = 1
    np.testing.assert_array_equal(single.packed_presence(bins, coords, (sample_T, *dims)), records.pack_time(dense))


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 60), min_size=1, max_size=6),
    sample_T=st.integers(1, 40),
    channels=st.integers(1, 20),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_group_of_samples_equals_its_samples_one_by_one(lengths, sample_T, channels, seed):
    rng = np.random.default_rng(seed)
    times = [rng.uniform(-0.0, 1.3, n).astype(np.float16) for n in lengths]
    units = [rng.integers(0, 700, n) for n in lengths]
    packed, counts = raster.audio_rasters(times, units, sample_T, channels)
    assert packed.shape == (len(lengths), records.packed_length(sample_T), channels)
    total = raster.RasterCounts()
    for i, (t, u) in enumerate(zip(times, units)):
        one, c = single.audio_raster(t, u, sample_T, channels)
        np.testing.assert_array_equal(packed[i], one)
        total += c
    assert counts == total


def test_a_bad_sample_in_a_group_is_named_by_position():
    times = [np.array([0.1]), np.array([0.2, 0.3]), np.array([0.1, -0.5])]
    units = [np.array([1]), np.array([2, 800]), np.array([3, 4])]
    with pytest.raises(raster.BadSample, match="sample 1: event 1 has unit 800") as info:
        raster.audio_rasters(times, units, 8, 4)
    assert info.value.sample == 1
    with pytest.raises(raster.BadSample, match="sample 0: event arrays must be 1-D and equal in length"):
        raster.audio_rasters([np.array([0.1, 0.2])], [np.array([1])], 8, 4)


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(0, 30), max_size=8), limit=st.integers(1, 40))
def test_passes_cut_every_sample_in_order_and_hold_at_most_the_limit(lengths, limit):
    plan = raster.passes(lengths, limit)
    pieces = [piece for one in plan for piece in one]
    assert all(sum(b - a for _, a, b in one) <= limit for one in plan)
    assert all(len({s for s, _, _ in one}) == len(one) for one in plan)  # a sample at most once a pass
    for sample, n in enumerate(lengths):
        own = [(a, b) for s, a, b in pieces if s == sample]
        assert own == ([(0, 0)] if n == 0 else [(a, b) for a, b in own if a < b])
        assert own[0][0] == 0 and own[-1][1] == n and all(x[1] == y[0] for x, y in itertools.pairwise(own))
    assert [s for s, _, _ in pieces] == sorted(s for s, _, _ in pieces)


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 60), min_size=1, max_size=6),
    limit=st.integers(1, 70),
    seed=st.integers(0, 2**32 - 1),
)
def test_rasters_in_bounded_passes_equal_one_pass(lengths, limit, seed):
    rng = np.random.default_rng(seed)
    times = [rng.uniform(0, 1.3, n) for n in lengths]
    times = [np.where(rng.random(n) < 0.1, np.nan, t) for n, t in zip(lengths, times)]
    units = [rng.integers(0, 700, n) for n in lengths]
    whole = raster.audio_rasters(times, units, 20, 16)
    bounded = raster.audio_rasters(times, units, 20, 16, events_per_pass=limit)
    np.testing.assert_array_equal(bounded[0], whole[0])
    assert bounded[1] == whole[1]
    recordings = [(rng.integers(0, 1200, n), rng.integers(0, 6, n), rng.integers(0, 4, n), rng.integers(0, 2, n))
                  for n in lengths]
    whole = raster.camera_rasters(recordings, 9, 1000, (6, 4, 2), 2)
    bounded = raster.camera_rasters(recordings, 9, 1000, (6, 4, 2), 2, events_per_pass=limit)
    np.testing.assert_array_equal(bounded[0], whole[0])
    assert bounded[1] == whole[1]


def test_a_bad_event_in_a_sample_cut_across_passes_is_named_by_its_number_in_the_sample():
    t = np.arange(10, dtype=np.int64)
    x = np.zeros(10, dtype=np.int64)
    x[7] = 99
    recordings = [(t[:3], x[:3], x[:3], x[:3]), (t, x, np.zeros(10, np.int64), np.zeros(10, np.int64))]
    for limit in (1, 4, 5, 100):
        with pytest.raises(raster.BadSample, match="sample 1: event 7 has x=99") as info:
            raster.camera_rasters(recordings, 4, 100, (6, 4, 2), events_per_pass=limit)
        assert info.value.sample == 1
    with pytest.raises(raster.BadSample, match="sample 0: event 1007 has x=99"):  # a chunk of a longer one
        raster.camera_rasters(recordings[1:], 4, 100, (6, 4, 2), events_per_pass=4, first_event=1000)
