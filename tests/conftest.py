"""Fixtures for integration tests against a real Apache Kafka broker (see ../conftest.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from kafkalab.clients import Admin, Producer


def missing_system_tool(problem: str) -> None:
    """Skip a test whose system tool (Chromium, curl, PostgreSQL) is absent, naming it;
    but fail under ``make test`` as root (CI), where scripts/install-system-deps.sh
    installs them and an absent tool means a broken set-up, not a reason to skip."""
    if os.environ.get("KAFKALAB_REQUIRE_SYSTEM_DEPS") == "1":
        pytest.fail(f"{problem} (KAFKALAB_REQUIRE_SYSTEM_DEPS=1: scripts/install-system-deps.sh "
                    "should have installed it)")
    pytest.skip(problem)


def unique(prefix: str) -> str:
    """A name no other test uses: the broker is shared by the whole run."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def admin() -> Iterator[Admin]:
    with Admin() as a:
        yield a


@pytest.fixture
def producer() -> Iterator[Producer]:
    with Producer() as p:
        yield p


@pytest.fixture
def new_topic(admin: Admin) -> Iterator[Callable[..., str]]:
    """``new_topic(partitions=3)`` creates a fresh topic; all are deleted afterwards."""
    made: list[str] = []

    def make(partitions: int = 3, prefix: str = "t") -> str:
        name = unique(prefix)
        admin.ensure_topic(name, partitions)
        made.append(name)
        return name

    yield make
    for name in made:
        admin.delete_topic(name)


def run_bench(name: str, n: int, results_dir) -> tuple[str, dict]:
    """Run ``bench/<name>.py --n N`` as a user would; return its output and the one
    results line it appended (benchmark tests check the machinery, never the speed)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "bench" / f"{name}.py"
    out = subprocess.run([sys.executable, str(script), "--n", str(n), "--results-dir",
                          str(results_dir)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "1.00x" in out.stdout  # the baseline's own ratio is printed
    (line,) = (Path(results_dir) / f"{name}.jsonl").read_text().splitlines()
    return out.stdout, json.loads(line)


@pytest.fixture(scope="module")
def secured():
    """The secured one-node cluster (SASL/SCRAM and ACLs, ``broker.up(secure=True)``);
    stopped after the module only if this fixture started it."""
    from kafkalab import broker

    info, started = broker.up(secure=True)
    yield info
    if started:
        broker.down(1, secure=True)
