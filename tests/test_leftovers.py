"""What runs leave behind: the test suite's temporary folders, the example's output in a checkout.

(Builds leave nothing in TMPDIR: tests/test_faults.py, tests/pipelines/test_scale.py and
tests/test_benchmarks.py check it after the builds they run.)"""

import getpass
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_passing_test_run_leaves_no_tmp_path_folders_and_a_failing_one_only_its_failures(tmp_path):
    tests = tmp_path / "suite"
    tests.mkdir()
    (tests / "test_x.py").write_text(
        "import os\n"
        "def test_passes(tmp_path):\n    (tmp_path / 'big').write_bytes(b'0' * 1000)\n"
        "def test_fails(tmp_path):\n    (tmp_path / 'kept').write_text('x')\n    assert os.environ.get('FAIL') != '1'\n"
    )
    tmp = tmp_path / "tmp"
    tmp.mkdir()

    def run(fail: bool) -> int:
        env = {**os.environ, "TMPDIR": str(tmp), "FAIL": "1" if fail else "0"}
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "-c", os.path.join(ROOT, "pyproject.toml"), f"--rootdir={tests}", str(tests)],
                              capture_output=True, text=True, env=env, timeout=300, check=False).returncode

    def folders(path):  # pytest also links pytest-current and <test>current to the latest
        return sorted(p.name for p in path.iterdir() if p.is_dir() and not p.is_symlink()) if path.exists() else []

    base = tmp / f"pytest-of-{getpass.getuser()}"
    assert run(fail=False) == 0
    assert folders(base) == []
    assert run(fail=True) == 1
    assert run(fail=True) == 1
    (run_folder,) = folders(base)  # the last run's only
    assert folders(base / run_folder) == ["test_fails0"] and os.listdir(base / run_folder / "test_fails0") == ["kept"]


def test_the_examples_output_folder_is_ignored_by_git():
    if shutil.which("git") is None or not os.path.exists(os.path.join(ROOT, ".git")):
        pytest.skip("not a git checkout")
    result = subprocess.run(["git", "check-ignore", "-q", "example-shd/data/SHD/shd_train.h5"], cwd=ROOT, check=False)
    assert result.returncode == 0  # the default --workdir of examples/train_shd.py
