"""The on-device augmentations against tonic 1.7's numpy transforms on the same events: the
distribution of each draw (many draws, fixed seeds; tolerances of 5 standard errors of the sample
sizes), the deterministic parts exactly, edge cases, and per-sample keys."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tonic.functional.drop_event
import tonic.transforms as T

import spyx_data
from spyx_data.read import augment as A
from spyx_data.read.events import EventBatch, pad

SENSOR = (128, 96, 2)
DTYPE = np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])


def recording(n: int, seed: int = 0, t_max: int = 1_000_000, margin: int = 0):
    """One sample's columns ``(t, x, y, p)``: ``n`` events in time order, ``margin`` pixels off the edges."""
    rng = np.random.default_rng(seed)
    return (np.sort(rng.integers(0, t_max, n)), rng.integers(margin, SENSOR[0] - margin, n),
            rng.integers(margin, SENSOR[1] - margin, n), rng.integers(0, 2, n))


def structured(columns) -> np.ndarray:
    t, x, y, p = columns
    events = np.zeros(len(t), DTYPE)
    events["t"], events["x"], events["y"], events["p"] = t, x, y, p
    return events


def ours(transform, columns, draws: int, seed: int = 0):
    """``transform`` on ``draws`` copies of one sample (samples 0..draws-1 of epoch 0): numpy fields."""
    batch = pad([columns] * draws)
    return jax.tree.map(np.asarray, transform(A.sample_keys(seed, 0, np.arange(draws)), batch))


def theirs(transform, columns, draws: int, seed: int = 0) -> list[np.ndarray]:
    np.random.seed(seed)
    return [transform(structured(columns)) for _ in range(draws)]


def events_of(batch: EventBatch, i: int) -> np.ndarray:
    """Sample ``i``'s valid events, in their order, as a structured array."""
    keep = np.asarray(batch.valid[i])
    return structured([np.asarray(f[i])[keep] for f in batch[:4]])


def close(a: float, b: float, se: float) -> bool:
    """Two estimates agree within 5 standard errors ``se`` of their difference."""
    return abs(a - b) <= 5 * se


# ---- DropEvent ---------------------------------------------------------------------------------

def test_drop_event_drops_tonics_count_uniformly_over_the_events():
    columns, draws, p = recording(500), 400, 0.3
    out = ours(A.DropEvent(p), columns, draws)
    assert out.valid.sum(1).tolist() == [len(e) for e in theirs(T.DropEvent(p), columns, draws)] == [350] * draws
    kept = out.valid[:, :500].mean(0)  # each event's keep frequency: 0.7 with a binomial spread
    se = np.sqrt(p * (1 - p) / draws)
    assert close(kept.mean(), 1 - p, se / np.sqrt(500)) and kept.std() < 1.5 * se and kept.min() > 1 - p - 6 * se


def test_drop_event_draws_p_from_a_range_as_tonic():
    columns, draws = recording(500), 400
    mine = 1 - ours(A.DropEvent((0.1, 0.5)), columns, draws).valid.sum(1) / 500
    tonics = np.array([1 - len(e) / 500 for e in theirs(T.DropEvent((0.1, 0.5)), columns, draws)])
    se = 0.4 / np.sqrt(12 * draws)
    assert close(mine.mean(), tonics.mean(), se * np.sqrt(2)) and close(mine.std(), tonics.std(), se)
    dropped = np.round(mine * 500).astype(int)
    assert 50 <= dropped.min() < 55 and 245 < dropped.max() <= 250


def test_drop_event_breaks_ties_of_its_random_keys_by_slot(monkeypatch):
    monkeypatch.setattr(A, "_event_bits", lambda key, stream, n: jnp.zeros(n, jnp.uint32))
    batch = pad([recording(10)], length=12)
    batch = batch._replace(valid=batch.valid & (np.arange(12) != 1))  # slot 1 dropped before: 9 events
    out = A.DropEvent(0.35)(A.sample_keys(0, 0, [0]), batch)  # int(0.35 * 9 + 0.5) = 3: the first three
    assert np.asarray(out.valid[0]).tolist() == [False, False, False, False] + [True] * 6 + [False] * 2


# ---- DropEventByTime ---------------------------------------------------------------------------

