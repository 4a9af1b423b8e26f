"""Shared fixtures: a network guard, small synthetic SHD data and one build of it."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket

import pytest
from hypothesis import HealthCheck, settings

from spyx_data.builder import inputs, synthetic

TRAIN, TEST = 300, 120  # synthetic samples per split in the shared build
NUM_SHARDS = 3

_network_attempts: list[str] = []

# Property tests judge results only: no per-example deadline, no health check on the time taken
# to generate examples (both fail at random on a loaded machine).
settings.register_profile("steady", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("steady")


def _is_local(host: object) -> bool:
    if not isinstance(host, str) or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> None:
    _network_attempts.append(what)
    raise OSError(f"test tried to reach the network: {what}")


@pytest.fixture(autouse=True, scope="session")
def no_network():
    """Refuse any connection or name lookup beyond loopback, and tonic downloads."""
    import tonic.dataset

    mp = pytest.MonkeyPatch()
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            _refuse(f"connect to {address}")
        return connect(sock, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host is not None and not _is_local(host if isinstance(host, str) else host.decode()):
            _refuse(f"resolve {host}")
        return getaddrinfo(host, *args, **kwargs)

    mp.setattr(socket.socket, "connect", guarded_connect)
    mp.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    mp.setattr(tonic.dataset.Dataset, "download", lambda self: _refuse(f"tonic download of {self.url}"))
    yield
    mp.undo()


@pytest.fixture(autouse=True, scope="session")
def digest_cache(tmp_path_factory):
    """The tests' own digest cache (spyx_data.builder.inputs), also for the commands they start."""
    path = str(tmp_path_factory.mktemp("cache") / "digests.sqlite3")
    saved = os.environ.get(inputs.CACHE_ENV)
    os.environ[inputs.CACHE_ENV] = path
    yield path
    if saved is None:
        del os.environ[inputs.CACHE_ENV]
    else:
        os.environ[inputs.CACHE_ENV] = saved


@pytest.fixture(autouse=True)
def fail_on_network_attempt():
    """Fail a test that tried the network even if the code under test swallowed the error."""
    _network_attempts.clear()
    yield
    assert not _network_attempts, f"network access attempted: {_network_attempts}"


@pytest.fixture
def network_refused():
    """For a test that expects the code to try the network: the attempts it made, refused."""
    yield _network_attempts
    assert _network_attempts, "expected a (refused) network attempt"
    _network_attempts.clear()


BLOCK_IMPORTS = """
import sys
class Block:  # as where these modules are not installed
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
sys.meta_path.insert(0, Block())
"""


def without_modules(folder, *names: str) -> dict[str, str]:
    """The environment of a process, and of every process it starts (Beam's workers too), in
    which the modules ``names`` and those below them cannot be imported, as where they are not
    installed: a ``sitecustomize`` in ``folder`` (made), put on ``PYTHONPATH``, blocks them."""
    os.makedirs(folder)
    with open(os.path.join(folder, "sitecustomize.py"), "w") as f:
        f.write(f"BLOCKED = {names!r}\n{BLOCK_IMPORTS}")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))}


@pytest.fixture
def without_apitools(tmp_path):
    """The environment of a process, and of every process it starts, in which ``apitools``
    cannot be imported, as where Beam's gcp extra is not installed (the README's first command)."""
    return without_modules(tmp_path / "without-apitools", "apitools")


@pytest.fixture(scope="session")
def shd_data(tmp_path_factory) -> str:
    """A tonic save_to folder with small synthetic SHD train and test splits."""
    data_dir = str(tmp_path_factory.mktemp("data"))
    synthetic.write_shd(data_dir, "train", TRAIN)
    synthetic.write_shd(data_dir, "test", TEST)
    return data_dir


@pytest.fixture(scope="session")
def shd_build(shd_data, tmp_path_factory) -> str:
    """The folder of the shared build of ``shd_data`` (3 shards per split, in-process runner)."""
    from pipelines import shd

    root = str(tmp_path_factory.mktemp("shards"))
    return build_dir(root, shd.run([f"--data_dir={shd_data}", f"--output_dir={root}", f"--num_shards={NUM_SHARDS}"]))


