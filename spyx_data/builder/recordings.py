"""A researcher's own recordings: ``DIR/<split>/<class>/<recording>``, or ``DIR/<class>/<recording>``
with a seeded split, each recording one file read by its suffix's library.

=========== ==============================================================================
suffix      read with
=========== ==============================================================================
``.aedat4`` ``aedat`` (DV cameras; the lowest-id event stream)
``.dat``    ``expelliarmus`` (Prophesee DAT)
``.raw``    ``expelliarmus`` (Prophesee EVT 2.0 or 3.0, told by the file's header)
``.npy``    numpy: a structured array with integer fields ``t`` (us), ``x``, ``y``, ``p``, or
            tonic's DVSGesture columns ``[n, 4]`` of x, y, p, t in milliseconds
``.bin``    ours: N-MNIST's 5-byte ATIS events
``.es``     ``faery`` (Event Stream, DVS events)
``.csv``    numpy: a header row naming ``t`` (us), ``x``, ``y``, ``p`` (or ``on``), integer rows
=========== ==============================================================================

A file cut short is refused, naming it (see :mod:`spyx_data.builder.events`); hidden files and
folders (``.DS_Store``, ``.ipynb_checkpoints``) are skipped, never a class or a recording.

A recording's class is the first folder below its split (it may sit deeper, in folders of its
own), its label that folder's position among the class folders of every split, sorted (the
names are kept in the manifest). Every recording is timed from its first event and rasterised
as the camera datasets are (:class:`spyx_data.builder.camera.CameraSpec`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from spyx_data import paths
from spyx_data.builder import camera, events
from spyx_data.errors import InputError, UsageError
from spyx_data.format.manifest import SPLIT_NAME

NAME = "recordings"


def npy_chunks(path: str, where: str, max_events: int) -> Iterator[events.Events]:
    """A structured ``.npy`` of integer fields ``t`` (us), ``x``, ``y``, ``p``
    (:func:`~spyx_data.builder.events.npy_structured_chunks`: float fields are refused), or
    DVSGesture-style ``[n, 4]`` columns x, y, p, t in milliseconds
    (:func:`~spyx_data.builder.events.npy_column_chunks`: float times as tonic reads them, float
    x, y, p only when whole numbers)."""
    with open(path, "rb") as f:
        structured = events.npy_header(f, where).dtype.names is not None
    if structured:
        return events.npy_structured_chunks(path, where, max_events)
    return events.npy_column_chunks(path, where, max_events, "xypt", 1000)


#: Each recording format's decoder (:data:`spyx_data.builder.events.Decoder`) by its suffix (lower case).
FORMATS: dict[str, events.Decoder] = {
    ".aedat4": events.aedat4_chunks,
    ".dat": events.prophesee_chunks,
    ".raw": events.prophesee_chunks,
    ".npy": npy_chunks,
    ".bin": events.atis_bin_chunks,
    ".es": events.event_stream_chunks,
    ".csv": events.csv_chunks,
}


def decode(path: str, where: str, max_events: int) -> Iterator[events.Events]:
    """The events of one recording, by the suffix of ``where`` (see :data:`FORMATS`)."""
    return FORMATS[events.suffix_of(where)](path, where, max_events)


def label(parts: tuple[str, ...], classes: tuple[str, ...]) -> int:
    """The position of the recording's class folder (the first below its split)."""
    return classes.index(parts[0])


FILES = camera.SampleFiles("", decode, label, time_origin=camera.FIRST_EVENT)

#: A split folder's name: train, test, val, valid, ... alone, after ``-``, ``_``, ``.`` or a
#: space (``n-cars_train``, ``pips_test``), or capitalised after a letter (``ibmGestureTrain``).
SPLIT_LIKE = re.compile(r"(?i:(?:.*[-_. ])?(?:train|training|test|testing|val|valid|validation|dev|eval))"
                        r"|.*[a-z0-9](?:Train|Training|Test|Testing|Val|Valid|Validation|Dev|Eval)")


