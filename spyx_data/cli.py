"""``spyx-data``: build, inspect, verify, plot, and write synthetic data. Also ``python -m spyx_data``.

    spyx-data build DATASET [flags...]     run the pipeline (DATASET from the registry, encode, or recordings);
                                           flags it does not know go to Beam; build [DATASET] --help
    spyx-data info DIR                     the manifest as a table, with per class the spike density
                                           (counts: events per cell; float32: mean |value|); on an
                                           output root of several builds, a line for each
    spyx-data verify DIR                   recompute checksums and record counts, decode every record
    spyx-data plot DIR --split S (--index I | --class K) --output FILE.png
                                           a picture of a sample or a class average, any record layout
    spyx-data synthetic DATASET --data_dir DIR --samples N [--splits a,b] [--seed S]

DIR is a build's folder, or the folder given as --output_dir when it holds one build.

A mistake (a wrong path, an option out of range, missing data) prints one line and exits 2; a
failing machine or damaged build one line and exits 1; Ctrl-C exits 130. ``SPYX_DATA_DEBUG=1``
shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

import numpy as np

from spyx_data import errors, paths
from spyx_data.commands import FlagParser, run_command
from spyx_data.format import manifest as manifest_lib
from spyx_data.format.records import RecordLayout
from spyx_data.read.event_split import events_per_sample, load_events
from spyx_data.read.prestage import load_split
from spyx_data.read.verify import verify
from spyx_data.summaries import MIB, mib, record_size, synthetic_note


def build_help() -> str:
    """What ``spyx-data build --help`` prints."""
    from spyx_data.builder import registry

    return "\n".join([
        "usage: spyx-data build DATASET [flags]",
        "",
        "Run the build pipeline of DATASET, one of:",
        f"  {', '.join(sorted(registry.REGISTRY))}",
        "      a registry dataset (python -m pipelines.tonic --dataset=DATASET)",
        "  encode       dense .npz data through a spike encoder (python -m pipelines.encode)",
        "  recordings   your own event recordings (python -m pipelines.recordings)",
        "",
        "spyx-data build DATASET --help lists the flags DATASET takes; a flag that the pipeline does",
        "not define goes to Beam (--runner, --preset=processes:2, ...).",
    ])


def build(argv: Sequence[str]) -> int:
    """``spyx-data build DATASET ...``: ``pipelines.tonic`` (or ``pipelines.encode``, ``pipelines.recordings``)
    with the rest of argv."""
    from spyx_data.builder import registry

    if argv and argv[0] in ("-h", "--help"):
        print(build_help())
        return 0
    if not argv or argv[0].startswith("-"):
        names = ", ".join([*sorted(registry.REGISTRY), "encode", "recordings"])
        raise errors.UsageError(f"say what to build: spyx-data build DATASET [flags], DATASET one of {names} "
                                "(spyx-data build --help)")
    try:
        from pipelines import encode, recordings, tonic
    except ImportError as e:
        raise errors.UsageError(f"building needs the build extra: pip install 'spyx-data[build]' ({e})") from None
    dataset, rest = argv[0], list(argv[1:])
    if dataset == "encode":
        return encode.main(rest, prog="spyx-data build encode")
    if dataset == "recordings":
        return recordings.main(rest, prog="spyx-data build recordings")
    registry.get(dataset)  # an unknown name is a one-line error
    return tonic.main(rest, dataset=dataset, prog=f"spyx-data build {dataset}")


#: What ``info`` tells of each class, by the build's values (:func:`cell_statistic`).
CELL_STATISTICS = {"binary": "spike density per class (share of cells holding a spike)",
                   "counts": "events per cell per class (mean count of a cell)",
                   "float32": "mean |value| per cell per class",
                   "events": "events per sample per class (mean)"}


def cell_statistic(obs: np.ndarray, layout: RecordLayout) -> np.ndarray:
    """:data:`CELL_STATISTICS` of each sample, float64 ``[N]``, from ``obs`` ``[N, *obs_shape]``
    as stored (binary values counted on the packed bytes, never unpacked): binary the share of
    the ``sample_T * prod(dims)`` cells holding a spike, counts the mean event count of a cell,
    float32 the mean absolute value of a cell."""
    flat = obs.reshape(len(obs), -1)
    if layout.values == "binary":
        total = np.bitwise_count(flat).sum(axis=1, dtype=np.int64)
    elif layout.values == "counts":
        total = flat.sum(axis=1, dtype=np.int64)
    else:
        total = np.abs(flat).sum(axis=1, dtype=np.float64)
    return total / (layout.sample_T * int(np.prod(layout.dims)))


def _builds_below(directory: str) -> list[str]:
    """The builds in the folders below ``directory``, unless it is a build itself."""
    if paths.exists(paths.join(directory, manifest_lib.MANIFEST_NAME)):
        return []
    return manifest_lib.builds_below(directory)


def build_folder(directory: str) -> str:
    """``directory`` if it is a build; the build below it if it is an output root of exactly one
    (saying so on stderr).

    Raises:
        NoBuild: neither; the message names the builds below ``directory``, if any.
    """
    below = _builds_below(directory)
    if len(below) != 1:
        manifest_lib.read_manifest(directory)  # a build, or the error that names what is below
        return directory
    print(f"using {below[0]}, the one build in {directory}", file=sys.stderr)
    return below[0]


def builds_table(root: str, builds: Sequence[str]) -> str:
    """A line for each build below an output root: name, dataset, the parameters that tell builds
    of a dataset apart, splits and sizes, and when it was built (its manifest's time)."""
    rows = []
    for folder in builds:
        manifest = manifest_lib.read_manifest(folder)
        config = " ".join(f"{k}={v}" for k, v in sorted(manifest.config.items()) if k not in NOT_KEY_CONFIG)
        splits = ", ".join(
            f"{name} {info.num_records} ({mib(info.num_bytes)}"
            f"{', synthetic' if info.source.synthetic else ''})" for name, info in manifest.splits.items()
        )
        built = _built_at(paths.join(folder, manifest_lib.MANIFEST_NAME))
        rows.append((manifest.build_name, manifest.dataset, built, config, splits))
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(("name", "dataset", "built", "config"))]
    lines = [f"{len(builds)} builds in {root}:"]
    for row in [("name", "dataset", "built", "config", "splits"), *rows]:
        lines.append("  " + " ".join(f"{v:{w}s}" for v, w in zip(row, widths)) + " " + row[-1])
    return "\n".join(lines)


