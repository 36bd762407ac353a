"""Tests for kafkalab.curriculum: pure Python over nbformat, no Kafka needed."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from kafkalab import curriculum
from kafkalab.curriculum import (
    build,
    check,
    clean,
    exercise_from_solution,
    is_clean,
    render_index,
    solution_cells,
    weeks,
)
from kafkalab.curriculum.clean import read as read_notebook

REPO_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


# ---------------------------------------------------------------- helpers


def dirty_notebook() -> nbformat.NotebookNode:
    """A notebook as Jupyter leaves it after a run: outputs, counts, volatile metadata."""
    cells = [
        new_markdown_cell("# A lesson\nSome text.", id="intro", metadata={"collapsed": False}),
        new_code_cell(
            "print('hi')",
            id="run",
            execution_count=4,
            metadata={
                "scrolled": True,
                "ExecuteTime": {"end_time": "2024-01-01T00:00:00"},
                "execution": {"iopub.execute_input": "2024-01-01"},
                "tags": ["keep-me"],
            },
            outputs=[new_output("stream", name="stdout", text="hi\n")],
        ),
    ]
    return new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.12.1", "mimetype": "text/x-python"},
            "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}},
        },
    )


def solutions_notebook(week: int = 1, answer: str = "producer.send('orders', b'1')"):
    return new_notebook(
        cells=[
            new_markdown_cell(f"# Week {week} — solutions\n\nTry these.", id="title"),
            new_code_cell("from kafkalab import settings", id="setup"),
            new_markdown_cell("## Exercise 1\nSend a message.", id="ex1"),
            new_code_cell(f"# SOLUTION\n{answer}", id="sol1"),
            new_code_cell("# not a solution\nx = 1", id="plain"),
        ],
        metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    )


def lesson_notebook(title: str) -> nbformat.NotebookNode:
    return new_notebook(
        cells=[new_markdown_cell(f"# {title}\n\nText.", id="t"), new_code_cell("1 + 1", id="c")],
        metadata={"kernelspec": curriculum.KERNELSPEC,
                  "language_info": {**curriculum.LANGUAGE_INFO, "version": "3.11.7"}},
    )


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def make_week(root: Path, name: str, title: str | None = "Producers and consumers") -> Path:
    week = root / name
    number = int(name[4:6])
    write(lesson_notebook(f"Lesson one of week {number}"), week / "01-first.ipynb")
    write(lesson_notebook(f"Lesson two of week {number}"), week / "02-second.ipynb")
    write(solutions_notebook(number), week / "solutions.ipynb")
    if title is not None:
        (week / "README.md").write_text(f"# Week {number} — {title}\n\nNotes.\n", encoding="utf-8")
    return week


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "notebooks"
    make_week(root, "week01-producers-consumers")
    make_week(root, "week02-reliability-speed", title="Reliability and speed")
    return root


def snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- clean / is_clean


def test_clean_strips_outputs_counts_and_metadata():
    nb = dirty_notebook()
    tidy = clean(nb)
    code = tidy.cells[1]
    assert code.outputs == []
    assert code.execution_count is None
    assert dict(code.metadata) == {"tags": ["keep-me"]}
    assert dict(tidy.cells[0].metadata) == {}
    assert set(tidy.metadata) == {"kernelspec", "language_info"}
    # what JupyterLab writes on open; the Python version the notebook had is kept
    assert tidy.metadata.language_info == {**curriculum.LANGUAGE_INFO, "version": "3.12.1"}
    assert tidy.metadata.kernelspec.name == "python3"
    assert [c.id for c in tidy.cells] == ["intro", "run"]
    assert [c.source for c in tidy.cells] == [c.source for c in nb.cells]
    # the input is left alone
    assert nb.cells[1].outputs and nb.cells[1].execution_count == 4
    assert "widgets" in nb.metadata


def test_clean_is_idempotent_and_valid():
    once = clean(dirty_notebook())
    twice = clean(once)
    assert once == twice
    nbformat.validate(once)
    assert is_clean(once) == []


def test_clean_gives_deterministic_ids_to_cells_without_them():
    nb = new_notebook(cells=[new_code_cell("a = 1"), new_code_cell("b = 2")])
    nb.nbformat_minor = 4
    for cell in nb.cells:
        del cell["id"]
    first, second = clean(nb), clean(nb)
    assert first.nbformat_minor >= 5
    ids = [c.id for c in first.cells]
    assert ids == [c.id for c in second.cells]
    assert len(set(ids)) == 2
    nbformat.validate(first)


def test_clean_repairs_duplicate_ids():
    nb = new_notebook(cells=[new_code_cell("a"), new_code_cell("b")])
    nb.cells[0].id = nb.cells[1].id = "same"  # new_notebook would repair them at random
    ids = [c.id for c in clean(nb).cells]
    assert ids[0] == "same" and ids[1] != "same"


def test_is_clean_reports_each_problem():
    problems = is_clean(dirty_notebook())
    text = "\n".join(problems)
    assert "cell 2 has 1 output(s)" in problems
    assert "cell 2 has an execution count (4)" in problems
    assert "widgets" in text
    assert "mimetype" in text and "version" in text
    assert "cell 1 has volatile metadata: collapsed" in problems
    assert "cell 2 has volatile metadata: ExecuteTime, execution, scrolled" in problems
    assert any(p.startswith("kernelspec is ") for p in problems)  # "Python 3", not the course's
    assert len(problems) == 7


def test_is_clean_reports_missing_and_repeated_ids():
    nb = new_notebook(cells=[new_code_cell("a"), new_code_cell("b"), new_code_cell("c")])
    nb.cells[0].id = nb.cells[1].id = "x"
    del nb.cells[2]["id"]
    problems = is_clean(nb)
    assert "cell 2 repeats the id of cell 1 ('x')" in problems
    assert "cell 3 has no id" in problems


def test_is_clean_accepts_a_clean_notebook():
    meta = {"kernelspec": curriculum.KERNELSPEC,
            "language_info": {**curriculum.LANGUAGE_INFO, "version": "3.11.7"}}
    assert is_clean(new_notebook(cells=[new_code_cell("x", id="x")], metadata=meta)) == []


def test_a_notebook_without_the_course_kernel_is_not_clean():
    # clean() writes the kernelspec JupyterLab would write on open; is_clean agrees.
    problems = is_clean(new_notebook(cells=[new_code_cell("x", id="x")]))
    assert any("kernelspec" in p for p in problems) and any("language_info" in p for p in problems)


# ---------------------------------------------------------------- exercises


def test_solution_cells_finds_only_code_cells_starting_with_the_marker():
    assert solution_cells(solutions_notebook()) == [3]


def test_exercise_from_solution_replaces_solution_cells_and_keeps_the_rest():
    sol = solutions_notebook()
    sol.cells[3].outputs = [new_output("stream", name="stdout", text="sent\n")]
    sol.cells[3].execution_count = 2
    ex = exercise_from_solution(sol)
    assert [c.id for c in ex.cells] == [c.id for c in sol.cells]
    assert [c.cell_type for c in ex.cells] == [c.cell_type for c in sol.cells]
    assert ex.cells[0].source == "# Week 1 — exercises\n\nTry these."
    assert ex.cells[1].source == sol.cells[1].source
    assert ex.cells[2].source == sol.cells[2].source
    assert ex.cells[3].source == "# Write your code here"
    assert ex.cells[4].source == sol.cells[4].source
    assert ex.cells[3].outputs == [] and ex.cells[3].execution_count is None
    assert is_clean(ex) == []
    # the solutions are untouched
    assert sol.cells[3].source.startswith("# SOLUTION")
    assert sol.cells[0].source.startswith("# Week 1 — solutions")


def test_exercise_title_left_alone_without_the_suffix():
    sol = new_notebook(cells=[new_markdown_cell("# Practice", id="t"), new_code_cell("# SOLUTION\n1", id="s")])
    ex = exercise_from_solution(sol)
    assert ex.cells[0].source == "# Practice"
    assert ex.cells[1].source == "# Write your code here"


# ---------------------------------------------------------------- weeks and index


def test_weeks_in_order_ignoring_other_folders(tmp_path):
    for name in ["week10-later", "week02-b", "week01-a", "week3-bad", "Week04-Caps", "assets"]:
        (tmp_path / name).mkdir()
    (tmp_path / "week05-file").write_text("not a folder")
    assert [w.name for w in weeks(tmp_path)] == ["week01-a", "week02-b", "week10-later"]
    assert weeks(tmp_path / "missing") == []


def test_index_lists_weeks_in_order_and_coming_weeks(tree):
    make_week(tree, "week03-orders-and-events", title=None)
    text = render_index(tree)
    assert text.startswith("# ")
    assert "generated by `python -m kafkalab.curriculum build`" in text
    assert "do not edit it by hand" in text
    # headings: README heading with its "Week N —" prefix dropped, else the slug in words
    h1 = text.index("## Week 1 — Producers and consumers")
    h2 = text.index("## Week 2 — Reliability and speed")
    h3 = text.index("## Week 3 — Orders and events")
    assert h1 < h2 < h3
    # plan table: every planned week, with levels; weeks without folders are coming
    for plan in curriculum.PLAN:
        assert f"| {plan.number} | {plan.level} | {plan.topic} |" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [int(r.split("|")[1]) for r in rows] == list(range(1, 9))
    assert rows[0].endswith("[`week01-producers-consumers`](week01-producers-consumers/) |")
    assert all(r.endswith("| coming |") for r in rows[3:])
    assert "coming" not in "".join(rows[:3])
    # notebooks: lessons in order, then exercises, then solutions, with their headings
    week1 = text[h1:h2]
    links = [line for line in week1.splitlines() if line.startswith("- ")]
    assert links == [
        "- [`01-first.ipynb`](week01-producers-consumers/01-first.ipynb) — Lesson one of week 1",
        "- [`02-second.ipynb`](week01-producers-consumers/02-second.ipynb) — Lesson two of week 1",
        "- [`exercises.ipynb`](week01-producers-consumers/exercises.ipynb) — Week 1 — exercises",
        "- [`solutions.ipynb`](week01-producers-consumers/solutions.ipynb) — Week 1 — solutions",
    ]
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_index_of_empty_root_shows_whole_plan_as_coming(tmp_path):
    text = render_index(tmp_path)
    assert text.count("| coming |") == len(curriculum.PLAN)
    assert "## Week" not in text


# ---------------------------------------------------------------- build and check


def test_build_writes_clean_notebooks_exercises_and_index(tree):
    write(dirty_notebook(), tree / "week01-producers-consumers" / "03-dirty.ipynb")
    changed = build(tree)
    assert tree / "README.md" in changed
    assert tree / "week01-producers-consumers" / "exercises.ipynb" in changed
    assert tree / "week02-reliability-speed" / "exercises.ipynb" in changed
    assert tree / "week01-producers-consumers" / "03-dirty.ipynb" in changed
    cleaned = nbformat.read(tree / "week01-producers-consumers" / "03-dirty.ipynb", as_version=4)
    assert is_clean(cleaned) == []
    ex = nbformat.read(tree / "week01-producers-consumers" / "exercises.ipynb", as_version=4)
    assert ex.cells[3].source == "# Write your code here"
    assert (tree / "README.md").read_text(encoding="utf-8") == render_index(tree)


def test_build_is_idempotent(tree):
    write(dirty_notebook(), tree / "week02-reliability-speed" / "01-first.ipynb")
    assert build(tree)
    before = snapshot(tree)
    assert build(tree) == []
    assert snapshot(tree) == before


def test_build_repairs_repeated_ids_on_disk_deterministically(tmp_path):
    nb = lesson_notebook("Twins")
    nb.cells[1].id = nb.cells[0].id
    text = json.dumps(nb, indent=1)  # nbformat.write would repair the ids at random
    results = []
    for name in ("a", "b"):
        path = tmp_path / name / "week01-twins" / "01-twins.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")
        assert any("repeats the id" in p for p in check(tmp_path / name))
        build(tmp_path / name)
        results.append(path.read_bytes())
    assert results[0] == results[1]
    ids = [c.id for c in nbformat.reads(results[0].decode(), as_version=4).cells]
    assert len(set(ids)) == 2


def test_build_output_matches_nbformat_write(tree):
    build(tree)
    path = tree / "week01-producers-consumers" / "exercises.ipynb"
    data = path.read_bytes()
    assert data.endswith(b"}\n")
    nbformat.write(nbformat.read(path, as_version=4), path)
    assert path.read_bytes() == data


def test_check_passes_on_a_freshly_built_tree(tree):
    build(tree)
    assert check(tree) == []


def test_check_reports_a_drifted_exercise(tree):
    build(tree)
    path = tree / "week01-producers-consumers" / "exercises.ipynb"
    ex = nbformat.read(path, as_version=4)
    ex.cells[3].source = "# I typed my answer into the exercises"
    nbformat.write(ex, path)
    problems = check(tree)
    assert problems == [
        "week01-producers-consumers/exercises.ipynb differs from what "
        "week01-producers-consumers/solutions.ipynb gives"
    ]


def test_check_reports_a_drifted_exercise_after_a_solution_edit(tree):
    build(tree)
    write(solutions_notebook(1, answer="# reworded\n"), tree / "week01-producers-consumers" / "solutions.ipynb")
    write(
        new_notebook(cells=[new_markdown_cell("# Week 1 — solutions", id="title"),
                            new_code_cell("# SOLUTION\nnew()", id="added")]),
        tree / "week01-producers-consumers" / "solutions.ipynb",
    )
    assert any("exercises.ipynb differs" in p for p in check(tree))
    build(tree)
    assert check(tree) == []


def test_check_reports_a_dirty_notebook(tree):
    build(tree)
    path = tree / "week01-producers-consumers" / "02-second.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].outputs = [new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    nb.cells[1].execution_count = 1
    nb.metadata["widgets"] = {}
    nbformat.write(nb, path)
    problems = check(tree)
    assert len(problems) == 1
    assert problems[0].startswith("week01-producers-consumers/02-second.ipynb is not clean: ")
    assert "output" in problems[0] and "execution count" in problems[0] and "widgets" in problems[0]


def test_check_reports_a_dirty_solutions_notebook(tree):
    build(tree)
    path = tree / "week02-reliability-speed" / "solutions.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].execution_count = 9
    nbformat.write(nb, path)
    problems = check(tree)
    assert problems == [
        "week02-reliability-speed/solutions.ipynb is not clean: cell 4 has an execution count (9)"
    ]


def test_check_reports_non_canonical_serialisation(tree):
    build(tree)
    path = tree / "week01-producers-consumers" / "01-first.ipynb"
    path.write_text(path.read_text(encoding="utf-8").replace('\n "', '\n  "'), encoding="utf-8")
    assert check(tree) == ["week01-producers-consumers/01-first.ipynb is not in the canonical notebook format"]
    assert build(tree) == [path]


def test_check_reports_a_missing_exercise(tree):
    build(tree)
    (tree / "week02-reliability-speed" / "exercises.ipynb").unlink()
    problems = check(tree)
    assert "week02-reliability-speed/ has no exercises.ipynb" in problems
    assert len(problems) == 1  # the index describes what build will write


def test_check_reports_missing_week_files(tmp_path):
    root = tmp_path / "notebooks"
    (root / "week04-saga").mkdir(parents=True)
    (root / "week4-typo").mkdir()
    build(root)
    problems = check(root)
    assert "week04-saga/ has no solutions.ipynb" in problems
    assert "week04-saga/ has no exercises.ipynb" in problems
    assert "week04-saga/ has no README.md" in problems
    assert "week04-saga/ has no lesson notebooks (01-....ipynb)" in problems
    assert any(p.startswith("week4-typo/ looks like a week folder") for p in problems)


def test_check_reports_solutions_without_solution_cells(tree):
    nb = solutions_notebook()
    nb.cells[3].source = "producer.send('orders', b'1')"
    write(nb, tree / "week01-producers-consumers" / "solutions.ipynb")
    build(tree)
    assert check(tree) == [
        "week01-producers-consumers/solutions.ipynb has no cells starting with '# SOLUTION'"
    ]


def test_check_reports_a_stale_index(tree):
    build(tree)
    write(lesson_notebook("A brand new lesson"), tree / "week01-producers-consumers" / "03-new.ipynb")
    assert check(tree) == ["README.md (the index) is out of date"]
    build(tree)
    assert check(tree) == []
    (tree / "README.md").write_text("# hand edited\n", encoding="utf-8")
    assert check(tree) == ["README.md (the index) is out of date"]
    (tree / "README.md").unlink()
    assert check(tree) == ["README.md (the index) is missing"]


def test_check_reports_an_unreadable_notebook(tree):
    build(tree)
    (tree / "week01-producers-consumers" / "03-broken.ipynb").write_text("{not json", encoding="utf-8")
    problems = check(tree)
    assert any(p.startswith("week01-producers-consumers/03-broken.ipynb cannot be read") for p in problems)


def test_cli_build_then_check(tree, capsys):
    assert curriculum.main(["build", "--root", str(tree)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert curriculum.main(["build", "--root", str(tree)]) == 0
    assert capsys.readouterr().out == "nothing to change\n"
    assert curriculum.main(["check", "--root", str(tree)]) == 0
    assert capsys.readouterr().out == "OK\n"
    (tree / "README.md").unlink()
    assert curriculum.main(["check", "--root", str(tree)]) == 1
    assert "README.md (the index) is missing" in capsys.readouterr().out


def test_python_dash_m_runs_the_same_command_line(tree):
    import os
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "kafkalab.curriculum", *args, "--root",
                               str(tree)], capture_output=True, text=True, env=os.environ)

    assert run("build").returncode == 0
    done = run("check")
    assert (done.returncode, done.stdout) == (0, "OK\n")


def test_default_root_is_the_repo_notebooks_folder():
    assert curriculum.default_root() == REPO_NOTEBOOKS


# ---------------------------------------------------------------- the real course


def test_repo_notebooks_are_in_sync():
    """The drift guard CI relies on: run `python -m kafkalab.curriculum build` to fix."""
    if not REPO_NOTEBOOKS.is_dir():
        pytest.skip(f"no notebooks folder at {REPO_NOTEBOOKS} yet")
    if not weeks(REPO_NOTEBOOKS):
        pytest.skip(f"no weekNN-slug folders in {REPO_NOTEBOOKS} yet")
    problems = check(REPO_NOTEBOOKS)
    assert problems == [], "\n".join(problems)


# ---------------------------------------------------------------- clean and is_clean cannot disagree


def _first_code_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code")


def _spoil_ids(nb):
    nb.cells[1].id = nb.cells[0].id   # repeated
    nb.cells[2].id = "not a valid id!"
    del nb.cells[-1]["id"]            # missing


#: How to break each rule of curriculum.RULES in a clean notebook, one entry per rule.
SPOILERS = {
    "nbformat 4.5": lambda nb: setattr(nb, "nbformat_minor", 4),
    "notebook metadata": lambda nb: nb.metadata.update(widgets={"state": {}}, toc={"x": 1}),
    "language_info": lambda nb: nb.metadata.update(
        language_info={"name": "python", "version": "3.12.1", "mimetype": "text/x-python"}),
    "cell ids": _spoil_ids,
    "cell metadata": lambda nb: nb.cells[0].metadata.update(collapsed=True, scrolled=False),
    "outputs": lambda nb: _first_code_cell(nb).outputs.append(
        new_output("stream", name="stdout", text="hi\n")),
    "execution counts": lambda nb: setattr(_first_code_cell(nb), "execution_count", 3),
    "kernelspec": lambda nb: nb.metadata.update(
        kernelspec={"display_name": "Python 3", "language": "python", "name": "python3"}),
}


def repo_notebooks() -> list[Path]:
    from kafkalab.curriculum.layout import all_notebooks

    return all_notebooks(REPO_NOTEBOOKS) if REPO_NOTEBOOKS.is_dir() else []


def test_every_rule_has_a_spoiler():
    assert set(SPOILERS) == {rule.name for rule in curriculum.RULES}


@pytest.mark.parametrize("path", repo_notebooks(),
                         ids=lambda p: p.relative_to(REPO_NOTEBOOKS).as_posix())
def test_clean_leaves_nothing_for_is_clean_on_every_repo_notebook(path):
    from kafkalab.curriculum.clean import read

    nb = read(path)
    assert is_clean(clean(nb)) == []
    if not is_clean(nb):
        assert clean(nb) == nb  # and a notebook is_clean accepts, clean does not change


@pytest.mark.parametrize("rule", curriculum.RULES, ids=lambda r: r.name)
def test_what_a_rule_finds_is_what_clean_fixes(rule):
    """For a notebook dirtied by each rule: is_clean sees it, clean removes it, nothing is left."""
    from kafkalab.curriculum.clean import read

    bases = [clean(dirty_notebook()), clean(solutions_notebook())]
    bases += [read(p) for p in repo_notebooks()]
    for base in bases:
        if len(base.cells) < 3 or not any(c.cell_type == "code" for c in base.cells):
            continue
        spoiled = nbformat.from_dict(json.loads(json.dumps(base)))
        SPOILERS[rule.name](spoiled)
        assert list(rule.find(spoiled)), f"{rule.name}: the spoiler did not break the rule"
        assert is_clean(spoiled), f"{rule.name}: is_clean missed what the rule finds"
        tidy = clean(spoiled)
        assert list(rule.find(tidy)) == [] and is_clean(tidy) == []
        assert clean(tidy) == tidy


def test_all_rules_broken_at_once_are_all_reported_and_all_fixed():
    nb = clean(solutions_notebook())
    nb.cells.append(new_code_cell("x = 1", id="extra"))
    for spoil in SPOILERS.values():
        spoil(nb)
    found = {rule.name for rule in curriculum.RULES if list(rule.find(nb))}
    assert found == set(SPOILERS)
    assert is_clean(clean(nb)) == []


# ---------------------------------------------------------------- opening and Run All


def test_clean_stores_the_kernelspec_jupyterlab_writes_on_open():
    """JupyterLab rewrites a notebook's kernelspec to the kernel's own on open, which marks
    the notebook modified: stored notebooks carry exactly the course kernel's."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")  # what `kafkalab lab` offers
    assert curriculum.KERNELSPEC == {"display_name": spec.display_name,
                                     "language": spec.language, "name": "python3"}
    nb = dirty_notebook()  # stored with the older "Python 3"
    assert any("kernelspec" in p for p in is_clean(nb))
    assert dict(clean(nb).metadata.kernelspec) == curriculum.KERNELSPEC
    assert is_clean(clean(nb)) == []


