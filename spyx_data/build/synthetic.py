"""Format-exact synthetic data for every registry dataset, which stock tonic reads offline.

``write(name, data_dir, split, n)`` lays out ``n`` recordings exactly where and how tonic
expects that dataset under ``data_dir`` (its ``save_to``), plus the archive whose presence tells
tonic the data is there, and marks them as synthetic: a folder by a marker file beside it
(``<folder>.spyx_synthetic``: inside, tonic's DVSLip would take it for a class folder), an h5
file by its attributes. The files come from the registry entry's ``fixture`` (the dataset's
module lays them out); the samples are :mod:`spyx_data.build.fixtures`'. Needs h5py for the
datasets stored as h5 files (installed with tonic).
"""

from __future__ import annotations

import json
import os

from spyx_data import paths
from spyx_data.build import fixtures, registry
from spyx_data.errors import InputError, UsageError

GENERATOR = fixtures.GENERATOR
MARKER_SUFFIX = ".spyx_synthetic"


def location(name: str, data_dir: str, split: str) -> str:
    """Where tonic keeps ``split`` of dataset ``name`` under ``data_dir`` (a local path or a URL)."""
    return paths.join(data_dir, registry.get(name).locations[split])


def shd_path(data_dir: str, split: str) -> str:
    """Where tonic keeps an SHD split: ``data_dir/SHD/shd_<split>.h5``."""
    return location("shd", data_dir, split)


def write(name: str, data_dir: str, split: str, num_samples: int, seed: int = 0) -> str:
    """Write ``num_samples`` synthetic recordings of ``split`` of dataset ``name``; return its location.

    Marks the data as synthetic (see :func:`synthetic_params`). Where all splits share one
    location (a seeded split's folder, one h5 file or folder holding every split) the fixture
    writes them all at once; for a seeded split ``num_samples`` is then the total.
    """
    if num_samples < 1:
        raise UsageError(f"num_samples must be >= 1, got {num_samples}")
    info = registry.get(name)
    if info.seeded_test_fraction is not None:
        split = info.splits[0]
    where = location(name, data_dir, split)
    fixtures.write_recordings(where, info.fixture(info, split, num_samples, seed))
    if _is_folder(info):
        with open(where + MARKER_SUFFIX, "w") as f:
            json.dump(fixtures.marker_attrs(num_samples, seed), f)
    fixtures.touch_archive(os.path.join(data_dir, info.archives[split]))
    return where


def _is_folder(info: registry.DatasetInfo) -> bool:
    """Whether a split's source is a folder of files (else one file)."""
    return info.family.source_suffix is not None


def write_shd(data_dir: str, split: str, num_samples: int, seed: int = 0) -> str:
    """Write a synthetic SHD split where tonic looks for it; return the h5 path."""
    return write("shd", data_dir, split, num_samples, seed)


def synthetic_params(name: str, data_dir: str, split: str) -> dict | None:
    """``{"num_samples", "seed"}`` of synthetic data written by :func:`write`; None when the
    location is missing or holds real data. ``data_dir`` may be a URL.

    Raises:
        InputError: a Heidelberg file that is not HDF5 (naming it).
    """
    where = location(name, data_dir, split)
    if not paths.exists(where):
        return None
    if not _is_folder(registry.get(name)):
        import h5py

        try:
            with paths.open_read(where) as raw, h5py.File(raw, "r") as f:
                if f.attrs.get("synthetic") != GENERATOR:
                    return None
                return {"num_samples": int(f.attrs["num_samples"]), "seed": int(f.attrs["seed"])}
        except OSError as e:
            raise InputError(f"{where}: cannot open as HDF5 ({e}); replace the file or remove it") from e
    # Beside the folder; inside it where earlier versions wrote it.
    markers = [where.rstrip("/") + MARKER_SUFFIX, paths.join(where, MARKER_SUFFIX)]
    marker = next((m for m in markers if paths.exists(m)), None)
    if marker is None:
        return None
    params = json.loads(paths.read_bytes(marker))
    return {"num_samples": params["num_samples"], "seed": params["seed"]}


