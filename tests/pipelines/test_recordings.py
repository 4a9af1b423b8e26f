"""python -m pipelines.recordings: a researcher's own recordings, each format written by its own
writer library, decoded as that library's reader decodes it, built to frames computed here."""

import os
import re
import subprocess
import sys

import aedat
import expelliarmus
import faery
import numpy as np
import pytest
import tonic

import spyx_data
from pipelines import recordings as pipeline
from spyx_data import cli
from spyx_data.builder import events, fixtures, recordings
from spyx_data.errors import InputError
from spyx_data.format import records

from ..conftest import build_dir, manifests_under

SENSOR = (120, 100, 2)  # N-CARS after its crops
SAMPLE_T, DURATION_MS = 10, 100
CLOCK_US = 1_700_000_000  # recordings start well after 0: each is timed from its first event


def recording(seed: int, n: int = 600):
    """Events ``(t us, x, y, p)`` of one recording, sorted by time, lasting about 90 ms."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 90_000, n)) + CLOCK_US + seed * 1_000_003
    return t, rng.integers(0, SENSOR[0], n), rng.integers(0, SENSOR[1], n), rng.integers(0, 2, n)


def structured_npy(t, x, y, p):
    array = np.zeros(len(t), dtype=[("t", np.int64), ("x", np.int16), ("y", np.int16), ("p", np.int8)])
    array["t"], array["x"], array["y"], array["p"] = t, x, y, p
    return fixtures.npy_bytes(array)


def expelliarmus_bytes(encoding: str, tmp_path, t, x, y, p) -> bytes:
    array = np.zeros(len(t), dtype=[("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "u1")])
    array["t"], array["x"], array["y"], array["p"] = t, x, y, p
    path = tmp_path / f"written.{'dat' if encoding == 'dat' else 'raw'}"
    expelliarmus.Wizard(encoding=encoding).save(str(path), array)
    data = path.read_bytes()
    path.unlink()
    return data


#: name -> (suffix, writer(tmp_path, t, x, y, p) -> bytes, the writer library's own reader(path) -> (t, x, y, p)).
FORMATS = {
    "aedat4 (faery)": (".aedat4", lambda tmp, *ev: fixtures.faery_bytes(*ev, SENSOR[:2], ".aedat4"),
                       lambda path: _fields(np.concatenate([k["events"] for k in aedat.Decoder(path)]), "on")),
    "dat (faery)": (".dat", lambda tmp, *ev: fixtures.faery_bytes(*ev, SENSOR[:2], ".dat"),
                    lambda path: _fields(np.concatenate(list(faery.events_stream_from_file(path))), "on")),
    "dat (expelliarmus)": (".dat", lambda tmp, *ev: expelliarmus_bytes("dat", tmp, *ev),
                           lambda path: _fields(expelliarmus.Wizard(encoding="dat").read(path), "p")),
    "evt2 (faery)": (".raw", lambda tmp, *ev: fixtures.faery_bytes(*ev, SENSOR[:2], ".raw", version="evt2"),
                     lambda path: _fields(np.concatenate(list(faery.events_stream_from_file(path))), "on")),
    "evt2 (expelliarmus)": (".raw", lambda tmp, *ev: expelliarmus_bytes("evt2", tmp, *ev),
                            lambda path: _fields(expelliarmus.Wizard(encoding="evt2").read(path), "p")),
    "evt3 (expelliarmus)": (".raw", lambda tmp, *ev: expelliarmus_bytes("evt3", tmp, *ev),
                            lambda path: _fields(expelliarmus.Wizard(encoding="evt3").read(path), "p")),
    "es (faery)": (".es", lambda tmp, *ev: fixtures.faery_bytes(*ev, SENSOR[:2], ".es"),
                   lambda path: _fields(np.concatenate(list(faery.events_stream_from_file(path))), "on")),
    "csv (faery)": (".csv", lambda tmp, *ev: fixtures.faery_bytes(*ev, SENSOR[:2], ".csv"),
                    lambda path: _fields(np.concatenate(list(faery.events_stream_from_file(path))), "on")),
    "npy structured (numpy)": (".npy", lambda tmp, *ev: structured_npy(*ev),
                               lambda path: _fields(np.load(path), "p")),
    "npy columns (numpy)": (".npy", lambda tmp, t, x, y, p: fixtures.npy_bytes(np.stack([x, y, p, t // 1000], 1)),
                            lambda path: (np.load(path)[:, 3] * 1000, *np.load(path)[:, :3].T)),
    "bin (tonic)": (".bin", lambda tmp, t, *xyp: fixtures.encode_atis_bin(t - CLOCK_US - 7 * 1_000_003, *xyp),
                    lambda path: _fields(tonic.io.read_mnist_file(path, tonic.datasets.NMNIST.dtype), "p")),
}


def _fields(array, polarity: str):
    return tuple(np.asarray(array[name]).astype(np.int64) for name in ("t", "x", "y", polarity))


def expected_frames(t, x, y, p, sample_T=SAMPLE_T, duration_us=DURATION_MS * 1000):
    """Frames [t, p, y, x] of one recording, written out here: timed from its first event."""
    t = np.asarray(t, np.int64) - np.min(t)
    keep = t < duration_us
    dense = np.zeros((sample_T, SENSOR[2], SENSOR[1], SENSOR[0]), np.uint8)
    dense[t[keep] * sample_T // duration_us, p[keep], y[keep], x[keep]] = 1
    return dense


def write_layout(root, suffix, writer, tmp_path, classes=("background", "cars"), per_class=2, splits=("train", "test")):
    """``root/<split>/<class>/obj_<k>_td<suffix>``; returns {path: events} of what was written."""
    written = {}
    seed = 0
    for split in splits:
        for name in classes:
            folder = os.path.join(root, *([split] if split else []), name)
            os.makedirs(folder, exist_ok=True)
            for k in range(per_class):
                ev = recording(7 if suffix == ".bin" else seed)  # ATIS .bin holds 23-bit times: one fixed start
                seed += 1
                path = os.path.join(folder, f"obj_{k:04d}_td{suffix}")
                with open(path, "wb") as f:
                    f.write(writer(tmp_path, *ev))
                written[path] = ev
    return written


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_format_decodes_as_its_library_reads_it_and_builds_to_the_reference_frames(tmp_path, name):
    suffix, writer, read_back = FORMATS[name]
    written = write_layout(str(tmp_path / "data"), suffix, writer, tmp_path)
    for path, ev in written.items():
        ours = events.decode_bytes(recordings.decode, open(path, "rb").read(), path)
        theirs = read_back(path)
        for column, theirs_column in zip(ours, theirs):
            np.testing.assert_array_equal(column, theirs_column)
        if name == "npy columns (numpy)":
            ev = (ev[0] // 1000 * 1000, *ev[1:])  # tonic's DVSGesture columns hold milliseconds
        if name == "evt3 (expelliarmus)":  # EVT 3.0 stores 24-bit times: they count from the first event
            np.testing.assert_array_equal(ours.t - ours.t[0], ev[0] - ev[0][0])
        elif name != "bin (tonic)":  # .bin holds 23-bit times, written from 0
            np.testing.assert_array_equal(ours.t, ev[0])
        np.testing.assert_array_equal(ours.x, ev[1])
    manifest = pipeline.run([
        f"--data_dir={tmp_path / 'data'}", f"--sensor_size={','.join(map(str, SENSOR))}",
        f"--output_dir={tmp_path / 'out'}", f"--sample_T={SAMPLE_T}", f"--duration_ms={DURATION_MS}",
    ])
    assert manifest.dataset == "recordings" and manifest.config["classes"] == ["background", "cars"]
    assert manifest.config["time_origin"] == "first event" and manifest.layout.obs_shape == (2, 2, 100, 120)
    for split in ("train", "test"):
        obs, labels = spyx_data.load_split(build_dir(tmp_path / "out", manifest), split)
        paths_ = sorted(p for p in written if f"{os.sep}{split}{os.sep}" in p)
        assert labels.tolist() == [0, 0, 1, 1]  # background, background, cars, cars: sorted class folders
        for o, path in zip(obs, paths_):
            ev = events.decode_bytes(recordings.decode, open(path, "rb").read(), path)
            np.testing.assert_array_equal(records.unpack_time(o, SAMPLE_T), expected_frames(*ev))
        assert all(o.any() for o in obs)


def ncars(tmp_path, **kwargs):
    return write_layout(str(tmp_path / "ncars"), ".dat", FORMATS["dat (faery)"][1], tmp_path, **kwargs)


def build(tmp_path, *flags, data="ncars"):
    return pipeline.run([f"--data_dir={tmp_path / data}", "--sensor_size=120,100,2", f"--output_dir={tmp_path / 'out'}",
                         *flags])


def test_the_same_recordings_give_the_same_bytes_with_two_workers(tmp_path):
    ncars(tmp_path)
    one = build(tmp_path, "--num_shards=2")
    two = pipeline.run([f"--data_dir={tmp_path / 'ncars'}", "--sensor_size=120,100,2", "--num_shards=2",
                        f"--output_dir={tmp_path / 'out2'}", "--direct_running_mode=multi_processing",
                        "--direct_num_workers=2"])
    assert one.build_name == two.build_name
    for name in sorted(os.listdir(build_dir(tmp_path / "out", one))):
        assert (open(os.path.join(build_dir(tmp_path / "out", one), name), "rb").read()
                == open(os.path.join(build_dir(tmp_path / "out2", two), name), "rb").read())


def test_a_seeded_split_of_class_folders_is_stable_when_recordings_are_added(tmp_path):
    ncars(tmp_path, splits=(None,), per_class=12)
    first = build(tmp_path, "--test_fraction=0.25")
    assert first.config["split_seed"] == 0 and first.config["test_fraction"] == 0.25
    sizes = {s: i.num_records for s, i in first.splits.items()}
    assert sizes["train"] + sizes["test"] == 24 and 0 < sizes["test"] < 24

    def test_set(manifest):
        obs, labels = spyx_data.load_split(build_dir(tmp_path / "out", manifest), "test")
        return {(o.tobytes(), int(label)) for o, label in zip(obs, labels)}

    before = test_set(first)
    more = recording(99)
    with open(tmp_path / "ncars" / "cars" / "zz_new_td.dat", "wb") as f:
        f.write(fixtures.faery_bytes(*more, SENSOR[:2], ".dat"))
    second = build(tmp_path, "--test_fraction=0.25")
    assert second.build_name != first.build_name  # new data, a new build
    assert before <= test_set(second)  # every old test recording stays in test


def test_the_readers_and_the_command_line_work_on_it(tmp_path, capsys):
    ncars(tmp_path)
    code = cli.main(["build", "recordings", f"--data_dir={tmp_path / 'ncars'}", "--sensor_size=120,100,2",
                     f"--output_dir={tmp_path / 'out'}", "--sample_T=10", "--duration_ms=100"])
    out = capsys.readouterr().out
    assert code == 0 and "recordings-" in out
    (name,) = [n for n in os.listdir(tmp_path / "out") if n.startswith("recordings-")]
    directory = str(tmp_path / "out" / name)
    obs, labels = spyx_data.prestage(directory, "train", batch_size=2)
    assert obs.shape == (2, 2, 2, 2, 100, 120) and labels.shape == (2, 2)  # time packed: 10 bins in 2 bytes
    batches = list(spyx_data.GrainLoader(spyx_data.open_split(directory, "train"), batch_size=2, shuffle=False))
    assert [b.labels.tolist() for b in batches] == [[0, 0], [1, 1]]
    assert cli.main(["verify", directory]) == 0


def test_an_event_off_the_sensor_fails_naming_the_file(tmp_path):
    written = ncars(tmp_path)
    path = sorted(written)[0]
    t, x, y, p = recording(5)
    with open(path, "wb") as f:
        f.write(fixtures.faery_bytes(t, x, y, p, (128, 128), ".dat"))  # dimensions of another camera
    x[3] = 125
    with open(path, "wb") as f:
        f.write(fixtures.faery_bytes(t, x, y, p, (128, 128), ".dat"))
    with pytest.raises(Exception, match=rf"{path}: event 3 has x=125, outside the sensor's 0..119"):
        build(tmp_path)
    assert not manifests_under(tmp_path / "out")


@pytest.mark.parametrize("case, message", [
    ("unknown suffix", r"notes\.txt: unknown suffix '\.txt'; recordings are \.aedat4, \.dat"),
    ("empty class folder", r"train/pedestrians: folder holds no recordings"),
    ("flat layout", r"holds recordings outside class folders: .* pass --test_fraction=F"),
    ("undecodable", r"obj_0000_td\.dat: DAT events of 2 bytes are not read \(8-byte events are\)"),
])
def test_a_wrong_folder_is_one_line_naming_what(tmp_path, capsys, case, message):
    written = ncars(tmp_path)
    root = tmp_path / "ncars"
    if case == "unknown suffix":
        (root / "train" / "cars" / "notes.txt").write_text("hello")
    elif case == "empty class folder":
        (root / "train" / "pedestrians").mkdir()
    elif case == "flat layout":
        (root / "train" / "stray.dat").write_bytes(open(sorted(written)[0], "rb").read())
    else:
        with open(sorted(p for p in written if "train" in p)[0], "wb") as f:
            f.write(b"% Version 2\n% Height 100\n\x01\x02")
    code = pipeline.main([f"--data_dir={root}", "--sensor_size=120,100,2", f"--output_dir={tmp_path / 'out'}"])
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if "samples written" not in line]  # progress, if slow
    assert code in (1, 2) and len(lines) == 1, err
    assert re.search(message, lines[0]), err
    assert not manifests_under(tmp_path / "out")


def test_a_bad_sensor_size_is_refused(tmp_path, capsys):
    code = pipeline.main([f"--data_dir={tmp_path}", "--sensor_size=120,100", f"--output_dir={tmp_path / 'out'}"])
    assert code == 2 and "must be W,H,P (three positive integers" in capsys.readouterr().err


def test_an_evt_version_it_cannot_read_is_named():
    with pytest.raises(Exception, match=r"x\.raw: EVT 2\.1 is not read \(EVT 2\.0 and 3\.0 are\)"):
        events.decode_bytes(events.prophesee_chunks, b"% evt 2.1\n% end\n", "x.raw")


# Refusals and skips, each made as a user makes it: the command line on a folder they laid out.


def snapshot(root) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) below ``root``, hidden ones too, by relative path:
    the user's files, to compare."""
    found: dict[str, bytes | None] = {}
    for folder, dirs, files in os.walk(root):
        found.update({os.path.relpath(os.path.join(folder, d), root): None for d in dirs})
        found.update({os.path.relpath(os.path.join(folder, f), root): open(os.path.join(folder, f), "rb").read()
                      for f in files})
    return found


