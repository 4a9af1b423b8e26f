"""Beam pipelines that build spyx-data shards; run one with ``python -m pipelines.<name>``."""
