"""One sample rasterised: the build's vectorised rasterisers (:mod:`spyx_data.builder.raster`) on a
group of one, as the tests state their expectations."""

from __future__ import annotations

import numpy as np

from spyx_data.builder.raster import (
    HEIDELBERG_UNITS,
    US_PER_S,
    BadSample,
    RasterCounts,
    audio_rasters,
    camera_rasters,
    packed_presences,
)


def packed_presence(bins: np.ndarray, coords: tuple[np.ndarray, ...], shape: tuple[int, ...]) -> np.ndarray:
    """One sample's packed binary raster ``uint8[ceil(T/8), *dims]`` (see :func:`spyx_data.builder.raster.packed_presences`)."""
    return packed_presences(np.zeros(len(bins), dtype=np.int64), bins, coords, 1, shape)[0]


def audio_raster(
    times_s: np.ndarray,
    units: np.ndarray,
    sample_T: int,
    channels: int,
    duration_us: int = US_PER_S,
    n_units: int = HEIDELBERG_UNITS,
) -> tuple[np.ndarray, RasterCounts]:
    """One SHD/SSC sample -> packed ``uint8[ceil(sample_T/8), channels]`` (see :func:`spyx_data.builder.raster.audio_rasters`).

    Raises:
        ValueError: naming the event, for a negative time, a unit out of range, or times and
            units of different lengths.
    """
    try:
        packed, counts = audio_rasters([times_s], [units], sample_T, channels, duration_us, n_units)
    except BadSample as e:
        raise ValueError(e.reason) from None
    return packed[0], counts


def camera_raster(
    t_us: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    p: np.ndarray,
    sample_T: int,
    duration_us: int,
    sensor: tuple[int, int, int],
    spatial_factor: int = 1,
    merge_polarity: bool = False,
) -> tuple[np.ndarray, RasterCounts]:
    """One camera recording -> packed ``uint8[ceil(sample_T/8), P, H, W]`` (see :func:`spyx_data.builder.raster.camera_rasters`).

    Raises:
        ValueError: naming the event and the field, for an event off the sensor, a negative
            time, or arrays of different lengths.
    """
    try:
        packed, counts = camera_rasters([(t_us, x, y, p)], sample_T, duration_us, sensor, spatial_factor,
                                        merge_polarity)
    except BadSample as e:
        raise ValueError(e.reason) from None
    return packed[0], counts

