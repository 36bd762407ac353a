"""Exercises derived from solutions: write the solution once, generate the exercise.

In ``solutions.ipynb`` a code cell whose first line is ``# SOLUTION`` is a
solution cell. ``exercises.ipynb`` is the same notebook, :func:`clean`, with
each solution cell replaced by ``# Write your code here`` and the title
``# ... — solutions`` turned into ``# ... — exercises``.
"""

from __future__ import annotations

import re

import nbformat

from kafkalab.curriculum.clean import clean

__all__ = ["EXERCISE_PLACEHOLDER", "SOLUTION_MARKER", "exercise_from_solution", "solution_cells"]

#: First line of a solution cell in ``solutions.ipynb``.
SOLUTION_MARKER = "# SOLUTION"
#: What a solution cell becomes in ``exercises.ipynb``.
EXERCISE_PLACEHOLDER = "# Write your code here"

_SOLUTIONS_TITLE = re.compile(r"^(#\s+.*?\s+[—–-]\s+)(solutions)\s*$", re.IGNORECASE)


def _is_solution_cell(cell: dict) -> bool:
    if cell.get("cell_type") != "code":
        return False
    lines = cell.get("source", "").splitlines()
    return bool(lines) and lines[0].strip() == SOLUTION_MARKER


def solution_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Positions (from 0) of the solution cells: code cells whose first line is ``# SOLUTION``.

    Examples
    --------
    >>> from nbformat.v4 import new_notebook, new_code_cell, new_markdown_cell
    >>> nb = new_notebook(cells=[new_markdown_cell("# SOLUTION"),
    ...                          new_code_cell("# SOLUTION\\nx = 1"),
    ...                          new_code_cell("x = 1  # SOLUTION")])
    >>> solution_cells(nb)
    [1]
    """
    return [i for i, cell in enumerate(nb.get("cells", [])) if _is_solution_cell(cell)]


def _exercise_title(source: str) -> str:
    lines = source.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("# "):
            match = _SOLUTIONS_TITLE.match(line)
            if match:
                word = match.group(2)
                new = "EXERCISES" if word.isupper() else "Exercises" if word[0].isupper() else "exercises"
                lines[i] = match.group(1) + new
            break
    return "\n".join(lines)


def exercise_from_solution(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Derive the exercise notebook from a solution notebook.

    The result is :func:`clean`, each solution cell's source is replaced by
    ``# Write your code here`` and, in the first markdown cell, a title
    ``# ... — solutions`` becomes ``# ... — exercises``. Cells keep their order,
    ids and tags.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The solution notebook (left unmodified).

    Returns
    -------
    nbformat.NotebookNode

    Examples
    --------
    >>> from nbformat.v4 import new_notebook, new_code_cell, new_markdown_cell
    >>> nb = new_notebook(cells=[
    ...     new_markdown_cell("# Week 1 — solutions\\nSend three messages.", id="title"),
    ...     new_code_cell("from kafkalab import broker", id="setup"),
    ...     new_code_cell("# SOLUTION\\nproducer.send('t', b'hi')", id="answer")])
    >>> ex = exercise_from_solution(nb)
    >>> [c.source for c in ex.cells]
    ['# Week 1 — exercises\\nSend three messages.', 'from kafkalab import broker', '# Write your code here']
    >>> [c.id for c in ex.cells]
    ['title', 'setup', 'answer']
    """
    out = clean(nb)
    for index in solution_cells(out):
        out.cells[index].source = EXERCISE_PLACEHOLDER
    for cell in out.cells:
        if cell.cell_type == "markdown":
            cell.source = _exercise_title(cell.source)
            break
    return out