def test_clean_stores_the_language_info_jupyterlab_writes_on_open():
    """On open JupyterLab stores the kernel's language_info; anything else marks the notebook
    modified. Only the Python version varies: a stored one is kept, a missing one filled."""
    import platform

    from ipykernel.ipkernel import IPythonKernel

    reported = dict(IPythonKernel.language_info)  # what the course kernel answers
    reported.pop("version")
    assert curriculum.LANGUAGE_INFO == reported
    bare = new_notebook(metadata={"language_info": {"name": "python"}})
    assert clean(bare).metadata.language_info.version == platform.python_version()
    assert any("language_info" in p for p in is_clean(bare))


def test_exercise_keeps_the_names_later_cells_read_defined():
    sol = new_notebook(cells=[
        new_code_cell("# SOLUTION\ndf = read()\ncounts = df.groupby('k').size()", id="s"),
        new_code_cell("check_counts(counts, TOPIC)", id="c")])
    ex = exercise_from_solution(sol)
    assert ex.cells[0].source.splitlines() == [
        "# Write your code here",
        "counts = None  # not done yet: replace this line with your answer"]
    namespace = {"check_counts": lambda *a: a, "TOPIC": "t"}
    for cell in ex.cells:  # Run All on the unsolved exercise: no NameError
        exec(cell.source, namespace)


