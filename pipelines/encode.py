"""Encode a dense dataset into spike shards: ``python -m pipelines.encode``.

    python -m pipelines.encode --input=dense.npz --encoder=rate --num_steps=32 --max_r=0.75 \\
        --seed=0 --output_dir=./shards/dense [--split=train] [--num_shards=N] [Beam options...]

``dense.npz`` holds ``x`` (float values in [0, 1], shape ``[N, ...]``) and ``y`` (integer labels
``[N]``, each in 0..2**31-1). The result is one split whose record ``i`` is sample ``i`` encoded,
time first and bit-packed along time, with the same manifest, readers and loaders as the event
datasets. Encoders and the ranges of their options (checked before any work; NaN and inf are
refused everywhere):

* ``rate``: ``--num_steps`` >= 1, ``--max_r`` in (0, 1], the spike probability per step at x = 1
  (default 0.75);
* ``latency``: ``--num_steps`` >= 1, ``--threshold`` in [0, 1): x <= threshold never fires
  (default 0.01);
* ``angle``: ``--neuron_count`` >= 1, ``--min_val`` < ``--max_val``, finite float32 numbers; one
  time step.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pipelines import build as build_lib
from spyx_data import commands, paths
from spyx_data.builder import dense
from spyx_data.errors import InputError, UsageError
from spyx_data.format import manifest as manifest_lib

ENCODER_FLAGS = {"rate": ("num_steps", "max_r"), "latency": ("num_steps", "threshold"),
                 "angle": ("neuron_count", "min_val", "max_val")}
#: The flags each encoder cannot do without (the others have defaults).
REQUIRED_FLAGS = {"rate": ("num_steps",), "latency": ("num_steps",), "angle": ("neuron_count", "min_val", "max_val")}


def parse_args(
    argv: Sequence[str] | None, prog: str = "python -m pipelines.encode"
) -> tuple[argparse.Namespace, list[str]]:
    parser = build_lib.flag_parser(prog, __doc__)
    parser.add_argument("--input", required=True, help=".npz with x [N, ...] in [0, 1] and integer labels y [N]")
    parser.add_argument("--encoder", required=True, choices=sorted(dense.ENCODERS))
    parser.add_argument("--num_steps", type=commands.positive_int, default=None,
                        help="rate, latency: time steps, >= 1")
    parser.add_argument("--max_r", type=commands.finite_float, default=None,
                        help="rate: spike probability per step at x = 1, in (0, 1] (default 0.75)")
    parser.add_argument("--threshold", type=commands.finite_float, default=None,
                        help="latency: x <= threshold never fires, in [0, 1) (default 0.01)")
    parser.add_argument("--neuron_count", type=commands.positive_int, default=None, help="angle: neurons, >= 1")
    parser.add_argument("--min_val", type=commands.finite_float, default=None,
                        help="angle: lower end of the range, below --max_val")
    parser.add_argument("--max_val", type=commands.finite_float, default=None,
                        help="angle: upper end of the range, above --min_val")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random encoders")
    parser.add_argument("--split", default="train", help="name of the split written (letters, digits, - and _)")
    build_lib.add_output_arguments(parser)
    args, beam_argv = build_lib.parse_flags(parser, argv)
    given = {k for k in ("num_steps", "max_r", "threshold", "neuron_count", "min_val", "max_val")
             if getattr(args, k) is not None}
    foreign = sorted(given - set(ENCODER_FLAGS[args.encoder]))
    if foreign:
        parser.error(f"--encoder={args.encoder} takes no {', '.join('--' + f for f in foreign)}")
    missing = [f for f in REQUIRED_FLAGS[args.encoder] if f not in given]
    if missing:
        parser.error(f"--encoder={args.encoder} needs {', '.join('--' + f for f in missing)}")
    if not manifest_lib.SPLIT_NAME.fullmatch(args.split):
        parser.error(f"--split={args.split}: a split name is letters, digits, '-' and '_'")
    return args, beam_argv


def build_encoded(args: argparse.Namespace, beam_argv: Sequence[str]) -> manifest_lib.Manifest | None:
    """Encode ``args.input`` into shards (or find them already built); return the manifest."""
    options = {k: getattr(args, k) for k in ENCODER_FLAGS[args.encoder] if getattr(args, k) is not None}
    try:
        encoder = dense.ENCODERS[args.encoder](**options)
    except (TypeError, ValueError) as e:
        raise UsageError(f"--encoder={args.encoder}: {e}") from e
    if not paths.exists(args.input):
        raise InputError(f"{args.input}: no such file")
    sample_shape = _sample_shape(args.input)
    spec = dense.EncodeSpec(encoder, sample_shape, args.seed)
    try:
        spec.layout  # noqa: B018 (checks the record size)
    except ValueError as e:
        raise UsageError(f"--encoder={args.encoder}: {e}") from e
    return build_lib.build(spec, {args.split: args.input}, args.output_dir, beam_argv, args.compression,
                           args.num_shards, args.plan_parts)


def _sample_shape(path: str) -> tuple[int, ...]:
    """The shape of one ``x`` sample, from the header of ``x.npy`` inside the .npz.

    Only this header is read at launch (the launching machine needs access to ``--input``).
    """
    import zipfile

    import numpy as np

    try:
        with paths.open_read(path) as f, zipfile.ZipFile(f) as archive, archive.open("x.npy") as member:
            version = np.lib.format.read_magic(member)
            formats = np.lib.format
            read_header = formats.read_array_header_1_0 if version == (1, 0) else formats.read_array_header_2_0
            shape, _, _ = read_header(member)
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise InputError(f"{path}: not a .npz with an array x ({e})") from e
    if not shape:
        raise InputError(f"{path}: x must be [N, ...], got a scalar")
    return tuple(shape[1:])


def run(argv: Sequence[str] | None = None) -> manifest_lib.Manifest | None:
    return build_encoded(*parse_args(argv))


def main(argv: Sequence[str] | None = None, prog: str = "python -m pipelines.encode") -> int:
    return build_lib.main(lambda a: parse_args(a, prog), build_encoded, argv)


if __name__ == "__main__":
    sys.exit(main())