def locate(data_dir: str, seeded: bool) -> tuple[dict[str, str], tuple[str, ...]]:
    """``({split: folder}, class names)`` of the recordings in ``data_dir``, checked.

    With ``seeded`` the class folders sit in ``data_dir`` and every split is read from it;
    otherwise each folder in ``data_dir`` is a split of class folders. Hidden files and folders
    (``.DS_Store``, ``.ipynb_checkpoints``) are skipped (:func:`spyx_data.paths.list_files`).

    The layouts are told apart thus: without ``seeded``, a recording directly in a split folder
    means class folders in ``data_dir``; with it, ``data_dir`` holds split folders when every
    folder in it has a split's name (:data:`SPLIT_LIKE`) and holds its recordings in folders of
    its own (``DIR/<split>/<class>/...``). A seeded layout is refused only if all its class
    names are such words and all its recordings sit in subfolders.

    Raises:
        UsageError: the layout does not match ``seeded`` (saying which flags to use or drop).
        InputError: naming it, a file of another suffix, a recording outside a class folder,
            or a class folder without recordings.
    """
    if seeded:
        splits = {"train": data_dir, "test": data_dir}
        listed = {data_dir: paths.list_files(data_dir, "")}
        tops = sorted({p[0] for p in listed[data_dir]})
        if all(SPLIT_LIKE.fullmatch(name) for name in tops) and all(len(p) > 2 for p in listed[data_dir]):
            raise UsageError(
                f"{data_dir} holds split folders ({', '.join(tops)}) of class folders, which --test_fraction and "
                "--split_seed would take for classes: drop those flags to build these splits, or pass "
                f"--data_dir={paths.join(data_dir, tops[0])} to split one of them by seed"
            )
    else:
        names = _folders(data_dir)
        bad = [n for n in names if not SPLIT_NAME.fullmatch(n)]
        if bad:
            raise UsageError(f"{paths.join(data_dir, bad[0])}: a split folder's name must be letters, digits, '-' "
                             "and '_'")
        splits = {name: paths.join(data_dir, name) for name in names}
        listed = {folder: paths.list_files(folder, "") for folder in splits.values()}
        flat = next((f for f, parts in listed.items() if any(len(p) == 1 for p in parts)), None)
        if flat is not None:
            raise UsageError(
                f"{flat} holds recordings outside class folders: lay the recordings out as DIR/<split>/<class>/"
                "<recording>, or, for DIR/<class>/<recording>, pass --test_fraction=F (and --split_seed=S) for a "
                "seeded split"
            )
    classes: set[str] = set()
    for folder, parts in listed.items():
        for p in parts:
            where = paths.join(folder, *p)
            if len(p) == 1:
                raise InputError(f"{where}: a recording outside a class folder ({folder}/<class>/<recording>)")
            if events.suffix_of(p[-1]) not in FORMATS:
                raise InputError(f"{where}: unknown suffix {events.suffix_of(p[-1]) or '(none)'!r}; recordings are "
                                 f"{', '.join(FORMATS)} files (move other files out of {data_dir})")
        present = {p[0] for p in parts}
        for name in _folders(folder):
            if name not in present:
                raise InputError(f"{paths.join(folder, name)}: a class folder without recordings")
        classes |= present
    return splits, tuple(sorted(classes))


def _folders(folder: str) -> list[str]:
    """The names of the folders in ``folder`` but hidden ones, sorted (locally; on a Beam
    filesystem, those holding files)."""
    if paths.is_remote(folder):
        return sorted({p[0] for p in paths.list_files(folder, "") if len(p) > 1})
    if not os.path.isdir(folder):
        raise InputError(f"{folder}: no such folder")
    return sorted(n for n in os.listdir(folder) if not paths.is_hidden(n) and os.path.isdir(os.path.join(folder, n)))


def spec(
    sensor: tuple[int, int, int],
    classes: tuple[str, ...],
    sample_T: int,
    duration_ms: int,
    **options: Any,
) -> camera.CameraSpec:
    """The build spec of a recordings folder (``options``: ``spatial_factor``, ``merge_polarity``,
    the frame options ``frames``, ``values``, ``overlap``, ``denoise_us``, ``split_seed``,
    ``test_fraction``)."""
    return camera.CameraSpec(NAME, sensor, FILES, classes, sample_T, duration_ms, **options)
