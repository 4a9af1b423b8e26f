"""Format-exact synthetic data for every registry dataset, which stock tonic reads offline (the
format's own library, for a dataset tonic lacks).

``write(info, data_dir, split, n)`` lays out ``n`` recordings of the registry dataset ``info``
exactly where and how tonic expects them under ``data_dir`` (its ``save_to``), plus the archive
whose presence tells tonic the data is there, and marks them as synthetic: an h5 file by its attributes, a folder by
a marker file beside it (``<folder>.spyx_synthetic``: inside, tonic's DVSLip would take it for a
class folder) that holds the sha256 of the folder's listing as written (every file's relative
path, size and sha256: :func:`spyx_data.builder.inputs.listing_digest`). A folder is this project's
synthetic data only while it holds exactly those files: one a user changed or added (a real
recording, anything) makes it real data, which a build does not mark synthetic and nothing here
writes over. The files come from the entry's ``fixture`` (the dataset's module lays them
out); the samples are :mod:`spyx_data.builder.fixtures`'. Needs h5py for the datasets stored
as h5 files (installed with tonic).

Nothing is ever written into a dataset's folder (``data_dir/SHD``, ``data_dir/NMNIST``, ...)
that holds anything but this project's synthetic data: the write is refused before it starts.
Synthetic data written again (another ``num_samples`` or seed) replaces the old wholly: a folder
is written under a temporary name beside it and swapped in, a file renamed over the old one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tarfile
import uuid
import zipfile
from collections.abc import Sequence

from spyx_data import paths
from spyx_data.builder import events, fixtures, inputs, shd
from spyx_data.builder.dataset import DatasetInfo
from spyx_data.errors import InputError, UsageError

GENERATOR = fixtures.GENERATOR
MARKER_SUFFIX = ".spyx_synthetic"
#: Temporary names of a write under way, beside what it replaces: ``.<name>.spyx-partial-<hex>``.
PARTIAL = ".spyx-partial-"


def shd_path(data_dir: str, split: str) -> str:
    """Where tonic keeps an SHD split: ``data_dir/SHD/shd_<split>.h5``."""
    return shd.DATASET.location(data_dir, split)


def write(info: DatasetInfo, data_dir: str, split: str, num_samples: int, seed: int = 0) -> str:
    """Write ``num_samples`` synthetic recordings of ``split`` of the dataset ``info``, replacing
    synthetic data written there before; return its location.

    Marks the data as synthetic (see :func:`synthetic_params`). Where all splits share one
    location (a seeded split's folder, one h5 file or folder holding every split) the fixture
    writes them all at once; for a seeded split ``num_samples`` is then the total.

    Raises:
        UsageError: ``num_samples < 1``, a remote ``data_dir``, or the dataset's folder under
            ``data_dir`` holds something that is not this project's synthetic data (naming it);
            then nothing is written.
        InputError: an h5 file there cannot be read (naming it).
    """
    if num_samples < 1:
        raise UsageError(f"num_samples must be >= 1, got {num_samples}")
    if paths.is_remote(data_dir):
        raise UsageError(f"synthetic data is written into a local folder; {data_dir} is not one")
    if info.seeded_test_fraction is not None:
        split = info.splits[0]
    where = info.location(data_dir, split)
    _refuse_foreign(info, data_dir)
    _remove_partials(where)
    recordings = info.fixture(info, split, num_samples, seed)
    archives = sorted({os.path.join(data_dir, archive) for s, archive in info.archives.items()
                       if info.location(data_dir, s) == where})
    if _is_folder(info):
        inside = [os.path.relpath(a, where) for a in archives if _below(a, where)]
        _replace_folder(where, recordings, inside, fixtures.marker_attrs(num_samples, seed))
    else:
        partial = _partial_name(where)
        try:
            fixtures.write_recordings(partial, recordings)
            os.replace(partial, where)
        finally:
            _remove(partial)
    for archive in archives:
        if not _below(archive, where):
            fixtures.touch_archive(archive)
    return where


def write_splits(
    info: DatasetInfo, data_dir: str, splits: Sequence[str], num_samples: int, seed: int = 0
) -> list[str]:
    """:func:`write` each of ``splits`` (once for a location several share); the locations written."""
    written: list[str] = []
    for split in splits:
        if info.location(data_dir, split) not in written:
            written.append(write(info, data_dir, split, num_samples, seed))
    return written


def write_shd(data_dir: str, split: str, num_samples: int, seed: int = 0) -> str:
    """Write a synthetic SHD split where tonic looks for it; return the h5 path."""
    return write(shd.DATASET, data_dir, split, num_samples, seed)


def synthetic_params(info: DatasetInfo, data_dir: str, split: str) -> dict | None:
    """``{"num_samples", "seed"}`` of the synthetic data :func:`write` put in a split's place;
    None when the location is missing or holds anything else: real data, or synthetic data
    whose folder a user changed or added to. ``data_dir`` may be a URL.

    Raises:
        InputError: a Heidelberg file that is not HDF5, or a folder marked by an earlier
            version of spyx-data, which did not record what it wrote (naming it).
    """
    where = info.location(data_dir, split)
    if not _is_folder(info):
        if not paths.exists(where):
            return None
        with events.H5File(where, remedy="replace the file or remove it") as f:
            attrs = f.h5.attrs
            if attrs.get("synthetic") != GENERATOR:
                return None
            return {"num_samples": int(attrs["num_samples"]), "seed": int(attrs["seed"])}
    marker = where.rstrip("/") + MARKER_SUFFIX
    if not paths.exists(marker):
        if paths.exists(paths.join(where, MARKER_SUFFIX)):
            raise _written_by_an_earlier_version(where, paths.join(where, MARKER_SUFFIX))
        return None
    params = json.loads(paths.read_bytes(marker))
    if "sha256" not in params:
        raise _written_by_an_earlier_version(where, marker)
    if params.get("synthetic") != GENERATOR or _contents(where) != params["sha256"]:
        return None
    return {"num_samples": params["num_samples"], "seed": params["seed"]}


def _written_by_an_earlier_version(where: str, marker: str) -> InputError:
    return InputError(f"{marker} marks {where} as synthetic data written by an earlier version of spyx-data, "
                      "which did not record the files it wrote: remove both and write the synthetic data again")


def _is_folder(info: DatasetInfo) -> bool:
    """Whether a split's source is a folder of files (else one file)."""
    return info.family.source_suffix is not None


def _contents(folder: str) -> str | None:
    """The sha256 of the listing of every file below ``folder`` that a build reads (hidden
    files and folders are skipped, as every build skips them: :func:`spyx_data.paths.is_hidden`),
    sorted by path parts as a folder's fingerprint lists them, or None where it holds a symlink
    or anything else that is neither a file nor a folder (a missing folder lists nothing). A
    remote folder: its fingerprint's."""
    if paths.is_remote(folder):  # an object store has no folders: one without files is not there
        try:
            return inputs.fingerprint(folder, "").sha256
        except InputError:
            return None
    files = []
    for path, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not paths.is_hidden(d)]
        names = [n for n in names if not paths.is_hidden(n)]
        for name in dirs + names:
            full = os.path.join(path, name)
            if os.path.islink(full) or not (os.path.isdir(full) or os.path.isfile(full)):
                return None
        files.extend((os.path.relpath(os.path.join(path, n), folder).split(os.sep), os.path.join(path, n))
                     for n in names)
    files.sort()
    return inputs.listing_digest([("/".join(parts), full) for parts, full in files])


