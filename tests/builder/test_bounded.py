"""A build holds a bounded part of its recordings: every decoder reads in chunks, a group of
recordings holds at most a bound of events (a longer recording is read and rasterised chunk by
chunk) and at most a bound of record bytes, and the rasters are those of an unbounded read."""

import contextlib
import dataclasses
import os
import pathlib
import re

import numpy as np
import pytest

import spyx_data
from pipelines import recordings as pipeline
from spyx_data.builder import camera, events, fixtures, raster, recordings
from spyx_data.builder.contracts import GroupedReader
from spyx_data.errors import InputError

from .. import memfs
from ..conftest import build_dir

SENSOR = (40, 30, 2)


def columns(n: int, seed: int, start: int = 5_000_000, sort: bool = True):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 900_000, n)
    t = (np.sort(t) if sort else t) + start
    return t, rng.integers(0, SENSOR[0], n), rng.integers(0, SENSOR[1], n), rng.integers(0, 2, n)


def structured(t, x, y, p) -> bytes:
    array = np.zeros(len(t), dtype=[("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "u1")])
    array["t"], array["x"], array["y"], array["p"] = t, x, y, p
    return fixtures.npy_bytes(array)


def with_overflow_markers(t, x, y, p) -> bytes:
    """ATIS bytes with an overflow marker (y = 240) after every 7th event."""
    words = fixtures.encode_atis_bin(t % 2**13, x, y, p)
    marker = bytes([0, 240, 0, 0, 0])
    return b"".join(words[i : i + 35] + marker for i in range(0, len(words), 35))


def expelliarmus_bytes(encoding: str, tmp_path, *ev) -> bytes:
    import expelliarmus

    array = np.zeros(len(ev[0]), dtype=[("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "u1")])
    array["t"], array["x"], array["y"], array["p"] = ev
    path = tmp_path / f"w.{'dat' if encoding == 'dat' else 'raw'}"
    expelliarmus.Wizard(encoding=encoding).save(str(path), array)
    return path.read_bytes()


#: name -> (file name, writer(tmp_path, t, x, y, p) -> bytes), each written by its own library.
WRITERS = {
    "bin": ("r.bin", lambda tmp, *ev: with_overflow_markers(*ev)),
    "npy structured": ("r.npy", lambda tmp, *ev: structured(*ev)),
    "npy columns": ("r.npy", lambda tmp, t, x, y, p: fixtures.npy_bytes(np.stack([x, y, p, t // 1000], 1))),
    "npy columns, Fortran order": (
        "r.npy", lambda tmp, t, x, y, p: fixtures.npy_bytes(np.asfortranarray(np.stack([x, y, p, t // 1000], 1)))),
    "aedat4": ("r.aedat4", lambda tmp, *ev: fixtures.faery_bytes(*ev, SENSOR[:2], ".aedat4")),
    "dat": ("r.dat", lambda tmp, *ev: expelliarmus_bytes("dat", tmp, *ev)),
    "evt2": ("r.raw", lambda tmp, *ev: expelliarmus_bytes("evt2", tmp, *ev)),
    "evt3": ("r.raw", lambda tmp, *ev: expelliarmus_bytes("evt3", tmp, *ev)),
    "es": ("r.es", lambda tmp, *ev: fixtures.faery_bytes(*ev, SENSOR[:2], ".es")),
    "csv": ("r.csv", lambda tmp, *ev: fixtures.faery_bytes(*ev, SENSOR[:2], ".csv")),
}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_each_decoder_reads_in_chunks_of_at_most_the_bound_that_make_the_whole_recording(tmp_path, name):
    file_name, writer = WRITERS[name]
    path = tmp_path / file_name
    path.write_bytes(writer(tmp_path, *columns(3000, seed=1)))
    whole = events.whole(recordings.decode(str(path), str(path), 10**6))
    assert len(whole.t) == 3000
    for bound in (1, 13, 700):
        chunks = list(recordings.decode(str(path), str(path), bound))
        assert max(len(c.t) for c in chunks) <= bound
        for ours, theirs in zip(events.whole(chunks), whole):
            np.testing.assert_array_equal(ours, theirs)


def write_recordings(root, lengths, suffix=".npy", writer=structured, unsorted=()):
    """``root/train/<class>/<k><suffix>``, recording ``k`` of ``lengths[k]`` events (those in
    ``unsorted`` not sorted by time); the split's folder."""
    for k, n in enumerate(lengths):
        folder = os.path.join(root, "train", f"class{min(k // 4, 2)}")  # listed in the order of k
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{k:03d}{suffix}"), "wb") as f:
            f.write(writer(*columns(n, seed=k, start=5_000_000 + 77_777 * k, sort=k not in unsorted)))
    return os.path.join(str(root), "train")


#: Recordings of every kind the grouping meets: empty, short, long (several times the bound
#: below), long with its earliest event in a later chunk (read again from the right origin).
LENGTHS = [0, 5, 30, 3, 3, 3, 260, 2, 0, 41, 12, 180]
UNSORTED = (11,)
BOUND = 40


def spy_on_passes(monkeypatch) -> list[int]:
    """The events of every call of the camera rasteriser, as the reader makes them."""
    sizes = []
    rasterise = raster.camera_rasters

    def spy(recordings_, *args, **kwargs):
        sizes.append(sum(len(r[0]) for r in recordings_))
        return rasterise(recordings_, *args, **kwargs)

    monkeypatch.setattr(raster, "camera_rasters", spy)
    return sizes


@pytest.mark.parametrize("files, options", [
    (recordings.FILES, {}),  # timed from the first event
    (camera.SampleFiles("", recordings.decode, recordings.label), {}),  # as stored
    (camera.SampleFiles("", recordings.decode, recordings.label, recentre=True), {}),
    (recordings.FILES, {"first_saccade_only": True}),
])
def test_the_folder_reader_holds_at_most_its_bound_and_gives_the_rasters_of_an_unbounded_read(
    tmp_path, monkeypatch, files, options
):
    split = write_recordings(tmp_path, LENGTHS, unsorted=UNSORTED)
    classes = ("class0", "class1", "class2")
    spec = camera.CameraSpec("recordings", SENSOR, files, classes, 16, 8000, spatial_factor=3, **options)
    unbounded = list(spec.open("train", split).rasters(0, len(LENGTHS)))
    assert len(unbounded) == 1  # every recording in one group
    chunks = []
    decode = files.decode

    def counted(path, where, max_events):
        for chunk in decode(path, where, max_events):
            chunks.append(len(chunk.t))
            yield chunk

    monkeypatch.setattr(camera.FolderReader, "EVENTS_PER_GROUP", BOUND)
    passes = spy_on_passes(monkeypatch)
    counting = dataclasses.replace(spec, files=dataclasses.replace(files, decode=counted))
    groups = list(counting.open("train", split).rasters(0, len(LENGTHS)))
    assert max(chunks) <= BOUND and max(passes) <= BOUND
    assert sum(chunks) >= sum(LENGTHS)  # the long unsorted one is read twice
    for group in groups:  # whole recordings together up to the bound, or one read in chunks
        assert len(group.labels) == 1 or group.counts.events <= BOUND
    assert [g.start for g in groups] == [0, 4, 6, 7, 9, 10, 11]
    np.testing.assert_array_equal(np.concatenate([g.obs for g in groups]), unbounded[0].obs)
    np.testing.assert_array_equal(np.concatenate([g.labels for g in groups]), unbounded[0].labels)
    assert sum((g.counts for g in groups), raster.RasterCounts()) == unbounded[0].counts
    assert unbounded[0].obs[6].any() and unbounded[0].counts.empty_samples == 2


def test_groups_are_bounded_by_the_bytes_of_their_records(tmp_path):
    sensor = (1024, 512, 2)  # 1 MiB frames: 15 records in 16 MiB
    split = write_recordings(tmp_path, [3] * 20, writer=lambda t, x, y, p: structured(t, x, y, p))
    spec = recordings.spec(sensor, ("class0", "class1", "class2"), 8, 1000)
    reader = spec.open("train", split)
    assert reader.group_samples == GroupedReader.GROUP_BYTES // spec.layout.record_bytes == 15
    assert [len(g.labels) for g in reader.rasters(0, 20)] == [15, 5]


def build(data_dir, out) -> spyx_data.Manifest:
    return pipeline.run([f"--data_dir={data_dir}", f"--sensor_size={','.join(map(str, SENSOR))}",
                         f"--output_dir={out}", "--sample_T=16", "--duration_ms=1000", "--num_shards=2"])


def shard_bytes(folder) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(pathlib.Path(folder).iterdir())}


def test_a_build_reading_in_bounded_pieces_has_the_bytes_of_an_unbounded_one(tmp_path, monkeypatch):
    data = tmp_path / "data"
    write_recordings(data, LENGTHS, unsorted=UNSORTED)
    whole = build(data, tmp_path / "whole")
    monkeypatch.setattr(camera.FolderReader, "EVENTS_PER_GROUP", BOUND)
    passes = spy_on_passes(monkeypatch)
    bounded = build(data, tmp_path / "bounded")
    assert passes and max(passes) <= BOUND
    assert bounded.build_name == whole.build_name
    assert shard_bytes(build_dir(tmp_path / "bounded", bounded)) == shard_bytes(build_dir(tmp_path / "whole", whole))


def test_recordings_on_another_filesystem_are_read_through_local_copies_then_removed(tmp_path, monkeypatch):
    data = tmp_path / "data"
    write_recordings(data, LENGTHS, unsorted=UNSORTED)
    for folder, _, names in os.walk(data):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                memfs.FILES["memtest://raw/" + os.path.relpath(path, data)] = f.read()
    local = build(data, tmp_path / "local")
    monkeypatch.setattr(camera.FolderReader, "EVENTS_PER_GROUP", BOUND)
    copies = []
    local_file = camera.local_file

    @contextlib.contextmanager
    def recorded(path):
        with local_file(path) as copy:
            copies.append((path, copy, os.path.getsize(copy)))
            yield copy

    monkeypatch.setattr(camera, "local_file", recorded)
    remote = build("memtest://raw", tmp_path / "remote")
    assert remote.split("train").source.sha256 == local.split("train").source.sha256
    assert shard_bytes(build_dir(tmp_path / "remote", remote)) == shard_bytes(build_dir(tmp_path / "local", local))
    assert {path for path, _, _ in copies} == {p for p in memfs.FILES if p.startswith("memtest://raw/")}
    assert all(size == len(memfs.FILES[path]) and not os.path.exists(copy) for path, copy, size in copies)


def test_a_file_cut_short_is_refused_naming_it_after_the_chunks_before_the_cut(tmp_path):
    t, x, y, p = columns(30, seed=3)
    cut = tmp_path / "r.bin"
    cut.write_bytes(fixtures.encode_atis_bin(t % 2**13, x, y, p)[:-2])
    with pytest.raises(InputError, match=r"r\.bin: 148 bytes is not a whole number of 5-byte events \(truncated "):
        list(events.atis_bin_chunks(str(cut), "r.bin", 7))
    short = tmp_path / "r.npy"  # the header says 30 rows, the file holds 29
    short.write_bytes(structured(t, x, y, p)[:-13])
    says = r"r\.npy: its header says shape \(30,\) .* \(390 bytes\), but 377 bytes follow it \(truncated file\?\)"
    with pytest.raises(InputError, match=says):
        list(events.npy_structured_chunks(str(short), "r.npy", 7))


@pytest.mark.parametrize("name", ["aedat4", "dat", "es", "evt2", "evt3", "npy columns", "npy structured"])
def test_a_file_cut_short_is_refused_before_its_first_chunk(tmp_path, name):
    """Where a format's size or layout tells a cut (all but .bin and .csv), the decoder checks
    the whole file, a bounded piece at a time, before it yields any events."""
    file_name, writer = WRITERS[name]
    path = tmp_path / file_name
    whole = writer(tmp_path, *columns(3000, seed=4))
    path.write_bytes(whole[:-1])
    with pytest.raises(InputError, match=rf"{re.escape(str(path))}: .* \(truncated file\?\); copy it again"):
        next(recordings.decode(str(path), str(path), 1))


def test_a_float_column_that_is_not_whole_is_named_by_its_row_in_the_file_not_in_its_chunk(tmp_path):
    t, x, y, p = columns(3000, seed=5)
    array = np.stack([x, y, p, t / 1000], 1)  # DVSGesture-style float columns, t in ms
    array[700, 0] += 0.5
    path = tmp_path / "r.npy"
    path.write_bytes(fixtures.npy_bytes(array))
    with pytest.raises(InputError, match=rf"r\.npy: column x holds {array[700, 0]} in row 700, not a whole number"):
        list(recordings.decode(str(path), "r.npy", 13))
