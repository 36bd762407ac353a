"""The curriculum machinery: clean notebooks, derive exercises, generate the index.

The course lives in ``notebooks/``, one ``weekNN-slug`` folder per week (see
:mod:`~kafkalab.curriculum.layout`).

One module per step: :mod:`~kafkalab.curriculum.layout` (where the files
are), :mod:`~kafkalab.curriculum.clean` (the rules a stored notebook follows,
written once for both cleaning and checking),
:mod:`~kafkalab.curriculum.exercises` (``# SOLUTION`` cells become
``# Write your code here``), :mod:`~kafkalab.curriculum.index` (the generated
``README.md``), :mod:`~kafkalab.curriculum.build` (build and check) and
:mod:`~kafkalab.curriculum.cli`.

Run it from the repository root::

    python -m kafkalab.curriculum build   # rewrite what is out of date
    python -m kafkalab.curriculum check   # report what is out of date, exit 1 if any

>>> [w.number for w in PLAN]
[1, 2, 3, 4, 5, 6, 7, 8]
"""

from kafkalab.curriculum.build import build, check
from kafkalab.curriculum.clean import CELL_METADATA_KEPT, KERNELSPEC, LANGUAGE_INFO, RULES, Rule, clean, is_clean
from kafkalab.curriculum.cli import main
from kafkalab.curriculum.exercises import (
    EXERCISE_PLACEHOLDER,
    NOT_DONE_LINE,
    SOLUTION_MARKER,
    exercise_from_solution,
    solution_cells,
)
from kafkalab.curriculum.index import PLAN, PlannedWeek, render_index
from kafkalab.curriculum.layout import default_root, weeks

__all__ = [
    "CELL_METADATA_KEPT",
    "EXERCISE_PLACEHOLDER",
    "KERNELSPEC",
    "LANGUAGE_INFO",
    "NOT_DONE_LINE",
    "PLAN",
    "RULES",
    "SOLUTION_MARKER",
    "PlannedWeek",
    "Rule",
    "build",
    "check",
    "clean",
    "default_root",
    "exercise_from_solution",
    "is_clean",
    "main",
    "render_index",
    "solution_cells",
    "weeks",
]
