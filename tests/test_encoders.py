"""Spike encoders: semantics, and parity of the JAX, Grain and Beam versions."""

import json
import os

import apache_beam as beam
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import spyx_data
from pipelines import encode
from runners.local import pipeline_options
from spyx_data import functional as F
from spyx_data.builder.dense import encode_record
from spyx_data.format import records

from .conftest import build_dir, files, manifests_under
from .test_refusals import SPYX_DATA, assert_one_line, run

unit_floats = hnp.arrays(
    np.float32,
    hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
    elements=st.floats(0, 1, width=32),
)


def grain_key(seed):
    """The key a Grain random transform draws from a generator seeded with ``seed``."""
    return np.random.default_rng(seed).integers(0, 2**32, size=2, dtype=np.uint32)


@settings(max_examples=12, deadline=None)
@given(data=unit_floats, num_steps=st.integers(1, 20), max_r=st.floats(1e-6, 1), seed=st.integers(0, 2**31))
def test_rate_code_shapes_and_values(data, num_steps, max_r, seed):
    spikes = np.asarray(spyx_data.rate_code(num_steps, max_r)(data, jax.random.key(seed)))
    assert spikes.shape == (data.shape[0], num_steps, *data.shape[1:]) and spikes.dtype == np.uint8
    assert set(np.unique(spikes)) <= {0, 1}
    assert not spikes[np.broadcast_to((data == 0)[:, None], spikes.shape)].any()


@pytest.mark.parametrize("make, message", [
    (lambda v: spyx_data.rate_code(4, v), r"max_r must be in \(0, 1\]"),
    (lambda v: spyx_data.RateCode(4, v), r"max_r must be in \(0, 1\]"),
    (lambda v: spyx_data.latency_code(4, v), r"threshold must be in \[0, 1\)"),
    (lambda v: spyx_data.LatencyCode(4, v), r"threshold must be in \[0, 1\)"),
    (lambda v: spyx_data.angle_code(4, 0.0, v), "min_val and max_val must be finite float32 numbers"),
    (lambda v: spyx_data.AngleCode(4, v, 1.0), "min_val and max_val must be finite float32 numbers"),
])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_encoder_settings_must_be_finite_in_every_version(make, message, value):
    with pytest.raises(ValueError, match=message):
        make(value)


@pytest.mark.parametrize("encoder, kwargs, message", [
    (F.Rate, dict(num_steps=4, max_r=0.0), r"max_r must be in \(0, 1\]"),  # never fires
    (F.Rate, dict(num_steps=4, max_r=1.5), r"max_r must be in \(0, 1\]"),  # a probability
    (F.Rate, dict(num_steps=4, max_r=1e-39), "at least 1.18e-38"),  # 0 once flushed in float32
    (F.Latency, dict(num_steps=4, threshold=1.0), r"threshold must be in \[0, 1\)"),  # nothing fires
    (F.Latency, dict(num_steps=4, threshold=0.999999999), "also in float32"),  # 1.0 in float32
    (F.Latency, dict(num_steps=4, threshold=-0.5), r"threshold must be in \[0, 1\)"),
    (F.Angle, dict(neuron_count=4, min_val=1.0, max_val=1.0), "min_val < max_val"),
    (F.Angle, dict(neuron_count=4, min_val=0.0, max_val=1e39), "finite float32"),  # inf in float32
    (F.Angle, dict(neuron_count=4, min_val=0.0, max_val=1e-44), "too narrow for 4 bins"),  # inf bins per unit
    (F.Angle, dict(neuron_count=2.5, min_val=0.0, max_val=1.0), "neuron_count must be a positive integer"),
])
def test_encoder_settings_outside_their_range_are_refused(encoder, kwargs, message):
    with pytest.raises(ValueError, match=message):
        encoder(**kwargs)


def test_the_ends_of_each_encoder_range_are_taken():
    assert F.Rate(4, 1.0).max_r == 1.0 and F.Rate(4, 1.2e-38).max_r == 1.2e-38
    assert F.Latency(4, 0.0).threshold == 0.0 and F.Latency(4, 0.99).threshold == 0.99
    assert F.Angle(1, -4e37, 4e37).max_val == 4e37  # 1 bin per 8e37: still a normal float32


