"""The registry of datasets the pipelines can build: the dataset modules, one a line.

Each module is a dataset's one home: its format, labels and fixture, and its ``DATASET``
(:class:`~spyx_data.builder.dataset.DatasetInfo`: where its splits lie, the tonic class that
fetches them if tonic has one, sensor, classes, default window, family and options). Adding a
dataset is its module plus its line below; CI then builds it from its fixture.
"""

from __future__ import annotations

from types import ModuleType

from spyx_data.builder import (  # noqa: F401 (registered below, from this module's names)
    asldvs,
    cifar10dvs,
    dvsgesture,
    dvslip,
    ncaltech101,
    ncars,
    nmnist,
    ntidigits18,
    pokerdvs,
    shd,
    smnist,
    ssc,
)
from spyx_data.builder.dataset import DatasetInfo
from spyx_data.errors import UsageError


def _registered(modules: list[ModuleType]) -> dict[str, DatasetInfo]:
    """The ``DATASET`` of each of ``modules`` (the modules imported above), by name, sorted;
    each must be named after its dataset."""
    registry = {}
    for module in modules:
        info = getattr(module, "DATASET", None)
        if not isinstance(info, DatasetInfo) or module.__name__ != f"{__package__}.{info.name}":
            raise ImportError(f"{module.__name__} is imported by the registry, but declares no DATASET named after it")
        registry[info.name] = info
    return dict(sorted(registry.items()))


REGISTRY: dict[str, DatasetInfo] = _registered([v for v in list(globals().values()) if isinstance(v, ModuleType)])


def get(name: str) -> DatasetInfo:
    """The registry entry for ``name``.

    Raises:
        UsageError: an unknown name, listing the known ones.
    """
    try:
        return REGISTRY[name.lower()]
    except KeyError:
        raise UsageError(f"unknown dataset {name!r}; known: {', '.join(sorted(REGISTRY))}") from None
