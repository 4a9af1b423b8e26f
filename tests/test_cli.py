"""The spyx-data command line, pictures, progress, and the worked training example."""

import logging
import os
import re
import shutil
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest

from pipelines import progress as progress_lib
from pipelines import shd
from spyx_data import cli
from spyx_data.builder import registry, synthetic

from .conftest import TEST, TRAIN, build_dir
from .hold import HANG_S, Holds
from .test_refusals import SPYX_DATA, assert_one_line, run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: A build's progress line (pipelines.progress.ProgressLog): how many a build logs depends on how long it runs.
PROGRESS = re.compile(r"  (train|test): \d+/\d+ samples written \(\d+/\d+ shards\), \d+ samples/s")


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def ink(path):
    """Share of pixels that are not plain white."""
    import matplotlib.image

    image = matplotlib.image.imread(path)[..., :3]
    return float((image < 0.95).any(axis=-1).mean())


def test_info_shows_splits_config_and_density_per_class(shd_build, capsys):
    assert cli.main(["info", shd_build]) == 0
    out = capsys.readouterr().out
    assert f"shd build in {shd_build}" in out and "sample_T=128" in out
    assert re.search(rf"train\s+{TRAIN}\s+3\s", out) and re.search(rf"test\s+{TEST}\s+3\s", out)
    densities = [float(x) for x in re.findall(r"^\s+\d+\s+([0-9.]+)\s", out.split("spike density")[1], re.M)]
    assert densities and all(0 < d < 1 for d in densities)


def test_plot_a_sample_and_a_class_average(shd_build, tmp_path, capsys):
    sample, average = tmp_path / "sample.png", tmp_path / "average.png"
    assert cli.main(["plot", shd_build, "--split", "train", "--index", "5", "--output", str(sample)]) == 0
    assert cli.main(["plot", shd_build, "--split", "test", "--class", "3", "--output", str(average)]) == 0
    assert "class 3 average of" in capsys.readouterr().out
    for path in (sample, average):
        assert png_size(path) == (800, 400)
        assert 0.02 < ink(path) < 0.9  # drawn on, not blank and not a solid block


def test_plot_camera_frames_as_time_slices(tmp_path):
    manifest = shd.tonic.run(["--dataset=nmnist", f"--data_dir={tmp_path / 'data'}", f"--output_dir={tmp_path}",
                              "--synthetic=6", "--splits=test"])
    out = tmp_path / "frames.png"
    command = ["plot", build_dir(tmp_path, manifest), "--split", "test", "--index", "2", "--output", str(out)]
    assert cli.main(command) == 0
    assert png_size(out) == (1200, 300) and 0.01 < ink(out) < 0.9
    label = int(cli.load_split(build_dir(tmp_path, manifest), "test")[1][2])
    average = tmp_path / "average.png"
    assert cli.main([*command[:4], "--class", str(label), "--output", str(average)]) == 0  # was refused for cameras
    assert png_size(average) == (1200, 300) and 0.01 < ink(average) < 0.9


def test_mistakes_are_one_line_without_a_traceback(shd_build, tmp_path, capsys):
    cases = [
        (["info", str(tmp_path / "missing")], "no manifest, so no finished build"),
        (["plot", shd_build, "--index", "99999", "--output", str(tmp_path / "x.png")], "is not a sample of 'train'"),
        (["build", "mnist"], "unknown dataset 'mnist'"),
        (["build"], "say what to build"),
        (["verify", str(tmp_path)], "no manifest"),
    ]
    for argv, message in cases:
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, err


def test_build_and_synthetic_subcommands(tmp_path, capsys):
    data = str(tmp_path / "data")
    assert cli.main(["synthetic", "shd", "--data_dir", data, "--samples", "12"]) == 0
    assert synthetic.synthetic_params(registry.get("shd"), data, "test") == {"num_samples": 12, "seed": 0}
    assert cli.main(["build", "shd", f"--data_dir={data}", f"--output_dir={tmp_path / 'out'}", "--sample_T=32",
                     "--direct_running_mode=in_memory"]) == 0
    out = capsys.readouterr().out
    assert "shd shards in" in out and "train: 12 samples in 1 shards" in out


