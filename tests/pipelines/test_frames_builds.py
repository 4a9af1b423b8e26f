"""Camera builds with the frame options (--frames, --values, --overlap, --denoise_us), through the
real pipeline, each record against the reference library run on the same files: tonic's dataset
class and transforms (ToFrame, ToVoxelGrid, Denoise, Downsample) and SpikingJelly's own
``integrate_events_by_fixed_frames_number`` (see :mod:`benchmarks.references`)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tonic

import spyx_data
from benchmarks import references
from pipelines import recordings as recordings_pipeline
from pipelines import tonic as tonic_pipeline
from spyx_data.builder import dvsgesture, fixtures, frames, nmnist, registry, synthetic
from spyx_data.format import manifest as manifest_lib
from spyx_data.format import records
from spyx_data.read.shards import iter_shard, shard_path

from ..conftest import build_dir
from .test_registry import tonic_samples

SAMPLE_T = 8
#: Edge-case recordings added to the N-MNIST fixture, (t us, x, y, p).
EDGES = {
    "empty": ([], [], [], []),
    "one event": ([4000], [3], [7], [1]),
    "fewer events than T": ([100, 2_000, 40_000], [0, 33, 12], [5, 0, 33], [0, 1, 1]),
}
#: (frames, values, overlap, denoise_us) of the N-MNIST builds.
NMNIST_CASES = [
    ("window", "counts", 0.0, 0),
    ("window", "binary", 0.0, 3000),
    ("tonic_time_bins", "counts", 0.0, 0),
    ("tonic_time_bins", "binary", 0.5, 0),
    ("tonic_time_bins", "counts", 0.25, 3000),
    ("tonic_event_bins", "counts", 0.5, 0),
    ("tonic_event_bins", "binary", 0.0, 0),
    ("spikingjelly_number", "counts", 0.0, 0),
    ("spikingjelly_number", "binary", 0.0, 3000),
    ("spikingjelly_time", "counts", 0.0, 0),
    ("spikingjelly_time", "binary", 0.0, 0),
]


@pytest.fixture(scope="module")
def integrate():
    return references.spikingjelly_integrate()


def flags_of(mode, values, overlap, denoise_us) -> list[str]:
    return [f"--frames={mode}", f"--values={values}", f"--overlap={overlap}", f"--denoise_us={denoise_us}"]


def read_records(directory: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Every record's ``obs`` and label, in source order, read from the shards as the manifest lays them out."""
    manifest = manifest_lib.read_manifest(directory)
    obs, labels = [], []
    for shard in manifest.split(split).shards:
        for _, found in iter_shard(shard_path(directory, shard), shard, manifest):
            obs += [o.copy() for o in found["obs"]]
            labels += found["label"].tolist()
    return np.stack(obs), np.asarray(labels)


