"""The lazy form of frames of an events build: :class:`EventFrames`, only the events on the device,
batch ``g`` rasterised (and augmented) when asked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from spyx_data.format.framing import Frames
from spyx_data.read.augment import Compose, EventMix, sample_keys
from spyx_data.read.event_frames import EventFramesSource
from spyx_data.read.loader import GrainLoader, State


class EventFrames(GrainLoader):
    """Batches of frames made on a device from an events build's split, one epoch per ``iter()``,
    as ``State(obs, labels)`` of JAX arrays on ``device``: for splits whose frames do not fit on
    the device, where :func:`~spyx_data.prestage` with ``frames=`` would put them all there.

    The split's events go to ``device`` once (9 bytes a camera event, 6 a spike; checked on the
    host first, as :func:`~spyx_data.prestage` checks them); batch ``g`` is gathered there, each
    sample augmented by ``transforms`` and rasterised when it is asked for. Which samples make
    batch ``g``, the epochs, ``len``, ``epoch``, :meth:`get_state` / :meth:`set_state` and the
    hosts' parts are :class:`~spyx_data.GrainLoader`'s (the same rule,
    :class:`~spyx_data.read.loader.EpochBatches`): without transforms, the batches equal a
    ``GrainLoader`` over the frames build of the same flags with the same settings (with
    ``shuffle=False`` on one host, :func:`~spyx_data.prestage`'s batches in order), and a run
    resumed from a state continues exactly.

    Args:
        directory: the events build (``--frames=events``).
        split: e.g. ``"train"``.
        batch_size: samples per batch (on this host).
        frames: the frames to make (:class:`~spyx_data.Frames`).
        shuffle: shuffle the order each epoch, as ``GrainLoader``'s.
        seed: the shuffle's and the augmentations' seed.
        drop_remainder: as ``GrainLoader``'s.
        transforms: event-space augmentations (:mod:`spyx_data.read.augment`, e.g.
            ``DropEvent``), applied in order to every sample before rasterising, as
            ``Compose(transforms)``: sample ``i`` of epoch ``e`` draws from
            ``sample_keys(seed, e, i)``, so its draw does not depend on the batch size, the
            batch it falls in, the number of devices, or a resume. ``EventMix`` mixes two samples
            and their labels: apply it in the training step.
        device: the ``jax.Device`` holding the events and making the frames (default: the
            default device).
        process_index: this host, as ``GrainLoader``'s.
        process_count: the number of hosts, as ``GrainLoader``'s.
        verify: also recompute each shard's sha256 against the manifest.

    Raises:
        UsageError, ValueError: as ``GrainLoader``'s and ``prestage``'s for ``frames``;
            ``EventMix`` or a transform that is not an event augmentation.
    """

    def __init__(
        self,
        directory: str,
        split: str,
        batch_size: int,
        frames: Frames,
        shuffle: bool = False,
        seed: int = 0,
        drop_remainder: bool = True,
        transforms: Sequence[Any] = (),
        device: Any = None,
        process_index: int | None = None,
        process_count: int | None = None,
        verify: bool = False,
    ):
        transforms = tuple(transforms)
        for j, transform in enumerate(transforms):
            if isinstance(transform, EventMix) or not callable(transform):
                raise ValueError(f"transforms[{j}] ({type(transform).__name__}) is not an event augmentation "
                                 "called as transform(keys, batch); apply EventMix in the training step")
        device = jax.devices()[0] if device is None else device
        source = EventFramesSource(directory, split, frames, verify=verify, device=device)
        super().__init__(source, batch_size, shuffle, seed, None, drop_remainder, transforms, process_index,
                         process_count)
        self._augment = Compose(transforms) if transforms else None

    def _read(self, g: int) -> State:
        """Batch ``g`` of the stream, made on the device."""
        epoch, indices, real = self._batches.indices(g)
        events = self.dataset.events
        keys = None
        if self._augment is not None:
            with jax.default_device(events.device):
                keys = sample_keys(self.seed, epoch, indices)
        obs = events.frames_of(indices, real, keys, self._augment)
        labels = np.full(len(indices), -1, np.int32)
        labels[:real] = events.labels[indices[:real]]
        return State(obs=obs, labels=jax.device_put(labels, events.device))
