"""gs:// end to end on a real GCS emulator (gcp-storage-emulator on localhost): build, read back, refuse, time out."""

import contextlib
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import numpy as np
import pytest

import spyx_data
from spyx_data import paths
from spyx_data.errors import MachineError, ShardError, UsageError
from spyx_data.format import manifest as manifest_lib
from spyx_data.read import shards

from .conftest import build_dir, without_modules
from .hold import HANG_S

BUCKET = "bucket"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """A GCS emulator of our own, ``STORAGE_EMULATOR_HOST`` pointing at it (here and in the
    commands the tests start), a bucket, and a shard cache of the tests' own. Calls to it may
    take minutes on a loaded machine before they count as unanswered."""
    import psutil

    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "gcp-storage-emulator"), "start", "--host=127.0.0.1",
         "--port=0", "--in-memory"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()

    def drain():  # it logs every request: read on, or it blocks on a full pipe
        for line in server.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    said = []
    while not said or "All services started" not in said[-1]:  # logged once it listens
        try:
            said.append(lines.get(timeout=HANG_S))
        except queue.Empty:
            raise AssertionError(f"the emulator said nothing for {HANG_S} s: {''.join(said)}") from None
        assert said[-1] is not None, "the emulator ended: " + "".join(said[:-1])
    # The port the system gave it (no free port picked beforehand that another process could take).
    (port,) = {c.laddr.port for c in psutil.Process(server.pid).net_connections("tcp") if c.status == "LISTEN"}
    saved = {k: os.environ.get(k) for k in ("STORAGE_EMULATOR_HOST", shards.SHARD_CACHE_ENV, paths.TIMEOUT_ENV)}
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
    os.environ[shards.SHARD_CACHE_ENV] = str(tmp_path_factory.mktemp("shard-cache"))
    os.environ[paths.TIMEOUT_ENV] = str(HANG_S)
    client().create_bucket(BUCKET)
    yield f"gs://{BUCKET}"
    server.terminate()
    server.wait(HANG_S)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def client():
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(credentials=AnonymousCredentials(), project="test-project")


def upload(folder: str, prefix: str) -> None:
    bucket = client().bucket(BUCKET)
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            bucket.blob(f"{prefix}/{os.path.relpath(path, folder)}").upload_from_filename(path)


def blobs(prefix: str) -> dict[str, bytes]:
    return {b.name[len(prefix) + 1 :]: b.download_as_bytes() for b in client().list_blobs(BUCKET, prefix=prefix + "/")}


def command(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=HANG_S,
                          env={**os.environ, **env})


@pytest.fixture(scope="module")
def gs_build(emulator, shd_data, tmp_path_factory):
    """SHD raw files uploaded to gs://bucket/raw, built there by ``python -m pipelines.shd`` into
    gs://bucket/shards, and the same built locally: ``(URL of the build, local build folder)``."""
    upload(shd_data, "raw")
    result = command("-m", "pipelines.shd", f"--data_dir={emulator}/raw", f"--output_dir={emulator}/shards")
    assert result.returncode == 0, result.stderr[-3000:]
    local_root = str(tmp_path_factory.mktemp("local"))
    from pipelines import shd

    local = build_dir(local_root, shd.run([f"--data_dir={shd_data}", f"--output_dir={local_root}"]))
    return f"{emulator}/shards/{os.path.basename(local)}", local


def test_a_build_on_gcs_has_the_local_builds_bytes(gs_build):
    url, local = gs_build
    remote = blobs("shards/" + os.path.basename(local))
    assert remote and remote == {name: open(os.path.join(local, name), "rb").read() for name in os.listdir(local)}


def test_readers_read_a_gcs_build_as_the_local_one(gs_build):
    url, local = gs_build
    for split in ("train", "test"):
        remote_source, local_source = spyx_data.open_split(url, split), spyx_data.open_split(local, split)
        assert remote_source.paths[0].startswith(os.environ[shards.SHARD_CACHE_ENV])  # verified local copies
        np.testing.assert_array_equal(remote_source.read_batch(range(len(remote_source)))["obs"],
                                      local_source.read_batch(range(len(local_source)))["obs"])
        remote_loader = spyx_data.GrainLoader(remote_source, 16, shuffle=True, seed=3)
        local_loader = spyx_data.GrainLoader(local_source, 16, shuffle=True, seed=3)
        assert [b.obs.tobytes() + b.labels.tobytes() for b in remote_loader] == \
               [b.obs.tobytes() + b.labels.tobytes() for b in local_loader]
        for remote, here in zip(spyx_data.prestage(url, split, 16, drop_remainder=False),
                                spyx_data.prestage(local, split, 16, drop_remainder=False)):
            np.testing.assert_array_equal(np.asarray(remote), np.asarray(here))
    cached = sorted(os.listdir(os.environ[shards.SHARD_CACHE_ENV]))
    manifest = manifest_lib.read_manifest(url)
    assert cached == sorted(f"{s.sha256}.array_record" for i in manifest.splits.values() for s in i.shards)


