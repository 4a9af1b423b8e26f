"""The reference libraries' own code where it cannot be imported as it is, for the benchmarks and
the tests that compare spyx-data's frames with it."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import numpy as np

#: The SpikingJelly release whose frames spyx-data reproduces.
SPIKINGJELLY_VERSION = "2.0.0"


def spikingjelly_integrate() -> Callable[..., np.ndarray]:
    """SpikingJelly's ``integrate_events_by_fixed_frames_number(events, split_by, frames_num, H, W)``
    and the two functions it calls, run as they are. ``spikingjelly/datasets/utils.py`` imports
    torch, torchvision and matplotlib at the top, so the three definitions are taken from the
    installed package's source and executed with numpy alone (the package is installed without
    its dependencies: ``pip install --no-deps -c constraints.txt spikingjelly``).

    Raises:
        RuntimeError: SpikingJelly is not installed, or not :data:`SPIKINGJELLY_VERSION`.
    """
    try:
        version = importlib.metadata.version("spikingjelly")
    except importlib.metadata.PackageNotFoundError:
        raise RuntimeError("spikingjelly is not installed: pip install --no-deps -c constraints.txt spikingjelly")
    if version != SPIKINGJELLY_VERSION:
        raise RuntimeError(f"spikingjelly {version} is installed; the reference is {SPIKINGJELLY_VERSION}")
    path = Path(importlib.util.find_spec("spikingjelly").submodule_search_locations[0]) / "datasets" / "utils.py"
    wanted = {
        "integrate_events_segment_to_frame",
        "cal_fixed_frames_number_segment_index",
        "integrate_events_by_fixed_frames_number",
    }
    defs = [n for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef) and n.name in wanted]
    if {d.name for d in defs} != wanted:
        raise RuntimeError(f"{path} does not define {sorted(wanted)} as SpikingJelly {SPIKINGJELLY_VERSION} does")
    namespace = {"np": np, "Optional": Optional}
    exec(compile(ast.Module(body=defs, type_ignores=[]), str(path), "exec"), namespace)
    return namespace["integrate_events_by_fixed_frames_number"]
