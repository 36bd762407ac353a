"""Clean notebooks: what a stored notebook may contain, written down once as rules.

Notebooks are stored clean (no outputs, no execution counts, as metadata only
the ``kernelspec`` and ``language_info`` JupyterLab writes when it opens a notebook
on the course's kernel, so opening one does not mark it modified, a valid unique
id on every cell) and serialised exactly as :func:`nbformat.write` does, so running
``build`` twice changes nothing and ``check`` can compare bytes.

Each :class:`Rule` in :data:`RULES` says both how to *find* what breaks it and
how to *fix* that. :func:`is_clean` asks every rule what it finds;
:func:`clean` lets every rule fix. Since both walk the same table, they
cannot disagree about what clean means.

>>> [rule.name for rule in RULES]
['nbformat 4.5', 'notebook metadata', 'kernelspec', 'language_info', 'cell ids',
 'cell metadata', 'outputs', 'execution counts']
"""

from __future__ import annotations

import copy
import hashlib
import platform
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import nbformat

__all__ = ["CELL_METADATA_KEPT", "KERNELSPEC", "LANGUAGE_INFO", "RULES", "Rule", "clean", "is_clean",
           "read", "serialise"]

#: The kernel every notebook names: what `kafkalab lab` offers (ipykernel's ``python3`` in the
#: course environment) and JupyterLab writes on open, so opening a notebook changes nothing.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
#: The ``language_info`` that kernel reports and JupyterLab stores on open, but for
#: ``version`` (the kernel's Python): a stored version is kept, a missing one is this
#: Python's, so a rebuild on another Python changes nothing.
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3"}
#: Cell metadata worth keeping (nbval and JupyterLab read tags); the rest is volatile.
CELL_METADATA_KEPT = ("tags",)
#: Notebook metadata worth keeping: the course kernel's, exactly as JupyterLab writes it on open.
NOTEBOOK_METADATA_KEPT = ("kernelspec", "language_info")

_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

#: Where a problem is: 0 for the notebook, else the cell's number (from 1, as a reader counts).
Problem = tuple[int, str]


class Rule(NamedTuple):
    """One thing a clean notebook satisfies.

    ``find(nb)`` yields ``(where, sentence)`` for each breach, ``where`` being
    0 for the notebook or the number of the cell; ``fix(nb)`` repairs the
    notebook in place, after which ``find`` yields nothing.
    """

    name: str
    find: Callable[[nbformat.NotebookNode], Iterator[Problem]]
    fix: Callable[[nbformat.NotebookNode], None]


def _code_cells(nb: nbformat.NotebookNode) -> Iterator[tuple[int, dict]]:
    for number, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") == "code":
            yield number, cell


# -- nbformat 4.5: cell ids need it -------------------------------------------

def _find_minor(nb: nbformat.NotebookNode) -> Iterator[Problem]:
    minor = int(nb.get("nbformat_minor", 0))
    if minor < 5:
        yield 0, f"notebook is nbformat 4.{minor}; 4.5 or later is needed for cell ids"


def _fix_minor(nb: nbformat.NotebookNode) -> None:
    nb["nbformat_minor"] = max(int(nb.get("nbformat_minor", 0)), 5)


# -- notebook metadata: the kernel, nothing about the last run ----------------

def _find_notebook_metadata(nb: nbformat.NotebookNode) -> Iterator[Problem]:
    extra = sorted(k for k in nb.get("metadata", {}) if k not in NOTEBOOK_METADATA_KEPT)
    if extra:
        yield 0, "notebook metadata has volatile keys: " + ", ".join(extra)


def _fix_notebook_metadata(nb: nbformat.NotebookNode) -> None:
    meta = nb.get("metadata", {})
    nb["metadata"] = nbformat.NotebookNode(
        {k: meta[k] for k in NOTEBOOK_METADATA_KEPT if k in meta})


def _find_kernelspec(nb: nbformat.NotebookNode) -> Iterator[Problem]:
    kernelspec = nb.get("metadata", {}).get("kernelspec")
    if kernelspec is None or dict(kernelspec) != KERNELSPEC:
        yield 0, (f"kernelspec is {dict(kernelspec or {})}, not the course's {KERNELSPEC} "
                  "(JupyterLab rewrites it on open, marking the notebook modified)")


