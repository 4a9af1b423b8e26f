"""Pictures of built samples as PNG files (needs matplotlib: ``pip install "spyx-data[plot]"``).

A sample is drawn as its frames ``[T, *dims]``
(:meth:`~spyx_data.format.records.RecordLayout.frames`): binary 0/1 (a class average holds
spike probabilities in [0, 1]), counts (events per cell; a class average their mean) or float32
values (a voxel grid, ``[T, 1, H, W]``; a class average their mean). How it is drawn depends on
its dims (:func:`picture_kind`):

* ``raster``, one feature dim (audio, a dense vector): time left to right, channel bottom to top;
* ``frames``, a camera build's ``[P, H, W]``: a row of time slices, ON events red, OFF blue
  (purple where both), merged polarities black;
* ``image``, two feature dims (a dense image ``[H, W]``): a row of time slices in grey;
* ``flattened``, any other number of dims (``[H, W, C]``, an angle code of images ``[H, W, N]``): a
  raster whose channels are the dims flattened in C order.

A time slice shows, per cell, for binary values the largest value over the bins it spans
(whether the cell spiked in the slice, or for a class average its highest spike probability
there); for counts the sum over those bins (the events in the slice), as intensities on one
scale for the whole picture, its strongest colour the most events of a cell in a slice (named in the
title); for float32 values the sum too, summed over the frame's planes, on a diverging map
(positive red, negative blue, 0 white) symmetric about 0. A raster draws counts as intensities
and float32 values on the diverging map likewise. Time is in milliseconds of the build's window
where the build has one (``duration_ms``), else in steps.
"""

from __future__ import annotations

import os

import numpy as np

from spyx_data.errors import UsageError
from spyx_data.format.manifest import Manifest

DPI = 100
PLOT_EXTRA = 'pip install "spyx-data[plot]"'
#: The colours of OFF (polarity 0) and ON (polarity 1) events.
OFF, ON = (0.1, 0.3, 1.0), (1.0, 0.2, 0.1)


