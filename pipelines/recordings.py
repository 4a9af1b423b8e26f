"""Build your own event-camera recordings: ``python -m pipelines.recordings``.

    python -m pipelines.recordings --data_dir=DIR --sensor_size=W,H,P --output_dir=OUT
        [--sample_T=N (100)] [--duration_ms=D (1000)] [--spatial_factor=F] [--merge_polarity]
        [--test_fraction=F --split_seed=S] [--num_shards=N] [Beam options...]

DIR holds DIR/<split>/<class>/<recording> or, with --test_fraction or --split_seed (a seeded
split: train and test), DIR/<class>/<recording>. Recordings are .aedat4, .dat, .raw (EVT 2.0 /
3.0), .npy, .bin, .es or .csv files (see spyx_data.builder.recordings); the label of a recording
is the position of its class folder among all class folders, sorted. Each recording is timed
from its first event; frames are [t, p, y, x] over a fixed window, binary, bit-packed, as the
camera datasets'. Hidden files and folders (.DS_Store, .ipynb_checkpoints) are skipped. An
event off the sensor, a file cut short, an unknown suffix or a class folder without recordings
stops the build with one line naming the file; so do an --output_dir inside --data_dir and the
seeded flags on a DIR/<split>/<class>/ layout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pipelines import build as build_lib
from spyx_data import commands, paths
from spyx_data.builder import recordings
from spyx_data.errors import UsageError
from spyx_data.format import manifest as manifest_lib

SAMPLE_T = 100
DURATION_MS = 1000


def sensor_size(text: str) -> tuple[int, int, int]:
    """``W,H,P`` (tonic's ``sensor_size`` order) of positive integers."""
    try:
        size = tuple(int(v) for v in text.split(","))
    except ValueError:
        size = ()
    if len(size) != 3 or min(size) < 1:
        raise argparse.ArgumentTypeError(f"must be W,H,P (three positive integers, e.g. 120,100,2), got {text}")
    return size  # type: ignore[return-value]


def parse_args(argv: Sequence[str] | None, prog: str | None = None) -> tuple[argparse.Namespace, list[str]]:
    parser = build_lib.flag_parser(prog or "python -m pipelines.recordings", __doc__)
    parser.add_argument("--data_dir", required=True, help="the recordings: DIR/<split>/<class>/<recording>")
    parser.add_argument("--sensor_size", required=True, type=sensor_size, help="W,H,P of the sensor (after crops)")
    parser.add_argument("--spatial_factor", type=commands.positive_int, default=1,
                        help="integer spatial downsampling (x // F)")
    parser.add_argument("--merge_polarity", action="store_true", help="one polarity channel")
    parser.add_argument("--test_fraction", type=float, default=None,
                        help="DIR/<class>/<recording>: the test share of a seeded split (default 0.2)")
    parser.add_argument("--split_seed", type=int, default=None, help="seed of the seeded split (default 0)")
    build_lib.add_window_arguments(parser)
    build_lib.add_output_arguments(parser)
    return build_lib.parse_flags(parser, argv)


def build_recordings(args: argparse.Namespace, beam_argv: Sequence[str]) -> manifest_lib.Manifest | None:
    """Build the recordings in ``args.data_dir`` (or find them already built); the manifest.

    Raises:
        UsageError: ``--output_dir`` is ``--data_dir`` or inside it (its builds would be listed
            as recordings on the next run), or the layout and the flags disagree.
    """
    if paths.within(args.output_dir, args.data_dir):
        raise UsageError(f"--output_dir={args.output_dir} is inside --data_dir={args.data_dir}: the builds would be "
                         "read as recordings; put the output outside the recordings")
    seeded = args.test_fraction is not None or args.split_seed is not None
    inputs, classes = recordings.locate(args.data_dir, seeded)
    options = {"spatial_factor": args.spatial_factor, "merge_polarity": args.merge_polarity}
    if seeded:
        options.update(split_seed=args.split_seed or 0, test_fraction=0.2 if args.test_fraction is None
                       else args.test_fraction)
    try:
        spec = recordings.spec(args.sensor_size, classes, args.sample_T or SAMPLE_T, args.duration_ms or DURATION_MS,
                               **options)
        spec.layout  # noqa: B018 (checks the record size)
    except ValueError as e:
        raise UsageError(str(e)) from e
    return build_lib.build(spec, inputs, args.output_dir, beam_argv, args.compression, args.num_shards,
                           args.plan_parts)


def run(argv: Sequence[str] | None = None) -> manifest_lib.Manifest | None:
    """Parse ``argv``, build, and return the manifest (None for a dry run; raises on failure)."""
    return build_recordings(*parse_args(argv))


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Command-line entry: build, print a summary; a mistake prints one line and returns 2."""
    return build_lib.main(lambda a: parse_args(a, prog), build_recordings, argv)


if __name__ == "__main__":
    sys.exit(main())
