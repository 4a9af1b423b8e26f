"""Fault injection: killed and concurrent builds, corrupted builds, fuzzed parsers, bad input."""

import errno
import json
import os
import random
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spyx_data
from pipelines import shd
from spyx_data.__main__ import main as spyx_main
from spyx_data.builder import fixtures, synthetic
from spyx_data.errors import ShardError
from spyx_data.format import manifest as manifest_lib
from spyx_data.format import records
from spyx_data.read.verify import verify

from .conftest import files, manifests_under
from .hold import HANG_S, Holds

#: Shards of the 16 (8 per split) in the staging folder when the build is SIGKILLed: its in-process
#: runner runs the shard tasks one at a time, and the kill comes as the next one starts.
KILLED_WITH_STAGED = (0, 1, 3, 6, 9, 12, 14, 15)
BIT_FLIPS = 24  # single-bit flips at random positions of a shard


def partials(directory):
    return [n for n in os.listdir(directory) if ".incomplete-" in n] if os.path.isdir(directory) else []


@pytest.fixture(scope="module")
def fault_data(tmp_path_factory):
    """Synthetic SHD big enough that a build spends a while writing 8 shards per split."""
    data_dir = str(tmp_path_factory.mktemp("fault-data"))
    synthetic.write_shd(data_dir, "train", 2000)
    synthetic.write_shd(data_dir, "test", 600)
    return data_dir


def build_command(data_dir, root):
    return [sys.executable, "-m", "pipelines.shd", f"--data_dir={data_dir}", f"--output_dir={root}", "--num_shards=8"]


@pytest.fixture(scope="module")
def fault_reference(fault_data, tmp_path_factory):
    """The folder of an uninterrupted build, run as a subprocess."""
    root = tmp_path_factory.mktemp("fault-reference")
    subprocess.run(build_command(fault_data, root), check=True, capture_output=True, timeout=HANG_S)
    (name,) = os.listdir(root)
    return str(root / name)


def staged_shards(root):
    """The shard files in the staging folders under ``root``."""
    return [n for d in os.listdir(root) if d.startswith(".staging-") for n in os.listdir(root / d)
            if n.endswith(".array_record")]


def killed_at_a_shard_task(command, env, tmp_path, passed=0) -> tuple[int, int]:
    """Run the build ``command``, let ``passed`` shard tasks through and SIGKILL the build as the
    next one starts (no clean-up runs); the pid the held task ran in, and the build's."""
    with Holds(tmp_path) as holds:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env={**env, **holds.env})
        holds.watch(process)
        holds.pass_tasks(passed)
        pid, _ = holds.next()
        process.kill()
        process.wait()
    return pid, process.pid


@pytest.mark.parametrize("staged", KILLED_WITH_STAGED)
def test_a_build_killed_mid_way_recovers_byte_identical(fault_data, fault_reference, tmp_path, staged):
    root, tmp = tmp_path / "root", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    held, launcher = killed_at_a_shard_task(build_command(fault_data, root), env, tmp_path, passed=staged)
    assert held == launcher and len(staged_shards(root)) == staged  # the in-process runner's task, as it started
    folder = root / os.path.basename(fault_reference)
    assert not (folder / "manifest.json").exists()
    with pytest.raises(FileNotFoundError):  # readers see no dataset at all
        spyx_data.open_split(str(folder), "train")
    subprocess.run(build_command(fault_data, root), check=True, capture_output=True, timeout=HANG_S, env=env)
    assert files(folder) == files(fault_reference)
    # What the killed run left (its staging folder, its temporary folder) the next run removed.
    assert partials(folder) == [] and os.listdir(root) == [os.path.basename(fault_reference)] and os.listdir(tmp) == []


