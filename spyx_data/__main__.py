"""``python -m spyx_data verify DIR``: check a build against its manifest (exit 1 naming each problem)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from spyx_data.verify import verify


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spyx_data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="recompute each shard's sha256 and record count, decode every record")
    check.add_argument("directory", help="a build folder (the one holding manifest.json)")
    args = parser.parse_args(argv)
    manifest, problems = verify(args.directory)
    for problem in problems:
        print(f"FAILED {problem}", file=sys.stderr)
    if problems:
        return 1
    shards = sum(len(info.shards) for info in manifest.splits.values())
    records = sum(info.num_records for info in manifest.splits.values())
    print(f"ok: {args.directory}: {len(manifest.splits)} splits, {shards} shards, {records} records verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
