"""Events builds (``--frames=events``) through the real pipeline: each record's events against the
events the reference reader gives (tonic's dataset classes, h5py, the recordings' own files)
after the dataset's rules; ``load_events`` round trip; frames made of the events equal the
frames builds of the same flags; the refusals."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest
import tonic

import spyx_data
from pipelines import recordings as recordings_pipeline
from pipelines import tonic as tonic_pipeline
from spyx_data import cli
from spyx_data.builder import dvsgesture, fixtures, frames, ncaltech101, raster, registry, synthetic
from spyx_data.format import manifest as manifest_lib
from spyx_data.format import records
from spyx_data.read.shards import open_shard, shard_path

from ..conftest import build_dir
from .test_frames_builds import nmnist_data, read_records, structured, write_recordings  # noqa: F401 (fixture)
from .test_registry import tonic_samples

SAMPLE_T = 8


def build(dataset: str, data_dir, out, *extra, splits: str = "train"):
    return tonic_pipeline.run([f"--dataset={dataset}", f"--data_dir={data_dir}", f"--output_dir={out}",
                               f"--splits={splits}", *extra])


def record_sizes(directory: str, split: str) -> list[int]:
    """The bytes of every record of a split, as ArrayRecord holds them."""
    manifest = manifest_lib.read_manifest(directory)
    sizes = []
    for shard in manifest.split(split).shards:
        reader = open_shard(shard_path(directory, shard), shard)
        sizes += [len(r) for r in reader.read_all()]
        reader.close()
    return sizes


def assert_camera_events(events: spyx_data.SplitEvents, expected: list[tuple[np.ndarray, int]], origin=None):
    """Every sample of ``events`` holds the events ``expected`` (tonic's structured arrays and
    labels) timed from ``origin(events)`` (default: as stored), in order; 9 bytes an event."""
    assert events.num_samples == len(expected) and events.dims[0] == 2
    for k, (want, label) in enumerate(expected):
        t, x, y, p = events.sample(k)
        start = origin(want) if origin else 0
        assert t.dtype == np.uint32 and x.dtype == np.uint16 and y.dtype == np.uint16 and p.dtype == np.uint8
        np.testing.assert_array_equal(t, want["t"].astype(np.int64) - start)
        np.testing.assert_array_equal(x, want["x"])
        np.testing.assert_array_equal(y, want["y"])
        np.testing.assert_array_equal(p, want["p"].astype(np.int64))
        assert events.labels[k] == label


@pytest.mark.parametrize("denoise_us, first_saccade", [(0, False), (3000, False), (0, True)])
def test_nmnist_events_build_holds_tonics_events(nmnist_data, tmp_path, denoise_us, first_saccade):  # noqa: F811
    extra = ["--frames=events", f"--denoise_us={denoise_us}"] + (["--first_saccade_only"] if first_saccade else [])
    manifest = build("nmnist", nmnist_data, tmp_path, *extra)
    directory = build_dir(tmp_path, manifest)
    expected = []
    for ev, label in tonic_samples(registry.get("nmnist"), nmnist_data, "train", first_saccade_only=first_saccade):
        if denoise_us and len(ev):  # tonic's Denoise cannot take an empty recording
            ev = tonic.transforms.Denoise(filter_time=denoise_us)(ev)
        expected.append((ev, label))
    events = spyx_data.load_events(directory, "train")
    assert_camera_events(events, expected)
    assert events.dims == (2, 34, 34) and sorted(np.diff(events.offsets))[0] == 0  # the empty recording is there
    assert record_sizes(directory, "train") == [56 + 9 * len(ev) for ev, _ in expected]
    counts = manifest.split("train").counts
    assert counts["stored_events"] == sum(len(ev) for ev, _ in expected) == len(events.t)
    assert counts["events"] - counts["stored_events"] == counts.get("dropped_by_denoise", 0) + \
        counts["dropped_outside_window"]
    assert (counts["dropped_outside_window"] > 0) == first_saccade
    record = manifest.to_json()
    assert '"values": "events"' in record and '"bytes_per_event": 9' in record and "sample_T" not in manifest.config
    assert manifest.layout == records.RecordLayout(0, (2, 34, 34), "events")


@pytest.mark.parametrize("info", [dvsgesture.DATASET, ncaltech101.DATASET], ids=lambda info: info.name)
def test_camera_events_build_holds_tonics_events_after_its_rules(tmp_path, info):
    """DVS Gesture as stored; N-Caltech101 recentred as tonic's reader does."""
    data_dir = str(tmp_path / "data")
    split = info.splits[-1]
    synthetic.write(info, data_dir, split, 3)
    manifest = build(info.name, data_dir, tmp_path, "--frames=events", splits=split)
    events = spyx_data.load_events(build_dir(tmp_path, manifest), split)
    by_label = {}
    for ev, label in tonic_samples(info, data_dir, split):
        by_label[int(label) if info.classes else info_label(info, data_dir, label)] = ev
    assert events.dims == (2, info.sensor[1], info.sensor[0])
    assert len(by_label) == 3 and len(set(events.labels.tolist())) == events.num_samples > 0  # one a class
    assert_camera_events(events, [(by_label[int(label)], label) for label in events.labels])