def test_drop_event_by_time_drops_a_window_distributed_as_tonics():
    columns, draws = recording(2000), 400
    out = ours(A.DropEventByTime(0.2), columns, draws)
    t = columns[0]
    for i in range(20):  # the dropped events are those of one window of 0.2 t_end
        dropped = t[~out.valid[i, :2000]]
        assert dropped.max() - dropped.min() <= 0.2 * t.max()
        assert not ((t > dropped.min()) & (t < dropped.max()) & out.valid[i, :2000]).any()
    mine = out.valid.sum(1)
    tonics = np.array([len(e) for e in theirs(T.DropEventByTime(0.2), columns, draws)])
    se = np.sqrt(mine.var() / draws + tonics.var() / draws)
    assert close(mine.mean(), tonics.mean(), se) and abs(mine.mean() - 1600) < 10
    first = np.array([t[~v[:2000]].min() for v in out.valid])  # the window's start: uniform in [0, 0.8 t_end)
    assert close(first.mean(), 0.4 * t.max(), 0.8 * t.max() / np.sqrt(12 * draws))


def test_drop_event_by_time_in_a_given_window_drops_what_tonic_drops(monkeypatch):
    columns = recording(2000)
    start = 312_345.6
    monkeypatch.setattr(tonic.functional.drop_event.np.random, "uniform", lambda low, high: start)
    expected = tonic.functional.drop_event.drop_by_time_numpy(structured(columns), 0.3)
    end = start + 0.3 * columns[0].max()
    batch = pad([columns])
    mine = batch._replace(valid=batch.valid & ~A._in_window(batch, int(np.ceil(start)), int(np.floor(end))))
    np.testing.assert_array_equal(events_of(mine, 0), expected)


# ---- DropEventByArea ---------------------------------------------------------------------------

def every_pixel():
    x, y = np.meshgrid(np.arange(SENSOR[0]), np.arange(SENSOR[1]))
    n = x.size
    return np.arange(n), x.ravel(), y.ravel(), np.zeros(n, int)


def test_drop_event_by_area_drops_a_box_placed_as_tonics():
    columns, draws = every_pixel(), 400
    out = ours(A.DropEventByArea(SENSOR, 0.2), columns, draws)
    tonics = theirs(T.DropEventByArea(SENSOR, 0.2), columns, draws)
    cut = (int(128 * 0.2), int(96 * 0.2))
    assert (out.valid.sum(1) == columns[0].size - cut[0] * cut[1]).all()
    assert all(len(e) == columns[0].size - cut[0] * cut[1] for e in tonics)
    x0 = np.array([columns[1][~v].min() for v in out.valid])
    their_x0 = np.array([np.setdiff1d(columns[0], e["t"]).min() % 128 for e in tonics])
    assert x0.min() == their_x0.min() == 0 and x0.max() == their_x0.max() == 128 - cut[0] - 1
    se = (128 - cut[0]) / np.sqrt(12 * draws)
    assert close(x0.mean(), their_x0.mean(), se * np.sqrt(2))


def test_drop_event_by_area_draws_the_ratio_of_a_range_in_it():
    """tonic 1.7 draws a range's ratio in [high, 1); the documented [low, high) is kept here."""
    columns, draws = every_pixel(), 400
    width = np.array([np.unique(columns[1][~v]).size for v in ours(A.DropEventByArea(SENSOR, (0.1, 0.5)),
                                                                        columns, draws).valid])
    assert width.min() == int(128 * 0.1) and width.max() == int(128 * 0.5) - 1
    assert close(width.mean(), 128 * 0.3 - 0.5, 128 * 0.4 / np.sqrt(12 * draws))


def test_drop_event_by_area_in_a_given_box_drops_what_tonic_drops(monkeypatch):
    columns = recording(3000)
    corners = iter([37, 11])
    monkeypatch.setattr(tonic.functional.drop_event.np.random, "randint", lambda low, high: next(corners))
    expected = tonic.functional.drop_event.drop_by_area_numpy(structured(columns), SENSOR, 0.3)
    batch = pad([columns])
    mine = batch._replace(valid=batch.valid & ~A._in_box(batch, 37, 11, int(128 * 0.3), int(96 * 0.3)))
    np.testing.assert_array_equal(events_of(mine, 0), expected)


# ---- TimeJitter --------------------------------------------------------------------------------

def test_time_jitter_moves_times_distributed_as_tonics():
    columns, draws, std = recording(1000, t_max=10**6), 100, 300.0
    out = ours(A.TimeJitter(std, clip_negative=False), columns, draws)
    mine = (out.t[:, :1000] - columns[0]).ravel()
    tonics = np.concatenate([e["t"] - columns[0] for e in theirs(T.TimeJitter(std, clip_negative=False),
                                                                 columns, draws)])
    se = std / np.sqrt(mine.size)
    assert close(mine.mean(), tonics.mean(), se * np.sqrt(2)) and close(mine.mean(), -0.5, se)
    assert close(mine.std(), tonics.std(), std / np.sqrt(mine.size)) and close(mine.std(), std, se)
    assert (out.valid.sum(1) == 1000).all()


