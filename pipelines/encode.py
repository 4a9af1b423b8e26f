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

import dataclasses
import sys
import zipfile
from collections.abc import Sequence
from typing import Any

from pipelines import build as build_lib
from pipelines import command, flags
from spyx_data import commands, paths
from spyx_data.builder import dense, events
from spyx_data.builder.options import BuildOptions
from spyx_data.errors import InputError, UsageError
from spyx_data.format import manifest as manifest_lib

ENCODER_FLAGS = {"rate": ("num_steps", "max_r"), "latency": ("num_steps", "threshold"),
                 "angle": ("neuron_count", "min_val", "max_val")}
#: The flags each encoder cannot do without (the others have defaults).
REQUIRED_FLAGS = {"rate": ("num_steps",), "latency": ("num_steps",), "angle": ("neuron_count", "min_val", "max_val")}


@dataclasses.dataclass(frozen=True)
class EncodeBuild:
    """What the flags of an encode build say: the typed arguments of :func:`build_encoded`.

    Attributes:
        input: the ``.npz`` (any Beam path).
        encoder: the spike encoder (:data:`spyx_data.builder.dense.ENCODERS`), its settings checked.
        seed: seed of the random encoders.
        split: the name of the one split written.
        options: where and how the build writes.
    """

    input: str
    encoder: Any
    seed: int
    split: str
    options: BuildOptions


def parse_args(argv: Sequence[str] | None, prog: str = "python -m pipelines.encode") -> EncodeBuild:
    """The build ``argv`` asks for.

    Raises:
        UsageError: an unknown flag, a flag the encoder does not take or needs, a value out of range.
    """
    parser = flags.flag_parser(prog, __doc__)
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
    flags.add_output_arguments(parser)
    args, beam_argv = flags.parse_flags(parser, argv)
    given = flags.given_options(args, ("num_steps", "max_r", "threshold", "neuron_count", "min_val", "max_val"))
    foreign = sorted(set(given) - set(ENCODER_FLAGS[args.encoder]))
    if foreign:
        parser.error(f"--encoder={args.encoder} takes no {', '.join('--' + f for f in foreign)}")
    missing = [f for f in REQUIRED_FLAGS[args.encoder] if f not in given]
    if missing:
        parser.error(f"--encoder={args.encoder} needs {', '.join('--' + f for f in missing)}")
    if not manifest_lib.SPLIT_NAME.fullmatch(args.split):
        parser.error(f"--split={args.split}: a split name is letters, digits, '-' and '_'")
    try:
        encoder = dense.ENCODERS[args.encoder](**given)
    except (TypeError, ValueError) as e:
        raise UsageError(f"--encoder={args.encoder}: {e}") from e
    return EncodeBuild(args.input, encoder, args.seed, args.split, flags.build_options(args, beam_argv))


def build_encoded(request: EncodeBuild) -> manifest_lib.Manifest | None:
    """Encode ``request.input`` into shards (or find them already built); return the manifest.

    Raises:
        InputError: the input is missing, or not a .npz with an array ``x`` of samples.
        UsageError: the encoded record would be too large.
    """
    if not paths.exists(request.input):
        raise InputError(f"{request.input}: no such file")
    spec = dense.EncodeSpec(request.encoder, _sample_shape(request.input), request.seed)
    flags.spec_from(lambda: spec, f"--encoder={spec.config()['encoder']}")
    return build_lib.build(spec, {request.split: request.input}, request.options)


def _sample_shape(path: str) -> tuple[int, ...]:
    """The shape of one ``x`` sample, from the header of ``x.npy`` inside the .npz
    (:func:`spyx_data.builder.events.npy_array_header`).

    Only this header is read at launch (the launching machine needs access to ``--input``).

    Raises:
        InputError: not a .npz with an array ``x`` of numbers, or ``x`` is a scalar.
    """
    try:
        with paths.open_read(path) as f, zipfile.ZipFile(f) as archive, archive.open("x.npy") as member:
            shape, _, _ = events.npy_array_header(member, f"{path}: x")
    except (zipfile.BadZipFile, KeyError) as e:
        raise InputError(f"{path}: not a .npz with an array x ({e})") from e
    if not shape:
        raise InputError(f"{path}: x must be [N, ...], got a scalar")
    return shape[1:]


def run(argv: Sequence[str] | None = None) -> manifest_lib.Manifest | None:
    """Parse ``argv``, build, and return the manifest (None for a dry run; raises on failure)."""
    return build_encoded(parse_args(argv))


def main(argv: Sequence[str] | None = None, prog: str = "python -m pipelines.encode") -> int:
    """Command-line entry: build, print a summary; a mistake prints one line and returns 2."""
    return command.main(lambda: parse_args(argv, prog), build_encoded)


if __name__ == "__main__":
    sys.exit(main())
