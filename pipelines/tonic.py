"""Build any registry dataset: ``python -m pipelines.tonic --dataset=NAME``.

    python -m pipelines.tonic --dataset=nmnist --data_dir=./data --output_dir=./shards/nmnist
        [--splits=train,test] [--sample_T=T] [--duration_ms=MS] [--num_shards=N] [--synthetic=N]
        [--<option>=...]   the options of the dataset's family that its registry entry names:
                           --channels (shd, ssc, ntidigits18); --spatial_factor, --merge_polarity
                           (cameras); --first_saccade_only (nmnist); --split_seed, --test_fraction
                           (ncaltech101, cifar10dvs, asldvs); --num_neurons, --dt,
                           --duplicate=true|false (smnist); --frames, --values, --overlap,
                           --denoise_us (the spike-train datasets: shd, ssc, ntidigits18, smnist)
        [Beam options...]

Datasets: see ``spyx_data.builder.registry.REGISTRY``. The option flags are made from the spec
classes' option fields (:func:`spyx_data.builder.contracts.option`), not spelled here. tonic's
dataset class downloads a split into ``data_dir`` when it is missing (and the network allows);
the Beam workers only read files.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from typing import Any

from pipelines import build as build_lib
from pipelines import command, flags
from spyx_data import commands, paths
from spyx_data.builder import registry, synthetic
from spyx_data.builder.contracts import BuildSpec, options_of
from spyx_data.builder.options import BuildOptions
from spyx_data.errors import BuildError, UsageError
from spyx_data.format import manifest as manifest_lib

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DatasetBuild:
    """What the flags of a registry dataset's build say: the typed arguments of :func:`build_dataset`.

    Attributes:
        info: the dataset's registry entry.
        spec: its build spec (window and options from the flags, the entry's defaults otherwise).
        data_dir: tonic's ``save_to`` folder, where the sources are.
        splits: the splits to build, of ``info.splits``.
        synthetic: write this many synthetic samples per split into ``data_dir`` first where it
            holds no real data (``--synthetic``); None: never.
        options: where and how the build writes.
    """

    info: registry.DatasetInfo
    spec: BuildSpec
    data_dir: str
    splits: tuple[str, ...]
    synthetic: int | None
    options: BuildOptions


def parse_args(argv: Sequence[str] | None, dataset: str | None = None, prog: str | None = None) -> DatasetBuild:
    """The build ``argv`` asks for; ``dataset`` fixes the dataset (for the short entry points);
    ``prog`` is the command the user typed (default ``python -m pipelines.<dataset>``).

    Raises:
        UsageError: an unknown flag or split, an option the dataset does not take, a value out of range.
    """
    prog = prog or (f"python -m pipelines.{dataset}" if dataset else "python -m pipelines.tonic")
    shown = registry.REGISTRY.get(dataset or _dataset_named(argv) or "")  # the entry whose help is shown
    parser = flags.flag_parser(prog, _description(shown))
    if dataset is None:
        parser.add_argument("--dataset", required=True, choices=sorted(registry.REGISTRY), help="what to build")
    parser.add_argument("--data_dir", default="./data", help="tonic's save_to folder")
    splits = f" of {', '.join(shown.splits)}" if shown else ""
    parser.add_argument("--splits", default=None, help=f"comma-separated splits{splits} (default: all of the dataset)")
    parser.add_argument(
        "--synthetic",
        type=commands.positive_int,
        default=None,
        metavar="N",
        help="when data_dir holds no real data, first write N synthetic samples per split there",
    )
    fields = option_fields()
    for name, field in fields.items():
        # Every option is a flag (so that another dataset's is refused naming the dataset), but
        # the help of a dataset lists only its own; without a dataset, each says whose it is.
        if shown:
            help_text = field.metadata["help"] if name in shown.options else argparse.SUPPRESS
        else:
            takers = [info.name for info in registry.REGISTRY.values() if name in info.options]
            help_text = f"{field.metadata['help']}; taken by {', '.join(takers)}"
        flags.add_option_flag(parser, name, field, help_text)
    flags.add_window_arguments(parser)
    flags.add_output_arguments(parser)
    args, beam_argv = flags.parse_flags(parser, argv)
    info = registry.get(dataset or args.dataset)
    chosen = tuple(s for s in args.splits.split(",") if s) if args.splits else info.splits
    unknown = sorted(set(chosen) - set(info.splits)) or (not chosen and ["(none)"])
    if unknown:
        parser.error(f"unknown split(s) {unknown}; {info.name} has {list(info.splits)}")
    spec = flags.spec_from(lambda: info.spec(args.sample_T, args.duration_ms, **flags.given_options(args, fields)))
    return DatasetBuild(info, spec, args.data_dir, tuple(chosen), args.synthetic,
                        flags.build_options(args, beam_argv))


def _dataset_named(argv: Sequence[str] | None) -> str | None:
    """The ``--dataset`` that ``argv`` names, if any (to make that dataset's help)."""
    pre = commands.FlagParser("", add_help=False)
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


def build_dataset(request: DatasetBuild) -> manifest_lib.Manifest | None:
    """Build the shards (or find them already built) and return the manifest (None for a dry
    run); with ``request.synthetic``, write synthetic data first where there is no real data."""
    if request.synthetic:
        ensure_synthetic(request.info, request.data_dir, request.splits, request.synthetic)
    return build_registered(request.info, request.spec, request.data_dir, request.options, request.splits)


def build_registered(
    info: registry.DatasetInfo,
    spec: BuildSpec,
    data_dir: str,
    options: BuildOptions,
    splits: Sequence[str] | None = None,
) -> manifest_lib.Manifest | None:
    """Build ``splits`` (default all) of a registry dataset from tonic's files in ``data_dir``
    (downloaded by tonic where missing) with ``options``; see :func:`pipelines.build.build`.
    The loaders call this; so does the command line."""
    inputs = locate(info, data_dir, list(splits or info.splits))

    def is_synthetic(split: str) -> bool:
        return synthetic.synthetic_params(info, data_dir, split) is not None

    return build_lib.build(spec, inputs, options, is_synthetic)


def run(argv: Sequence[str] | None = None, dataset: str | None = None) -> manifest_lib.Manifest | None:
    """Parse ``argv``, build, and return the manifest (None for a dry run; raises on failure)."""
    return build_dataset(parse_args(argv, dataset))


def main(argv: Sequence[str] | None = None, dataset: str | None = None, prog: str | None = None) -> int:
    """Command-line entry: build, print a summary; a user error prints one line and returns 2."""
    return command.main(lambda: parse_args(argv, dataset, prog), build_dataset)


if __name__ == "__main__":
    sys.exit(main())
