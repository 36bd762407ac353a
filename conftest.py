"""Test-run set-up shared by tests, doctests and notebooks.

When ``KAFKA_BROKERS`` is unset, the run gets a local Apache Kafka broker of
its own (a fresh state directory, so a broker left running by ``make lab`` is
not disturbed; the downloaded jars are shared), started once before the first
test and stopped after the last. Notebook kernels started by nbval inherit the
environment and find it.
"""

from __future__ import annotations

import os
import re
import tempfile

import pytest

# Exercise notebooks are derived from the solutions (tests/test_curriculum.py
# checks they match); they are meant to be filled in, so nbval runs the solutions.
collect_ignore_glob = ["notebooks/**/exercises.ipynb", "bench/*", "compose/*"]

_started = False


def pytest_configure(config: pytest.Config) -> None:
    global _started
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ.setdefault("MPLBACKEND", "Agg")
    # Solution notebooks must pass their own checks: a wrong solution fails the run.
    os.environ["KAFKALAB_STRICT_CHECKS"] = "1"
    if os.environ.get("KAFKA_BROKERS"):
        return
    if not os.environ.get("KAFKALAB_STATE_DIR"):
        os.environ["KAFKALAB_STATE_DIR"] = tempfile.mkdtemp(prefix="kafkalab-test-")
    from kafkalab import broker

    _info, _started = broker.up()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _started:
        from kafkalab import broker

        broker.down()


# Under `make test` the suite runs on two pytest-xdist workers (`-n 2 --dist loadgroup`).
# A week's own items share fixed topic and group names (its lessons, its solutions, its
# checkers and their tests) and each notebook's cells must run in order in one kernel,
# so a week's items stay together, in order, on one worker. The JupyterLab runs join
# week 1 (they open week 1's notebooks, which use fixed names; the week 8 lesson they
# also open names its topic and group per run). The tests of the 3-node and secured
# clusters join week 8 (its lessons use those clusters; the tests stop nodes). Every
# other test uses names of its own and goes wherever a worker is free.
_WEEK = re.compile(r"week(\d\d)|_week(\d\d)_")
_WITH_WEEK = {"tests/test_lab_browser.py": "01", "tests/test_lab.py": "01", "tests/test_replication.py": "08",
              "tests/test_security.py": "08", "tests/exercises/test_not_done.py": "08"}


def _group(nodeid: str) -> str | None:
    path = nodeid.split("::", 1)[0]
    week = _WITH_WEEK.get(path)
    if week is None:
        match = _WEEK.search(path)
        if match is None:
            return None
        week = match.group(1) or match.group(2)
    return f"week-{week}"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    if not getattr(config.option, "loadgroup", False):
        return  # not a pytest-xdist worker with --dist loadgroup: nothing to group
    for item in items:
        group = _group(item.nodeid)
        if group is not None:
            # The "@group" suffix is how --dist loadgroup groups items (what an
            # xdist_group mark asks for). pytest-xdist 3.8 writes it to _nodeid, which
            # pytest 9's nodeid no longer reads (it reads _id), so it is set here.
            grouped = f"{item.nodeid}@{group}"
            item._nodeid = grouped
            if hasattr(item, "_id"):
                item._id = grouped