def require_matplotlib() -> None:
    """Raise :class:`UsageError` saying what to install unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(f"drawing needs matplotlib, which is not installed: {PLOT_EXTRA}") from None


def _figure(width_in: float, height_in: float):
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, plt.figure(figsize=(width_in, height_in), dpi=DPI)


def _save(plt, fig, output: str) -> None:
    """Write ``fig`` as a PNG to exactly ``output``, whole or not at all (a temporary file beside
    it, renamed into place)."""
    partial = os.path.join(os.path.dirname(output) or ".", f".{os.path.basename(output)}.{os.getpid()}.partial")
    try:
        fig.savefig(partial, dpi=DPI, format="png")
        os.replace(partial, output)
    finally:
        plt.close(fig)
        if os.path.exists(partial):
            os.remove(partial)


def picture_kind(manifest: Manifest) -> str:
    """How samples of ``manifest``'s build are drawn: ``raster``, ``frames``, ``image`` or
    ``flattened`` (see the module's docstring). Camera builds are told by their ``sensor``."""
    dims = manifest.layout.dims
    if len(dims) == 1:
        return "raster"
    if len(dims) == 3 and "sensor" in manifest.config:
        return "frames"
    return "image" if len(dims) == 2 else "flattened"


def _time_axis(manifest: Manifest, sample_T: int) -> tuple[float, str]:
    """The window's length and unit: ``duration_ms`` in ms, or ``sample_T`` steps."""
    duration_ms = manifest.config.get("duration_ms")
    return (float(duration_ms), "ms") if isinstance(duration_ms, (int, float)) else (float(sample_T), "step")


def _colours(values: str, frames: np.ndarray) -> dict:
    """``imshow``'s colour map and range for ``frames`` of ``values``: greys from 0 to the
    largest value (binary, counts), or a diverging map symmetric about 0 (float32)."""
    top = max(float(np.abs(frames).max(initial=0)), 1e-9)
    if values == "float32":
        return {"cmap": DIVERGING, "vmin": -top, "vmax": top}
    return {"cmap": "Greys", "vmin": 0, "vmax": top}


#: The colour map of float32 values: positive red, negative blue (a voxel grid's ON and OFF), 0 white.
DIVERGING = "RdBu_r"
#: What the colour bar of a raster is labelled, by values: a class average's, a sample's (None:
#: no bar; a sample of binary values is 0/1).
COLOUR_BAR = {"binary": ("spike probability", None), "counts": ("mean events", "events"),
              "float32": ("mean value", "value")}


def raster_png(raster: np.ndarray, manifest: Manifest, title: str, output: str, channel_label: str = "channel",
               size: tuple[float, float] = (8, 4), average: bool = False) -> None:
    """Write a raster (``[T, channels]`` frames of the build's values, or with ``average`` a
    class's mean of them) as a PNG.

    Time runs left to right (ms of the build's window, or steps), channels bottom to top.
    """
    values = manifest.layout.values
    plt, fig = _figure(*size)
    length, unit = _time_axis(manifest, raster.shape[0])
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(raster.T, aspect="auto", origin="lower", interpolation="nearest",
                      extent=(0, length, 0, raster.shape[1]), **_colours(values, raster))
    ax.set_xlabel(f"time ({unit})")
    ax.set_ylabel(channel_label)
    ax.set_title(title)
    label = COLOUR_BAR[values][0 if average else 1]
    if label:
        fig.colorbar(image, ax=ax, label=label)
    fig.tight_layout()
    _save(plt, fig, output)


def slices_png(frames: np.ndarray, manifest: Manifest, title: str, output: str, slices: int = 8,
               height_in: float = 3) -> None:
    """Write ``[T, H, W]`` images (grey) or ``[T, P, H, W]`` camera frames (ON red, OFF blue,
    purple where both; one polarity black) as a PNG row of ``slices`` time slices (fewer if
    ``T`` is smaller). A slice of binary values shows the largest value of every cell over the
    bins it spans; of counts their sum, scaled by the largest such sum of the picture; of
    float32 values their sum over the bins and planes, on :data:`DIVERGING`."""
    values = manifest.layout.values
    sample_T = frames.shape[0]
    slices = min(slices, sample_T)
    plt, fig = _figure(max(1.5 * slices, 3), height_in)
    edges = np.linspace(0, sample_T, slices + 1).astype(int)
    length, unit = _time_axis(manifest, sample_T)
    combine = np.max if values == "binary" else np.sum
    parts = [combine(frames[edges[k]:edges[k + 1]], axis=0).astype(np.float64) for k in range(slices)]
    if values == "float32" and parts[0].ndim == 3:
        parts = [part.sum(axis=0) for part in parts]  # [H, W]: a voxel grid has one plane
    colours = {"cmap": "Greys", "vmin": 0, "vmax": 1} if values == "binary" else _colours(values, np.stack(parts))
    for k, part in enumerate(parts):  # [H, W] or [P, H, W]
        ax = fig.add_subplot(1, slices, k + 1)
        if part.ndim == 2:
            ax.imshow(part, interpolation="nearest", **colours)
        else:
            ax.imshow(_polarity_colours(part / colours["vmax"]), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        start, stop = length * edges[k] / sample_T, length * edges[k + 1] / sample_T
        ax.set_title(f"{start:.0f}-{stop:.0f} {unit}" if unit == "ms" else f"steps {edges[k]}-{edges[k + 1] - 1}",
                     fontsize=8)
    scale = {"binary": "", "counts": f" (strongest: {colours['vmax']:.4g} events of a cell in a slice)",
             "float32": f" (red +{colours['vmax']:.4g}, blue -{colours['vmax']:.4g}, white 0)"}[values]
    fig.suptitle(title + scale)
    fig.tight_layout()
    _save(plt, fig, output)


def _polarity_colours(part: np.ndarray) -> np.ndarray:
    """RGB ``[H, W, 3]`` of ``[P, H, W]`` values in [0, 1]: white shaded, by the larger value,
    towards black (one polarity) or towards OFF's blue, ON's red, or their mix by value (purple
    where both spiked)."""
    if len(part) == 1:
        return np.repeat(1 - part[0][..., None], 3, axis=-1)
    off, on = part[0][..., None], part[1][..., None]
    colour = (off * np.array(OFF) + on * np.array(ON)) / np.maximum(off + on, 1e-12)
    return 1 - np.maximum(off, on) * (1 - colour)


def plot_sample(sample: np.ndarray, manifest: Manifest, title: str, output: str, average: bool = False) -> None:
    """A PNG of one sample's frames ``[T, *dims]`` (:meth:`~spyx_data.format.records.RecordLayout.frames`:
    0/1, counts or float32 values), or with ``average`` a class's mean of them (float), drawn
    as :func:`picture_kind` says."""
    kind = picture_kind(manifest)
    if kind == "raster":
        raster_png(sample, manifest, title, output, average=average)
    elif kind in ("frames", "image"):
        slices_png(sample, manifest, title, output)
    else:
        dims = list(manifest.layout.dims)
        raster_png(sample.reshape(len(sample), -1), manifest, title, output,
                   channel_label=f"channel: the dims {dims} flattened in C order", average=average)


def plot_events(columns: tuple[np.ndarray, ...], dims: tuple[int, ...], title: str, output: str) -> None:
    """A PNG of one sample of an events build (its columns ``(t, x, y, p)`` or ``(t, unit)``, of
    frame dims ``dims``): a dot per event, time in milliseconds left to right; a spike train's
    unit bottom to top, a camera's pixel ``y * W + x`` bottom to top, ON events red, OFF blue."""
    plt, fig = _figure(10, 4)
    ax = fig.add_subplot()
    t_ms = columns[0] / 1000
    if len(columns) == 2:
        ax.scatter(t_ms, columns[1], s=1, c="black", linewidths=0)
        ax.set_ylim(-0.5, dims[0] - 0.5)
        ax.set_ylabel("unit")
    else:
        _, x, y, p = columns
        pixel = y.astype(np.int64) * dims[2] + x
        ax.scatter(t_ms, pixel, s=1, c=np.where(p[:, None] > 0, ON, OFF) if len(p) else "black", linewidths=0)
        ax.set_ylim(-0.5, dims[1] * dims[2] - 0.5)
        ax.set_ylabel("pixel (y * W + x)")
    ax.set_xlabel("time (ms)")
    ax.set_title(f"{title}: {len(t_ms)} events")
    _save(plt, fig, output)
