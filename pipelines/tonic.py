"""Build any registry dataset: ``python -m pipelines.tonic --dataset=NAME``.

    python -m pipelines.tonic --dataset=nmnist --data_dir=./data --output_dir=./shards/nmnist
        [--splits=train,test] [--sample_T=T] [--duration_ms=MS] [--num_shards=N] [--synthetic=N]
        [--<option>=...]   the options of the dataset's family that its registry entry names:
                           --channels (shd, ssc, ntidigits18); --spatial_factor, --merge_polarity
                           (cameras); --first_saccade_only (nmnist); --split_seed, --test_fraction
                           (ncaltech101, cifar10dvs, asldvs); --num_neurons, --dt,
                           --duplicate=true|false (smnist)
        [Beam options...]

Datasets: see ``spyx_data.builder.registry.REGISTRY``. The option flags are made from the spec
classes' option fields (:func:`spyx_data.builder.contracts.option`), not spelled here. tonic's
dataset class downloads a split into ``data_dir`` when it is missing (and the network allows);
the Beam workers only read files.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from pipelines import build as build_lib
from spyx_data import paths
from spyx_data.builder import registry, synthetic
from spyx_data.builder.contracts import BuildSpec, options_of
from spyx_data.cli import FlagParser
from spyx_data.errors import BuildError, UsageError
from spyx_data.format import manifest as manifest_lib

log = logging.getLogger(__name__)


def parse_args(
    argv: Sequence[str] | None, dataset: str | None = None, prog: str | None = None
) -> tuple[argparse.Namespace, list[str]]:
    """Parse build flags; ``dataset`` fixes the dataset (for the short entry points); ``prog``
    is the command the user typed (default ``python -m pipelines.<dataset>``)."""
    prog = prog or (f"python -m pipelines.{dataset}" if dataset else "python -m pipelines.tonic")
    shown = registry.REGISTRY.get(dataset or _dataset_named(argv) or "")  # the entry whose help is shown
    parser = build_lib.flag_parser(prog, _description(shown))
    if dataset is None:
        parser.add_argument("--dataset", required=True, choices=sorted(registry.REGISTRY), help="what to build")
    parser.add_argument("--data_dir", default="./data", help="tonic's save_to folder")
    splits = f" of {', '.join(shown.splits)}" if shown else ""
    parser.add_argument("--splits", default=None, help=f"comma-separated splits{splits} (default: all of the dataset)")
    parser.add_argument(
        "--synthetic",
        type=build_lib.positive_int,
        default=None,
        metavar="N",
        help="when data_dir holds no real data, first write N synthetic samples per split there",
    )
    for name, field in option_fields().items():
        # Every option is a flag (so that another dataset's is refused naming the dataset), but
        # the help of a dataset lists only its own; without a dataset, each says whose it is.
        takers = [info.name for info in registry.REGISTRY.values() if name in info.options]
        if shown:
            help_text = field.metadata["help"] if name in shown.options else argparse.SUPPRESS
        else:
            help_text = f"{field.metadata['help']}; taken by {', '.join(takers)}"
        if field.metadata["kind"] == "switch":
            parser.add_argument(f"--{name}", action="store_const", const=True, help=help_text)
        else:
            parse = {"positive_int": build_lib.positive_int, "int": int, "float": build_lib.finite_float,
                     "bool": build_lib.boolean}[field.metadata["kind"]]
            parser.add_argument(f"--{name}", type=parse, default=None, help=help_text)
    build_lib.add_window_arguments(parser)
    build_lib.add_output_arguments(parser)
    args, beam_argv = build_lib.parse_flags(parser, argv)
    if dataset is not None:
        args.dataset = dataset
    info = registry.get(args.dataset)
    args.splits = [s for s in args.splits.split(",") if s] if args.splits else list(info.splits)
    unknown = sorted(set(args.splits) - set(info.splits)) or (not args.splits and ["(none)"])
    if unknown:
        parser.error(f"unknown split(s) {unknown}; {info.name} has {list(info.splits)}")
    return args, beam_argv


def _dataset_named(argv: Sequence[str] | None) -> str | None:
    """The ``--dataset`` that ``argv`` names, if any (to make that dataset's help)."""
    pre = FlagParser("", add_help=False)
    pre.add_argument("--dataset")
    try:
        return pre.parse_known_args(list(sys.argv[1:] if argv is None else argv))[0].dataset
    except UsageError:  # the parser proper says what is wrong
        return None


def _description(info: registry.DatasetInfo | None) -> str:
    """The first lines of a build command's help (of the dataset ``info``, or of any)."""
    beam = "Flags not listed here go to Beam (--runner, --direct_num_workers, ...)."
    if info is None:
        return __doc__.split("\n\n")[0] + " " + beam
    fetched = f"tonic's {info.tonic_class}" if info.tonic_class else "not in tonic"
    return (f"Build {info.name} ({fetched}; splits {', '.join(info.splits)}) into shards. Its own "
            f"options: {', '.join('--' + o for o in info.options) or 'none'}; the window and output flags are every "
            f"dataset's. {beam}")


def option_fields() -> dict[str, Any]:
    """The option fields of every family in the registry, by name (a flag each)."""
    fields: dict[str, Any] = {}
    for info in registry.REGISTRY.values():
        fields.update(options_of(info.family))
    return dict(sorted(fields.items()))


def ensure_synthetic(info: registry.DatasetInfo, data_dir: str, splits: Sequence[str], num_samples: int) -> None:
    """Write synthetic data for ``splits`` unless real data, or this same synthetic data, is there
    (:func:`spyx_data.builder.synthetic.write`: synthetic data of other parameters is replaced).

    Raises:
        UsageError: some of the splits hold real data and others not: writing synthetic data
            beside real data would mix them in one build; or the dataset's folder holds other
            files than synthetic data (naming one).
        InputError: a file there cannot be read (naming it).
    """
    if paths.is_remote(data_dir):
        raise UsageError(f"--synthetic writes local files; {data_dir} is not a local folder")
    status = {split: _status(info, data_dir, split) for split in splits}
    real = [split for split, state in status.items() if state == "real"]
    if real and len(real) < len(splits):
        others = [split for split in splits if split not in real]
        raise UsageError(
            f"{data_dir} holds real {info.name} data for {', '.join(real)} but not for {', '.join(others)}: "
            f"--synthetic would mix synthetic and real splits in one build; put the real {', '.join(others)} data at "
            f"{', '.join(info.location(data_dir, s) for s in others)}, build --splits={','.join(real)}, "
            "or write synthetic data into another --data_dir"
        )
    if real:
        log.warning("%s holds real %s data; --synthetic ignored", data_dir, info.name)
        return
    synthetic.write_splits(info, data_dir, [s for s, state in status.items()
                                            if state != {"num_samples": num_samples, "seed": 0}], num_samples)


def _status(info: registry.DatasetInfo, data_dir: str, split: str) -> str | dict:
    """``"missing"``, ``"real"``, or the parameters of the synthetic data in a split's place."""
    params = synthetic.synthetic_params(info, data_dir, split)
    if params is not None:
        return params
    return "real" if paths.exists(info.location(data_dir, split)) else "missing"


def locate(info: registry.DatasetInfo, data_dir: str, splits: Sequence[str]) -> dict[str, str]:
    """``{split: h5 file or recordings folder}``.

    A local split that is missing is downloaded by tonic's dataset class; where nothing fetches
    it (tonic cannot, or lacks the dataset) it is refused, saying where to put its files.
    Nothing is downloaded into a ``data_dir`` on a Beam filesystem (``gs://...``): what is
    missing there is reported when the launcher fingerprints the sources.
    """
    located = {split: info.location(data_dir, split) for split in splits}
    if paths.is_remote(data_dir):
        return located
    for split, path in located.items():
        if info.is_present(split, path):
            continue
        todo = info.fetch_by_hand(data_dir, split)
        if todo is not None:
            raise BuildError(
                f"{info.name} {split} is not in {path}, and {todo}, or pass --synthetic=N for synthetic data"
            )
        import tonic

        try:
            getattr(tonic.datasets, info.tonic_class)(data_dir, **info.tonic_kwargs[split])
        except Exception as e:  # tonic's download raises whatever urllib raises
            raise BuildError(
                f"{info.name} {split} is not in {path} and tonic could not download it "
                f"({type(e).__name__}: {e}); fetch the files there, or pass --synthetic=N for synthetic data"
            ) from e
        if not info.is_present(split, path):
            raise BuildError(f"tonic fetched {info.name} {split}, but not into {path}")
    return located


def build_dataset(args: argparse.Namespace, beam_argv: Sequence[str]) -> manifest_lib.Manifest | None:
    """Build the shards (or find them already built) and return the manifest (None for a dry run)."""
    info = registry.get(args.dataset)
    options = {name: getattr(args, name) for name in option_fields()}
    try:
        spec = info.spec(args.sample_T, args.duration_ms, **options)
        spec.layout  # noqa: B018 (checks the record size)
    except ValueError as e:
        raise UsageError(str(e)) from e
    if args.synthetic:
        ensure_synthetic(info, args.data_dir, args.splits, args.synthetic)
    return build_registered(info, spec, args.data_dir, args.output_dir, beam_argv, args.splits, args.compression,
                            args.num_shards, args.plan_parts)


def build_registered(
    info: registry.DatasetInfo,
    spec: BuildSpec,
    data_dir: str,
    output_root: str,
    beam_argv: Sequence[str] = (),
    splits: Sequence[str] | None = None,
    compression: str = "uncompressed",
    num_shards: int | None = None,
    plan_parts: int = 1,
) -> manifest_lib.Manifest | None:
    """Build ``splits`` (default all) of a registry dataset from tonic's files in ``data_dir``
    (downloaded by tonic where missing) into ``<output_root>/<build name>``; see
    :func:`pipelines.build.build`. The loaders call this; so does the command line."""
    inputs = locate(info, data_dir, list(splits or info.splits))

    def is_synthetic(split: str) -> bool:
        return synthetic.synthetic_params(info, data_dir, split) is not None

    return build_lib.build(spec, inputs, output_root, beam_argv, compression, num_shards, plan_parts, is_synthetic)


def run(argv: Sequence[str] | None = None, dataset: str | None = None) -> manifest_lib.Manifest | None:
    """Parse ``argv``, build, and return the manifest (None for a dry run; raises on failure)."""
    return build_dataset(*parse_args(argv, dataset))


def main(argv: Sequence[str] | None = None, dataset: str | None = None, prog: str | None = None) -> int:
    """Command-line entry: build, print a summary; a user error prints one line and returns 2."""
    return build_lib.main(lambda a: parse_args(a, dataset, prog), build_dataset, argv)


if __name__ == "__main__":
    sys.exit(main())