def reference(events, mode, overlap, denoise_us, sensor, duration_us, integrate, spatial_factor=1, origin=0):
    """The frames ``[T, P, H, W]`` (int64; float32 for a voxel grid) the reference libraries make
    of one recording's events (tonic's structured array, as stored); ``origin``: the recording's
    time origin (the window's)."""
    events = events.copy()
    width, height, polarities = sensor
    if denoise_us and len(events):  # tonic's Denoise cannot take an empty recording
        events = tonic.transforms.Denoise(filter_time=denoise_us)(events)
    if spatial_factor != 1:
        events = tonic.transforms.Downsample(spatial_factor=1 / spatial_factor)(events)
        width, height = -(-width // spatial_factor), -(-height // spatial_factor)
    sensor, shape = (width, height, polarities), (SAMPLE_T, polarities, height, width)
    columns = {k: events[k].astype(np.int64) for k in "txyp"}
    if mode == "voxel_grid":
        # tonic writes -1 for polarity 0 into its events: into DVSGesture's bool field that is True,
        # so every event would count +1. Its arithmetic is compared on polarities widened to int.
        events = events.astype([(k, np.int64) for k in events.dtype.names])
        if not len(events):
            return np.zeros((SAMPLE_T, 1, height, width), np.float32)
        return tonic.transforms.ToVoxelGrid(sensor_size=sensor, n_time_bins=SAMPLE_T)(events).astype(np.float32)
    if mode == "window":
        t = columns["t"] - origin
        keep = t < duration_us
        dense = np.zeros(shape, np.int64)
        np.add.at(dense, (t[keep] * SAMPLE_T // duration_us, *(columns[k][keep] for k in "pyx")), 1)
        return dense
    if mode.startswith("tonic"):
        if not len(events):  # tonic's empty frames are zeros laid out [T, P, W, H]
            return np.zeros(shape, np.int64)
        bins = {"tonic_time_bins": "n_time_bins", "tonic_event_bins": "n_event_bins"}[mode]
        return tonic.transforms.ToFrame(sensor_size=sensor, overlap=overlap, **{bins: SAMPLE_T})(events).astype(np.int64)
    split_by = mode.removeprefix("spikingjelly_")
    try:
        return integrate(columns, split_by, SAMPLE_T, height, width).astype(np.int64)
    except IndexError:  # SpikingJelly's time split fails on an empty time range: the documented formula instead
        assert split_by == "time" and frames.spikingjelly_time_fails(columns["t"], SAMPLE_T)
        cells, dims = frames.camera_cells(columns["x"], columns["y"], columns["p"], sensor)
        return frames.spikingjelly_time(columns["t"], cells, dims, SAMPLE_T, np.uint16).frames.astype(np.int64)


def assert_records_equal(obs, values, expected) -> None:
    for got, want in zip(obs, expected, strict=True):
        if values == "counts":
            assert got.dtype == np.dtype("<u2")
            np.testing.assert_array_equal(got, want)
        elif want.dtype == np.float32:
            assert got.dtype == np.dtype("<f4") and got.tobytes() == want.tobytes()
        else:  # binary: the reference's frames > 0, packed
            np.testing.assert_array_equal(got, records.pack_time(want > 0))


@pytest.fixture(scope="module")
def nmnist_data(tmp_path_factory):
    """N-MNIST's fixture (train and test), with the edge-case recordings in train's class 0."""
    data_dir = str(tmp_path_factory.mktemp("nmnist") / "data")
    root = synthetic.write(nmnist.DATASET, data_dir, "train", 5)
    synthetic.write(nmnist.DATASET, data_dir, "test", 3)
    for i, columns in enumerate(EDGES.values()):
        with open(os.path.join(root, "0", f"9000{i}.bin"), "wb") as f:
            f.write(fixtures.encode_atis_bin(*(np.asarray(c, dtype=np.int64) for c in columns)))
    return data_dir


def build_nmnist(data_dir, out, *extra):
    return tonic_pipeline.run(["--dataset=nmnist", f"--data_dir={data_dir}", f"--output_dir={out}", "--splits=train",
                               f"--sample_T={SAMPLE_T}", *extra])


@pytest.mark.parametrize("mode, values, overlap, denoise_us", NMNIST_CASES)
def test_nmnist_build_equals_tonic_and_spikingjelly(nmnist_data, tmp_path, integrate, mode, values, overlap,
                                                    denoise_us):
    manifest = build_nmnist(nmnist_data, tmp_path, *flags_of(mode, values, overlap, denoise_us))
    info = registry.get("nmnist")
    samples = tonic_samples(info, nmnist_data, "train")
    assert sorted(len(ev) for ev, _ in samples)[:3] == [0, 1, 3]  # the edge cases are among them
    obs, labels = read_records(build_dir(tmp_path, manifest), "train")
    assert labels.tolist() == [label for _, label in samples]
    expected = [reference(ev, mode, overlap, denoise_us, info.sensor, info.duration_ms * 1000, integrate)
                for ev, _ in samples]
    assert_records_equal(obs, values, expected)
    counts = manifest.split("train").counts
    assert counts["events"] == sum(len(ev) for ev, _ in samples) and counts["empty_samples"] == 1
    denoised = sum(len(ev) - len(tonic.transforms.Denoise(filter_time=denoise_us)(ev)) for ev, _ in samples if len(ev))
    assert counts.get("dropped_by_denoise", 0) == (denoised if denoise_us else 0)
    if not overlap:  # each event in at most one frame: those in none are counted
        framed = sum(int(e.sum()) for e in expected)
        outside = "dropped_outside_window" if mode == "window" else "dropped_by_frames"
        assert counts.get(outside, 0) == counts["events"] - counts.get("dropped_by_denoise", 0) - framed
        assert counts.get(outside, 0) > 0 or mode not in ("tonic_time_bins", "tonic_event_bins")  # their tails
    assert manifest.config["frames"] == mode if mode != "window" else "frames" not in manifest.config


def test_the_options_name_their_own_builds_and_the_defaults_keep_the_default_build(nmnist_data, tmp_path):
    default = build_nmnist(nmnist_data, tmp_path)
    assert "frames" not in default.config and not {"dropped_by_denoise", "dropped_by_frames",
                                                   "clipped_cells"} & set(default.split("train").counts)
    stated = build_nmnist(nmnist_data, tmp_path, *flags_of("window", "binary", 0, 0))
    assert stated.build_name == default.build_name
    names = {default.build_name}
    for extra in (["--values=counts"], ["--denoise_us=1"], ["--frames=tonic_time_bins"],
                  ["--frames=tonic_time_bins", "--overlap=0.5"]):
        names.add(build_nmnist(nmnist_data, tmp_path, *extra).build_name)
    assert len(names) == 5


def test_nmnist_loader_finds_the_build_of_its_frame_options(tmp_path):
    download_dir = str(tmp_path / "dl")
    for split, n in (("train", 4), ("test", 2)):
        synthetic.write(nmnist.DATASET, download_dir, split, n)
    options = {"frames": "tonic_time_bins", "values": "counts", "overlap": 0.25, "denoise_us": 3000}
    loader = spyx_data.NMNIST_loader(batch_size=2, sample_T=SAMPLE_T, download_dir=download_dir, **options)
    assert {k: loader.manifest.config[k] for k in options} == options
    assert loader.manifest.layout.values == "counts" and loader.obs_shape == (2, 34, 34)
    built = tonic_pipeline.run(["--dataset=nmnist", f"--data_dir={download_dir}", f"--output_dir={tmp_path / 'cli'}",
                                f"--sample_T={SAMPLE_T}", *flags_of(*options.values())])
    assert os.path.basename(loader.shards_dir) == built.build_name
    obs, labels = spyx_data.load_split(build_dir(tmp_path / "cli", built), "train")
    assert obs.dtype == np.uint16 and obs.shape == (4, SAMPLE_T, 2, 34, 34) and obs.any()
    batches = list(loader.train_epoch())  # unshuffled order is not asked for: compare as sets of samples
    served = sorted((int(label), o.tobytes()) for b in batches for o, label in zip(np.asarray(b.obs), b.labels))
    assert all(np.asarray(b.obs).dtype == np.uint16 for b in batches)
    assert served == sorted((int(label), o.tobytes()) for o, label in zip(obs, labels))
    staged, _ = loader.prestage("train")
    assert staged.dtype == np.uint16 and staged.shape == (2, 2, SAMPLE_T, 2, 34, 34)
    loader.close()


def test_voxel_grid_of_a_one_event_recording_is_zeros_its_event_dropped_and_counted(nmnist_data, tmp_path):
    """tonic writes NaN for a recording whose events are all at one time; the build writes
    zeros, its events dropped as every event at the recording's last time is, and counted."""
    manifest = build_nmnist(nmnist_data, tmp_path, "--frames=voxel_grid")
    root = registry.get("nmnist").location(nmnist_data, "train")
    paths = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)
    obs, _ = read_records(build_dir(tmp_path, manifest), "train")
    one = obs[paths.index(os.path.join("0", "90001.bin"))]
    assert obs.dtype == np.float32 and not one.any() and obs.any()
    assert manifest.split("train").counts["dropped_by_frames"] >= 1


@pytest.mark.parametrize("argv, message", [
    (["--frames=voxel_grid", "--merge_polarity"], "--frames=voxel_grid needs the sensor's 2 polarities"),
    (["--frames=voxel_grid", "--values=counts"], "a voxel grid holds float32 values"),
    (["--overlap=0.5"], "--overlap is taken by --frames=tonic_time_bins and tonic_event_bins only"),
    (["--frames=tonic_time_bins", "--overlap=1"], "overlap is a fraction of a frame in [0, 1)"),
    (["--denoise_us=-1"], "denoise_us is a whole number of microseconds >= 0"),
    (["--frames=tonic"], "argument --frames: invalid choice: 'tonic'"),
    (["--values=int"], "argument --values: invalid choice: 'int'"),
])
def test_bad_frame_options_are_refused_in_one_line(tmp_path, capsys, argv, message):
    code = tonic_pipeline.main(["--dataset=nmnist", f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'o'}", *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err


@pytest.mark.parametrize("mode, values, denoise_us, spatial_factor", [
    ("tonic_time_bins", "counts", 10_000, 4),  # NeuroBench's DVS Gesture input, T smaller
    ("spikingjelly_number", "counts", 0, 1),
    ("spikingjelly_time", "binary", 0, 1),
    ("voxel_grid", "binary", 5_000, 1),
])
def test_dvsgesture_build_equals_tonic_and_spikingjelly(tmp_path, integrate, mode, values, denoise_us, spatial_factor):
    data_dir = str(tmp_path / "data")
    synthetic.write(dvsgesture.DATASET, data_dir, "test", 3)
    manifest = tonic_pipeline.run(["--dataset=dvsgesture", f"--data_dir={data_dir}", f"--output_dir={tmp_path}",
                                   "--splits=test", f"--sample_T={SAMPLE_T}", f"--spatial_factor={spatial_factor}",
                                   f"--frames={mode}", f"--values={values}", f"--denoise_us={denoise_us}"])
    info = registry.get("dvsgesture")
    samples = tonic_samples(info, data_dir, "test")
    obs, labels = read_records(build_dir(tmp_path, manifest), "test")
    assert sorted(labels.tolist()) == sorted(int(label) for _, label in samples)
    expected = {int(label): reference(ev, mode, 0.0, denoise_us, info.sensor, info.duration_ms * 1000, integrate,
                                      spatial_factor) for ev, label in samples}
    assert len(expected) == len(samples)  # one recording a class: matched by label
    assert_records_equal(obs, values, [expected[int(label)] for label in labels])
    if mode == "voxel_grid":
        assert manifest.layout.dims == (1, 128, 128) and manifest.layout.values == "float32"


# --- pipelines.recordings ----------------------------------------------------------------------------------------

SENSOR = (20, 16, 2)
CLOCK_US = 1_700_000_000


def recording(seed: int, n: int):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 50_000, n)) + CLOCK_US + seed * 1_000_003
    return t, rng.integers(0, SENSOR[0], n), rng.integers(0, SENSOR[1], n), rng.integers(0, 2, n)


def structured(t, x, y, p, order="xytp") -> np.ndarray:
    """Events in fields of ``order`` (tonic's camera order by default; ``"txyp"`` as the files hold them)."""
    array = np.zeros(len(t), dtype=[(k, np.int64) for k in order])
    array["t"], array["x"], array["y"], array["p"] = t, x, y, p
    return array


def write_recordings(root, sizes):
    """``root/train/<a|b>/<i>.npy`` of ``sizes`` events each; their events in file order."""
    written = []
    for i, n in enumerate(sizes):
        path = os.path.join(root, "train", "ab"[i % 2], f"{i}.npy")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        events = structured(*recording(i, n))
        with open(path, "wb") as f:
            f.write(fixtures.npy_bytes(structured(*recording(i, n), order="txyp")))
        written.append((path, events))
    return sorted(written)


@pytest.mark.parametrize("mode, values, overlap, denoise_us", [
    ("window", "counts", 0.0, 2000),
    ("tonic_time_bins", "binary", 0.25, 0),
    ("tonic_event_bins", "counts", 0.0, 2000),
    ("spikingjelly_number", "counts", 0.0, 0),
    ("spikingjelly_time", "counts", 0.0, 2000),
])
def test_recordings_build_equals_the_references(tmp_path, integrate, mode, values, overlap, denoise_us):
    written = write_recordings(tmp_path / "rec", [300, 0, 1, 5, 400, 250])
    manifest = recordings_pipeline.run([
        f"--data_dir={tmp_path / 'rec'}", "--sensor_size=20,16,2", f"--output_dir={tmp_path / 'out'}",
        f"--sample_T={SAMPLE_T}", "--duration_ms=40", *flags_of(mode, values, overlap, denoise_us)])
    obs, _ = read_records(build_dir(tmp_path / "out", manifest), "train")
    expected = [reference(ev, mode, overlap, denoise_us, SENSOR, 40_000, integrate,
                          origin=int(ev["t"].min()) if len(ev) else 0) for _, ev in written]
    assert_records_equal(obs, values, expected)


def test_an_unsorted_recording_under_a_time_split_is_refused_naming_it(tmp_path, capsys):
    written = write_recordings(tmp_path / "rec", [30, 40])
    path, events = written[1]
    with open(path, "wb") as f:
        f.write(fixtures.npy_bytes(structured(*(events[k][::-1] for k in "txyp"), order="txyp")))
    argv = [f"--data_dir={tmp_path / 'rec'}", "--sensor_size=20,16,2", f"--output_dir={tmp_path / 'out'}"]
    assert recordings_pipeline.main([*argv, "--frames=tonic_time_bins"]) == 2
    err = capsys.readouterr().err
    last = err.splitlines()[-1]
    assert "Traceback" not in err and f"{path}: event 1 goes back in time" in last and "sort the events" in last
    # Split by number, the file's order is the order: built.
    assert recordings_pipeline.main([*argv, "--frames=spikingjelly_number", "--values=counts"]) == 0


def test_recordings_take_the_frame_flags(capsys):
    with pytest.raises(SystemExit):
        recordings_pipeline.main(["--help"])
    out = capsys.readouterr().out
    assert all(f"--{name}" in out for name in ("frames", "values", "overlap", "denoise_us"))