def test_time_jitter_drops_negative_times_as_tonic_and_sorts_when_asked():
    columns, draws = recording(500, t_max=400), 100
    out = ours(A.TimeJitter(200.0), columns, draws)
    mine = out.valid.sum(1)
    tonics = np.array([len(e) for e in theirs(T.TimeJitter(200.0), columns, draws)])
    se = np.sqrt(mine.var() / draws + tonics.var() / draws)
    assert close(mine.mean(), tonics.mean(), se) and (out.t[out.valid] >= 0).all() and mine.max() < 500
    kept = ours(A.TimeJitter(200.0, clip_negative=False), columns, draws)
    assert kept.valid.all() and (kept.t < 0).any() and (np.diff(kept.t, axis=1) < 0).any()  # slots kept
    sorted_ = ours(A.TimeJitter(200.0, clip_negative=False, sort_timestamps=True), columns, draws)
    assert (np.diff(sorted_.t, axis=1) >= 0).all()
    np.testing.assert_array_equal(np.sort(sorted_.t, axis=1), np.sort(kept.t, axis=1))


# ---- SpatialJitter ------------------------------------------------------------------------------

def test_spatial_jitter_moves_places_distributed_as_tonics():
    columns, draws = recording(1000, margin=20), 100
    jitter = dict(var_x=4.0, var_y=2.0, sigma_xy=1.5)
    out = ours(A.SpatialJitter(SENSOR, **jitter), columns, draws)
    mine = np.stack([(out.x[:, :1000] - columns[1]).ravel(), (out.y[:, :1000] - columns[2]).ravel()])
    tonic_events = theirs(T.SpatialJitter(SENSOR, **jitter), columns, draws)
    tonics = np.stack([np.concatenate([e["x"] - columns[1] for e in tonic_events]),
                       np.concatenate([e["y"] - columns[2] for e in tonic_events])])
    n = mine.shape[1]
    for a, b, var in zip(mine, tonics, (4.0, 2.0)):
        assert close(a.mean(), b.mean(), np.sqrt(2 * var / n)) and close(a.mean(), -0.5, np.sqrt(var / n))
        assert close(a.var(), b.var(), 2 * var * np.sqrt(2 / n))
    assert close(np.cov(mine)[0, 1], np.cov(tonics)[0, 1], 2 * np.sqrt(8 / n)) and close(np.cov(mine)[0, 1], 1.5,
                                                                                         np.sqrt(8 / n))


def test_spatial_jitter_drops_events_off_the_sensor_only_with_clip_outliers():
    columns, draws = recording(1000), 100
    out = ours(A.SpatialJitter(SENSOR, 9.0, 9.0, clip_outliers=True), columns, draws)
    mine = out.valid.sum(1)
    tonics = np.array([len(e) for e in theirs(T.SpatialJitter(SENSOR, 9.0, 9.0, clip_outliers=True), columns, draws)])
    se = np.sqrt(mine.var() / draws + tonics.var() / draws)
    assert close(mine.mean(), tonics.mean(), se) and mine.max() < 1000
    on = out.valid
    assert ((out.x[on] >= 0) & (out.x[on] < 128) & (out.y[on] >= 0) & (out.y[on] < 96)).all()
    kept = ours(A.SpatialJitter(SENSOR, 9.0, 9.0), columns, draws)
    assert kept.valid.all() and (kept.x < 0).any() and (kept.y >= 96).any()


# ---- TimeSkew -----------------------------------------------------------------------------------

def test_time_skew_draws_coefficient_and_offset_over_tonics_ranges():
    columns, draws = (np.array([0, 1_000_000]), np.zeros(2, int), np.zeros(2, int), np.zeros(2, int)), 400
    skew = dict(coefficient=(0.8, 1.2), offset=(0, 150))
    out = ours(A.TimeSkew(**skew), columns, draws)
    tonics = np.stack([e["t"] for e in theirs(T.TimeSkew(**skew), columns, draws)])
    for t in (out.t[:, :2], tonics):
        offset, coefficient = t[:, 0], (t[:, 1] - t[:, 0]) / 1e6
        assert 0 <= offset.min() < 5 and 145 <= offset.max() < 150 and close(offset.mean(), 75, 150 / np.sqrt(12 * draws))
        assert 0.8 - 1e-6 <= coefficient.min() < 0.81 and 1.19 < coefficient.max() <= 1.2 + 1e-6
        assert close(coefficient.mean(), 1.0, 0.4 / np.sqrt(12 * draws))


