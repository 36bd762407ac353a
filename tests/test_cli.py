"""The kafkalab command line, run as a learner runs it (a subprocess)."""

import json
import os
import subprocess
import sys

from tests.conftest import unique


def kafkalab(*args, stdin=None, env=None):
    return subprocess.run([sys.executable, "-m", "kafkalab", *args], input=stdin,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_doctor_reports_no_failure():
    out = kafkalab("doctor")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "[FAIL]" not in out.stdout
    assert "[OK] broker reachable" in out.stdout and "[OK] kafka-python" in out.stdout


def test_topics_produce_consume_describe_round_trip():
    topic, group = unique("cli"), unique("cli-group")
    assert kafkalab("topics", "create", topic, "-p", "2").returncode == 0
    assert topic in kafkalab("topics", "list").stdout.split()
    sent = kafkalab("produce", topic, "-K", ":", stdin='a:{"n": 1}\nb:{"n": 2}\na:{"n": 3}\n')
    assert sent.returncode == 0 and "sent 3 record(s)" in sent.stderr
    out = kafkalab("consume", topic, "-g", group, "--idle", "1.5", "--timeout", "30", "--no-pretty")
    values = [json.loads(line) for line in out.stdout.splitlines() if not line.startswith("#")]
    assert sorted(v["n"] for v in values) == [1, 2, 3]
    desc = kafkalab("topics", "describe", topic, "-g", group)
    rows = [line.split() for line in desc.stdout.splitlines()[2:]]
    assert sum(int(r[3]) for r in rows) == 3          # end offsets add up to 3 records
    assert all(r[-1] == "0" for r in rows)            # and the group has no lag
    assert kafkalab("topics", "delete", topic).returncode == 0


def test_produce_stops_at_a_malformed_line_and_says_which():
    topic = unique("cli-bad")
    kafkalab("topics", "create", topic, "-p", "1")
    out = kafkalab("produce", topic, stdin='{"ok": 1}\n{"broken": \n{"never": 1}\n')
    assert out.returncode == 2
    assert "line 2: not valid JSON" in out.stderr and "1 sent before it" in out.stderr
    got = kafkalab("consume", topic, "--idle", "1.5", "--no-pretty").stdout
    assert [line for line in got.splitlines() if not line.startswith("#")] == ['{"ok":1}']


def test_errors_are_one_clear_line_not_a_traceback():
    out = kafkalab("topics", "list", env={"KAFKA_BROKERS": "not-a-broker"})
    assert out.returncode == 2
    assert out.stderr.startswith("kafkalab: KAFKA_BROKERS: expected") and "Traceback" not in out.stderr
    missing = kafkalab("consume", unique("nope"), "--idle", "1")
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_broker_status_names_the_memory_only_storage():
    out = kafkalab("broker", "status")
    assert out.returncode == 0 and "memory only" in out.stdout
