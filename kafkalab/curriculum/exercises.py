"""Exercises derived from solutions: write the solution once, generate the exercise.

In ``solutions.ipynb`` a code cell whose first line is ``# SOLUTION`` is a
solution cell. ``exercises.ipynb`` is the same notebook, :func:`clean`, with
each solution cell replaced by ``# Write your code here`` and the title
``# ... — solutions`` turned into ``# ... — exercises``. A name the solution defines
and a later cell reads (``counts``, ``mask_ids``) stays defined, as ``None``, so
Run All on an unsolved notebook reaches every checker, and each one says "not
done yet" instead of stopping at a ``NameError``.
"""

from __future__ import annotations

import ast
import re

import nbformat

from kafkalab.curriculum.clean import clean

__all__ = ["EXERCISE_PLACEHOLDER", "NOT_DONE_LINE", "SOLUTION_MARKER", "exercise_from_solution",
           "solution_cells"]

#: First line of a solution cell in ``solutions.ipynb``.
SOLUTION_MARKER = "# SOLUTION"
#: What a solution cell becomes in ``exercises.ipynb``.
EXERCISE_PLACEHOLDER = "# Write your code here"
#: What an exercise cell sets each name its solution defines (and later cells read) to,
#: so Run All on an unsolved notebook reaches every checker ("not done yet") instead of
#: stopping at a NameError.
NOT_DONE_LINE = "{name} = None  # not done yet: replace this line with your answer"

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


def _bound_names(source: str) -> list[str]:
    """Names a cell defines at top level (assignments, ``def``, ``class``, imports), in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found = [node.name]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found = [(a.asname or a.name).split(".")[0] for a in node.names]
        else:
            found = [n.id for n in ast.walk(node)
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
        names += [n for n in found if n not in names]
    return names


def _read_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _names_read_later(nb: nbformat.NotebookNode, index: int) -> list[str]:
    """Names cell ``index`` defines that a later code cell reads before one defines them again."""
    pending = _bound_names(nb.cells[index].source)
    found: list[str] = []
    for cell in nb.cells[index + 1:]:
        if cell.cell_type != "code":
            continue
        rebound = set(_bound_names(cell.source)) | {
            n.id for n in ast.walk(_parse(cell.source))
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        read = _read_names(cell.source)
        found += [n for n in pending if n in read and n not in rebound and n not in found]
        pending = [n for n in pending if n not in rebound]
    return [n for n in _bound_names(nb.cells[index].source) if n in found]


def _parse(source: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


def _placeholder(nb: nbformat.NotebookNode, index: int) -> str:
    """``# Write your code here``, then ``name = None`` for each name later cells read."""
    names = _names_read_later(nb, index)
    return "\n".join([EXERCISE_PLACEHOLDER] + [NOT_DONE_LINE.format(name=n) for n in names])


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
    ...     new_code_cell("# SOLUTION\\nproducer.send('t', b'hi')", id="answer"),
    ...     new_code_cell("# SOLUTION\\ndef total(xs):\\n    return sum(xs)", id="fn"),
    ...     new_code_cell("check_total(total)", id="check")])
    >>> ex = exercise_from_solution(nb)
    >>> [c.source for c in ex.cells[:3]]
    ['# Week 1 — exercises\\nSend three messages.', 'from kafkalab import broker', '# Write your code here']
    >>> print(ex.cells[3].source)
    # Write your code here
    total = None  # not done yet: replace this line with your answer
    >>> [c.id for c in ex.cells]
    ['title', 'setup', 'answer', 'fn', 'check']
    """
    out = clean(nb)
    for index in solution_cells(out):
        out.cells[index].source = _placeholder(out, index)
    for cell in out.cells:
        if cell.cell_type == "markdown":
            cell.source = _exercise_title(cell.source)
            break
    return out
