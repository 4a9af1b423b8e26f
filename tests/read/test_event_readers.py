"""Reading frames from an events build (``--frames=events``): ``prestage``, ``open_split`` and the
lazy ``EventFrames`` with ``frames=Frames(...)`` give exactly what the frames build of the same
flags (built through the real pipeline) gives, for SHD and for a camera's recordings; one events
build serves any frames; resume and augmentation draws; the refusals."""

from __future__ import annotations

import numpy as np
import pytest

import spyx_data
from pipelines import recordings as recordings_pipeline
from pipelines import tonic as tonic_pipeline
from spyx_data import Frames
from spyx_data.builder import registry, synthetic
from spyx_data.format import manifest as manifest_lib
from spyx_data.read.event_frames import bucket
from spyx_data.read.rasterise import check_event_columns

from ..conftest import build_dir
from ..pipelines.test_frames_builds import write_recordings

SAMPLE_T = 8
BATCH = 3
SHD_FLAGS = [
    [],
    ["--frames=tonic_time_bins", "--overlap=0.5", "--channels=100"],
    ["--frames=tonic_event_bins", "--values=counts", "--overlap=0.25"],
    ["--frames=spikingjelly_number", "--channels=700"],
    ["--frames=spikingjelly_time", "--values=counts", "--channels=64", "--denoise_us=2000"],
]
CAMERA_FLAGS = [
    ["--values=counts", "--denoise_us=2000", "--spatial_factor=3"],
    ["--frames=tonic_time_bins", "--overlap=0.25", "--merge_polarity"],
    ["--frames=tonic_event_bins"],
    ["--frames=spikingjelly_number", "--spatial_factor=2", "--merge_polarity"],
    ["--frames=spikingjelly_time", "--values=counts"],
    ["--frames=voxel_grid", "--denoise_us=2000"],
]


def denoise_of(flags: list[str]) -> list[str]:
    return [f for f in flags if f.startswith("--denoise_us")]


class Builds:
    """A dataset's builds under one root, each built once: ``events(denoise)``, ``frames(flags)``."""

    def __init__(self, root, run):
        self.root, self.run, self.made = root, run, {}

    def get(self, *argv: str) -> str:
        if argv not in self.made:
            self.made[argv] = build_dir(self.root, self.run(list(argv)))
        return self.made[argv]

    def events(self, flags: list[str]) -> str:
        return self.get("--frames=events", *denoise_of(flags))

    def frames(self, flags: list[str]) -> str:
        return self.get(f"--sample_T={SAMPLE_T}", *flags)


@pytest.fixture(scope="module")
def shd(tmp_path_factory) -> Builds:
    root = tmp_path_factory.mktemp("shd-readers")
    data_dir = str(root / "data")
    synthetic.write(registry.get("shd"), data_dir, "train", 7)
    return Builds(root / "out", lambda argv: tonic_pipeline.run(
        ["--dataset=shd", f"--data_dir={data_dir}", f"--output_dir={root / 'out'}", "--splits=train", *argv]))


@pytest.fixture(scope="module")
def camera(tmp_path_factory) -> Builds:
    """Own recordings of a 20 x 16 camera, with the edge cases: no events, one event."""
    root = tmp_path_factory.mktemp("camera-readers")
    write_recordings(root / "rec", [300, 0, 1, 5, 400, 250, 120])
    window = lambda argv: [] if "--frames=events" in argv else ["--duration_ms=40"]  # noqa: E731
    return Builds(root / "out", lambda argv: recordings_pipeline.run(
        [f"--data_dir={root / 'rec'}", "--sensor_size=20,16,2", f"--output_dir={root / 'out'}", *window(argv),
         *argv]))


def assert_same(got, want):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def assert_events_read_as_the_frames_build(builds: Builds, flags: list[str]):
    """prestage (one host and each of 2 hosts, with and without drop_remainder) and open_split of
    the events build with the frames build's Frames equal the frames build's."""
    events, framed = builds.events(flags), builds.frames(flags)
    frames = Frames.of(manifest_lib.read_manifest(framed))
    for hosts, drops in (([(None, None)], (True, False)), ([(0, 2), (1, 2)], (False,))):
        for drop in drops:
            for index, count in hosts:
                kwargs = dict(drop_remainder=drop, process_index=index, process_count=count)
                assert_same(spyx_data.prestage(events, "train", BATCH, frames=frames, **kwargs),
                            spyx_data.prestage(framed, "train", BATCH, **kwargs))
    source, want = spyx_data.open_split(events, "train", frames=frames), spyx_data.open_split(framed, "train")
    assert len(source) == len(want)
    got, expected = source[len(want) - 1], want[len(want) - 1]
    assert got.keys() == expected.keys()
    assert_same(got.values(), expected.values())
    indices = [3, 0, *range(len(want)), 3]
    assert_same(source.read_batch(indices).values(), want.read_batch(indices).values())


