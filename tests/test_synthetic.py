"""Synthetic data never touches a user's data: ``spyx-data synthetic`` and the pipelines'
``--synthetic`` refuse a dataset folder that holds anything but this project's synthetic data,
write nothing then, and replace their own synthetic data wholly; a synthetic folder a user added
files to is real data (a build does not mark it synthetic).

Every registry family is tried: datasets of h5 files, folder datasets, the seeded-split folder
datasets (and S-MNIST's shared folder of idx files).
"""

import json
import os
import zipfile

import h5py
import pytest

from spyx_data.builder import fixtures, nmnist, registry, synthetic
from spyx_data.format import manifest as manifest_lib

from .conftest import manifests_under
from .test_refusals import SPYX_DATA, assert_one_line, run


def tree(root) -> dict[str, bytes]:
    """Every file below ``root``, hidden ones too, by relative path: what must stay byte for byte."""
    return {os.path.relpath(os.path.join(path, name), root): open(os.path.join(path, name), "rb").read()
            for path, _, names in os.walk(root) for name in names}


def write_real(name, data_dir, split, n=4, seed=7) -> str:
    """Files laid out as dataset ``name``'s ``split`` is, without the synthetic marks: a user's
    real data, as far as spyx-data can tell. Its location."""
    info = registry.get(name)
    where = info.location(str(data_dir), split)
    fixtures.write_recordings(where, info.fixture(info, split, n, seed))
    if os.path.isfile(where):
        with h5py.File(where, "r+") as f:
            for key in list(f.attrs):
                del f.attrs[key]
    return where


def synthetic_command(name, data_dir, samples, *flags):
    return run([SPYX_DATA, "synthetic", name, "--data_dir", str(data_dir), "--samples", str(samples), *flags])


@pytest.mark.parametrize("name", sorted(registry.REGISTRY))
def test_synthetic_data_over_a_users_dataset_is_refused_and_changes_nothing(tmp_path, name):
    data = tmp_path / "data"
    info = registry.get(name)
    where = write_real(name, data, info.splits[0])
    before = tree(data)
    code, out, err = synthetic_command(name, data, 3)
    assert code == 2 and not out
    assert_one_line(err, f"{where} is not synthetic data written by spyx-data", "nothing was written")
    assert tree(data) == before and synthetic.synthetic_params(info, str(data), info.splits[0]) is None


@pytest.mark.parametrize("name", ["shd", "nmnist", "dvslip"])
def test_synthetic_data_is_never_written_beside_a_real_split(tmp_path, name):
    data = tmp_path / "data"
    write_real(name, data, "train")
    before = tree(data)
    code, _, err = synthetic_command(name, data, 3, "--splits", "test")  # the other split: still the dataset's folder
    assert code == 2
    assert_one_line(err, registry.get(name).location(str(data), "train"), "nothing was written")
    assert tree(data) == before


