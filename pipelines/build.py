"""The typed build: a spec, its sources and :class:`~spyx_data.builder.options.BuildOptions` in,
a published build (its manifest) out.

The entry points (``pipelines.tonic``, ``pipelines.encode``, ``pipelines.recordings``) make these
typed objects from their flags (:mod:`pipelines.flags`) and run them through
:func:`pipelines.command.main`; the loaders call the build of a registry dataset directly. The
run's folders are kept clean by :mod:`pipelines.runs`, Beam's error logging held back by
:mod:`pipelines.logs`, its progress logged by :mod:`pipelines.progress`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping

from apache_beam.options.pipeline_options import TestOptions

from pipelines import runs
from pipelines.logs import held_beam_errors
from pipelines.progress import ProgressLog, run_totals
from pipelines.transforms import BuildShards, different_build_message
from runners import local
from spyx_data import paths, summaries
from spyx_data.builder import inputs as spyx_inputs
from spyx_data.builder.contracts import BuildSpec
from spyx_data.builder.options import BuildOptions
from spyx_data.errors import BuildError, UsageError
from spyx_data.format import manifest as manifest_lib

log = logging.getLogger(__name__)


def build(
    spec: BuildSpec,
    inputs: Mapping[str, str],
    options: BuildOptions,
    is_synthetic: Callable[[str], bool] | None = None,
) -> manifest_lib.Manifest | None:
    """Build ``spec`` from ``{split: source path}`` into ``<options.output_root>/<build name>``
    unless it is there already; return the manifest.

    The launcher fingerprints every source by content first (:mod:`spyx_data.builder.inputs`): the
    build name (:meth:`BuildOptions.build_key`) covers them, so changed data is a new build in a
    new folder, never the old one passed off as it. ``is_synthetic(split)`` says which splits are
    synthetic data (the manifest records it); a build of synthetic and real splits together is
    refused. The run writes into a staging folder of its own under the output root and a private
    temporary folder; the commit moves the shards into the build's folder and writes the manifest
    last. A failed or interrupted run (Ctrl-C) removes both and publishes nothing; the next run
    removes what runs killed on this host left (:func:`pipelines.runs.remove_stale_runs`: liveness
    is a lock the run holds, not its pid). Two runs of one build at once both finish with the same
    bytes.

    With ``--dry_run=True`` among ``options.beam_args`` (Dataflow) the pipeline is only
    translated: nothing is read (not even fingerprinted: the folder it names is not the real
    build's) or written, and None is returned.

    Raises:
        BuildError: the output folder cannot be written, holds a manifest that is not this
            build's, or the runner cannot run the build.
        UsageError: synthetic and real splits in one build; a remote path with a character
            URLs or listings misread, or of a scheme Beam has no filesystem for here.
        InputError: a source is missing or unreadable, or bad data inside it.
        MachineError: a write failed (a full disk, say).
        Interrupted: Ctrl-C.
    """
    output_root = options.output_root
    for path in (output_root, *inputs.values()):  # before any work: a remote path the build cannot use
        paths.beam_filesystems(path)
    pipeline_options = local.pipeline_options(options.beam_args)
    dry_run = pipeline_options.view_as(TestOptions).dry_run
    sources = {} if dry_run else {s: spyx_inputs.fingerprint(p, spec.source_suffix) for s, p in inputs.items()}
    synthetic = frozenset(s for s in inputs if is_synthetic and not dry_run and is_synthetic(s))
    if synthetic and len(synthetic) < len(inputs):
        raise UsageError(
            f"{', '.join(inputs[s] for s in sorted(synthetic))} hold synthetic data (written by spyx-data), "
            f"{', '.join(inputs[s] for s in sorted(set(inputs) - synthetic))} real data: one build must not mix "
            "them; remove the synthetic data, or build only the real splits (--splits)"
        )
    transform = BuildShards(spec, dict(inputs), sources, options, synthetic, run=runs.new_run())
    output_dir = transform.output_dir
    if not dry_run:
        runs.remove_stale_runs(output_root)  # also when there is nothing to build: a killed run may have published
        existing = manifest_lib.manifest_in(output_dir)
        if existing is not None:
            if existing.build_key != transform.build_key:
                raise BuildError(different_build_message(output_dir, existing))
            log.info("%s already holds this build; nothing to do", output_dir)
            return existing
        runs.check_writable(output_root)
    started = time.perf_counter()
    with held_beam_errors(), runs.private_temp() as temp, runs.staging(transform.staging_dir, dry_run), \
            runs.cleaned_up_on_failure(transform.staging_dir, output_dir, temp, dry_run):
        try:
            pipeline = local.pipeline(pipeline_options)
        except ValueError as e:  # an unknown or uninstalled runner
            raise BuildError(str(e)) from e
        _ = pipeline | transform
        progress = None if dry_run or paths.is_remote(output_root) else ProgressLog(transform.staging_dir, output_dir)
        if progress:
            progress.start()
        try:
            result = pipeline.run()
            try:
                result.wait_until_finish()
            except KeyboardInterrupt:  # a remote job runs on unless it is cancelled
                with contextlib.suppress(Exception):
                    result.cancel()
                raise
            finally:
                client = getattr(result, "client", None)  # the DaskRunner leaves its cluster client open
                if client is not None:
                    client.close()
        finally:
            if progress:
                progress.stop()
    if dry_run:
        return None
    manifest = manifest_lib.manifest_in(output_dir)
    if manifest is None:
        raise BuildError(f"the pipeline finished but wrote no manifest in {output_dir}")
    totals, task_seconds = run_totals(result, manifest)
    log.info("%s", summaries.run_summary(time.perf_counter() - started, totals, task_seconds))
    return manifest
