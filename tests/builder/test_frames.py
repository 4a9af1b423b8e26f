"""Each frame mode, the voxel grid and denoise against the reference library's own code: tonic's
transforms, and SpikingJelly's integration functions (taken from the installed package, see
the ``spikingjelly`` fixture), on camera and audio fixtures and on the edge cases."""

from __future__ import annotations

import numpy as np
import pytest
import tonic
from hypothesis import given, settings
from hypothesis import strategies as st

from spyx_data.builder import fixtures, frames, raster
from spyx_data.format import records

from ..references import spikingjelly_integrate
from . import single

SENSOR = (6, 4, 2)  # tonic's (W, H, P)
CHANNELS = 700
CAMERA = tonic.transforms.ToFrame  # shorthand for the reference below
OVERLAPS = (0.0, 0.25, 0.5)


def read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Copies that raise on any write: a function that modified its input would fail."""
    out = tuple(np.array(a) for a in arrays)
    for a in out:
        a.setflags(write=False)
    return out


def camera_events(t, x, y, p) -> np.ndarray:
    ev = np.zeros(len(t), dtype=[("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
    ev["t"], ev["x"], ev["y"], ev["p"] = t, x, y, p
    return ev


def audio_events(t, channel) -> np.ndarray:
    ev = np.zeros(len(t), dtype=[("t", np.int64), ("x", np.int64), ("p", np.int64)])  # tonic's SHD dtype
    ev["t"], ev["x"] = t, channel
    return ev


def camera_fixture():
    t, x, y, p = fixtures.camera_sample(7, "nmnist", "train", 0, 1, (34, 34), 300_000)
    return t, x, y, p, (34, 34, 2)


def audio_fixture():
    t_s, units, _, _ = fixtures.audio_sample(7, "train", 0)
    return np.floor(t_s.astype(np.float64) * 1e6).astype(np.int64), units.astype(np.int64)


# Recordings (t, x, y, p) on SENSOR for the named edge cases.
EDGES = {
    "empty": ([], [], [], []),
    "one event": ([40], [2], [1], [1]),
    "fewer events than T": ([3, 9, 27], [0, 5, 2], [3, 0, 1], [0, 1, 1]),
    "all at one time": ([50] * 5, [0, 1, 1, 2, 5], [0, 0, 0, 3, 3], [1, 0, 0, 1, 0]),
    "span shorter than T": ([10, 11, 11, 12, 14], [1, 1, 2, 3, 3], [1, 2, 2, 0, 0], [0, 1, 1, 0, 1]),
    "ties and a pause": ([0, 0, 0, 5, 5, 90, 91, 91, 91, 100], [1, 2, 1, 0, 5, 5, 4, 4, 3, 0],
                         [0, 0, 0, 3, 3, 1, 2, 2, 2, 0], [1, 1, 1, 0, 0, 1, 0, 0, 1, 1]),
}


def camera_cases():
    yield "fixture", camera_fixture()
    for name, columns in EDGES.items():
        yield name, (*(np.asarray(c, dtype=np.int64) for c in columns), SENSOR)


CAMERA_CASES = dict(camera_cases())


@pytest.fixture(scope="module")
def spikingjelly():
    """SpikingJelly's own integration function (:func:`tests.references.spikingjelly_integrate`)."""
    return spikingjelly_integrate()


def tonic_reference(mode: str, events: np.ndarray, sensor, sample_T: int, overlap: float):
    """tonic's frames as int64 and the events none of its slices holds."""
    option = {"tonic_time_bins": "n_time_bins", "tonic_event_bins": "n_event_bins"}[mode]
    out = CAMERA(sensor_size=sensor, overlap=overlap, **{option: sample_T})(events.copy())
    slicer = (tonic.slicers.SliceByTimeBins if option == "n_time_bins" else tonic.slicers.SliceByEventBins)(
        sample_T, overlap)
    covered = set()
    if len(events):
        for a, b in slicer.get_slice_metadata(events, None):
            covered.update(range(len(events))[a:b])
    return np.asarray(out).astype(np.int64), len(events) - len(covered)


