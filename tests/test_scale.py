"""Scale-out: Dataflow translation, any Beam filesystem, Dask, presets, and many hosts reading."""

import os
import subprocess
import sys
import textwrap

import apache_beam as beam
import numpy as np
import pytest

import spyx_data
from pipelines import shd
from pipelines.transforms import BuildShards
from runners import presets
from runners.local import pipeline_options
from spyx_data.build import registry
from spyx_data.format import plan

from . import memfs
from .conftest import NUM_SHARDS, TEST, TRAIN, build_dir, files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATAFLOW = ["--project=my-project-123", "--region=us-central1", "--temp_location=gs://my-bucket/tmp", "--dry_run=True"]
IMAGE = "us-central1-docker.pkg.dev/my-project-123/repo/spyx-data:0.1.0"


@pytest.fixture
def offline_gcp(monkeypatch):
    monkeypatch.setenv("NO_GCE_CHECK", "true")


def test_dataflow_translation_has_the_build_stages_and_the_image(offline_gcp):
    argv = presets.expand(["--preset=dataflow", f"--sdk_container_image={IMAGE}", *DATAFLOW])
    pipeline = beam.Pipeline(options=pipeline_options(argv))
    spec = registry.get("shd").spec()
    _ = pipeline | "BuildShards" >> BuildShards(
        spec, {"train": "gs://b/raw/SHD/shd_train.h5", "test": "gs://b/raw/SHD/shd_test.h5"}, {}, "gs://b/out",
        "group_size:1,uncompressed",
    )
    result = pipeline.run()
    proto = result.job.proto_pipeline
    stages = {t.unique_name for t in proto.components.transforms.values()}
    for stage in ("Sources", "PlanShards", "Distribute", "WriteShards", "Gather", "CommitManifest"):
        assert f"BuildShards/{stage}" in stages
    assert any(IMAGE.encode() in env.payload for env in proto.components.environments.values())


def test_dataflow_dry_run_from_the_command_line_reads_no_data(offline_gcp, capsys):
    code = shd.main([
        "--preset=dataflow", f"--sdk_container_image={IMAGE}", *DATAFLOW,
        "--data_dir=gs://my-bucket/raw", "--output_dir=gs://my-bucket/shards",
    ])
    assert code == 0 and "dry run: translated, nothing written" in capsys.readouterr().out


def test_presets_expand_and_explicit_flags_win():
    assert presets.expand(["--preset=processes:3", "--x=1"]) == [
        "--runner=FnApiRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=3", "--x=1"
    ]
    dask = presets.expand(["--preset=dask:4", "--plan_parts=7"])
    assert f"--runner={presets.DASK_RUNNER}" in dask and "--plan_parts=7" in dask and "--plan_parts=4" not in dask
    shipped = presets.expand(["--preset=dataflow"])
    assert f"--setup_file={os.path.join(ROOT, 'pyproject.toml')}" in shipped
    assert os.path.exists(os.path.join(ROOT, "runners", "worker_requirements.txt"))
    with pytest.raises(ValueError, match="unknown --preset=spark"):
        presets.expand(["--preset=spark"])


def test_dockerfile_builds_from_the_pinned_beam_image():
    pinned = next(
        line.split("==")[1].strip() for line in open(os.path.join(ROOT, "constraints.txt"))
        if line.startswith("apache-beam==")
    )
    dockerfile = open(os.path.join(ROOT, "Dockerfile")).read()
    assert f"FROM apache/beam_python3.11_sdk:{pinned}\n" in dockerfile


def test_build_from_and_to_a_non_local_filesystem(shd_build, shd_data):
    for split in ("train", "test"):
        with open(os.path.join(shd_data, "SHD", f"shd_{split}.h5"), "rb") as f:
            memfs.FILES[f"memtest://raw/SHD/shd_{split}.h5"] = f.read()
    manifest = shd.run([
        "--data_dir=memtest://raw", "--output_dir=memtest://bucket/shards", f"--num_shards={NUM_SHARDS}",
        "--direct_running_mode=in_memory",
    ])
    prefix = f"memtest://bucket/shards/{manifest.build_name}/"
    assert manifest.build_name == os.path.basename(shd_build)
    written = {p[len(prefix):]: b for p, b in memfs.FILES.items() if p.startswith("memtest://bucket/")}
    local = files(shd_build)
    assert set(written) == set(local)  # nothing else: no partial or temporary files left
    for name, data in local.items():
        if name != "manifest.json":
            assert written[name] == data, name
    assert manifest.split("train").num_records == TRAIN
    assert spyx_data.Manifest.from_json(written["manifest.json"]).build_key != ()  # a valid manifest
    assert manifest.config["inputs"] == {"train": "shd_train.h5", "test": "shd_test.h5"}


def test_dask_cluster_build_is_byte_identical(shd_build, shd_data, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        manifest = shd.run([
            f"--data_dir={shd_data}", f"--output_dir={tmp_path}", f"--num_shards={NUM_SHARDS}",
            "--preset=dask:2", f"--dask_client_address={cluster.scheduler_address}",
        ])
    assert files(build_dir(tmp_path, manifest)) == files(shd_build)


def test_prestage_hosts_are_disjoint_cover_the_split_and_stay_in_lockstep(shd_build):
    _, all_labels = spyx_data.load_split(shd_build, "train")
    obs_all, _ = spyx_data.load_split(shd_build, "train")
    rows = {o.tobytes(): i for i, o in enumerate(obs_all)}
    seen, shapes = [], set()
    for host in range(4):
        obs, labels, mask = spyx_data.prestage(shd_build, "train", 16, drop_remainder=False,
                                               process_index=host, process_count=4)
        shapes.add(obs.shape)
        kept = np.asarray(mask).ravel()
        host_rows = [rows[o.tobytes()] for o in np.asarray(obs).reshape(-1, 16, 128)[kept]]
        start, stop = plan.host_range(TRAIN, host, 4)
        assert host_rows == list(range(start, stop))  # its contiguous part, in order
        assert np.asarray(labels).ravel()[kept].tolist() == all_labels[start:stop].tolist()
        seen += host_rows
    assert len(shapes) == 1 and sorted(seen) == list(range(TRAIN))
    dropped = {spyx_data.prestage(shd_build, "train", 16, process_index=h, process_count=4)[0].shape for h in range(4)}
    assert dropped == {(TRAIN // 4 // 16, 16, 16, 128)}


def test_grain_loader_hosts_split_each_epoch_disjointly(shd_build):
    source = spyx_data.open_split(shd_build, "test")
    obs_all, _ = spyx_data.load_split(shd_build, "test")
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


def test_prestage_splits_the_batch_axis_across_devices(shd_build):
    script = textwrap.dedent(f"""
        import jax, numpy as np, spyx_data
        assert len(jax.local_devices()) == 4
        obs, labels = spyx_data.prestage({shd_build!r}, "train", 32, device=spyx_data.batch_sharding())
        assert obs.shape == (9, 32, 16, 128)
        shards = obs.addressable_shards
        assert len(shards) == 4 and {{s.data.shape for s in shards}} == {{(9, 8, 16, 128)}}
        assert {{s.device for s in labels.addressable_shards}} == set(jax.local_devices())
        whole, _ = spyx_data.load_split({shd_build!r}, "train")
        np.testing.assert_array_equal(np.asarray(obs).reshape(-1, 16, 128), whole[:288])
        print("ok")
    """)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
