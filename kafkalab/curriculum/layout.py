"""Where the course's files are: week folders, lessons, the exercise pair and the index.

The course lives in ``notebooks/``, one folder per week, named ``weekNN-slug``
so that the names show the order::

    notebooks/
        README.md                      <- generated index, never edited by hand
        week01-producers-consumers/
            README.md                  <- written by hand
            01-first-producer.ipynb    <- lessons, in order
            02-first-consumer.ipynb
            solutions.ipynb            <- the one source of the exercises
            exercises.ipynb            <- derived from solutions.ipynb
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = [
    "BUILD_COMMAND",
    "EXERCISES_NAME",
    "INDEX_NAME",
    "SOLUTIONS_NAME",
    "WEEK_DIR",
    "WEEK_README_NAME",
    "all_notebooks",
    "default_root",
    "lessons",
    "others",
    "week_number",
    "weeks",
]

INDEX_NAME = "README.md"
SOLUTIONS_NAME = "solutions.ipynb"
EXERCISES_NAME = "exercises.ipynb"
WEEK_README_NAME = "README.md"
#: What regenerates everything derived; the index and ``check`` tell the reader to run it.
BUILD_COMMAND = "python -m kafkalab.curriculum build"

#: ``weekNN-slug``: two digits, then lower-case words joined by hyphens.
WEEK_DIR = re.compile(r"^week(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)$")
_LESSON = re.compile(r"^\d{2}-.+\.ipynb$")


def default_root() -> Path:
    """The ``notebooks/`` folder of the repository this package sits in."""
    return Path(__file__).resolve().parents[2] / "notebooks"


def weeks(root: Path | str) -> list[Path]:
    """Week folders under ``root`` (named ``weekNN-slug``), in week order.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ["week02-speed", "week01-basics", "week3-bad", "notes"]:
    ...         (Path(tmp) / name).mkdir()
    ...     [w.name for w in weeks(tmp)]
    ['week01-basics', 'week02-speed']
    """
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and WEEK_DIR.match(p.name)]
    return sorted(found, key=lambda p: (week_number(p), p.name))


def week_number(week: Path) -> int:
    """The ``NN`` of a ``weekNN-slug`` folder."""
    match = WEEK_DIR.match(week.name)
    if match is None:
        raise ValueError(f"{week.name!r} is not a weekNN-slug folder")
    return int(match.group(1))


def lessons(week: Path) -> list[Path]:
    """The lesson notebooks of a week (``NN-name.ipynb``), in order."""
    return sorted(p for p in week.glob("*.ipynb") if _LESSON.match(p.name))


def others(week: Path) -> list[Path]:
    """Notebooks in a week folder that are neither lessons, exercises nor solutions."""
    special = {EXERCISES_NAME, SOLUTIONS_NAME}
    return sorted(
        p for p in week.glob("*.ipynb") if not _LESSON.match(p.name) and p.name not in special
    )


def all_notebooks(root: Path) -> list[Path]:
    """Every notebook the machinery keeps clean: top-level ones and those in week folders."""
    found = sorted(root.glob("*.ipynb")) if root.is_dir() else []
    for week in weeks(root):
        found.extend(sorted(week.glob("*.ipynb")))
    return found