def ours(mode: str, t, cells, dims, sample_T: int, overlap: float, dtype=np.uint16) -> frames.FrameCounts:
    if mode == "tonic_time_bins":
        return frames.tonic_time_bins(t, cells, dims, sample_T, overlap, dtype)
    return frames.tonic_event_bins(cells, dims, sample_T, overlap, dtype)


@pytest.mark.parametrize("overlap", OVERLAPS)
@pytest.mark.parametrize("mode", ["tonic_time_bins", "tonic_event_bins"])
@pytest.mark.parametrize("case", list(CAMERA_CASES))
@pytest.mark.parametrize("sample_T", [1, 4, 7])
def test_camera_frames_equal_tonic_to_frame(case, mode, overlap, sample_T):
    t, x, y, p, sensor = read_only(*CAMERA_CASES[case][:4]) + (CAMERA_CASES[case][4],)
    cells, dims = frames.camera_cells(x, y, p, sensor)
    got = ours(mode, t, cells, dims, sample_T, overlap)
    want, outside = tonic_reference(mode, camera_events(t, x, y, p), sensor, sample_T, overlap)
    assert got.frames.shape == (sample_T, *dims) and got.frames.dtype == np.uint16
    if len(t) == 0:  # tonic's own empty frames: zeros, float64, laid out [T, P, W, H]
        assert want.shape == (sample_T, 2, sensor[0], sensor[1]) and not want.any() and not got.frames.any()
    else:
        np.testing.assert_array_equal(got.frames, want)
    assert (got.clipped, got.outside) == (0, outside)


@pytest.mark.parametrize("overlap", OVERLAPS)
@pytest.mark.parametrize("mode", ["tonic_time_bins", "tonic_event_bins"])
def test_audio_frames_equal_tonic_to_frame(mode, overlap):
    t, channel = read_only(*audio_fixture())
    cells, dims = frames.audio_cells(channel, CHANNELS)
    got = ours(mode, t, cells, dims, 100, overlap)
    want, outside = tonic_reference(mode, audio_events(t, channel), (CHANNELS, 1, 1), 100, overlap)
    assert want.shape == (100, 1, CHANNELS)
    np.testing.assert_array_equal(got.frames, want[:, 0])
    assert got.outside == outside


def test_tonic_time_bins_drop_the_tail_with_the_last_event():
    # tonic #313: 10 events 0..9 us in 4 bins of 9 // 4 = 2 us: events 8 and 9 are in no frame.
    t = np.arange(10, dtype=np.int64)
    got = frames.tonic_time_bins(t, np.zeros(10, dtype=np.int64), (1,), 4, 0.0, np.uint8)
    assert got.frames[:, 0].tolist() == [2, 2, 2, 2] and got.outside == 2


@pytest.mark.parametrize("case", ["one event", "all at one time", "span shorter than T"])
def test_tonic_time_bins_of_a_recording_shorter_than_T_us_are_empty(case):
    t, x, y, p, sensor = CAMERA_CASES[case]
    cells, dims = frames.camera_cells(x, y, p, sensor)
    got = frames.tonic_time_bins(t, cells, dims, 7, 0.0, np.uint8)
    assert not got.frames.any() and got.outside == len(t)


def test_tonic_event_bins_with_fewer_events_than_T_are_empty():
    t, x, y, p, sensor = CAMERA_CASES["fewer events than T"]
    cells, dims = frames.camera_cells(x, y, p, sensor)
    got = frames.tonic_event_bins(cells, dims, 4, 0.0, np.uint8)
    assert not got.frames.any() and got.outside == 3


def spikingjelly_reference(integrate, split_by, t, x, y, p, sensor, sample_T):
    events = {"t": t, "x": x, "y": y, "p": p}
    return integrate(events, split_by, sample_T, sensor[1], sensor[0])


def assert_spikingjelly_time(integrate, t, x, y, p, sensor, sample_T, got: np.ndarray) -> None:
    """``got`` equals SpikingJelly's time split where it gives frames; where it raises
    IndexError, :func:`frames.spikingjelly_time_fails` says so."""
    try:
        want = spikingjelly_reference(integrate, "time", t, x, y, p, sensor, sample_T)
    except IndexError:
        assert frames.spikingjelly_time_fails(t, sample_T)
    else:
        assert not frames.spikingjelly_time_fails(t, sample_T)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("case", list(CAMERA_CASES))
