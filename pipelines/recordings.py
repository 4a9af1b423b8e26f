"""Build your own event-camera recordings: ``python -m pipelines.recordings``.

    python -m pipelines.recordings --data_dir=DIR --sensor_size=W,H,P --output_dir=OUT
        [--sample_T=N (100)] [--duration_ms=D (1000)] [--spatial_factor=F] [--merge_polarity]
        [--frames=MODE] [--values=binary|counts] [--overlap=F] [--denoise_us=N]
        [--test_fraction=F --split_seed=S] [--num_shards=N] [Beam options...]

DIR holds DIR/<split>/<class>/<recording> or, with --test_fraction or --split_seed (a seeded
split: train and test), DIR/<class>/<recording>. Recordings are .aedat4, .dat, .raw (EVT 2.0 /
3.0), .npy, .bin, .es or .csv files (see spyx_data.builder.recordings); the label of a recording
is the position of its class folder among all class folders, sorted. Each recording is timed
from its first event; frames are [t, p, y, x] over a fixed window, binary, bit-packed, as the
camera datasets' (--frames, --values, --overlap and --denoise_us make the field's other
representations, as for the camera datasets). Hidden files and folders (.DS_Store, .ipynb_checkpoints) are skipped. An
event off the sensor, a file cut short, an unknown suffix or a class folder without recordings
stops the build with one line naming the file; so do an --output_dir inside --data_dir and the
seeded flags on a DIR/<split>/<class>/ layout.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from typing import Any

from pipelines import build as build_lib
from pipelines import command, flags
from spyx_data import paths
from spyx_data.builder import camera, frames, recordings
from spyx_data.builder.contracts import options_of
from spyx_data.builder.options import BuildOptions
from spyx_data.errors import UsageError
from spyx_data.format import manifest as manifest_lib

SAMPLE_T = 100
DURATION_MS = 1000
#: The camera options a recordings build takes (:class:`spyx_data.builder.camera.CameraSpec`'s
#: option fields, the frame options among them); the seeded split's (the last two) lay the
#: recordings out as DIR/<class>/<recording>.
OPTIONS = ("spatial_factor", "merge_polarity", *(f.name for f in dataclasses.fields(frames.FrameOptions)),
           "split_seed", "test_fraction")
SEEDED = ("split_seed", "test_fraction")


@dataclasses.dataclass(frozen=True)
class RecordingsBuild:
    """What the flags of a recordings build say: the typed arguments of :func:`build_recordings`.

    Attributes:
        data_dir: the recordings' folder.
        sensor: ``(W, H, P)``, tonic's ``sensor_size`` order.
        sample_T: time bins.
        duration_ms: window length.
        camera_options: the :data:`OPTIONS` given, by name (the others take the spec's defaults).
        options: where and how the build writes.
    """

    data_dir: str
    sensor: tuple[int, int, int]
    sample_T: int
    duration_ms: int
    camera_options: dict[str, Any]
    options: BuildOptions

    @property
    def seeded(self) -> bool:
        """Whether the train/test split is seeded (DIR/<class>/<recording>)."""
        return any(name in self.camera_options for name in SEEDED)


def sensor_size(text: str) -> tuple[int, int, int]:
    """``W,H,P`` (tonic's ``sensor_size`` order) of positive integers."""
    try:
        size = tuple(int(v) for v in text.split(","))
    except ValueError:
        size = ()
    if len(size) != 3 or min(size) < 1:
        raise argparse.ArgumentTypeError(f"must be W,H,P (three positive integers, e.g. 120,100,2), got {text}")
    return size  # type: ignore[return-value]


def parse_args(argv: Sequence[str] | None, prog: str | None = None) -> RecordingsBuild:
    """The build ``argv`` asks for.

    Raises:
        UsageError: an unknown flag, a value out of range.
    """
    parser = flags.flag_parser(prog or "python -m pipelines.recordings", __doc__)
    parser.add_argument("--data_dir", required=True, help="the recordings: DIR/<split>/<class>/<recording>")
    parser.add_argument("--sensor_size", required=True, type=sensor_size, help="W,H,P of the sensor (after crops)")
    fields, seeded_defaults = options_of(camera.CameraSpec), camera.seeded_options({})
    for name in OPTIONS:
        help_text = flags.option_help(fields[name], seeded_defaults.get(name))
        flags.add_option_flag(parser, name, fields[name], f"DIR/<class>/<recording>: {help_text}" if name in SEEDED
                              else help_text)
    flags.add_window_arguments(parser, SAMPLE_T, DURATION_MS)
    flags.add_output_arguments(parser)
    args, beam_argv = flags.parse_flags(parser, argv)
    return RecordingsBuild(args.data_dir, args.sensor_size, args.sample_T or SAMPLE_T, args.duration_ms or DURATION_MS,
                           flags.given_options(args, OPTIONS), flags.build_options(args, beam_argv))


def build_recordings(request: RecordingsBuild) -> manifest_lib.Manifest | None:
    """Build the recordings in ``request.data_dir`` (or find them already built); the manifest.

    Raises:
        UsageError: the output root is the recordings' folder or inside it (its builds would be
            listed as recordings on the next run), the layout and the flags disagree, or a value
            is out of range.
    """
    output_root, data_dir = request.options.output_root, request.data_dir
    if paths.within(output_root, data_dir):
        raise UsageError(f"--output_dir={output_root} is inside --data_dir={data_dir}: the builds would be "
                         "read as recordings; put the output outside the recordings")
    inputs, classes = recordings.locate(data_dir, request.seeded)
    options = camera.seeded_options(request.camera_options) if request.seeded else request.camera_options
    spec = flags.spec_from(lambda: recordings.spec(request.sensor, classes, request.sample_T, request.duration_ms,
                                                   **options))
    return build_lib.build(spec, inputs, request.options)


def run(argv: Sequence[str] | None = None) -> manifest_lib.Manifest | None:
    """Parse ``argv``, build, and return the manifest (None for a dry run; raises on failure)."""
    return build_recordings(parse_args(argv))


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Command-line entry: build, print a summary; a mistake prints one line and returns 2."""
    return command.main(lambda: parse_args(argv, prog), build_recordings)


if __name__ == "__main__":
    sys.exit(main())