#: Config entries the builds table leaves out: fixed by the dataset, or long.
NOT_KEY_CONFIG = ("classes", "inputs", "dataset", "num_classes", "sensor", "num_shards", "time_origin", "single_digits")


def _built_at(manifest_path: str) -> str:
    if paths.is_remote(manifest_path):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(manifest_path)))


def info(directory: str) -> str:
    """The build in ``directory`` as text: config, record (its values: binary, counts or float32),
    splits, each split's members digest, and per class :func:`cell_statistic` (spike density, mean
    events or mean absolute value of a cell); for an output root of several builds, :func:`builds_table`."""
    below = _builds_below(directory)
    if len(below) > 1:
        return builds_table(directory, below)
    directory = build_folder(directory)
    manifest = manifest_lib.read_manifest(directory)
    layout = manifest.layout
    config = " ".join(f"{k}={v}" for k, v in sorted(manifest.config.items()) if k not in ("classes", "inputs"))
    # Builds from events count them; a dense build (values through an encoder) counts none.
    events = any(split.counts.get(k, 0) for split in manifest.splits.values() for k, _ in EVENT_COLUMNS)
    lines = [
        f"{manifest.dataset} build in {directory}",
        *[f"  {note}" for note in [synthetic_note(manifest)] if note],
        f"  config: {config}",
        f"  inputs: {manifest.config.get('inputs')}",
        f"  record: {record_size(layout)}, {layout.describe()}, {manifest.writer_options}",
        f"  {'split':8s} {'samples':>8s} {'shards':>6s} {'MiB':>8s}"
        + ("".join(f" {title:>{width}s}" for _, (title, width) in EVENT_COLUMNS) if events else ""),
    ]
    density: dict[str, dict[int, float]] = {}
    for name, split in manifest.splits.items():
        lines.append(
            f"  {name:8s} {split.num_records:8d} {len(split.shards):6d} {split.num_bytes / MIB:8.1f}"
            + ("".join(f" {split.counts.get(k, 0):{width}d}" for k, (_, width) in EVENT_COLUMNS) if events else "")
        )
        if layout.events:
            sizes, labels = events_per_sample(directory, name, manifest)
            per_sample = sizes.astype(np.float64)
            if len(sizes):
                lines.append(f"  {'':8s} events per sample: min {sizes.min()}, median {np.median(sizes):g}, "
                             f"max {sizes.max()}")
        else:
            obs, labels = load_split(directory, name, manifest=manifest)
            per_sample = cell_statistic(obs, layout)
        density[name] = {int(k): float(per_sample[labels == k].mean()) for k in np.unique(labels)}
    lines.append("  members sha256 (the source's digest and each record's sample, in order):")
    lines += [f"  {name:8s} {split.members_sha256 or MEMBERS_NOT_RECORDED}" for name, split in manifest.splits.items()]
    classes = manifest.config.get("classes")
    names = classes if isinstance(classes, list) else None
    lines.append(f"  {CELL_STATISTICS[layout.values]}:")
    lines.append(f"  {'class':24s} " + " ".join(f"{s:>8s}" for s in density))
    for k in sorted({k for d in density.values() for k in d}):
        label = f"{k} {names[k]}" if names and k < len(names) else str(k)
        cells = (f"{d[k]:8.4f}" if k in d else f"{'-':>8s}" for d in density.values())
        lines.append(f"  {label[:24]:24s} " + " ".join(cells))
    return "\n".join(lines)