def test_rate_code_fires_at_the_clipped_probability():
    x = np.array([[0.0, 0.1, 0.5, 1.0, 2.0, -1.0]], np.float32)
    num_steps, max_r = 20_000, 0.75
    spikes = np.asarray(spyx_data.rate_code(num_steps, max_r)(x, jax.random.key(7)))
    rate = spikes.mean(axis=1)[0]
    p = np.clip(x[0] * max_r, 0, 1)
    bound = 5 * np.sqrt(p * (1 - p) / num_steps)  # 5 sigma of a binomial proportion
    assert np.all(np.abs(rate - p) <= bound + 1e-12), (rate, p)
    assert rate[0] == 0 and rate[4] == 1 and rate[5] == 0


def test_rate_code_steps_are_independent_and_keys_matter():
    x = np.full((1, 64), 0.5, np.float32)
    a = np.asarray(spyx_data.rate_code(8, 1.0)(x, jax.random.key(1)))
    b = np.asarray(spyx_data.rate_code(8, 1.0)(x, jax.random.key(2)))
    assert not np.array_equal(a, b)
    assert len({row.tobytes() for row in a[0]}) == 8  # every step draws anew


@settings(max_examples=12, deadline=None)
@given(data=unit_floats, num_steps=st.integers(1, 30), threshold=st.floats(0, 0.5))
def test_latency_code_fires_once_at_round_1_minus_x(data, num_steps, threshold):
    spikes = np.asarray(spyx_data.latency_code(num_steps, threshold)(data))
    assert spikes.shape == (num_steps, *data.shape) and spikes.dtype == np.uint8
    fires = np.where(data < np.finfo(np.float32).tiny, 0, data) > np.float32(threshold)  # subnormals read as 0
    np.testing.assert_array_equal(spikes.sum(axis=0), fires.astype(np.uint8))
    when = np.argmax(spikes, axis=0)
    expected = np.round((1 - data) * np.float32(num_steps - 1)).astype(int)
    np.testing.assert_array_equal(when[fires], expected[fires])


def test_latency_code_orders_by_value_and_rejects_nan():
    x = np.array([0.9, 0.6, 0.3, 0.005], np.float32)
    first = np.argmax(np.asarray(spyx_data.latency_code(10)(x)), axis=0)
    assert first[0] < first[1] < first[2] and np.asarray(spyx_data.latency_code(10)(x))[:, 3].sum() == 0
    with pytest.raises(Exception, match="NaN"):
        spyx_data.latency_code(10)(np.array([0.5, np.nan]))
    with pytest.raises(ValueError, match=r"LatencyCode: record 4: NaN at position \(1,\)"):
        spyx_data.LatencyCode(10).map({"obs": np.array([0.5, np.nan]), "index": 4})


def test_angle_code_bin_edges_reach_every_neuron():
    x = np.array([-1.0, 0.0, 0.2499, 0.25, 0.5, 0.7499, 0.75, 1.0, 2.0], np.float32)
    spikes = np.asarray(spyx_data.angle_code(4, 0.0, 1.0)(x))
    assert spikes.shape == (9, 4) and spikes.dtype == np.uint8
    assert spikes.sum(axis=1).tolist() == [1] * 9
    assert np.argmax(spikes, axis=1).tolist() == [0, 0, 0, 1, 2, 2, 3, 3, 3]


@settings(max_examples=20, deadline=None)
@given(max_shift=st.integers(0, 4), seed=st.integers(0, 2**31))
def test_shift_bounds_are_reached_at_both_ends(max_shift, seed):
    shifts = F.shift_amounts(np, F.record_key(seed, "x", 0), 2000, 1, max_shift)
    assert shifts.min() == -max_shift and shifts.max() == max_shift


def test_shift_modes_and_per_sample_shifts():
    x = np.tile(np.arange(1, 9, dtype=np.int32), (16, 1))
    rolled = np.asarray(spyx_data.shift_augment(3, per_sample=True)(x, jax.random.key(0)))
    zeroed = np.asarray(spyx_data.shift_augment(3, per_sample=True, mode="zero")(x, jax.random.key(0)))
    shifts = []
    for row_r, row_z in zip(rolled, zeroed):
        s = next(k for k in range(-3, 4) if np.array_equal(np.roll(x[0], k), row_r))
        shifts.append(s)
        expected = np.roll(x[0], s)
        if s > 0:
            expected[:s] = 0
        elif s < 0:
            expected[s:] = 0
        np.testing.assert_array_equal(row_z, expected)
    assert len(set(shifts)) > 1  # samples shift independently
    batch = np.asarray(spyx_data.shift_augment(3)(x, jax.random.key(0)))
    assert len({row.tobytes() for row in batch}) == 1  # one shift for the whole batch
    with pytest.raises(ValueError, match="batch axis"):
        spyx_data.shift_augment(1, axes=(0,), per_sample=True)(x, jax.random.key(0))


