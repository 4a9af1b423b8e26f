"""open_split, GrainLoader and prestage agree with each other and with a build written without Beam."""

import shutil
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import spyx_data
from spyx_data.errors import ShardError
from spyx_data.format import manifest as manifest_lib

from ..conftest import TEST, TRAIN


@pytest.fixture(scope="module")
def train(value_build):
    return spyx_data.open_split(value_build, "train")


def stored(build: str) -> tuple[tuple[int, ...], np.dtype]:
    """The obs shape and type of ``build``'s records, by its values: what every reader returns."""
    layout = manifest_lib.read_manifest(build).layout
    return layout.obs_shape, layout.obs_dtype


def test_each_kind_of_values_is_stored_as_its_layout_says(value_build):
    values = manifest_lib.read_manifest(value_build).layout.values
    expected = {"binary": ((16, 128), np.uint8), "counts": ((32, 128), np.uint16), "float32": ((16, 128), np.float32)}
    assert stored(value_build) == expected[values]


def test_open_split_returns_record_i_as_sample_i(train, value_build):
    obs, labels = spyx_data.load_split(value_build, "train")
    shape, dtype = stored(value_build)
    assert obs.dtype == dtype and obs.shape == (TRAIN, *shape) and obs.ctypes.data % 64 == 0
    assert len(train) == TRAIN == len(labels)
    for i in (0, 1, 99, 100, TRAIN - 1):  # across shard boundaries (3 shards of 100)
        example = train[i]
        assert example["obs"].dtype == dtype and example["obs"].shape == shape
        assert example["index"] == i and example["labels"] == labels[i]
        np.testing.assert_array_equal(example["obs"], obs[i])
    batch = train.read_batch([5, 250, 0])
    assert batch["obs"].dtype == dtype
    np.testing.assert_array_equal(batch["obs"], obs[[5, 250, 0]])
    assert batch["labels"].dtype == np.int32 and batch["index"].tolist() == [5, 250, 0]
    assert [e["index"] for e in train.__getitems__([7, 3])] == [7, 3]


def test_prestage_is_the_split_in_batches_on_the_default_device(value_build):
    obs, labels = spyx_data.load_split(value_build, "train")
    shape, dtype = stored(value_build)
    staged_obs, staged_labels = spyx_data.prestage(value_build, "train", batch_size=64)
    assert staged_obs.shape == (4, 64, *shape) and staged_obs.dtype == dtype
    assert staged_labels.shape == (4, 64) and staged_labels.dtype == np.int32
    assert staged_obs.devices() == {jax.devices()[0]}
    np.testing.assert_array_equal(np.asarray(staged_obs).reshape(256, *shape), obs[:256])
    np.testing.assert_array_equal(np.asarray(staged_labels).ravel(), labels[:256])


def test_prestage_can_keep_every_sample_with_a_mask(value_build):
    obs, labels = spyx_data.load_split(value_build, "test")
    shape, dtype = stored(value_build)
    staged_obs, staged_labels, mask = spyx_data.prestage(value_build, "test", 64, drop_remainder=False)
    assert staged_obs.shape == (2, 64, *shape) and staged_obs.dtype == dtype and mask.shape == (2, 64)
    assert int(mask.sum()) == TEST
    flat_obs, flat_labels = np.asarray(staged_obs).reshape(128, *shape), np.asarray(staged_labels).ravel()
    np.testing.assert_array_equal(flat_obs[:TEST], obs)
    np.testing.assert_array_equal(flat_labels[:TEST], labels)
    assert not flat_obs[TEST:].any() and (flat_labels[TEST:] == -1).all()
    np.testing.assert_array_equal(np.asarray(mask), np.asarray(staged_labels) >= 0)


def test_prestage_refuses_a_batch_larger_than_the_split(written_build):
    with pytest.raises(ValueError, match="fewer than one batch"):
        spyx_data.prestage(written_build, "test", batch_size=TEST + 1)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        spyx_data.prestage(written_build, "test", batch_size=0)