def test_info_and_verify_read_a_gcs_build(gs_build, emulator):
    url, local = gs_build
    info = command("-m", "spyx_data.cli", "info", f"{emulator}/shards")
    assert info.returncode == 0 and os.path.basename(local) in info.stdout, info.stderr[-2000:]
    verify = command("-m", "spyx_data.cli", "verify", url)
    assert verify.returncode == 0, verify.stdout + verify.stderr[-2000:]


def test_a_changed_shard_on_gcs_is_refused_and_reported(gs_build, tmp_path, monkeypatch):
    url, local = gs_build
    name = os.path.basename(local)
    tampered = tmp_path / name
    tampered.mkdir()
    for file in os.listdir(local):
        data = bytearray(open(os.path.join(local, file), "rb").read())
        if file.startswith("train-00000"):
            data[-100] ^= 1
        (tampered / file).write_bytes(bytes(data))
    upload(str(tmp_path), "tampered")
    bad = url.replace("/shards/", "/tampered/")
    # Copies are named by the manifest's sha256: with this build's shards cached, the manifest's bytes are served.
    np.testing.assert_array_equal(spyx_data.load_split(bad, "train")[0], spyx_data.load_split(local, "train")[0])
    monkeypatch.setenv(shards.SHARD_CACHE_ENV, str(tmp_path / "fresh-cache"))
    with pytest.raises(ShardError, match=r"train-00000.*not this build's shard") as refused:
        spyx_data.open_split(bad, "train")
    assert bad in str(refused.value) and "\n" not in str(refused.value)
    assert os.listdir(tmp_path / "fresh-cache") == [f for f in os.listdir(tmp_path / "fresh-cache") if "fetch" not in f]
    verify = command("-m", "spyx_data.cli", "verify", bad)
    assert verify.returncode == 1 and f"{bad}/train-00000" in verify.stdout + verify.stderr


