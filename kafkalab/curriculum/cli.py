"""The command line: ``python -m kafkalab.curriculum build|check [--root DIR] [-v]``.

``kafkalab notebooks build|check`` runs the same :func:`main`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from kafkalab.curriculum.build import build, check
from kafkalab.curriculum.layout import BUILD_COMMAND, default_root

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m kafkalab.curriculum build|check [--root DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m kafkalab.curriculum",
        description="Clean the course notebooks, derive exercises, generate the index.",
    )
    parser.add_argument("command", choices=("build", "check"))
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="the notebooks folder (default: notebooks/ in the repository root)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    root = args.root if args.root is not None else default_root()

    if args.command == "build":
        try:
            changed = build(root)
        except (OSError, ValueError) as exc:
            print(f"build failed: {exc}", file=sys.stderr)
            return 1
        for path in changed:
            print(f"wrote {path}")
        if not changed:
            print("nothing to change")
        return 0

    problems = check(root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"run `{BUILD_COMMAND}` to fix what can be regenerated", file=sys.stderr)
        return 1
    print("OK")
    return 0
