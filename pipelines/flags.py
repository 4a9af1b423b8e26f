"""The flags of the Beam entry points, and what they become: typed build options and specs.

Each entry point (``python -m pipelines.<name>``) parses its own flags with a
:class:`~spyx_data.commands.FlagParser` and leaves the rest to Beam (:func:`parse_flags` refuses
what neither defines); the argparse namespace then ends in the entry point, which turns it into a
spec (:func:`spec_from`) and :class:`~spyx_data.builder.options.BuildOptions` (:func:`build_options`)
for the one typed build (:func:`pipelines.build.build`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

from runners import presets
from spyx_data.builder import frames
from spyx_data.builder.contracts import BuildSpec
from spyx_data.builder.options import DEFAULTS, BuildOptions
from spyx_data.commands import FlagParser, boolean, build_path, finite_float, positive_int
from spyx_data.errors import UsageError
from spyx_data.format import plan

#: How the flag of a spec's option (:func:`spyx_data.builder.contracts.option`) is read, by its kind
#: (``switch`` takes no value).
OPTION_TYPES: dict[str, Callable[[str], Any]] = {"positive_int": positive_int, "int": int, "float": finite_float,
                                                 "bool": boolean}


def flag_parser(prog: str, doc: str) -> FlagParser:
    """The parser of a pipeline's own flags (one-line errors, no abbreviations); its description
    is the first paragraph of ``doc``."""
    return FlagParser(prog, doc.split("\n\n")[0])


def parse_flags(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """``argv`` parsed: the pipeline's flags, and the rest for Beam.

    ``--preset`` is expanded first. Anything that neither ``parser`` nor Beam's
    ``PipelineOptions`` defines is refused (Beam itself only logs "Unparseable argument").

    Raises:
        UsageError: an unknown or misspelled flag (naming the closest valid one), or a stray word.
    """
    try:
        argv = presets.expand(argv)
    except ValueError as e:
        raise UsageError(str(e)) from None
    args, beam_argv = parser.parse_known_args(argv)
    unknown, beam_parser = _unknown_to_beam(beam_argv)
    if unknown:
        arg = unknown[0]
        if not arg.startswith("-"):
            raise UsageError(f"unexpected argument {arg!r} (flags are --name=value); see {parser.prog} --help")
        name = arg.split("=", 1)[0]
        known = [o for p in (parser, beam_parser) for a in p._actions for o in a.option_strings if o.startswith("--")]
        close = [o for o in known if o.replace("-", "_") == name.replace("-", "_")]
        close = close or difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UsageError(f"unknown flag {name}{hint} (neither {parser.prog} nor Beam defines it; see --help)")
    if getattr(args, "frames", None) == frames.EVENTS:
        unused = [name for name in frames.EVENTS_IGNORE if getattr(args, name, None) is not None]
        if unused:
            raise UsageError(f"--frames=events stores each sample's events, with no window, time bins or channels "
                             f"(choose them when reading): drop --{unused[0]}")
    return args, beam_argv


def _unknown_to_beam(argv: Sequence[str]) -> tuple[list[str], argparse.ArgumentParser]:
    """The arguments Beam's ``PipelineOptions`` would log as unparseable and drop, as Beam parses
    them (every ``PipelineOptions`` subclass; the Dask runner's options once it is imported)."""
    for attempt in range(2):
        parser = _BeamArgumentParser(allow_abbrev=False)
        classes: dict[str, type] = {}
        for cls in PipelineOptions.__subclasses__():
            classes.setdefault(str(cls), cls)
        for cls in classes.values():
            cls._add_argparse_args(parser)
        _, unknown = parser.parse_known_args(list(argv))
        if not unknown or attempt or not any(a.startswith("--dask") for a in unknown):
            return unknown, parser
        with contextlib.suppress(ImportError):  # defines DaskOptions
            import apache_beam.runners.dask.dask_runner  # noqa: F401
    return unknown, parser


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of :class:`~spyx_data.builder.options.BuildOptions` (where and how every build
    writes; its defaults). Anything a parser does not know goes to Beam."""
    parser.add_argument(
        "--output_dir",
        required=True,
        type=build_path,
        help="root of the builds (any Beam path): each build goes to <output_dir>/<dataset>-<config hash>",
    )
    parser.add_argument(
        "--preset", help="runner preset: local, processes[:N], dataflow, dask[:N] (see runners/presets.py)"
    )
    parser.add_argument(
        "--num_shards",
        type=positive_int,
        default=DEFAULTS["num_shards"],
        help="shards per split (default: about 8 MiB each, at least 8 when the split has 2,048 samples, at most "
        "one per sample)"
    )
    parser.add_argument(
        "--compression",
        choices=plan.COMPRESSIONS,
        default=DEFAULTS["compression"],
        help="ArrayRecord compression of the shards",
    )
    parser.add_argument(
        "--plan_parts",
        type=positive_int,
        default=DEFAULTS["plan_parts"],
        help="plan the shards in this many parallel parts of equal work; set it to the worker count on "
        "runners that cannot redistribute work (Dask); the output does not depend on it",
    )


def build_options(args: argparse.Namespace, beam_argv: Sequence[str]) -> BuildOptions:
    """The typed options of the flags :func:`add_output_arguments` defines, and Beam's."""
    return BuildOptions(args.output_dir, args.compression, args.num_shards, args.plan_parts, tuple(beam_argv))


def add_window_arguments(parser: argparse.ArgumentParser, sample_T: int | None = None,
                         duration_ms: int | None = None) -> None:
    """The time window of the event builds, its flags default None; their help states the defaults
    ``sample_T`` and ``duration_ms`` (None: the dataset's)."""
    dataset = "the dataset's"
    parser.add_argument("--sample_T", type=positive_int, default=None, help=f"time bins (default: {sample_T or dataset})")
    parser.add_argument(
        "--duration_ms",
        type=positive_int,
        default=None,
        help="window length, the same for every sample; later events are dropped "
        f"(default: {duration_ms or dataset})",
    )


def option_help(field: dataclasses.Field, default: Any = None) -> str:
    """The help of a spec's option ``field``, with its default (``default``, else the field's)
    where it has one (a switch's is off)."""
    default = field.default if default is None else default
    stated = default is not None and field.metadata["kind"] != "switch"
    return field.metadata["help"] + (f" (default {default})" if stated else "")


def add_option_flag(parser: argparse.ArgumentParser, name: str, field: dataclasses.Field, help: str | None = None) -> None:
    """The flag ``--<name>`` of a spec's option ``field`` (:func:`spyx_data.builder.contracts.option`),
    read as its kind, default None (the spec's default then applies). ``help``: :func:`option_help`
    unless given."""
    kind = field.metadata["kind"]
    if help is None:
        help = option_help(field)
    if kind == "switch":
        parser.add_argument(f"--{name}", action="store_const", const=True, help=help)
    elif kind == "choice":
        parser.add_argument(f"--{name}", choices=field.metadata["choices"], default=None, help=help)
    else:
        parser.add_argument(f"--{name}", type=OPTION_TYPES[kind], default=None, help=help)


def given_options(args: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The options among ``names`` whose flags were given (made by :func:`add_option_flag`), by name."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def spec_from(make: Callable[[], BuildSpec], what: str = "") -> BuildSpec:
    """The spec ``make()`` returns, its record size checked: a value out of range is the user's
    mistake, a :class:`~spyx_data.errors.UsageError` (its message after ``what``, where given)."""
    try:
        spec = make()
        spec.layout  # noqa: B018 (checks the record size)
    except ValueError as e:
        raise UsageError(f"{what}: {e}" if what else str(e)) from e
    return spec
