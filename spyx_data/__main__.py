"""``python -m spyx_data``: the ``spyx-data`` command line (see :mod:`spyx_data.cli`)."""

import sys

from spyx_data.cli import main

if __name__ == "__main__":
    sys.exit(main())