def info_label(info, data_dir, label):
    """Our label of a tonic label of a dataset whose classes are its sorted folders."""
    from .test_registry import our_label
    return our_label(info, label, data_dir)


def test_recordings_events_build_times_each_from_its_first_event(tmp_path):
    written = write_recordings(tmp_path / "rec", [300, 0, 1, 250])
    manifest = recordings_pipeline.run([f"--data_dir={tmp_path / 'rec'}", "--sensor_size=20,16,2",
                                        f"--output_dir={tmp_path / 'out'}", "--frames=events"])
    events = spyx_data.load_events(build_dir(tmp_path / "out", manifest), "train")
    labels = [0 if "/a/" in path else 1 for path, _ in written]
    assert_camera_events(events, list(zip([ev for _, ev in written], labels)),
                         origin=lambda ev: int(ev["t"].min()) if len(ev) else 0)
    assert events.dims == (2, 16, 20)


def test_a_time_an_events_record_cannot_hold_is_refused_naming_the_file(tmp_path, capsys):
    written = write_recordings(tmp_path / "rec", [3, 4])
    path, ev = written[1]
    t = ev["t"].copy()
    t[-1] = t[0] + 2**32  # 71.6 minutes after its first event
    with open(path, "wb") as f:
        f.write(fixtures.npy_bytes(structured(t, ev["x"], ev["y"], ev["p"], order="txyp")))
    argv = [f"--data_dir={tmp_path / 'rec'}", "--sensor_size=20,16,2", f"--output_dir={tmp_path / 'out'}",
            "--frames=events"]
    assert recordings_pipeline.main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.splitlines()[-1].startswith(f"error: {path}: ")
    assert f"{path}: event 3 has t=4294967296 us from the time origin, outside the 0..4294967295" in err
    assert not os.path.exists(tmp_path / "out") or not manifest_lib.builds_below(str(tmp_path / "out"))


def shd_data(tmp_path, n=12) -> str:
    data_dir = str(tmp_path / "data")
    synthetic.write(registry.get("shd"), data_dir, "train", n)
    return data_dir


def test_shd_events_build_holds_the_h5s_spikes_by_unit(tmp_path):
    data_dir = shd_data(tmp_path)
    manifest = build("shd", data_dir, tmp_path, "--frames=events")
    directory = build_dir(tmp_path, manifest)
    events = spyx_data.load_events(directory, "train")
    with h5py.File(registry.get("shd").location(data_dir, "train")) as f:
        times, units, labels = list(f["spikes/times"]), list(f["spikes/units"]), f["labels"][:]
    assert events.dims == (700,) and events.y is None and events.p is None
    np.testing.assert_array_equal(events.labels, labels)
    for k in range(len(labels)):
        t, unit = events.sample(k)
        assert t.dtype == np.uint32 and unit.dtype == np.uint16
        np.testing.assert_array_equal(t, np.floor(times[k].astype(np.float64) * 1e6))
        np.testing.assert_array_equal(unit, units[k])
    assert record_sizes(directory, "train") == [56 + 6 * len(t) for t in times]
    assert manifest.split("train").counts["stored_events"] == sum(len(t) for t in times)
    assert "channels" not in manifest.config and "duration_ms" not in manifest.config


