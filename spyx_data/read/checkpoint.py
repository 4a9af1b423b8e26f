"""Save and restore a loader's place next to the model, the way Grain's Orbax handler does.

``LoaderCheckpointHandler`` follows ``grain.checkpoint.CheckpointHandler``: in a checkpoint's
item directory it writes ``process_<i>-of-<n>.json``, the :meth:`GrainLoader.get_state` dict of
host ``i`` of ``n``, and restoring gives it to ``set_state``. With ``orbax-checkpoint``
installed it is registered with Orbax as ``LoaderSave`` / ``LoaderRestore`` (in this module)::

    mngr = ocp.CheckpointManager(dir, item_handlers={"model": ocp.StandardCheckpointHandler(),
                                                      "loader": LoaderCheckpointHandler()})
    mngr.save(step, args=ocp.args.Composite(model=ocp.args.StandardSave(params),
                                             loader=LoaderSave(loader)))
    mngr.restore(step, args=ocp.args.Composite(model=..., loader=LoaderRestore(loader)))

Anything with ``get_state``/``set_state`` and ``process_index``/``process_count`` is an item:
a :class:`~spyx_data.read.loader.GrainLoader`; for ``SHD_loader`` / ``NMNIST_loader`` pass their
train loader's state through the same methods.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from spyx_data.errors import UsageError


class LoaderCheckpointHandler:
    """An Orbax ``CheckpointHandler`` for loaders: one JSON file per host."""

    def save(self, directory: Any, item: Any = None, args: Any = None) -> None:
        """Write ``item``'s state (or ``args.item``'s) to ``directory/process_<i>-of-<n>.json``."""
        item = item if item is not None else args.item
        _state_file(directory, item).write_text(json.dumps(item.get_state(), indent=1, sort_keys=True))

    def restore(self, directory: Any, item: Any = None, args: Any = None) -> Any:
        """Give ``item`` (or ``args.item``) the state saved for its host; return it.

        Raises:
            UsageError: no state for this host in ``directory``, or a state of another stream.
        """
        item = item if item is not None else args.item
        path = _state_file(directory, item)
        if not path.exists():
            raise UsageError(f"{path}: no loader state for host {item.process_index} of {item.process_count} "
                             "in this checkpoint")
        item.set_state(json.loads(path.read_text()))
        return item

    def structure(self, directory: Any) -> None:
        return None

    def metadata(self, directory: Any) -> None:
        return None

    def finalize(self, directory: Any) -> None:
        pass

    def close(self) -> None:
        pass

    @classmethod
    def typestr(cls) -> str:
        return f"{cls.__module__}.{cls.__qualname__}"


def _state_file(directory: Any, item: Any):
    from etils import epath

    return epath.Path(directory) / f"process_{item.process_index}-of-{item.process_count}.json"


try:
    import orbax.checkpoint as ocp
except ImportError:  # Orbax is optional: the handler works on its own
    pass
else:

    @ocp.args.register_with_handler(LoaderCheckpointHandler, for_save=True)
    @dataclasses.dataclass
    class LoaderSave(ocp.args.CheckpointArgs):
        item: Any

    @ocp.args.register_with_handler(LoaderCheckpointHandler, for_restore=True)
    @dataclasses.dataclass
    class LoaderRestore(ocp.args.CheckpointArgs):
        item: Any