def test_a_build_logs_progress_and_a_summary_from_its_counters(shd_data, tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(progress_lib.ProgressLog, "EVERY_S", 0.02)
    caplog.set_level(logging.INFO, logger="pipelines")
    # The first shard task is held (tests/hold.py) until the progress log has read the plan
    # (it logs 0 samples written), however long that takes; then the build runs on.
    planned, held = threading.Event(), []

    class Planned(logging.Handler):
        def emit(self, record):
            if f"train: 0/{TRAIN} samples written" in record.getMessage():
                planned.set()

    def hold_until_planned():
        held.append(holds.next())
        assert planned.wait(HANG_S), f"no progress line in {HANG_S} s"
        holds.close()

    (tmp_path / "hold").mkdir()
    holds, watcher, out = Holds(tmp_path / "hold"), Planned(), tmp_path / "out"
    logging.getLogger("pipelines.progress").addHandler(watcher)
    for name, value in holds.env.items():  # the build runs in this process
        monkeypatch.setenv(name, value)
    holding = threading.Thread(target=hold_until_planned)
    holding.start()
    try:
        manifest = shd.run([f"--data_dir={shd_data}", f"--output_dir={out}", "--num_shards=3", "--sample_T=16"])
    finally:
        logging.getLogger("pipelines.progress").removeHandler(watcher)
        holds.ended()  # lets the holding thread end, should the build not have reached a shard task
        holding.join()
        holds.close()
    assert held and planned.is_set()
    progress = [r.getMessage() for r in caplog.records if "samples written" in r.getMessage()]
    assert any(f"train: {TRAIN}/{TRAIN} samples written (3/3 shards)" in line for line in progress), progress
    summary = [r.getMessage() for r in caplog.records if r.getMessage().startswith("built in")]
    assert len(summary) == 1 and f"{TRAIN + TEST} samples" in summary[0] and "events" in summary[0]
    assert not [n for n in os.listdir(build_dir(out, manifest)) if n.startswith(".")]  # no plan or temporary files


def test_the_console_script_is_installed():
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "spyx-data"), "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "spyx-data build DATASET" in result.stdout


def test_the_training_example_learns_above_chance(shd_build):
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "train_shd.py"), "--shards", shd_build, "--steps", "60",
         "--batch", "32", "--hidden", "64"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    accuracies = re.search(r"train accuracy ([0-9.]+)\s+test accuracy ([0-9.]+)", result.stdout)
    train_acc, test_acc = map(float, accuracies.groups())
    assert test_acc > 0.3 and train_acc > 0.3, result.stdout  # chance is 0.05
    assert np.isfinite(train_acc)


def test_the_first_command_logs_its_summary_and_no_import_warning(tmp_path, without_apitools):
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.shd", "--runner=DirectRunner",
         f"--prism_location={tmp_path / 'no-prism'}", "--synthetic=30", f"--data_dir={tmp_path / 'data'}",
         f"--output_dir={tmp_path / 'shards'}"],
        capture_output=True, text=True, timeout=300, env=without_apitools,
    )
    assert result.returncode == 0, result.stderr
    assert "shd shards in" in result.stdout and result.stdout.splitlines()[1] == f"  {SYNTHETIC_SHD}"
    assert result.stderr, "no summary"
    *progress, last = result.stderr.splitlines()  # progress lines: as many as the build's seconds
    assert all(PROGRESS.fullmatch(line) for line in progress), result.stderr
    assert last.startswith("built in ") and "60 samples" in last, result.stderr
    again = subprocess.run(
        [sys.executable, "-m", "pipelines.shd", "--synthetic=30", f"--data_dir={tmp_path / 'data'}",
         f"--output_dir={tmp_path / 'shards'}"],
        capture_output=True, text=True, timeout=300, env=without_apitools,
    )
    assert again.stderr.endswith("already holds this build; nothing to do\n") and again.stderr.count("\n") == 1


def test_a_loader_building_in_a_training_script_prints_no_beam_noise(shd_data, tmp_path, without_apitools):
    shutil.copytree(shd_data, tmp_path / "dl")
    script = tmp_path / "train.py"
    where = str(tmp_path / "dl")
    script.write_text(f"import spyx_data\nspyx_data.SHD_loader(batch_size=8, sample_T=8, download_dir={where!r})")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                            env=without_apitools)
    assert result.returncode == 0 and result.stderr == "", result.stderr  # no apitools, semi_persistent, Worker:


def test_a_build_on_two_worker_processes_prints_no_beam_noise(tmp_path, without_apitools):
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.shd", "--preset=processes:2", "--synthetic=30",
         f"--data_dir={tmp_path / 'data'}", f"--output_dir={tmp_path / 'shards'}"],
        capture_output=True, text=True, timeout=300, env=without_apitools,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr, "no summary"
    *progress, last = result.stderr.splitlines()  # the progress lines and the summary, nothing of Beam's workers
    assert last.startswith("built in ") and all(PROGRESS.fullmatch(line) for line in progress), result.stderr


