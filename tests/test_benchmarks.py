"""The benchmark runs end to end at a small size, so that it cannot rot (timings are not asserted)."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGES = {"build (1 worker)", "build scaling (2 vs 1)", "prestage", "prestage vs np.load", "load_split vs np.load",
          "Grain epoch", "epoch vs plain read", "2 workers, later epochs", "2 workers, ShiftAugment"}


def test_small_benchmark_runs_every_stage(tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size=small", "--repeats=1", f"--workdir={tmp_path}", f"--json={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(out.read_text())
    assert {row["stage"] for row in results["stages"]} == STAGES
    assert all(row["ratio"] > 0 and row["met"] is None for row in results["stages"])
    assert set(results["compression"]) == {"uncompressed", "zstd:1", "zstd:3", "snappy"}
    assert "(full size only)" in result.stdout


def test_the_ssc_scaling_benchmark_runs_at_a_small_fraction(tmp_path, capsys):
    from benchmarks import scale
    from benchmarks.__main__ import Table

    table = Table(judge=False)
    results = scale.run(table, str(tmp_path), 1, fraction=0.004)
    assert {row["stage"] for row in table.rows} == {"SSC scaling, local", "SSC worker RSS, local",
                                                    "SSC scaling, dask", "SSC worker RSS, dask"}
    assert all(row["ratio"] > 0 for row in table.rows)
    for name in ("local 1 at 1x", "local 2 at 1x", "local 2 at 0.1x", "dask 1 at 1x", "dask 2 at 1x", "dask 2 at 0.1x"):
        workers = int(name.split()[1])
        assert results[name]["wall_s"] > 0 and len(results[name]["worker_mib"]) == workers, name
        assert 0 < results[name]["tasks_s"] < results[name]["wall_s"], name
    assert "plain pool" in capsys.readouterr().out
