"""The reference libraries' own code, made callable in the tests without their heavy imports."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import numpy as np
import pytest


def spikingjelly_integrate() -> Callable[..., np.ndarray]:
    """SpikingJelly 2.0's ``integrate_events_by_fixed_frames_number`` and the two functions it
    calls, run as they are: ``spikingjelly/datasets/utils.py`` imports torch, torchvision and
    matplotlib at the top, so their definitions are taken from the installed package's source
    and executed with numpy alone (the package is installed without its dependencies)."""
    try:
        version = importlib.metadata.version("spikingjelly")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("spikingjelly is not installed: pip install --no-deps -c constraints.txt spikingjelly")
    assert version == "2.0.0"
    path = Path(importlib.util.find_spec("spikingjelly").submodule_search_locations[0]) / "datasets" / "utils.py"
    wanted = {
        "integrate_events_segment_to_frame",
        "cal_fixed_frames_number_segment_index",
        "integrate_events_by_fixed_frames_number",
    }
    defs = [n for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef) and n.name in wanted]
    assert {d.name for d in defs} == wanted
    namespace = {"np": np, "Optional": Optional}
    exec(compile(ast.Module(body=defs, type_ignores=[]), str(path), "exec"), namespace)
    return namespace["integrate_events_by_fixed_frames_number"]