def test_time_skew_with_fixed_values_equals_tonics():
    columns = recording(3000)
    exact = ours(A.TimeSkew(1.25, 100), columns, 1)
    np.testing.assert_array_equal(events_of(exact, 0), T.TimeSkew(1.25, 100)(structured(columns)))
    near = ours(A.TimeSkew(1.3, -7.5), columns, 1)
    assert np.abs(near.t[0] - T.TimeSkew(1.3, -7.5)(structured(columns))["t"]).max() <= 1


# ---- flips --------------------------------------------------------------------------------------

FLIPS = [(A.RandomFlipLR(SENSOR, p=1.0), T.RandomFlipLR(SENSOR, p=1.0)),
         (A.RandomFlipUD(SENSOR, p=1.0), T.RandomFlipUD(SENSOR, p=1.0)),
         (A.RandomFlipPolarity(p=1.0), T.RandomFlipPolarity(p=1.0))]


@pytest.mark.parametrize("mine, tonics", FLIPS, ids=lambda f: type(f).__name__)
def test_a_sure_flip_equals_tonics_and_no_flip_changes_nothing(mine, tonics):
    columns = recording(1000)
    np.testing.assert_array_equal(events_of(ours(mine, columns, 1), 0), tonics(structured(columns)))
    never = ours(type(mine)(**{**mine.__dict__, "p": 0.0}), columns, 50)
    assert all((events_of(never, i) == structured(columns)).all() for i in range(50))


@pytest.mark.parametrize("mine, tonics", FLIPS, ids=lambda f: type(f).__name__)
def test_flips_happen_per_sample_with_tonics_frequency(mine, tonics):
    columns, draws, p = recording(5), 2000, 0.3
    out = ours(type(mine)(**{**mine.__dict__, "p": p}), columns, draws)
    flipped = ~np.all(np.stack(out[:4]) == np.stack(pad([columns])[:4]), axis=(0, 2))
    theirs_ = [(e != structured(columns)).any() for e in theirs(type(tonics)(**{**tonics.__dict__, "p": p}),
                                                                columns, draws)]
    se = np.sqrt(p * (1 - p) / draws)
    assert close(flipped.mean(), p, se) and close(flipped.mean(), np.mean(theirs_), se * np.sqrt(2))


# ---- UniformNoise -------------------------------------------------------------------------------

def test_uniform_noise_adds_tonics_count_uniform_over_the_sensor_and_the_samples_time():
    columns, draws = recording(300, seed=3), 200
    columns = (columns[0] + 50_000, *columns[1:])
    out = ours(A.UniformNoise(SENSOR, n=400), columns, draws)
    assert out.t.shape == (draws, 700) and (out.valid.sum(1) == 700).all() and (np.diff(out.t, axis=1) >= 0).all()
    tonic_noise = theirs(T.UniformNoise(SENSOR, n=400), columns, draws)
    assert all(len(e) == 700 for e in tonic_noise)
    own = structured(columns)
    for i in range(5):  # the sample's own events are all there, in their order
        mine = events_of(out, i)
        assert (mine[np.isin(mine, own)][: len(own)] == own).all() and np.isin(own, mine).all()
    t_min, t_max = columns[0].min(), columns[0].max()
    assert t_min <= out.t.min() and out.t.max() <= t_max
    own_counts = {name: draws * np.bincount(own[name], minlength=size) for name, size in (("x", 128), ("y", 96),
                                                                                          ("p", 2))}
    for name, size in (("x", 128), ("y", 96), ("p", 2)):  # chi-squared of the noise's counts per value, both
        for events in ([events_of(out, i) for i in range(draws)], tonic_noise):
            counts = np.bincount(np.concatenate([e[name] for e in events]), minlength=size) - own_counts[name]
            assert counts.size == size and counts.sum() == 400 * draws
            expected = 400 * draws / size
            chi2 = ((counts - expected) ** 2 / expected).sum()
            assert chi2 < size - 1 + 6 * np.sqrt(2 * (size - 1)), (name, chi2)
    noise_t = np.concatenate([np.asarray(out.t[i]) for i in range(draws)])
    tonic_t = np.concatenate([e["t"] for e in tonic_noise])
    for t in (noise_t, tonic_t):  # the mean of all times: the own events' plus the noise's, uniform over [t_min, t_max)
        expected = (own["t"].sum() * draws + 400 * draws * (t_min + t_max - 1) / 2) / t.size
        assert close(t.mean(), expected, (t_max - t_min) / np.sqrt(12 * 400 * draws) * 400 / 700)


