"""Event-space augmentation: each of ``spyx_data``'s on-device transforms on a batch against
tonic's numpy transform of the same name, sample by sample, on the same events.

    python -m benchmarks.augment [--samples=32] [--events=20000] [--repeats=5]

The events are synthetic (uniform over a 128 x 128 x 2 sensor and 1 s, in time order). Ours is
one jitted call on the batch (compiled before timing, the result waited for); tonic's is a Python
loop calling its transform on each sample's structured array. The ratio is tonic / ours, per
sample (higher is better); ``EventMix`` has no tonic counterpart and is timed alone.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks import Table, median_seconds, ratio

SENSOR = (128, 128, 2)
DURATION_US = 1_000_000


def samples(n: int, events: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` structured arrays ``(x, y, t, p)`` as tonic's events, each of ``events`` events in time order."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        array = np.zeros(events, dtype=[("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "<i2")])
        array["t"] = np.sort(rng.integers(0, DURATION_US, events))
        array["x"], array["y"], array["p"] = (rng.integers(0, s, events) for s in SENSOR)
        out.append(array)
    return out


def pairs() -> list[tuple[str, Callable[[], Any], Callable[[], Any]]]:
    """(name, our transform, tonic's transform) of every transform with a tonic namesake."""
    import tonic

    import spyx_data

    T = tonic.transforms
    return [
        ("DropEvent", spyx_data.DropEvent(p=0.2), T.DropEvent(p=0.2)),
        ("DropEventByTime", spyx_data.DropEventByTime(duration_ratio=0.2), T.DropEventByTime(duration_ratio=0.2)),
        ("DropEventByArea", spyx_data.DropEventByArea(SENSOR, area_ratio=0.2), T.DropEventByArea(SENSOR, 0.2)),
        ("TimeJitter", spyx_data.TimeJitter(std=100), T.TimeJitter(std=100)),
        ("SpatialJitter", spyx_data.SpatialJitter(SENSOR, 1.0, 1.0), T.SpatialJitter(SENSOR, 1.0, 1.0)),
        ("TimeSkew", spyx_data.TimeSkew(coefficient=(0.8, 1.2), offset=(0, 1000)),
         T.TimeSkew(coefficient=(0.8, 1.2), offset=(0, 1000))),
        ("RandomFlipLR", spyx_data.RandomFlipLR(SENSOR, p=0.5), T.RandomFlipLR(SENSOR, p=0.5)),
        ("RandomFlipUD", spyx_data.RandomFlipUD(SENSOR, p=0.5), T.RandomFlipUD(SENSOR, p=0.5)),
        ("RandomFlipPolarity", spyx_data.RandomFlipPolarity(p=0.5), T.RandomFlipPolarity(p=0.5)),
        ("UniformNoise", spyx_data.UniformNoise(SENSOR, n=1000), T.UniformNoise(SENSOR, n=1000)),
    ]


def run(table: Table, repeats: int, n_samples: int, events: int) -> None:
    """Add a stage per transform to ``table``."""
    import jax

    import spyx_data
    from spyx_data.read.events import pad

    data = samples(n_samples, events)
    batch = jax.device_put(pad([(a["t"], a["x"], a["y"], a["p"]) for a in data]))
    keys = spyx_data.sample_keys(0, 0, np.arange(n_samples))

    def ours_seconds(call: Callable[[], Any]) -> float:
        jax.block_until_ready(call())  # compiled before timing
        return median_seconds(lambda: jax.block_until_ready(call()), repeats)

    for name, ours, theirs in pairs():
        mine = ours_seconds(lambda o=ours: o(keys, batch))
        tonic_s = median_seconds(lambda t=theirs: [t(a.copy()) for a in data], repeats)
        table.add(f"augment {name}", f"{tonic_s / n_samples * 1e3:.3f} ms/sample tonic",
                  f"{mine / n_samples * 1e3:.3f} ms/sample", ratio(tonic_s, mine), "(tonic / ours)", lambda r: True)
    mix = spyx_data.EventMix(SENSOR)
    partner = jax.tree.map(lambda a: jax.numpy.roll(a, 1, axis=0), batch)
    mixed = ours_seconds(lambda: mix(keys, batch, partner))
    table.add("augment EventMix", "(tonic has none)", f"{mixed / n_samples * 1e3:.3f} ms/sample", None,
              "(ours alone)", lambda r: True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.augment", description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"augmentation: {args.samples} samples of {args.events} events on {SENSOR}, median of {args.repeats}")
    print(f"  {'stage':22s} {'tonic':>26s} {'spyx-data':>26s} {'ratio':>9s}")
    run(Table(judge=False), args.repeats, args.samples, args.events)


if __name__ == "__main__":
    main()
