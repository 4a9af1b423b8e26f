"""Everyday mistakes, each refused in one line or rebuilt: never a wrong dataset with exit 0.

One test (or a few) per case, each made the way a user makes it: the command line, an edited
file, a copied shard, a real SIGINT to a real build.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import spyx_data
from spyx_data.builder import fixtures, inputs, nmnist, synthetic
from spyx_data.errors import BuildError, ShardError
from spyx_data.format import manifest as manifest_lib
from spyx_data.read.verify import verify

from .conftest import TRAIN, manifests_under, write_build

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
    fixtures.write_heidelberg(synthetic.shd_path(str(data_dir), "train"), [good] * 300 + [bad] + [good] * 20)
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


# 2. Inputs that changed under a build: see also test_build's test of a label rewritten in place.


def test_the_digest_cache_hashes_only_files_that_changed(tmp_path, monkeypatch):
    path = synthetic.write_shd(str(tmp_path), "train", 10)
    hashed = []
    read = inputs._digest_of
    monkeypatch.setattr(inputs, "_digest_of", lambda p: hashed.append(p) or read(p))
    first = inputs.fingerprint(path)
    assert first.sha256 == hashlib.sha256(open(path, "rb").read()).hexdigest() and hashed == [path]
    assert inputs.fingerprint(path) == first and hashed == [path]  # a stat, no read
    with open(path, "r+b") as f:  # the same size, one byte other
        f.seek(os.path.getsize(path) - 1)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 1]))
    assert inputs.fingerprint(path).sha256 != first.sha256 and len(hashed) == 2


# 3. Loaders over regenerated data.


def test_a_loader_over_regenerated_data_builds_it_anew(tmp_path, monkeypatch):
    download_dir = str(tmp_path / "dl")
    synthetic.write_shd(download_dir, "train", 300)
    synthetic.write_shd(download_dir, "test", 50)
    first = spyx_data.SHD_loader(batch_size=32, sample_T=16, channels=16, download_dir=download_dir)
    assert len(first.prestage("train")[1].ravel()) == 288
    synthetic.write_shd(download_dir, "train", 400)  # regenerated: more samples, same file names
    second = spyx_data.SHD_loader(batch_size=32, sample_T=16, channels=16, download_dir=download_dir)
    assert second.shards_dir != first.shards_dir and len(second.prestage("train")[1].ravel()) == 384
    assert manifest_lib.read_manifest(first.shards_dir).split("train").num_records == 300  # kept

    from spyx_data import loaders

    def no_build(*args):
        raise AssertionError("built again")

    hashed = []
    read = inputs._digest_of
    monkeypatch.setattr(loaders, "_build", no_build)
    monkeypatch.setattr(inputs, "_digest_of", lambda p: hashed.append(p) or read(p))
    third = spyx_data.SHD_loader(batch_size=32, sample_T=16, channels=16, download_dir=download_dir)
    assert third.shards_dir == second.shards_dir and hashed == []  # the next start: a stat per file
    with pytest.raises(BuildError, match="was built from other shd data than .* holds now \\(train changed\\)"):
        spyx_data.SHD_loader(batch_size=32, sample_T=16, channels=16, download_dir=download_dir,
                             shards_dir=first.shards_dir)


def test_without_its_raw_files_a_loader_uses_the_one_build_of_real_data(tmp_path):
    download_dir = str(tmp_path / "dl")
    for split, n in (("train", 40), ("test", 20)):  # no synthetic marker: it stands for real data
        samples = [fixtures.audio_sample(7, split, i) for i in range(n)]
        fixtures.write_heidelberg(synthetic.shd_path(download_dir, split), samples)
    built = spyx_data.SHD_loader(batch_size=8, sample_T=16, channels=16, download_dir=download_dir)
    shutil.rmtree(os.path.join(download_dir, "SHD"))
    again = spyx_data.SHD_loader(batch_size=8, sample_T=16, channels=16, download_dir=download_dir)
    assert again.shards_dir == built.shards_dir


# 4. Shards of another build.


@pytest.fixture(scope="module")
def other_build(tmp_path_factory):
    """A build of the written build's configuration and sizes, from other data."""
    return write_build(tmp_path_factory.mktemp("other"), seed=1)