def refused(capsys, data, out, *flags) -> str:
    """``python -m pipelines.recordings`` on ``data`` (with ``flags``), run as a user runs it:
    asserts exit 2, one line (progress lines aside), no traceback, nothing published, nothing
    left in the output root and the user's files unchanged; the line."""
    before = snapshot(data)
    code = pipeline.main([f"--data_dir={data}", "--sensor_size=120,100,2", f"--output_dir={out}", *flags])
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if "samples written" not in line]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert snapshot(data) == before  # with an output root inside the data: nothing made there either
    assert not os.path.exists(out) or not os.listdir(out) or out == data  # no build, no staging folder
    return lines[0]


def built(capsys, data, out, *flags) -> str:
    """The same, for a build that succeeds: the folder of the build it printed."""
    code = pipeline.main([f"--data_dir={data}", "--sensor_size=120,100,2", f"--output_dir={out}", *flags])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    return os.path.join(str(out), re.search(r"recordings-[0-9a-f]{12}", printed.out).group())


def packet_starts(data: bytes) -> list[int]:
    """Where each packet of an AEDAT4 file starts, walked from the end of its header up to its
    file data table (whose position faery's writer puts in the header's flatbuffer)."""
    position = 18 + int.from_bytes(data[14:18], "little")
    table = int(np.frombuffer(data, "<i8", 1, _table_position_offset(data))[0])
    starts = []
    while position < table:
        starts.append(position)
        position += 8 + int.from_bytes(data[position + 4 : position + 8], "little")
    return starts


