"""Every registry dataset builds from its fixture and equals its samples rasterised directly:
tonic's, or, for a dataset tonic lacks, its files decoded by their format's own library."""

import dataclasses
import importlib
import os
import pkgutil
import shutil
from unittest import mock

import expelliarmus
import numpy as np
import pytest
import tonic

import spyx_data
from pipelines import tonic as tonic_pipeline
from spyx_data import cli
from spyx_data.builder import camera, fixtures, nmnist, registry, synthetic
from spyx_data.format import records
from spyx_data.loaders import ShardLoader

from ..conftest import build_dir, files, manifests_under

PER_SPLIT = 24


def expected_frames(events, info, sample_T, duration_us, spatial_factor=1, merge_polarity=False, channels=None,
                    units=None):
    """The raster rules written out independently of spyx_data.builder.raster, on tonic's events
    (timed from the first event where the dataset's time origin says so)."""
    events = events.ravel()  # tonic gives ASL-DVS events as [n, 1]
    t = events["t"].astype(np.int64)
    if not info.is_audio and info.files.time_origin == camera.FIRST_EVENT and len(t):
        t = t - t.min()
    keep = t < duration_us
    t = t[keep] * sample_T // duration_us
    if info.is_audio:
        channels = channels or info.spec().layout.dims[0]
        dense = np.zeros((sample_T, channels), np.uint8)
        dense[t, events["x"][keep].astype(np.int64) * channels // (units or info.sensor[0])] = 1
        return dense
    width, height, polarities = info.sensor
    f = spatial_factor
    dense = np.zeros((sample_T, 1 if merge_polarity else polarities, -(-height // f), -(-width // f)), np.uint8)
    p = 0 if merge_polarity else events["p"][keep].astype(np.int64)
    dense[t, p, events["y"][keep].astype(np.int64) // f, events["x"][keep].astype(np.int64) // f] = 1
    return dense


def tonic_samples(info, data_dir, split, **kwargs):
    """tonic's own (events, label) for a split, its download check bypassed for small fixtures."""
    cls = getattr(tonic.datasets, info.tonic_class)
    with mock.patch.object(cls, "_check_exists", lambda self: True):
        dataset = cls(data_dir, **info.tonic_kwargs[split], **kwargs)
    return [dataset[i] for i in range(len(dataset))]


#: How a recording of a dataset tonic lacks is read here: by its format's own library, by suffix.
FORMAT_READERS = {".dat": lambda path: expelliarmus.Wizard(encoding="dat").read(path)}


def reference_samples(info, data_dir, split):
    """(events, label) of every recording of a split: tonic's, or, for a dataset tonic lacks,
    each file of its suffix below the split's folder decoded by its format's library
    (:data:`FORMAT_READERS`) and labelled by the position of its folder among the classes."""
    if info.tonic_class is not None:
        return tonic_samples(info, data_dir, split)
    read = FORMAT_READERS[info.files.suffix]
    return [(read(os.path.join(folder, name)), info.classes.index(os.path.basename(folder)))
            for folder, _, names in os.walk(info.location(data_dir, split))
            for name in names if name.endswith(info.files.suffix)]


def our_label(info, label, data_dir):
    if info.classes is None:  # tonic labels by folder name; we by its sorted position
        root = info.location(data_dir, info.splits[0])
        return sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))).index(label)
    return int(label)


def test_every_dataset_module_is_registered():
    import spyx_data.builder

    modules = [importlib.import_module(f"spyx_data.builder.{m.name}") for m in pkgutil.iter_modules(
        spyx_data.builder.__path__)]
    declared = {module.__name__.rsplit(".", 1)[1] for module in modules if hasattr(module, "DATASET")}
    assert declared == set(registry.REGISTRY)


def test_a_dataset_tonic_lacks_says_where_its_files_go():
    info = registry.get("nmnist")
    with pytest.raises(ValueError, match="nmnist: a dataset without a tonic class says where its files go"):
        dataclasses.replace(info, tonic_class=None, tonic_kwargs={})
    lacking = dataclasses.replace(info, tonic_class=None, tonic_kwargs={}, archives={},
                                  unfetchable="put n-mnist_{split} into {folder}")
    assert lacking.fetch_by_hand("/d", "test") == "put n-mnist_test into /d/NMNIST"


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Each registry dataset written as a synthetic fixture and built with its defaults."""
    root = tmp_path_factory.mktemp("registry")
    out = {}
    for name in sorted(registry.REGISTRY):
        data_dir = str(root / "data")
        manifest = tonic_pipeline.run(
            [
                f"--dataset={name}",
                f"--data_dir={data_dir}",
                f"--output_dir={root / 'shards'}",
                f"--synthetic={PER_SPLIT}",
            ]
        )
        out[name] = (data_dir, build_dir(root / "shards", manifest), manifest)
    return out


@pytest.mark.parametrize("name", sorted(registry.REGISTRY))
def test_build_equals_its_samples_rasterised_directly(builds, name):
    info = registry.get(name)
    data_dir, output_dir, manifest = builds[name]
    assert manifest.dataset == name and sorted(manifest.splits) == sorted(info.splits)
    duration_us = info.duration_ms * 1000
    ours, theirs = [], []
    for split in info.splits:
        obs, labels = spyx_data.load_split(output_dir, split)
        assert obs.shape[1:] == manifest.layout.obs_shape
        ours += [(int(label), o.tobytes()) for o, label in zip(obs, labels)]
        if info.seeded_test_fraction is not None and split != info.splits[0]:
            continue  # one folder holds every seeded split: tonic sees it once
        samples = reference_samples(info, data_dir, split)
        expected = [
            (our_label(info, label, data_dir), records.pack_time(expected_frames(ev, info, info.sample_T, duration_us)))
            for ev, label in samples
        ]
        theirs += [(label, frames.tobytes()) for label, frames in expected]
        if name in ("shd", "ssc", "nmnist"):  # tonic lists these in sorted order too: same order
            assert [label for label, _ in expected] == labels.tolist()
            assert [f.tobytes() for _, f in expected] == [o.tobytes() for o in obs]
    assert sorted(ours) == sorted(theirs)
    assert len(set(label for label, _ in ours)) > 1
    assert any(np.frombuffer(b, np.uint8).any() for _, b in ours)


@pytest.mark.parametrize("name", sorted(registry.REGISTRY))
def test_every_dataset_builds_events_that_frame_to_its_default_build(builds, name, tmp_path):
    """``--frames=events`` on every registry dataset: each split framed on the device with the
    default build's ``Frames`` (``prestage``) and on the host (``open_split``) is that build."""
    data_dir, frames_dir, frames_manifest = builds[name]
    manifest = tonic_pipeline.run([f"--dataset={name}", f"--data_dir={data_dir}", f"--output_dir={tmp_path}",
                                   "--frames=events"])
    events_dir = build_dir(tmp_path, manifest)
    frames = spyx_data.Frames.of(frames_manifest)
    assert manifest.layout.values == "events" and sorted(manifest.splits) == sorted(frames_manifest.splits)
    for split in frames_manifest.splits:
        want = spyx_data.prestage(frames_dir, split, 5, drop_remainder=False)
        got = spyx_data.prestage(events_dir, split, 5, drop_remainder=False, frames=frames)
        assert len(got) == len(want) == 3
        for ours, theirs in zip(got, want):
            assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
            assert np.asarray(ours).tobytes() == np.asarray(theirs).tobytes()
        obs, labels = spyx_data.load_split(frames_dir, split)
        source = spyx_data.open_split(events_dir, split, frames=frames)
        records = source.__getitems__(range(len(source)))
        assert len(records) == len(labels) > 0
        assert [r["obs"].tobytes() for r in records] == [o.tobytes() for o in obs]
        assert [int(r["labels"]) for r in records] == labels.tolist()


@pytest.mark.parametrize("name", [name for name, info in registry.REGISTRY.items() if info.seeded_test_fraction])
def test_seeded_split_is_disjoint_and_complete(builds, name):
    _, _, manifest = builds[name]
    test_fraction = registry.get(name).seeded_test_fraction
    assert manifest.config["split_seed"] == 0 and manifest.config["test_fraction"] == test_fraction
    sizes = {s: info.num_records for s, info in manifest.splits.items()}
    assert sizes["train"] + sizes["test"] == PER_SPLIT and sizes["test"] > 0
    assert all(info.source.files == PER_SPLIT for info in manifest.splits.values())  # one folder for both


def test_worker_count_does_not_change_the_bytes(builds, tmp_path):
    data_dir, _, _ = builds["nmnist"]
    args = ["--dataset=nmnist", f"--data_dir={data_dir}", "--num_shards=3"]
    first = tonic_pipeline.run([*args, f"--output_dir={tmp_path / 'one'}"])
    second = tonic_pipeline.run([
        *args, f"--output_dir={tmp_path / 'two'}", "--direct_running_mode=multi_processing", "--direct_num_workers=2"
    ])
    one, two = files(build_dir(tmp_path / "one", first)), files(build_dir(tmp_path / "two", second))
    assert one == two and len(one) == 7


def test_camera_options_equal_tonic_with_the_same_options(builds, tmp_path):
    data_dir, _, _ = builds["nmnist"]
    info = registry.get("nmnist")
    manifest = tonic_pipeline.run([
        "--dataset=nmnist", f"--data_dir={data_dir}", f"--output_dir={tmp_path}", "--splits=test",
        "--spatial_factor=3", "--merge_polarity", "--first_saccade_only", "--sample_T=10", "--duration_ms=150",
    ])
    assert manifest.layout.obs_shape == (2, 1, 12, 12)
    obs, labels = spyx_data.load_split(build_dir(tmp_path, manifest), "test")
    samples = tonic_samples(info, data_dir, "test", first_saccade_only=True)
    for i, (ev, label) in enumerate(samples):
        expected = expected_frames(ev, info, 10, 150_000, spatial_factor=3, merge_polarity=True)
        np.testing.assert_array_equal(records.unpack_time(obs[i], 10), expected)
        assert labels[i] == label
    counts = manifest.split("test").counts
    assert counts["dropped_outside_window"] > 0 and counts["events"] > counts["dropped_outside_window"]


def test_nmnist_loader_and_prestage_agree(builds, tmp_path):
    data_dir, _, _ = builds["nmnist"]
    download_dir = str(tmp_path / "dl")
    shutil.copytree(data_dir, download_dir)
    loader = spyx_data.NMNIST_loader(batch_size=8, sample_T=40, key=0, download_dir=download_dir)
    assert loader.obs_shape == (2, 34, 34) and loader.act_shape == (10,)
    obs, labels = loader.prestage("train")
    assert obs.shape == (3, 8, 5, 2, 34, 34) and labels.shape == (3, 8)
    batches = list(loader.train_epoch())
    assert len(batches) == 3 and batches[0].obs.shape == (8, 5, 2, 34, 34)
    staged = {o.tobytes(): int(label) for o, label in zip(np.asarray(obs).reshape(24, 5, 2, 34, 34),
                                                         np.asarray(labels).ravel())}
    assert {o.tobytes(): int(label) for b in batches for o, label in zip(b.obs, b.labels)} == staged
    assert sum(len(b.labels) for b in loader.test_epoch()) == PER_SPLIT
    # The train stream resumes: a new loader given the state continues where this one stands.
    it = loader.train_epoch()
    next(it)
    again = spyx_data.NMNIST_loader(batch_size=8, sample_T=40, key=0, download_dir=download_dir)
    again.set_state(loader.get_state())
    assert [b.obs.tobytes() for b in again.train_epoch()] == [b.obs.tobytes() for b in it]


def nmnist_fixture(tmp_path, n=6):
    data_dir = str(tmp_path / "data")
    root = synthetic.write(nmnist.DATASET, data_dir, "train", n)
    return data_dir, root


def build_train(data_dir, tmp_path):
    out = tmp_path / "out"
    return out, lambda: tonic_pipeline.run(
        ["--dataset=nmnist", f"--data_dir={data_dir}", f"--output_dir={out}", "--splits=train"]
    )


def first_file(root):
    return os.path.join(root, "0", sorted(os.listdir(os.path.join(root, "0")))[0])


def test_truncated_recording_fails_naming_the_file(tmp_path):
    data_dir, root = nmnist_fixture(tmp_path)
    path = first_file(root)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 2)
    out, build = build_train(data_dir, tmp_path)
    with pytest.raises(Exception, match=rf"{path}: \d+ bytes is not a whole number of 5-byte events"):
        build()
    assert not manifests_under(out)


def test_event_off_the_sensor_fails_naming_the_file(tmp_path):
    data_dir, root = nmnist_fixture(tmp_path)
    path = first_file(root)
    with open(path, "ab") as f:
        f.write(fixtures.encode_atis_bin(np.array([5]), np.array([34]), np.array([0]), np.array([0])))
    out, build = build_train(data_dir, tmp_path)
    with pytest.raises(Exception, match=rf"{path}: event \d+ has x=34, outside the sensor's 0..33"):
        build()
    assert not manifests_under(out)


def test_empty_recording_gives_an_all_zero_frame_and_is_counted(tmp_path):
    data_dir, root = nmnist_fixture(tmp_path)
    open(first_file(root), "wb").close()
    out, build = build_train(data_dir, tmp_path)
    manifest = build()
    assert manifest.split("train").counts["empty_samples"] == 1
    obs, _ = spyx_data.load_split(build_dir(out, manifest), "train")
    assert not obs[0].any() and obs[1].any()


def test_class_folder_without_recordings_fails_naming_it(tmp_path):
    data_dir, root = nmnist_fixture(tmp_path)
    folder = os.path.join(root, "3")
    for name in os.listdir(folder):
        os.remove(os.path.join(folder, name))
    out, build = build_train(data_dir, tmp_path)
    with pytest.raises(Exception, match=rf"{folder}: folder holds no \.bin recordings"):
        build()
    assert not manifests_under(out)


def test_unknown_dataset_and_foreign_options_are_refused(tmp_path, capsys):
    code = tonic_pipeline.main(["--dataset=mnist", f"--output_dir={tmp_path}"])
    assert code == 2 and "invalid choice: 'mnist'" in capsys.readouterr().err
    code = tonic_pipeline.main(["--dataset=nmnist", f"--output_dir={tmp_path}", "--channels=64"])
    assert code == 2 and "nmnist has no option channels" in capsys.readouterr().err
    code = tonic_pipeline.main(["--dataset=shd", f"--output_dir={tmp_path}", "--spatial_factor=2"])
    assert code == 2 and "shd has no option spatial_factor" in capsys.readouterr().err
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("dtype", [np.int64, np.int16, np.float32])
def test_gesture_recordings_as_tonics_tests_write_them_are_read_as_tonic_reads_them(tmp_path, dtype):
    info = registry.get("dvsgesture")
    folder = tmp_path / info.locations["test"] / "user24_led"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for label in range(3):  # columns in the order of tonic's DVSGesture.dtype: x, y, p, t (ms)
        n = 200
        t_ms = np.sort(rng.integers(0, 30 if dtype == np.int16 else 5000, n))  # tonic's int16 * 1000 wraps past 32
        columns = [rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n), t_ms]
        np.save(folder / f"{label}.npy", np.stack(columns, axis=1).astype(dtype))
    manifest = tonic_pipeline.run(["--dataset=dvsgesture", f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'o'}",
                                   "--splits=test"])
    obs, labels = spyx_data.load_split(build_dir(tmp_path / "o", manifest), "test")
    theirs = sorted(tonic_samples(info, str(tmp_path), "test"), key=lambda sample: sample[1])  # tonic: listdir order
    for i, (events, label) in enumerate(theirs):
        assert labels[i] == label
        np.testing.assert_array_equal(records.unpack_time(obs[i], info.sample_T),
                                      expected_frames(events, info, info.sample_T, info.duration_ms * 1000))