@pytest.mark.parametrize("preset", ["local", "processes:2"])
def test_ctrl_c_during_a_build_is_one_line_publishes_nothing_and_leaves_nothing(fault_data, fault_reference,
                                                                                tmp_path, preset):
    root, tmp = tmp_path / "root", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    # As from a terminal: a process group of its own, and SIGINT not ignored (as it is where the
    # tests run in the background); the signal's action is set and the build exec'd in its place.
    as_in_a_terminal = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                        "os.execv(sys.argv[1], sys.argv[1:])")
    with Holds(tmp_path) as holds:
        process = subprocess.Popen(
            [sys.executable, "-c", as_in_a_terminal, *build_command(fault_data, root), f"--preset={preset}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**env, **holds.env},
            start_new_session=True,
        )
        holds.watch(process)
        holds.next()  # the build has planned (its staging folder holds the plan) and a shard task started
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the whole process group
        holds.wait_until_held_tasks_end()  # interrupted, or its worker process stopped; never released
        _, err = process.communicate(timeout=HANG_S)
    assert process.returncode == 130, err
    assert err.splitlines()[-1] == "error: interrupted; nothing was published" and "Traceback" not in err, err
    assert os.listdir(root) == [] and os.listdir(tmp) == []
    subprocess.run(build_command(fault_data, root), check=True, capture_output=True, timeout=HANG_S, env=env)
    assert files(root / os.path.basename(fault_reference)) == files(fault_reference)


def test_a_build_published_by_another_run_while_it_writes_finishes_with_the_same_bytes(fault_data, fault_reference,
                                                                                     tmp_path):
    out = tmp_path / "out"
    with Holds(tmp_path) as holds:
        first = subprocess.Popen(build_command(fault_data, out), stderr=subprocess.PIPE,
                                 env={**os.environ, **holds.env})
        holds.watch(first)
        holds.next()  # the first run has planned and holds its first shard task
        second = subprocess.run(build_command(fault_data, out), capture_output=True, timeout=HANG_S)
        assert second.returncode == 0, second.stderr.decode()[-2000:]
        folder = out / os.path.basename(fault_reference)
        assert files(folder) == files(fault_reference)
    _, err = first.communicate(timeout=HANG_S)  # the first run goes on, and commits over the second's build
    assert first.returncode == 0, err.decode()[-2000:]
    assert files(folder) == files(fault_reference) and os.listdir(out) == [os.path.basename(fault_reference)]


def unshare_refused() -> str | None:
    """Why a new PID namespace cannot be made here (None: it can)."""
    try:
        probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", "echo $$"],
                               capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        return "no unshare command (util-linux) on this machine"
    if probe.returncode != 0 or probe.stdout.strip() != "1":
        return f"unshare --pid --fork --mount-proc is not permitted here: {probe.stderr.strip() or probe.stdout}"
    return None


def one_shard_command(data_dir, root):
    return [sys.executable, "-m", "pipelines.shd", f"--data_dir={data_dir}", f"--output_dir={root}",
            "--splits=train", "--num_shards=1", "--sample_T=16"]


def run_folders(directory):
    return sorted(n for n in os.listdir(directory) if "spyx-run-" in n)


def test_a_build_in_another_pid_namespace_leaves_a_running_build_alone(shd_data, tmp_path):
    # Containers on the host's network share its hostname, not its PIDs: the first build's pid
    # means nothing in the second's namespace, its lock does.
    reason = unshare_refused()
    if reason:
        pytest.skip(reason)
    root, tmp = tmp_path / "root", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    with Holds(tmp_path) as holds:
        first = subprocess.Popen(one_shard_command(shd_data, root), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True, env={**env, **holds.env})
        holds.watch(first)
        assert holds.next()[1] == "train-00000-of-00001.array_record"  # held as it writes
        staging, temp = run_folders(root), run_folders(tmp)
        assert len(staging) == 1 and staging[0].startswith(".staging-") and len(temp) == 1
        second = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", *one_shard_command(shd_data, root)],
                                capture_output=True, text=True, timeout=HANG_S, env=env)
        assert second.returncode == 0, second.stderr
        assert run_folders(root) == staging and run_folders(tmp) == temp  # the running build's folders are there
        (name,) = [n for n in os.listdir(root) if not n.startswith(".")]
        built = files(root / name)
    _, err = first.communicate(timeout=HANG_S)  # released
    assert first.returncode == 0, err
    assert files(root / name) == built  # the first build committed the same bytes over the second's
    assert os.listdir(root) == [name] and os.listdir(tmp) == []


def test_a_killed_builds_folders_are_removed_by_the_next_run_but_no_unlocked_folder(shd_data, tmp_path):
    root, tmp = tmp_path / "root", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    killed_at_a_shard_task(one_shard_command(shd_data, root), env, tmp_path)  # the kernel drops its locks
    staging, temp = run_folders(root), run_folders(tmp)
    assert len(staging) == 1 and len(temp) == 1
    # Folders as versions before the lock left them (no lock file), of a pid that is gone: left alone.
    old = f"spyx-run-{socket.gethostname()}-{2**22 + 1}-0ld0ld0l"
    for folder in (root / f".staging-shd-000000000000-{old}", tmp / old):
        folder.mkdir()
        (folder / "train-00000-of-00001.array_record").write_bytes(b"old")
    subprocess.run(one_shard_command(shd_data, root), check=True, capture_output=True, timeout=HANG_S, env=env)
    assert run_folders(root) == [f".staging-shd-000000000000-{old}"] and run_folders(tmp) == [old]
    (name,) = [n for n in os.listdir(root) if not n.startswith(".")]
    assert verify(str(root / name))[1] == []