def test_shuffler_keeps_obs_labels_and_mask_aligned():
    obs = np.arange(40).reshape(5, 8)  # prestaged: 5 batches of 8 samples
    labels = obs * 10
    mask = obs % 3 == 0
    shuffle = spyx_data.shuffler((obs, labels, mask), batch_size=6)
    s_obs, s_labels, s_mask = (np.asarray(a) for a in shuffle((obs, labels, mask), jax.random.key(3)))
    assert s_obs.shape == (6, 6) and s_labels.shape == (6, 6)
    np.testing.assert_array_equal(s_labels, s_obs * 10)
    np.testing.assert_array_equal(s_mask, s_obs % 3 == 0)
    assert len(set(s_obs.ravel())) == 36 and s_obs.ravel().tolist() != sorted(s_obs.ravel())


@settings(max_examples=12, deadline=None)
@given(data=unit_floats, seed=st.integers(0, 2**31), num_steps=st.integers(1, 17))
def test_rate_code_grain_equals_functional_for_the_same_key(data, seed, num_steps):
    record = spyx_data.RateCode(num_steps, 0.6).random_map({"obs": data, "labels": 1}, np.random.default_rng(seed))
    functional = np.asarray(spyx_data.rate_code(num_steps, 0.6)(data[None], jnp.asarray(grain_key(seed))))[0]
    np.testing.assert_array_equal(record["obs"], records.pack_time(functional))
    unpacked = spyx_data.RateCode(num_steps, 0.6, packed=False).random_map({"obs": data}, np.random.default_rng(seed))
    np.testing.assert_array_equal(unpacked["obs"], functional)


def test_shift_latency_angle_grain_equal_functional():
    x = np.random.default_rng(0).random((3, 7)).astype(np.float32)
    record = spyx_data.ShiftAugment(2, axes=(-1, 0), mode="zero").random_map({"obs": x}, np.random.default_rng(5))
    functional = spyx_data.shift_augment(2, axes=(-1, 1), per_sample=True, mode="zero")(
        x[None], jnp.asarray(grain_key(5))
    )
    np.testing.assert_array_equal(record["obs"], np.asarray(functional)[0])
    latency = spyx_data.LatencyCode(9).map({"obs": x})["obs"]
    np.testing.assert_array_equal(latency, records.pack_time(np.asarray(spyx_data.latency_code(9)(x))))
    angle = spyx_data.AngleCode(5, 0, 1, packed=True).map({"obs": x})
    np.testing.assert_array_equal(records.unpack_time(angle["obs"], 1)[0], np.asarray(spyx_data.angle_code(5, 0, 1)(x)))
    assert spyx_data.AngleCode(5, 0, 1).map({"obs": x})["obs"].shape == (3, 7, 5)  # spyx.data's layout


def test_subnormal_inputs_read_as_zero_in_numpy_as_in_xla():
    tiny = np.finfo(np.float32).tiny
    x = np.array([[1e-45, 1e-39, -1e-39, tiny, 0.5, 0.0]], np.float32)
    latency = F.latency_spikes(np, x, 4, 0.0)
    np.testing.assert_array_equal(latency, np.asarray(spyx_data.latency_code(4, 0.0)(x)))
    assert latency.sum(axis=0).tolist() == [[0, 0, 0, 1, 1, 0]]
    angle = F.angle_spikes(np, x - np.float32(1e-38), 4, -tiny, tiny)
    np.testing.assert_array_equal(angle, np.asarray(spyx_data.angle_code(4, -tiny, tiny)(x - np.float32(1e-38))))
    key = grain_key(1)
    rate = F.rate_spikes(np, x, key, 6, 1.0)
    np.testing.assert_array_equal(rate, np.asarray(spyx_data.rate_code(6, 1.0)(x, jnp.asarray(key))))


