"""Build Spiking Heidelberg Digits shards.

    python -m pipelines.shd --data_dir=./data --output_dir=./shards [--synthetic=1000]
        [--sample_T=128] [--channels=128] [--duration_ms=1000] [--num_shards=N]
        [--runner=DirectRunner | --direct_running_mode=multi_processing --direct_num_workers=2 ...]

tonic's ``SHD`` dataset class finds the h5 files in ``data_dir`` (downloading them there when
missing and the network allows); the Beam workers only read them. Flags this module does not
define are Beam pipeline options.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from pipelines import build as build_lib
from pipelines.transforms import BuildShards
from spyx_data import manifest as manifest_lib
from spyx_data import synthetic
from spyx_data.heidelberg import AudioSpec

SPLITS = ("train", "test")
log = logging.getLogger(__name__)


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="python -m pipelines.shd", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", default="./data", help="tonic's save_to folder (SHD files in data_dir/SHD)")
    parser.add_argument("--channels", type=build_lib.positive_int, default=128, help="channels, 1..700")
    parser.add_argument(
        "--splits", default=",".join(SPLITS), help=f"comma-separated subset of {','.join(SPLITS)}"
    )
    parser.add_argument(
        "--synthetic",
        type=build_lib.positive_int,
        default=None,
        metavar="N",
        help="when data_dir holds no real SHD, write N synthetic samples per split there first",
    )
    build_lib.add_build_arguments(parser, sample_T=128, duration_ms=1000)
    args, beam_argv = parser.parse_known_args(argv)
    args.splits = [s for s in args.splits.split(",") if s]
    unknown = sorted(set(args.splits) - set(SPLITS)) or (not args.splits and ["(none)"])
    if unknown:
        parser.error(f"unknown split(s) {unknown}; SHD has {list(SPLITS)}")
    return args, beam_argv


def ensure_synthetic(data_dir: str, splits: Sequence[str], num_samples: int) -> None:
    """Write synthetic SHD files for ``splits`` unless real data, or this same synthetic data, is there."""
    for split in splits:
        path = synthetic.shd_path(data_dir, split)
        params = synthetic.synthetic_params(path)
        if os.path.exists(path) and params is None:
            log.warning("%s holds real SHD data; --synthetic ignored", path)
        elif params != {"num_samples": num_samples, "seed": 0}:
            synthetic.write_shd(data_dir, split, num_samples)


def locate(data_dir: str, splits: Sequence[str]) -> dict[str, str]:
    """``{split: h5 path}`` as tonic lays them out, downloading with tonic when missing."""
    import tonic

    paths = {}
    for split in splits:
        path = synthetic.shd_path(data_dir, split)
        try:
            dataset = tonic.datasets.SHD(data_dir, train=split == "train")
        except Exception as e:  # tonic raises whatever urllib or h5py raise
            reason = (
                f"tonic cannot open {path}" if os.path.exists(path) else
                f"SHD {split} is not in {os.path.dirname(path)} and tonic could not download it"
            )
            raise build_lib.BuildError(
                f"{reason} ({type(e).__name__}: {e}); fetch the files there, or pass --synthetic=N for synthetic data"
            ) from e
        paths[split] = os.path.join(dataset.location_on_system, dataset.data_filename)
    return paths


def run(argv: Sequence[str] | None = None) -> manifest_lib.Manifest:
    """Build the shards (or find them already built) and return the manifest."""
    return build_shd(*parse_args(argv))


def build_shd(args: argparse.Namespace, beam_argv: Sequence[str]) -> manifest_lib.Manifest:
    try:
        spec = AudioSpec("shd", 20, args.sample_T, args.channels, args.duration_ms)
    except ValueError as e:
        raise build_lib.BuildError(str(e)) from e
    if args.synthetic:
        ensure_synthetic(args.data_dir, args.splits, args.synthetic)
    inputs = locate(args.data_dir, args.splits)
    transform = BuildShards(spec, inputs, args.output_dir, f"group_size:1,{args.compression}", args.num_shards)
    return build_lib.build(transform, beam_argv)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    args, beam_argv = parse_args(argv)
    try:
        manifest = build_shd(args, beam_argv)
    except build_lib.BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(build_lib.summary(manifest, args.output_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