def test_commands_take_the_output_root_of_one_build_and_say_so(shd_build, capsys, tmp_path):
    root = os.path.dirname(shd_build)
    assert cli.main(["info", root]) == 0
    captured = capsys.readouterr()
    assert captured.err == f"using {shd_build}, the one build in {root}\n"
    assert f"shd build in {shd_build}" in captured.out
    assert cli.main(["verify", root]) == 0 and f"ok: {shd_build}:" in capsys.readouterr().out
    out = tmp_path / "one.png"
    assert cli.main(["plot", root, "--index", "1", "--output", str(out)]) == 0 and out.exists()


def test_a_root_of_several_builds_is_listed_by_info_and_named_by_the_rest(shd_build, shd_data, tmp_path, capsys):
    import spyx_data

    root = tmp_path / "shards"
    shutil.copytree(shd_build, root / os.path.basename(shd_build))
    other = shd.run([f"--data_dir={shd_data}", f"--output_dir={root}", "--sample_T=32", "--splits=test"])
    assert cli.main(["info", str(root)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"2 builds in {root}:"
    rows = {line.split()[0]: line for line in out[2:]}
    assert set(rows) == {os.path.basename(shd_build), other.build_name}
    assert "sample_T=32" in rows[other.build_name] and f"test {TEST} (" in rows[other.build_name]
    names = sorted(rows)
    for argv in (["verify", str(root)], ["plot", str(root), "--index", "0", "--output", str(tmp_path / "x.png")]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err == f"error: {root} is not a build but holds 2 below it ({', '.join(names)}); pass the folder " \
                      "of the one to use\n"
    for read in (lambda: spyx_data.open_split(str(root), "test"), lambda: spyx_data.prestage(str(root), "test", 8)):
        with pytest.raises(FileNotFoundError, match=f"holds 2 below it \\({names[0]}, {names[1]}\\)"):
            read()


# Every layout a build can have, drawn; plot's mistakes; help; synthetic data said.


@pytest.fixture(scope="module")
def dense_builds(tmp_path_factory):
    """Encoded builds of each layout the record format allows beyond audio and camera frames:
    ``{kind: build folder}`` (3 classes, 30 samples each)."""
    from pipelines import encode

    root = tmp_path_factory.mktemp("dense-builds")
    rng = np.random.default_rng(0)
    made = {}
    for kind, shape, flags in [("image", (28, 28), ["--encoder=rate", "--num_steps=8"]),
                               ("rgb", (6, 5, 3), ["--encoder=latency", "--num_steps=12"]),
                               ("angle", (6,), ["--encoder=angle", "--neuron_count=5", "--min_val=0", "--max_val=1"]),
                               ("vector", (10,), ["--encoder=rate", "--num_steps=20"])]:
        path = str(root / f"{kind}.npz")
        np.savez(path, x=rng.random((30, *shape)).astype(np.float32), y=np.arange(30) % 3)
        out = root / kind
        made[kind] = build_dir(out, encode.run([f"--input={path}", *flags, f"--output_dir={out}"]))
    return made


def test_plot_draws_a_2d_encoded_build(dense_builds, tmp_path):
    out = tmp_path / "digit.png"
    code, stdout, err = run([SPYX_DATA, "plot", dense_builds["image"], "--index", "3", "--output", str(out)])
    assert code == 0 and err == "" and stdout == f"wrote {out}: train[3]\n"
    assert png_size(out) == (1200, 300) and 0.05 < ink(out) < 0.9  # 8 time slices of the 28 x 28 image


@pytest.mark.parametrize("kind, size", [("image", (1200, 300)), ("rgb", (800, 400)), ("angle", (300, 300)),
                                        ("vector", (800, 400))])
def test_plot_draws_every_layout_as_a_sample_and_as_a_class_average(dense_builds, tmp_path, capsys, kind, size):
    from spyx_data import plots

    manifest = cli.manifest_lib.read_manifest(dense_builds[kind])
    expected = {"image": "image", "rgb": "flattened", "angle": "image", "vector": "raster"}[kind]
    assert plots.picture_kind(manifest) == expected  # rgb: [6, 5, 3] is 3-D but no camera's; angle: [6, 5], T=1
    for which in (["--index", "4"], ["--class", "2"]):
        out = tmp_path / f"{kind}-{which[0][2:]}.png"
        assert cli.main(["plot", dense_builds[kind], *which, "--output", str(out)]) == 0
        assert png_size(out) == size and 0.005 < ink(out) < 0.95, (kind, which)
    assert "class 2 average of 10 samples" in capsys.readouterr().out


BLOCK_MATPLOTLIB = "import sys\nsys.modules['matplotlib'] = None  # as where the plot extra is not installed\n"


def test_plot_without_matplotlib_says_what_to_install(dense_builds, tmp_path):
    folder = tmp_path / "without-matplotlib"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(BLOCK_MATPLOTLIB)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))}
    out = tmp_path / "x.png"
    code, stdout, err = run([SPYX_DATA, "plot", dense_builds["vector"], "--index", "0", "--output", str(out)], env=env)
    assert code == 2 and not stdout
    assert_one_line(err, 'drawing needs matplotlib, which is not installed: pip install "spyx-data[plot]"')
    assert not out.exists()