def _table_position_offset(data: bytes) -> int:
    """Where the IOHeader's dataTablePosition (flatbuffer field 1, an int64) lies in the file."""
    header = 18
    table = header + int.from_bytes(data[header : header + 4], "little")
    vtable = table - int.from_bytes(data[table : table + 4], "little", signed=True)
    return table + int.from_bytes(data[vtable + 6 : vtable + 8], "little")


def _last_packet_dropped(data: bytes) -> bytes:
    return data[: packet_starts(data)[-1]]


#: name -> (suffix, writer, cut(bytes) -> bytes, what the line says, the library's own reader of
#: the cut file, which reads it without a word (the events before the cut); None where that
#: reader hangs (expelliarmus, on a header without its newline) or fails (aedat, on a file that
#: ends before its data table: there the line is ours instead of aedat's "failed to fill whole
#: buffer").
CUT_SHORT = {
    "dat (expelliarmus), cut inside an event": (
        ".dat", FORMATS["dat (expelliarmus)"][1], lambda d: d[:-3],
        r"it ends part-way through a DAT event: 5 of its 8 bytes",
        lambda path: expelliarmus.Wizard(encoding="dat").read(path)),
    "evt2 (expelliarmus), cut inside a word": (
        ".raw", FORMATS["evt2 (expelliarmus)"][1], lambda d: d[:-1],
        r"it ends part-way through an EVT 2\.0 word: 3 of its 4 bytes",
        lambda path: expelliarmus.Wizard(encoding="evt2").read(path)),
    "evt3 (expelliarmus), cut inside a word": (
        ".raw", FORMATS["evt3 (expelliarmus)"][1], lambda d: d[:-1],
        r"it ends part-way through an EVT 3\.0 word: 1 of its 2 bytes",
        lambda path: expelliarmus.Wizard(encoding="evt3").read(path)),
    "evt2 (faery), cut inside its header": (
        ".raw", FORMATS["evt2 (faery)"][1], lambda d: d[:30], r"it ends inside its header", None),
    "es (faery), cut inside an event": (
        ".es", lambda tmp, t, *xyp: fixtures.faery_bytes(t - CLOCK_US, *xyp, SENSOR[:2], ".es"), lambda d: d[:-2],
        r"it ends part-way through an event: 3 of its 5 bytes",
        lambda path: np.concatenate(list(faery.events_stream_from_file(path)))),
    "aedat4 (faery), cut inside its file data table": (
        ".aedat4", FORMATS["aedat4 (faery)"][1], lambda d: d[:-1],
        r"its file data table \(from byte \d+\) is cut short",
        lambda path: np.concatenate([k["events"] for k in aedat.Decoder(path)])),
    "aedat4 (faery), cut between two packets": (
        ".aedat4", lambda tmp, *ev: fixtures.faery_bytes(*ev, SENSOR[:2], ".aedat4", packets_per_s=50),
        _last_packet_dropped, r"it ends at byte \d+, before its file data table at byte \d+: packets are missing",
        None),
}


