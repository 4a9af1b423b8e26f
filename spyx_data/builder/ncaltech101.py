"""N-Caltech101: ATIS recordings in class folders (``airplanes/image_0001.bin``), recentred as
tonic does; labels are the positions of the class folders sorted (tonic's are their names)."""

from __future__ import annotations

from collections.abc import Iterator

from spyx_data.builder import camera, events, fixtures
from spyx_data.builder.camera import SampleFiles
from spyx_data.builder.dataset import DatasetInfo

#: Class folders of the synthetic data (a few real ones; labels are their sorted order).
FIXTURE_CLASSES = ("BACKGROUND_Google", "Faces_easy", "accordion", "airplanes", "anchor")

#: Labelled by the position of its folder among the class folders, sorted (``classes`` None).
FILES = SampleFiles(".bin", events.atis_bin_chunks, camera.parent_folder, recentre=True)


def fixture(info: DatasetInfo, split: str, n: int, seed: int) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Synthetic recordings laid out as N-Caltech101's, of different sizes as the real ones."""
    width, height, _ = info.sensor
    for i in range(n):
        label_ = i % len(FIXTURE_CLASSES)
        extent = (width - 7 * (i % 5), height - 5 * (i % 3))
        ev = fixtures.camera_sample(seed, info.name, split, i, label_, extent, info.duration_ms * 1000)
        yield (FIXTURE_CLASSES[label_], f"image_{i:04d}.bin"), fixtures.encode_atis_bin(*ev)


DATASET = DatasetInfo(
    name="ncaltech101",
    tonic_class="NCALTECH101",
    tonic_kwargs={"train": {}, "test": {}},
    locations={"train": "NCALTECH101/Caltech101", "test": "NCALTECH101/Caltech101"},
    archives={"train": "NCALTECH101/N-Caltech101-archive.zip", "test": "NCALTECH101/N-Caltech101-archive.zip"},
    sensor=(240, 180, 2),
    classes=None,
    sample_T=30,
    duration_ms=300,
    family=camera.CameraSpec,
    options=("spatial_factor", "merge_polarity", "split_seed", "test_fraction", "split"),
    files=FILES,
    fixture=fixture,
    seeded_test_fraction=0.2,
)