def test_a_real_archive_in_the_dataset_folder_is_refused_by_the_command_and_the_pipeline(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    archive = data / "NMNIST" / "train.zip"  # downloaded, not extracted yet
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("Train/0/00002.bin", b"\x01\x02\x03\x04\x05")
    before = tree(data)
    code, _, err = synthetic_command("nmnist", data, 3)
    assert code == 2
    assert_one_line(err, f"{archive} is not synthetic data written by spyx-data")
    code, _, err = run([SPYX_DATA, "build", "nmnist", f"--data_dir={data}", f"--output_dir={out}", "--synthetic=3"])
    assert code == 2
    assert_one_line(err, f"{archive} is not synthetic data written by spyx-data")
    assert tree(data) == before and not out.exists()


def test_a_users_stray_file_in_the_dataset_folder_is_refused(tmp_path):
    data = tmp_path / "data"
    assert synthetic_command("shd", data, 5)[0] == 0
    notes = data / "SHD" / "notes.txt"
    notes.write_text("where these came from")
    before = tree(data)
    code, _, err = synthetic_command("shd", data, 3)
    assert code == 2
    assert_one_line(err, f"{notes} is not synthetic data written by spyx-data")
    assert tree(data) == before


@pytest.mark.parametrize("name", ["shd", "nmnist", "ncaltech101", "smnist"])
def test_synthetic_data_written_again_replaces_the_old_wholly(tmp_path, name):
    data, fresh = tmp_path / "data", tmp_path / "fresh"
    assert synthetic_command(name, data, 12)[0] == 0
    code, out, _ = synthetic_command(name, data, 5)
    assert code == 0 and out.startswith("wrote ")
    assert synthetic_command(name, fresh, 5)[0] == 0
    assert tree(data) == tree(fresh)  # no file of the larger set is left, markers included
    assert synthetic.synthetic_params(registry.get(name), str(data), "test") == {"num_samples": 5, "seed": 0}


def test_a_synthetic_folder_a_user_added_to_is_real_data(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    assert synthetic_command("nmnist", data, 10, "--splits", "test")[0] == 0
    mine = data / "NMNIST" / "Test" / "3" / "my-recording.bin"
    mine.write_bytes(fixtures.encode_atis_bin([10, 20], [1, 2], [3, 4], [0, 1]))
    assert synthetic.synthetic_params(nmnist.DATASET, str(data), "test") is None
    before = tree(data)
    code, _, err = synthetic_command("nmnist", data, 10, "--splits", "test")
    assert code == 2
    assert_one_line(err, f"{data / 'NMNIST' / 'Test'} is not synthetic data written by spyx-data")
    assert tree(data) == before
    code, _, err = run([SPYX_DATA, "build", "nmnist", f"--data_dir={data}", f"--output_dir={out}", "--splits=test"])
    assert code == 0, err
    (manifest_path,) = manifests_under(out)
    manifest = manifest_lib.read_manifest(os.path.dirname(manifest_path))
    assert manifest.split("test").num_records == 11 and manifest.split("test").source.synthetic is False
    assert tree(data) == before


def test_a_hidden_folder_in_synthetic_data_keeps_it_synthetic_but_is_never_written_over(tmp_path):
    """Builds skip hidden files (a JupyterLab checkpoint folder), so the split is still the
    synthetic data written; but the hidden files are the user's, so nothing replaces them."""
    data = tmp_path / "data"
    assert synthetic_command("nmnist", data, 10, "--splits", "test")[0] == 0
    checkpoints = data / "NMNIST" / "Test" / "3" / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "notes-checkpoint.ipynb").write_text("{}")
    assert synthetic.synthetic_params(nmnist.DATASET, str(data), "test") is not None
    before = tree(data)
    code, _, err = synthetic_command("nmnist", data, 5, "--splits", "test")
    assert code == 2
    assert_one_line(err, f"{checkpoints} is not synthetic data written by spyx-data", "nothing was written")
    assert tree(data) == before


def test_a_write_cut_short_leaves_nothing_the_next_one_keeps(tmp_path):
    data = tmp_path / "data"
    assert synthetic_command("nmnist", data, 4)[0] == 0
    left = data / "NMNIST" / f".Train{synthetic.PARTIAL}{'0' * 32}"  # as a killed write leaves it
    (left / "0").mkdir(parents=True)
    (left / "0" / "00000.bin").write_bytes(b"half")
    assert synthetic_command("nmnist", data, 6)[0] == 0
    assert not left.exists() and synthetic.synthetic_params(nmnist.DATASET, str(data), "train")["num_samples"] == 6


def test_a_marker_of_an_earlier_version_is_one_line(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    assert synthetic_command("nmnist", data, 4, "--splits", "test")[0] == 0
    marker = data / "NMNIST" / f"Test{synthetic.MARKER_SUFFIX}"
    marker.write_text(json.dumps(fixtures.marker_attrs(4, 0)))  # what it held before it listed the files
    code, _, err = run([SPYX_DATA, "build", "nmnist", f"--data_dir={data}", f"--output_dir={out}", "--splits=test"])
    assert code == 2
    assert_one_line(err, f"{marker} marks {data / 'NMNIST' / 'Test'} as synthetic data written by an earlier version")
    assert not out.exists()


def test_a_synthetic_folder_uploaded_with_its_marker_is_synthetic_there_until_changed(tmp_path):
    from . import memfs

    data, remote = tmp_path / "data", "memtest://synthetic-upload"
    assert synthetic_command("nmnist", data, 6, "--splits", "test")[0] == 0
    uploaded = {f"{remote}/{rel}": content for rel, content in tree(data).items()}
    memfs.FILES.update(uploaded)
    try:
        assert synthetic.synthetic_params(nmnist.DATASET, remote, "test") == {"num_samples": 6, "seed": 0}
        memfs.FILES[f"{remote}/NMNIST/Test/3/mine.bin"] = fixtures.encode_atis_bin([10], [1], [3], [0])
        assert synthetic.synthetic_params(nmnist.DATASET, remote, "test") is None
    finally:
        for path in [*uploaded, f"{remote}/NMNIST/Test/3/mine.bin"]:
            memfs.FILES.pop(path, None)