def test_shd_events_batches_pad_each_sample(tmp_path):
    events = spyx_data.load_events(build_dir(tmp_path, build("shd", shd_data(tmp_path, 5), tmp_path,
                                                              "--frames=events")), "train")
    batches = list(events.batches(2))
    assert [b.t.shape[0] for b in batches] == [2, 2, 1]
    longest = int(np.diff(events.offsets).max())
    for g, batch in enumerate(batches):
        assert batch.t.shape[1] == longest and batch.t.dtype == np.int32 and not batch.y.any() and not batch.p.any()
        for row in range(batch.t.shape[0]):
            t, unit = events.sample(2 * g + row)
            valid = batch.valid[row]
            assert valid.sum() == len(t) and valid[: len(t)].all()
            np.testing.assert_array_equal(batch.t[row, valid], t)
            np.testing.assert_array_equal(batch.x[row, valid], unit)


# --- every frame configuration made of the events equals the frames build of the same flags ----------------------

def camera_frames_of(events: spyx_data.SplitEvents, spec, k: int) -> np.ndarray:
    """Record ``obs`` of sample ``k`` of ``events`` by the frame options of ``spec`` (a CameraSpec)."""
    t, x, y, p = (c.astype(np.int64) for c in events.sample(k))
    x, y = x // spec.spatial_factor, y // spec.spatial_factor
    p = np.zeros_like(p) if spec.merge_polarity else p
    if spec.frames == "voxel_grid":
        return frames.voxel_grid(t, x, y, p, spec.frame_sensor, spec.sample_T)
    cells, dims = frames.camera_cells(x, y, p, spec.frame_sensor)
    return frames.frame_events(spec, t, cells, dims, spec.sample_T, spec.duration_us)[0]


@pytest.mark.parametrize("flags", [
    [],
    ["--frames=window", "--values=counts", "--denoise_us=3000"],
    ["--frames=tonic_time_bins", "--overlap=0.25", "--values=counts", "--spatial_factor=2"],
    ["--frames=tonic_event_bins", "--merge_polarity"],
    ["--frames=spikingjelly_time", "--values=counts"],
    ["--frames=voxel_grid", "--denoise_us=3000"],
])
def test_nmnist_frames_made_of_the_events_build_equal_the_frames_build(nmnist_data, tmp_path, flags):  # noqa: F811
    denoise = [f for f in flags if f.startswith("--denoise_us")]
    events_build = build("nmnist", nmnist_data, tmp_path / "e", "--frames=events", *denoise)
    events = spyx_data.load_events(build_dir(tmp_path / "e", events_build), "train")
    framed = build("nmnist", nmnist_data, tmp_path / "f", f"--sample_T={SAMPLE_T}", *flags)
    obs, labels = read_records(build_dir(tmp_path / "f", framed), "train")
    spec = registry.get("nmnist").spec(SAMPLE_T, None, **{
        k: v for k, v in (framed.config.items()) if k in ("frames", "values", "overlap", "denoise_us",
                                                          "spatial_factor", "merge_polarity")})
    np.testing.assert_array_equal(events.labels, labels)
    for k in range(events.num_samples):
        assert camera_frames_of(events, spec, k).tobytes() == obs[k].tobytes()