def test_int16_milliseconds_are_widened_before_scaling():
    import io

    from spyx_data.builder.dvsgesture import decode
    from spyx_data.builder.events import decode_bytes

    buffer = io.BytesIO()
    np.save(buffer, np.array([[1, 2, 1, 5000]], np.int16))  # x, y, p, t = 5 s
    assert decode_bytes(decode, buffer.getvalue(), "0.npy").t.tolist() == [5_000_000]  # tonic: wrapped


def test_pokerdvs_without_its_archive_says_where_to_put_which(tmp_path, capsys):
    code = tonic_pipeline.main(["--dataset=pokerdvs", f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "site-packages" not in err
    assert f"pokerdvs train is not in {tmp_path}/POKERDVS/pips_train" in err
    assert "take pips_train.tar.gz from tonic's repository" in err and f"extract it into {tmp_path}/POKERDVS" in err


# Build names pinned: a change that renames a default build (the record layout, the build key,
# the fingerprint rule, a spec's config) moves every user's builds and must be deliberate.
PINNED_NAMES = {
    "asldvs": "asldvs-17580843b4be",
    "cifar10dvs": "cifar10dvs-bc8fc621cf50",
    "dvsgesture": "dvsgesture-ce5cc735c60f",
    "dvslip": "dvslip-cf0bd1ae2f86",
    "ncaltech101": "ncaltech101-2d814e54c7a5",
    "ncars": "ncars-df5650b33645",
    "nmnist": "nmnist-43a27999f45a",
    "ntidigits18": "ntidigits18-a21e2cf6d6c2",
    "pokerdvs": "pokerdvs-de1ca8aa7cb4",
    "shd": "shd-b10474bd2a04",
    "smnist": "smnist-c18d52fe53f0",
    "ssc": "ssc-760b26effd0d",
}


@pytest.mark.parametrize("name", sorted(registry.REGISTRY))
def test_the_default_build_of_every_dataset_keeps_its_name(builds, name):
    assert os.path.basename(builds[name][1]) == PINNED_NAMES[name]


def test_ntidigits_builds_the_single_digits_and_counts_the_sequences_left_out(builds):
    data_dir, _, manifest = builds["ntidigits18"]
    info = registry.get("ntidigits18")
    for split in info.splits:
        every = getattr(tonic.datasets, "NTIDIGITS18")(data_dir, train=split == "train")
        single = getattr(tonic.datasets, "NTIDIGITS18")(data_dir, train=split == "train", single_digits=True)
        counts = manifest.split(split).counts
        assert manifest.split(split).num_records == len(single) == PER_SPLIT
        assert counts["left_out_samples"] == len(every) - len(single) > 0
    assert manifest.config["single_digits"] is True and manifest.layout.dims == (64,)
    from spyx_data import summaries

    assert "; 3 samples of the source left out by the dataset's rule" in summaries.build_summary(manifest, "out")


def test_every_manifest_states_its_time_origin(builds):
    origins = {name: manifest.config["time_origin"] for name, (_, _, manifest) in builds.items()}
    cameras = {name: info.files.time_origin for name, info in registry.REGISTRY.items() if not info.is_audio}
    assert {name: origins[name] for name in cameras} == cameras
    assert origins["smnist"] == "first pixel"
    assert all(origin in (*camera.TIME_ORIGINS, "first pixel") for origin in origins.values())


def test_smnist_options_change_the_encoding_as_tonics_do(builds, tmp_path):
    data_dir, _, _ = builds["smnist"]
    info = registry.get("smnist")
    manifest = tonic_pipeline.run([
        "--dataset=smnist", f"--data_dir={data_dir}", f"--output_dir={tmp_path}", "--splits=test",
        "--num_neurons=15", "--dt=250.5", "--duplicate=false", "--sample_T=98",
    ])
    assert manifest.layout.dims == (15,) and manifest.config["duration_ms"] == 197  # ceil(784 * 250.5 us)
    obs, labels = spyx_data.load_split(build_dir(tmp_path, manifest), "test")
    samples = tonic_samples(info, data_dir, "test", num_neurons=15, dt=250.5, duplicate=False)
    for i, (events, label) in enumerate(samples):
        np.testing.assert_array_equal(records.unpack_time(obs[i], 98),
                                      expected_frames(events, info, 98, 197_000, channels=15, units=15))
        assert labels[i] == label
    assert manifest.split("test").counts["dropped_outside_window"] == 0


def test_a_boolean_option_takes_true_or_false_only(tmp_path, capsys):
    code = tonic_pipeline.main(["--dataset=smnist", f"--output_dir={tmp_path}", "--duplicate=maybe"])
    assert code == 2 and "must be true or false, got maybe" in capsys.readouterr().err


def test_dvslip_without_its_archive_says_where_to_get_it(tmp_path, capsys):
    code = tonic_pipeline.main(["--dataset=dvslip", f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"dvslip train is not in {tmp_path}/DVSLip/DVS-Lip/train" in err
    assert "download DVS-Lip.zip from https://drive.google.com/" in err and f"extract it into {tmp_path}/DVSLip" in err


def test_a_split_whose_files_are_missing_from_a_shared_folder_is_fetched_by_tonic(builds, tmp_path):
    data_dir, _, _ = builds["smnist"]
    partial = tmp_path / "data"
    shutil.copytree(data_dir, partial)
    os.remove(partial / "smnist" / "t10k-images-idx3-ubyte")
    info = registry.get("smnist")
    assert info.is_present("train", str(partial / "smnist")) and not info.is_present("test", str(partial / "smnist"))
    calls = []
    with mock.patch.object(tonic.datasets, "SMNIST", lambda *a, **k: calls.append(k)):
        with pytest.raises(Exception, match=r"tonic fetched smnist test, but not into"):
            tonic_pipeline.locate(info, str(partial), ["train", "test"])
    assert calls == [{"train": False}]  # only the missing split is fetched


#: The datasets tonic lacks: nothing fetches them, and they are read without tonic.
LACKING = [name for name, info in registry.REGISTRY.items() if info.tonic_class is None]


@pytest.mark.parametrize("name", LACKING)
def test_a_missing_split_of_a_dataset_tonic_lacks_is_refused_saying_where_its_files_go(tmp_path, capsys, name):
    info = registry.get(name)
    data_dir = str(tmp_path / "data")
    code = cli.main(["build", name, f"--data_dir={data_dir}", f"--output_dir={tmp_path / 'out'}"])
    err = capsys.readouterr().err
    split = info.splits[0]
    assert code == 2 and err.count("\n") == 1
    assert err == (f"error: {name} {split} is not in {info.location(data_dir, split)}, and "
                   f"{info.fetch_by_hand(data_dir, split)}, or pass --synthetic=N for synthetic data\n")
    assert not os.listdir(tmp_path)  # nothing fetched, nothing built


@pytest.mark.parametrize("name", LACKING)
def test_the_commands_and_the_loader_take_a_dataset_tonic_lacks(tmp_path, capsys, name):
    info = registry.get(name)
    data_dir, out = str(tmp_path / "data"), tmp_path / "out"
    assert cli.main(["synthetic", name, "--data_dir", data_dir, "--samples", "8"]) == 0
    assert all(synthetic.synthetic_params(info, data_dir, s) == {"num_samples": 8, "seed": 0} for s in info.splits)
    assert cli.main(["build", name, f"--data_dir={data_dir}", f"--output_dir={out}"]) == 0
    assert f"SYNTHETIC DATA: {' and '.join(sorted(info.splits))} are synthetic data" in capsys.readouterr().out
    (manifest_path,) = manifests_under(out)
    built = os.path.dirname(manifest_path)
    loader = ShardLoader(name, batch_size=4, key=0, download_dir=data_dir, worker_count=0, shards_dir=None,
                         test_drop_remainder=False)
    assert os.path.basename(loader.shards_dir) == os.path.basename(built)  # the same default build
    batches = list(loader.test_epoch())
    obs, labels = spyx_data.load_split(built, "test")
    assert [o.tobytes() for b in batches for o in b.obs] == [o.tobytes() for o in obs]
    assert [int(label) for b in batches for label in b.labels] == labels.tolist()
    assert len(set(labels.tolist())) > 1


def test_ncars_is_read_from_its_archives_folders_background_0_cars_1(tmp_path):
    """N-CARS as its archive extracts (``NCARS/n-cars_{train,test}/{background,cars}/obj_*_td.dat``),
    the clips written here by expelliarmus, some running past the window's 100 ms: each record
    is its clip decoded by expelliarmus and rasterised by this test's reference (10 bins of
    10 ms on 120 x 100 pixels), in sorted path order; the late events are dropped and counted."""
    rng = np.random.default_rng(5)
    dtype = [("t", np.int64), ("x", np.int16), ("y", np.int16), ("p", np.uint8)]
    for split in ("train", "test"):
        for k, name in enumerate(("background", "cars")):
            folder = tmp_path / "NCARS" / f"n-cars_{split}" / name
            folder.mkdir(parents=True)
            for i in range(3):
                clip = np.zeros(400, dtype=dtype)
                clip["t"] = np.sort(rng.integers(0, 100_000 + 5_000 * i, len(clip)))  # clip 0 ends inside
                clip["x"], clip["y"], clip["p"] = rng.integers(0, 120, 400), rng.integers(0, 100, 400), rng.integers(
                    0, 2, 400)
                clip["x"][0], clip["y"][0] = 119, 99  # the sensor's far corner
                expelliarmus.Wizard(encoding="dat").save(str(folder / f"obj_{4396 * k + i:06d}_td.dat"), clip)
    manifest = tonic_pipeline.run(["--dataset=ncars", f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}"])
    assert manifest.layout.obs_shape == (2, 2, 100, 120)  # ceil(10 bins / 8) bytes, P, H, W
    assert manifest.config["classes"] == ["background", "cars"] and manifest.config["time_origin"] == "as stored"
    assert (manifest.config["sample_T"], manifest.config["duration_ms"]) == (10, 100)
    for split in ("train", "test"):
        obs, labels = spyx_data.load_split(build_dir(tmp_path / "out", manifest), split)
        clips = sorted((tmp_path / "NCARS" / f"n-cars_{split}").glob("*/*.dat"))
        assert labels.tolist() == [0, 0, 0, 1, 1, 1]
        late = 0
        for clip, record in zip(clips, obs, strict=True):
            events = expelliarmus.Wizard(encoding="dat").read(str(clip))
            frames = np.zeros((10, 2, 100, 120), np.uint8)
            kept = events[events["t"] < 100_000]
            frames[kept["t"] // 10_000, kept["p"], kept["y"], kept["x"]] = 1
            np.testing.assert_array_equal(np.unpackbits(record, axis=0, count=10, bitorder="big"), frames)
            late += len(events) - len(kept)
        assert manifest.split(split).counts["dropped_outside_window"] == late > 0