def _below(path: str, folder: str) -> bool:
    return os.path.normpath(path) == os.path.normpath(folder) or os.path.normpath(path).startswith(
        os.path.normpath(folder) + os.sep)


def _refuse_foreign(info: DatasetInfo, data_dir: str) -> None:
    """Refuse, before anything is written, when the dataset's folders under ``data_dir`` hold
    anything but this project's synthetic data: its split locations as written (or empty
    folders), their markers, empty archives where tonic looks for one, and what a write that
    was cut short left (``PARTIAL`` names).

    Raises:
        UsageError: naming the first thing that is not.
    """
    locations = {os.path.normpath(info.location(data_dir, s)): s for s in info.splits}
    archives = {os.path.normpath(os.path.join(data_dir, a)) for a in info.archives.values()}
    markers = {path + MARKER_SUFFIX for path in locations}

    def foreign(path: str) -> str | None:
        if os.path.islink(path):
            return path
        if path in locations:
            ours = synthetic_params(info, data_dir, locations[path]) is not None
            if ours:  # a hidden file a user or a tool put there (builds skip it) is theirs
                return _first_hidden(path)
            return None if _holds_no_file(path) else path
        if path in markers or _is_partial(path, locations):
            return None
        if path in archives and _empty_archive(path):
            return None
        if os.path.isdir(path):
            return next(filter(None, (foreign(os.path.join(path, n)) for n in sorted(os.listdir(path)))), None)
        return path

    tops = sorted({os.path.join(data_dir, info.locations[s].split("/")[0]) for s in info.splits})
    for top in tops:
        found = foreign(os.path.normpath(top)) if os.path.lexists(top) else None
        if found is not None:
            raise UsageError(
                f"{found} is not synthetic data written by spyx-data, or was changed since: synthetic {info.name} "
                f"data is never written into a folder that holds other data ({top}); nothing was written, pass "
                "another --data_dir"
            )


