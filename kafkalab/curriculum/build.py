"""Build and check the course: clean every notebook, derive the exercises, write the index.

:func:`build` writes only what changed, so a second run writes nothing;
:func:`check` reports, in plain words, everything ``build`` would change or
cannot fix (CI runs it, and so does ``tests/test_curriculum.py``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from kafkalab.curriculum.clean import clean, is_clean, read, serialise
from kafkalab.curriculum.exercises import SOLUTION_MARKER, exercise_from_solution, solution_cells
from kafkalab.curriculum.index import render_index
from kafkalab.curriculum.layout import (
    EXERCISES_NAME,
    INDEX_NAME,
    SOLUTIONS_NAME,
    WEEK_DIR,
    WEEK_README_NAME,
    all_notebooks,
    lessons,
    week_number,
    weeks,
)

__all__ = ["build", "check"]

# One logger for the package: ``-v`` output reads as it always has.
log = logging.getLogger("kafkalab.curriculum")


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    path.write_bytes(data)
    log.info("wrote %s", path)
    return True


def build(root: Path | str) -> list[Path]:
    """Clean every notebook, regenerate each ``exercises.ipynb`` and the index.

    Files are only written when their bytes change, so a second run returns an
    empty list.

    Parameters
    ----------
    root : path-like
        The ``notebooks/`` folder.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order they were written.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no notebooks folder at {root}")
    changed: list[Path] = []
    derived = {week / EXERCISES_NAME for week in weeks(root) if (week / SOLUTIONS_NAME).is_file()}
    for path in all_notebooks(root):
        if path in derived:
            continue
        if _write_if_changed(path, serialise(clean(read(path)))):
            changed.append(path)
    for exercises in sorted(derived):
        solutions = read(exercises.with_name(SOLUTIONS_NAME))
        if not solution_cells(solutions):
            log.warning("%s has no %r cells", exercises.with_name(SOLUTIONS_NAME), SOLUTION_MARKER)
        if _write_if_changed(exercises, serialise(exercise_from_solution(solutions))):
            changed.append(exercises)
    index = root / INDEX_NAME
    if _write_if_changed(index, render_index(root).encode("utf-8")):
        changed.append(index)
    log.info("build changed %d file(s)", len(changed))
    return changed


def check(root: Path | str) -> list[str]:
    """Everything :func:`build` would change or cannot fix, in plain words.

    Reports notebooks with outputs or volatile metadata (or not in the
    canonical serialisation), an ``exercises.ipynb`` that differs from what its
    ``solutions.ipynb`` gives, a ``solutions.ipynb`` without solution cells, a
    week folder missing ``solutions.ipynb``, ``exercises.ipynb``, ``README.md``
    or lesson notebooks, a misnamed or duplicate week folder, and a missing or
    stale index. ``root`` is the ``notebooks/`` folder, as for :func:`build`;
    the result has one sentence per problem and is empty if all is well.
    """
    root = Path(root)
    if not root.is_dir():
        return [f"there is no notebooks folder at {root}"]
    problems: list[str] = []

    def rel(path: Path) -> str:
        return path.relative_to(root).as_posix()

    for path in sorted(root.iterdir()):
        if path.is_dir() and path.name.lower().startswith("week") and not WEEK_DIR.match(path.name):
            problems.append(
                f"{rel(path)}/ looks like a week folder but is not named weekNN-slug "
                "(two digits, lower-case words joined by hyphens)"
            )
    numbers: dict[int, Path] = {}
    for week in weeks(root):
        number = week_number(week)
        if number in numbers:
            problems.append(f"{rel(week)}/ has the same week number as {rel(numbers[number])}/")
        numbers.setdefault(number, week)
        for name in (SOLUTIONS_NAME, EXERCISES_NAME, WEEK_README_NAME):
            if not (week / name).is_file():
                problems.append(f"{rel(week)}/ has no {name}")
        if not lessons(week):
            problems.append(f"{rel(week)}/ has no lesson notebooks (01-....ipynb)")

    derived = {week / EXERCISES_NAME for week in weeks(root) if (week / SOLUTIONS_NAME).is_file()}
    for path in all_notebooks(root):
        if path in derived:
            continue
        try:
            nb = read(path)
        except (OSError, ValueError) as exc:
            problems.append(f"{rel(path)} cannot be read as a notebook: {exc}")
            continue
        dirty = is_clean(nb)
        if dirty:
            problems.append(f"{rel(path)} is not clean: " + "; ".join(dirty))
        elif path.read_bytes() != serialise(clean(nb)):
            problems.append(f"{rel(path)} is not in the canonical notebook format")
        if path.name == SOLUTIONS_NAME and path.parent != root and not solution_cells(nb):
            problems.append(f"{rel(path)} has no cells starting with {SOLUTION_MARKER!r}")
        if path.name == SOLUTIONS_NAME and path.parent != root:
            exercises = path.with_name(EXERCISES_NAME)
            if exercises.is_file() and exercises.read_bytes() != serialise(
                exercise_from_solution(nb)
            ):
                problems.append(f"{rel(exercises)} differs from what {rel(path)} gives")

    index = root / INDEX_NAME
    if not index.is_file():
        problems.append(f"{rel(index)} (the index) is missing")
    elif index.read_text(encoding="utf-8") != render_index(root):
        problems.append(f"{rel(index)} (the index) is out of date")

    for problem in problems:
        log.info("%s", problem)
    return problems