@pytest.mark.parametrize("how", ["copied", "symlinked"])
def test_a_shard_of_another_build_is_refused_by_every_reader(copy, other_build, how):
    shard = manifest_lib.read_manifest(str(copy)).split("train").shards[1]
    foreign = os.path.join(other_build, shard.path)
    assert os.path.getsize(foreign) == shard.num_bytes  # the same size: only its contents differ
    os.remove(copy / shard.path)
    if how == "copied":
        shutil.copy(foreign, copy / shard.path)
    else:
        os.symlink(foreign, copy / shard.path)
    assert_readers_refuse(copy, ShardError, f"{shard.path}: record 0.*a shard of another build")
    assert any("another build" in p.message for p in verify(str(copy))[1])


def assert_readers_refuse(build, error: type[Exception], message: str) -> None:
    """load_split, prestage and open_split of ``build``'s train split each raise ``error`` matching ``message``."""
    for read in (lambda: spyx_data.load_split(str(build), "train"),
                 lambda: spyx_data.prestage(str(build), "train", 10),
                 lambda: spyx_data.open_split(str(build), "train")):
        with pytest.raises(error, match=message):
            read()


@pytest.mark.parametrize("how", ["moved", "copied", "symlinked"])
def test_a_folder_holding_another_build_is_refused_by_every_reader(written_build, copy, tmp_path, how):
    name = os.path.basename(written_build)
    folder = tmp_path / "shards" / "shd-0123456789ab"  # the naming rule's, another build's name
    folder.parent.mkdir()
    {"moved": lambda: os.rename(copy, folder), "copied": lambda: shutil.copytree(written_build, folder),
     "symlinked": lambda: os.symlink(written_build, folder)}[how]()
    said = f"holds build {name}, not shd-0123456789ab as its name says"
    for argv in (["verify", str(folder)], ["info", str(folder)]):
        code, out, err = run([SPYX_DATA, *argv])
        assert code == 2 and not out
        assert_one_line(err, f"{folder} {said}", f"rename it {name} or a name of your own")
    from spyx_data.errors import UsageError

    for read in (lambda: spyx_data.open_split(str(folder), "train"), lambda: spyx_data.prestage(str(folder), "train", 10),
                 lambda: spyx_data.load_split(f"{folder}/", "test"),
                 lambda: spyx_data.SHD_loader(download_dir=str(tmp_path / "dl"), shards_dir=str(folder))):
        with pytest.raises(UsageError, match=said):
            read()
    mine = tmp_path / "my-shd"  # a name of the user's own: served as it is
    os.rename(folder, mine)
    assert len(spyx_data.open_split(str(mine), "train")) == TRAIN and run([SPYX_DATA, "verify", str(mine)])[0] == 0


def test_a_shard_swapped_under_an_open_source_is_refused_when_read(copy, other_build):
    source = spyx_data.open_split(str(copy), "train")
    loader = spyx_data.GrainLoader(source, 10, shuffle=False)
    shard = source.info.shards[2]
    shutil.copy(os.path.join(other_build, shard.path), copy / shard.path)
    with pytest.raises(ShardError, match=f"{shard.path}: record 0 \\(source index {shard.first_index} of 'train'\\)"):
        source[shard.first_index]
    with pytest.raises(ShardError, match="a shard of another build"):
        list(loader)


def test_a_shard_cut_under_an_open_source_is_a_shard_error_naming_it(copy):
    source = spyx_data.open_split(str(copy), "train")
    loader = spyx_data.GrainLoader(source, 10, shuffle=False)
    source.read_batch(range(len(source)))  # every shard's reader open and read
    shard = source.info.shards[1]
    os.truncate(copy / shard.path, 5000)  # cut after its second record
    for read in (lambda: source[shard.first_index + 50], lambda: source.read_batch(range(shard.first_index, 300))):
        with pytest.raises(ShardError) as refused:
            read()
        assert str(refused.value).startswith(f"{copy / shard.path}: record ") and "of 'train'): 0 bytes read, a " \
            "record has 2104 (the file was cut" in str(refused.value) and "\n" not in str(refused.value)
    assert f"record 50 (source index {shard.first_index + 50} of 'train')" in str(_raised(lambda: source[150]))
    with pytest.raises(ShardError, match=f"{shard.path}: record 2 .*0 bytes read"):
        list(loader)


def _raised(call) -> BaseException:
    with pytest.raises(ShardError) as raised:
        call()
    return raised.value


