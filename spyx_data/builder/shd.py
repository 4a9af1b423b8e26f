"""SHD, the Spiking Heidelberg Digits: spoken digits, English and German, as the spikes of 700
cochlear units, one h5 file per split (read by :mod:`~spyx_data.builder.heidelberg`)."""

from __future__ import annotations

from spyx_data.builder import heidelberg

CLASSES = tuple(f"english-{w}" for w in "zero one two three four five six seven eight nine".split()) + tuple(
    f"german-{w}" for w in "null eins zwei drei vier fuenf sechs sieben acht neun".split()
)

DATASET = heidelberg.dataset_info("shd", "SHD", CLASSES, {"train": {"train": True}, "test": {"train": False}})