def test_uniform_noise_draws_n_from_a_range_and_grows_the_batch_by_its_most():
    columns, draws = recording(50), 2000
    transform = A.UniformNoise(SENSOR, n=(5, 20))
    out = ours(transform, columns, draws)
    assert transform.n_max == 19 and out.t.shape == (draws, 69)
    added = out.valid.sum(1) - 50
    tonics = np.array([len(e) - 50 for e in theirs(T.UniformNoise(SENSOR, n=(5, 20)), columns, draws)])
    assert added.min() == tonics.min() == 5 and added.max() == tonics.max() == 19
    assert close(added.mean(), 12, 15 / np.sqrt(12 * draws)) and close(added.mean(), tonics.mean(), 0.2)


# ---- EventMix -----------------------------------------------------------------------------------

def test_event_mix_takes_a_outside_the_region_and_b_inside_with_weights_by_event_share():
    a, b = recording(1500, seed=1), recording(1000, seed=2, t_max=1_200_000)
    mix = A.EventMix(SENSOR, area_ratio=(0.3, 0.7), duration_ratio=0.5)
    keys = A.sample_keys(5, 2, np.arange(8))
    out, weights = jax.tree.map(np.asarray, mix(keys, pad([a] * 8), pad([b] * 8)))
    assert out.t.shape == (8, 2500) and weights.shape == (8, 2)
    for i in range(8):
        box = [int(v) for v in A._box(keys[i], SENSOR, mix.area_ratio)]
        lo, hi = (int(v) for v in A._time_window(keys[i], jnp.int32(max(a[0].max(), b[0].max())),
                                                  mix.duration_ratio))

        def inside(ev):
            return ((ev["x"] >= box[0]) & (ev["x"] < box[0] + box[2]) & (ev["y"] >= box[1])
                    & (ev["y"] < box[1] + box[3]) & (ev["t"] >= lo) & (ev["t"] <= hi))

        ea, eb = structured(a), structured(b)
        expected = np.concatenate([ea[~inside(ea)], eb[inside(eb)]])
        expected = expected[np.argsort(expected["t"], kind="stable")]
        np.testing.assert_array_equal(events_of(out, i), expected)
        share = (~inside(ea)).sum() / len(expected)
        np.testing.assert_allclose(weights[i], [share, 1 - share], rtol=1e-6)
        assert 0 < share < 1


def test_event_mix_over_all_the_sensor_and_time_is_b_and_over_empty_samples_weighs_a():
    a, b = recording(300, seed=1), recording(200, seed=2)
    empty = tuple(np.zeros(0, int) for _ in range(4))
    out, weights = A.EventMix(SENSOR, area_ratio=None, duration_ratio=None)(A.sample_keys(0, 0, np.arange(2)),
                                                                            pad([a, empty]), pad([b, empty]))
    np.testing.assert_array_equal(events_of(out, 0), structured(b))
    assert not np.asarray(out.valid[1]).any() and np.asarray(weights[1]).tolist() == [1.0, 0.0]
    np.testing.assert_allclose(weights[0], [0, 1], atol=1e-6)


def test_event_mix_refuses_a_box_of_no_pixels():
    with pytest.raises(ValueError, match="area_ratio=None"):
        A.EventMix((700, 1, 1))


# ---- every transform: keys, edge cases ------------------------------------------------------------

ALL = [A.DropEvent(0.3), A.DropEvent((0.1, 0.9)), A.DropEventByTime((0.1, 0.5)), A.DropEventByArea(SENSOR, 0.4),
       A.TimeJitter(1000.0, sort_timestamps=True), A.SpatialJitter(SENSOR, 2.0, 2.0, 0.5, clip_outliers=True),
       A.TimeSkew((0.5, 2.0), (-100, 100)), A.RandomFlipLR(SENSOR), A.RandomFlipUD(SENSOR), A.RandomFlipPolarity(),
       A.UniformNoise(SENSOR, (10, 40)),
       A.Compose([A.DropEvent(0.2), A.RandomFlipLR(SENSOR), A.TimeSkew(1.5, 10)])]