@contextlib.contextmanager
def silent_store() -> Iterator[str]:
    """A store that takes connections (the kernel does) and never answers: its address, for
    ``STORAGE_EMULATOR_HOST`` (a port of its own while it lives, which nothing else can take)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        yield f"http://127.0.0.1:{silent.getsockname()[1]}"


def test_a_store_that_does_not_answer_is_one_line_not_a_hang(gs_build, monkeypatch):
    url, _ = gs_build
    with silent_store() as address:
        unreachable = {"STORAGE_EMULATOR_HOST": address, paths.TIMEOUT_ENV: "3"}
        info = command("-m", "spyx_data.cli", "info", url, **unreachable)  # a hang: TimeoutExpired
        assert info.returncode == 1
        assert info.stderr.strip().count("\n") == 0 and url in info.stderr, info.stderr
        assert "no answer from the store in 3 s" in info.stderr, info.stderr
        for key, value in unreachable.items():
            monkeypatch.setenv(key, value)
        with pytest.raises(MachineError, match="no answer from the store in 3 s"):
            spyx_data.open_split(url.replace("/shards/", "/elsewhere/"), "train")


def test_a_gcs_folder_holding_another_build_is_refused(gs_build, emulator):
    _, local = gs_build
    bucket = client().bucket(BUCKET)
    prefix = "shards/" + os.path.basename(local)
    for blob in client().list_blobs(BUCKET, prefix=prefix + "/"):  # copied in under another build's name
        bucket.copy_blob(blob, bucket, blob.name.replace(prefix, "moved/shd-0123456789ab"))
    said = f"{emulator}/moved/shd-0123456789ab holds build {os.path.basename(local)}, not shd-0123456789ab"
    for read in (lambda: spyx_data.open_split(f"{emulator}/moved/shd-0123456789ab", "train"),
                 lambda: spyx_data.load_split(f"{emulator}/moved/shd-0123456789ab", "test")):
        with pytest.raises(UsageError, match=said):
            read()


def test_a_remote_path_with_odd_characters_is_refused_before_any_work(emulator, tmp_path):
    data = tmp_path / "data"
    result = command("-m", "pipelines.shd", "--synthetic=5", f"--data_dir={data}", f"--output_dir={emulator}/odd?x=1")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: argument --output_dir: {emulator}/odd?x=1: '?' in a remote path")
    assert not data.exists() and not blobs("odd?x=1") and not blobs("odd")  # nothing written, nothing published
    info = command("-m", "spyx_data.cli", "info", f"{emulator}/shards#1")
    assert info.returncode == 2 and info.stderr == f"error: {emulator}/shards#1/manifest.json: '#' in a remote " \
        "path, which URLs or listings would read as another path (a query, fragment, escape or wildcard); use a " \
        "name without ? # % * [ ] or control characters\n"
    for odd in "?#%*[]\n":
        with pytest.raises(UsageError, match="in a remote path"):
            spyx_data.open_split(f"{emulator}/shards{odd}x", "train")


def test_a_build_whose_store_does_not_answer_is_one_line(shd_data, tmp_path):
    with silent_store() as address:
        result = command("-m", "pipelines.shd", f"--data_dir={shd_data}", "--output_dir=gs://bucket/shards",
                         STORAGE_EMULATOR_HOST=address, **{paths.TIMEOUT_ENV: "3"})
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr[-3000:]
    assert result.stderr.startswith("error: gs://bucket/shards/shd-") and "no answer from the store in 3 s" in \
        result.stderr  # the first remote read, of the manifest already there, bounded


def test_a_missing_gcs_filesystem_is_the_install_to_fix(tmp_path):
    env = {**without_modules(tmp_path / "blocked", "apitools", "google.cloud.storage", "gcsfs"),
           "STORAGE_EMULATOR_HOST": "http://127.0.0.1:9", paths.TIMEOUT_ENV: "5"}  # never reached: nothing reads gs://
    info = command("-m", "spyx_data.cli", "info", "gs://bucket/shards", **env)
    assert info.returncode == 2 and info.stderr.count("\n") == 1, info.stderr
    assert info.stderr.startswith("error: gs://bucket/shards/manifest.json: nothing installed here reads gs:// paths")
    assert info.stderr.endswith('; pip install "spyx-data[gcs]" (gcsfs), or Beam\'s gcp extra: pip install '
                                '"apache-beam[gcp]"\n')
    build = command("-m", "pipelines.shd", f"--data_dir={tmp_path}", "--output_dir=gs://bucket/shards", **env)
    assert build.returncode == 2 and build.stderr.count("\n") == 1, build.stderr
    assert 'has no filesystem for them here; pip install "apache-beam[gcp]"' in build.stderr


def test_reading_gcs_through_gcsfs_prints_only_its_own_lines(gs_build, emulator, tmp_path):
    url, _ = gs_build
    env = {**without_modules(tmp_path / "no-beam", "apache_beam"),  # etils.epath and gcsfs read it
           shards.SHARD_CACHE_ENV: str(tmp_path / "cache")}  # every shard fetched through gcsfs
    info = command("-m", "spyx_data.cli", "info", f"{emulator}/shards", **env)
    assert info.returncode == 0 and f"shd build in {url}" in info.stdout, info.stderr[-3000:]
    assert info.stderr == f"using {url}, the one build in {emulator}/shards\n"
    manifest = manifest_lib.read_manifest(url)
    assert len(os.listdir(tmp_path / "cache")) == sum(len(info.shards) for info in manifest.splits.values())


def test_gcsfs_warnings_are_kept_quiet_where_spyx_data_reads_through_it(gs_build, monkeypatch, caplog):
    url, _ = gs_build
    monkeypatch.setattr(paths, "_filesystems", lambda path: paths.check_remote(path))  # as without Beam
    monkeypatch.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")  # what an emulator gets; kept to this test
    gcsfs_log = logging.getLogger("gcsfs")
    gcsfs_log.setLevel(logging.NOTSET)  # as in a fresh process
    try:
        assert spyx_data.read_manifest(url).build_name == url.rsplit("/", 1)[-1]
        gcsfs_log.warning("Could not determine bucket type for bucket name bucket: ..., falling back to GCSFileSystem")
        assert not [r for r in caplog.records if r.name == "gcsfs"]  # as gcsfs warns on every call it cannot ask
        gcsfs_log.setLevel(logging.INFO)  # a level of the user's own is kept
        spyx_data.read_manifest(url)
        assert gcsfs_log.level == logging.INFO
    finally:
        gcsfs_log.setLevel(logging.NOTSET)
