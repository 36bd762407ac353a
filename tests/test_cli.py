"""The kafkalab command line, run as a learner runs it (a subprocess)."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.conftest import missing_system_tool, unique


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
    out = kafkalab("consume", topic, "-g", group, "--idle-timeout", "1.5", "--timeout", "30", "--no-pretty")
    values = [json.loads(line) for line in out.stdout.splitlines() if not line.startswith("#")]
    assert sorted(v["n"] for v in values) == [1, 2, 3]
    desc = kafkalab("topics", "describe", topic, "-g", group)
    rows = [line.split() for line in desc.stdout.splitlines()[2:]]
    assert sum(int(r[3]) for r in rows) == 3          # end offsets add up to 3 records
    assert all(r[-1] == "0" for r in rows)            # and the group has no lag
    assert kafkalab("topics", "delete", topic).returncode == 0


def test_produce_checks_every_line_before_sending_any():
    topic = unique("cli-bad")
    kafkalab("topics", "create", topic, "-p", "1")
    out = kafkalab("produce", topic, stdin='{"ok": 1}\n{"broken": \n{"never": 1}\n')
    assert out.returncode == 2
    assert "line 2: not valid JSON" in out.stderr and "nothing was sent" in out.stderr
    got = kafkalab("consume", topic, "--idle-timeout", "1.5", "--no-pretty").stdout
    assert [line for line in got.splitlines() if not line.startswith("#")] == []


def test_errors_are_one_clear_line_not_a_traceback():
    out = kafkalab("topics", "list", env={"KAFKA_BROKERS": "not-a-broker"})
    assert out.returncode == 2
    assert out.stderr.startswith("kafkalab: KAFKA_BROKERS: expected") and "Traceback" not in out.stderr
    missing = kafkalab("consume", unique("nope"), "--idle-timeout", "1")
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_broker_status_names_apache_kafka_and_its_address():
    out = kafkalab("broker", "status")
    assert out.returncode == 0 and "Apache Kafka 4." in out.stdout
    assert "export KAFKA_BROKERS=127.0.0.1:" in out.stdout


BAD_LINES = {
    "NaN": b'{"amount": NaN}\n',
    "Infinity": b'{"amount": -Infinity}\n',
    "1e400": b'{"amount": 1e400}\n',
    "deep": b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "huge int": b'{"n": ' + b"9" * 5000 + b"}\n",
    "binary": b"\xff\xfe\x00binary\n",
    "5 MB": b'"' + b"x" * 5_000_000 + b'"\n',
}


@pytest.mark.parametrize("name", list(BAD_LINES))
def test_produce_refuses_a_bad_line_in_one_line_and_sends_nothing(name):
    topic = unique("cli-hostile")
    assert kafkalab("topics", "create", topic, "-p", "1").returncode == 0
    data = b'{"ok": 1}\n' + BAD_LINES[name]
    fmt = ["--format", "str"] if name == "binary" else []
    out = subprocess.run([sys.executable, "-m", "kafkalab", "produce", topic, *fmt], input=data,
                         capture_output=True, timeout=120)
    err = out.stderr.decode()
    assert out.returncode == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("kafkalab: line 2: ") and "nothing was sent" in err
    desc = kafkalab("topics", "describe", topic)
    assert desc.stdout.splitlines()[2].split()[3] == "0"  # the good first line was not sent either


def test_produce_with_a_missing_file_says_so():
    out = kafkalab("produce", unique("cli-nofile"), "-f", "/nonexistent/records.jsonl")
    assert out.returncode == 2
    assert out.stderr.strip() == ("kafkalab: cannot read /nonexistent/records.jsonl: No such file or "
                                  "directory; nothing was sent")


@pytest.mark.parametrize("name", ["", "my topic", ".", "..", "a/b", "x" * 300, "caf\u00e9"])
def test_illegal_topic_names_are_refused_before_the_broker_is_asked(name):
    for args in (["topics", "create", name], ["topics", "describe", name],
                 ["produce", name], ["consume", name, "--idle-timeout", "1"]):
        out = kafkalab(*args, stdin="{}\n", env={"KAFKA_BROKERS": "127.0.0.1:9"})  # no broker there
        assert out.returncode == 2, (args, out.stderr)
        assert out.stderr.startswith("kafkalab: topic name") and "Traceback" not in out.stderr


@pytest.mark.parametrize("args", [["-p", "0"], ["-p", "-1"], ["-r", "0"], ["-p", "two"],
                                  ["--config", "retention.ms=banana"], ["--config", "retention.ms"],
                                  ["--config", "retention.mss=1"], ["--config", "segment.bytes=1000"],
                                  ["--config", "cleanup.policy=sometimes"]])
def test_topic_create_refuses_bad_settings_and_creates_nothing(args):
    topic = unique("cli-badcfg")
    out = kafkalab("topics", "create", topic, *args)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]  # argparse prints its usage first
    assert last.startswith("kafkalab") and ("expected" in last or "not one Kafka knows" in last)
    assert topic not in kafkalab("topics", "list").stdout.split()


def test_replication_factor_above_the_broker_count_is_refused():
    topic = unique("cli-rf")
    out = kafkalab("topics", "create", topic, "-r", "3")
    assert out.returncode == 2
    assert out.stderr.strip() == ("kafkalab: replication factor 3: the cluster has only 1 "
                                  "broker(s), and each copy needs its own")
    assert topic not in kafkalab("topics", "list").stdout.split()


def test_consume_refuses_bad_bounds():
    for args in (["-n", "0"], ["--timeout", "nan"], ["--idle-timeout", "-1"], ["--timeout", "inf"]):
        out = kafkalab("consume", "t", *args)
        assert out.returncode == 2 and "Traceback" not in out.stderr, args


@pytest.mark.slow
def test_orders_up_with_curl_reaches_completed(tmp_path):
    """The course brief's own check: the verbatim POST, with curl, against `kafkalab orders up`."""
    if shutil.which("curl") is None:
        missing_system_tool("curl is not installed")
    from kafkalab.net import free_port

    port = free_port()
    prefix = unique("curl") + "-"
    proc = subprocess.Popen([sys.executable, "-m", "kafkalab", "orders", "up", "--port", str(port),
                             "--duration", "90", "--prefix", prefix, "--data-dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "LOG_LEVEL": "warning"})

    def curl(*args):
        out = subprocess.run(["curl", "-s", "--max-time", "5", *args], capture_output=True, text=True)
        return out.stdout

    try:
        base = f"http://localhost:{port}/api"
        for _ in range(300):
            if curl(f"{base}/orders/none") or proc.poll() is not None:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        body = ('{"customerId": "CUST-001", "items": [{"productId": "ITEM-001", "name": "Laptop", '
                '"price": 1500, "quantity": 1}]}')
        created = json.loads(curl("-X", "POST", f"{base}/orders", "-H",
                                  "Content-Type: application/json", "-d", body))
        order_id = created["orderId"]
        for _ in range(300):
            order = json.loads(curl(f"{base}/orders/{order_id}"))
            if order["status"] == "completed":
                break
            time.sleep(0.1)
        assert order["status"] == "completed", order
        for _ in range(100):
            analytics = json.loads(curl(f"{base}/analytics"))
            if analytics["byStatus"].get("completed") == 1:
                break
            time.sleep(0.1)
        assert analytics["byStatus"]["completed"] == 1 and analytics["revenue"] == 1500
        # Week 5: the services' own log lines were shipped to application-logs.
        from kafkalab.clients import Consumer

        with Consumer("application-logs", group_id=False) as logs:
            ours = [m.value for m in logs.messages(idle_timeout=2, timeout=30)
                    if m.ok and prefix in m.value.get("message", "")]
        assert ours and all(r["service"] == "orders" for r in ours)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_every_week_twin_answers_help_through_kafkalab():
    from kafkalab.cli import AREAS

    for area in AREAS:
        out = kafkalab(area, "--help")
        assert out.returncode == 0, f"kafkalab {area} --help: {out.stderr[-500:]}"
        assert "usage:" in out.stdout, f"kafkalab {area} --help printed no usage"


@pytest.mark.parametrize("args", [["orders", "order", "--timeout", "1"], ["logs", "demo"],
                                  ["iot", "run"], ["cdc", "apply"], ["analytics", "run"],
                                  ["ops", "health"], ["quickstart"], ["measure"]])
def test_a_bad_variable_is_one_line_from_every_week_twin(args):
    # `LOG_LEVEL=loud python -m kafkalab.orders` used to end in a SettingsError traceback.
    out = subprocess.run([sys.executable, "-m", f"kafkalab.{args[0]}", *args[1:]],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "LOG_LEVEL": "loud"})
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.strip() == (f"python -m kafkalab.{args[0]}: LOG_LEVEL: expected one of debug, "
                                  "info, warning, error, critical; got 'loud'")


@pytest.mark.parametrize("args, says", [
    (["orders", "api", "--port", "-1"], "argument --port: expected a port number 1-65535, got '-1'"),
    (["orders", "up", "--port", "99999"], "argument --port: expected a port number 1-65535, got '99999'"),
    (["orders", "demo", "--orders", "0"], "argument --orders: expected a whole number of 1 or more, got '0'"),
    (["orders", "all", "--duration", "nan"], "argument --duration: expected a number of seconds"),
    (["streams", "--batch-size", "0"], "argument --batch-size: expected a whole number of 1 or more, got '0'"),
    (["streams", "--window-ms", "-5"], "argument --window-ms: expected a whole number of 1 or more"),
])
def test_a_bad_number_is_refused_in_one_line_before_anything_starts(args, says):
    # `orders up --port 99999` used to start anyway, on some other port; `streams
    # --batch-size 0` ended in kafka-python's traceback after the group join.
    out = subprocess.run([sys.executable, "-m", f"kafkalab.{args[0]}", *args[1:]],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert says in out.stderr.strip().splitlines()[-1]
