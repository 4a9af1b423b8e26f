"""gs:// end to end on a real GCS emulator (gcp-storage-emulator on localhost): build, read back, refuse, time out."""

import os
import queue
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest

import spyx_data
from spyx_data import paths
from spyx_data.errors import MachineError, ShardError
from spyx_data.format import manifest as manifest_lib
from spyx_data.read import shards

from .conftest import build_dir
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


def test_a_store_that_does_not_answer_is_one_line_not_a_hang(gs_build, monkeypatch):
    url, _ = gs_build
    with socket.socket() as silent:  # connections to it are made (by the kernel), and never answered
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        unreachable = {"STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{silent.getsockname()[1]}",
                       paths.TIMEOUT_ENV: "3"}
        info = command("-m", "spyx_data.cli", "info", url, **unreachable)  # a hang: TimeoutExpired
        assert info.returncode == 1
        assert info.stderr.strip().count("\n") == 0 and url in info.stderr, info.stderr
        assert "no answer from the store in 3 s" in info.stderr, info.stderr
        for key, value in unreachable.items():
            monkeypatch.setenv(key, value)
        with pytest.raises(MachineError, match="no answer from the store in 3 s"):
            spyx_data.open_split(url.replace("/shards/", "/elsewhere/"), "train")
