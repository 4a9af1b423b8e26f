"""Where and how a build writes, whatever it builds: :class:`BuildOptions`.

What a build is made of is its spec (a dataset's own options are the spec's ``option()`` fields,
:mod:`spyx_data.builder.contracts`); these are the rest, every build's: the output root, the
shards' compression and count, the parts the planning is cut into and Beam's pipeline options.
The Beam entry points make them from the flags ``--output_dir``, ``--compression``,
``--num_shards``, ``--plan_parts`` and the flags they leave to Beam (``pipelines.flags``); the
loaders use the defaults. :meth:`BuildOptions.build_key` is the one rule that names a build, for
the build itself and for the loaders looking for one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from spyx_data.format import manifest, plan


@dataclasses.dataclass(frozen=True)
class BuildOptions:
    """Where and how a build writes.

    Attributes:
        output_root: the folder (any Beam path) the build goes into, as ``<output_root>/<build name>``.
        compression: ArrayRecord compression of the shards, one of :data:`spyx_data.format.plan.COMPRESSIONS`.
        num_shards: shards per split; None: :func:`spyx_data.format.plan.default_num_shards`.
        plan_parts: the planning is cut into this many parallel parts of equal work (for runners
            that cannot redistribute work, as Dask's); the output does not depend on it.
        beam_args: Beam's pipeline options (the runner and its settings), as the flags Beam parses
            (``PipelineOptions(beam_args)``); none: the FnApiRunner in this process.
    """

    output_root: str
    compression: str = "uncompressed"
    num_shards: int | None = None
    plan_parts: int = 1
    beam_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        plan.writer_options(self.compression)  # raises ValueError naming the compressions
        if self.num_shards is not None and (not isinstance(self.num_shards, int) or self.num_shards < 1):
            raise ValueError(f"num_shards must be a positive integer or None, got {self.num_shards!r}")
        if not isinstance(self.plan_parts, int) or self.plan_parts < 1:
            raise ValueError(f"plan_parts must be a positive integer, got {self.plan_parts!r}")
        object.__setattr__(self, "beam_args", tuple(self.beam_args))

    @property
    def writer_options(self) -> str:
        """ArrayRecord's writer options of the shards (:func:`spyx_data.format.plan.writer_options`)."""
        return plan.writer_options(self.compression)

    def build_key(self, spec: Any, inputs: Mapping[str, str], sources: Mapping[str, str]) -> manifest.BuildKey:
        """The key (and so the name) of the build of ``spec`` from ``{split: source path}`` whose
        contents have the digests ``sources``, written with these options
        (:func:`spyx_data.format.manifest.build_key`)."""
        return manifest.build_key(spec, inputs, sources, self.num_shards, self.writer_options)


#: Each option's default, for the flags that set it.
DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(BuildOptions) if f.default is not dataclasses.MISSING}
