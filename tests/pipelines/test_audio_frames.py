"""The frame options of the spike-train builds (``--frames``, ``--values``, ``--overlap``,
``--denoise_us``), built through the real pipelines and compared record for record with the
reference libraries on the same files: tonic's ``SHD`` / ``NTIDIGITS18`` events through tonic's
``Denoise`` and ``ToFrame``, and SpikingJelly's own ``integrate_events_by_fixed_frames_number``."""

from __future__ import annotations

import os
from unittest import mock

import numpy as np
import pytest
import tonic

from benchmarks import references
from pipelines import shd
from pipelines import tonic as tonic_pipeline
from spyx_data import cli, summaries
from spyx_data.builder import fixtures, frames, raster, synthetic
from spyx_data.builder import shd as shd_module
from spyx_data.format import records
from spyx_data.loaders import SHD_loader
from spyx_data.read.shards import read_shard

from ..conftest import build_dir, files

T = 16  # frames per sample
WINDOW_US = 1_000_000  # SHD's default window
UNITS = 700

# Every mode with each overlap it takes (tonic's slicers), each with binary and counts values;
# then denoise with a few of them.
MODES = [("window", 0.0), ("tonic_time_bins", 0.0), ("tonic_time_bins", 0.5), ("tonic_event_bins", 0.0),
         ("tonic_event_bins", 0.25), ("spikingjelly_number", 0.0), ("spikingjelly_time", 0.0)]
CONFIGS = [(mode, values, overlap, 0) for mode, overlap in MODES for values in ("binary", "counts")] + [
    ("window", "binary", 0.0, 20_000), ("tonic_time_bins", "counts", 0.25, 20_000),
    ("spikingjelly_number", "counts", 0.0, 5_000), ("spikingjelly_time", "binary", 0.0, 20_000)]


def config_id(config) -> str:
    mode, values, overlap, denoise_us = config
    return f"{mode}-{values}-overlap{overlap}-denoise{denoise_us}"


def flags(config) -> list[str]:
    """The config as flags, every one given (defaults too)."""
    mode, values, overlap, denoise_us = config
    return [f"--frames={mode}", f"--values={values}", f"--overlap={overlap}", f"--denoise_us={denoise_us}"]


def edge_samples(split: str) -> list[tuple]:
    """Synthetic samples and the edge cases: an empty sample, one event, fewer events than T,
    adjacent units close in time beside an isolated one (denoise keeps the former only)."""
    samples = [fixtures.audio_sample(3, split, i) for i in range(4)]
    samples += [
        (np.array([]), np.array([]), 1, 0),
        (np.array([0.25]), np.array([17]), 2, 0),
        (np.array([0.1, 0.1, 0.5]), np.array([3, 4, 3]), 3, 0),
        (np.array([0.01, 0.0105, 0.3, 1.2]), np.array([10, 11, 500, 600]), 4, 0),
    ]
    return samples


@pytest.fixture(scope="module")
def shd_data(tmp_path_factory) -> str:
    data_dir = str(tmp_path_factory.mktemp("audio-frames") / "data")
    for split in ("train", "test"):
        fixtures.write_heidelberg(synthetic.shd_path(data_dir, split), edge_samples(split),
                                  class_names=shd_module.CLASSES)
    return data_dir


@pytest.fixture(scope="module")
def shd_builds(shd_data, tmp_path_factory) -> dict:
    """Each config built from ``shd_data``'s train split with 700 channels (a cell is a unit):
    ``{config: (build folder, manifest)}``; the config None is the build without frame flags."""
    root = tmp_path_factory.mktemp("audio-frames-builds")
    out = {}
    for config in [None, *CONFIGS]:
        manifest = shd.run([f"--data_dir={shd_data}", f"--output_dir={root}", "--splits=train", f"--sample_T={T}",
                            f"--channels={UNITS}", *(flags(config) if config else [])])
        out[config] = (build_dir(root, manifest), manifest)
    return out


@pytest.fixture(scope="module")
def integrate():
    return references.spikingjelly_integrate()


def tonic_events(cls, data_dir: str, **kwargs) -> list[tuple[np.ndarray, int]]:
    """tonic's own (events, label) of a dataset's split, its download check bypassed."""
    with mock.patch.object(cls, "_check_exists", lambda self: True):
        dataset = cls(data_dir, **kwargs)
    return [dataset[i] for i in range(len(dataset))]