@pytest.mark.parametrize("sample_T", [1, 4, 16])
def test_camera_spikingjelly_number_equals_spikingjelly(spikingjelly, case, sample_T):
    t, x, y, p, sensor = read_only(*CAMERA_CASES[case][:4]) + (CAMERA_CASES[case][4],)
    cells, dims = frames.camera_cells(x, y, p, sensor)
    got = frames.spikingjelly_number(cells, dims, sample_T, np.uint16)
    want = spikingjelly_reference(spikingjelly, "number", t, x, y, p, sensor, sample_T)
    assert want.dtype == np.float64 and got.frames.shape == want.shape == (sample_T, *dims)
    np.testing.assert_array_equal(got.frames, want)
    assert got.outside == 0


@pytest.mark.parametrize("case", list(CAMERA_CASES))
@pytest.mark.parametrize("sample_T", [1, 4, 16])
def test_camera_spikingjelly_time_equals_spikingjelly_where_it_gives_frames(spikingjelly, case, sample_T):
    t, x, y, p, sensor = read_only(*CAMERA_CASES[case][:4]) + (CAMERA_CASES[case][4],)
    cells, dims = frames.camera_cells(x, y, p, sensor)
    got = frames.spikingjelly_time(t, cells, dims, sample_T, np.uint16)
    assert_spikingjelly_time(spikingjelly, t, x, y, p, sensor, sample_T, got.frames)
    assert got.frames.sum() == len(t)  # the time split drops nothing: the last frame runs to the end


def test_spikingjelly_time_fails_on_the_fixture_pauses_only_where_spikingjelly_raises(spikingjelly):
    t, x, y, p, sensor = CAMERA_CASES["ties and a pause"]
    with pytest.raises(IndexError):
        spikingjelly_reference(spikingjelly, "time", t, x, y, p, sensor, 4)
    # dt = 25 us: the ranges [25, 50) and [50, 75) hold no event; they are empty frames, the
    # last frame starts at the first event at or after 75 us and runs to the end.
    got = frames.spikingjelly_time(t, *frames.camera_cells(x, y, p, sensor), 4, np.uint8)
    assert got.frames.sum(axis=(1, 2, 3)).tolist() == [5, 0, 0, 5]


def test_spikingjelly_puts_every_event_in_the_last_frame_when_fewer_than_T():
    t, x, y, p, sensor = CAMERA_CASES["fewer events than T"]
    cells, dims = frames.camera_cells(x, y, p, sensor)
    got = frames.spikingjelly_number(cells, dims, 8, np.uint8)
    assert got.frames.sum(axis=(1, 2, 3)).tolist() == [0] * 7 + [3]


@pytest.mark.parametrize("split_by", ["number", "time"])
def test_audio_spikingjelly_equals_spikingjelly(spikingjelly, split_by):
    t, channel = read_only(*audio_fixture())
    cells, dims = frames.audio_cells(channel, CHANNELS)
    mode = frames.spikingjelly_number if split_by == "number" else frames.spikingjelly_time
    got = mode(cells, dims, 20, np.uint16) if split_by == "number" else mode(t, cells, dims, 20, np.uint16)
    want = spikingjelly_reference(spikingjelly, split_by, t, channel, np.zeros_like(t), np.zeros_like(t),
                                  (CHANNELS, 1, 2), 20)
    assert not want[:, 1].any()
    np.testing.assert_array_equal(got.frames, want[:, 0, 0])


@pytest.mark.parametrize("sample_T", [1, 3, 10])
@pytest.mark.parametrize("case", [c for c in CAMERA_CASES if c not in ("empty", "one event", "all at one time")])
def test_voxel_grid_equals_tonic_rounded_to_float32(case, sample_T):
    t, x, y, p, sensor = read_only(*CAMERA_CASES[case][:4]) + (CAMERA_CASES[case][4],)
    got = frames.voxel_grid(t, x, y, p, sensor, sample_T)
    want = tonic.transforms.ToVoxelGrid(sensor_size=sensor, n_time_bins=sample_T)(camera_events(t, x, y, p))
    assert want.dtype == np.float64 and got.dtype == np.float32 and got.shape == want.shape
    assert np.array_equal(got, want.astype(np.float32))
    assert got.tobytes() == want.astype(np.float32).tobytes()  # bit for bit, signed zeros too


