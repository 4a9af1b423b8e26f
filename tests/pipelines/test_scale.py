"""Scale-out: Dataflow translation, any Beam filesystem, Dask, presets, and many hosts reading."""

import contextlib
import os
import re
import tempfile

import apache_beam as beam
import pytest

import spyx_data
from pipelines import shd
from pipelines.transforms import BuildShards
from runners import presets
from runners.local import pipeline_options
from spyx_data.builder import registry
from spyx_data.builder.options import BuildOptions

from .. import memfs
from ..conftest import NUM_SHARDS, TRAIN, build_dir, files
from ..hold import HANG_S, Holds

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATAFLOW = ["--project=my-project-123", "--region=us-central1", "--temp_location=gs://my-bucket/tmp", "--dry_run=True"]
IMAGE = "us-central1-docker.pkg.dev/my-project-123/repo/spyx-data:0.1.0"


@pytest.fixture
def offline_gcp(monkeypatch):
    monkeypatch.setenv("NO_GCE_CHECK", "true")


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """A ``TMPDIR`` of the test's own (for this process and those it starts), empty at first."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def test_dataflow_translation_has_the_build_stages_and_the_image(offline_gcp, private_tmp):
    # Beam's runner, called here without the build around it, leaves its staging files in TMPDIR.
    argv = presets.expand(["--preset=dataflow", f"--sdk_container_image={IMAGE}", *DATAFLOW])
    pipeline = beam.Pipeline(options=pipeline_options(argv))
    spec = registry.get("shd").spec()
    _ = pipeline | "BuildShards" >> BuildShards(
        spec, {"train": "gs://b/raw/SHD/shd_train.h5", "test": "gs://b/raw/SHD/shd_test.h5"}, {}, BuildOptions("gs://b/out"),
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


def test_dataflow_dry_run_of_the_project_shipped_as_a_package_builds_it_and_reads_nothing(
    offline_gcp, private_tmp, capsys
):
    """The README's variant, offline: Beam builds the project's sdist with this environment's
    setuptools (no isolation), and the dry run touches no store (the network guard fails any)
    and leaves nothing in TMPDIR (the package, Beam's staging files)."""
    code = shd.main(["--preset=dataflow", *DATAFLOW, "--data_dir=gs://my-bucket/raw",
                     "--output_dir=gs://my-bucket/shards"])
    out, err = capsys.readouterr()
    assert code == 0 and "dry run: translated, nothing written" in out, err
    assert os.listdir(private_tmp) == []


def test_the_dataflow_extra_installs_what_building_the_package_needs():
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        extra = tomllib.load(f)["project"]["optional-dependencies"]["dataflow"]
    needed = presets.package_tools()
    assert set(needed) == {"build", "setuptools"}
    for name, minimum in needed.items():
        wanted = f"{name}>={'.'.join(map(str, minimum))}" if minimum else name
        assert wanted in extra, (wanted, extra)


def test_the_dataflow_preset_without_the_tools_to_build_the_package_is_one_line(offline_gcp, monkeypatch, capsys):
    version = presets.importlib.metadata.version
    monkeypatch.setattr(presets.importlib.metadata, "version",
                        lambda name: "65.5.0" if name == "setuptools" else version(name))  # a new venv's
    code = shd.main(["--preset=dataflow", *DATAFLOW, "--data_dir=gs://my-bucket/raw",
                     "--output_dir=gs://my-bucket/shards"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "needs setuptools>=77 (found 65.5.0): install the dataflow extra" in err


def test_a_failed_dry_run_touches_no_store(offline_gcp, monkeypatch, capsys):
    from spyx_data.errors import BuildError

    def fail(self, *args, **kwargs):
        raise BuildError("the runner refused the job")

    monkeypatch.setattr(beam.Pipeline, "run", fail)
    code = shd.main(["--preset=dataflow", f"--sdk_container_image={IMAGE}", *DATAFLOW,
                     "--data_dir=gs://my-bucket/raw", "--output_dir=gs://my-bucket/shards"])
    assert code == 2 and capsys.readouterr().err == "error: the runner refused the job\n"
    # and no network attempt: the guard fails the test on any (the staging folder is not listed)


def test_presets_expand_and_explicit_flags_win():
    assert presets.expand(["--preset=processes:3", "--x=1"]) == [
        "--runner=FnApiRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=3", "--x=1"
    ]
    dask = presets.expand(["--preset=dask:4", "--plan_parts=7"])
    assert f"--runner={presets.DASK_RUNNER}" in dask and "--plan_parts=7" in dask and "--plan_parts=4" not in dask
    shipped = presets.expand(["--preset=dataflow"])  # this environment has the dataflow extra
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


@contextlib.contextmanager
def local_cluster(tmp_path, **options):
    """A Dask ``LocalCluster`` of 2 single-threaded worker processes whose scratch space (the
    scheduler's too) is in ``tmp_path``, not in TMPDIR, its HTTP server on a free local port (8787
    may be another cluster's)."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"temporary-directory": str(tmp_path / "dask-space")}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                         **options) as cluster:
        yield cluster


def test_dask_cluster_build_is_byte_identical(shd_build, shd_data, tmp_path):
    with local_cluster(tmp_path) as cluster:
        manifest = shd.run([
            f"--data_dir={shd_data}", f"--output_dir={tmp_path}", f"--num_shards={NUM_SHARDS}",
            "--preset=dask:2", f"--dask_client_address={cluster.scheduler_address}",
        ])
    assert files(build_dir(tmp_path, manifest)) == files(shd_build)


def test_a_dask_build_survives_a_worker_killed_while_it_writes_shards(tmp_path, monkeypatch):
    """The LocalCluster worker running a shard task is SIGKILLed while that task is held at its
    start (:mod:`tests.hold`); the build finishes with the local build's bytes (Dask recomputes
    the lost task elsewhere, shards are renamed into place whole), or fails in one line and a
    re-run gives them."""
    import signal
    import subprocess
    import sys

    from spyx_data.builder import synthetic

    data = str(tmp_path / "data")
    synthetic.write_shd(data, "train", 4000)
    synthetic.write_shd(data, "test", 1000)
    flags = [f"--data_dir={data}", "--num_shards=16"]
    local = build_dir(str(tmp_path / "local"), shd.run([*flags, f"--output_dir={tmp_path / 'local'}"]))
    out = str(tmp_path / "dask")
    log = tmp_path / "build.log"
    workers_tmp = tmp_path / "workers-tmp"  # the workers' TMPDIR, where they write shards before copying them
    workers_tmp.mkdir()
    with Holds(tmp_path) as holds:
        for name, value in holds.env.items():  # for the workers the cluster starts, and the launcher
            monkeypatch.setenv(name, value)
        with local_cluster(tmp_path, env={"TMPDIR": str(workers_tmp)}) as cluster:
            workers = {n.process.pid for n in cluster.workers.values()}
            dask = [*flags, f"--output_dir={out}", "--preset=dask:2",
                    f"--dask_client_address={cluster.scheduler_address}"]
            with open(log, "w") as err:
                build = subprocess.Popen([sys.executable, "-m", "pipelines.shd", *dask], stderr=err, cwd=ROOT)
                holds.watch(build)
                victim, shard = holds.next(log)
                assert victim in workers, f"{shard} was written by process {victim}, not a worker in {workers}"
                os.kill(victim, signal.SIGKILL)
                holds.wait_until_held_tasks_end()
                holds.close()  # the other tasks, the lost one's rerun included, go on unheld
                build.wait(HANG_S)
            rest = log.read_text()
            if build.returncode:
                errors = [line for line in rest.splitlines() if line.startswith("error:")]
                assert len(errors) == 1 and "Traceback" not in rest, rest[-3000:]
                again = subprocess.run([sys.executable, "-m", "pipelines.shd", *dask], capture_output=True,
                                       text=True, cwd=ROOT, timeout=HANG_S)
                assert again.returncode == 0, again.stderr[-3000:]
            assert victim not in [n.process.pid for n in cluster.workers.values() if n.process]  # it was lost
    assert files(os.path.join(out, os.path.basename(local))) == files(local)
    # The killed worker was held before its task wrote anything: nothing is left in the workers' TMPDIR.
    assert os.listdir(workers_tmp) == []


def test_a_build_on_a_dask_local_cluster_prints_only_its_own_lines(tmp_path, without_apitools):
    """The README's install (no gcp extra), ``--preset=dask:2`` without a cluster address: Beam
    starts a local cluster, whose scheduler, nannies and worker processes print nothing, also
    where the dashboard's port (8787) is taken (here it is, by the test or by someone else), and
    leave nothing in TMPDIR."""
    import contextlib
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        with contextlib.suppress(OSError):  # already taken
            taken.bind(("", 8787))
            taken.listen()
        tmp = tmp_path / "tmp"
        tmp.mkdir()
        result = subprocess.run(
            [sys.executable, "-m", "spyx_data", "build", "shd", "--preset=dask:2", "--synthetic=20",
             f"--data_dir={tmp_path / 'data'}", f"--output_dir={tmp_path / 'shards'}"],
            capture_output=True, text=True, timeout=600, env={**without_apitools, "TMPDIR": str(tmp)}, cwd=ROOT,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert "shd shards in" in result.stdout
    lines = result.stderr.splitlines()  # progress lines, if slow enough to log any, and the summary
    assert lines[-1].startswith("built in ") and "40 samples" in lines[-1], result.stderr
    assert all(re.fullmatch(r"  (train|test): \d+/\d+ samples written .*", line) for line in lines[:-1]), result.stderr
    assert os.listdir(tmp) == []


def test_the_dataflow_preset_of_an_installed_copy_without_its_pyproject_is_one_line(offline_gcp, monkeypatch, tmp_path,
                                                                                    capsys):
    monkeypatch.setattr(presets, "PROJECT_ROOT", str(tmp_path))  # as from site-packages: no pyproject.toml there
    code = shd.main(["--preset=dataflow", *DATAFLOW, "--data_dir=gs://my-bucket/raw",
                     "--output_dir=gs://my-bucket/shards"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "pyproject.toml, which is not at" in err, err
    assert "--sdk_container_image=IMAGE" in err