def shard_info(directory, split="train", k=1):
    return manifest_lib.read_manifest(str(directory)).split(split).shards[k]


def test_every_single_bit_flip_is_caught_and_named(copy, capsys):
    shard = shard_info(copy)
    path = copy / shard.path
    pristine = path.read_bytes()
    rng = random.Random(0)
    for _ in range(BIT_FLIPS):
        data = bytearray(pristine)
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(data))
        _, problems = verify(str(copy))
        assert problems and all(p.shard == str(path) for p in problems), position
        assert any("sha256" in p.message for p in problems)
    path.write_bytes(pristine)
    assert verify(str(copy))[1] == []
    data = bytearray(pristine)
    data[len(data) // 2] ^= 0x10  # in the middle of the records
    path.write_bytes(bytes(data))
    assert spyx_main(["verify", str(copy)]) == 1
    err = capsys.readouterr().err
    assert f"FAILED {path}: record " in err and "(source index " in err
    with pytest.raises(ShardError, match="sha256"):
        spyx_data.open_split(str(copy), "train", verify=True)


def test_truncated_and_missing_shards_are_caught_on_open(copy):
    shard = shard_info(copy)
    path = copy / shard.path
    path.write_bytes(path.read_bytes()[: shard.num_bytes * 2 // 3])
    with pytest.raises(ShardError, match=str(path)):
        spyx_data.open_split(str(copy), "train")
    assert any("truncated" in p.message for p in verify(str(copy))[1])
    path.unlink()
    with pytest.raises(ShardError, match=str(path)):
        spyx_data.prestage(str(copy), "train", 10)
    assert [p.message for p in verify(str(copy))[1]] == ["missing"]


def test_an_edited_manifest_is_caught(copy, capsys):
    doc = json.loads((copy / "manifest.json").read_text())
    doc["splits"]["train"]["shards"][0]["sha256"] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(doc))
    assert spyx_main(["verify", str(copy)]) == 1
    assert "differs from the manifest's 0000" in capsys.readouterr().err
    doc["splits"]["train"]["shards"][0]["num_records"] += 1  # counts that no longer add up
    (copy / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(manifest_lib.ManifestError, match="does not continue at index"):
        spyx_data.open_split(str(copy), "train")
    for shard in doc["splits"]["train"]["shards"][1:]:  # counts that add up but disagree with the files
        shard["first_index"] += 1
    doc["splits"]["train"]["num_records"] += 1
    (copy / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(ShardError, match="records, manifest says"):
        spyx_data.open_split(str(copy), "train")
    doc["splits"]["train"]["shards"][0]["path"] = "../elsewhere.array_record"
    (copy / "manifest.json").write_text(json.dumps(doc))
    assert spyx_main(["verify", str(copy)]) == 1
    assert "leaves the dataset directory" in capsys.readouterr().err


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), dims=st.lists(st.integers(1, 4), min_size=1, max_size=6).map(tuple),
       sample_T=st.integers(1, 20))
def test_fuzzed_records_decode_or_raise_record_error(data, dims, sample_T):
    layout = records.RecordLayout(sample_T, dims)
    try:
        decoded = layout.decode(data)
    except records.RecordError:
        return
    assert len(decoded) * layout.record_bytes == len(data)
    assert (decoded["magic"] == records.MAGICS["binary"]).all()


def _valid_manifest_doc():
    shards = [manifest_lib.ShardInfo(f"train-0000{k}-of-00002.array_record", 5 * k, 5, 99, "ab" * 32) for k in range(2)]
    source = manifest_lib.SourceInfo(1, 99, "cd" * 32, False)
    manifest = manifest_lib.Manifest("shd", {"sample_T": 16}, 20, records.RecordLayout(16, (4,)), "group_size:1",
                                     {"train": manifest_lib.SplitInfo(10, tuple(shards), {"events": 1}, source)})
    return json.loads(manifest.to_json())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**40) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(path=st.lists(st.sampled_from(["splits", "train", "shards", 0, 1, "record", "path", "num_records", "dims",
                                      "first_index", "format", "counts", "config", "sample_T"]), min_size=1,
                     max_size=5),
       value=json_values)
def test_fuzzed_manifests_parse_or_raise_manifest_error(path, value):
    doc = _valid_manifest_doc()
    node = doc
    for key in path[:-1]:
        if (isinstance(node, dict) and key in node) or (
            isinstance(node, list) and isinstance(key, int) and key < len(node)
        ):
            node = node[key]
    last = path[-1]
    if isinstance(node, dict):
        node[str(last)] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = value
    try:
        manifest_lib.Manifest.from_json(json.dumps(doc))
    except manifest_lib.ManifestError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_fuzzed_manifest_bytes_raise_manifest_error(text):
    with pytest.raises(manifest_lib.ManifestError):
        manifest_lib.Manifest.from_json(text)


class _FullDisk:
    """A Beam write channel that fails like a full disk after ``limit`` bytes."""

    def __init__(self, channel, limit):
        self.channel, self.left = channel, limit

    def write(self, data):
        if len(data) > self.left:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.left -= len(data)
        return self.channel.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.channel.close()


def test_a_disk_filling_up_during_the_copy_fails_cleanly(shd_data, tmp_path, monkeypatch):
    from apache_beam.io.filesystems import FileSystems

    create = FileSystems.create
    def create_on_a_full_disk(path, *args, **kwargs):
        return _FullDisk(create(path, *args, **kwargs), 100_000)

    monkeypatch.setattr(FileSystems, "create", staticmethod(create_on_a_full_disk))
    with pytest.raises(Exception, match="No space left on device"):
        shd.run([f"--data_dir={shd_data}", f"--output_dir={tmp_path}", "--num_shards=3", "--splits=train"])
    assert not manifests_under(tmp_path)
    for folder in os.listdir(tmp_path):
        assert partials(tmp_path / folder) == []  # the failed copies removed their temporary files


def test_a_disk_filling_up_during_the_shard_write_fails_cleanly(shd_data, tmp_path, monkeypatch):
    from array_record.python import array_record_module

    real = array_record_module.ArrayRecordWriter

    class FullDiskWriter:
        def __init__(self, path, options):
            self.writer = real(path, options)
            self.path = path

        def ok(self):
            return self.writer.ok()

        def write(self, record):
            self.writer.write(record)

        def close(self):
            self.writer.close()
            raise RuntimeError(f"write() failed: No space left on device; writing {self.path}")

    monkeypatch.setattr(array_record_module, "ArrayRecordWriter", FullDiskWriter)
    with pytest.raises(Exception, match=r"No space left on device; writing .*train-00000-of-00003\.array_record"):
        shd.run([f"--data_dir={shd_data}", f"--output_dir={tmp_path}", "--num_shards=3", "--splits=train"])
    assert not manifests_under(tmp_path)
    for folder in os.listdir(tmp_path):
        assert partials(tmp_path / folder) == []


def test_an_unwritable_output_dir_is_one_clear_line(shd_data, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert shd.main([f"--data_dir={shd_data}", f"--output_dir={blocker}/shards"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write to {blocker}/shards: ") and err.count("\n") == 1


def test_wrong_h5_dtypes_are_named(tmp_path):
    import h5py

    path = synthetic.shd_path(str(tmp_path), "train")
    fixtures.write_heidelberg(path, [(np.array([0.1]), np.array([3]), 1, 0)])
    with h5py.File(path, "r+") as f:
        del f["spikes/units"]
        units = np.empty(1, dtype=object)
        units[0] = np.array([1.5], np.float32)
        f.create_dataset("spikes/units", data=units, dtype=h5py.vlen_dtype(np.float32))
    with pytest.raises(Exception, match=r"shd_train\.h5: shd spikes/times must be vlen or 2-D numbers and "
                                         r"spikes/units vlen or 2-D integers \(the layouts tonic reads\); found "
                                         r"vlen float16 \[1\] and vlen float32 \[1\]"):  # float32, not "object"
        shd.run([f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}", "--splits=train"])


def test_a_negative_time_in_the_data_is_named(tmp_path):
    data = str(tmp_path)
    fixtures.write_heidelberg(synthetic.shd_path(data, "train"), [(np.array([0.1, -0.2]), np.array([3, 4]), 1, 0)])
    with pytest.raises(Exception, match=r"shd_train\.h5: sample 0: event 1 has a negative time"):
        shd.run([f"--data_dir={data}", f"--output_dir={tmp_path / 'out'}", "--splits=train"])
    assert not manifests_under(tmp_path / "out")


def test_invalid_reader_options_are_refused(shd_build, tmp_path):
    source = spyx_data.open_split(shd_build, "test")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        spyx_data.GrainLoader(source, 0, shuffle=False)
    with pytest.raises(ValueError, match="worker_count must be >= 0"):
        spyx_data.GrainLoader(source, 4, shuffle=False, worker_count=-1)
    with pytest.raises(ValueError, match="process_index 4 is not in 0..3"):
        spyx_data.GrainLoader(source, 4, shuffle=False, process_index=4, process_count=4)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        spyx_data.SHD_loader(batch_size=0, download_dir=str(tmp_path))
    with pytest.raises(ValueError, match="channels must be in 1..700"):
        spyx_data.SHD_loader(channels=701, download_dir=str(tmp_path))
