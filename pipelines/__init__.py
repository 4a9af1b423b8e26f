"""Beam pipelines that build spyx-data shards; run one with ``python -m pipelines.<name>``.

Importing this package keeps one warning of Beam's own import off the root logger: "apitools
not found", which Beam logs where its gcp extra (needed for Dataflow only) is not installed.
"""

import logging


def _not_apitools(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("apitools not found")


logging.getLogger().addFilter(_not_apitools)