def write_build(root, seed: int = 0, sizes=(("train", TRAIN), ("test", TEST)), num_shards: int = NUM_SHARDS,
                values: str = "binary", sample_T: int = 128, dims: tuple[int, ...] = (128,),
                dataset: str = "shd", config: dict | None = None) -> str:
    """A build written with the format wing and ArrayRecord's writer alone (no Beam, no tonic):
    by default SHD's layout (``sample_T`` 128, 128 channels), random obs and labels in 0..19,
    drawn from ``seed`` (another seed: another build of the same configuration and sizes). Obs
    of ``values``' type over its whole range: binary random packed bytes, counts any uint16,
    float32 normal draws. ``config``: more config entries (e.g. a camera's ``sensor``). Its folder."""
    import hashlib

    import numpy as np
    from array_record.python.array_record_module import ArrayRecordWriter

    from spyx_data.format import manifest as manifest_lib
    from spyx_data.format import plan, records

    rng = np.random.default_rng(seed)
    layout, options = records.RecordLayout(sample_T, tuple(dims), values), plan.writer_options()
    config = {"sample_T": sample_T, "channels": dims[-1], "num_shards": num_shards, "written_by": "tests",
              "seed": seed, **({} if values == "binary" else {"values": values}), **(config or {})}
    sources = {split: manifest_lib.SourceInfo(1, 1000, hashlib.sha256(f"{seed}/{split}".encode()).hexdigest(), True)
               for split, _ in sizes}
    key = manifest_lib.BuildKey(dataset, config, layout, options, {s: info.sha256 for s, info in sources.items()})
    folder = os.path.join(str(root), key.name)
    os.makedirs(folder)
    splits = {}
    for split, n in sizes:
        shards = []
        for k, (start, stop) in enumerate(plan.shard_ranges(n, num_shards)):
            name = plan.shard_name(split, k, num_shards)
            shape = (stop - start, *layout.obs_shape)
            obs = (rng.standard_normal(shape, dtype=np.float32) if values == "float32"
                   else rng.integers(0, np.iinfo(layout.obs_dtype).max + 1, shape, dtype=layout.obs_dtype))
            encoded = layout.encode(obs, rng.integers(0, 20, stop - start), range(start, stop), key.build_id)
            writer = ArrayRecordWriter(os.path.join(folder, name), options)
            for record in layout.split(encoded):
                writer.write(record)
            writer.close()
            data = open(os.path.join(folder, name), "rb").read()
            digest = hashlib.sha256(data).hexdigest()
            shards.append(manifest_lib.ShardInfo(name, start, stop - start, len(data), digest))
        splits[split] = manifest_lib.SplitInfo(n, tuple(shards), {"events": 0}, sources[split])
    manifest = manifest_lib.Manifest(dataset, config, 20, layout, options, splits)
    with open(os.path.join(folder, manifest_lib.MANIFEST_NAME), "w") as f:
        f.write(manifest.to_json())
    return folder


@pytest.fixture(scope="session")
def written_build(tmp_path_factory) -> str:
    """A build written without Beam or tonic (:func:`write_build`): what reader tests read."""
    return write_build(tmp_path_factory.mktemp("written"))


#: The kinds of record values, and the time bins of the shared build of each (the others are smaller than
#: binary SHD's, being 16 or 32 times its bytes per bin).
VALUES = {"binary": 128, "counts": 32, "float32": 16}


@pytest.fixture(scope="session", params=list(VALUES))
def value_build(request, written_build, tmp_path_factory) -> str:
    """The shared build of each kind of values (binary: :func:`written_build`), SHD's channels
    and split sizes; what reader tests that hold for every kind read."""
    if request.param == "binary":
        return written_build
    return write_build(tmp_path_factory.mktemp(request.param), values=request.param, sample_T=VALUES[request.param])


@pytest.fixture
def copy(written_build, tmp_path):
    """A private copy of the written build, to corrupt."""
    target = tmp_path / os.path.basename(written_build)
    shutil.copytree(written_build, target)
    return target


def build_dir(root, manifest) -> str:
    """Where a build with ``manifest`` lives under the output root ``root``."""
    return os.path.join(str(root), manifest.build_name)


def manifests_under(root) -> list[str]:
    """Every manifest.json below ``root`` (a failed build must publish none)."""
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f == "manifest.json"]


def files(directory) -> dict[str, bytes]:
    """Every file directly in ``directory``, by name."""
    return {name: open(os.path.join(directory, name), "rb").read() for name in sorted(os.listdir(directory))}