def _fix_kernelspec(nb: nbformat.NotebookNode) -> None:
    nb.setdefault("metadata", nbformat.NotebookNode())["kernelspec"] = nbformat.NotebookNode(
        KERNELSPEC)


def _find_language_info(nb: nbformat.NotebookNode) -> Iterator[Problem]:
    # JupyterLab stores the kernel's language_info on open and skips the write
    # (and the "modified" mark) only when the stored value is equal.
    language_info = nb.get("metadata", {}).get("language_info") or {}
    shown = {k: v for k, v in language_info.items() if k != "version"}
    if shown != LANGUAGE_INFO or not language_info.get("version"):
        yield 0, (f"language_info is not what the course kernel reports: {LANGUAGE_INFO} and a "
                  "Python version (JupyterLab rewrites it on open)")


def _fix_language_info(nb: nbformat.NotebookNode) -> None:
    meta = nb.setdefault("metadata", nbformat.NotebookNode())
    version = (meta.get("language_info") or {}).get("version")
    meta["language_info"] = nbformat.from_dict(
        {**LANGUAGE_INFO, "version": version if isinstance(version, str) and version
         else platform.python_version()})


# -- cell ids: valid, unique, and stable from one build to the next -----------

def _id_problem(cell_id: object, seen: dict[str, int]) -> str | None:
    if cell_id is None:
        return "has no id"
    if not isinstance(cell_id, str) or not _CELL_ID.match(cell_id):
        return f"has an invalid id {cell_id!r}"
    if cell_id in seen:
        return f"repeats the id of cell {seen[cell_id]} ({cell_id!r})"
    return None


def _find_ids(nb: nbformat.NotebookNode) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for number, cell in enumerate(nb.get("cells", []), start=1):
        problem = _id_problem(cell.get("id"), seen)
        if problem:
            yield number, f"cell {number} {problem}"
        else:
            seen[cell["id"]] = number


def _derived_id(index: int, cell: dict) -> str:
    """A stable id for a cell that has none: same cell, same place, same id."""
    text = f"{index}\0{cell.get('cell_type', '')}\0{cell.get('source', '')}"
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def _fix_ids(nb: nbformat.NotebookNode) -> None:
    # The same test as _find_ids decides which ids are replaced. A derived id
    # depends only on the cell's place, type and source, so a rebuild gives
    # the same one (nbformat's own repair picks random ids).
    seen: dict[str, int] = {}
    for number, cell in enumerate(nb.get("cells", []), start=1):
        if _id_problem(cell.get("id"), seen):
            cell_id = _derived_id(number - 1, cell)
            while cell_id in seen:
                cell_id = hashlib.sha1(cell_id.encode()).hexdigest()[:12]
            cell["id"] = cell_id
        seen[cell["id"]] = number


# -- cell metadata: tags only --------------------------------------------------

def _find_cell_metadata(nb: nbformat.NotebookNode) -> Iterator[Problem]:
    for number, cell in enumerate(nb.get("cells", []), start=1):
        extra = sorted(k for k in cell.get("metadata", {}) if k not in CELL_METADATA_KEPT)
        if extra:
            yield number, f"cell {number} has volatile metadata: " + ", ".join(extra)


def _fix_cell_metadata(nb: nbformat.NotebookNode) -> None:
    for cell in nb.get("cells", []):
        cell["metadata"] = nbformat.NotebookNode(
            {k: v for k, v in cell.get("metadata", {}).items() if k in CELL_METADATA_KEPT})


# -- what the last run left: outputs and execution counts --------------------

def _find_outputs(nb: nbformat.NotebookNode) -> Iterator[Problem]:
    for number, cell in _code_cells(nb):
        if cell.get("outputs"):
            yield number, f"cell {number} has {len(cell['outputs'])} output(s)"


def _fix_outputs(nb: nbformat.NotebookNode) -> None:
    for _, cell in _code_cells(nb):
        cell["outputs"] = []


def _find_execution_counts(nb: nbformat.NotebookNode) -> Iterator[Problem]:
    for number, cell in _code_cells(nb):
        if cell.get("execution_count") is not None:
            yield number, f"cell {number} has an execution count ({cell['execution_count']})"


def _fix_execution_counts(nb: nbformat.NotebookNode) -> None:
    for _, cell in _code_cells(nb):
        cell["execution_count"] = None


