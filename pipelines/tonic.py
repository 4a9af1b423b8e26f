"""Build any registry dataset: ``python -m pipelines.tonic --dataset=NAME``.

    python -m pipelines.tonic --dataset=nmnist --data_dir=./data --output_dir=./shards/nmnist
        [--splits=train,test] [--sample_T=T] [--duration_ms=MS] [--num_shards=N] [--synthetic=N]
        [--channels=C]                                   (audio: shd, ssc)
        [--spatial_factor=F] [--merge_polarity]          (cameras)
        [--first_saccade_only]                           (nmnist)
        [--split_seed=S] [--test_fraction=F]             (ncaltech101: no official split)
        [Beam options...]

Datasets: see ``spyx_data.datasets.REGISTRY``. tonic's dataset class downloads a split into
``data_dir`` when it is missing (and the network allows); the Beam workers only read files.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from pipelines import build as build_lib
from pipelines.transforms import BuildShards
from spyx_data import datasets, paths, sharding, synthetic
from spyx_data import manifest as manifest_lib

log = logging.getLogger(__name__)


def parse_args(argv: Sequence[str] | None, dataset: str | None = None) -> tuple[argparse.Namespace, list[str]]:
    """Parse build flags; ``dataset`` fixes the dataset (for the short entry points)."""
    prog = f"python -m pipelines.{dataset}" if dataset else "python -m pipelines.tonic"
    parser = build_lib.flag_parser(prog, __doc__)
    if dataset is None:
        parser.add_argument("--dataset", required=True, choices=sorted(datasets.REGISTRY), help="what to build")
    parser.add_argument("--data_dir", default="./data", help="tonic's save_to folder")
    parser.add_argument("--splits", default=None, help="comma-separated splits (default: all of the dataset)")
    parser.add_argument(
        "--synthetic",
        type=build_lib.positive_int,
        default=None,
        metavar="N",
        help="when data_dir holds no real data, first write N synthetic samples per split there",
    )
    parser.add_argument("--channels", type=build_lib.positive_int, default=None, help="audio channels, 1..700")
    parser.add_argument("--spatial_factor", type=build_lib.positive_int, default=None, help="camera downsampling")
    parser.add_argument("--merge_polarity", action="store_const", const=True, help="one polarity channel")
    parser.add_argument("--first_saccade_only", action="store_const", const=True, help="nmnist: events < 100 ms")
    parser.add_argument("--split_seed", type=int, default=None, help="seed of a dataset's seeded train/test split")
    parser.add_argument("--test_fraction", type=float, default=None, help="test share of a seeded split")
    build_lib.add_window_arguments(parser)
    build_lib.add_output_arguments(parser)
    args, beam_argv = build_lib.parse_flags(parser, argv)
    if dataset is not None:
        args.dataset = dataset
    info = datasets.get(args.dataset)
    args.splits = [s for s in args.splits.split(",") if s] if args.splits else list(info.splits)
    unknown = sorted(set(args.splits) - set(info.splits)) or (not args.splits and ["(none)"])
    if unknown:
        parser.error(f"unknown split(s) {unknown}; {info.name} has {list(info.splits)}")
    return args, beam_argv


def ensure_synthetic(name: str, data_dir: str, splits: Sequence[str], num_samples: int) -> None:
    """Write synthetic data for ``splits`` unless real data, or this same synthetic data, is there."""
    if paths.is_remote(data_dir):
        raise build_lib.BuildError(f"--synthetic writes local files; {data_dir} is not a local folder")
    for split in splits:
        where = synthetic.location(name, data_dir, split)
        params = synthetic.synthetic_params(name, data_dir, split)
        if os.path.exists(where) and params is None:
            log.warning("%s holds real data; --synthetic ignored", where)
        elif params != {"num_samples": num_samples, "seed": 0}:
            synthetic.write(name, data_dir, split, num_samples)


def locate(info: datasets.DatasetInfo, data_dir: str, splits: Sequence[str]) -> dict[str, str]:
    """``{split: h5 file or recordings folder}``.

    A local split that is missing is downloaded by tonic's dataset class. A ``data_dir`` on a
    Beam filesystem (``gs://...``) is not touched here: the machine that launches a cloud build
    may not reach the data, and the pipeline reports what is missing.
    """
    located = {split: paths.join(data_dir, info.locations[split]) for split in splits}
    if paths.is_remote(data_dir):
        return located
    for split, path in located.items():
        if not os.path.exists(path):
            import tonic

            try:
                getattr(tonic.datasets, info.tonic_class)(data_dir, **info.tonic_kwargs[split])
            except Exception as e:  # tonic's download raises whatever urllib raises
                raise build_lib.BuildError(
                    f"{info.name} {split} is not in {path} and tonic could not download it "
                    f"({type(e).__name__}: {e}); fetch the files there, or pass --synthetic=N for synthetic data"
                ) from e
            if not os.path.exists(path):
                raise build_lib.BuildError(f"tonic fetched {info.name} {split}, but not into {path}")
    return located


def build_dataset(args: argparse.Namespace, beam_argv: Sequence[str]) -> manifest_lib.Manifest | None:
    """Build the shards (or find them already built) and return the manifest (None for a dry run)."""
    info = datasets.get(args.dataset)
    options = {
        "channels": args.channels,
        "spatial_factor": args.spatial_factor,
        "merge_polarity": args.merge_polarity,
        "first_saccade_only": args.first_saccade_only,
        "split_seed": args.split_seed,
        "test_fraction": args.test_fraction,
    }
    try:
        spec = info.spec(args.sample_T, args.duration_ms, **options)
    except ValueError as e:
        raise build_lib.BuildError(str(e)) from e
    if args.synthetic:
        ensure_synthetic(info.name, args.data_dir, args.splits, args.synthetic)
    inputs = locate(info, args.data_dir, args.splits)
    transform = BuildShards(
        spec, inputs, args.output_dir, sharding.writer_options(args.compression), args.num_shards, args.plan_parts
    )
    return build_lib.build(transform, beam_argv)


def run(argv: Sequence[str] | None = None, dataset: str | None = None) -> manifest_lib.Manifest | None:
    """Parse ``argv``, build, and return the manifest (None for a dry run; raises on failure)."""
    return build_dataset(*parse_args(argv, dataset))


def main(argv: Sequence[str] | None = None, dataset: str | None = None) -> int:
    """Command-line entry: build, print a summary; a user error prints one line and returns 2."""
    return build_lib.main(lambda a: parse_args(a, dataset), build_dataset, argv)


if __name__ == "__main__":
    sys.exit(main())
