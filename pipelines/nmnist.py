"""Build N-MNIST shards: ``python -m pipelines.tonic --dataset=nmnist``, shorter.

    python -m pipelines.nmnist --data_dir=./data --output_dir=./shards [--synthetic=1000]
        [--sample_T=40] [--duration_ms=300] [--first_saccade_only] [--spatial_factor=F] [--num_shards=N]
        [--frames=MODE] [--values=binary|counts] [--overlap=F] [--denoise_us=N]
        [--runner=DirectRunner | --direct_running_mode=multi_processing --direct_num_workers=2 ...]
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from pipelines import tonic
from spyx_data.format.manifest import Manifest


def run(argv: Sequence[str] | None = None) -> Manifest:
    return tonic.run(argv, dataset="nmnist")


def main(argv: Sequence[str] | None = None) -> int:
    return tonic.main(argv, dataset="nmnist")


if __name__ == "__main__":
    sys.exit(main())