def _solution_names_read_later(nb):
    """(cell number, name, the later cell's source) for each name a solution cell defines."""
    for index in solution_cells(nb):
        names = set(curriculum.exercises._names_read_later(nb, index))
        for later in nb.cells[index + 1:]:
            if later.cell_type == "code" and not later.source.startswith(curriculum.SOLUTION_MARKER):
                yield index, names - set(curriculum.exercises._bound_names(later.source)), later


@pytest.mark.parametrize("week", [w.name for w in weeks(REPO_NOTEBOOKS)])
def test_an_unsolved_exercise_reaches_every_checker(week):
    """Run All on an untouched exercises.ipynb must reach every checker: each name a solution
    defines is still defined (as None) in the exercise, and later cells only hand it to a
    ``check_*`` function (which says "not done yet"), never call it first."""
    import ast

    solutions = read_notebook(REPO_NOTEBOOKS / week / "solutions.ipynb")
    exercises = exercise_from_solution(solutions)
    for index, names, later in _solution_names_read_later(solutions):
        defined = set(curriculum.exercises._bound_names(exercises.cells[index].source))
        tree = ast.parse(later.source)
        checker_args = {id(arg) for node in ast.walk(tree) if isinstance(node, ast.Call)
                        and getattr(node.func, "attr", getattr(node.func, "id", "")).startswith("check_")
                        for arg in [*node.args, *(k.value for k in node.keywords)]}
        # `if answered(x):` skips its body while x is None (kafkalab.exercises.answered)
        checker_args |= {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                         and isinstance(node.test, ast.Call)
                         and getattr(node.test.func, "id", "") == "answered"
                         for part in [node.test, *node.body] for n in ast.walk(part)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in names:
                assert node.id in defined, f"{week}: exercise cell {index + 1} leaves {node.id} undefined"
                assert id(node) in checker_args, (
                    f"{week}: a cell after solution cell {index + 1} uses {node.id} outside a "
                    f"check_* call; unsolved, it is None there:\n{later.source}")
