"""The curriculum machinery: clean notebooks, derive exercises, generate the index.

The course lives in ``notebooks/``, one folder per week::

    notebooks/
        README.md                      <- generated index, never edited by hand
        week01-producers-consumers/
            README.md                  <- written by hand
            01-first-producer.ipynb    <- lessons, in order
            02-first-consumer.ipynb
            solutions.ipynb            <- the one source of the exercises
            exercises.ipynb            <- derived from solutions.ipynb

In ``solutions.ipynb`` a code cell whose first line is ``# SOLUTION`` is a
solution cell. ``exercises.ipynb`` is the same notebook with each solution cell
replaced by ``# Write your code here``, the title ``# ... — solutions`` turned
into ``# ... — exercises`` and every output removed. A name the solution defines
and a later cell reads (``counts``, ``mask_ids``) stays defined, as ``None``, so
Run All on an unsolved notebook reaches every checker, and each one says "not
done yet" instead of stopping at a ``NameError``.

Notebooks are stored clean (no outputs, no execution counts, and as metadata
only the ``kernelspec`` and ``language_info`` JupyterLab writes when it opens a
notebook on the course's kernel, so opening one does not mark it modified) and
serialised exactly as
:func:`nbformat.write` does, so running ``build`` twice changes nothing and
``check`` can compare bytes.

Run it from the repository root::

    python -m kafkalab.curriculum build   # rewrite what is out of date
    python -m kafkalab.curriculum check   # report what is out of date, exit 1 if any

>>> [w.number for w in PLAN]
[1, 2, 3, 4, 5, 6, 7, 8]
>>> PLAN[0].level, PLAN[-1].level
('beginner', 'expert')
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import logging
import platform
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

import nbformat

__all__ = [
    "CELL_METADATA_KEPT",
    "EXERCISE_PLACEHOLDER",
    "KERNELSPEC",
    "LANGUAGE_INFO",
    "PLAN",
    "SOLUTION_MARKER",
    "PlannedWeek",
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

log = logging.getLogger(__name__)


class PlannedWeek(NamedTuple):
    """One row of the course plan."""

    number: int
    level: str
    topic: str


#: The 8-week plan, shown as a table at the top of the generated index.
PLAN: tuple[PlannedWeek, ...] = (
    PlannedWeek(1, "beginner", "Producers, consumers and topics"),
    PlannedWeek(2, "beginner", "Reliability and speed"),
    PlannedWeek(
        3,
        "intermediate",
        "Events, services, event sourcing and CQRS for order processing",
    ),
    PlannedWeek(4, "intermediate", "The saga: compensation, idempotency and faults"),
    PlannedWeek(5, "advanced", "Real-time log aggregation"),
    PlannedWeek(6, "advanced", "Stream processing, windows and live dashboards"),
    PlannedWeek(7, "expert", "Change data capture and IoT pipelines"),
    PlannedWeek(
        8,
        "expert",
        "Production readiness: monitoring, lag, tuning and failure recovery",
    ),
)

#: First line of a solution cell in ``solutions.ipynb``.
SOLUTION_MARKER = "# SOLUTION"
#: What a solution cell becomes in ``exercises.ipynb``.
EXERCISE_PLACEHOLDER = "# Write your code here"
#: What an exercise cell sets each name its solution defines (and later cells read) to.
NOT_DONE_LINE = "{name} = None  # not done yet: replace this line with your answer"
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

INDEX_NAME = "README.md"
SOLUTIONS_NAME = "solutions.ipynb"
EXERCISES_NAME = "exercises.ipynb"
WEEK_README_NAME = "README.md"
BUILD_COMMAND = "python -m kafkalab.curriculum build"

_WEEK_DIR = re.compile(r"^week(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)$")
_LESSON = re.compile(r"^\d{2}-.+\.ipynb$")
_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SOLUTIONS_TITLE = re.compile(r"^(#\s+.*?\s+[—–-]\s+)(solutions)\s*$", re.IGNORECASE)
_WEEK_PREFIX = re.compile(r"^week\s*0*\d+\s*[—–:.-]\s*", re.IGNORECASE)


# ---------------------------------------------------------------- notebooks


def _derived_id(index: int, cell: dict) -> str:
    """A stable id for a cell that has none: same cell, same place, same id."""
    text = f"{index}\0{cell.get('cell_type', '')}\0{cell.get('source', '')}"
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a clean copy of a notebook, ready to be committed.

    Outputs and execution counts are removed, cell metadata is limited to
    :data:`CELL_METADATA_KEPT`, notebook metadata to the course kernel's
    ``kernelspec`` and ``language_info`` (:data:`KERNELSPEC`, :data:`LANGUAGE_INFO`
    and a Python ``version``), whatever the notebook had. Cells without a valid, unique id get one derived
    from their position and source, so cleaning is deterministic. The input is
    not modified.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A version 4 notebook.

    Returns
    -------
    nbformat.NotebookNode
        The cleaned copy (nbformat 4.5 or later, since cells carry ids).

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
    out = copy.deepcopy(nb)
    if out.get("nbformat", 4) != 4:
        raise ValueError(f"expected an nbformat 4 notebook, got {out.get('nbformat')}")
    out["nbformat_minor"] = max(int(out.get("nbformat_minor", 0)), 5)

    meta = out.get("metadata", {})
    kept = nbformat.NotebookNode()
    kept["kernelspec"] = nbformat.NotebookNode(KERNELSPEC)
    version = meta.get("language_info", {}).get("version")
    kept["language_info"] = nbformat.from_dict(
        {**LANGUAGE_INFO, "version": version if isinstance(version, str) and version
         else platform.python_version()})
    out["metadata"] = kept

    seen: set[str] = set()
    for index, cell in enumerate(out.get("cells", [])):
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or not _CELL_ID.match(cell_id) or cell_id in seen:
            cell_id = _derived_id(index, cell)
            while cell_id in seen:
                cell_id = hashlib.sha1(cell_id.encode()).hexdigest()[:12]
            cell["id"] = cell_id
        seen.add(cell_id)
        cell["metadata"] = nbformat.NotebookNode(
            {k: v for k, v in cell.get("metadata", {}).items() if k in CELL_METADATA_KEPT}
        )
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return nbformat.from_dict(out)


def is_clean(nb: nbformat.NotebookNode) -> list[str]:
    """List what :func:`clean` would remove or fix; empty if the notebook is clean.

    Cells are numbered from 1, as a reader counts them.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A version 4 notebook.

    Returns
    -------
    list of str
        One plain sentence per problem.

    Examples
    --------
    >>> from nbformat.v4 import new_notebook, new_code_cell
    >>> nb = new_notebook(cells=[new_code_cell("x = 1", id="x", execution_count=1)],
    ...                   metadata={"kernelspec": KERNELSPEC})
    >>> is_clean(nb)
    ['cell 1 has an execution count (1)']
    >>> is_clean(clean(nb))
    []
    """
    problems: list[str] = []
    if nb.get("nbformat", 4) != 4:
        return [f"notebook is nbformat {nb.get('nbformat')}, not 4"]
    minor = int(nb.get("nbformat_minor", 0))
    if minor < 5:
        problems.append(f"notebook is nbformat 4.{minor}; 4.5 or later is needed for cell ids")

    meta = nb.get("metadata", {})
    extra = sorted(k for k in meta if k not in ("kernelspec", "language_info"))
    if extra:
        problems.append("notebook metadata has volatile keys: " + ", ".join(extra))
    if "kernelspec" in meta and dict(meta["kernelspec"]) != KERNELSPEC:
        problems.append(f"kernelspec is {dict(meta.get('kernelspec') or {})}, not the course's "
                        f"{KERNELSPEC} (JupyterLab rewrites it on open)")
    language_info = meta.get("language_info")
    if language_info is not None:
        shown = {k: v for k, v in language_info.items() if k != "version"}
        if shown != LANGUAGE_INFO or not language_info.get("version"):
            problems.append(f"language_info is not what the course kernel reports: {LANGUAGE_INFO} "
                            "and a Python version (JupyterLab rewrites it on open)")

    seen: dict[str, int] = {}
    for number, cell in enumerate(nb.get("cells", []), start=1):
        cell_id = cell.get("id")
        if cell_id is None:
            problems.append(f"cell {number} has no id")
        elif not isinstance(cell_id, str) or not _CELL_ID.match(cell_id):
            problems.append(f"cell {number} has an invalid id {cell_id!r}")
        elif cell_id in seen:
            problems.append(f"cell {number} repeats the id of cell {seen[cell_id]} ({cell_id!r})")
        else:
            seen[cell_id] = number
        extra = sorted(k for k in cell.get("metadata", {}) if k not in CELL_METADATA_KEPT)
        if extra:
            problems.append(f"cell {number} has volatile metadata: " + ", ".join(extra))
        if cell.get("cell_type") == "code":
            if cell.get("outputs"):
                problems.append(f"cell {number} has {len(cell['outputs'])} output(s)")
            if cell.get("execution_count") is not None:
                problems.append(
                    f"cell {number} has an execution count ({cell['execution_count']})"
                )
    return problems


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
    ``# Write your code here`` followed by ``name = None`` for each name the
    solution defines and a later cell reads (so the checker runs and says "not
    done yet" instead of a ``NameError`` stopping Run All) and, in the first markdown cell, a title
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


def _serialise(nb: nbformat.NotebookNode) -> bytes:
    """The bytes :func:`nbformat.write` would put on disk (indent 1, sorted keys, final newline)."""
    text = nbformat.writes(nb, version=4)
    if not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8")


def _read(path: Path) -> nbformat.NotebookNode:
    """Read a notebook as version 4 without validating.

    :func:`nbformat.reads` validates, and validation silently replaces repeated
    cell ids with random ones; :func:`clean` repairs them deterministically.
    """
    nb = nbformat.reader.reads(path.read_text(encoding="utf-8"))
    return nbformat.convert(nb, 4)


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    path.write_bytes(data)
    log.info("wrote %s", path)
    return True


# ---------------------------------------------------------------- layout


def default_root() -> Path:
    """The ``notebooks/`` folder of the repository this package sits in."""
    return Path(__file__).resolve().parent.parent / "notebooks"


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
    found = [p for p in root.iterdir() if p.is_dir() and _WEEK_DIR.match(p.name)]
    return sorted(found, key=lambda p: (int(_WEEK_DIR.match(p.name).group(1)), p.name))


def _week_number(week: Path) -> int:
    return int(_WEEK_DIR.match(week.name).group(1))


def _words(slug: str) -> str:
    text = slug.replace("-", " ").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _lessons(week: Path) -> list[Path]:
    return sorted(p for p in week.glob("*.ipynb") if _LESSON.match(p.name))


def _others(week: Path) -> list[Path]:
    """Notebooks in a week folder that are neither lessons, exercises nor solutions."""
    special = {EXERCISES_NAME, SOLUTIONS_NAME}
    return sorted(
        p for p in week.glob("*.ipynb") if not _LESSON.match(p.name) and p.name not in special
    )


def _all_notebooks(root: Path) -> list[Path]:
    """Every notebook the machinery keeps clean: top-level ones and those in week folders."""
    found = sorted(root.glob("*.ipynb")) if root.is_dir() else []
    for week in weeks(root):
        found.extend(sorted(week.glob("*.ipynb")))
    return found


def _first_heading(lines: Sequence[str]) -> str | None:
    fence = False
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
            continue
        match = None if fence else _HEADING.match(line)
        if match and match.group(2):
            return match.group(2)
    return None


def _notebook_heading(nb: nbformat.NotebookNode) -> str | None:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heading = _first_heading(cell.source.splitlines())
            if heading:
                return heading
    return None


def _week_title(week: Path) -> str:
    readme = week / WEEK_README_NAME
    if readme.is_file():
        heading = _first_heading(readme.read_text(encoding="utf-8").splitlines())
        if heading:
            return _WEEK_PREFIX.sub("", heading) or heading
    return _words(_WEEK_DIR.match(week.name).group(2))


# ---------------------------------------------------------------- index


def _link(root: Path, path: Path, nb: nbformat.NotebookNode | None) -> str:
    heading = _notebook_heading(nb) if nb is not None else None
    target = quote(path.relative_to(root).as_posix())
    line = f"- [`{path.name}`]({target})"
    return f"{line} — {heading}" if heading else line


def _safe_read(path: Path) -> nbformat.NotebookNode | None:
    try:
        return _read(path)
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s: %s", path, exc)
        return None


def render_index(root: Path | str) -> str:
    """The text of ``notebooks/README.md`` as :func:`build` writes it.

    Built from the file names, each week's ``README.md`` heading and each
    notebook's first markdown heading. ``exercises.ipynb`` is described from
    what ``solutions.ipynb`` gives, so the index does not depend on whether the
    exercises have been regenerated yet.

    Parameters
    ----------
    root : path-like
        The ``notebooks/`` folder.

    Returns
    -------
    str
        Markdown, ending with a newline.
    """
    root = Path(root)
    found = weeks(root)
    by_number: dict[int, Path] = {}
    for week in found:
        by_number.setdefault(_week_number(week), week)

    lines = [
        "# Kafka for Python people — notebooks",
        "",
        f"This file is generated by `{BUILD_COMMAND}`; do not edit it by hand.",
        "",
        "## The 8-week plan",
        "",
        "| Week | Level | Topic | Notebooks |",
        "| ---: | --- | --- | --- |",
    ]
    planned = {w.number: w for w in PLAN}
    for number in sorted(set(planned) | set(by_number)):
        plan = planned.get(number)
        week = by_number.get(number)
        level = plan.level if plan else "—"
        topic = plan.topic if plan else _week_title(week)
        where = f"[`{week.name}`]({quote(week.name)}/)" if week else "coming"
        lines.append(f"| {number} | {level} | {topic} | {where} |")

    for week in found:
        lines += ["", f"## Week {_week_number(week)} — {_week_title(week)}", ""]
        for lesson in _lessons(week):
            lines.append(_link(root, lesson, _safe_read(lesson)))
        solutions = week / SOLUTIONS_NAME
        exercises = week / EXERCISES_NAME
        solution_nb = _safe_read(solutions) if solutions.is_file() else None
        if solution_nb is not None:
            lines.append(_link(root, exercises, exercise_from_solution(solution_nb)))
        elif exercises.is_file():
            lines.append(_link(root, exercises, _safe_read(exercises)))
        if solutions.is_file():
            lines.append(_link(root, solutions, solution_nb))
        for other in _others(week):
            lines.append(_link(root, other, _safe_read(other)))

    top = sorted(root.glob("*.ipynb")) if root.is_dir() else []
    if top:
        lines += ["", "## Other notebooks", ""]
        lines += [_link(root, path, _safe_read(path)) for path in top]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- build and check


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
    for path in _all_notebooks(root):
        if path in derived:
            continue
        if _write_if_changed(path, _serialise(clean(_read(path)))):
            changed.append(path)
    for exercises in sorted(derived):
        solutions = _read(exercises.with_name(SOLUTIONS_NAME))
        if not solution_cells(solutions):
            log.warning("%s has no %r cells", exercises.with_name(SOLUTIONS_NAME), SOLUTION_MARKER)
        if _write_if_changed(exercises, _serialise(exercise_from_solution(solutions))):
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
    stale index.

    Parameters
    ----------
    root : path-like
        The ``notebooks/`` folder.

    Returns
    -------
    list of str
        One sentence per problem; empty if all is well.
    """
    root = Path(root)
    if not root.is_dir():
        return [f"there is no notebooks folder at {root}"]
    problems: list[str] = []

    def rel(path: Path) -> str:
        return path.relative_to(root).as_posix()

    for path in sorted(root.iterdir()):
        if path.is_dir() and path.name.lower().startswith("week") and not _WEEK_DIR.match(path.name):
            problems.append(
                f"{rel(path)}/ looks like a week folder but is not named weekNN-slug "
                "(two digits, lower-case words joined by hyphens)"
            )
    numbers: dict[int, Path] = {}
    for week in weeks(root):
        number = _week_number(week)
        if number in numbers:
            problems.append(f"{rel(week)}/ has the same week number as {rel(numbers[number])}/")
        numbers.setdefault(number, week)
        for name in (SOLUTIONS_NAME, EXERCISES_NAME, WEEK_README_NAME):
            if not (week / name).is_file():
                problems.append(f"{rel(week)}/ has no {name}")
        if not _lessons(week):
            problems.append(f"{rel(week)}/ has no lesson notebooks (01-....ipynb)")

    derived = {week / EXERCISES_NAME for week in weeks(root) if (week / SOLUTIONS_NAME).is_file()}
    for path in _all_notebooks(root):
        if path in derived:
            continue
        try:
            nb = _read(path)
        except (OSError, ValueError) as exc:
            problems.append(f"{rel(path)} cannot be read as a notebook: {exc}")
            continue
        dirty = is_clean(nb)
        if dirty:
            problems.append(f"{rel(path)} is not clean: " + "; ".join(dirty))
        elif path.read_bytes() != _serialise(clean(nb)):
            problems.append(f"{rel(path)} is not in the canonical notebook format")
        if path.name == SOLUTIONS_NAME and path.parent != root and not solution_cells(nb):
            problems.append(f"{rel(path)} has no cells starting with {SOLUTION_MARKER!r}")
        if path.name == SOLUTIONS_NAME and path.parent != root:
            exercises = path.with_name(EXERCISES_NAME)
            if exercises.is_file() and exercises.read_bytes() != _serialise(
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


# ---------------------------------------------------------------- command line


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


if __name__ == "__main__":
    sys.exit(main())
