"""The SHD Beam build: contents, determinism across runners, and what it refuses."""

import hashlib
import importlib
import logging
import os
import shutil

import numpy as np
import pytest
import tonic

import spyx_data
from pipelines import shd
from spyx_data.builder import fixtures, registry, synthetic
from spyx_data.format import manifest as manifest_lib
from spyx_data.format import records
from spyx_data.read.shards import read_shard

from ..conftest import NUM_SHARDS, TEST, TRAIN, build_dir, files, manifests_under


def expected_raster(events, sample_T=128, channels=128, duration_us=1_000_000):
    """The raster rule written out independently of spyx_data.builder.raster, on tonic's events."""
    inside = events["t"] < duration_us
    dense = np.zeros((sample_T, channels), np.uint8)
    dense[events["t"][inside] * sample_T // duration_us, events["x"][inside] * channels // 700] = 1
    return dense


@pytest.mark.parametrize("split", ["train", "test"])
def test_every_record_is_tonics_sample_rasterised(shd_build, shd_data, split):
    manifest = manifest_lib.read_manifest(shd_build)
    info = manifest.split(split)
    assert info.num_records == {"train": TRAIN, "test": TEST}[split]
    assert len(info.shards) == NUM_SHARDS
    dataset = tonic.datasets.SHD(shd_data, train=split == "train")
    decoded = np.concatenate([read_shard(os.path.join(shd_build, s.path), s, manifest) for s in info.shards])
    assert decoded["index"].tolist() == list(range(len(dataset)))
    outside = 0
    for i in range(len(dataset)):
        events, label = dataset[i]
        assert decoded["label"][i] == label
        np.testing.assert_array_equal(records.unpack_time(decoded["obs"][i], 128), expected_raster(events))
        outside += int(np.count_nonzero(events["t"] >= 1_000_000))
    assert info.counts == {"events": sum(len(dataset[i][0]) for i in range(len(dataset))),
                           "dropped_outside_window": outside, "dropped_nonfinite": 0, "empty_samples": 0,
                           "left_out_samples": 0}


def test_two_worker_processes_write_identical_bytes(shd_build, shd_data, tmp_path):
    manifest = shd.run([
        f"--data_dir={shd_data}", f"--output_dir={tmp_path}", f"--num_shards={NUM_SHARDS}",
        "--direct_running_mode=multi_processing", "--direct_num_workers=2",
    ])
    assert manifest.build_name == os.path.basename(shd_build)
    assert files(build_dir(tmp_path, manifest)) == files(shd_build)


def test_direct_runner_falls_back_offline_and_writes_identical_bytes(shd_build, shd_data, tmp_path):
    # Prism would download its binary; pointing it at a missing local file fails offline without
    # touching the network, as a download does on a machine without one, and Beam falls back.
    manifest = shd.run([
        f"--data_dir={shd_data}", f"--output_dir={tmp_path}", f"--num_shards={NUM_SHARDS}",
        "--runner=DirectRunner", f"--prism_location={tmp_path / 'no-prism'}",
    ])
    assert files(build_dir(tmp_path, manifest)) == files(shd_build)


def test_default_shard_count_and_compression_option(shd_data, tmp_path):
    manifest = shd.run([f"--data_dir={shd_data}", f"--output_dir={tmp_path}", "--splits=test", "--compression=zstd:3"])
    out = build_dir(tmp_path, manifest)
    assert list(manifest.splits) == ["test"] and len(manifest.split("test").shards) == 1
    assert manifest.writer_options == "group_size:1,zstd:3"
    shard = manifest.split("test").shards[0]
    assert len(read_shard(os.path.join(out, shard.path), shard, manifest)) == TEST


def test_same_config_again_does_no_work(shd_build, shd_data, capsys):
    root = os.path.dirname(shd_build)
    before = {name: os.stat(os.path.join(shd_build, name)).st_mtime_ns for name in os.listdir(shd_build)}
    assert shd.main([f"--data_dir={shd_data}", f"--output_dir={root}", f"--num_shards={NUM_SHARDS}"]) == 0
    after = {name: os.stat(os.path.join(shd_build, name)).st_mtime_ns for name in os.listdir(shd_build)}
    assert after == before
    captured = capsys.readouterr()
    assert captured.err == f"{shd_build} already holds this build; nothing to do\n"  # logged by the command
    assert f"shd shards in {shd_build}" in captured.out
    assert f"train: {TRAIN} samples in {NUM_SHARDS} shards" in captured.out


def test_a_different_config_goes_to_its_own_folder(shd_build, shd_data, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(shd_build, root / os.path.basename(shd_build))
    before = files(root / os.path.basename(shd_build))
    manifest = shd.run([f"--data_dir={shd_data}", f"--output_dir={root}", "--sample_T=64", "--splits=test"])
    assert manifest.build_name != os.path.basename(shd_build) and manifest.build_name.startswith("shd-")
    assert sorted(os.listdir(root)) == sorted([os.path.basename(shd_build), manifest.build_name])
    assert files(root / os.path.basename(shd_build)) == before


def test_a_foreign_manifest_under_a_build_name_is_refused(shd_build, shd_data, tmp_path, capsys):
    other = shd.run([f"--data_dir={shd_data}", f"--output_dir={tmp_path}", "--sample_T=64", "--splits=test"])
    target = tmp_path / os.path.basename(shd_build)
    shutil.copytree(build_dir(tmp_path, other), target)  # another build moved under this build's name
    code = shd.main([f"--data_dir={shd_data}", f"--output_dir={tmp_path}", f"--num_shards={NUM_SHARDS}"])
    assert code == 2 and "holds a manifest of another build" in capsys.readouterr().err


def write_samples(data_dir, samples):
    fixtures.write_heidelberg(synthetic.shd_path(data_dir, "train"), samples)
    return data_dir


def test_a_bad_unit_fails_the_build_naming_file_and_sample(tmp_path):
    good = (np.array([0.1, 0.2]), np.array([3, 4]), 1, 0)
    data = write_samples(str(tmp_path / "data"), [good, good, (np.array([0.1]), np.array([700]), 1, 0), good])
    out = tmp_path / "out"
    with pytest.raises(Exception, match=r"shd_train\.h5: sample 2: event 0 has unit 700, outside 0\.\.699"):
        shd.run([f"--data_dir={data}", f"--output_dir={out}", "--splits=train"])
    assert not manifests_under(out)


def test_a_label_out_of_range_fails_naming_file_and_sample(tmp_path):
    data = write_samples(str(tmp_path / "data"), [(np.array([0.1]), np.array([3]), 20, 0)])
    with pytest.raises(Exception, match=r"shd_train\.h5: sample 0: label 20 outside 0\.\.19"):
        shd.run([f"--data_dir={data}", f"--output_dir={tmp_path / 'out'}", "--splits=train"])


def test_non_finite_times_are_dropped_and_counted(tmp_path):
    times = np.array([0.1, np.nan, np.inf, 0.2, 1.2])
    data = write_samples(str(tmp_path / "data"), [(times, np.array([1, 2, 3, 4, 5]), 7, 0)])
    manifest = shd.run([f"--data_dir={data}", f"--output_dir={tmp_path / 'out'}", "--splits=train"])
    counts = {"events": 5, "dropped_nonfinite": 2, "dropped_outside_window": 1, "empty_samples": 0,
              "left_out_samples": 0}
    assert manifest.split("train").counts == counts
    shard = manifest.split("train").shards[0]
    record = read_shard(os.path.join(build_dir(tmp_path / "out", manifest), shard.path), shard, manifest)[0]
    assert record["label"] == 7
    assert np.argwhere(records.unpack_time(record["obs"], 128)).tolist() == [[12, 0], [25, 0]]


def test_an_empty_split_fails_and_publishes_nothing(tmp_path):
    data = write_samples(str(tmp_path / "data"), [])
    out = tmp_path / "out"
    with pytest.raises(Exception, match="has no samples"):
        shd.run([f"--data_dir={data}", f"--output_dir={out}", "--splits=train"])
    assert not manifests_under(out)


@pytest.mark.parametrize(
    "flag, message",
    [("--channels=701", "channels must be in 1..700"), ("--duration_ms=0", "must be a positive integer"),
     ("--sample_T=0", "must be a positive integer"), ("--num_shards=0", "must be a positive integer"),
     ("--splits=valid", "unknown split")],
)
def test_invalid_options_are_refused_before_any_work(tmp_path, flag, message, capsys):
    try:
        code = shd.main([f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}", flag])
    except SystemExit as e:  # argparse's own checks
        code = e.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "SHD").exists() and not (tmp_path / "out").exists()


def test_more_shards_than_samples_is_refused(shd_data, tmp_path):
    with pytest.raises(Exception, match=r"--num_shards=500 is more than the 120 samples"):
        shd.run([f"--data_dir={shd_data}", f"--output_dir={tmp_path}", "--splits=test", "--num_shards=500"])


def test_missing_data_without_network_says_what_to_do(tmp_path, network_refused, capsys):
    assert shd.main([f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: shd train is not in") and "--synthetic=N" in err
    assert err.count("\n") == 1


def test_synthetic_flag_writes_data_once_and_never_replaces_real_data(tmp_path):
    data, out = str(tmp_path / "data"), str(tmp_path / "out")
    manifest = shd.run([f"--data_dir={data}", f"--output_dir={out}", "--synthetic=20"])
    assert manifest.split("train").num_records == 20 and manifest.split("test").num_records == 20
    assert synthetic.synthetic_params(registry.get("shd"), data, "train") == {"num_samples": 20, "seed": 0}
    real = [(np.array([0.1]), np.array([3]), 1, 0)] * 3  # no synthetic marker: stands for real data
    write_samples(data, real)
    manifest = shd.run([f"--data_dir={data}", f"--output_dir={out}-2", "--synthetic=20", "--splits=train"])
    assert manifest.split("train").num_records == 3


def test_records_have_the_layout_the_manifest_states(shd_build):
    manifest = manifest_lib.read_manifest(shd_build)
    assert manifest.layout == records.RecordLayout(128, (128,))
    for shard in manifest.split("train").shards:
        size = os.path.getsize(os.path.join(shd_build, shard.path))
        assert size == shard.num_bytes


def test_a_corrupt_h5_is_named(tmp_path):
    path = synthetic.shd_path(str(tmp_path), "train")
    fixtures.write_heidelberg(path, [(np.array([0.1]), np.array([3]), 1, 0)])
    with open(path, "r+b") as f:
        f.write(b"\0" * 64)  # clobber the HDF5 superblock
    with pytest.raises(Exception, match=r"shd_train\.h5: cannot open as HDF5"):
        shd.run([f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}", "--splits=train"])
    assert not manifests_under(tmp_path / "out")


def test_a_missing_h5_dataset_is_named(tmp_path):
    import h5py

    path = synthetic.shd_path(str(tmp_path), "train")
    fixtures.write_heidelberg(path, [(np.array([0.1]), np.array([3]), 1, 0)])
    with h5py.File(path, "r+") as f:
        del f["spikes/units"]
    with pytest.raises(Exception, match=r"shd_train\.h5: missing dataset .*spikes/units"):
        shd.run([f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}", "--splits=train"])
    assert not manifests_under(tmp_path / "out")


def test_reading_reopens_the_h5_file_without_changing_a_sample(shd_data, monkeypatch):
    from spyx_data.builder.heidelberg import AudioFile, AudioSpec

    path = synthetic.shd_path(shd_data, "train")
    whole = AudioSpec().open("train", path)
    expected = np.concatenate([b.obs for b in whole.rasters(0, TRAIN)])
    monkeypatch.setattr(AudioFile, "REOPEN_AFTER", 50)  # HDF5's cache is dropped every 50 samples
    reopened = AudioSpec().open("train", path)
    handles = set()
    blocks = []
    for block in reopened.rasters(0, TRAIN):
        handles.add(id(reopened._h5))
        blocks.append(block.obs)
    np.testing.assert_array_equal(np.concatenate(blocks), expected)
    assert len(handles) > 3


def test_changed_inputs_are_built_anew_and_never_mistaken_for_the_finished_build(tmp_path, caplog):
    import h5py

    caplog.set_level(logging.INFO, logger="pipelines.build")
    data, out = str(tmp_path / "data"), str(tmp_path / "out")
    manifest = shd.run([f"--data_dir={data}", f"--output_dir={out}", "--synthetic=20", "--splits=train"])
    path = synthetic.shd_path(data, "train")
    assert manifest.split("train").source.sha256 == hashlib.sha256(open(path, "rb").read()).hexdigest()
    before = files(build_dir(out, manifest))
    size = os.path.getsize(path)
    with h5py.File(path, "r+") as f:  # one label rewritten in place: same name, same size
        f["labels"][3] = (f["labels"][3] + 1) % 20
        relabelled = int(f["labels"][3])
    assert os.path.getsize(path) == size
    rebuilt = shd.run([f"--data_dir={data}", f"--output_dir={out}", "--splits=train"])
    assert rebuilt.build_name != manifest.build_name and "nothing to do" not in caplog.text
    assert spyx_data.load_split(build_dir(out, rebuilt), "train")[1][3] == relabelled
    assert files(build_dir(out, manifest)) == before  # the old build untouched


def write_as_tonics_tests_do(path, n, events, times_dtype, label_dtype, extra):
    """A Heidelberg file laid out as tonic's own test suite writes them: fixed-length 2-D
    ``spikes/times`` ``[n, events]`` and ``spikes/units``, labels from a Python list, the
    ``extra/keys`` and ``extra/speaker`` tonic's ``SHD`` reads; another ``extra/*`` group with ``extra``."""
    import h5py

    rng = np.random.default_rng(n)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path, "w") as f:
        f.create_dataset("spikes/times", data=rng.random((n, events)).astype(times_dtype))
        f.create_dataset("spikes/units", data=rng.integers(0, 700, (n, events)).astype(np.uint16))
        f.create_dataset("labels", data=np.array([int(k) for k in rng.integers(0, 20, n)], dtype=label_dtype))
        f.create_dataset("extra/keys", data=np.array([f"class-{k}".encode() for k in range(20)]))  # tonic's SHD
        f.create_dataset("extra/speaker", data=np.zeros(n, np.uint16))  # reads these two
        if extra:  # an extra/* group neither reader needs
            f.create_dataset("extra/meta_info/gender", data=np.array([b"f"] * n))
    open(path + ".zip", "wb").close()  # tonic only checks that it exists


@pytest.mark.parametrize(
    "dataset, times_dtype, label_dtype, extra",
    [("shd", np.float16, np.int64, False), ("shd", np.float32, np.int8, True), ("shd", np.int32, np.uint32, False),
     ("ssc", np.float16, np.int64, True)],
)
def test_every_layout_tonic_reads_is_read_as_tonic_reads_it(tmp_path, dataset, times_dtype, label_dtype, extra):
    info = registry.get(dataset)
    split = "train"
    path = os.path.join(tmp_path, info.locations[split])
    write_as_tonics_tests_do(path, 12, 100, times_dtype, label_dtype, extra)
    manifest = shd.tonic.run([f"--dataset={dataset}", f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}",
                              f"--splits={split}", "--sample_T=32", "--channels=50"])
    obs, labels = spyx_data.load_split(build_dir(tmp_path / "out", manifest), split)
    stock = getattr(tonic.datasets, info.tonic_class)(str(tmp_path), **info.tonic_kwargs[split])
    assert len(stock) == len(labels) == 12
    for i in range(len(stock)):
        events, label = stock[i]
        assert labels[i] == label
        np.testing.assert_array_equal(records.unpack_time(obs[i], 32), expected_raster(events, 32, 50))


def test_reading_threads_and_compressed_shards_give_the_same_split(shd_build, shd_data, tmp_path, monkeypatch):
    obs, labels = spyx_data.load_split(shd_build, "train", start=20, stop=250)
    assert obs.ctypes.data % 64 == 0  # so that jax.device_put on CPU need not copy
    monkeypatch.setattr(importlib.import_module("spyx_data.read.prestage"), "BYTES_PER_THREAD", 1)
    threaded_obs, threaded_labels = spyx_data.load_split(shd_build, "train", start=20, stop=250)
    np.testing.assert_array_equal(threaded_obs, obs)
    np.testing.assert_array_equal(threaded_labels, labels)
    from pipelines import shd

    root = tmp_path / "zstd"
    manifest = shd.run([f"--data_dir={shd_data}", f"--output_dir={root}", "--num_shards=3", "--compression=zstd:3"])
    zstd_obs, zstd_labels = spyx_data.load_split(str(root / manifest.build_name), "train", start=20, stop=250)
    np.testing.assert_array_equal(zstd_obs, obs)
    np.testing.assert_array_equal(zstd_labels, labels)
