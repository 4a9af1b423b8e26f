"""Builds of counts and float32 values: refused where another kind's shard stands, checked by verify."""

import os
import shutil

import numpy as np
import pytest

from spyx_data.errors import ShardError
from spyx_data.format import manifest as manifest_lib
from spyx_data.format import records
from spyx_data.read.verify import verify

from ..conftest import write_build
from ..test_refusals import SPYX_DATA, assert_readers_refuse, run

#: Time bins that give each kind of values records of one size (2,048 bytes of obs for 128 channels).
SAME_SIZE = {"binary": 128, "counts": 8, "float32": 4}


@pytest.fixture(scope="module")
def same_size_builds(tmp_path_factory) -> dict[str, str]:
    """A build of each kind of values whose records are all of one size, so that only their
    headers tell them apart."""
    root = tmp_path_factory.mktemp("same-size")
    return {values: write_build(root / values, values=values, sample_T=t) for values, t in SAME_SIZE.items()}


@pytest.mark.parametrize("mine, foreign", [(a, b) for a in SAME_SIZE for b in SAME_SIZE if a != b])
def test_a_shard_of_another_kind_of_values_is_refused_by_every_reader(same_size_builds, tmp_path, mine, foreign):
    copy = tmp_path / "copy"
    shutil.copytree(same_size_builds[mine], copy)
    layouts = {v: manifest_lib.read_manifest(b).layout for v, b in same_size_builds.items()}
    assert layouts[mine].record_bytes == layouts[foreign].record_bytes
    shard = manifest_lib.read_manifest(str(copy)).split("train").shards[1]
    shutil.copy(os.path.join(same_size_builds[foreign], shard.path), copy / shard.path)
    said = f"holds {foreign} records, this build's are {mine}: a shard of another kind of build"
    assert_readers_refuse(copy, ShardError, f"{shard.path}: record 0.*{said}")
    problems = verify(str(copy))[1]
    assert sum(f"holds {foreign} records" in p.message for p in problems) == shard.num_records


@pytest.mark.parametrize("values", ["counts", "float32"])
def test_verify_passes_a_good_build_and_names_a_corrupted_record(tmp_path, values):
    build = write_build(tmp_path / "build", values=values, sample_T=SAME_SIZE[values])
    code, out, err = run([SPYX_DATA, "verify", build])
    assert code == 0 and out.startswith(f"ok: {build}: 2 splits, 6 shards, 420 records verified") and not err
    shard = manifest_lib.read_manifest(build).split("test").shards[0]
    path = os.path.join(build, shard.path)
    data = bytearray(open(path, "rb").read())
    layout = manifest_lib.read_manifest(build).layout
    first = data.index(layout.encode(np.zeros((1, *layout.obs_shape), layout.obs_dtype), [0], [0])[:4])
    data[first + records.HEADER_BYTES + 5] ^= 0x40  # a bit of the first record's obs
    open(path, "wb").write(bytes(data))
    code, out, err = run([SPYX_DATA, "verify", build])
    lines = err.splitlines()
    assert code == 1 and not out and len(lines) == 2, err
    assert lines[0].startswith(f"FAILED {path}: sha256 ")
    assert lines[1].startswith(f"FAILED {path}: record 0: (source index {shard.first_index}) Corrupted"), lines[1]