@pytest.mark.parametrize("name, message", [
    ("noext", "the picture is a PNG; give a name ending in .png (such as {tmp}/noext.png)"),
    ("x.pdf", "the picture is a PNG; give a name ending in .png"),
    ("missing/x.png", "the folder {tmp}/missing does not exist; create it first"),
    ("a-folder.png", "is a folder; give a file name ending in .png"),
])
def test_plot_refuses_an_output_it_cannot_write_as_named(dense_builds, tmp_path, capsys, name, message):
    (tmp_path / "a-folder.png").mkdir()
    output = str(tmp_path / name)
    argv = ["plot", dense_builds["vector"], "--index", "0", "--output", output]
    if name == "noext":  # the case, as a user runs it; the rest in this process
        code, stdout, err = run([SPYX_DATA, *argv])
    else:
        code = cli.main(argv)
        stdout, err = capsys.readouterr()
    assert code == 2 and not stdout
    assert_one_line(err, f"--output {output}", message.format(tmp=tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["a-folder.png"]  # nothing written (matplotlib would add .png)


def test_build_help_lists_what_can_be_built(capsys):
    code, stdout, err = run([SPYX_DATA, "build", "--help"])
    assert code == 0 and err == ""
    assert stdout.startswith("usage: spyx-data build DATASET [flags]")
    assert "shd, smnist, ssc" in stdout and "encode " in stdout and "recordings " in stdout
    assert "spyx-data build DATASET --help lists the flags DATASET takes" in stdout


@pytest.mark.parametrize("argv, own, others", [
    (["build", "shd", "--help"], ["--channels"], ["--spatial_factor", "--dt", "--split_seed", "--first_saccade_only"]),
    (["build", "nmnist", "--help"], ["--spatial_factor", "--merge_polarity", "--first_saccade_only"],
     ["--channels", "--split_seed", "--test_fraction", "--num_neurons"]),
    (["build", "ncaltech101", "--help"], ["--split_seed", "--test_fraction", "--spatial_factor"],
     ["--channels", "--first_saccade_only", "--duplicate"]),
])
def test_a_datasets_help_lists_only_the_options_it_takes(capsys, argv, own, others):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and f"usage: spyx-data build {argv[1]}" in out
    assert all(f"{flag} " in out for flag in own + ["--sample_T", "--output_dir", "--synthetic"]), out
    assert not [flag for flag in others if flag in out], out


def test_the_tonic_pipelines_help_says_which_dataset_takes_each_option(capsys):
    from pipelines import tonic

    with pytest.raises(SystemExit):
        tonic.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--first_saccade_only only events before 100 ms (N-MNIST's first saccade); taken by nmnist" in out
    with pytest.raises(SystemExit):
        tonic.main(["--dataset=smnist", "--help"])
    out = capsys.readouterr().out
    assert "--num_neurons" in out and "--channels" not in out and "taken by" not in out


SYNTHETIC_SHD = "SYNTHETIC DATA: test and train are synthetic data written by spyx-data, not the real shd dataset"


def test_info_says_which_splits_are_synthetic_and_a_dense_build_has_no_event_columns(shd_build, dense_builds):
    code, stdout, _ = run([SPYX_DATA, "info", shd_build])
    assert code == 0 and stdout.splitlines()[1] == f"  {SYNTHETIC_SHD}"
    code, stdout, _ = run([SPYX_DATA, "info", dense_builds["image"]])
    assert code == 0 and "SYNTHETIC" not in stdout
    header = next(line for line in stdout.splitlines() if line.strip().startswith("split"))
    assert header.split() == ["split", "samples", "shards", "MiB"]  # an encoded build counts no events
    assert re.search(r"^\s+train\s+30\s+1\s+[0-9.]+$", stdout, re.M) and "spike density per class" in stdout


def test_a_manifest_holding_nan_is_refused_in_one_line(copy):
    text = (copy / "manifest.json").read_text()
    (copy / "manifest.json").write_text(text.replace('"sample_T": 128,', '"sample_T": 128, "threshold": NaN,', 1))
    code, stdout, err = run([SPYX_DATA, "info", str(copy)])
    assert code == 1 and not stdout
    assert_one_line(err, f"{copy}/manifest.json: NaN is not JSON (a manifest is strict JSON")


def test_info_tells_the_values_and_their_statistic_per_class(value_build, capsys):
    assert cli.main(["info", value_build]) == 0
    out = capsys.readouterr().out
    layout = cli.manifest_lib.read_manifest(value_build).layout
    assert f"{layout.record_bytes} bytes, {layout.describe()}" in out
    assert {"binary": "bit-packed", "counts": "obs uint16", "float32": "obs float32"}[layout.values] in out
    obs, labels = cli.load_split(value_build, "train")
    frames = layout.frames(obs, axis=1).reshape(len(obs), -1).astype(np.float64)
    per_sample = np.abs(frames).mean(axis=1)  # binary: share of spiking cells; counts: mean count; float32: mean |v|
    title = {"binary": "spike density per class", "counts": "events per cell per class (mean count of a cell)",
             "float32": "mean |value| per cell per class"}[layout.values]
    header, *table = out.split(title)[1].splitlines()[1:]
    column = header.split().index("train")
    printed = {int(line.split()[0]): float(line.split()[column]) for line in table}
    assert sorted(printed) == sorted(set(labels.tolist()))
    for k, value in printed.items():
        assert value == pytest.approx(per_sample[labels == k].mean(), abs=6e-5)


@pytest.fixture(scope="module")
def camera_value_builds(tmp_path_factory):
    """Camera builds of counts (``[T, 2, 16, 16]``) and a voxel grid (float32 ``[T, 1, 16, 16]``)."""
    from .conftest import write_build

    root = tmp_path_factory.mktemp("camera-values")
    return {values: write_build(root / values, values=values, sample_T=10, dims=(planes, 16, 16), dataset="nmnist",
                                config={"sensor": [16, 16, 2]}, sizes=(("train", 40),), num_shards=1)
            for values, planes in (("counts", 2), ("float32", 1))}


def colours(path):
    """The pixels of a PNG: (reddish, bluish, distinct grey levels)."""
    import matplotlib.image

    image = matplotlib.image.imread(path)[..., :3]
    red = (image[..., 0] > 0.6) & (image[..., 2] < 0.45)
    blue = (image[..., 2] > 0.6) & (image[..., 0] < 0.45)
    grey = np.ptp(image, axis=-1) < 0.02
    return int(red.sum()), int(blue.sum()), len(np.unique(np.round(image[grey][:, 0], 3)))


def test_plot_draws_counts_as_intensities_and_float_values_on_a_diverging_map(value_build, camera_value_builds,
                                                                               tmp_path):
    values = cli.manifest_lib.read_manifest(value_build).layout.values
    builds = {"raster": value_build, **({} if values == "binary" else {"frames": camera_value_builds[values]})}
    for kind, build in builds.items():
        for which in (["--index", "3"], ["--class", "2"]):
            out = tmp_path / f"{kind}-{which[0][2:]}.png"
            code, stdout, err = run([SPYX_DATA, "plot", build, *which, "--output", str(out)])
            assert code == 0 and stdout.startswith(f"wrote {out}") and not err, err
            assert png_size(out) == {"raster": (800, 400), "frames": (1200, 300)}[kind]
            red, blue, greys = colours(out)
            if values == "float32":  # values of both signs: red and blue
                assert red > 500 and blue > 500, (kind, which, red, blue)
            elif values == "counts" and kind == "raster":  # intensities, not presence
                assert greys > 50 and red == blue == 0, (which, greys)
            elif values == "counts":  # ON red, OFF blue, mixed by their counts
                assert red > 100 and blue > 100, (which, red, blue)