@pytest.mark.parametrize("case", sorted(CUT_SHORT))
def test_a_recording_cut_short_is_refused_naming_it(tmp_path, capsys, case):
    suffix, writer, cut, says, library_reads = CUT_SHORT[case]
    written = write_layout(str(tmp_path / "data"), suffix, writer, tmp_path, per_class=1)
    path = sorted(written)[0]
    whole = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(cut(whole))
    if library_reads is not None:  # what let it through: the library reads the events before the cut
        assert 0 < len(library_reads(path)) <= len(written[path][0])
    line = refused(capsys, tmp_path / "data", tmp_path / "out")
    assert re.fullmatch(rf"error: {re.escape(path)}: {says} \(truncated file\?\); copy it again, or move it out", line)


def test_a_recording_cut_short_is_one_line_from_the_command_line(tmp_path):
    written = ncars(tmp_path, per_class=1)
    path = sorted(written)[-1]
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:-5])  # the last event's first 3 bytes left
    spyx_data_command = os.path.join(os.path.dirname(sys.executable), "spyx-data")
    result = subprocess.run([spyx_data_command, "build", "recordings", f"--data_dir={tmp_path / 'ncars'}",
                             "--sensor_size=120,100,2", f"--output_dir={tmp_path / 'out'}"],
                            capture_output=True, text=True, timeout=600)
    lines = [line for line in result.stderr.splitlines() if "samples written" not in line]  # progress, if slow
    assert result.returncode == 2 and not result.stdout and "Traceback" not in result.stderr
    assert lines == [f"error: {path}: it ends part-way through a DAT event: 3 of its 8 bytes (truncated file?); "
                     "copy it again, or move it out"], result.stderr
    assert not manifests_under(tmp_path / "out") and open(path, "rb").read() == data[:-5]