def epoch(loader):
    batches = list(loader)
    return np.concatenate([b.obs for b in batches]), np.concatenate([b.labels for b in batches]), batches


def test_an_epoch_visits_each_sample_once_and_ends(train, value_build):
    all_obs, all_labels = spyx_data.load_split(value_build, "train")
    shape, dtype = stored(value_build)
    loader = spyx_data.GrainLoader(train, batch_size=32, shuffle=True, seed=3)
    assert len(loader) == TRAIN // 32
    obs, labels, batches = epoch(loader)
    assert len(batches) == TRAIN // 32 and all(b.obs.shape == (32, *shape) and b.obs.dtype == dtype for b in batches)
    # Identify each yielded sample by its raster: every one is a distinct sample of the split.
    rows = {all_obs[i].tobytes(): i for i in range(TRAIN)}
    seen = [rows[o.tobytes()] for o in obs]
    assert len(set(seen)) == len(seen) == TRAIN // 32 * 32
    assert labels.tolist() == all_labels[seen].tolist()
    assert seen != sorted(seen)


def test_the_next_epoch_reshuffles_and_seeds_reproduce(train):
    first, second = spyx_data.GrainLoader(train, 50, shuffle=True, seed=0), spyx_data.GrainLoader(train, 50, True, 0)
    a1, a2 = epoch(first)[1], epoch(first)[1]
    b1 = epoch(second)[1]
    assert a1.tolist() != a2.tolist()
    assert a1.tolist() == b1.tolist()
    assert sorted(a1.tolist()) == sorted(a2.tolist())


def test_unshuffled_loader_keeps_source_order_and_can_keep_the_remainder(train, value_build):
    all_obs, all_labels = spyx_data.load_split(value_build, "train")
    obs, labels, batches = epoch(spyx_data.GrainLoader(train, 64, shuffle=False, drop_remainder=False))
    assert [len(b.labels) for b in batches] == [64, 64, 64, 64, TRAIN - 256]
    assert labels.tolist() == all_labels.tolist()
    np.testing.assert_array_equal(obs, all_obs)


def test_worker_processes_give_the_same_batches(train):
    in_process = epoch(spyx_data.GrainLoader(train, 32, shuffle=True, seed=1, worker_count=0))
    workers = epoch(spyx_data.GrainLoader(train, 32, shuffle=True, seed=1, worker_count=2))
    assert len(workers[2]) == len(in_process[2]) and workers[0].dtype == in_process[0].dtype == train.layout.obs_dtype
    np.testing.assert_array_equal(workers[0], in_process[0])
    np.testing.assert_array_equal(workers[1], in_process[1])


def test_a_missing_or_truncated_shard_is_caught_on_open(written_build, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(written_build, copy)
    shard = manifest_lib.read_manifest(str(copy)).split("train").shards[1]
    path = copy / shard.path
    path.write_bytes(path.read_bytes()[: shard.num_bytes // 2])
    with pytest.raises(ShardError, match=shard.path):
        spyx_data.open_split(str(copy), "train")
    path.unlink()
    with pytest.raises(ShardError, match=shard.path):
        spyx_data.prestage(str(copy), "train", 10)


def test_reading_needs_neither_beam_nor_tonic_nor_h5py(written_build):
    script = textwrap.dedent(f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("apache_beam", "tonic", "h5py"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        import spyx_data
        obs, labels = spyx_data.prestage({written_build!r}, "train", 100)
        batch = next(iter(spyx_data.GrainLoader(spyx_data.open_split({written_build!r}, "test"), 10, True)))
        assert obs.shape == (3, 100, 16, 128) and batch.obs.shape == (10, 16, 128)
        assert not any(m.split(".")[0] in ("apache_beam", "tonic", "h5py") for m in sys.modules)
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_the_network_guard_refuses_and_records(network_refused):
    import socket
    import urllib.request

    with pytest.raises(OSError, match="test tried to reach the network"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    with pytest.raises(OSError):
        urllib.request.urlopen("https://example.com", timeout=1)
    assert len(network_refused) == 2
