"""Runner presets: ``--preset=NAME`` on any pipeline expands to that runner's flags.

    --preset=local          Beam's FnApiRunner in this process (also the default without --runner)
    --preset=processes[:N]  FnApiRunner with N worker processes (default: one per CPU)
    --preset=dataflow       DataflowRunner; ships this project to the workers as a package built
                            from pyproject.toml plus runners/worker_requirements.txt, or, with
                            --sdk_container_image=IMAGE, runs in that image (see the Dockerfile).
                            Beam builds the package here (python -m build --no-isolation --sdist):
                            the dataflow extra installs what that needs, and without it the preset
                            is refused before anything runs
    --preset=dask[:N]       Beam's DaskRunner on a dask.distributed cluster (--dask_client_address);
                            N (default 16) planning parts so that N workers share the work

Flags given explicitly win over a preset's. Dataflow still needs --project, --region and
--temp_location; Dask needs --dask_client_address (without it Beam starts a local cluster).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import tomllib
from collections.abc import Sequence

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"
DEFAULT_DASK_PARTS = 16


def _flag_names(argv: Sequence[str]) -> set[str]:
    return {a.split("=", 1)[0] for a in argv if a.startswith("--")}


def preset_flags(name: str, given: set[str]) -> list[str]:
    """The flags of preset ``name`` (``"dask:8"`` style counts allowed); ``given`` are flag names
    the user set, which change what Dataflow ships.

    Raises:
        ValueError: an unknown preset or a bad count.
    """
    base, _, count = name.partition(":")
    if count and (not count.isdigit() or int(count) < 1):
        raise ValueError(f"--preset={name}: the count after ':' must be a positive integer")
    if base == "local" and not count:
        return ["--runner=FnApiRunner"]
    if base == "processes":
        workers = int(count) if count else os.cpu_count() or 1
        return ["--runner=FnApiRunner", "--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
    if base == "dataflow" and not count:
        if "--sdk_container_image" in given:
            return ["--runner=DataflowRunner", "--sdk_location=container"]
        check_package_tools()
        return [
            "--runner=DataflowRunner",
            f"--setup_file={os.path.join(PROJECT_ROOT, 'pyproject.toml')}",
            f"--requirements_file={os.path.join(PROJECT_ROOT, 'runners', 'worker_requirements.txt')}",
        ]
    if base == "dask":
        parts = int(count) if count else DEFAULT_DASK_PARTS
        return [f"--runner={DASK_RUNNER}", "--dask_partition_size=1", f"--plan_parts={parts}"]
    raise ValueError(f"unknown --preset={name}; known: local, processes[:N], dataflow, dask[:N]")


def package_tools() -> dict[str, tuple[int, ...]]:
    """What building this project's sdist without isolation needs, as Beam does for Dataflow:
    each ``[build-system] requires`` entry of pyproject.toml (``name>=version``: the version as
    numbers; without one: ``()``) and ``build``.

    Raises:
        ValueError: the project is not a checkout (no pyproject.toml to build from).
    """
    pyproject = os.path.join(PROJECT_ROOT, "pyproject.toml")
    if not os.path.isfile(pyproject):
        raise ValueError(f"--preset=dataflow ships this project as a package built from its pyproject.toml, which is "
                         f"not at {pyproject}: install the project from a checkout (pip install -e \".[dataflow]\"), "
                         "or pass --sdk_container_image=IMAGE (see the Dockerfile)")
    with open(pyproject, "rb") as f:
        requires = tomllib.load(f)["build-system"]["requires"]
    needed = {"build": ()}
    for requirement in requires:
        name, _, version = (part.strip() for part in requirement.partition(">="))
        needed[name] = tuple(int(n) for n in re.findall(r"\d+", version))
    return needed


def check_package_tools() -> None:
    """Raise ``ValueError`` (one line, what to install) unless this environment can build the
    project's sdist as Beam does for ``--preset=dataflow``, with this environment's own tools
    (``python -m build --no-isolation``): otherwise Beam fails after the pipeline is made, with
    a traceback, and a new venv's setuptools (65) cannot read pyproject.toml's ``license``."""
    missing = []
    for name, minimum in package_tools().items():
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = None
        numbers = tuple(int(n) for n in re.findall(r"\d+", version or "")[: len(minimum)])
        if version is None or numbers < minimum:
            wanted = f"{name}>={'.'.join(map(str, minimum))}" if minimum else name
            missing.append(f"{wanted} (found {version or 'none'})")
    if missing:
        raise ValueError(
            f"--preset=dataflow ships this project as a package that Beam builds here without isolation, which needs "
            f"{', '.join(missing)}: install the dataflow extra (pip install -c constraints.txt -e \".[dataflow]\")"
        )


def expand(argv: Sequence[str] | None) -> list[str] | None:
    """``argv`` with every ``--preset=NAME`` replaced by its flags, minus those given explicitly."""
    if argv is None:
        import sys

        argv = sys.argv[1:]
    argv = list(argv)
    presets = [a for a in argv if a.startswith("--preset=")]
    if not presets:
        return argv
    rest = [a for a in argv if not a.startswith("--preset=")]
    given = _flag_names(rest)
    added = [f for p in presets for f in preset_flags(p.split("=", 1)[1], given) if f.split("=", 1)[0] not in given]
    return added + rest
