"""Pictures of built samples: spike rasters for audio, time slices for camera frames (needs matplotlib)."""

from __future__ import annotations

import numpy as np

from spyx_data.build.raster import unpack_time
from spyx_data.format.manifest import Manifest

DPI = 100


def _figure(width_in: float, height_in: float):
    try:
        import matplotlib
    except ImportError:
        raise ValueError("drawing needs matplotlib: pip install 'spyx-data[plot]'") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, plt.figure(figsize=(width_in, height_in), dpi=DPI)


def audio_png(
    raster: np.ndarray, manifest: Manifest, title: str, output: str, size: tuple[float, float] = (8, 4)
) -> None:
    """Write a spike raster (``[T, channels]``, 0/1 or a class average in [0, 1]) as a PNG.

    Time runs left to right in milliseconds of the build's window, channels bottom to top.
    """
    plt, fig = _figure(*size)
    duration_ms = manifest.config.get("duration_ms", raster.shape[0])
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(raster.T, aspect="auto", origin="lower", cmap="Greys", interpolation="nearest",
                      extent=(0, duration_ms, 0, raster.shape[1]), vmin=0, vmax=max(float(raster.max()), 1e-9))
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("channel")
    ax.set_title(title)
    if raster.max() < 1 or raster.dtype.kind == "f":
        fig.colorbar(image, ax=ax, label="spike probability")
    fig.tight_layout()
    fig.savefig(output, dpi=DPI)
    plt.close(fig)


def frames_png(frames: np.ndarray, manifest: Manifest, title: str, output: str, slices: int = 8,
               size: tuple[float, float] = (12, 3)) -> None:
    """Write camera frames (``[T, P, H, W]`` of 0/1) as a PNG grid of ``slices`` time slices.

    Each slice merges the bins it spans; ON events (polarity 1) are red, OFF (polarity 0) blue,
    merged polarities black.
    """
    plt, fig = _figure(*size)
    sample_T, polarities, height, width = frames.shape
    slices = min(slices, sample_T)
    edges = np.linspace(0, sample_T, slices + 1).astype(int)
    duration_ms = manifest.config.get("duration_ms", sample_T)
    for k in range(slices):
        part = frames[edges[k]:edges[k + 1]].max(axis=0)  # [P, H, W]
        image = np.ones((height, width, 3))
        if polarities == 1:
            image[part[0] > 0] = 0
        else:
            image[part[0] > 0] = (0.1, 0.3, 1.0)
            image[part[1] > 0] = (1.0, 0.2, 0.1)
        ax = fig.add_subplot(1, slices, k + 1)
        ax.imshow(image, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        start, stop = (duration_ms * edges[k] / sample_T, duration_ms * edges[k + 1] / sample_T)
        ax.set_title(f"{start:.0f}-{stop:.0f} ms", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(output, dpi=DPI)
    plt.close(fig)


def plot_sample(obs: np.ndarray, manifest: Manifest, title: str, output: str) -> None:
    """A PNG of one packed sample (or, for audio, a float class average of unpacked rasters)."""
    layout = manifest.layout
    dense = obs if obs.dtype.kind == "f" else unpack_time(obs, layout.sample_T)
    if len(layout.dims) == 1:
        audio_png(dense, manifest, title, output)
    elif len(layout.dims) == 3:
        frames_png(dense, manifest, title, output)
    else:
        raise ValueError(f"no picture for samples of dims {layout.dims}: 1 (audio) or 3 (camera frames) only")
