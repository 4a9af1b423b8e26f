"""How events become frames, as a build and a reader state it: :class:`Frames`, the rules of the
frame options every build that frames events takes, and the frame dims of a sensor.

One definition serves both wings: a build's options (:class:`spyx_data.builder.frames.FrameOptions`)
are checked by :func:`check_frame_options`, and so is a :class:`Frames` a reader is given; the
records a :class:`Frames` describes have the :class:`~spyx_data.format.records.RecordLayout` of
:meth:`Frames.layout`, the layout of the frames build with the same flags.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from spyx_data.format.records import RecordLayout

#: The frame modes of ``--frames``: ``window`` (the builds' own fixed window, the default) and the
#: field's references (tonic's ``ToFrame`` and ``ToVoxelGrid``, SpikingJelly's
#: ``integrate_events_by_fixed_frames_number``; see :mod:`spyx_data.builder.frames`).
MODES = ("window", "tonic_time_bins", "tonic_event_bins", "spikingjelly_number", "spikingjelly_time", "voxel_grid")
#: The modes that take ``--overlap`` (tonic's ``ToFrame`` slicers).
OVERLAPPING = ("tonic_time_bins", "tonic_event_bins")
#: The modes that split a sample by its times, which must not go back.
TIME_SPLIT = ("tonic_time_bins", "spikingjelly_time")
#: What a counting mode stores (``--values``): 0/1 presence (bit-packed) or uint16 event counts.
VALUES = ("binary", "counts")


def check_frame_options(mode: str, values: str, overlap: float, spike_train: bool = False) -> None:
    """Raise ``ValueError`` (one line naming the flag) for a combination the references do not
    define: a mode not in :data:`MODES`, values not in :data:`VALUES`, values with a voxel grid,
    an overlap outside [0, 1) or with a mode not in :data:`OVERLAPPING`, a voxel grid of a spike
    train (``spike_train``)."""
    if mode not in MODES:
        raise ValueError(f"frames must be one of {', '.join(MODES)}, got {mode!r}")
    if values not in VALUES:
        raise ValueError(f"values must be one of {', '.join(VALUES)}, got {values!r}")
    if mode == "voxel_grid" and values != "binary":
        raise ValueError("a voxel grid holds float32 values: leave --values out with --frames=voxel_grid")
    if not isinstance(overlap, (int, float)) or not 0 <= overlap < 1:
        raise ValueError(f"overlap is a fraction of a frame in [0, 1), got {overlap!r}")
    if overlap and mode not in OVERLAPPING:
        raise ValueError(f"--overlap is taken by --frames={' and '.join(OVERLAPPING)} only, not {mode}")
    if spike_train and mode == "voxel_grid":
        raise ValueError("--frames=voxel_grid is tonic's ToVoxelGrid, which needs a camera's 2 polarities; a "
                         "spike train has none: choose another --frames")


def check_voxel_sensor(mode: str, polarities: int, merge_polarity: bool) -> None:
    """Raise ``ValueError`` for a voxel grid of a sensor without 2 polarities, or with them merged."""
    if mode == "voxel_grid" and (polarities != 2 or merge_polarity):
        has = "--merge_polarity" if merge_polarity else f"a sensor of {polarities} polarities"
        raise ValueError(f"--frames=voxel_grid needs the sensor's 2 polarities, not {has}")


def record_values(mode: str, values: str) -> str:
    """The records' :attr:`~spyx_data.format.records.RecordLayout.values` of a mode and ``--values``:
    ``float32`` for a voxel grid, else ``values``."""
    return "float32" if mode == "voxel_grid" else values


def frame_shape(
    sensor: tuple[int, int, int], spatial_factor: int = 1, merge_polarity: bool = False
) -> tuple[int, int, int]:
    """Frame dims ``(P, H, W)`` of a camera ``sensor`` given as tonic's ``(W, H, P)``.

    Spatial downsampling by ``spatial_factor`` keeps every pixel: ``H' = ceil(H / factor)``.
    """
    width, height, polarities = sensor
    f = spatial_factor
    return (1 if merge_polarity else polarities, -(-height // f), -(-width // f))


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


@dataclasses.dataclass(frozen=True)
class Frames:
    """One frame configuration, with the build flags' names: what a frames build's records hold,
    and what a reader makes from an events build's events (equal to that frames build's records).

    Attributes:
        sample_T: frames (time bins) per sample.
        duration_ms: the ``window`` mode's window from the sample's time origin, in ms; the
            other modes stretch over each sample's own events and do not use it (None: not given;
            ``window`` needs it).
        mode: one of :data:`MODES` (the build flag ``--frames``).
        values: one of :data:`VALUES`; a voxel grid is float32 and takes only the default.
        overlap: a fraction of a frame in [0, 1), for the modes of :data:`OVERLAPPING` only.
        channels: for spike trains (events ``(time, unit)``), the channels: unit ``u`` of the
            sensor's ``units`` is channel ``u * channels // units``; None for a camera.
        spatial_factor: a camera's integer downsampling, ``x // f``, ``y // f``.
        merge_polarity: a camera's polarities in one channel.

    A spike train has no pixels nor polarities (``spatial_factor`` 1, ``merge_polarity`` False)
    and no voxel grid. Every refusal is a one-line ``ValueError``, the builds' own
    (:func:`check_frame_options`).
    """

    sample_T: int
    duration_ms: int | None = None
    mode: str = "window"
    values: str = "binary"
    overlap: float = 0.0
    channels: int | None = None
    spatial_factor: int = 1
    merge_polarity: bool = False

    def __post_init__(self) -> None:
        _positive_int("sample_T", self.sample_T)
        if self.duration_ms is not None:
            _positive_int("duration_ms", self.duration_ms)
        check_frame_options(self.mode, self.values, self.overlap, spike_train=self.channels is not None)
        if self.mode == "window" and self.duration_ms is None:
            raise ValueError("--frames=window cuts a window of duration_ms from the time origin: give duration_ms")
        _positive_int("spatial_factor", self.spatial_factor)
        if not isinstance(self.merge_polarity, bool):
            raise ValueError(f"merge_polarity is True or False, got {self.merge_polarity!r}")
        if self.channels is not None:
            _positive_int("channels", self.channels)
            if self.spatial_factor != 1 or self.merge_polarity:
                raise ValueError("a spike train has no pixels nor polarities: leave spatial_factor and "
                                 "merge_polarity out with channels")
        check_voxel_sensor(self.mode, 2, self.merge_polarity)

    @property
    def spike_train(self) -> bool:
        """Whether these are a spike train's frames (``channels`` given), not a camera's."""
        return self.channels is not None

    @property
    def duration_us(self) -> int | None:
        """The window in microseconds (None where not given)."""
        return None if self.duration_ms is None else self.duration_ms * 1000

    @property
    def record_values(self) -> str:
        """The records' :attr:`~spyx_data.format.records.RecordLayout.values` (:func:`record_values`)."""
        return record_values(self.mode, self.values)

    def dims(self, sensor: tuple[int, int, int]) -> tuple[int, ...]:
        """The frame dims of events of the full-resolution ``sensor`` (tonic's ``sensor_size``
        ``(W, H, P)``; a spike train's is ``(units, 1, 1)``): ``(channels,)`` for a spike train,
        :func:`frame_shape` for a camera, ``(1, H', W')`` for a voxel grid.

        Raises:
            ValueError: a sensor that is not 3 positive sizes, a spike train's sensor not
                ``(units, 1, 1)`` or with fewer units than channels, a voxel grid of a sensor
                without 2 polarities.
        """
        if len(sensor) != 3 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sensor):
            raise ValueError(f"a sensor is tonic's sensor_size (W, H, P) of positive integers, got {sensor!r}")
        if self.spike_train:
            units = sensor[0]
            if sensor[1:] != (1, 1) or not self.channels <= units:
                raise ValueError(f"a spike train of {self.channels} channels needs a sensor (units, 1, 1) of at "
                                 f"least that many units, got {sensor!r}")
            return (self.channels,)
        check_voxel_sensor(self.mode, sensor[2], self.merge_polarity)
        dims = frame_shape(sensor, self.spatial_factor, self.merge_polarity)
        return (1, *dims[1:]) if self.mode == "voxel_grid" else dims

    def layout(self, sensor: tuple[int, int, int]) -> RecordLayout:
        """The records' layout for events of the full-resolution ``sensor`` (see :meth:`dims`):
        the layout of the frames build with these flags."""
        return RecordLayout(self.sample_T, self.dims(sensor), self.record_values)

    @classmethod
    def of(cls, manifest: Any) -> Frames:
        """The frame configuration of a frames build, from its
        :class:`~spyx_data.format.manifest.Manifest` (its config's flags): a camera's where the
        config names a ``sensor``, a spike train's (``channels``; S-MNIST: one per neuron)
        otherwise. ``denoise_us`` and the other rules of a build's events (time origin, first
        saccade, crops) are not framing: an events build states its own.

        Raises:
            ValueError: a build whose records are not frames of events (a dense build, or an
                events build), naming the build.
        """
        config = manifest.config
        mode = config.get("frames", "window")
        camera = "sensor" in config
        channels = None if camera else config.get("channels", config.get("num_neurons"))
        if mode not in MODES or not (camera or channels):
            raise ValueError(f"{manifest.build_name} holds no frames of events (frames={mode!r}): "
                             "give the Frames yourself")
        return cls(
            manifest.layout.sample_T, config.get("duration_ms"), mode, config.get("values", "binary"),
            config.get("overlap", 0.0), channels, config.get("spatial_factor", 1),
            config.get("merge_polarity", False),
        )
