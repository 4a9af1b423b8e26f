"""Beam pipelines that build spyx-data shards; run one with ``python -m pipelines.<name>``.

Importing this package imports Beam through :func:`spyx_data.paths.quiet_beam_import`: what
Beam's import logs where a part of it is not installed ("apitools not found", where its gcp
extra, needed for Dataflow only, is not installed) stays off stderr, and does not configure the
root logger, which would then print every record any library passes up (a build on a Dask local
cluster printed 73 ``INFO:distributed`` lines, from this process and from the workers Dask
spawns, which import the command's module and so this package). Dask then keeps its own loggers
at warnings, as where the gcp extra is installed.
"""

from spyx_data.paths import quiet_beam_import

quiet_beam_import()
