"""A build in a few words: what the commands print and log about one.

The summary a build command prints, the line it logs when its run ends, the sizes in
``spyx-data info``'s tables and the line naming a build's synthetic splits, each phrase written
once here. Reads manifests only (no build module, no Beam).
"""

from __future__ import annotations

from collections.abc import Mapping

from spyx_data.format.manifest import Manifest
from spyx_data.format.records import HEADER_BYTES, RecordLayout

#: Bytes in a MiB, the unit sizes are shown in.
MIB = 2**20
#: The counts of a build from events (:class:`spyx_data.builder.raster.RasterCounts`) that the
#: summaries state.
EVENT_COUNTS = ("events", "dropped_outside_window", "dropped_nonfinite")


def mib(num_bytes: int) -> str:
    """``num_bytes`` as the summaries show a size: ``"12.3 MiB"``."""
    return f"{num_bytes / MIB:.1f} MiB"


#: The counts of the framing options (:data:`spyx_data.builder.raster.FRAMING_COUNTS`), in the
#: words the summaries state them, where a build has them.
FRAMING_WORDS = {"dropped_by_denoise": "dropped {} by denoise", "dropped_by_frames": "{} in no frame",
                 "clipped_cells": "{} cells clipped to the largest count stored"}


def events_dropped(counts: Mapping[str, int]) -> str:
    """For a build from events (``counts["events"]`` > 0) ``"; N events, dropped A outside the
    window and B non-finite"`` and the framing counts it has (:data:`FRAMING_WORDS`); ``""`` for
    one that counts no events (values through an encoder)."""
    if not counts.get("events"):
        return ""
    framing = "".join(f", {words.format(counts[k])}" for k, words in FRAMING_WORDS.items() if counts.get(k))
    return (f"; {counts['events']} events, dropped {counts.get('dropped_outside_window', 0)} outside the window and "
            f"{counts.get('dropped_nonfinite', 0)} non-finite{framing}")


def framing_counts(counts: Mapping[str, int], values: str) -> str:
    """What a build of another framing than the default counted
    (:data:`spyx_data.builder.raster.FRAMING_COUNTS`, absent where 0): ``"; D dropped by
    denoise, F in no frame, C cells clipped at 65,535"``, each part where it is not 0, the
    clipped cells always for ``counts`` values; ``""`` when there is nothing to say."""
    parts = [f"{counts[key]} {words}" for key, words in (("dropped_by_denoise", "dropped by denoise"),
                                                          ("dropped_by_frames", "in no frame"),
                                                          ("stored_events", "events stored")) if counts.get(key)]
    if values == "counts" or counts.get("clipped_cells"):
        parts.append(f"{counts.get('clipped_cells', 0)} cells clipped at 65,535")
    return "; " + ", ".join(parts) if parts else ""


def record_size(layout: RecordLayout) -> str:
    """A record's size in words: ``2104 bytes``; an events record's ``56 bytes + 6 an event``."""
    if layout.events:
        return f"{HEADER_BYTES} bytes + {layout.bytes_per_event} an event"
    return f"{layout.record_bytes} bytes"


def synthetic_note(manifest: Manifest) -> str | None:
    """A line naming the splits of ``manifest`` that hold synthetic data (its splits'
    ``source.synthetic``), in words a user cannot miss; None when none does."""
    synthetic = [name for name, info in manifest.splits.items() if info.source.synthetic]
    if not synthetic:
        return None
    which = synthetic[0] if len(synthetic) == 1 else f"{', '.join(synthetic[:-1])} and {synthetic[-1]}"
    return (f"SYNTHETIC DATA: {which} {'is' if len(synthetic) == 1 else 'are'} synthetic data written by spyx-data, "
            f"not the real {manifest.dataset} dataset")


def build_summary(manifest: Manifest, output_dir: str) -> str:
    """A few lines saying where the build is (``output_dir``), which of its splits are synthetic
    data, and what it holds: per split samples, shards, size, events and drops."""
    layout = manifest.layout
    lines = [
        f"{manifest.dataset} shards in {output_dir}",
        *[f"  {note}" for note in [synthetic_note(manifest)] if note],
        f"  {layout.describe()} per sample, {record_size(layout)} per record, {manifest.writer_options}",
    ]
    for name, info in manifest.splits.items():
        counts = info.counts
        line = f"  {name}: {info.num_records} samples in {len(info.shards)} shards, {mib(info.num_bytes)}"
        line += events_dropped(counts) + framing_counts(counts, layout.values)
        if counts.get("events"):
            line += f"; {counts.get('empty_samples', 0)} empty samples"
        if counts.get("left_out_samples"):
            line += f"; {counts['left_out_samples']} samples of the source left out by the dataset's rule"
        lines.append(line)
    return "\n".join(lines)


def manifest_totals(manifest: Manifest) -> dict[str, int]:
    """What a build wrote, from its manifest: ``samples``, ``bytes_written`` and the
    :data:`EVENT_COUNTS` of its splits together."""
    totals = {"samples": 0, "bytes_written": 0, **dict.fromkeys(EVENT_COUNTS, 0)}
    for info in manifest.splits.values():
        totals["samples"] += info.num_records
        totals["bytes_written"] += info.num_bytes
        for key in EVENT_COUNTS:
            totals[key] += info.counts.get(key, 0)
    return totals


def run_summary(seconds: float, totals: Mapping[str, int], task_seconds: float | None = None) -> str:
    """The line a build logs when its run ends: its time (``seconds``; ``task_seconds``, from the
    first shard task's start to the last one's end, where the runner measured it), samples and
    their rate, size, events and drops (``totals``, as :func:`manifest_totals` gives them)."""
    tasks = "" if task_seconds is None else f", shard tasks {task_seconds:.2f} s"
    rate = totals["samples"] / max(seconds, 1e-9)
    return (f"built in {seconds:.1f} s{tasks}: {totals['samples']} samples ({rate:.0f}/s), "
            f"{mib(totals['bytes_written'])} written{events_dropped(totals)}")
