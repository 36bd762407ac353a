"""Real data sets the course replays through Kafka, beside the seeded generators.

The generators in :mod:`kafkalab.sampledata` and each week's simulators stay
for scale and faults; these files are small samples of real data nobody on
this project wrote. Each lives in the repository's ``data/`` folder as
``<name>.csv`` or ``<name>.jsonl``; ``data/README.md`` gives its source and
licence. One function reads them all: :func:`load`.

>>> sorted(names()) == sorted(names())
True
>>> load("no-such-set")
Traceback (most recent call last):
  ...
KeyError: "no data set 'no-such-set' in data/ (have: ...)"
>>> load("../pyproject")
Traceback (most recent call last):
  ...
KeyError: "no data set '../pyproject' in data/ (have: ...)"
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

__all__ = ["data_dir", "load", "names"]


def data_dir() -> Path:
    """The repository's ``data/`` folder (beside ``notebooks/``)."""
    return Path(__file__).resolve().parents[1] / "data"


def names() -> list[str]:
    """The data sets in ``data/``: file names without ``.csv`` / ``.jsonl``."""
    folder = data_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.iterdir() if p.suffix in (".csv", ".jsonl"))


def load(name: str, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The rows of data set ``name`` as dicts, in file order (at most ``limit`` of them).

    CSV values stay strings (each lesson converts what it needs, as a consumer
    of real data must); JSON lines keep their JSON types.
    """
    found = {p.stem: p for p in sorted(data_dir().glob("*")) if p.suffix in (".csv", ".jsonl")}
    if name not in found:  # also refuses a path ("../x"): only the files in data/ are sets
        raise KeyError(f"no data set {name!r} in data/ (have: {', '.join(sorted(found)) or 'none'})")
    path = found[name]
    suffix = path.suffix
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        if suffix == ".csv":
            reader: Any = csv.DictReader(handle)
        else:
            reader = (json.loads(line) for line in handle if line.strip())
        for row in reader:
            if limit is not None and len(rows) >= limit:
                break
            rows.append(row)
    return rows
