"""Other Kafka clients as peers of kafkalab's, on the suite's broker.

What kafkalab writes, Kafka's own tools (``kafka-console-consumer``,
``kafka-consumer-groups``), librdkafka (confluent-kafka in Python, kcat on the
command line) read back byte for byte, and the other way round: JSON values,
keys and headers are plain Kafka records, not a kafkalab dialect.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING
from confluent_kafka import Consumer as ConfluentConsumer
from confluent_kafka import Producer as ConfluentProducer
from confluent_kafka import TopicPartition as ConfluentTopicPartition

from kafkalab import broker
from kafkalab.clients import Admin, Consumer, Producer, bootstrap_servers
from kafkalab.clients.serdes import to_bytes
from tests.conftest import missing_system_tool, unique

# Non-ASCII on purpose (kafkalab's JSON escapes it: \u00e9; the peers must keep the escapes).
RECORDS = [
    ("CUST-1", {"order": 1, "total": 12.5, "note": "café ☕"}, {"source": "api", "trace": "t-1"}),
    ("CUST-2", {"order": 2, "total": 0, "items": ["a", "b"]}, {"source": "batch"}),
    ("CUST-1", {"order": 3, "total": 99.99, "paid": True}, {}),
]


def bootstrap() -> str:
    return ",".join(bootstrap_servers())


def write_with_kafkalab(topic: str) -> None:
    with Producer() as p:
        for key, value, headers in RECORDS:
            p.send(topic, value, key=key, headers=headers, partition=0)
        p.flush(30)


def read_with_kafkalab(topic: str, n: int, **formats) -> list:
    with Consumer(topic, group_id=False, **formats) as c:
        got = list(c.messages(max_messages=n, timeout=30))
    assert len(got) == n, f"kafkalab read {len(got)} of {n} records"
    return got


# -- Kafka's own tools ---------------------------------------------------------------------

def test_kafka_console_consumer_reads_what_kafkalab_wrote_byte_for_byte(new_topic):
    topic = new_topic(partitions=1, prefix="peer-console")
    write_with_kafkalab(topic)
    out = broker.tool("kafka-console-consumer", "--bootstrap-server", bootstrap(),
                      "--topic", topic, "--from-beginning", "--max-messages", str(len(RECORDS)),
                      "--timeout-ms", "30000",
                      # `--property` of older releases; Kafka 4.4 says it is deprecated
                      # (on stdout) and names this one
                      "--formatter-property", "print.key=true",
                      "--formatter-property", "print.headers=true", timeout=90)
    assert out.returncode == 0, out.stderr[-2000:]
    expected = [
        "\t".join([",".join(f"{k}:{v}" for k, v in headers.items()) or "NO_HEADERS", key,
                   to_bytes("json", value).decode()])
        for key, value, headers in RECORDS]
    assert out.stdout.splitlines() == expected
    assert [json.loads(line.split("\t")[2]) for line in out.stdout.splitlines()] == [
        value for _, value, _ in RECORDS]


def _groups_describe(group: str) -> dict[int, tuple[int | None, int, int | None]]:
    """``{partition: (current offset, log end offset, lag)}`` from kafka-consumer-groups."""
    out = broker.tool("kafka-consumer-groups", "--bootstrap-server", bootstrap(),
                      "--describe", "--group", group, timeout=90)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = {}
    for line in out.stdout.splitlines():
        cols = line.split()
        if cols[:1] == [group]:  # GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...
            current, end, lag = (None if c == "-" else int(c) for c in cols[3:6])
            rows[int(cols[2])] = (current, end, lag)
    return rows


def test_kafka_consumer_groups_shows_the_offsets_and_lag_kafkalab_sees(new_topic):
    topic = new_topic(partitions=2, prefix="peer-groups")
    group = unique("peer-group")
    with Producer() as p:
        for i in range(10):
            p.send(topic, {"n": i}, key=f"k{i}", partition=i % 2)
        p.flush(30)
    # Real Kafka's lowest session timeout is 6 s (group.min.session.timeout.ms).
    with Consumer(topic, group_id=group, session_timeout_ms=6000,
                  heartbeat_interval_ms=1000) as c:
        got = list(c.messages(max_messages=10, timeout=60))
        assert len(got) == 10
        c.commit(got)
    with Producer() as p:  # lag: 3 new records on partition 0, 1 on partition 1
        for partition in (0, 0, 0, 1):
            p.send(topic, {"late": True}, partition=partition)
        p.flush(30)

    with Admin() as admin:
        ours = {pl.partition: (pl.committed, pl.end, pl.lag) for pl in admin.lag(group, topic)}
    assert ours == {0: (5, 8, 3), 1: (5, 6, 1)}
    assert _groups_describe(group) == ours


# -- librdkafka: confluent-kafka -------------------------------------------------------------

def test_confluent_kafka_reads_what_kafkalab_wrote(new_topic):
    topic = new_topic(partitions=1, prefix="peer-confluent-in")
    write_with_kafkalab(topic)
    c = ConfluentConsumer({"bootstrap.servers": bootstrap(), "group.id": unique("confluent"),
                           "enable.auto.commit": False})
    try:
        c.assign([ConfluentTopicPartition(topic, 0, OFFSET_BEGINNING)])
        got = []
        deadline = time.monotonic() + 30
        while len(got) < len(RECORDS) and time.monotonic() < deadline:
            msg = c.poll(1.0)
            if msg is not None:
                assert msg.error() is None, msg.error()
                got.append(msg)
    finally:
        c.close()
    assert [(m.key(), m.value(), m.headers() or []) for m in got] == [
        (key.encode(), to_bytes("json", value), [(k, v.encode()) for k, v in headers.items()])
        for key, value, headers in RECORDS]


def test_kafkalab_reads_what_confluent_kafka_wrote(new_topic):
    topic = new_topic(partitions=1, prefix="peer-confluent-out")
    p = ConfluentProducer({"bootstrap.servers": bootstrap(), "enable.idempotence": True})
    errors = []
    for key, value, headers in RECORDS:
        p.produce(topic, value=json.dumps(value).encode(), key=key.encode(), partition=0,
                  headers=list(headers.items()),
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
    assert p.flush(30) == 0 and not errors
    got = read_with_kafkalab(topic, len(RECORDS))
    assert [(m.key, m.value, dict(m.headers)) for m in got] == [
        (key, value, {k: v.encode() for k, v in headers.items()}) for key, value, headers in RECORDS]


# -- librdkafka: kcat -------------------------------------------------------------------------

@pytest.fixture
def kcat() -> str:
    path = shutil.which("kcat")
    if path is None:
        missing_system_tool("kcat is not installed (apt-get install kcat)")
    return path


def test_kcat_produces_and_kafkalab_reads(kcat, new_topic):
    topic = new_topic(partitions=1, prefix="peer-kcat-in")
    # -K sets the key separator; -H adds a header to every record of this run.
    lines = "".join(f"{key}|{json.dumps(value)}\n" for key, value, _ in RECORDS)
    out = subprocess.run([kcat, "-b", bootstrap(), "-t", topic, "-p", "0", "-P", "-K", "|",
                          "-H", "source=kcat", "-X", "acks=all"],
                         input=lines, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    got = read_with_kafkalab(topic, len(RECORDS))
    assert [(m.key, m.value, m.headers) for m in got] == [
        (key, value, (("source", b"kcat"),)) for key, value, _ in RECORDS]


def test_kcat_consumes_what_kafkalab_wrote(kcat, new_topic):
    topic = new_topic(partitions=1, prefix="peer-kcat-out")
    write_with_kafkalab(topic)
    out = subprocess.run([kcat, "-b", bootstrap(), "-C", "-t", topic, "-o", "beginning",
                          "-e", "-c", str(len(RECORDS)), "-f", "%k\\t%s\\t%h\\n"],
                         capture_output=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(b"\n")[:-1] == [
        b"\t".join([key.encode(), to_bytes("json", value),
                    ",".join(f"{k}={v}" for k, v in headers.items()).encode()])
        for key, value, headers in RECORDS]

