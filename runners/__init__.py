"""Runner presets and launch helpers for the spyx-data Beam pipelines."""
