"""spyx.data's public surface, method by method, called as spyx.data users and tests call it.

The reference is spyx.data's API page: its classes' constructor arguments and defaults, their
attributes, ``transform.map(record)`` on the Grain transforms, and the output shapes and dtypes.
"""

import inspect

import grain.python as grain
import jax
import numpy as np
import pytest

import spyx_data as data

SHAPES = [(), (3,), (2, 2), (2, 3, 4)]

# spyx.data's signatures, from its API page: (name, [(argument, default), ...]).
REQUIRED = inspect.Parameter.empty
SIGNATURES = {
    "RateCode": [("sample_T", REQUIRED), ("max_r", 0.75), ("input_key", "obs"), ("output_key", "obs")],
    "LatencyCode": [("sample_T", REQUIRED), ("threshold", 0.01), ("input_key", "obs"), ("output_key", "obs")],
    "AngleCode": [("neuron_count", REQUIRED), ("min_val", REQUIRED), ("max_val", REQUIRED), ("input_key", "obs"),
                  ("output_key", "obs")],
    "ShiftAugment": [("max_shift", 10), ("axes", (-1,)), ("input_key", "obs")],
    "GrainLoader": [("dataset", REQUIRED), ("batch_size", REQUIRED), ("shuffle", REQUIRED), ("seed", 0),
                    ("worker_count", None)],
    "SHD_loader": [("batch_size", 256), ("sample_T", 128), ("channels", 128), ("key", 0), ("download_dir", "./data"),
                   ("worker_count", None)],
    "NMNIST_loader": [("batch_size", 32), ("sample_T", 40), ("key", 0), ("download_dir", "./data"),
                      ("worker_count", None)],
    "rate_code": [("num_steps", REQUIRED), ("max_r", 0.75)],
    "latency_code": [("num_steps", REQUIRED), ("threshold", 0.01)],
    "angle_code": [("neuron_count", REQUIRED), ("min_val", REQUIRED), ("max_val", REQUIRED)],
    "shift_augment": [("max_shift", 10), ("axes", (-1,))],
    "shuffler": [("dataset", REQUIRED), ("batch_size", REQUIRED)],
}


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_every_name_takes_spyx_datas_arguments_in_its_order_with_its_defaults(name):
    params = list(inspect.signature(getattr(data, name)).parameters.values())
    for param, (argument, default) in zip(params, SIGNATURES[name]):
        assert param.name == argument
        assert param.default == default, argument
    assert len(params) >= len(SIGNATURES[name])
    assert all(p.default is not inspect.Parameter.empty for p in params[len(SIGNATURES[name]):])  # extras optional


def test_the_grain_transforms_are_map_transforms_with_spyx_datas_attributes():
    transforms = {
        data.RateCode(10, 0.5): dict(sample_T=10, max_r=0.5, input_key="obs", output_key="obs"),
        data.LatencyCode(10, 0.2): dict(sample_T=10, threshold=0.2, input_key="obs", output_key="obs"),
        data.AngleCode(4, -1.0, 1.0): dict(neuron_count=4, min_val=-1.0, max_val=1.0, input_key="obs",
                                           output_key="obs"),
        data.ShiftAugment(3, (0, 1)): dict(max_shift=3, axes=(0, 1), input_key="obs"),
    }
    for transform, attributes in transforms.items():
        assert isinstance(transform, grain.MapTransform)
        for attribute, value in attributes.items():
            assert getattr(transform, attribute) == value, (type(transform).__name__, attribute)


def test_rate_code_map_as_spyx_datas_tests_call_it():
    out = data.RateCode(sample_T=10, max_r=1.0).map({"obs": np.array([[0.5, 0.1], [0.9, 0.0]])})
    assert out["obs"].dtype == np.uint8 and out["obs"].shape == (2, 2, 2)  # ceil(10 / 8), 2, 2
    always = data.RateCode(sample_T=16, max_r=1.0).map({"obs": np.array([1.0, 0.0])})["obs"]
    assert np.unpackbits(always, axis=0)[:, 0].all() and not np.unpackbits(always, axis=0)[:, 1].any()


@pytest.mark.parametrize("shape", SHAPES)
def test_encoder_maps_take_float_inputs_of_any_shape(shape):
    x = np.random.default_rng(0).random(shape)
    for transform, expected in [(data.RateCode(10), (2, *shape)), (data.LatencyCode(10), (2, *shape)),
                                (data.AngleCode(5, 0, 1), (*shape, 5))]:
        out = transform.map({"obs": x, "labels": 3})
        assert out["obs"].dtype == np.uint8 and out["obs"].shape == expected, type(transform).__name__
        assert out["labels"] == 3
    if shape:
        axes = tuple(range(len(shape)))
        out = data.ShiftAugment(max_shift=1, axes=axes).map({"obs": x})["obs"]
        assert out.shape == shape and out.dtype == x.dtype


def test_shift_augment_map_rolls_within_the_maximum_and_keeps_the_shape():
    x = np.random.default_rng(1).random((4, 4))
    out = data.ShiftAugment(max_shift=2, axes=(0, 1)).map({"obs": x})["obs"]
    assert out.shape == (4, 4)
    shifts = [(a, b) for a in range(-2, 3) for b in range(-2, 3) if np.array_equal(np.roll(x, (a, b), (0, 1)), out)]
    assert shifts  # a roll of the input by at most 2 along each axis


def test_map_draws_from_a_generator_the_transform_owns():
    x = np.random.default_rng(2).random((3, 5))
    runs = [data.RateCode(12, seed=7).map({"obs": x})["obs"] for _ in range(2)]
    np.testing.assert_array_equal(runs[0], runs[1])  # the same seed, the same spikes
    rate = data.RateCode(12, seed=7)
    first, second = rate.map({"obs": x})["obs"], rate.map({"obs": x})["obs"]
    assert not np.array_equal(first, second)  # the generator moves on, as np.random did
    shift = [data.ShiftAugment(2, (0, 1), seed=3).map({"obs": x})["obs"] for _ in range(2)]
    np.testing.assert_array_equal(shift[0], shift[1])


def test_the_jax_functions_run_as_spyx_data_calls_them():
    key = jax.random.PRNGKey(0)
    x = np.random.default_rng(3).random((4, 6)).astype(np.float32)
    assert data.rate_code(8, 0.75)(x, key).shape == (4, 8, 6)  # a new time axis (spyx.data: [4, 48])
    assert data.latency_code(8)(x).shape == (8, 4, 6)
    assert data.angle_code(5, 0.0, 1.0)(x).shape == (4, 6, 5)
    assert data.shift_augment(2, (-1,))(x, key).shape == (4, 6)
    obs, labels = np.zeros((10, 2, 3), np.uint8), np.arange(10)
    batched = data.shuffler((obs, labels), 4)((obs, labels), key)
    assert batched[0].shape == (2, 4, 2, 3) and batched[1].shape == (2, 4)


def test_grain_loader_with_spyx_datas_positional_arguments():
    source = [{"obs": np.full((2, 3), i, np.uint8), "labels": np.int32(i % 4)} for i in range(12)]
    loader = data.GrainLoader(source, 4, True, 0, 0)
    batches = list(loader)
    assert len(batches) == 3 and isinstance(batches[0], data.State)
    assert batches[0].obs.shape == (4, 2, 3) and batches[0].labels.shape == (4,)
