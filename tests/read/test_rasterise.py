"""The JAX rasteriser (:func:`spyx_data.read.rasterise.rasterise`) against the numpy one
(:mod:`spyx_data.builder.frames`, per sample, after the same spatial / channel mapping), byte
for byte: every mode and kind of values, cameras and spike trains, edge cases, jitted; and
:class:`spyx_data.Frames` (its refusals are the builds', its layout the build's)."""

from __future__ import annotations

import h5py
import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spyx_data
from pipelines import shd
from spyx_data.builder import fixtures, frames, raster, synthetic
from spyx_data.builder.camera import CameraSpec, SampleFiles
from spyx_data.builder.heidelberg import AudioSpec
from spyx_data.format.framing import MODES, Frames
from spyx_data.read.events import pad
from spyx_data.read.rasterise import check_events, rasterise

from ..conftest import build_dir

SENSOR = (34, 34, 2)
FILES = SampleFiles(".npy", decode=None, label=None)
UNITS = 700
T = 12


def numpy_obs(f: Frames, sensor: tuple[int, int, int], sample) -> np.ndarray:
    """The numpy rasteriser's record ``obs`` of one sample ``(t, x, y, p)``."""
    t, x, y, p = (np.asarray(c, dtype=np.int64) for c in sample)
    options = frames.FrameOptions(frames=f.mode, values=f.values, overlap=f.overlap)
    duration_us = f.duration_us or 1
    if f.spike_train:
        cells, dims = frames.audio_cells(x * f.channels // sensor[0], f.channels)
        return frames.frame_events(options, t, cells, dims, f.sample_T, duration_us)[0]
    xs, ys = x // f.spatial_factor, y // f.spatial_factor
    ps = np.zeros_like(p) if f.merge_polarity else p
    polarities, height, width = raster.frame_shape(sensor, f.spatial_factor, f.merge_polarity)
    if f.mode == "voxel_grid":
        return frames.voxel_grid(t, xs, ys, ps, (width, height, polarities), f.sample_T)
    cells, dims = frames.camera_cells(xs, ys, ps, (width, height, polarities))
    return frames.frame_events(options, t, cells, dims, f.sample_T, duration_us)[0]


def assert_equal(f: Frames, sensor, samples, length=None) -> np.ndarray:
    """``rasterise`` of ``samples`` padded to ``length`` equals the numpy obs of each, bytes and dtype."""
    batch = pad(samples, length)
    check_events(f, sensor, batch)
    found = np.asarray(rasterise(f, sensor, batch))
    layout = f.layout(sensor)
    assert found.shape == (len(samples), *layout.obs_shape) and found.dtype == layout.obs_dtype
    for i, sample in enumerate(samples):
        want = numpy_obs(f, sensor, sample)
        assert want.dtype == found.dtype and want.tobytes() == found[i].tobytes(), f"sample {i}"
    return found


def camera_sample(rng, n: int, t_max: int = 200_000, sensor=SENSOR):
    t = np.sort(rng.integers(0, t_max, n))
    return t, rng.integers(0, sensor[0], n), rng.integers(0, sensor[1], n), rng.integers(0, sensor[2], n)


def edge_cases(rng, sensor=SENSOR) -> list[tuple]:
    """Samples of different lengths (so different padding) and the edge cases: empty, one
    event, fewer events than T, all at one time, a long pause (empty frames inside)."""
    at = [np.array(c) for c in ([5_000] * 3, [1, 2, 3], [4, 5, 6], [0, 1, 1])]
    pause = camera_sample(rng, 40, 10_000, sensor)
    pause = (np.concatenate([pause[0], pause[0] + 150_000]), *(np.concatenate([c, c]) for c in pause[1:]))
    return [camera_sample(rng, 300, sensor=sensor), tuple(np.zeros(0, np.int64) for _ in range(4)),
            camera_sample(rng, 1, sensor=sensor), camera_sample(rng, T - 3, sensor=sensor), at, pause,
            camera_sample(rng, 2_000, sensor=sensor)]


CONFIGS = [(mode, values, overlap) for mode in MODES if mode != "voxel_grid" for values in ("binary", "counts")
           for overlap in ((0.0, 0.25) if mode in ("tonic_time_bins", "tonic_event_bins") else (0.0,))]


@pytest.mark.parametrize(("mode", "values", "overlap"), CONFIGS)
@pytest.mark.parametrize(("factor", "merge"), [(1, False), (4, True)])
def test_camera_frames_equal_numpy_per_sample(mode, values, overlap, factor, merge):
    f = Frames(T, 150, mode, values, overlap, spatial_factor=factor, merge_polarity=merge)
    assert_equal(f, SENSOR, edge_cases(np.random.default_rng(1)))


@pytest.mark.parametrize("factor", [1, 4])
def test_voxel_grid_equals_tonics_float64_arithmetic_rounded_once(factor):
    f = Frames(T, mode="voxel_grid", spatial_factor=factor)
    samples = edge_cases(np.random.default_rng(2))
    found = assert_equal(f, SENSOR, samples, length=2_500)
    assert np.any(found[0] != 0) and np.all(found[1] == 0) and np.all(found[4] == 0)  # empty; all at one time


@pytest.mark.parametrize(("mode", "values", "overlap"), CONFIGS)
def test_spike_train_frames_equal_numpy_per_sample(mode, values, overlap):
    channels = UNITS if values == "binary" else 128  # channels = units, and fewer
    rng = np.random.default_rng(3)
    samples = [(t, x, np.zeros_like(x), np.zeros_like(x)) for t, x, _, _ in edge_cases(rng, (UNITS, 1, 1))]
    assert_equal(Frames(T, 150, mode, values, overlap, channels=channels), (UNITS, 1, 1), samples)


def test_default_window_equals_the_default_builds_records():
    rng = np.random.default_rng(4)
    samples = edge_cases(rng)
    packed, _ = raster.camera_rasters(samples, T, 150_000, SENSOR, 4, True)
    found = rasterise(Frames(T, 150, spatial_factor=4, merge_polarity=True), SENSOR, pad(samples))
    assert np.asarray(found).tobytes() == packed.tobytes()
    times = [(t / 1e6) for t, *_ in samples]
    units = [x for _, x, _, _ in edge_cases(rng, (UNITS, 1, 1))]
    times = [np.sort(rng.integers(0, 1_200_000, len(u))) for u in units]
    packed, _ = raster.audio_rasters([t / 1e6 for t in times], units, T, 128, 1_000_000, us_per_time=1_000_000)
    trains, _ = raster.spike_events([t / 1e6 for t in times], units)
    batch = pad([(s.t_us, s.unit, 0 * s.unit, 0 * s.unit) for s in trains])
    assert np.asarray(rasterise(Frames(T, 1000, channels=128), (UNITS, 1, 1), batch)).tobytes() == packed.tobytes()


def test_counts_are_clipped_not_wrapped_and_overlaps_count_an_event_in_several_frames():
    n = 70_000
    sample = (np.arange(n), np.full(n, 3), np.full(n, 4), np.ones(n, np.int64))
    counts = np.asarray(rasterise(Frames(1, 100, values="counts"), SENSOR, pad([sample])))
    assert counts[0, 0, 1, 4, 3] == 65_535 and counts.dtype == np.uint16
    # 8 events, 4 frames of count int(2 * 1.75) = 3 with stride int(3 * 0.25) = 0: every frame holds events 0..2
    eight = camera_sample(np.random.default_rng(5), 8)
    f = Frames(4, mode="tonic_event_bins", values="counts", overlap=0.75)
    found = assert_equal(f, SENSOR, [eight])
    assert found[0].reshape(4, -1).sum(axis=1).tolist() == [3, 3, 3, 3]


def test_times_near_the_int32_limit():
    top = 2**31 - 1
    rng = np.random.default_rng(6)
    samples = [(np.sort(rng.integers(top - 5_000_000, top, 500)), *camera_sample(rng, 500)[1:]),
               (np.array([0, top // 2, top]), *camera_sample(rng, 3)[1:])]
    duration_ms = top // 1000 + 1  # the window's last edges pass 2**31
    for mode, overlap in [("window", 0.0), ("tonic_time_bins", 0.0), ("tonic_time_bins", 0.9),
                          ("spikingjelly_time", 0.0), ("voxel_grid", 0.0)]:
        values = "binary" if mode == "voxel_grid" else "counts"
        assert_equal(Frames(T, duration_ms, mode, values, overlap), SENSOR, samples)


def test_rasterise_inside_a_jitted_function_and_unsorted_times_are_refused_by_check_events():
    rng = np.random.default_rng(7)
    f = Frames(T, mode="spikingjelly_time", values="counts")
    batch = pad(edge_cases(rng))
    total = jax.jit(lambda b: rasterise(f, SENSOR, b).sum(dtype=np.int32))(batch)
    assert int(total) == sum(int(numpy_obs(f, SENSOR, s).sum()) for s in edge_cases(np.random.default_rng(7)))
    back = pad([(np.array([5, 3]), np.array([0, 1]), np.array([0, 0]), np.array([0, 1]))])
    with pytest.raises(ValueError, match="sample 0: event 1 goes back in time"):
        check_events(f, SENSOR, back)
    check_events(Frames(T, mode="tonic_event_bins"), SENSOR, back)  # the order is its own order
    off = pad([(np.array([1]), np.array([34]), np.array([0]), np.array([0]))])
    with pytest.raises(ValueError, match="event 0 has x=34, outside 0..33"):
        check_events(f, SENSOR, off)
    assert np.asarray(rasterise(f, SENSOR, off)).sum() == 0  # off the sensor: in no cell


@settings(max_examples=15, deadline=None)
@given(st.sampled_from([c for c in CONFIGS if c[1] == "counts"]), st.lists(st.integers(0, 40), min_size=1, max_size=4),
       st.sampled_from([1, 3, 8]), st.integers(0, 2**31 - 1))
def test_random_samples_equal_numpy(config, lengths, sample_T, t_max):
    mode, values, overlap = config
    rng = np.random.default_rng(sum(lengths) + t_max)
    samples = [camera_sample(rng, n, max(t_max, 1), (5, 3, 2)) for n in lengths]
    assert_equal(Frames(sample_T, 7, mode, values, overlap), (5, 3, 2), samples, length=48)


BAD = [dict(frames="nope"), dict(values="float32"), dict(frames="voxel_grid", values="counts"),
       dict(overlap=1.0), dict(overlap=-0.1), dict(overlap="0.5"), dict(frames="spikingjelly_time", overlap=0.5)]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("spike_train", [False, True])
def test_frames_refuse_what_the_builds_refuse_with_their_message(bad, spike_train):
    spec = dict(dataset="shd", sample_T=8) if spike_train else dict(
        dataset="x", sensor=SENSOR, files=FILES, classes=None, sample_T=8, duration_ms=10)
    with pytest.raises(ValueError) as build:
        (AudioSpec if spike_train else CameraSpec)(**spec, **bad)
    mine = {"mode" if k == "frames" else k: v for k, v in bad.items()}
    with pytest.raises(ValueError) as reader:
        Frames(8, 10, channels=64 if spike_train else None, **mine)
    assert str(reader.value) == str(build.value)


def test_frames_refuse_a_spike_trains_voxel_grid_and_merged_voxels_as_builds_do():
    with pytest.raises(ValueError) as build:
        AudioSpec(sample_T=8, frames="voxel_grid")
    with pytest.raises(ValueError) as reader:
        Frames(8, mode="voxel_grid", channels=64)
    assert str(reader.value) == str(build.value)
    with pytest.raises(ValueError) as build:
        CameraSpec("x", SENSOR, FILES, None, 8, 10, merge_polarity=True, frames="voxel_grid")
    with pytest.raises(ValueError) as reader:
        Frames(8, mode="voxel_grid", merge_polarity=True)
    assert str(reader.value) == str(build.value)
    with pytest.raises(ValueError, match="give duration_ms"):
        Frames(8)
    with pytest.raises(ValueError, match="no pixels nor polarities"):
        Frames(8, 10, channels=64, spatial_factor=2)


def test_camera_specs_layout_is_frames_layout():
    for options in (dict(), dict(frames="voxel_grid", spatial_factor=3), dict(values="counts", merge_polarity=True)):
        spec = CameraSpec("x", (240, 180, 2), FILES, None, 20, 10, **options)
        assert spec.layout == spec.framing(spatial_factor=spec.spatial_factor,
                                           merge_polarity=spec.merge_polarity).layout((240, 180, 2))
        manifest = type("Manifest", (), {"config": spec.config(), "layout": spec.layout, "build_name": "x"})()
        assert Frames.of(manifest).layout((240, 180, 2)) == spec.layout


def test_an_shd_frames_build_equals_rasterise_of_its_events_and_frames_of_its_manifest(tmp_path):
    data, out = str(tmp_path / "data"), str(tmp_path / "out")
    path = synthetic.shd_path(data, "train")
    fixtures.write_heidelberg(path, [fixtures.audio_sample(3, "train", i) for i in range(5)]
                              + [(np.array([]), np.array([]), 1, 0), (np.array([0.25]), np.array([17]), 2, 0)])
    flags = ["--sample_T=16", "--channels=64", "--frames=tonic_time_bins", "--values=counts", "--overlap=0.25"]
    build = build_dir(out, shd.run([f"--data_dir={data}", f"--output_dir={out}", "--splits=train", *flags]))
    manifest = spyx_data.read_manifest(build)
    f = spyx_data.Frames.of(manifest)
    assert f == Frames(16, 1000, "tonic_time_bins", "counts", 0.25, channels=64)
    assert f.layout((UNITS, 1, 1)) == manifest.layout
    obs, _ = spyx_data.load_split(build, "train")
    with h5py.File(path) as h5:
        trains, _ = raster.spike_events(list(h5["spikes/times"]), list(h5["spikes/units"]))
    batch = pad([(s.t_us, s.unit, 0 * s.unit, 0 * s.unit) for s in trains])
    assert np.asarray(rasterise(f, (UNITS, 1, 1), batch)).tobytes() == np.asarray(obs).tobytes()