@pytest.mark.parametrize("transform", [*ALL, A.EventMix(SENSOR)], ids=lambda t: type(t).__name__)
def test_a_samples_draws_depend_on_seed_epoch_and_index_only(transform):
    """The same sample, at another position of another batch with other padding, comes out the same;
    another epoch draws anew."""
    samples = [recording(400, seed=s) for s in range(4)]
    small = pad(samples[:2], length=420)
    large = pad([samples[3], samples[2], samples[1], samples[0]], length=700)
    if isinstance(transform, A.EventMix):  # the partner of a sample must be the same too: pair 0 with 1 and 3 with 2 in both batches
        small, large = pad([samples[0], samples[1]], length=420), pad([samples[3], samples[2], samples[0], samples[1]],
                                                                      length=700)
        a = transform(A.sample_keys(9, 3, [0, 1]), small, pad([samples[1], samples[0]], length=420))
        b = transform(A.sample_keys(9, 3, [3, 2, 0, 1]), large, pad([samples[2], samples[3], samples[1],
                                                                      samples[0]], length=500))
        np.testing.assert_array_equal(events_of(a[0], 0), events_of(b[0], 2))
        np.testing.assert_array_equal(a[1][0], b[1][2])
        return
    a = transform(A.sample_keys(9, 3, [0, 1]), small)
    b = transform(A.sample_keys(9, 3, [3, 2, 1, 0]), large)
    for i, j in ((0, 3), (1, 2)):
        np.testing.assert_array_equal(events_of(a, i), events_of(b, j))
    if not isinstance(transform, A.RandomFlipLR | A.RandomFlipUD | A.RandomFlipPolarity):  # a coin may agree
        other = transform(A.sample_keys(9, 4, [0, 1]), small)
        assert not np.array_equal(events_of(a, 0), events_of(other, 0))


@pytest.mark.parametrize("transform", ALL, ids=lambda t: type(t).__name__)
def test_no_events_one_event_and_all_dropped(transform):
    empty = tuple(np.zeros(0, int) for _ in range(4))
    one = (np.array([5000]), np.array([64]), np.array([40]), np.array([1]))
    batch = pad([empty, one, recording(30)], length=32)
    batch = batch._replace(valid=batch.valid & (np.arange(3) < 2)[:, None])  # sample 2: every event dropped
    out = transform(A.sample_keys(0, 0, [0, 1, 2]), batch)
    assert not np.asarray(out.valid[0]).any() and not np.asarray(out.valid[2]).any()
    assert np.asarray(out.valid[1]).sum() <= (1 if not isinstance(transform, A.UniformNoise) else 50)
    assert not np.asarray(A.DropEvent(1.0)(A.sample_keys(0, 0, [0, 1, 2]), batch).valid).any()


@pytest.mark.parametrize("make, message", [
    (lambda: A.DropEvent(1.5), r"p must be in \[0, 1\]"),
    (lambda: A.DropEvent((0.5, 0.1)), "low <= high"),
    (lambda: A.DropEventByTime(1.0), r"duration_ratio must be in \[0, 1\)"),
    (lambda: A.DropEventByArea((128, 128), 0.2), "sensor_size must be tonic's"),
    (lambda: A.TimeJitter(-1.0), "std must be >= 0"),
    (lambda: A.SpatialJitter(SENSOR, 1.0, 1.0, 2.0), "positive semi-definite"),
    (lambda: A.RandomFlipLR(SENSOR, p=2), r"p must be in \[0, 1\]"),
    (lambda: A.UniformNoise(SENSOR, n=-1), "n must be an integer >= 0"),
    (lambda: A.UniformNoise(SENSOR, n=2.5), "n must be an integer >= 0"),
])
def test_parameters_outside_tonics_meaning_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_keys_must_be_one_per_sample():
    with pytest.raises(ValueError, match=r"keys must be \[2\] jax.random keys"):
        A.DropEvent(0.5)(jax.random.key(0), pad([recording(3), recording(4)]))


def test_the_transforms_are_spyx_data_names_loaded_on_first_use():
    assert spyx_data.DropEvent is A.DropEvent and spyx_data.sample_keys is A.sample_keys
    code = "import spyx_data, sys; print('spyx_data.read.augment' in sys.modules, 'jax' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_the_short_names_of_the_field_are_tonics_classes():
    assert spyx_data.DropByTime is spyx_data.DropEventByTime and spyx_data.DropByArea is spyx_data.DropEventByArea
