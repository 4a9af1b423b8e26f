"""python -m pipelines.recordings: a researcher's own recordings, each format written by its own
writer library, decoded as that library's reader decodes it, built to frames computed here."""

import os
import re

import aedat
import expelliarmus
import faery
import numpy as np
import pytest
import tonic

import spyx_data
from pipelines import recordings as pipeline
from spyx_data import cli
from spyx_data.build import events, fixtures, raster, recordings

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
        ours = recordings.decode(open(path, "rb").read(), path)
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
    assert manifest.config["time_origin"] == "first event" and manifest.layout.packed_shape == (2, 2, 100, 120)
    for split in ("train", "test"):
        obs, labels = spyx_data.load_split(build_dir(tmp_path / "out", manifest), split)
        paths_ = sorted(p for p in written if f"{os.sep}{split}{os.sep}" in p)
        assert labels.tolist() == [0, 0, 1, 1]  # background, background, cars, cars: sorted class folders
        for o, path in zip(obs, paths_):
            ev = recordings.decode(open(path, "rb").read(), path)
            np.testing.assert_array_equal(raster.unpack_time(o, SAMPLE_T), expected_frames(*ev))
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
        events.read_prophesee(b"% evt 2.1\n% end\n", "x.raw")