def _first_hidden(folder: str) -> str | None:
    """The first hidden file or folder below ``folder`` (sorted), or None."""
    for path, dirs, names in os.walk(folder):
        dirs.sort()
        hidden = sorted(n for n in dirs + names if paths.is_hidden(n))
        if hidden:
            return os.path.join(path, hidden[0])
    return None


def _holds_no_file(folder: str) -> bool:
    """Whether ``folder`` is a folder of folders at most (no file, no symlink)."""
    if os.path.islink(folder) or not os.path.isdir(folder):
        return False
    return all(not names and all(not os.path.islink(os.path.join(p, d)) for d in dirs)
               for p, dirs, names in os.walk(folder))


def _empty_archive(path: str) -> bool:
    """Whether ``path`` is a zip or tar archive holding nothing (the stand-in :func:`write` puts
    where tonic checks that an archive exists)."""
    try:
        if path.endswith(".zip"):
            with zipfile.ZipFile(path) as z:
                return not z.namelist()
        with tarfile.open(path) as t:
            return t.next() is None
    except (OSError, zipfile.BadZipFile, tarfile.TarError):
        return False


def _partial_name(path: str) -> str:
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}{PARTIAL}{uuid.uuid4().hex}")


def _is_partial(path: str, locations: Sequence[str]) -> bool:
    """Whether ``path`` is a temporary name of a write of one of ``locations`` or their markers."""
    found = re.fullmatch(rf"\.(.+){re.escape(PARTIAL)}[0-9a-f]{{32}}", os.path.basename(path))
    return found is not None and any(os.path.dirname(path) == os.path.dirname(loc) and found.group(1) in (
        os.path.basename(loc), os.path.basename(loc) + MARKER_SUFFIX) for loc in locations)


def _remove_partials(where: str) -> None:
    """Remove what writes of ``where`` that were cut short left beside it."""
    folder = os.path.dirname(where)
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        if _is_partial(os.path.join(folder, name), [where]):
            _remove(os.path.join(folder, name))


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def _replace_folder(where: str, recordings, archives: Sequence[str], params: dict) -> None:
    """Write ``recordings`` (``(path parts, bytes)``) and empty ``archives`` (relative paths)
    as the folder ``where``, replacing what is there, then its marker with the listing's sha256."""
    marker = where.rstrip("/") + MARKER_SUFFIX
    partial, old, written = _partial_name(where), _partial_name(where), _partial_name(marker)
    try:
        os.makedirs(partial)
        fixtures.write_recordings(partial, recordings)
        for archive in archives:
            fixtures.touch_archive(os.path.join(partial, archive))
        if os.path.lexists(where):
            os.rename(where, old)
        os.rename(partial, where)
        with open(written, "w") as f:
            json.dump({**params, "sha256": _contents(where)}, f)
        os.replace(written, marker)
    finally:
        for path in (partial, old, written):
            _remove(path)
