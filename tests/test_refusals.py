"""Everyday mistakes, each refused in one line or rebuilt: never a wrong dataset with exit 0.

One test (or a few) per case, each made the way a user makes it: the command line, an edited
file, a copied shard, a real SIGINT to a real build.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from spyx_data import synthetic

from .conftest import manifests_under

SPYX_DATA = os.path.join(os.path.dirname(sys.executable), "spyx-data")


def run(argv, env=None, timeout=600, **kwargs):
    """A command as a user runs it: ``(exit status, stdout, stderr)``."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, **kwargs)
    return result.returncode, result.stdout, result.stderr


def assert_one_line(err, *parts):
    """``err`` is one ``error: ...`` line holding every part, and no traceback."""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for part in parts:
        assert part in err, (part, err)


@pytest.mark.parametrize(
    "flag, named, suggested",
    [("--chanels=64", "--chanels", "--channels"), ("--sample-T=64", "--sample-T", "--sample_T"),
     ("--num-shards=4", "--num-shards", "--num_shards"), ("--bogus=1", "--bogus", None),
     ("--direct_num_worker=2", "--direct_num_worker", "--direct_num_workers")],
)
def test_an_unknown_flag_is_refused_before_any_work(tmp_path, flag, named, suggested):
    data, out = tmp_path / "data", tmp_path / "out"
    code, out_text, err = run([SPYX_DATA, "build", "shd", f"--data_dir={data}", f"--output_dir={out}",
                               "--synthetic=10", flag])
    assert code == 2 and not out_text
    assert_one_line(err, f"unknown flag {named}")
    assert (f"did you mean {suggested}?" in err) if suggested else "did you mean" not in err
    assert not data.exists() and not out.exists()  # no synthetic data written, no folder made


def test_beam_flags_in_both_spellings_still_work(tmp_path):
    from pipelines import shd

    manifest = shd.run([f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}", "--synthetic=5",
                        "--splits=test", "--runner", "FnApiRunner", "--direct_running_mode=in_memory",
                        "--experiments", "a", "--experiments=b"])
    assert manifest.split("test").num_records == 5


def test_a_stray_word_is_refused(tmp_path):
    code, _, err = run([SPYX_DATA, "build", "shd", f"--output_dir={tmp_path}", "train"])
    assert code == 2
    assert_one_line(err, "unexpected argument 'train'")


def bad_unit_data(data_dir):
    good = (np.array([0.1, 0.2]), np.array([3, 4]), 1, 0)
    bad = (np.array([0.1]), np.array([700]), 1, 0)
    synthetic.write_heidelberg(synthetic.shd_path(str(data_dir), "train"), [good] * 300 + [bad] + [good] * 20)
    return data_dir


@pytest.mark.parametrize("preset", ["local", "processes:2"])
def test_a_data_error_inside_a_worker_is_one_line(tmp_path, preset):
    data = bad_unit_data(tmp_path / "data")
    argv = [SPYX_DATA, "build", "shd", f"--data_dir={data}", f"--output_dir={tmp_path / 'out'}", "--splits=train",
            "--num_shards=4", f"--preset={preset}"]
    code, _, err = run(argv)
    assert code == 2, err
    lines = [line for line in err.splitlines() if not line.startswith("  train: ")]  # progress lines
    assert lines == ["error: " + f"{data}/SHD/shd_train.h5: sample 300: event 0 has unit 700, outside 0..699"], err
    assert not manifests_under(tmp_path / "out")
    code, _, err = run(argv, env={**os.environ, "SPYX_DATA_DEBUG": "1"})
    assert code == 1 and "Traceback (most recent call last)" in err and "InputError" in err
