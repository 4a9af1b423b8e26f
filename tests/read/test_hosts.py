"""Many hosts and devices reading one split: disjoint parts that cover it, in lockstep."""

import os
import subprocess
import sys
import textwrap

import numpy as np

import spyx_data
from spyx_data.format import plan

from ..conftest import TEST, TRAIN


def test_prestage_hosts_are_disjoint_cover_the_split_and_stay_in_lockstep(written_build):
    _, all_labels = spyx_data.load_split(written_build, "train")
    obs_all, _ = spyx_data.load_split(written_build, "train")
    rows = {o.tobytes(): i for i, o in enumerate(obs_all)}
    seen, shapes = [], set()
    for host in range(4):
        obs, labels, mask = spyx_data.prestage(written_build, "train", 16, drop_remainder=False,
                                               process_index=host, process_count=4)
        shapes.add(obs.shape)
        kept = np.asarray(mask).ravel()
        host_rows = [rows[o.tobytes()] for o in np.asarray(obs).reshape(-1, 16, 128)[kept]]
        start, stop = plan.host_range(TRAIN, host, 4)
        assert host_rows == list(range(start, stop))  # its contiguous part, in order
        assert np.asarray(labels).ravel()[kept].tolist() == all_labels[start:stop].tolist()
        seen += host_rows
    assert len(shapes) == 1 and sorted(seen) == list(range(TRAIN))
    staged = [spyx_data.prestage(written_build, "train", 16, process_index=h, process_count=4) for h in range(4)]
    dropped = {obs.shape for obs, _ in staged}
    assert dropped == {(TRAIN // 4 // 16, 16, 16, 128)}


def test_grain_loader_hosts_split_each_epoch_disjointly(written_build):
    source = spyx_data.open_split(written_build, "test")
    obs_all, _ = spyx_data.load_split(written_build, "test")
    rows = {o.tobytes(): i for i, o in enumerate(obs_all)}
    for drop_remainder in (True, False):
        per_host = []
        for host in range(4):
            loader = spyx_data.GrainLoader(source, 7, shuffle=True, seed=2, drop_remainder=drop_remainder,
                                           process_index=host, process_count=4)
            batches = list(loader)
            assert len(batches) == len(loader)
            per_host.append([rows[o.tobytes()] for b in batches for o in b.obs])
        union = [i for h in per_host for i in h]
        assert len(union) == len(set(union))
        if not drop_remainder:
            assert sorted(union) == list(range(TEST))
        else:
            assert len({len(h) for h in per_host}) == 1


def test_prestage_splits_the_batch_axis_across_devices(written_build):
    script = textwrap.dedent(f"""
        import jax, numpy as np, spyx_data
        assert len(jax.local_devices()) == 4
        obs, labels = spyx_data.prestage({written_build!r}, "train", 32, device=spyx_data.batch_sharding())
        assert obs.shape == (9, 32, 16, 128)
        shards = obs.addressable_shards
        assert len(shards) == 4 and {{s.data.shape for s in shards}} == {{(9, 8, 16, 128)}}
        assert {{s.device for s in labels.addressable_shards}} == set(jax.local_devices())
        whole, _ = spyx_data.load_split({written_build!r}, "train")
        np.testing.assert_array_equal(np.asarray(obs).reshape(-1, 16, 128), whole[:288])
        print("ok")
    """)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
