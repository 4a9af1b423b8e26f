"""spyx_data: read spike datasets prebuilt by the spyx-data Beam pipelines.

The reader side needs numpy, jax, grain and array-record only (no Beam, no tonic); jax and
grain are imported when first used, so ``import spyx_data`` in a Beam worker costs numpy.
"""

from spyx_data.loaders import NMNIST_loader, SHD_loader, GrainLoader, State
from spyx_data.manifest import Manifest, read_manifest
from spyx_data.prestage import load_split, prestage
from spyx_data.records import RecordLayout
from spyx_data.sources import SplitSource, open_split

__version__ = "0.1.0"
__all__ = [
    "GrainLoader",
    "Manifest",
    "NMNIST_loader",
    "RecordLayout",
    "SHD_loader",
    "SplitSource",
    "State",
    "load_split",
    "open_split",
    "prestage",
    "read_manifest",
]
