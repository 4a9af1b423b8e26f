"""Launching a build: shared flags, the output-directory check, running the pipeline."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipelines.transforms import BuildShards
from runners.local import pipeline_options
from spyx_data import manifest as manifest_lib
from spyx_data import paths

log = logging.getLogger(__name__)
COMPRESSIONS = ("uncompressed", "zstd:1", "zstd:3", "snappy")


class BuildError(Exception):
    """A build cannot start or finish for a reason the user can fix; the message says how."""


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """Where and how every build writes. Anything a parser does not know goes to Beam."""
    parser.add_argument("--output_dir", required=True, help="where shards and manifest.json go (any Beam path)")
    parser.add_argument(
        "--num_shards", type=positive_int, default=None, help="shards per split (default: about 8 MiB each)"
    )
    parser.add_argument(
        "--compression", choices=COMPRESSIONS, default="uncompressed", help="ArrayRecord compression of the shards"
    )


def add_window_arguments(parser: argparse.ArgumentParser) -> None:
    """The time window of the event-dataset builds."""
    parser.add_argument("--sample_T", type=positive_int, default=None, help="time bins (default: the dataset's)")
    parser.add_argument(
        "--duration_ms",
        type=positive_int,
        default=None,
        help="window length, the same for every sample; later events are dropped (default: the dataset's)",
    )


def read_existing(output_dir: str) -> manifest_lib.Manifest | None:
    """The manifest already in ``output_dir``, or None."""
    path = paths.join(output_dir, manifest_lib.MANIFEST_NAME)
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path) as f:
        return manifest_lib.Manifest.from_json(f.read(), where=path)


def build(transform: BuildShards, beam_argv: Sequence[str]) -> manifest_lib.Manifest:
    """Run ``transform`` unless ``output_dir`` already holds the same build; return its manifest.

    Raises:
        BuildError: ``output_dir`` holds a different build (nothing is overwritten).
    """
    output_dir = transform.output_dir
    existing = read_existing(output_dir)
    wanted = (transform.spec.dataset, transform.config(), transform.spec.layout, transform.writer_options)
    if existing is not None:
        if (existing.dataset, existing.config, existing.layout, existing.writer_options) == wanted:
            log.info("%s already holds this build; nothing to do", output_dir)
            return existing
        raise BuildError(
            f"{output_dir} already holds a different build ({existing.dataset}, {existing.config}); "
            "choose another --output_dir or delete that one"
        )
    started = time.perf_counter()
    with beam.Pipeline(options=pipeline_options(beam_argv)) as pipeline:
        _ = pipeline | transform
    manifest = read_existing(output_dir)
    if manifest is None:
        raise BuildError(f"the pipeline finished but wrote no manifest in {output_dir}")
    log.info("built %s in %.1f s", output_dir, time.perf_counter() - started)
    return manifest


def summary(manifest: manifest_lib.Manifest, output_dir: str) -> str:
    """A few lines saying where the build is and what it holds."""
    layout = manifest.layout
    lines = [
        f"{manifest.dataset} shards in {output_dir}",
        f"  obs uint8 {list(layout.packed_shape)} per sample (sample_T={layout.sample_T}, "
        f"packed along time), {layout.record_bytes} bytes per record, {manifest.writer_options}",
    ]
    for name, info in manifest.splits.items():
        size = sum(s.num_bytes for s in info.shards)
        counts = info.counts
        line = f"  {name}: {info.num_records} samples in {len(info.shards)} shards, {size / 2**20:.1f} MiB"
        if counts["events"]:
            line += (
                f"; {counts['events']} events, dropped {counts['dropped_outside_window']} outside the window "
                f"and {counts['dropped_nonfinite']} non-finite; {counts['empty_samples']} empty samples"
            )
        lines.append(line)
    return "\n".join(lines)