def test_a_manifest_whose_counts_were_edited_consistently_drops_no_record_silently(copy):
    doc = json.loads((copy / "manifest.json").read_text())
    split = doc["splits"]["train"]
    split["shards"][-1]["num_records"] -= 10  # the last shard and the total agree, the file does not
    split["num_records"] -= 10
    (copy / "manifest.json").write_text(json.dumps(doc))
    for read in (lambda: spyx_data.load_split(str(copy), "train"), lambda: spyx_data.prestage(str(copy), "train", 10),
                 lambda: spyx_data.open_split(str(copy), "train")):
        with pytest.raises(ShardError, match="records, manifest says 90"):
            read()


@pytest.mark.parametrize("also_bytes", [False, True], ids=["records", "records-and-bytes"])
def test_a_manifest_claiming_2_40_records_is_refused_before_anything_is_allocated(copy, tmp_path, also_bytes):
    doc = json.loads((copy / "manifest.json").read_text())
    split = doc["splits"]["train"]
    last = split["shards"][-1]
    last["num_records"] += 2**40  # 2 PiB of records claimed in a 320 KiB file
    split["num_records"] += 2**40
    if also_bytes:  # the size claimed is not the file's either: the count ArrayRecord finds is compared
        last["num_bytes"] = (2**40 + 100) * 2104
    (copy / "manifest.json").write_text(json.dumps(doc))
    claim = f"{copy / last['path']}: " + ("100 records" if also_bytes else "its 327680 bytes hold at most 152 records "
                                         "of 2104 bytes") + f", manifest says {2**40 + 100}"
    for argv in (["info", str(copy)], ["plot", str(copy), "--index", "0", "--output", str(tmp_path / "x.png")]):
        code, out, err = run([SPYX_DATA, *argv])
        assert code == 1 and not out
        assert_one_line(err, claim)
    for read in (lambda: spyx_data.load_split(str(copy), "train"), lambda: spyx_data.prestage(str(copy), "train", 10),
                 lambda: spyx_data.prestage(str(copy), "train", 10, drop_remainder=False)):
        with pytest.raises(ShardError, match=claim):
            read()
    assert not (tmp_path / "x.png").exists()


# 5. Labels out of range.


def test_a_flipped_label_bit_is_refused_by_every_reader(copy):
    from spyx_data.format import riegeli

    manifest = manifest_lib.read_manifest(str(copy))
    shard = manifest.split("train").shards[0]
    path = copy / shard.path
    chunk = len(riegeli.chunk_prefix(manifest.layout.record_bytes)) + manifest.layout.record_bytes
    at = 64 + 2 * chunk + len(riegeli.chunk_prefix(manifest.layout.record_bytes)) + 8  # record 2's label
    data = bytearray(path.read_bytes())
    label = data[at]
    flipped = label ^ 32  # one bit: 0..19 becomes 32..51
    data[at] = flipped
    path.write_bytes(bytes(data))
    with pytest.raises(ShardError, match=rf"record 2: label {flipped} outside 0\.\.19"):
        spyx_data.load_split(str(copy), "train")
    with pytest.raises(ShardError, match=rf"record 2: label {flipped} outside 0\.\.19"):
        spyx_data.prestage(str(copy), "train", 10)
    with pytest.raises(ShardError, match="record 2"):  # ArrayRecord's reader: its hash says it first
        spyx_data.open_split(str(copy), "train")[2]


# 6. Empty epochs.


def test_an_epoch_of_no_batch_is_refused_at_construction(shd_build, shd_data):
    train = spyx_data.open_split(shd_build, "train")
    with pytest.raises(ValueError, match=f"has {TRAIN} samples per host, fewer than one batch of 5000"):
        spyx_data.GrainLoader(train, 5000, shuffle=True, drop_remainder=True)
    assert len(spyx_data.GrainLoader(train, 5000, shuffle=True, drop_remainder=False)) == 1
    with pytest.raises(ValueError, match="fewer than one batch of 5000"):
        spyx_data.SHD_loader(batch_size=5000, download_dir=shd_data, shards_dir=shd_build)


# 7. --synthetic next to real data.


