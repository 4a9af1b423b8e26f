"""Beam pipelines that build spyx-data shards; run one with ``python -m pipelines.<name>``.

Importing this package imports Beam without letting it configure logging. Where Beam's gcp
extra (needed for Dataflow only) is not installed, Beam's import logs "apitools not found" with
``logging.warning``, whose first use configures the root logger (``logging.basicConfig``): a
handler that prints every record any library's logger passes up, so a build on a Dask local
cluster printed 73 ``INFO:distributed`` lines, from this process and from the workers Dask
spawns (which import the command's module, and so this package). Here the root logger holds a
silent handler while Beam is imported, which drops that warning; then the root logger is as it
was, as where the gcp extra is installed (Dask then keeps its own loggers at warnings).
"""

import logging

_silent = logging.NullHandler()
logging.getLogger().addHandler(_silent)
try:
    import apache_beam  # noqa: F401 (imported here, with the root logger silent)
finally:
    logging.getLogger().removeHandler(_silent)
