"""Format-exact synthetic data for every registry dataset, which stock tonic reads offline.

``write(name, data_dir, split, n)`` lays out ``n`` recordings exactly where and how tonic
expects that dataset under ``data_dir`` (its ``save_to``), plus the archive whose presence tells
tonic the data is there, and marks them as synthetic. Heidelberg files hold vlen float16
``spikes/times`` (s), vlen uint16 ``spikes/units``, uint16 ``labels``, ``extra/keys``,
``extra/speaker`` (:func:`spyx_data.build.fixtures.write_heidelberg`); a camera dataset's
recordings come from its registry entry's ``fixture`` (its module lays them out). The samples
are :mod:`spyx_data.build.fixtures`'. Needs h5py for the audio datasets (installed with tonic).
"""

from __future__ import annotations

import json
import os

from spyx_data import paths
from spyx_data.build import fixtures, registry
from spyx_data.errors import InputError, UsageError

GENERATOR = "spyx_data.synthetic/1"  # an identifier in the files written: unchanged by moves
MARKER = ".spyx_synthetic"


def location(name: str, data_dir: str, split: str) -> str:
    """Where tonic keeps ``split`` of dataset ``name`` under ``data_dir`` (a local path or a URL)."""
    return paths.join(data_dir, registry.get(name).locations[split])


def shd_path(data_dir: str, split: str) -> str:
    """Where tonic keeps an SHD split: ``data_dir/SHD/shd_<split>.h5``."""
    return location("shd", data_dir, split)


def write(name: str, data_dir: str, split: str, num_samples: int, seed: int = 0) -> str:
    """Write ``num_samples`` synthetic recordings of ``split`` of dataset ``name``; return its location.

    Marks the data as synthetic (see :func:`synthetic_params`). A dataset with seeded splits
    (N-Caltech101) has one folder for all splits: ``num_samples`` is then the total.
    """
    if num_samples < 1:
        raise UsageError(f"num_samples must be >= 1, got {num_samples}")
    info = registry.get(name)
    if info.seeded_split:
        split = info.splits[0]
    where = location(name, data_dir, split)
    params = {"generator": GENERATOR, "num_samples": num_samples, "seed": seed}
    if info.is_audio:
        samples = [fixtures.audio_sample(seed, split, i, len(info.classes), info.name) for i in range(num_samples)]
        fixtures.write_heidelberg(where, samples, {"synthetic": GENERATOR, "num_samples": num_samples, "seed": seed},
                                  info.classes)
    else:
        fixtures.write_recordings(where, info.fixture(info, split, num_samples, seed))
        with open(os.path.join(where, MARKER), "w") as f:
            json.dump(params, f)
    fixtures.touch_archive(os.path.join(data_dir, info.archives[split]))
    return where


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
    if registry.get(name).is_audio:
        import h5py

        try:
            with paths.open_read(where) as raw, h5py.File(raw, "r") as f:
                if f.attrs.get("synthetic") != GENERATOR:
                    return None
                return {"num_samples": int(f.attrs["num_samples"]), "seed": int(f.attrs["seed"])}
        except OSError as e:
            raise InputError(f"{where}: cannot open as HDF5 ({e}); replace the file or remove it") from e
    marker = paths.join(where, MARKER)
    if not paths.exists(marker):
        return None
    params = json.loads(paths.read_bytes(marker))
    return {"num_samples": params["num_samples"], "seed": params["seed"]}


