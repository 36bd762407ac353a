"""``python -m kafkalab.ops`` as a user runs it."""

from __future__ import annotations

import subprocess
import sys


def ops(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kafkalab.ops", *args], capture_output=True,
                          text=True, timeout=120)


def test_health_prints_ok_lines_and_exits_0():
    out = ops("health")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("[OK] broker: answered in")


def test_health_exits_1_for_an_unknown_group():
    out = ops("health", "--group", "no-such-group-anywhere")
    assert out.returncode == 1
    assert "[FAIL] lag no-such-group-anywhere: unknown group" in out.stdout


def test_chaos_broker_unreachable_reports_its_invariant():
    out = ops("chaos", "broker-unreachable")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("[OK] broker unreachable:")
    assert "[FAIL] broker: no Kafka broker answered" in out.stdout


def test_unknown_scenario_is_refused_with_the_choices():
    out = ops("chaos", "meteor")
    assert out.returncode == 2
    assert "killed-consumer" in out.stderr


def test_load_refuses_impossible_settings_with_a_clear_error():
    out = ops("load", "--consumers", "0")
    assert out.returncode == 2
    assert "error: need at least one consumer" in out.stderr
    assert "Traceback" not in out.stderr