def test_voxel_grid_of_an_empty_recording_is_zero_and_of_one_time_refused():
    t, x, y, p, sensor = CAMERA_CASES["empty"]
    assert not frames.voxel_grid(t, x, y, p, sensor, 5).any()
    for case in ("one event", "all at one time"):
        t, x, y, p, sensor = CAMERA_CASES[case]
        with pytest.raises(ValueError, match="a voxel grid needs two times"):
            frames.voxel_grid(t, x, y, p, sensor, 5)
    with pytest.raises(ValueError, match="2-polarity"):
        frames.voxel_grid(t, x, y, np.zeros_like(p), (6, 4, 1), 5)


@pytest.mark.parametrize("sample_T", [3, 64])
def test_window_counts_are_the_builds_bins(sample_T):
    t, x, y, p, sensor = camera_fixture()
    t = np.concatenate([t, [299_999, 300_000, 400_000]])
    x, y, p = (np.concatenate([c, [0, 0, 0]]) for c in (x, y, p))
    cells, dims = frames.camera_cells(x, y, p, sensor)
    got = frames.window_counts(t, cells, dims, sample_T, 300_000, np.uint16)
    packed, counts = single.camera_raster(t, x, y, p, sample_T, 300_000, sensor)
    np.testing.assert_array_equal(records.pack_time(got.frames > 0), packed)
    assert got.outside == counts.dropped_outside_window == 2 and got.frames.sum() == len(t) - 2
    a_t, channel = audio_fixture()
    got = frames.window_counts(a_t, *frames.audio_cells(channel, CHANNELS), sample_T, 1_000_000, np.uint16)
    packed, _ = raster.audio_rasters([a_t], [channel], sample_T, CHANNELS, us_per_time=1, n_units=CHANNELS)
    np.testing.assert_array_equal(records.pack_time(got.frames > 0), packed[0])


@pytest.mark.parametrize("dtype, top", [(np.uint8, 255), (np.uint16, 65535)])
def test_counts_that_do_not_fit_are_clipped_and_counted(dtype, top):
    n = top + 10
    t, cells = np.zeros(n, dtype=np.int64), np.full(n, 3, dtype=np.int64)
    cells[:5] = 1  # a cell that fits
    got = frames.window_counts(t, cells, (5,), 2, 10, dtype)
    assert got.frames.dtype == dtype and got.frames[0].tolist() == [0, 5, 0, top, 0] and got.clipped == 1
    # tonic counts in int16 and wraps the same cell round: the reason for clipping
    wrapped = CAMERA(sensor_size=(5, 1, 1), n_event_bins=1)(audio_events(np.arange(40_000), np.full(40_000, 3)))
    assert wrapped[0, 0, 3] < 0


def test_counts_refuse_a_signed_type_and_inputs_off_the_frame():
    t, x, y, p, sensor = CAMERA_CASES["ties and a pause"]
    cells, dims = frames.camera_cells(x, y, p, sensor)
    with pytest.raises(ValueError, match="unsigned"):
        frames.tonic_event_bins(cells, dims, 2, 0.0, np.int16)
    with pytest.raises(ValueError, match="event 1 has y=4, outside 0..3"):
        frames.camera_cells(x, np.where(np.arange(len(y)) == 1, 4, y), p, sensor)
    with pytest.raises(ValueError, match=r"event 1 goes back in time \(91 us after 100 us\)"):
        frames.tonic_time_bins(t[::-1], cells, dims, 2, 0.0, np.uint8)
    with pytest.raises(ValueError, match="overlap"):
        frames.tonic_time_bins(t, cells, dims, 2, 1.0, np.uint8)


