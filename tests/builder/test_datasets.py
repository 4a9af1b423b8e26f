"""The new datasets' decoders and encoders against their format libraries and tonic."""

import io

import aedat
import numpy as np
import pytest
import scipy.io
import tonic

from spyx_data.builder import asldvs, camera, cifar10dvs, events, fixtures, registry, smnist
from spyx_data.errors import InputError


def recording(n=500, start=1_600_000_000_000_000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 2_000_000, n)) + start
    return t, rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)


def test_aedat4_written_by_faery_decodes_as_aedat_and_tonic_decode_it(tmp_path):
    t, x, y, p = recording()
    data = fixtures.faery_bytes(t, x, y, p, (128, 128), ".aedat4")
    path = tmp_path / "r.aedat4"
    path.write_bytes(data)
    ours = events.decode_bytes(events.aedat4_chunks, data, str(path))
    theirs = tonic.io.read_aedat4(str(path))
    by_aedat = np.concatenate([packet["events"] for packet in aedat.Decoder(str(path))])
    for name, column in zip(("t", "x", "y", "on"), ours):
        np.testing.assert_array_equal(column, by_aedat[name])
    np.testing.assert_array_equal(ours.t, theirs["t"])
    np.testing.assert_array_equal(ours.t, t)  # absolute microseconds, as written
    np.testing.assert_array_equal(ours.p, p)


def test_not_aedat4_is_an_error_naming_the_file():
    with pytest.raises(InputError, match=r"x\.aedat4: not a readable AEDAT4 file"):
        events.decode_bytes(events.aedat4_chunks, b"\x00" * 64, "x.aedat4")


def test_first_event_origin_times_each_recording_from_its_earliest_event():
    t, x, y, p = recording(n=50)
    timed = cifar10dvs.FILES.from_origin(events.Events(t, x, y, p))
    assert timed.t.min() == 0 and np.array_equal(timed.t, t - t.min())
    as_stored = camera.SampleFiles(".bin", events.atis_bin_chunks, lambda parts, classes: 0)
    assert as_stored.from_origin(events.Events(t, x, y, p)).t is t


def test_asl_mat_decodes_as_tonic_does(tmp_path):
    info = registry.get("asldvs")
    (parts, data), = asldvs.fixture(info, "train", 1, 0)
    path = tmp_path / "a.mat"
    path.write_bytes(data)
    mat = scipy.io.loadmat(str(path))
    ours = events.decode_bytes(asldvs.FILES.decode, data, str(path))
    np.testing.assert_array_equal(ours.y, 179 - mat["y"].ravel().astype(np.int64))
    np.testing.assert_array_equal(ours.t, mat["ts"].ravel())
    with pytest.raises(InputError, match=r"b\.mat: not an ASL-DVS \.mat file"):
        events.decode_bytes(asldvs.FILES.decode, data[:200], "b.mat")


def test_asl_fixtures_are_the_same_bytes_every_time():
    info = registry.get("asldvs")
    assert list(asldvs.fixture(info, "train", 3, 0)) == list(asldvs.fixture(info, "train", 3, 0))


@pytest.mark.parametrize("num_neurons, dt, duplicate", [(99, 1000.0, True), (15, 250.5, False), (7, 3.3, True)])
def test_smnist_events_equal_tonics_for_the_same_image(tmp_path, num_neurons, dt, duplicate):
    info = registry.get("smnist")
    for parts, data in smnist.fixture(info, "train", 6, 0):
        (tmp_path / "smnist").mkdir(exist_ok=True)
        (tmp_path / "smnist" / parts[0]).write_bytes(data)
    dataset = tonic.datasets.SMNIST(str(tmp_path), train=False, num_neurons=num_neurons, dt=dt, duplicate=duplicate)
    images = smnist.IdxFiles(str(tmp_path / "smnist"), "test", info.spec()).images()
    sample, t, unit = smnist.spike_events(images, num_neurons, dt, duplicate)
    for i in range(len(dataset)):
        theirs, _ = dataset[i]
        np.testing.assert_array_equal(t[sample == i], theirs["t"])
        np.testing.assert_array_equal(unit[sample == i], theirs["x"])
    assert len(t) > 0 and unit.min() >= 0 and unit.max() < num_neurons


def test_smnist_refuses_an_even_neuron_count_and_a_truncated_image_file(tmp_path):
    info = registry.get("smnist")
    with pytest.raises(ValueError, match="num_neurons must be odd"):
        info.spec(num_neurons=10)
    for parts, data in smnist.fixture(info, "train", 4, 0):
        (tmp_path / parts[0]).write_bytes(data[:-3] if "images" in parts[0] else data)
    with pytest.raises(InputError, match=r"t10k-images-idx3-ubyte: not an idx3 file of 28 x 28 images"):
        smnist.IdxFiles(str(tmp_path), "test", info.spec()).images()


def test_structured_npy_needs_its_fields():
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3, dtype=[("x", np.int16), ("y", np.int16), ("t", np.int64)]))
    with pytest.raises(InputError, match=r"w\.npy: expected a 1-D structured array with fields t, x, y, p"):
        events.decode_bytes(events.npy_structured_chunks, buffer.getvalue(), "w.npy")
