"""The benchmark runs end to end at a small size, so that it cannot rot (timings are not asserted)."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGES = {"build (1 worker)", "build scaling (2 vs 1)", "prestage", "prestage vs np.load", "load_split vs np.load",
          "Grain epoch", "epoch vs plain read", "2 workers, later epochs", "2 workers, ShiftAugment",
          "build memory, .aedat4", "frame tonic_time_bins", "frame tonic_event_bins", "frame spikingjelly_number",
          "frame spikingjelly_time", "frame voxel_grid", "denoise 1000 us", "denoise 10000 us", "counts storage",
          *(f"augment {name}" for name in ("DropEvent", "DropEventByTime", "DropEventByArea", "TimeJitter",
                                           "SpatialJitter", "TimeSkew", "RandomFlipLR", "RandomFlipUD",
                                           "RandomFlipPolarity", "UniformNoise", "EventMix")),
          "events storage", "events vs frames", "prestage from events", "EventFrames epoch"}


def test_small_benchmark_runs_every_stage_and_removes_its_data(tmp_path):
    out = tmp_path / "results.json"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size=small", "--repeats=1", f"--json={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, env={**os.environ, "TMPDIR": str(tmp)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(out.read_text())
    assert {row["stage"] for row in results["stages"]} == STAGES
    assert all((row["ratio"] is None or row["ratio"] > 0) and row["met"] is None for row in results["stages"])
    assert set(results["compression"]) == {"uncompressed", "zstd:1", "zstd:3", "snappy"}
    assert "(full size only)" in result.stdout
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"synthetic data in {tmp}{os.sep}spyx-bench-") and "removed at the end" in first
    assert os.listdir(tmp) == []


def test_a_ratio_of_a_timing_too_short_to_mean_anything_is_na(capsys):
    from benchmarks import MIN_SECONDS, Table, ratio

    assert ratio(2.0, 0.5) == 4.0
    assert ratio(0.5, MIN_SECONDS / 2) is None and ratio(MIN_SECONDS / 2, 0.5) is None
    assert ratio(100.0, 50.0, 0.0004, 0.02) is None  # rates from timings: the timings decide
    table = Table(judge=True)
    table.add("stage", "0.012 s", "0.000 s", None, "<= 1.5x (time)", lambda r: r <= 1.5)
    table.add("other", "1.0 s", "2.0 s", 0.5, "<= 1.5x (time)", lambda r: r <= 1.5)
    assert [row["ratio"] for row in table.rows] == [None, 0.5]
    assert [row["met"] for row in table.rows] == [False, True]
    lines = capsys.readouterr().out.splitlines()
    assert "n/a" in lines[0] and "MISSED" in lines[0] and "0.50x" in lines[1] and "met" in lines[1]


def test_the_ssc_scaling_benchmark_runs_at_a_small_fraction_and_leaves_nothing_in_tmpdir(tmp_path, capsys,
                                                                                         monkeypatch):
    import tempfile

    from benchmarks import Table, scale

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    table = Table(judge=False)
    results = scale.run(table, str(tmp_path / "work"), 1, fraction=0.004)
    assert {row["stage"] for row in table.rows} == {"SSC scaling, local", "SSC worker RSS, local",
                                                    "SSC scaling, dask", "SSC worker RSS, dask"}
    assert all(row["ratio"] > 0 for row in table.rows)
    for name in ("local 1 at 1x", "local 2 at 1x", "local 2 at 0.1x", "dask 1 at 1x", "dask 2 at 1x", "dask 2 at 0.1x"):
        workers = int(name.split()[1])
        assert results[name]["wall_s"] > 0 and len(results[name]["worker_mib"]) == workers, name
        assert 0 < results[name]["tasks_s"] < results[name]["wall_s"], name
    assert "plain pool" in capsys.readouterr().out
    assert os.listdir(tmp) == []  # the clusters' scratch space is in the work folder
