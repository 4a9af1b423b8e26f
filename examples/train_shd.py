"""Train a small spiking network on prestaged SHD shards, in plain JAX.

    python examples/train_shd.py [--shards DIR | --workdir DIR] [--steps 300] [--batch 64] [--hidden 128]

One recurrent layer of leaky integrate-and-fire neurons (reset by subtraction), trained
through its spikes with a fast-sigmoid surrogate gradient, read out by a leaky integrator whose
mean potential gives the class scores. The whole train split sits on the device (prestage);
``spyx_data.shuffler`` reshuffles it every epoch; the test split is scored on every sample
(``drop_remainder=False`` and its mask). Without ``--shards`` it writes synthetic SHD (2,000 +
500 samples) into ``--workdir`` (default ``./example-shd``, about 56 MB, which it prints; a
second run reuses it) and builds it there first, which needs the ``build`` extra. Plain JAX: no
Haiku, Flax or Optax; Adam is written out.
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

import spyx_data


@jax.custom_jvp
def spike(v: jax.Array) -> jax.Array:
    """Heaviside step: a spike where the membrane potential ``v`` (minus threshold) is > 0."""
    return (v > 0).astype(v.dtype)


@spike.defjvp
def _spike_jvp(primals, tangents):
    (v,), (dv,) = primals, tangents
    return spike(v), dv / (1.0 + 10.0 * jnp.abs(v)) ** 2  # fast-sigmoid surrogate


def init(key: jax.Array, n_in: int, n_hidden: int, n_out: int) -> dict[str, jax.Array]:
    k_in, k_rec, k_out = jax.random.split(key, 3)
    return {
        "w_in": jax.random.normal(k_in, (n_in, n_hidden)) * (2.0 / np.sqrt(n_in)),
        "w_rec": jax.random.normal(k_rec, (n_hidden, n_hidden)) * (0.5 / np.sqrt(n_hidden)),
        "w_out": jax.random.normal(k_out, (n_hidden, n_out)) * (1.0 / np.sqrt(n_hidden)),
    }


def forward(params: dict[str, jax.Array], spikes: jax.Array, beta: float = 0.9) -> jax.Array:
    """Class scores ``[B, n_out]`` from input spikes ``[B, T, C]`` (0/1 float)."""
    batch = spikes.shape[0]
    n_hidden, n_out = params["w_out"].shape

    def step(carry, x_t):
        v, s, u = carry
        v = beta * v + x_t @ params["w_in"] + s @ params["w_rec"] - s  # reset by subtraction
        s = spike(v - 1.0)
        u = beta * u + s @ params["w_out"]
        return (v, s, u), u

    zeros = (jnp.zeros((batch, n_hidden)), jnp.zeros((batch, n_hidden)), jnp.zeros((batch, n_out)))
    _, potentials = jax.lax.scan(step, zeros, jnp.swapaxes(spikes, 0, 1))
    return potentials.mean(axis=0)


def unpack(obs: jax.Array, sample_T: int) -> jax.Array:
    """Packed ``uint8 [B, ceil(T/8), C]`` -> 0/1 float32 ``[B, T, C]``."""
    return jnp.unpackbits(obs, axis=1, count=sample_T).astype(jnp.float32)


def make_train_step(sample_T: int, lr: float = 2e-3, b1: float = 0.9, b2: float = 0.999):
    def loss(params, obs, labels):
        logits = forward(params, unpack(obs, sample_T))
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1))

    @jax.jit
    def train_step(params, moments, step, obs, labels):
        value, grads = jax.value_and_grad(loss)(params, obs, labels)
        m, v = moments
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        t = step + 1
        params = jax.tree.map(
            lambda p, m, v: p - lr * (m / (1 - b1**t)) / (jnp.sqrt(v / (1 - b2**t)) + 1e-8), params, m, v
        )
        return params, (m, v), value

    return train_step


def accuracy(params, obs, labels, mask, sample_T: int) -> float:
    """Share of the real (masked-in) samples classified right."""
    scores = jax.jit(jax.vmap(lambda o: forward(params, unpack(o, sample_T))))(obs)
    right = (jnp.argmax(scores, axis=-1) == labels) & mask
    return float(right.sum() / mask.sum())


def train(shards: str, steps: int, batch: int, hidden: int, seed: int = 0) -> tuple[float, float]:
    """Train on ``shards`` for ``steps`` steps; return (train, test) accuracy."""
    manifest = spyx_data.read_manifest(shards)
    sample_T, channels = manifest.layout.sample_T, manifest.layout.dims[0]
    num_classes = manifest.config.get("num_classes", 20)
    train_obs, train_labels = spyx_data.prestage(shards, "train", batch)
    test_obs, test_labels, test_mask = spyx_data.prestage(shards, "test", batch, drop_remainder=False)
    shuffle = spyx_data.shuffler((train_obs, train_labels), batch)
    params = init(jax.random.key(seed), channels, hidden, num_classes)
    moments = (jax.tree.map(jnp.zeros_like, params), jax.tree.map(jnp.zeros_like, params))
    train_step = make_train_step(sample_T)
    key = jax.random.key(seed + 1)
    epoch_obs, epoch_labels = train_obs, train_labels
    started = time.perf_counter()
    for step in range(steps):
        b = step % len(train_obs)
        if b == 0:
            key, sub = jax.random.split(key)
            epoch_obs, epoch_labels = shuffle((train_obs, train_labels), sub)
        params, moments, value = train_step(params, moments, step, epoch_obs[b], epoch_labels[b])
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {float(value):.3f}  ({time.perf_counter() - started:.1f} s)", flush=True)
    train_mask = jnp.ones_like(train_labels, dtype=bool)
    return (accuracy(params, train_obs, train_labels, train_mask, sample_T),
            accuracy(params, test_obs, test_labels, test_mask, sample_T))


def synthetic_build(workdir: str) -> str:
    """Write synthetic SHD into ``workdir`` and build it there, unless that was done before;
    return the build folder."""
    from pipelines import shd
    from spyx_data.builder import synthetic
    from spyx_data.builder.shd import DATASET

    data, out = os.path.join(workdir, "data"), os.path.join(workdir, "shards")
    print(f"synthetic SHD and its build in {workdir} (remove it when done)")
    for split, n in (("train", 2000), ("test", 500)):
        if synthetic.synthetic_params(DATASET, data, split) != {"num_samples": n, "seed": 0}:
            synthetic.write_shd(data, split, n)
    manifest = shd.run([f"--data_dir={data}", f"--output_dir={out}"])
    return os.path.join(out, manifest.build_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", default=None, help="an SHD build folder (default: build synthetic SHD)")
    parser.add_argument("--workdir", default="./example-shd", help="where synthetic SHD is written and built")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    shards = args.shards or synthetic_build(args.workdir)
    train_acc, test_acc = train(shards, args.steps, args.batch, args.hidden, args.seed)
    num_classes = spyx_data.read_manifest(shards).num_classes
    print(f"train accuracy {train_acc:.3f}  test accuracy {test_acc:.3f}  (chance {1 / num_classes:.3f})")


if __name__ == "__main__":
    main()
