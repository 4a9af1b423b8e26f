"""Build Spiking Heidelberg Digits shards: ``python -m pipelines.tonic --dataset=shd``, shorter.

    python -m pipelines.shd --data_dir=./data --output_dir=./shards [--synthetic=1000]
        [--sample_T=128] [--channels=128] [--duration_ms=1000] [--num_shards=N]
        [--frames=window|tonic_time_bins|tonic_event_bins|spikingjelly_number|spikingjelly_time|events]
        [--values=binary|counts] [--overlap=F] [--denoise_us=N]
        [--runner=DirectRunner | --direct_running_mode=multi_processing --direct_num_workers=2 ...]
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from pipelines import tonic
from spyx_data.format.manifest import Manifest


def run(argv: Sequence[str] | None = None) -> Manifest:
    return tonic.run(argv, dataset="shd")


def main(argv: Sequence[str] | None = None) -> int:
    return tonic.main(argv, dataset="shd")


if __name__ == "__main__":
    sys.exit(main())