def decode_aedat4(data: bytes, where: str) -> events.Events:
    return events.decode_bytes(events.aedat4_chunks, data, where)


@pytest.mark.parametrize("compression", [None, ("lz4", 1), ("zstd", 1)])
def test_an_aedat4_file_is_checked_whole_by_its_own_end_of_file_information(tmp_path, compression):
    t, x, y, p = recording(3)
    data = fixtures.faery_bytes(t, x, y, p, SENSOR[:2], ".aedat4", packets_per_s=50, compression=compression)
    starts = packet_starts(data)
    assert len(starts) > 2
    np.testing.assert_array_equal(decode_aedat4(data, "w.aedat4").t, t)
    table = int(np.frombuffer(data, "<i8", 1, _table_position_offset(data))[0])
    # cut inside the table, between two packets, inside a packet, inside a packet's header, inside the IOHeader
    for end in [*range(table, len(data)), *starts[1:], table - 1, starts[-1] + 5, 100]:
        with pytest.raises(InputError, match=r"w\.aedat4: .* \(truncated file\?\)"):
            decode_aedat4(data[:end], "w.aedat4")
    # Without a file data table (dataTablePosition -1, as a recorder that stopped early leaves it):
    # the packets must end at the end of the file; a cut between two packets cannot be told.
    at = _table_position_offset(data)
    untabled = data[:at] + (-1).to_bytes(8, "little", signed=True) + data[at + 8 : table]
    np.testing.assert_array_equal(decode_aedat4(untabled, "w.aedat4").t, t)
    with pytest.raises(InputError, match=r"w\.aedat4: it ends part-way through a packet \(truncated file\?\)"):
        decode_aedat4(untabled[:-7], "w.aedat4")
    assert len(decode_aedat4(untabled[: starts[-1]], "w.aedat4").t) < len(t)