def test_tonic_writes_into_its_input_and_these_functions_do_not():
    t, x, y, p, _ = CAMERA_CASES["ties and a pause"]
    events = camera_events(t, x, y, np.ones_like(p))
    tonic.functional.to_frame_numpy(events, (6, 4, 1), n_time_bins=2)
    assert not events["p"].any()  # tonic set p to 0 in the caller's array
    t, x, y, p = read_only(t, x, y, p)  # read-only: any write here raises
    cells, dims = frames.camera_cells(x, y, p, SENSOR)
    frames.tonic_time_bins(t, cells, dims, 2, 0.5, np.uint8)
    frames.voxel_grid(t, x, y, p, SENSOR, 3)
    frames.denoise(t, x, y, 10)


# --- Denoise -------------------------------------------------------------------------------------------------------


def tonic_denoise_mask(t, x, y, filter_time) -> np.ndarray:
    """tonic's Denoise as a mask: events are tagged by their position in a spare field."""
    events = camera_events(t, x, y, np.arange(len(t)))
    kept = tonic.transforms.Denoise(filter_time=filter_time)(events)
    mask = np.zeros(len(t), dtype=bool)
    mask[kept["p"]] = True
    return mask


def test_denoise_equals_tonic_on_the_camera_fixture():
    t, x, y, _ = read_only(*camera_fixture()[:4])
    for filter_time in (0, 500, 5_000):
        mask = frames.denoise(t, x, y, filter_time)
        np.testing.assert_array_equal(mask, tonic_denoise_mask(t, x, y, filter_time))
        assert 0 < mask.sum() < len(t) or filter_time == 0


def test_denoise_keeps_early_events_with_a_neighbour_and_lone_pixels_never():
    # Every event before filter_time has a neighbour whose memory starts at filter_time.
    assert frames.denoise(np.array([0, 1]), np.array([0, 3]), np.array([0, 0]), 5).tolist() == [True, True]
    # A one-pixel grid has no neighbour: nothing is kept.
    assert frames.denoise(np.array([0, 1]), np.array([0, 0]), np.array([0, 0]), 5).tolist() == [False, False]
    assert frames.denoise(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), 5).size == 0


event_sets = st.integers(0, 40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 12), min_size=n, max_size=n),
        st.lists(st.integers(0, 3), min_size=n, max_size=n),
        st.lists(st.integers(0, 2), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
    )
)


@settings(max_examples=300)
@given(events=event_sets, filter_time=st.integers(0, 6), ordered=st.booleans())
def test_denoise_equals_tonic_on_random_events_with_ties(events, filter_time, ordered):
    t, x, y, _ = (np.asarray(c, dtype=np.int64) for c in events)
    if ordered:
        t = np.sort(t)
    if len(t):
        np.testing.assert_array_equal(frames.denoise(t, x, y, filter_time), tonic_denoise_mask(t, x, y, filter_time))


@settings(max_examples=150)
@given(events=event_sets, sample_T=st.integers(1, 6), overlap=st.sampled_from(OVERLAPS))
def test_every_mode_equals_its_reference_on_random_events_with_ties(spikingjelly, events, sample_T, overlap):
    t, x, y, p = (np.asarray(c, dtype=np.int64) for c in events)
    t = np.sort(t)
    sensor = (4, 3, 2)
    cells, dims = frames.camera_cells(x, y, p, sensor)
    ev = camera_events(t, x, y, p)
    for mode in ("tonic_time_bins", "tonic_event_bins"):
        got = ours(mode, t, cells, dims, sample_T, overlap)
        want, outside = tonic_reference(mode, ev, sensor, sample_T, overlap)
        assert got.outside == outside and (np.array_equal(got.frames, want) or not (len(t) or want.any()))
    np.testing.assert_array_equal(frames.spikingjelly_number(cells, dims, sample_T, np.uint8).frames,
                                  spikingjelly_reference(spikingjelly, "number", t, x, y, p, sensor, sample_T))
    got = frames.spikingjelly_time(t, cells, dims, sample_T, np.uint8).frames
    assert_spikingjelly_time(spikingjelly, t, x, y, p, sensor, sample_T, got)
    if len(t) and t[-1] > t[0]:
        want = tonic.transforms.ToVoxelGrid(sensor_size=sensor, n_time_bins=sample_T)(ev)
        assert frames.voxel_grid(t, x, y, p, sensor, sample_T).tobytes() == want.astype(np.float32).tobytes()