@pytest.mark.parametrize("flags", [
    [],
    ["--frames=window", "--values=counts", "--channels=64", "--denoise_us=2000"],
    ["--frames=tonic_time_bins", "--overlap=0.5"],
    ["--frames=tonic_event_bins", "--values=counts"],
    ["--frames=spikingjelly_number", "--channels=700"],
    ["--frames=spikingjelly_time", "--values=counts"],
])
def test_shd_frames_made_of_the_events_build_equal_the_frames_build(tmp_path, flags):
    data_dir = shd_data(tmp_path, 6)
    denoise = [f for f in flags if f.startswith("--denoise_us")]
    events = spyx_data.load_events(build_dir(tmp_path / "e", build("shd", data_dir, tmp_path / "e", "--frames=events",
                                                                     *denoise)), "train")
    framed = build("shd", data_dir, tmp_path / "f", f"--sample_T={SAMPLE_T}", *flags)
    obs, labels = spyx_data.load_split(build_dir(tmp_path / "f", framed), "train")
    spec = registry.get("shd").spec(SAMPLE_T, None, **{k: v for k, v in framed.config.items() if k in (
        "frames", "values", "overlap", "denoise_us", "channels")})
    np.testing.assert_array_equal(events.labels, labels)
    for k in range(events.num_samples):
        t, unit = (c.astype(np.int64) for c in events.sample(k))
        cells, dims = frames.audio_cells(unit * spec.channels // raster.HEIDELBERG_UNITS, spec.channels)
        assert frames.frame_events(spec, t, cells, dims, SAMPLE_T, spec.duration_us)[0].tobytes() == obs[k].tobytes()


# --- refusals -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dataset, argv, message", [
    ("nmnist", ["--sample_T=8"], "--frames=events stores each sample's events, with no window, time bins or channels "
                                 "(choose them when reading): drop --sample_T"),
    ("nmnist", ["--duration_ms=100"], "drop --duration_ms"),
    ("shd", ["--channels=64"], "drop --channels"),
    ("nmnist", ["--values=counts"], "an events build holds events, no values: leave --values out"),
    ("nmnist", ["--overlap=0.5"], "--overlap is taken by --frames=tonic_time_bins and tonic_event_bins only"),
    ("nmnist", ["--spatial_factor=2"], "keeps the sensor's full resolution and polarities, so that any frames can be "
                                       "made of it later: drop --spatial_factor"),
    ("nmnist", ["--merge_polarity"], "drop --merge_polarity"),
])
def test_options_an_events_build_has_no_use_for_are_refused_in_one_line(tmp_path, capsys, dataset, argv, message):
    code = tonic_pipeline.main([f"--dataset={dataset}", f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'o'}",
                                "--frames=events", *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err


def test_the_frames_readers_refuse_an_events_build_in_one_line_and_the_cli_reads_it(tmp_path, capsys):
    manifest = build("shd", shd_data(tmp_path, 4), tmp_path, "--frames=events")
    directory = build_dir(tmp_path, manifest)
    for name, call in [("load_split", lambda: spyx_data.load_split(directory, "train")),
                       ("prestage", lambda: spyx_data.prestage(directory, "train", 2)),
                       ("open_split", lambda: spyx_data.GrainLoader(spyx_data.open_split(directory, "train"), 2))]:
        with pytest.raises(spyx_data.UsageError) as raised:
            call()
        message = str(raised.value)
        assert "\n" not in message and f"pass frames=Frames(...) to {name}" in message and "load_events" in message
    with pytest.raises(spyx_data.UsageError, match="not of events: read it with spyx_data.load_split"):
        spyx_data.load_events(build_dir(tmp_path, build("shd", shd_data(tmp_path, 4), tmp_path)), "train")
    assert cli.main(["verify", directory]) == 0
    assert cli.main(["info", directory]) == 0
    out = capsys.readouterr().out
    assert "56 bytes + 6 an event" in out and "events per sample: min" in out and "events per sample per class" in out
    png = str(tmp_path / "sample.png")
    assert cli.main(["plot", directory, "--split=train", "--index=1", f"--output={png}"]) == 0
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert cli.main(["plot", directory, "--split=train", "--class=0", f"--output={png}"]) == 2
    assert "a class average is of frames" in capsys.readouterr().err