def tonic_denoise(events: np.ndarray, denoise_us: int) -> np.ndarray:
    """tonic's ``Denoise`` on tonic's spike-train events (``t, x, p``), given the ``y = 0`` it
    needs; an empty sample stays empty (tonic's takes the maximum of no ``x``)."""
    if not denoise_us or len(events) == 0:
        return events
    with_y = np.zeros(len(events), dtype=[("t", int), ("x", int), ("y", int), ("p", int)])
    for name in events.dtype.names:
        with_y[name] = events[name]
    return tonic.transforms.Denoise(filter_time=denoise_us)(with_y)


def reference(events: np.ndarray, mode: str, overlap: float, units: int, integrate) -> np.ndarray:
    """The reference's frames ``int64[T, units]`` of a sample's (denoised) events."""
    t, x = events["t"].astype(np.int64), events["x"].astype(np.int64)
    if mode == "window":  # the builds' own rule, written out
        keep = t < WINDOW_US
        dense = np.zeros((T, units), np.int64)
        np.add.at(dense, (t[keep] * T // WINDOW_US, x[keep]), 1)
        return dense
    if mode.startswith("tonic"):
        option = "n_time_bins" if mode == "tonic_time_bins" else "n_event_bins"  # (a copy: tonic sets p = 0 in it)
        out = np.asarray(tonic.transforms.ToFrame(sensor_size=(units, 1, 1), overlap=overlap, **{option: T})(events.copy()))
        # [T, P, X] of tonic's spike-train events, [T, P, Y, X] of those with the y denoise needs, and tonic's
        # empty frames, zeros laid out [T, P, W, H]
        assert out.shape == ((T, 1, units, 1) if len(events) == 0 else (T, 1, *[1] * ("y" in events.dtype.names),
                                                                          units))
        return out.reshape(T, units).astype(np.int64)
    split_by = mode.removeprefix("spikingjelly_")
    sj_events = {"t": t, "x": x, "y": np.zeros_like(t), "p": events["p"].astype(np.int64)}
    try:
        out = integrate(sj_events, split_by, T, 1, units)
    except IndexError:  # SpikingJelly's time split fails on a time range without events: our documented frames
        assert split_by == "time" and frames.spikingjelly_time_fails(t, T)
        return frames.spikingjelly_time(t, x, (units,), T, np.uint16).frames.astype(np.int64)
    assert out.shape == (T, 2, 1, units) and not out[:, 0].any()  # tonic's SHD polarity is 1
    return out[:, 1, 0].astype(np.int64)


def our_records(folder: str, manifest, split: str = "train") -> np.ndarray:
    info = manifest.split(split)
    return np.concatenate([read_shard(os.path.join(folder, s.path), s, manifest) for s in info.shards])


def assert_records_equal(found: np.ndarray, want: np.ndarray, values: str) -> None:
    """``found`` records' obs equal the reference frames ``want`` (counts, or ``> 0`` packed)."""
    if values == "counts":
        assert found.dtype == np.dtype("<u2") and found.shape == want.shape
        np.testing.assert_array_equal(found, want)
    else:
        np.testing.assert_array_equal(found, records.pack_time((want > 0).astype(np.uint8)))


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_every_shd_record_equals_the_reference_on_tonics_events(shd_builds, shd_data, integrate, config):
    mode, values, overlap, denoise_us = config
    folder, manifest = shd_builds[config]
    found = our_records(folder, manifest)
    samples = tonic_events(tonic.datasets.SHD, shd_data, train=True)
    assert found["index"].tolist() == list(range(len(samples))) and manifest.layout.values == values
    events_total = denoised_total = framed_total = 0
    for i, (events, label) in enumerate(samples):
        assert found["label"][i] == label
        kept = tonic_denoise(events, denoise_us)
        want = reference(kept, mode, overlap, UNITS, integrate)
        assert_records_equal(found["obs"][i], want, values)
        events_total += len(events)
        denoised_total += len(events) - len(kept)
        framed_total += int(want.sum())
    counts = manifest.split("train").counts
    assert counts["events"] == events_total and counts.get("dropped_by_denoise", 0) == denoised_total
    assert (denoised_total > 0) == (denoise_us > 0)
    assert counts.get("clipped_cells", 0) == 0 and counts["empty_samples"] == 1
    if overlap == 0:  # each event in one frame at most: the rest are the mode's drops
        dropped = "dropped_outside_window" if mode == "window" else "dropped_by_frames"
        assert counts.get(dropped, 0) == events_total - denoised_total - framed_total
    assert manifest.config["frames"] == mode if mode != "window" else "frames" not in manifest.config


@pytest.mark.parametrize("config", [("tonic_event_bins", "counts", 0.25, 0), ("window", "counts", 0.0, 20_000),
                                    ("spikingjelly_time", "binary", 0.0, 0)], ids=config_id)
def test_fewer_channels_sum_the_references_frames_of_their_units(shd_data, integrate, tmp_path, config):
    mode, values, overlap, denoise_us = config
    channels = 64
    manifest = shd.run([f"--data_dir={shd_data}", f"--output_dir={tmp_path}", "--splits=train", f"--sample_T={T}",
                        f"--channels={channels}", *flags(config)])
    found = our_records(build_dir(tmp_path, manifest), manifest)
    to_channel = np.zeros((UNITS, channels), np.int64)
    to_channel[np.arange(UNITS), np.arange(UNITS) * channels // UNITS] = 1
    for i, (events, _) in enumerate(tonic_events(tonic.datasets.SHD, shd_data, train=True)):
        want = reference(tonic_denoise(events, denoise_us), mode, overlap, UNITS, integrate) @ to_channel
        assert_records_equal(found["obs"][i], want, values)


def test_the_default_options_keep_the_default_build_and_each_option_renames_it(shd_builds, shd_data, tmp_path):
    default_folder, default = shd_builds[None]
    explicit_folder, explicit = shd_builds[("window", "binary", 0.0, 0)]
    assert explicit.build_name == default.build_name and files(explicit_folder) == files(default_folder)
    assert default.config.keys() == {"dataset", "num_classes", "sample_T", "channels", "duration_ms", "time_origin",
                                     "num_shards", "inputs"}
    assert default.layout.values == "binary" and default.layout.obs_shape == (2, UNITS)
    names = [manifest.build_name for config, (_, manifest) in shd_builds.items() if config is not None]
    assert len(set(names)) == len(names)  # no two configs share a name
    for option in ("--frames=spikingjelly_number", "--values=counts", "--denoise_us=1"):  # each option alone
        manifest = shd.run([f"--data_dir={shd_data}", f"--output_dir={tmp_path}", "--splits=train",
                            f"--sample_T={T}", f"--channels={UNITS}", option])
        assert manifest.build_name != default.build_name and manifest.config[option[2:].split("=")[0]]


def test_the_summary_states_what_framing_dropped_and_clipped(shd_builds):
    _, manifest = shd_builds[("tonic_time_bins", "counts", 0.25, 20_000)]
    counts = manifest.split("train").counts
    line = summaries.build_summary(manifest, "out")
    assert (f"; {counts['dropped_by_denoise']} dropped by denoise, {counts['dropped_by_frames']} in no frame, "
            "0 cells clipped at 65,535") in line
    _, default = shd_builds[None]
    assert "clipped" not in summaries.build_summary(default, "out")


def test_a_count_above_65535_is_clipped_and_counted(tmp_path):
    data = str(tmp_path / "data")
    busy = (np.zeros(70_000), np.full(70_000, 5), 0, 0)
    fixtures.write_heidelberg(synthetic.shd_path(data, "train"), [busy, (np.array([0.5]), np.array([5]), 1, 0)])
    manifest = shd.run([f"--data_dir={data}", f"--output_dir={tmp_path / 'out'}", "--splits=train", "--sample_T=4",
                        f"--channels={UNITS}", "--values=counts"])
    found = our_records(build_dir(tmp_path / "out", manifest), manifest)
    assert found["obs"][0][0, 5] == 65_535 and found["obs"][0].sum() == 65_535
    assert found["obs"][1][2, 5] == 1
    assert manifest.split("train").counts["clipped_cells"] == 1


def test_ntidigits_records_equal_the_reference_on_tonics_events(integrate, tmp_path):
    data = str(tmp_path / "data")
    samples = None
    for config in [("tonic_event_bins", "counts", 0.25, 0), ("spikingjelly_time", "binary", 0.0, 2_000)]:
        mode, values, overlap, denoise_us = config
        manifest = tonic_pipeline.run(["--dataset=ntidigits18", f"--data_dir={data}", f"--output_dir={tmp_path}",
                                       "--synthetic=6", "--splits=test", f"--sample_T={T}", *flags(config)])
        found = our_records(build_dir(tmp_path, manifest), manifest, "test")
        samples = samples or tonic_events(tonic.datasets.NTIDIGITS18, data, train=False, single_digits=True)
        assert len(found) == len(samples) == 6
        for i, (events, label) in enumerate(samples):
            assert found["label"][i] == label
            want = reference(tonic_denoise(events, denoise_us), mode, overlap, 64, integrate)
            assert_records_equal(found["obs"][i], want, values)


def write_times(data_dir: str, times: list[float]) -> None:
    fixtures.write_heidelberg(synthetic.shd_path(data_dir, "train"),
                              [(np.array([0.1]), np.array([1]), 0, 0), (np.array(times), np.arange(len(times)), 0, 0)])


def test_times_out_of_order_under_a_time_split_fail_naming_file_and_sample(tmp_path, capsys):
    data = str(tmp_path / "data")
    write_times(data, [0.2, 0.3, 0.1])
    argv = [f"--data_dir={data}", f"--output_dir={tmp_path / 'out'}", "--splits=train"]
    assert shd.main([*argv, "--frames=tonic_time_bins"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("error: ") and last.endswith("--frames=tonic_time_bins needs events in time order")
    assert "shd_train.h5: sample 1: event 2 goes back in time" in last
    assert not os.path.exists(tmp_path / "out") or not os.listdir(tmp_path / "out")
    assert shd.main([*argv, "--frames=tonic_event_bins"]) == 0  # event order is its own order


@pytest.mark.parametrize("argv, says", [
    (["--frames=voxel_grid"], "--frames=voxel_grid is tonic's ToVoxelGrid, which needs a camera's 2 polarities"),
    (["--frames=frames"], "argument --frames: invalid choice: 'frames'"),
    (["--values=count"], "argument --values: invalid choice: 'count'"),
    (["--overlap=0.5"], "--overlap is taken by --frames=tonic_time_bins and tonic_event_bins only, not window"),
    (["--frames=tonic_time_bins", "--overlap=1"], "overlap is a fraction of a frame in [0, 1), got 1.0"),
    (["--denoise_us=-1"], "denoise_us is a whole number of microseconds >= 0, got -1"),
])
def test_bad_frame_options_are_refused_in_one_line(tmp_path, capsys, argv, says):
    base = [f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}"]
    for main in (shd.main, lambda a: tonic_pipeline.main(["--dataset=ssc", *a]),
                 lambda a: cli.main(["build", "shd", *a])):
        assert main([*base, *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and says in err, err
    assert not os.path.exists(tmp_path / "out")


def test_smnist_refuses_a_time_split_of_duplicated_spikes(tmp_path, capsys):
    argv = ["--dataset=smnist", f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}"]
    assert tonic_pipeline.main([*argv, "--frames=spikingjelly_time"]) == 2
    assert "duplicated spikes are in tonic's order, not in time order" in capsys.readouterr().err


def test_non_finite_times_are_dropped_and_counted_under_another_framing(tmp_path):
    data = str(tmp_path / "data")
    write_times(data, [0.1, np.inf, 0.3])
    manifest = shd.run([f"--data_dir={data}", f"--output_dir={tmp_path / 'out'}", "--splits=train",
                        "--frames=spikingjelly_number", "--values=counts", "--sample_T=2", f"--channels={UNITS}"])
    assert manifest.split("train").counts["dropped_nonfinite"] == 1
    found = our_records(build_dir(tmp_path / "out", manifest), manifest)
    assert np.argwhere(found["obs"][1]).tolist() == [[0, 0], [1, 2]]  # events 0 and 2 of the sample, 1 each


def test_shd_loader_builds_and_finds_the_framing_it_asks_for(shd_data, shd_builds, integrate):
    loader = SHD_loader(batch_size=4, sample_T=T, channels=UNITS, download_dir=shd_data, frames="spikingjelly_number")
    try:
        assert loader.manifest.config["frames"] == "spikingjelly_number" and loader.obs_shape == (UNITS,)
        found = our_records(loader.shards_dir, loader.manifest)
        for i, (events, _) in enumerate(tonic_events(tonic.datasets.SHD, shd_data, train=True)):
            assert_records_equal(found["obs"][i], reference(events, "spikingjelly_number", 0.0, UNITS, integrate),
                                 "binary")
        again = SHD_loader(batch_size=4, sample_T=T, channels=UNITS, download_dir=shd_data,
                           frames="spikingjelly_number")
        assert again.shards_dir == loader.shards_dir
        again.close()
    finally:
        loader.close()
    with pytest.raises(ValueError, match="overlap is a fraction"):
        SHD_loader(download_dir=shd_data, frames="tonic_time_bins", overlap=2.0)


def test_a_time_beyond_any_recording_is_refused_naming_sample_and_event():
    options = frames.FrameOptions(frames="tonic_event_bins")
    times = [np.array([0.5]), np.array([0.1, np.nan, 5e12])]  # 5e12 s: past 2**62 us
    with pytest.raises(raster.BadSample, match=r"sample 1: event 2 has a time of 5000000000000\.0 s, not a recording"):
        frames.spike_frames(options, times, [np.array([1]), np.array([1, 2, 3])], T, UNITS, WINDOW_US)
    obs, counts = frames.spike_frames(options, times[:1], [np.array([1])], T, UNITS, WINDOW_US)
    assert not obs.any() and counts.dropped_by_frames == 1  # one event, fewer than T event bins: in no frame
