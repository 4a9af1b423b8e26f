"""spyx.data's dataset loaders over prebuilt shards: ``SHD_loader``, ``NMNIST_loader``.

They read through the read wing; the registry and the inputs' fingerprints (the build wing)
are imported when a loader is made, so ``import spyx_data`` loads no build module.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from spyx_data import paths
from spyx_data.errors import BuildError, ManifestError, NoBuild
from spyx_data.format import manifest as manifest_lib
from spyx_data.read.loader import GrainLoader, State
from spyx_data.read.prestage import prestage
from spyx_data.read.split import SplitSource

if TYPE_CHECKING:
    from spyx_data.builder.options import BuildOptions
    from spyx_data.builder.registry import DatasetInfo

log = logging.getLogger(__name__)


class ShardLoader:
    """Train and test epochs and prestage over one prebuilt dataset, built on first use.

    By default the build lives under ``download_dir/spyx_data``, in the folder the pipeline
    names for this dataset, ``options`` and the content of tonic's files in ``download_dir``
    (:mod:`spyx_data.builder.inputs`; a start hashes only files that changed since the last, and a
    ``stat`` each otherwise). If that folder holds no build, the pipeline runs locally once, on
    those files (tonic downloads them if missing); that needs the ``build`` extra. So data that
    changed is built anew, never served from the old build. Without the raw files in
    ``download_dir`` the one build of this configuration from real data under
    ``download_dir/spyx_data`` is used (several: refused, naming them). ``shards_dir`` names a
    build to use instead; it is refused if tonic's files in ``download_dir`` are not what it was
    built from.

    ``train_epoch()`` shuffles (seed ``key``, reshuffled each epoch) and drops the last partial
    batch, as spyx.data; like ``iter`` of a :class:`GrainLoader` it gives the rest of the current
    epoch. ``test_epoch()`` keeps source order, always starts at the first sample and, unlike
    spyx.data, keeps every sample: its last batch is short unless ``test_drop_remainder=True``
    (on several JAX processes every batch is whole, padded with all-zero ``obs`` and label
    ``-1``, so that the hosts stay in lockstep; ``labels >= 0`` is the mask). Labels are int32.

    ``sample_T``, ``obs_shape`` (a sample's dims after time) and ``act_shape`` (``(num_classes,)``)
    are the build's, from its manifest. Batches hold ``obs`` as stored, by the build's values
    (:attr:`~spyx_data.format.records.RecordLayout.values`): binary uint8 ``[batch, ceil(sample_T/8),
    *obs_shape]`` (bit-packed along time), counts uint16 ``[batch, sample_T, *obs_shape]``, float32
    ``[batch, sample_T, *obs_shape]`` (not packed: nothing to unpack). For a camera dataset,
    where spyx.data bit-packed the presence of tonic's event counts, ``uint8 [batch,
    ceil(sample_T/8), P, H, W]``, counts are those counts themselves, ``uint16 [batch, sample_T,
    P, H, W]``, and a voxel grid ``float32 [batch, sample_T, 1, H, W]``.
    """

    def __init__(
        self,
        dataset: str,
        batch_size: int,
        key: int,
        download_dir: str,
        worker_count: int | None,
        shards_dir: str | None,
        test_drop_remainder: bool,
        **options: Any,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        from spyx_data.builder import inputs, registry
        from spyx_data.builder.options import BuildOptions

        self.batch_size = batch_size
        info = registry.get(dataset)
        spec = info.spec(**options)
        located = {split: paths.join(download_dir, info.locations[split]) for split in info.splits}
        present = all(paths.exists(path) for path in located.values())
        digests = {s: inputs.fingerprint(p, spec.source_suffix).sha256 for s, p in located.items()} if present else {}
        if shards_dir is not None:
            manifest = manifest_lib.read_manifest(shards_dir)
            _check_built_from(manifest, spec, shards_dir, digests, download_dir)
        else:
            default = BuildOptions(paths.join(download_dir, "spyx_data"))  # the launcher's defaults
            manifest = _find_build(default, spec, located, digests) or _build(info, spec, download_dir, default)
            shards_dir = paths.join(default.output_root, manifest.build_name)
        self.shards_dir = shards_dir
        self.manifest = manifest
        self.sample_T = manifest.layout.sample_T
        self.obs_shape = manifest.layout.dims
        self.act_shape = (manifest.num_classes,)
        train = SplitSource(self.shards_dir, "train", manifest)
        test = SplitSource(self.shards_dir, "test", manifest)
        self._train_dl = GrainLoader(train, batch_size, True, key, worker_count)
        self._test_dl = GrainLoader(test, batch_size, False, key, worker_count, drop_remainder=test_drop_remainder)

    def train_epoch(self) -> Iterator[State]:
        """One shuffled pass over the train split (the rest of the current epoch, as ``iter`` of
        a :class:`GrainLoader`: the ``train_epoch()`` iterator before it ends)."""
        return self._train_dl._iter("a newer train_epoch()")

    def test_epoch(self) -> Iterator[State]:
        """One whole pass over the test split in source order, from its first sample even where
        the last ``test_epoch()`` was left before its end (that iterator ends)."""
        return self._test_dl._iter("a newer test_epoch()", from_start=True)

    def get_state(self) -> dict[str, Any]:
        """Where the train stream stands (:meth:`GrainLoader.get_state`); save it with the model."""
        return self._train_dl.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue the train stream from ``state`` (:meth:`GrainLoader.set_state`): the next
        ``train_epoch()`` gives the rest of that epoch. The test stream always starts afresh."""
        self._train_dl.set_state(state)

    def close(self) -> None:
        """Stop the worker processes of both streams (started again if iterated)."""
        self._train_dl.close()
        self._test_dl.close()

    def prestage(self, split: str = "train", drop_remainder: bool = True):
        """The whole split on the default JAX device; see :func:`spyx_data.prestage`."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
        return prestage(self.shards_dir, split, self.batch_size, drop_remainder)


def _find_build(
    default: BuildOptions, spec: Any, located: dict[str, str], digests: dict[str, str]
) -> manifest_lib.Manifest | None:
    """The build of ``spec`` with the ``default`` options (:meth:`BuildOptions.build_key`, the
    launcher's rule) under their output root made from sources of these ``digests``; with no
    digests (the sources are not there), the one such build from real data there; None when
    there is none.

    Raises:
        BuildError: the folder of that name holds another build, or several builds fit.
    """
    root = default.output_root
    if digests:
        key = default.build_key(spec, located, digests)
        try:
            manifest = manifest_lib.read_manifest(paths.join(root, key.name))
        except NoBuild:
            return None
        if manifest.build_key != key:
            raise BuildError(f"{paths.join(root, key.name)} holds another build than its name says; remove it to "
                             "rebuild")
        return manifest
    found = []
    for name in sorted(os.listdir(root)) if not paths.is_remote(root) and os.path.isdir(root) else []:
        try:
            manifest = manifest_lib.read_manifest(os.path.join(root, name))
        except (NoBuild, ManifestError):
            continue
        sources = {split: info.source.sha256 for split, info in manifest.splits.items()}
        synthetic = any(info.source.synthetic for info in manifest.splits.values())
        if not synthetic and manifest.build_key == default.build_key(spec, located, sources):
            found.append(manifest)
    if len(found) > 1:
        raise BuildError(f"{spec.dataset}'s files are not in {', '.join(located.values())} and {root} holds "
                         f"{len(found)} builds of this configuration ({', '.join(m.build_name for m in found)}); "
                         "pass shards_dir= the one to use")
    if found:
        log.info("%s's files are not in %s; using %s", spec.dataset, os.path.dirname(next(iter(located.values()))),
                 os.path.join(root, found[0].build_name))
    return found[0] if found else None


def _check_built_from(
    manifest: manifest_lib.Manifest, spec: Any, shards_dir: str, digests: dict[str, str], download_dir: str
) -> None:
    """Refuse a build in ``shards_dir`` of another dataset or configuration than ``spec`` (its
    key rebuilt with ``spec`` must be its own: shard count, compression and sources as built), or,
    where tonic's files are in ``download_dir`` (``digests``), made from other files."""
    sources = {split: info.source.sha256 for split, info in manifest.splits.items()}
    inputs = dict(manifest.config.get("inputs") or {})
    asked = manifest_lib.build_key(spec, inputs, sources, manifest.config.get("num_shards"), manifest.writer_options)
    if asked != manifest.build_key:
        raise BuildError(f"{shards_dir} holds a {manifest.dataset} build of other parameters than asked for "
                         f"({spec.config()})")
    changed = [s for s, d in digests.items() if s in sources and sources[s] != d]
    if changed:
        raise BuildError(
            f"{shards_dir} was built from other {spec.dataset} data than {download_dir} holds now "
            f"({', '.join(changed)} changed); leave out shards_dir= to build from the data there, or pass the "
            "download_dir it was built from"
        )


class SHD_loader(ShardLoader):
    """Spiking Heidelberg Digits from prebuilt shards, with spyx.data's names and shapes.

    ``obs`` is uint8 ``[batch, ceil(sample_T/8), channels]`` (time bit-packed, big bit order;
    ``jnp.unpackbits(obs, axis=1, count=sample_T)`` gives spyx.data's 0/1 ``[batch, sample_T,
    channels]``), ``labels`` int32 ``[batch]``; see :class:`ShardLoader` for building and epochs.
    ``frames``, ``values``, ``overlap`` and ``denoise_us`` are the build's frame options
    (``--frames`` ... of ``python -m pipelines.shd``), e.g. ``frames="tonic_time_bins"`` for
    tonic's ``ToFrame(n_time_bins=sample_T)``; with ``values="counts"`` ``obs`` is uint16
    event counts ``[batch, sample_T, channels]``. A bad value raises ``ValueError``.
    """

    def __init__(
        self,
        batch_size: int = 256,
        sample_T: int = 128,
        channels: int = 128,
        key: int = 0,
        download_dir: str = "./data",
        worker_count: int | None = None,
        shards_dir: str | None = None,
        duration_ms: int = 1000,
        test_drop_remainder: bool = False,
        frames: str = "window",
        values: str = "binary",
        overlap: float = 0.0,
        denoise_us: int = 0,
    ):
        super().__init__("shd", batch_size, key, download_dir, worker_count, shards_dir, test_drop_remainder,
                         sample_T=sample_T, channels=channels, duration_ms=duration_ms, frames=frames,
                         values=values, overlap=overlap, denoise_us=denoise_us)


class NMNIST_loader(ShardLoader):
    """Neuromorphic MNIST from prebuilt shards, with spyx.data's names and shapes.

    ``obs`` is uint8 ``[batch, ceil(sample_T/8), 2, 34, 34]`` (frames ``[t, p, y, x]``,
    bit-packed along time; ``jnp.unpackbits(obs, axis=1, count=sample_T)`` gives 0/1 ``[batch,
    sample_T, 2, 34, 34]``), ``labels`` int32 ``[batch]``. By default, unlike spyx.data (tonic's
    ``ToFrame(n_time_bins=sample_T)``, whose bins stretch over each recording's own first to
    last event), every recording uses one fixed window of ``duration_ms`` (300 ms) cut into
    ``sample_T`` bins; ``frames="tonic_time_bins"`` gives spyx.data's framing. ``frames``,
    ``values``, ``overlap`` and ``denoise_us`` are the builds' frame options
    (:class:`spyx_data.builder.frames.FrameOptions`; their defaults are the window above):
    ``values="counts"`` serves uint16 ``[batch, sample_T, 2, 34, 34]`` event counts,
    ``frames="voxel_grid"`` float32 ``[batch, sample_T, 1, 34, 34]``. Adds ``prestage``; see
    :class:`ShardLoader` for building and epochs.
    """

    def __init__(
        self,
        batch_size: int = 32,
        sample_T: int = 40,
        key: int = 0,
        download_dir: str = "./data",
        worker_count: int | None = None,
        shards_dir: str | None = None,
        duration_ms: int = 300,
        test_drop_remainder: bool = False,
        frames: str = "window",
        values: str = "binary",
        overlap: float = 0.0,
        denoise_us: int = 0,
    ):
        super().__init__("nmnist", batch_size, key, download_dir, worker_count, shards_dir, test_drop_remainder,
                         sample_T=sample_T, duration_ms=duration_ms, frames=frames, values=values, overlap=overlap,
                         denoise_us=denoise_us)


def _build(info: DatasetInfo, spec: Any, download_dir: str, default: BuildOptions) -> manifest_lib.Manifest:
    """Build ``spec`` from tonic's files in ``download_dir`` with the pipeline and the ``default``
    options, in one local worker process."""
    try:
        from pipelines import tonic
        from runners import presets
    except ImportError as e:
        raise ImportError(
            f"no {info.name} shards under {default.output_root} and the build dependencies are missing ({e}); "
            "install them with: pip install 'spyx-data[build]', or pass shards_dir= a finished build"
        ) from e
    # A worker process does the work, so the tuning build workers apply to themselves
    # (allocator thresholds, frozen garbage collection) stays out of this training process.
    options = dataclasses.replace(default, beam_args=presets.preset_flags("processes:1", set()))
    return tonic.build_registered(info, spec, download_dir, options)