def test_synthetic_data_is_never_mixed_with_real_data(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    real = [fixtures.audio_sample(3, "train", i) for i in range(30)]
    fixtures.write_heidelberg(synthetic.shd_path(str(data), "train"), real)  # no marker: real data
    code, _, err = run([SPYX_DATA, "build", "shd", f"--data_dir={data}", f"--output_dir={out}", "--synthetic=100"])
    assert code == 2
    assert_one_line(err, "holds real shd data for train but not for test", "would mix synthetic and real splits")
    assert not os.path.exists(synthetic.shd_path(str(data), "test")) and not out.exists()
    # Put there by hand (spyx-data never writes it beside real data): a synthetic test beside a real train.
    shutil.copy(synthetic.write_shd(str(tmp_path / "elsewhere"), "test", 10), synthetic.shd_path(str(data), "test"))
    code, _, err = run([SPYX_DATA, "build", "shd", f"--data_dir={data}", f"--output_dir={out}"])
    assert code == 2
    assert_one_line(err, "shd_test.h5 hold synthetic data (written by spyx-data)", "must not mix")
    assert not manifests_under(tmp_path)


def test_the_manifest_says_which_splits_are_synthetic(shd_build):
    manifest = manifest_lib.read_manifest(shd_build)
    assert all(info.source.synthetic for info in manifest.splits.values())


def test_a_corrupt_h5_beside_synthetic_is_named(tmp_path):
    data = tmp_path / "data"
    path = synthetic.write_shd(str(data), "train", 10)
    with open(path, "r+b") as f:
        f.write(b"\0" * 64)  # the HDF5 superblock clobbered
    code, _, err = run([SPYX_DATA, "build", "shd", f"--data_dir={data}", f"--output_dir={tmp_path / 'out'}",
                        "--synthetic=10"])
    assert code == 2
    assert_one_line(err, f"{path}: cannot open as HDF5")


# 8. Symlinks among the recordings.


@pytest.fixture
def nmnist_data(tmp_path):
    data = tmp_path / "data"
    synthetic.write(nmnist.DATASET, str(data), "test", 30)
    return data, data / "NMNIST" / "Test"


def build_nmnist(data, out):
    return run([SPYX_DATA, "build", "nmnist", f"--data_dir={data}", f"--output_dir={out}", "--splits=test"])


def test_a_dangling_symlink_or_a_symlink_loop_among_recordings_is_one_line(nmnist_data, tmp_path):
    data, split = nmnist_data
    os.symlink(tmp_path / "gone.bin", split / "3" / "99999.bin")
    code, _, err = build_nmnist(data, tmp_path / "out")
    assert code == 2
    assert_one_line(err, f"{split}/3/99999.bin: a dangling symlink (it points to {tmp_path / 'gone.bin'})")
    os.remove(split / "3" / "99999.bin")
    os.symlink(split / "3" / "loop-b.bin", split / "3" / "loop-a.bin")
    os.symlink(split / "3" / "loop-a.bin", split / "3" / "loop-b.bin")
    code, _, err = build_nmnist(data, tmp_path / "out")
    assert code == 2 and "a symlink loop" in err
    assert_one_line(err, "loop-a.bin")
    for name in ("loop-a.bin", "loop-b.bin"):
        os.remove(split / "3" / name)
    os.symlink(split, split / "4" / "back")  # a folder that leads back up
    code, _, err = build_nmnist(data, tmp_path / "out")
    assert code == 2
    assert_one_line(err, "again, through a symlink")
    assert not manifests_under(tmp_path / "out")


def test_a_symlinked_class_folder_is_followed(nmnist_data, tmp_path):
    data, split = nmnist_data
    moved = tmp_path / "elsewhere" / "5"
    moved.parent.mkdir()
    shutil.move(split / "5", moved)
    os.symlink(moved, split / "5")
    code, _, err = build_nmnist(data, tmp_path / "out")
    assert code == 0, err
    (manifest_path,) = manifests_under(tmp_path / "out")
    _, labels = spyx_data.load_split(os.path.dirname(manifest_path), "test")
    assert len(labels) == 30 and (labels == 5).sum() == 3  # the class is there, not dropped


def test_hidden_folders_among_a_datasets_recordings_are_skipped(nmnist_data, tmp_path):
    """A JupyterLab ``.ipynb_checkpoints`` folder (holding a copy of a recording) in the split and
    in a class folder, and ``.DS_Store`` files: the same build (no extra class, no duplicate
    sample, the same fingerprint), still marked synthetic by the marker beside the folder."""
    from pipelines import nmnist

    data, split = nmnist_data
    argv = [f"--data_dir={data}", f"--output_dir={tmp_path / 'out'}", "--splits=test"]
    clean = nmnist.run(argv)
    some = sorted((split / "3").glob("*.bin"))[0]
    for folder in (split, split / "3"):
        (folder / ".ipynb_checkpoints").mkdir()
        shutil.copy(some, folder / ".ipynb_checkpoints" / some.name)
        (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    hidden = nmnist.run([*argv[:1], f"--output_dir={tmp_path / 'out2'}", *argv[2:]])
    assert hidden.build_name == clean.build_name and hidden.splits["test"].source == clean.splits["test"].source
    assert hidden.splits["test"].num_records == 30 and hidden.splits["test"].source.synthetic
    for name in os.listdir(tmp_path / "out" / clean.build_name):
        assert (open(tmp_path / "out" / clean.build_name / name, "rb").read()
                == open(tmp_path / "out2" / hidden.build_name / name, "rb").read())


# 9. A full disk, while writing and while copying shards.


def in_a_small_tmpfs(folder, size, argv):
    """``argv`` run with a ``size`` tmpfs mounted on ``folder`` (a mount namespace of its own: no
    root needed, nothing to unmount); then what is left on it, listed: ``(code, stdout, stderr)``."""
    script = 'mount -t tmpfs -o size="$1" tmpfs "$2" && shift 2 && "$@" >&2; code=$?; find "$F" -mindepth 1; exit $code'
    return run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh", size, str(folder), *argv],
               env={**os.environ, "F": str(folder)})


def tmpfs_available():
    folder = tempfile.mkdtemp()
    try:
        return shutil.which("unshare") and in_a_small_tmpfs(folder, "64k", ["true"])[0] == 0
    finally:
        os.rmdir(folder)


@pytest.mark.skipif(not tmpfs_available(), reason="no user and mount namespaces here to mount a small tmpfs in")
@pytest.mark.parametrize("full", ["TMPDIR", "output_dir"])
def test_a_full_disk_is_one_line_naming_the_path_and_leaves_nothing(shd_data, tmp_path, full):
    small = tmp_path / "small"
    small.mkdir()
    out = small if full == "output_dir" else tmp_path / "out"
    argv = [sys.executable, "-m", "pipelines.shd", f"--data_dir={shd_data}", f"--output_dir={out}", "--num_shards=3"]
    if full == "TMPDIR":
        argv = ["env", f"TMPDIR={small}", *argv]
    code, left, err = in_a_small_tmpfs(small, "300k", argv)
    assert code == 1, err
    lines = [line for line in err.splitlines() if not line.startswith("  ")]  # progress lines
    assert len(lines) == 1 and lines[0].startswith("error: ") and "No space left on device" in lines[0], err
    assert f"{small}/" in lines[0] and "Traceback" not in err  # the path that filled up
    assert left == ""  # nothing on the full disk: no shard, no staging, no temporary folder
    assert not out.exists() or not os.listdir(out)


# 12. Smaller ones.


def test_a_record_too_big_is_refused_before_anything_is_made(tmp_path):
    code, _, err = run([SPYX_DATA, "build", "shd", f"--data_dir={tmp_path / 'data'}",
                        f"--output_dir={tmp_path / 'out'}", "--synthetic=5", "--sample_T=1000000000"])
    assert code == 2
    assert_one_line(err, "more than the 16,777,216 a record may")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("edit, message", [(("path", "."), "shard 0 of 3 is '.'"),
                                          (("num_records", 100.0), "num_records must be an integer")])
def test_verify_refuses_a_manifest_with_a_bad_value_in_one_line(copy, edit, message):
    doc = json.loads((copy / "manifest.json").read_text())
    doc["splits"]["train"]["shards"][0][edit[0]] = edit[1]
    (copy / "manifest.json").write_text(json.dumps(doc))
    code, out, err = run([SPYX_DATA, "verify", str(copy)])
    assert code == 1 and not out and err.count("\n") == 1 and message in err and "Traceback" not in err


# The default shard count of a split of few, large records.


def test_the_default_shard_count_never_exceeds_a_splits_samples(tmp_path):
    data, out, tmp = tmp_path / "data", tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    # 8.75 MB records (12,500 packed time steps x 700 channels): more than one 8 MiB shard each.
    build = [SPYX_DATA, "build", "shd", f"--data_dir={data}", f"--output_dir={out}", "--synthetic=3",
             "--splits=train", "--sample_T=100000", "--channels=700"]
    code, _, err = run([*build, "--num_shards=4"], env=env)  # asked for: refused, as ever
    assert code == 2
    assert_one_line(err, "--num_shards=4 is more than the 3 samples of split 'train'")
    assert os.listdir(out) == [] and os.listdir(tmp) == []
    code, text, err = run(build, env=env)  # not asked for: one shard per sample, not the 4 the size gives
    assert code == 0, err
    assert "train: 3 samples in 3 shards" in text and "--num_shards" not in err