#: Every rule, in the order :func:`clean` applies them; :func:`is_clean`
#: reports the notebook's problems first, then each cell's, in this order.
RULES: tuple[Rule, ...] = (
    Rule("nbformat 4.5", _find_minor, _fix_minor),
    Rule("notebook metadata", _find_notebook_metadata, _fix_notebook_metadata),
    Rule("kernelspec", _find_kernelspec, _fix_kernelspec),
    Rule("language_info", _find_language_info, _fix_language_info),
    Rule("cell ids", _find_ids, _fix_ids),
    Rule("cell metadata", _find_cell_metadata, _fix_cell_metadata),
    Rule("outputs", _find_outputs, _fix_outputs),
    Rule("execution counts", _find_execution_counts, _fix_execution_counts),
)


def _check_version(nb: nbformat.NotebookNode) -> str | None:
    if nb.get("nbformat", 4) != 4:
        return f"notebook is nbformat {nb.get('nbformat')}, not 4"
    return None


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a clean copy of a notebook, ready to be committed.

    Every rule of :data:`RULES` fixes its part: outputs and execution counts
    are removed, cell metadata is limited to :data:`CELL_METADATA_KEPT`,
    notebook metadata to ``kernelspec`` and ``language_info.name``. Cells
    without a valid, unique id get one derived from their position and source,
    so cleaning is deterministic. The input is not modified.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A version 4 notebook.

    Returns
    -------
    nbformat.NotebookNode
        The cleaned copy (nbformat 4.5 or later, since cells carry ids).

    Raises
    ------
    ValueError
        For a notebook that is not nbformat 4.

    Examples
    --------
    >>> from nbformat.v4 import new_notebook, new_code_cell, new_output
    >>> cell = new_code_cell("1 + 1", id="add", execution_count=3,
    ...                      metadata={"scrolled": True, "tags": ["demo"]},
    ...                      outputs=[new_output("execute_result", {"text/plain": "2"})])
    >>> nb = new_notebook(cells=[cell], metadata={"widgets": {}, "language_info":
    ...                   {"name": "python", "version": "3.12.1"}})
    >>> tidy = clean(nb)
    >>> tidy.cells[0].outputs, tidy.cells[0].execution_count, dict(tidy.cells[0].metadata)
    ([], None, {'tags': ['demo']})
    >>> dict(tidy.metadata["kernelspec"]) == KERNELSPEC, tidy.metadata["language_info"]["version"]
    (True, '3.12.1')
    >>> len(nb.cells[0].outputs)  # the original is untouched
    1
    """
    problem = _check_version(nb)
    if problem:
        raise ValueError(f"expected an nbformat 4 notebook, got {nb.get('nbformat')}")
    out = copy.deepcopy(nb)
    for rule in RULES:
        rule.fix(out)
    return nbformat.from_dict(out)


def is_clean(nb: nbformat.NotebookNode) -> list[str]:
    """List what :func:`clean` would remove or fix; empty if the notebook is clean.

    One plain sentence per problem: the notebook's first, then each cell's, in
    the order of :data:`RULES`. Cells are numbered from 1, as a reader counts them.

    Examples
    --------
    >>> from nbformat.v4 import new_notebook, new_code_cell
    >>> nb = new_notebook(cells=[new_code_cell("x = 1", id="x", execution_count=1)],
    ...                   metadata={"kernelspec": KERNELSPEC,
    ...                             "language_info": {**LANGUAGE_INFO, "version": "3.11.7"}})
    >>> is_clean(nb)
    ['cell 1 has an execution count (1)']
    >>> is_clean(clean(nb))
    []
    """
    problem = _check_version(nb)
    if problem:
        return [problem]
    found = [(where, order, text) for order, rule in enumerate(RULES)
             for where, text in rule.find(nb)]
    # Stable: two sentences of one rule about one place keep their order.
    return [text for _, _, text in sorted(found, key=lambda f: (f[0], f[1]))]


def serialise(nb: nbformat.NotebookNode) -> bytes:
    """The bytes :func:`nbformat.write` would put on disk (indent 1, sorted keys, final newline)."""
    text = nbformat.writes(nb, version=4)
    if not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8")


def read(path: Path) -> nbformat.NotebookNode:
    """Read a notebook as version 4 without validating.

    :func:`nbformat.reads` validates, and validation silently replaces repeated
    cell ids with random ones; :func:`clean` repairs them deterministically.
    """
    nb = nbformat.reader.reads(path.read_text(encoding="utf-8"))
    return nbformat.convert(nb, 4)