#: What ``info`` prints for a split of a manifest without ``members_sha256``.
MEMBERS_NOT_RECORDED = "not recorded (built by an older spyx-data: build it again to record it)"

#: The columns of ``info``'s split table for builds from events: the count, its title and width.
EVENT_COLUMNS = (("events", ("events", 12)), ("dropped_outside_window", ("outside", 10)),
                 ("dropped_nonfinite", ("non-finite", 10)), ("empty_samples", ("empty", 6)))


def _plot_events(directory: str, split: str, output: str, index: int | None, label: int | None,
                 manifest: manifest_lib.Manifest) -> str:
    """:func:`plot` of an events build: sample ``index``'s events as dots (:func:`spyx_data.plots.plot_events`).

    Raises:
        UsageError: ``--label`` (a class average is of frames: make them with ``frames=Frames(...)``),
            or no such sample.
    """
    from spyx_data import plots

    if index is None:
        raise errors.UsageError(f"{manifest.build_name} is an events build: plot a sample's events with --index; a "
                                "class average is of frames")
    events = load_events(directory, split, manifest)
    if not 0 <= index < events.num_samples:
        raise errors.UsageError(f"--index {index} is not a sample of {split!r} (0..{events.num_samples - 1})")
    plots.plot_events(events.sample(index), events.dims,
                      f"{manifest.dataset} {split}[{index}], label {events.labels[index]}", output)
    return f"wrote {output}: {split}[{index}]"


def plot(directory: str, split: str, output: str, index: int | None, label: int | None) -> str:
    """Write a PNG of sample ``index``, or of the average of the samples of class ``label``, to
    exactly ``output`` (drawn as :func:`spyx_data.plots.picture_kind` says, for every layout).

    Raises:
        UsageError: matplotlib missing (saying what to install), ``output`` not a ``.png`` in a
            local folder that exists and can be written, no such sample or no sample of the
            class; checked in this order, before the split is read.
    """
    from spyx_data import plots

    plots.require_matplotlib()
    check_output(output, ".png")
    directory = build_folder(directory)
    manifest = manifest_lib.read_manifest(directory)
    layout = manifest.layout
    if layout.events:
        return _plot_events(directory, split, output, index, label, manifest)
    obs, labels = load_split(directory, split, manifest=manifest)
    if index is not None:
        if not 0 <= index < len(labels):
            raise errors.UsageError(f"--index {index} is not a sample of {split!r} (0..{len(labels) - 1})")
        plots.plot_sample(layout.frames(obs[index]), manifest,
                          f"{manifest.dataset} {split}[{index}], label {labels[index]}", output)
        return f"wrote {output}: {split}[{index}]"
    members = np.flatnonzero(labels == label)
    if not len(members):
        raise errors.UsageError(f"class {label} has no samples in {split!r}")
    exact = np.float64 if layout.values == "float32" else np.int64
    total = np.zeros((layout.sample_T, *layout.dims), exact)
    for start in range(0, len(members), 256):  # a few at a time: a camera split would not fit unpacked
        total += layout.frames(obs[members[start:start + 256]], axis=1).sum(axis=0, dtype=exact)
    plots.plot_sample(total / len(members), manifest,
                      f"{manifest.dataset} {split}: mean of {len(members)} samples of class {label}", output,
                      average=True)
    return f"wrote {output}: class {label} average of {len(members)} samples"


