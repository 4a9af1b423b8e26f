"""Beam pipelines that build spyx-data shards; run one with ``python -m pipelines.<name>``.

Importing this package keeps what Beam's own import logs where a part of it is not installed
off stderr (:func:`spyx_data.paths.quiet_beam_import`): "apitools not found", where its gcp
extra (needed for Dataflow only) is not installed.
"""

from spyx_data.paths import quiet_beam_import

quiet_beam_import()