def test_beam_stage_equals_functional_with_the_record_key():
    x = np.random.default_rng(1).random((4, 6)).astype(np.float32)
    rate = spyx_data.rate_code(12, 0.9)
    spikes = [np.asarray(rate(x[i][None], jnp.asarray(F.record_key(3, "train", i))))[0] for i in range(4)]
    expected = [(i, records.pack_time(s).tobytes()) for i, s in enumerate(spikes)]
    with BeamPipeline(options=pipeline_options([])) as p:  # FnApiRunner: no Prism download
        out = (
            p
            | beam.Create([(i, x[i]) for i in range(4)])
            | beam.MapTuple(lambda i, x: (i, encode_record(F.Rate(12, 0.9), x, 3, "train", i).tobytes()))
        )
        assert_that(out, equal_to(expected))


@pytest.fixture(scope="module")
def dense_npz(tmp_path_factory):
    rng = np.random.default_rng(0)
    path = str(tmp_path_factory.mktemp("dense") / "dense.npz")
    np.savez(path, x=rng.random((70, 3, 4)).astype(np.float32), y=rng.integers(0, 5, 70))
    return path


def test_encode_pipeline_end_to_end(dense_npz, tmp_path):
    manifest = encode.run([f"--input={dense_npz}", "--encoder=rate", "--num_steps=20", "--max_r=0.75",
                           "--seed=0", f"--output_dir={tmp_path}", "--num_shards=3"])
    out = build_dir(tmp_path, manifest)
    assert manifest.dataset == "dense" and list(manifest.splits) == ["train"]
    assert manifest.config["encoder"] == "rate" and manifest.config["num_steps"] == 20
    assert manifest.layout.obs_shape == (3, 3, 4)
    with np.load(dense_npz) as f:
        x, y = f["x"], f["y"]
    source = spyx_data.open_split(out, "train")
    for i in (0, 23, 69):
        key = jnp.asarray(F.record_key(0, "train", i))
        expected = np.asarray(spyx_data.rate_code(20, 0.75)(x[i][None], key))[0]
        np.testing.assert_array_equal(records.unpack_time(source[i]["obs"], 20), expected)
        assert source[i]["labels"] == y[i]
    obs, labels = spyx_data.prestage(out, "train", batch_size=10)
    assert obs.shape == (7, 10, 3, 3, 4) and np.asarray(labels).ravel().tolist() == y.tolist()


def test_encode_is_identical_across_worker_counts(dense_npz, tmp_path):
    args = [f"--input={dense_npz}", "--encoder=rate", "--num_steps=16", "--num_shards=4"]
    one = encode.run([*args, f"--output_dir={tmp_path / 'a'}"])
    two = encode.run([*args, f"--output_dir={tmp_path / 'b'}", "--direct_running_mode=multi_processing",
                      "--direct_num_workers=2"])
    a, b = files(build_dir(tmp_path / "a", one)), files(build_dir(tmp_path / "b", two))
    assert a == b and len(a) == 5


def test_encode_latency_and_angle_and_split_name(dense_npz, tmp_path):
    manifest = encode.run([f"--input={dense_npz}", "--encoder=angle", "--neuron_count=6", "--min_val=0",
                           "--max_val=1", "--split=valid", f"--output_dir={tmp_path / 'angle'}"])
    assert list(manifest.splits) == ["valid"] and manifest.layout.obs_shape == (1, 3, 4, 6)
    manifest = encode.run([f"--input={dense_npz}", "--encoder=latency", "--num_steps=9",
                           f"--output_dir={tmp_path / 'latency'}"])
    with np.load(dense_npz) as f:
        x = f["x"]
    obs, _ = spyx_data.load_split(build_dir(tmp_path / "latency", manifest), "train")
    np.testing.assert_array_equal(records.unpack_time(obs[5], 9), np.asarray(spyx_data.latency_code(9)(x[5])))


