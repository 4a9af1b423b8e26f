"""Many hosts and devices reading one split: disjoint parts that cover it, in lockstep."""

import os
import subprocess
import sys
import textwrap

import numpy as np

import spyx_data
from spyx_data.format import plan

from ..conftest import TEST, TRAIN


def test_prestage_hosts_are_disjoint_cover_the_split_and_stay_in_lockstep(value_build):
    obs_all, all_labels = spyx_data.load_split(value_build, "train")
    shape = obs_all.shape[1:]
    rows = {o.tobytes(): i for i, o in enumerate(obs_all)}
    seen, shapes = [], set()
    for host in range(4):
        obs, labels, mask = spyx_data.prestage(value_build, "train", 16, drop_remainder=False,
                                               process_index=host, process_count=4)
        shapes.add((obs.shape, obs.dtype))
        kept = np.asarray(mask).ravel()
        flat = np.asarray(obs).reshape(-1, *shape)
        assert not flat[~kept].any()  # padding: all-zero obs
        host_rows = [rows[o.tobytes()] for o in flat[kept]]
        start, stop = plan.host_range(TRAIN, host, 4)
        assert host_rows == list(range(start, stop))  # its contiguous part, in order
        assert np.asarray(labels).ravel()[kept].tolist() == all_labels[start:stop].tolist()
        seen += host_rows
    assert len(shapes) == 1 and sorted(seen) == list(range(TRAIN))
    assert shapes == {((-(-TRAIN // 4 // 16), 16, *shape), obs_all.dtype)}
    staged = [spyx_data.prestage(value_build, "train", 16, process_index=h, process_count=4) for h in range(4)]
    dropped = {obs.shape for obs, _ in staged}
    assert dropped == {(TRAIN // 4 // 16, 16, *shape)}


def test_grain_loader_hosts_split_each_epoch_disjointly(written_build):
    source = spyx_data.open_split(written_build, "test")
    obs_all, _ = spyx_data.load_split(written_build, "test")
    rows = {o.tobytes(): i for i, o in enumerate(obs_all)}
    per_host = []
    for host in range(4):
        loader = spyx_data.GrainLoader(source, 7, shuffle=True, seed=2, process_index=host, process_count=4)
        batches = list(loader)
        assert len(batches) == len(loader) == TEST // 4 // 7
        per_host.append([rows[o.tobytes()] for b in batches for o in b.obs])
    union = [i for h in per_host for i in h]
    assert len(union) == len(set(union)) and len({len(h) for h in per_host}) == 1


def test_grain_loader_hosts_keep_lockstep_without_drop_remainder(value_build):
    """300 samples, batch 6, 7 hosts: 43 samples on six hosts and 42 on the seventh used to make
    8 batches there and 7 here; now every host pads to 8 whole batches and the mask (labels >= 0)
    marks each sample of the epoch once across hosts."""
    source = spyx_data.open_split(value_build, "train")
    obs_all, labels_all = spyx_data.load_split(value_build, "train")
    shape = obs_all.shape[1:]
    rows = {o.tobytes(): i for i, o in enumerate(obs_all)}
    for epoch in range(2):
        seen, counts = [], set()
        for host in range(7):
            loader = spyx_data.GrainLoader(source, 6, shuffle=True, seed=2, drop_remainder=False,
                                           process_index=host, process_count=7)
            batches = [b for _ in range(epoch + 1) for b in loader][-len(loader):]  # epoch ``epoch``
            counts.add(len(loader))
            assert len(batches) == 8 and {(b.obs.shape, b.obs.dtype, b.labels.shape) for b in batches} == {
                ((6, *shape), obs_all.dtype, (6,))}
            assert {b.labels.dtype for b in batches} == {np.dtype(np.int32)}
            obs, labels = np.concatenate([b.obs for b in batches]), np.concatenate([b.labels for b in batches])
            real = labels >= 0
            assert real.sum() == (43 if host < 6 else 42) and not real[real.sum():].any()  # padding at the end
            assert not obs[~real].any()  # all-zero obs
            host_rows = [rows[o.tobytes()] for o in obs[real]]
            assert labels[real].tolist() == labels_all[host_rows].tolist()
            seen += host_rows
        assert counts == {8} and sorted(seen) == list(range(TRAIN))
    one_host = list(spyx_data.GrainLoader(source, 7, shuffle=True, seed=2, drop_remainder=False,
                                          process_index=0, process_count=1))
    assert [len(b.labels) for b in one_host] == [7] * (TRAIN // 7) + [TRAIN % 7]  # one host: the last batch short


def test_prestage_splits_the_batch_axis_across_devices(value_build):
    script = textwrap.dedent(f"""
        import jax, numpy as np, spyx_data
        assert len(jax.local_devices()) == 4
        whole, _ = spyx_data.load_split({value_build!r}, "train")
        shape = whole.shape[1:]
        obs, labels = spyx_data.prestage({value_build!r}, "train", 32, device=spyx_data.batch_sharding())
        assert obs.shape == (9, 32, *shape) and obs.dtype == whole.dtype
        shards = obs.addressable_shards
        assert len(shards) == 4 and {{s.data.shape for s in shards}} == {{(9, 8, *shape)}}
        assert {{s.device for s in labels.addressable_shards}} == set(jax.local_devices())
        np.testing.assert_array_equal(np.asarray(obs).reshape(-1, *shape), whole[:288])
        print("ok")
    """)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


TWO_PROCESSES = """
import sys
import jax
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(coordinator_address="127.0.0.1:" + sys.argv[2], num_processes=2, process_id=int(sys.argv[1]))
import numpy as np
from jax.experimental import multihost_utils
import spyx_data
build = sys.argv[3]
assert jax.process_count() == 2 and len(jax.devices()) == 4 and len(jax.local_devices()) == 2
all_obs, all_labels = spyx_data.load_split(build, "train")
shape = all_obs.shape[1:]
rows = {o.tobytes(): i for i, o in enumerate(all_obs)}
sharding = spyx_data.batch_sharding()


def by_process(a):
    # A gathered global [batches, 32, ...] as process 0's rows, then process 1's.
    a = np.asarray(a)
    return a.reshape(a.shape[0], 2, 16, *a.shape[2:]).swapaxes(0, 1).reshape(-1, *a.shape[2:])


# prestage: global arrays, each process's part in its block of columns, every sample once.
obs, labels, mask = spyx_data.prestage(build, "train", 32, drop_remainder=False, device=sharding)
assert obs.shape == (10, 32, *shape) and labels.shape == mask.shape == (10, 32) and not obs.is_fully_addressable
assert obs.dtype == all_obs.dtype and {s.data.shape for s in obs.addressable_shards} == {(10, 8, *shape)}
obs, labels, mask = (by_process(multihost_utils.process_allgather(a, tiled=True)) for a in (obs, labels, mask))
assert labels[mask].tolist() == all_labels.tolist() and not obs[~mask].any()
np.testing.assert_array_equal(obs[mask], all_obs)
obs, labels = spyx_data.prestage(build, "train", 32, device=sharding)
assert obs.shape == (9, 32, *shape)
try:
    spyx_data.prestage(build, "train", 31, device=sharding)
    raise AssertionError("an odd global batch was accepted")
except ValueError as e:
    assert "multiple of 2" in str(e)

# GrainLoader: each process's part of every global batch, in lockstep.
# 150 samples a process in batches of 32: the last batch holds 22 and 10 rows of padding (label -1).
loader = spyx_data.GrainLoader(spyx_data.open_split(build, "train"), 32, shuffle=True, seed=3, drop_remainder=False)
assert len(loader) == 5
seen = []
for batch in loader:
    global_obs = jax.make_array_from_process_local_data(sharding, batch.obs[None])  # as the README does
    global_labels = jax.make_array_from_process_local_data(sharding, batch.labels[None], (1, 64))
    assert global_obs.shape == (1, 64, *shape) and global_obs.dtype == all_obs.dtype
    obs, labels = (multihost_utils.process_allgather(a, tiled=True)[0] for a in (global_obs, global_labels))
    real = [rows[o.tobytes()] for o in obs[labels >= 0]]
    assert labels[labels >= 0].tolist() == all_labels[real].tolist() and not obs[labels < 0].any()
    seen += real
assert sorted(seen) == list(range(len(all_labels)))
print("ok", jax.process_index())
"""


def test_two_real_jax_processes_share_global_arrays(value_build, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    script = tmp_path / "two.py"
    script.write_text(TWO_PROCESSES)
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    processes = [subprocess.Popen([sys.executable, str(script), str(i), port, value_build], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    try:
        outputs = [p.communicate(timeout=300) for p in processes]
    finally:
        for p in processes:
            p.kill()
    for i, (p, (out, err)) in enumerate(zip(processes, outputs)):
        assert p.returncode == 0 and out.splitlines()[-1] == f"ok {i}", err[-3000:]  # after Gloo's own lines