def check_output(output: str, suffix: str) -> None:
    """Refuse, as a :class:`~spyx_data.errors.UsageError`, an output file that could not be
    written as asked: not ending in ``suffix`` (any case), not local, a folder, or in a folder
    that does not exist or cannot be written."""
    if not output.lower().endswith(suffix):
        raise errors.UsageError(f"--output {output}: the picture is a {suffix[1:].upper()}; give a name ending in "
                                f"{suffix} (such as {os.path.splitext(output)[0] or 'picture'}{suffix})")
    if paths.is_remote(output):
        raise errors.UsageError(f"--output {output}: pictures are written to a local file")
    folder = os.path.dirname(os.path.abspath(output))
    if os.path.isdir(output):
        raise errors.UsageError(f"--output {output} is a folder; give a file name ending in {suffix}")
    if not os.path.isdir(folder):
        raise errors.UsageError(f"--output {output}: the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise errors.UsageError(f"--output {output}: the folder {folder} cannot be written")


def synthetic(dataset: str, data_dir: str, samples: int, splits: Sequence[str] | None, seed: int) -> str:
    """Write synthetic data (:func:`spyx_data.builder.synthetic.write`), replacing synthetic data
    written there before; refused where the dataset's folder holds anything else."""
    from spyx_data.builder import registry
    from spyx_data.builder import synthetic as synthetic_lib

    info_ = registry.get(dataset)
    unknown = sorted(set(splits or ()) - set(info_.splits))
    if unknown:
        raise errors.UsageError(f"unknown split(s) {unknown}; {dataset} has {list(info_.splits)}")
    return "wrote " + ", ".join(synthetic_lib.write_splits(info_, data_dir, splits or info_.splits, samples, seed))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "build":  # everything after the dataset belongs to the pipeline and Beam
        return run_command(lambda: build(argv[1:]))
    parser = FlagParser("spyx-data", __doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="run a pipeline: spyx-data build DATASET [flags]")
    p = commands.add_parser("info", help="the manifest as a readable table")
    p.add_argument("directory")
    p = commands.add_parser("verify", help="recompute checksums and counts, decode every record")
    p.add_argument("directory")
    p = commands.add_parser("plot", help="a PNG of a sample, or of a class average (any record layout)")
    p.add_argument("directory")
    p.add_argument("--split", default="train")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--index", type=int, help="the sample to draw")
    which.add_argument("--class", dest="label", type=int, help="draw the mean of this class's samples")
    p.add_argument("--output", required=True, help="the PNG to write: a name ending in .png, in a folder that exists")
    p = commands.add_parser("synthetic", help="write format-exact synthetic data that tonic reads")
    p.add_argument("dataset", help="a registry dataset (spyx-data build --help lists them)")
    p.add_argument("--data_dir", required=True)
    p.add_argument("--samples", type=int, required=True, help="per split (in all for ncaltech101)")
    p.add_argument("--splits", default=None, help="comma-separated (default: all)")
    p.add_argument("--seed", type=int, default=0)
    return run_command(lambda: _dispatch(parser.parse_args(argv)))


def _dispatch(args: argparse.Namespace) -> int | None:
    if args.command == "info":
        return print(info(args.directory))
    if args.command == "verify":
        return _verify(args.directory)
    if args.command == "plot":
        return print(plot(args.directory, args.split, args.output, args.index, args.label))
    splits = args.splits.split(",") if args.splits else None
    return print(synthetic(args.dataset, args.data_dir, args.samples, splits, args.seed))


def _verify(directory: str) -> int:
    directory = build_folder(directory)
    manifest, problems = verify(directory)
    for problem in problems:
        print(f"FAILED {problem}", file=sys.stderr)
    if problems:
        return 1
    shards = sum(len(info.shards) for info in manifest.splits.values())
    records = sum(info.num_records for info in manifest.splits.values())
    print(f"ok: {directory}: {len(manifest.splits)} splits, {shards} shards, {records} records verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
