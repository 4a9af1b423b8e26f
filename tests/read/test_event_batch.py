import numpy as np
import pytest

from spyx_data.read.events import pad


def test_pad_keeps_each_samples_events_in_order_and_marks_the_padding():
    a = (np.array([5, 9, 12]), np.array([1, 2, 3]), np.array([0, 4, 0]), np.array([1, 0, 1]))
    b = (np.array([7]), np.array([6]), np.array([2]), np.array([0]))
    batch = pad([a, b, tuple(np.zeros(0, int) for _ in range(4))], length=4)
    assert all(f.shape == (3, 4) for f in batch) and batch.t.dtype == np.int32 and batch.valid.dtype == bool
    assert batch.valid.tolist() == [[True] * 3 + [False], [True] + [False] * 3, [False] * 4]
    for field, (ca, cb) in zip(batch[:4], zip(a, b)):
        assert field[0, :3].tolist() == ca.tolist() and field[1, :1].tolist() == cb.tolist()


def test_pad_refuses_a_sample_longer_than_the_length_or_ragged_columns():
    with pytest.raises(ValueError, match="does not fit 1"):
        pad([(np.arange(2),) * 4], length=1)
    with pytest.raises(ValueError, match="sample 0: give t, x, y, p of equal lengths"):
        pad([(np.arange(2), np.arange(1), np.arange(2), np.arange(2))])