def npy_with_header(array: np.ndarray, shape: tuple[int, ...]) -> bytes:
    """``array`` saved by numpy, its header then rewritten to claim ``shape`` (padded to the
    header's length, as numpy pads it)."""
    data = fixtures.npy_bytes(array)
    length = int.from_bytes(data[8:10], "little")
    header = repr({"descr": np.lib.format.dtype_to_descr(array.dtype), "fortran_order": False, "shape": shape})
    return data[:10] + header.encode().ljust(length - 1) + b"\n" + data[10 + length :]


@pytest.mark.parametrize("claimed, layout",
                         [((10**12, 4), "columns"), ((10**12,), "structured"), ((590, 4), "columns")])
def test_a_npy_whose_header_claims_another_shape_is_refused_before_allocating(tmp_path, capsys, claimed, layout):
    write = (lambda tmp, t, x, y, p: fixtures.npy_bytes(np.stack([x, y, p, t // 1000], 1))) if layout == "columns" \
        else (lambda tmp, *ev: structured_npy(*ev))
    written = write_layout(str(tmp_path / "data"), ".npy", write, tmp_path, per_class=1)
    path = sorted(written)[0]
    array = np.load(path)
    with open(path, "wb") as f:
        f.write(npy_with_header(array, claimed))
    expected = int(np.prod(claimed)) * array.dtype.itemsize
    line = refused(capsys, tmp_path / "data", tmp_path / "out")
    assert line == (f"error: {path}: its header says shape {claimed} of {array.dtype} ({expected} bytes), but "
                    f"{array.nbytes} bytes follow it (truncated file?); copy it again, or move it out")


def test_float_fields_of_a_structured_npy_are_refused_naming_the_field(tmp_path, capsys):
    written = write_layout(str(tmp_path / "data"), ".npy", lambda tmp, *ev: structured_npy(*ev), tmp_path, per_class=1)
    path = sorted(written)[0]
    t, x, y, p = written[path]
    seconds = np.zeros(len(t), dtype=[("t", np.float64), ("x", np.int16), ("y", np.int16), ("p", np.int8)])
    seconds["t"], seconds["x"], seconds["y"], seconds["p"] = (t - t[0]) / 1e6, x, y, p  # times in seconds
    with open(path, "wb") as f:
        f.write(fixtures.npy_bytes(seconds))
    line = refused(capsys, tmp_path / "data", tmp_path / "out")
    assert line == (f"error: {path}: field t is float64, not integers; a structured .npy holds integer t "
                    "(microseconds), x, y and p: save t as np.round(seconds * 1e6).astype(np.int64), and x, y, p as "
                    "integers")
    floats = np.zeros(len(t), dtype=[("t", np.int64), ("x", np.float32), ("y", np.float32), ("p", np.int8)])
    floats["t"], floats["x"], floats["y"], floats["p"] = t, x + 0.5, y, p
    with open(path, "wb") as f:
        f.write(fixtures.npy_bytes(floats))
    assert "field x is float32, not integers" in refused(capsys, tmp_path / "data", tmp_path / "out")


def test_float_columns_keep_tonics_times_and_refuse_coordinates_that_are_not_whole(tmp_path, capsys):
    """DVSGesture-style float columns x, y, p, t (ms): fractional milliseconds are read as tonic
    reads them (scaled, then truncated); a fractional x is refused, not truncated."""
    def columns(tmp, t, x, y, p):
        return fixtures.npy_bytes(np.stack([x, y, p, (t - t[0]) / 1000 + 0.25], 1).astype(np.float64))

    written = write_layout(str(tmp_path / "data"), ".npy", columns, tmp_path, per_class=1)
    folder = built(capsys, tmp_path / "data", tmp_path / "out", f"--sample_T={SAMPLE_T}",
                   f"--duration_ms={DURATION_MS}")
    for split in ("train", "test"):
        obs, _ = spyx_data.load_split(folder, split)
        for o, path in zip(obs, sorted(p for p in written if f"{os.sep}{split}{os.sep}" in p)):
            t, x, y, p = written[path]
            t_us = (((t - t[0]) / 1000 + 0.25) * 1000).astype(np.int64)  # tonic's: ms * 1000, truncated
            np.testing.assert_array_equal(records.unpack_time(o, SAMPLE_T), expected_frames(t_us, x, y, p))
    path = sorted(written)[0]
    array = np.load(path)
    array[7, 0] += 0.5
    with open(path, "wb") as f:
        f.write(fixtures.npy_bytes(array))
    line = refused(capsys, tmp_path / "data", tmp_path / "out2")
    assert line == f"error: {path}: column x holds {array[7, 0]} in row 7, not a whole number (x, y and p must be)"


def test_a_csv_with_a_byte_order_mark_is_read_and_one_naming_polarity_twice_is_refused(tmp_path, capsys):
    written = write_layout(str(tmp_path / "data"), ".csv", FORMATS["csv (faery)"][1], tmp_path, per_class=1)
    path = sorted(written)[0]
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(b"\xef\xbb\xbf" + data)  # what Excel and Windows editors put before UTF-8 text
    decoded = events.decode_bytes(recordings.decode, open(path, "rb").read(), path)
    for ours, theirs in zip(decoded, _fields(np.concatenate(list(faery.events_stream_from_file(path))), "on")):
        np.testing.assert_array_equal(ours, theirs)
    built(capsys, tmp_path / "data", tmp_path / "out")
    header, rest = data.split(b"\n", 1)
    with open(path, "wb") as f:
        f.write(header + b",p\n" + b"".join(row + b",1\n" for row in rest.splitlines()))
    line = refused(capsys, tmp_path / "data", tmp_path / "out2")
    assert line == (f"error: {path}: its header {(header.decode() + ',p')!r} names the polarity (p or on) column "
                    "twice; keep one")


def hide_things_in(root) -> None:
    """What JupyterLab and macOS leave among recordings: a ``.ipynb_checkpoints`` folder (with a
    copy of a recording) in every folder that holds folders or recordings, and ``.DS_Store`` files."""
    for folder, dirs, files in list(os.walk(root)):
        recordings_here = sorted(f for f in files if not f.startswith("."))
        checkpoints = os.path.join(folder, ".ipynb_checkpoints")
        os.makedirs(checkpoints, exist_ok=True)
        for name in recordings_here[:1] or ["notes-checkpoint.ipynb"]:
            source = os.path.join(folder, name)
            with open(os.path.join(checkpoints, name), "wb") as f:
                f.write(open(source, "rb").read() if os.path.exists(source) else b"{}")
        with open(os.path.join(folder, ".DS_Store"), "wb") as f:
            f.write(b"\x00\x00\x00\x01Bud1")


@pytest.mark.parametrize("seeded", [False, True])
def test_hidden_files_and_folders_are_skipped_not_classes_or_samples(tmp_path, capsys, seeded):
    flags = ["--test_fraction=0.5"] if seeded else []
    ncars(tmp_path, splits=(None,) if seeded else ("train", "test"), per_class=2)
    clean = built(capsys, tmp_path / "ncars", tmp_path / "out", *flags)
    hide_things_in(tmp_path / "ncars")
    assert os.path.exists(tmp_path / "ncars" / ("cars" if seeded else "train/cars") / ".ipynb_checkpoints" /
                          "obj_0000_td.dat")
    hidden = built(capsys, tmp_path / "ncars", tmp_path / "out2", *flags)
    assert os.path.basename(hidden) == os.path.basename(clean)  # the same build: classes, samples and fingerprint
    assert snapshot(clean) == snapshot(hidden)
    manifest = spyx_data.read_manifest(hidden)
    assert manifest.config["classes"] == ["background", "cars"] and manifest.num_classes == 2
    assert sum(info.num_records for info in manifest.splits.values()) == (4 if seeded else 8)


def test_hidden_entries_are_skipped_on_a_beam_filesystem_too(tmp_path):
    from spyx_data.builder import inputs

    from .. import memfs

    written = ncars(tmp_path)
    clean = {f"memtest://clean/{os.path.relpath(p, tmp_path / 'ncars')}": open(p, "rb").read() for p in written}
    hidden = {path.replace("memtest://clean/", "memtest://hidden/"): data for path, data in clean.items()}
    hidden.update({"memtest://hidden/.DS_Store": b"x", "memtest://hidden/train/.DS_Store": b"x",
                   "memtest://hidden/train/.ipynb_checkpoints/obj_0000_td.dat": next(iter(clean.values())),
                   "memtest://hidden/train/cars/.ipynb_checkpoints/obj_0000_td.dat": next(iter(clean.values())),
                   "memtest://hidden/.git/objects/ab": b"x"})
    memfs.FILES.update({**clean, **hidden})
    try:
        assert recordings.locate("memtest://hidden", seeded=False) == (
            {"test": "memtest://hidden/test", "train": "memtest://hidden/train"}, ("background", "cars"))
        for split in ("train", "test"):
            assert (inputs.fingerprint(f"memtest://hidden/{split}", "").sha256
                    == inputs.fingerprint(f"memtest://clean/{split}", "").sha256)
    finally:
        for path in [*clean, *hidden]:
            memfs.FILES.pop(path, None)
            memfs.WRITTEN.pop(path, None)


@pytest.mark.parametrize("flag, splits", [("--test_fraction=0.2", ("train", "test")),
                                          ("--split_seed=3", ("n-cars_train", "n-cars_test"))])
def test_the_seeded_flags_on_a_layout_of_split_folders_are_refused(tmp_path, capsys, flag, splits):
    ncars(tmp_path, splits=splits, per_class=1)
    line = refused(capsys, tmp_path / "ncars", tmp_path / "out", flag)
    names = ", ".join(sorted(splits))
    assert line == (f"error: {tmp_path / 'ncars'} holds split folders ({names}) of class folders, which "
                    "--test_fraction and --split_seed would take for classes: drop those flags to build these splits, "
                    f"or pass --data_dir={tmp_path / 'ncars' / sorted(splits)[0]} to split one of them by seed")


def test_a_seeded_layout_with_recordings_in_subfolders_is_not_taken_for_splits(tmp_path, capsys):
    for name in ("background", "cars", "test"):  # "test" is a class here: not every folder has a split's name
        for session in ("day1", "day2"):
            folder = tmp_path / "data" / name / session
            folder.mkdir(parents=True)
            (folder / "obj.dat").write_bytes(fixtures.faery_bytes(*recording(len(name)), SENSOR[:2], ".dat"))
    manifest = spyx_data.read_manifest(built(capsys, tmp_path / "data", tmp_path / "out", "--test_fraction=0.5"))
    assert manifest.config["classes"] == ["background", "cars", "test"]


def test_an_output_dir_inside_the_data_dir_is_refused(tmp_path, capsys):
    ncars(tmp_path, per_class=1)
    for out in (tmp_path / "ncars" / "shards", tmp_path / "ncars", tmp_path / "ncars" / "train" / "cars" / "x"):
        line = refused(capsys, tmp_path / "ncars", out)
        assert line == (f"error: --output_dir={out} is inside --data_dir={tmp_path / 'ncars'}: the builds would be "
                        "read as recordings; put the output outside the recordings")
    os.symlink(tmp_path / "ncars", tmp_path / "link")  # the same folder by another name
    assert "is inside --data_dir" in refused(capsys, tmp_path / "link", tmp_path / "ncars" / "shards")


def test_the_same_folder_spelled_two_ways_is_one_build(tmp_path, capsys, monkeypatch):
    ncars(tmp_path, splits=(None,), per_class=2)
    absolute = built(capsys, tmp_path / "ncars", tmp_path / "out", "--test_fraction=0.5")
    monkeypatch.chdir(tmp_path / "ncars")
    for spelling in (".", "./", "../ncars", f"{tmp_path / 'ncars'}/"):
        assert built(capsys, spelling, tmp_path / "out", "--test_fraction=0.5") == absolute
    assert os.listdir(tmp_path / "out") == [os.path.basename(absolute)]


@pytest.mark.parametrize("suffix", [".es", ".aedat4"])
def test_a_whole_file_of_no_events_is_not_taken_for_one_cut_short(suffix):
    none = np.zeros(0, np.int64)
    data = fixtures.faery_bytes(none, none, none, none, SENSOR[:2], suffix)  # a header (and a data table) only
    assert all(len(column) == 0 for column in events.decode_bytes(recordings.decode, data, "empty" + suffix))
    with pytest.raises(InputError, match=rf"empty{re.escape(suffix)}: "):  # cut inside the header (or table)
        events.decode_bytes(recordings.decode, data[:-1], "empty" + suffix)


def test_the_camera_flags_are_the_specs_options_with_their_help_and_defaults(capsys):
    import textwrap

    from spyx_data.builder import camera
    from spyx_data.builder.contracts import options_of

    with pytest.raises(SystemExit) as ended:
        pipeline.main(["--help"])
    assert ended.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    fields = options_of(camera.CameraSpec)
    defaults = {"spatial_factor": fields["spatial_factor"].default, "test_fraction": fields["test_fraction"].default,
                "split_seed": camera.SPLIT_SEED}
    for name in pipeline.OPTIONS:
        help_text = " ".join(textwrap.wrap(fields[name].metadata["help"]))
        assert f"--{name}" in text and help_text in text, name
        if name in defaults:
            assert f"{help_text} (default {defaults[name]})" in text, name
    assert f"time bins (default: {pipeline.SAMPLE_T})" in text and f"(default: {pipeline.DURATION_MS})" in text
