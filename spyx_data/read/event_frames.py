"""Frames made on a JAX device from an events build's events: what ``prestage``, ``open_split``
and :class:`~spyx_data.read.event_loader.EventFrames` serve for ``frames=Frames(...)``.

A split's events go to the device once, as flat columns in their stored dtypes (9 bytes a camera
event, 6 a spike), and the samples of each batch are gathered there into an
:class:`~spyx_data.read.events.EventBatch` padded to a bucketed length (:func:`bucket`: at most
25% longer than its longest sample, a few lengths an octave, so that a split compiles a handful of
shapes), optionally augmented (per sample, keys from ``(seed, epoch, index)``), then rasterised
by :func:`~spyx_data.read.rasterise.rasterise`: byte for byte the records of the frames build of
the same flags.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from spyx_data.format import manifest as manifest_lib
from spyx_data.format.framing import Frames
from spyx_data.read.event_split import SplitEvents, event_sensor, frames_layout, load_events
from spyx_data.read.events import EventBatch
from spyx_data.read.rasterise import check_event_columns, rasterise

#: Every batch is padded to at least this many events.
MIN_LENGTH = 64


def bucket(n: int) -> int:
    """The padded length of a batch whose longest sample has ``n`` events: at least
    :data:`MIN_LENGTH`, else ``n`` rounded up to a multiple of a quarter of the power of two below
    it (at most 25% more; 4 lengths an octave)."""
    if n <= MIN_LENGTH:
        return MIN_LENGTH
    step = 1 << (n.bit_length() - 3)
    return -(-n // step) * step


@functools.partial(jax.jit, static_argnames=("frames", "sensor", "length", "transform"))
def _frames_of(columns: tuple[jax.Array, ...], starts: jax.Array, sizes: jax.Array, keys: jax.Array | None,
               frames: Frames, sensor: tuple[int, int, int], length: int, transform: Any) -> jax.Array:
    """Samples starting at ``starts`` (int32 ``[B]``) with ``sizes`` events, gathered from the flat
    ``columns`` padded to ``length``, through ``transform(keys, batch)`` (None: none), rasterised."""
    slot = jnp.arange(length, dtype=jnp.int32)[None, :]
    valid = slot < sizes[:, None]
    at = jnp.where(valid, starts[:, None] + slot, 0)
    fields = [jnp.zeros(at.shape, jnp.int32) if c is None else c[at].astype(jnp.int32) for c in columns]
    batch = EventBatch(*fields, valid)
    if transform is not None:
        batch = transform(keys, batch)
    return rasterise(frames, sensor, batch)


@functools.partial(jax.jit, donate_argnums=0)
def _place(out: jax.Array, b: jax.Array, obs: jax.Array) -> jax.Array:
    """``out`` with ``out[b] = obs``, in place (``out`` donated)."""
    return jax.lax.dynamic_update_index_in_dim(out, obs, b, 0)


class DeviceEvents:
    """Samples ``[start, stop)`` of a split's events on one device, checked once on the host
    (:func:`~spyx_data.read.rasterise.check_event_columns`: a sample's events off the sensor, a
    time past int32, or going back under a mode that splits by time, refused naming its source
    index), and made into frames batch by batch (:meth:`frames`).

    Memory on the device: the columns in their stored dtypes plus one padding event; on the host,
    the offsets (int64 ``[n + 1]``) and labels.
    """

    def __init__(self, events: SplitEvents, frames: Frames, sensor: tuple[int, int, int], device: Any,
                 start: int = 0, stop: int | None = None):
        stop = events.num_samples if stop is None else stop
        at = slice(int(events.offsets[start]), int(events.offsets[stop]))
        self.offsets = events.offsets[start : stop + 1] - events.offsets[start]
        if self.offsets[-1] >= 2**31:
            raise ValueError(f"samples {start}..{stop - 1} hold {int(self.offsets[-1])} events, more than one "
                             "device array indexes with int32: read fewer at a time (several hosts, or EventFrames)")
        columns = [None if c is None else c[at] for c in (events.t, events.x, events.y, events.p)]
        check_event_columns(frames, sensor, columns, self.offsets, first_index=start)
        self.frames, self.sensor, self.start = frames, sensor, start
        self.labels = events.labels[start:stop]
        self.device = device
        # one padding event, so that a gather from no events still has an element to read
        self.columns = tuple(None if c is None else jax.device_put(np.append(c, c.dtype.type(0)), device)
                             for c in columns)

    def __len__(self) -> int:
        return len(self.labels)

    def frames_of(self, rows: np.ndarray, real: int | None = None, keys: jax.Array | None = None,
                  transform: Any = None) -> jax.Array:
        """The records' ``obs`` of samples ``rows`` (of this range, int ``[B]``; rows from ``real``
        on are padding: no events, so all-zero frames), on the device, after ``transform(keys,
        batch)`` where given: ``[B, *layout.obs_shape]``."""
        rows = np.asarray(rows, np.int64)
        real = len(rows) if real is None else real
        sizes = np.zeros(len(rows), np.int32)
        sizes[:real] = self.offsets[rows[:real] + 1] - self.offsets[rows[:real]]
        starts = np.zeros(len(rows), np.int32)
        starts[:real] = self.offsets[rows[:real]]
        length = bucket(int(sizes.max(initial=0)))
        starts, sizes = (jax.device_put(a, self.device) for a in (starts, sizes))
        return _frames_of(self.columns, starts, sizes, keys, self.frames, self.sensor, length, transform)

    def batches(self, n_batches: int, batch_size: int) -> jax.Array:
        """Rows ``[0, n_batches * batch_size)`` in order (rows past the range are padding):
        ``[n_batches, batch_size, *layout.obs_shape]`` on the device, written batch by batch into
        one array."""
        layout = self.frames.layout(self.sensor)
        with jax.default_device(self.device):
            out = jnp.zeros((n_batches, batch_size, *layout.obs_shape), layout.obs_dtype)
        for b in range(n_batches):
            rows = np.arange(b * batch_size, (b + 1) * batch_size)
            out = _place(out, b, self.frames_of(rows, int(np.clip(len(self) - b * batch_size, 0, batch_size))))
        return out


def compute_device(device: Any) -> Any:
    """The one device frames are made on for ``prestage``'s ``device``: itself, a sharding's first
    device of this process, or the default device."""
    if device is None:
        return jax.devices()[0]
    if isinstance(device, jax.sharding.Sharding):
        return min(device.addressable_devices, key=lambda d: d.id)
    return device


def prestage_events(directory: str, split: str, manifest: manifest_lib.Manifest, frames: Frames, start: int,
                    stop: int, n_batches: int, batch_size: int, device: Any, verify: bool) -> tuple[jax.Array,
                                                                                                  np.ndarray]:
    """Records ``[start, stop)`` of an events build's split as :func:`~spyx_data.prestage` of the
    frames build of the same flags cuts them: ``obs`` ``[n_batches, batch_size, *obs_shape]`` on
    ``device`` (:func:`compute_device`), labels int32 ``[n_batches, batch_size]`` on the host
    (``-1`` for padding rows)."""
    events = load_events(directory, split, manifest, verify)
    on = DeviceEvents(events, frames, event_sensor(manifest.layout), compute_device(device), start, stop)
    labels = np.full(n_batches * batch_size, -1, np.int32)
    labels[: len(on)] = on.labels
    return on.batches(n_batches, batch_size), labels.reshape(n_batches, batch_size)


class EventFramesSource:
    """A random-access source of the records of the frames build of ``frames``'s flags, made from
    an events build's split: ``source[i]`` is ``{"obs", "labels", "index"}`` equal to that frames
    build's :class:`~spyx_data.read.split.SplitSource`'s, so :class:`~spyx_data.GrainLoader` and
    what reads a source serve it unchanged. Opening loads the split's events into host memory and
    checks them once; each batch is gathered and rasterised on ``device`` (default the CPU:
    :meth:`read_batch` returns numpy). ``manifest`` is the events build's; :attr:`frames` names
    the frame configuration (a loader's state names it too). Picklable: a Grain worker opens the
    split again.
    """

    def __init__(self, directory: str, split: str, frames: Frames, manifest: manifest_lib.Manifest | None = None,
                 verify: bool = False, device: Any = None):
        self.directory, self.split, self.frames, self.verify = str(directory), split, frames, verify
        self.manifest = manifest or manifest_lib.read_manifest(self.directory)
        self.layout = frames_layout(self.manifest, frames, "open_split")
        self._device_given = device
        device = jax.devices("cpu")[0] if device is None else device
        events = load_events(self.directory, split, self.manifest, verify)
        self.events = DeviceEvents(events, frames, event_sensor(self.manifest.layout), device)

    def __len__(self) -> int:
        return len(self.events)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {key: value[0] for key, value in self.read_batch([index]).items()}

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        batch = self.read_batch(indices)
        return [{key: value[k] for key, value in batch.items()} for k in range(len(batch["index"]))]

    def read_batch(self, indices: Sequence[int]) -> dict[str, np.ndarray]:
        """Samples ``indices`` as one batch: ``obs`` ``[B, *obs_shape]`` of the layout's dtype,
        ``labels`` int32 ``[B]``, ``index`` int64 ``[B]``, numpy.

        Raises:
            IndexError: an index outside the split.
        """
        rows = self.rows(indices)
        return {"obs": np.asarray(self.events.frames_of(rows)), "labels": self.events.labels[rows],
                "index": rows}

    def rows(self, indices: Sequence[int]) -> np.ndarray:
        """``indices`` as int64 rows, each checked to be a sample of the split."""
        rows = np.asarray(indices, np.int64).reshape(-1)
        outside = rows[(rows < 0) | (rows >= len(self))]
        if outside.size:
            raise IndexError(f"index {int(outside[0])} is not in the {len(self)} samples of {self.split!r}")
        return rows

    def __getstate__(self) -> dict[str, Any]:
        return {"args": (self.directory, self.split, self.frames, self.manifest, self.verify, self._device_given)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(*state["args"])

    def __repr__(self) -> str:
        return f"EventFramesSource({self.directory!r}, {self.split!r}, {self.frames}, num_records={len(self)})"
