"""SSC, the Spiking Speech Commands: 35 spoken words as the spikes of 700 cochlear units, one h5
file per split (read by :mod:`~spyx_data.builder.heidelberg`)."""

from __future__ import annotations

from spyx_data.builder import heidelberg

CLASSES = tuple(
    "yes no up down left right on off stop go zero one two three four five six seven eight nine "
    "bed bird cat dog happy house marvin sheila tree wow backward forward follow learn visual".split()
)

DATASET = heidelberg.dataset_info(
    "ssc", "SSC", CLASSES, {"train": {"split": "train"}, "valid": {"split": "valid"}, "test": {"split": "test"}}
)