@pytest.mark.parametrize("flags", SHD_FLAGS, ids=" ".join)
def test_shd_frames_read_from_the_events_build_equal_the_frames_build(shd, flags):
    assert_events_read_as_the_frames_build(shd, flags)


@pytest.mark.parametrize("flags", CAMERA_FLAGS, ids=" ".join)
def test_camera_frames_read_from_the_events_build_equal_the_frames_build(camera, flags):
    assert_events_read_as_the_frames_build(camera, flags)


def test_one_events_build_serves_every_frames_without_a_rebuild(shd, tmp_path):
    events = shd.events([])
    before = sorted(manifest_lib.builds_below(str(shd.root)))
    shapes = set()
    for frames in [Frames(32, 1000, channels=700), Frames(64, 500, values="counts", channels=64),
                   Frames(16, mode="tonic_event_bins", overlap=0.5, channels=35),
                   Frames(128, mode="spikingjelly_time", channels=10)]:
        obs, labels = spyx_data.prestage(events, "train", 2, frames=frames)
        shapes.add(obs.shape)
        assert obs.shape == (3, 2, *frames.layout((700, 1, 1)).obs_shape) and labels.shape == (3, 2)
    assert len(shapes) == 4 and sorted(manifest_lib.builds_below(str(shd.root))) == before


def test_grain_loader_over_the_events_source_gives_the_frames_builds_batches(camera):
    flags = CAMERA_FLAGS[2]
    framed = camera.frames(flags)
    frames = Frames.of(manifest_lib.read_manifest(framed))
    source = spyx_data.open_split(camera.events(flags), "train", frames=frames)
    for workers in (0, 1):
        want = spyx_data.GrainLoader(spyx_data.open_split(framed, "train"), 2, shuffle=True, seed=3)
        with spyx_data.GrainLoader(source, 2, shuffle=True, seed=3, worker_count=workers) as loader:
            for _ in range(2):  # two epochs
                for got, expected in zip(loader, want, strict=True):
                    assert_same(got, expected)
    state = spyx_data.GrainLoader(source, 2, shuffle=True, seed=3).get_state()
    assert state["source"].endswith(f" as {spyx_data.read.loader.plain(frames)!r}")
    other = spyx_data.GrainLoader(spyx_data.open_split(camera.events(flags), "train",
                                                       frames=Frames(4, 40, merge_polarity=True)), 2, True, 3)
    with pytest.raises(spyx_data.UsageError, match="the loader state is of another stream: its source"):
        other.set_state(state)


def test_the_lazy_form_equals_prestage_batch_by_batch_and_resumes_exactly(camera):
    flags = CAMERA_FLAGS[3]
    events, framed = camera.events(flags), camera.frames(flags)
    frames = Frames.of(manifest_lib.read_manifest(framed))
    obs, labels = spyx_data.prestage(framed, "train", 2)
    lazy = spyx_data.EventFrames(events, "train", 2, frames)
    assert len(lazy) == len(obs)
    for b, batch in enumerate(lazy):
        assert_same(batch, (obs[b], labels[b]))
    shuffled = dict(batch_size=2, frames=frames, shuffle=True, seed=7, drop_remainder=False,
                    transforms=[spyx_data.DropEvent(0.3), spyx_data.TimeJitter(std=50.0)])
    whole = spyx_data.EventFrames(events, "train", **shuffled)
    run = [b for _ in range(2) for b in whole]  # two epochs
    interrupted = spyx_data.EventFrames(events, "train", **shuffled)
    it = iter(interrupted)
    next(it), next(it)
    state = interrupted.get_state()
    resumed = spyx_data.EventFrames(events, "train", **shuffled)
    resumed.set_state(state)
    rest = list(resumed) + list(resumed)
    assert state["position"] == 2 and len(rest) == len(run) - 2
    for got, expected in zip(rest, run[2:]):
        assert_same(got, expected)
    assert not all(np.array_equal(a.obs, b.obs) for a, b in zip(run, run[len(whole):]))  # epochs draw anew


