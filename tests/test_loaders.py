"""SHD_loader and NMNIST_loader: built on first use, then only read."""

import json
import os
import shutil

import pytest

import spyx_data
from spyx_data.errors import UsageError
from spyx_data.format import manifest as manifest_lib

from .conftest import TEST, TRAIN


def test_shd_loader_builds_once_then_reads(shd_data, tmp_path):
    download_dir = str(tmp_path / "dl")
    shutil.copytree(shd_data, download_dir)
    loader = spyx_data.SHD_loader(batch_size=32, sample_T=64, channels=32, key=0, download_dir=download_dir)
    assert loader.shards_dir.startswith(os.path.join(download_dir, "spyx_data", "shd-"))
    manifest = manifest_lib.read_manifest(loader.shards_dir)
    assert manifest.layout.obs_shape == (8, 32)
    obs, labels = loader.prestage("train")
    assert obs.shape == (TRAIN // 32, 32, 8, 32) and labels.shape == (TRAIN // 32, 32)
    train = list(loader.train_epoch())
    assert len(train) == TRAIN // 32 and train[0].obs.shape == (32, 8, 32) and train[0].labels.shape == (32,)
    test = list(loader.test_epoch())
    assert sum(len(b.labels) for b in test) == TEST  # every test sample, last batch short
    left = loader.test_epoch()  # a test pass left early: the next is still the whole split
    next(left)
    assert [b.obs.tobytes() for b in loader.test_epoch()] == [b.obs.tobytes() for b in test]
    with pytest.raises(UsageError, match=r"ended by a newer test_epoch\(\)"):
        next(left)
    assert loader.obs_shape == (32,) and loader.act_shape == (20,)
    # The train stream resumes from its state (the test stream starts afresh each time).
    it = loader.train_epoch()
    next(it)
    state = json.loads(json.dumps(loader.get_state()))
    resumed = spyx_data.SHD_loader(batch_size=32, sample_T=64, channels=32, key=0, download_dir=download_dir)
    resumed.set_state(state)
    assert [b.obs.tobytes() for b in resumed.train_epoch()] == [b.obs.tobytes() for b in it]
    assert [b.obs.tobytes() for b in resumed.train_epoch()] == [b.obs.tobytes() for b in loader.train_epoch()]
    with pytest.raises(UsageError, match="batch_size"):
        spyx_data.SHD_loader(batch_size=16, sample_T=64, channels=32, download_dir=download_dir).set_state(state)
    first = loader.train_epoch()
    next(first)
    rest = loader.train_epoch()  # the rest of that epoch; the first iterator ends
    with pytest.raises(UsageError, match=r"ended by a newer train_epoch\(\)"):
        next(first)
    assert len(list(rest)) == TRAIN // 32 - 1
    mtime = os.stat(os.path.join(loader.shards_dir, "manifest.json")).st_mtime_ns
    again = spyx_data.SHD_loader(batch_size=32, sample_T=64, channels=32, download_dir=download_dir)
    assert os.stat(os.path.join(again.shards_dir, "manifest.json")).st_mtime_ns == mtime
