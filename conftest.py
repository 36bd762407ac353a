"""Test-run set-up shared by tests, doctests and notebooks.

When ``KAFKA_BROKERS`` is unset, the run gets a local Apache Kafka broker of
its own (a fresh state directory, so a broker left running by ``make lab`` is
not disturbed; the downloaded jars are shared), started once before the first
test and stopped after the last. Notebook kernels started by nbval inherit the
environment and find it.
"""

from __future__ import annotations

import os
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