def test_augmentation_draws_do_not_depend_on_the_batch_size(camera):
    events = camera.events([])
    frames = Frames(SAMPLE_T, 40, values="counts")
    transforms = [spyx_data.DropEvent(0.5), spyx_data.SpatialJitter((20, 16, 2), 2.0, 2.0)]
    per_sample = []
    for size in (1, 2, 4):
        loader = spyx_data.EventFrames(events, "train", size, frames, seed=5, drop_remainder=False,
                                       transforms=transforms)
        per_sample.append(np.concatenate([np.asarray(b.obs) for b in loader]))
    plain = np.concatenate([np.asarray(b.obs) for b in spyx_data.EventFrames(events, "train", 4, frames,
                                                                              drop_remainder=False)])
    assert per_sample[0].tobytes() == per_sample[1].tobytes() == per_sample[2].tobytes()
    assert per_sample[0].tobytes() != plain.tobytes() and per_sample[0].sum() < plain.sum()


def test_frames_that_do_not_fit_the_build_are_refused_in_one_line(shd, camera):
    cases = [
        (shd.events([]), Frames(8, 1000), "holds events of a spike train's (units,): give Frames channels="),
        (camera.events([]), Frames(8, 40, channels=4), "holds events of a camera's (2, 16, 20): give Frames no "
                                                        "channels"),
        (shd.events([]), Frames(8, 1000, channels=701), "a spike train of 701 channels needs a sensor (units, 1, 1) "
                                                         "of at least that many units"),
        (shd.frames([]), Frames(16, 1000, channels=700), "holds frames already"),
        (camera.events([]), "window", "frames must be a spyx_data.Frames, got 'window'"),
    ]
    for directory, frames, message in cases:
        for read in (lambda: spyx_data.prestage(directory, "train", 2, frames=frames),
                     lambda: spyx_data.open_split(directory, "train", frames=frames),
                     lambda: spyx_data.EventFrames(directory, "train", 2, frames)):
            with pytest.raises(ValueError) as raised:
                read()
            assert message in str(raised.value) and "\n" not in str(raised.value)
    own = Frames.of(manifest_lib.read_manifest(shd.frames([])))
    assert_same(spyx_data.prestage(shd.frames([]), "train", 2, frames=own), spyx_data.prestage(shd.frames([]),
                                                                                             "train", 2))
    with pytest.raises(ValueError, match="EventMix"):
        spyx_data.EventFrames(camera.events([]), "train", 2, Frames(8, 40),
                              transforms=[spyx_data.EventMix((20, 16, 2))])


def test_events_the_rasteriser_cannot_frame_are_refused_naming_the_sample():
    frames, sensor = Frames(4, mode="tonic_time_bins", values="counts"), (20, 16, 2)
    t = np.array([0, 5, 9, 3, 7, 2**31, 1], np.uint32)
    x, y, p = np.zeros(7, np.uint16), np.zeros(7, np.uint16), np.zeros(7, np.uint8)
    offsets = np.array([0, 3, 5, 5, 7])  # sample 2 has no events; 3 -> 9 -> 3 is two samples, not a step back
    check_event_columns(frames, sensor, (t[:5], x[:5], y[:5], p[:5]), offsets[:4], first_index=10)
    with pytest.raises(ValueError, match=r"^sample 13: event 0 has t=2147483648 us, past the rasteriser's"):
        check_event_columns(frames, sensor, (t, x, y, p), offsets, first_index=10)
    with pytest.raises(ValueError, match="^sample 11: event 1 goes back in time"):
        check_event_columns(frames, sensor, (t[[0, 1, 2, 4, 3]], x[:5], y[:5], p[:5]), offsets[:4], first_index=10)
    check_event_columns(Frames(4, 1), sensor, (t[[0, 1, 2, 4, 3]], x[:5], y[:5], p[:5]), offsets[:4])  # window
    x[4] = 20
    with pytest.raises(ValueError, match=r"^sample 1: event 1 has x=20, outside 0\.\.19$"):
        check_event_columns(frames, sensor, (t[:5], x[:5], y[:5], p[:5]), offsets[:4])


def test_batches_are_padded_to_a_few_lengths():
    assert [bucket(n) for n in (0, 1, 64, 65, 100, 128, 129, 161, 1000)] == [64, 64, 64, 80, 112, 128, 160, 192,
                                                                            1024]
    lengths = {bucket(n) for n in range(1, 1 << 16)}
    assert len(lengths) == 1 + 4 * 10 and all(bucket(n) < 1.25 * n + 1 for n in range(65, 1 << 16))