def test_encode_rejects_bad_input(tmp_path, capsys):
    bad = str(tmp_path / "nan.npz")
    x = np.zeros((4, 2), np.float32)
    x[2, 1] = np.nan
    np.savez(bad, x=x, y=np.zeros(4, int))
    with pytest.raises(Exception, match=r"nan\.npz: NaN at position \(2, 1\)"):
        encode.run([f"--input={bad}", "--encoder=rate", "--num_steps=4", f"--output_dir={tmp_path / 'o'}"])
    short = str(tmp_path / "short.npz")
    np.savez(short, x=np.zeros((4, 2)), y=np.zeros(3, int))
    with pytest.raises(Exception, match=r"short\.npz: x \(4, 2\) and y \(3,\) must be"):
        encode.run([f"--input={short}", "--encoder=rate", "--num_steps=4", f"--output_dir={tmp_path / 'p'}"])
    code = encode.main([f"--input={short}", "--encoder=rate", "--neuron_count=4", f"--output_dir={tmp_path / 'q'}"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --encoder=rate takes no --neuron_count") and err.count("\n") == 1
    assert encode.main([f"--input={tmp_path / 'missing.npz'}", "--encoder=rate", "--num_steps=2",
                        f"--output_dir={tmp_path / 'r'}"]) == 2
    assert not manifests_under(tmp_path)


def test_grain_loader_randomness_is_a_function_of_seed_index_and_epoch(written_build):
    source = spyx_data.open_split(written_build, "test")
    transforms = [spyx_data.ShiftAugment(5, axes=(-1,), mode="zero")]

    def epoch_by_index(loader):
        out = {}
        for batch in loader:
            for o, label in zip(batch.obs, batch.labels):
                out.setdefault(int(label), []).append(o.tobytes())
        return {k: sorted(v) for k, v in out.items()}

    a = spyx_data.GrainLoader(source, 20, shuffle=True, seed=1, transforms=transforms)
    b = spyx_data.GrainLoader(source, 20, shuffle=False, seed=1, transforms=transforms, worker_count=2)
    first_a, first_b = epoch_by_index(a), epoch_by_index(b)
    assert first_a == first_b  # same records, same spikes: order and workers do not matter
    assert epoch_by_index(a) != first_a  # the next epoch draws fresh shifts


# What a user of `spyx-data build encode` meets: options that cannot work, labels a record cannot hold.


ENCODE = [SPYX_DATA, "build", "encode"]


def encode_command(argv, capsys):
    """``spyx-data build encode ARGV`` in this process (what the command runs, less its start-up):
    ``(exit status, stdout, stderr)``."""
    from spyx_data import cli

    code = cli.main(["build", "encode", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("flags, message", [
    (["--encoder=latency", "--num_steps=8", "--threshold=nan"], "--threshold: must be a finite number, got nan"),
    (["--encoder=latency", "--num_steps=8", "--threshold=1.5"], "threshold must be in [0, 1)"),
    (["--encoder=latency", "--num_steps=8", "--threshold=inf"], "--threshold: must be a finite number, got inf"),
    (["--encoder=rate", "--num_steps=8", "--max_r=inf"], "argument --max_r: must be a finite number, got inf"),
    (["--encoder=rate", "--num_steps=8", "--max_r=0"], "max_r must be in (0, 1]"),
    (["--encoder=angle", "--neuron_count=4", "--min_val=1", "--max_val=0"], "with min_val < max_val"),
    (["--encoder=angle", "--neuron_count=4", "--min_val=0", "--max_val=1e39"], "must be finite float32 numbers"),
    (["--encoder=angle", "--neuron_count=4"], "--encoder=angle needs --min_val, --max_val"),
])
def test_an_encode_option_that_cannot_work_is_refused_before_any_work(dense_npz, tmp_path, capsys, flags, message):
    out = tmp_path / "out"
    argv = [f"--input={dense_npz}", *flags, f"--output_dir={out}"]
    first = flags[-1] == "--threshold=nan"  # the case, as a user runs it; the rest in this process
    code, stdout, err = run([*ENCODE, *argv]) if first else encode_command(argv, capsys)
    assert code == 2 and not stdout
    assert_one_line(err, message)
    assert not out.exists()  # refused before the output folder was made


@pytest.mark.parametrize("x, message", [
    (np.array([{"a": 1}, None], dtype=object), "x: a .npy of Python objects (object), not of numbers"),
    (np.float32(0.5), "x must be [N, ...], got a scalar"),
])
def test_an_input_x_that_is_not_samples_of_numbers_is_refused_at_launch(tmp_path, capsys, x, message):
    path, out = str(tmp_path / "bad.npz"), tmp_path / "out"
    np.savez(path, x=x, y=np.zeros(2, np.int64))
    code, stdout, err = encode_command([f"--input={path}", "--encoder=rate", "--num_steps=4", f"--output_dir={out}"],
                                       capsys)
    assert code == 2 and not stdout
    assert_one_line(err, f"error: {path}: {message}")
    assert not out.exists()  # refused before the output folder was made


def npz_with_labels(tmp_path, y):
    path = str(tmp_path / "labels.npz")
    np.savez(path, x=np.random.default_rng(0).random((len(y), 3)).astype(np.float32), y=np.asarray(y))
    return path


@pytest.mark.parametrize("y, message", [
    (np.array([0, 1, 2**31, 2**40, 1], np.int64), "label 2147483648 of sample 2 is outside 0..2147483647"),
    (np.array([0, 2**64 - 1, 1], np.uint64), "label 18446744073709551615 of sample 1 is outside 0..2147483647"),
    (np.array([0, 1, -3, -7], np.int64), "label -3 of sample 2 is outside 0..2147483647"),
    (np.array([0.0, 1.0, 1.5]), "labels y must be an integer array, got float64 (label 1.5 of sample 2 is not a whole"),
    (np.array([0.0, 1.0, 2.0]), "labels y must be an integer array, got float64; they are whole numbers: save "
                                "y.astype(np.int64)"),
    (np.array([True, False]), "labels y must be an integer array, got bool"),
])
def test_labels_a_record_cannot_hold_are_named_with_the_file(tmp_path, capsys, y, message):
    path, out = npz_with_labels(tmp_path, y), tmp_path / "out"
    argv = [f"--input={path}", "--encoder=rate", "--num_steps=4", f"--output_dir={out}"]
    first = y.dtype == np.int64 and y.max() == 2**40  # the case, as a user runs it; the rest in this process
    code, stdout, err = run([*ENCODE, *argv]) if first else encode_command(argv, capsys)
    assert code == 2 and not stdout
    assert_one_line(err, f"error: {path}: {message}")
    assert not out.exists() or os.listdir(out) == []  # nothing published, no staging folder left


def test_an_encoded_manifest_is_strict_json(dense_npz, tmp_path):
    def refuse(token):
        raise AssertionError(f"{token} in the manifest")

    manifest = encode.run([f"--input={dense_npz}", "--encoder=latency", "--num_steps=4", "--threshold=0.2",
                           f"--output_dir={tmp_path}"])
    with open(os.path.join(build_dir(tmp_path, manifest), "manifest.json")) as f:
        doc = json.load(f, parse_constant=refuse)
    assert doc["config"]["threshold"] == 0.2


def test_shift_augment_shifts_stored_values_of_every_kind_keeping_their_type(value_build):
    """ShiftAugment in a loader, and shift_augment on prestaged batches, move the stored values as
    they are: counts stay uint16 and float32 values float32; unpacked values shift along time too."""
    from spyx_data.read.loader import epoch_seed

    source = spyx_data.open_split(value_build, "test")
    layout = source.layout
    axes = (-1,) if layout.packed else (0, -1)  # time is bit-packed in binary records only
    transform = spyx_data.ShiftAugment(3, axes=axes, mode="zero")
    batch = next(iter(spyx_data.GrainLoader(source, 8, shuffle=False, seed=4, transforms=[transform])))
    assert batch.obs.dtype == layout.obs_dtype and batch.obs.shape == (8, *layout.obs_shape)
    for i in range(8):
        rng = np.random.default_rng([epoch_seed(4, 0, 1), i])
        shifts = F.shift_amounts(np, rng.integers(0, 2**32, size=2, dtype=np.uint32), 1, len(axes), 3)[0]
        expected = source[i]["obs"]
        for axis, shift in zip(axes, shifts):  # out[j] = in[j - shift], zeros where j - shift is outside
            n, out = expected.shape[axis], np.zeros_like(expected)
            to, of = [slice(None)] * expected.ndim, [slice(None)] * expected.ndim
            to[axis], of[axis] = slice(max(shift, 0), n + min(shift, 0)), slice(max(-shift, 0), n - max(shift, 0))
            out[tuple(to)] = expected[tuple(of)]
            expected = out
        np.testing.assert_array_equal(batch.obs[i], expected)
    assert any(not np.array_equal(batch.obs[i], source[i]["obs"]) for i in range(8))
    obs, _ = spyx_data.prestage(value_build, "test", 8)
    shifted = spyx_data.shift_augment(3, axes=[a + 1 if a >= 0 else a for a in axes], per_sample=True)(
        obs[0], jax.random.key(0))
    assert shifted.dtype == obs.dtype and shifted.shape == obs[0].shape
    assert sorted(np.asarray(shifted).ravel().tolist()) == sorted(np.asarray(obs[0]).ravel().tolist())  # a roll
