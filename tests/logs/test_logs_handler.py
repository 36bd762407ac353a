"""KafkaLogHandler: structured records, never blocking, bounded loss with an honest count.

The outage test runs a second Apache Kafka broker of its own
(``kafkalab.broker.up`` in a private state directory: the suite's shared broker
is never stopped), stops it under a running handler and starts it again on the
same port, with its data kept.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
import uuid

import pytest

from kafkalab.clients import Consumer
from kafkalab.logs import KafkaLogHandler, install, uninstall, validate
from kafkalab.net import free_port
from kafkalab.settings import Settings


def closed_port() -> int:
    return free_port()  # nothing listens there


def attach(handler: KafkaLogHandler, name: str) -> logging.Logger:
    log = logging.getLogger(name)
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG)
    log.propagate = False
    return log


# ---------------------------------------------------------------- records


def test_to_record_has_the_course_fields_extra_metadata_and_the_traceback() -> None:
    h = KafkaLogHandler("orders", host="web-1")
    log = logging.getLogger("t.fields")
    try:
        raise KeyError("ORD-9")
    except KeyError:
        record = log.makeRecord("t.fields", logging.ERROR, __file__, 1, "failed %s", ("ORD-9",),
                                __import__("sys").exc_info(),
                                extra={"duration_ms": 12, "customer": object()})
    body = h.to_record(record)
    assert {"timestamp", "source", "level", "message", "metadata", "service", "host",
            "logger", "exception"} <= set(body)
    assert body["source"] == body["service"] == "orders"
    assert (body["level"], body["message"], body["host"]) == ("ERROR", "failed ORD-9", "web-1")
    assert "KeyError: 'ORD-9'" in body["exception"]
    assert body["metadata"]["duration_ms"] == 12
    assert body["metadata"]["customer"].startswith("<object object")  # repr, not a crash
    assert validate(body)["level"] == "ERROR"


def test_a_record_may_name_its_own_service() -> None:
    h = KafkaLogHandler("default")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hi", None, None)
    record.service = "payments"
    assert h.to_record(record)["service"] == "payments"


# ---------------------------------------------------------------- unreachable broker


def test_unreachable_broker_drops_beyond_capacity_and_counts_every_drop() -> None:
    settings = Settings(brokers=(f"127.0.0.1:{closed_port()}",))
    h = KafkaLogHandler("api", settings=settings, capacity=50, batch_size=10,
                        send_timeout=1.0, flush_interval=0.05)
    log = attach(h, f"t.unreachable.{uuid.uuid4().hex}")
    log.info("first")  # starts the sender, which cannot reach the broker
    deadline = time.monotonic() + 30
    while h.stats.failures == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert h.stats.failures >= 1, "the sender should have failed to reach the closed port"
    # The sender is failing; emitting still completes, because emit only
    # appends to the buffer: the drops below prove it did not wait for sends.
    for i in range(500):
        log.info("line %d", i)
    s = h.stats
    assert s.emitted == 501
    assert s.sent == 0
    assert s.buffered + s.in_flight <= 50 + 10
    assert s.dropped == 501 - s.buffered - s.in_flight
    assert s.dropped >= 500 - 50
    h.close(timeout=0.5)
    assert h.stats.dropped == 501  # nothing could be sent: all counted, none silently lost
    assert "127.0.0.1" in (h.stats.last_error or "") or h.stats.last_error


def test_kafka_python_lines_are_not_shipped_but_kafkalab_lines_are() -> None:
    h = KafkaLogHandler("api", flush_interval=60)
    for name in ("kafka", "kafkalab.orders.payment"):  # kafka.conn propagates to kafka
        logging.getLogger(name).addHandler(h)
    try:
        logging.getLogger("kafka").warning("noise")
        logging.getLogger("kafka.conn").warning("noise")
        logging.getLogger("kafkalab.orders.payment").warning("payment declined")
    finally:
        for name in ("kafka", "kafkalab.orders.payment"):
            logging.getLogger(name).removeHandler(h)
    assert (h.stats.skipped, h.stats.emitted) == (2, 1)
    h.close(timeout=0)
    assert h.stats.dropped == 1  # closed before sending: counted


def test_a_line_that_cannot_be_formatted_is_counted_not_raised(capsys) -> None:
    h = KafkaLogHandler("api", flush_interval=60)
    log = attach(h, f"t.badformat.{uuid.uuid4().hex}")
    log.info("%d items", "three")          # a bug in the caller's format string
    log.info("fine")
    assert (h.stats.emitted, h.stats.dropped, h.stats.buffered) == (2, 1, 1)
    assert "Logging error" in capsys.readouterr().err   # logging's own report
    h.close(timeout=0)


def test_records_logged_after_close_are_counted_as_dropped() -> None:
    h = KafkaLogHandler("api", flush_interval=60)
    log = attach(h, f"t.closed.{uuid.uuid4().hex}")
    h.close(timeout=0)
    log.error("too late")
    assert (h.stats.emitted, h.stats.dropped, h.stats.buffered) == (1, 1, 0)


def test_install_attaches_one_handler_and_ships(admin) -> None:
    topic = f"applogs-{uuid.uuid4().hex[:8]}"
    name = f"t.install.{uuid.uuid4().hex}"
    h = install("orders", logger=name, topic=topic)
    assert install("orders", logger=name, topic=topic) is h
    assert logging.getLogger(name).handlers == [h]
    assert logging.getLogger(name).level == logging.INFO
    logging.getLogger(name).info("order %s created", "ORD-1", extra={"orderId": "ORD-1"})
    logging.getLogger(name).debug("below the level: not shipped")
    assert h.flush(30)
    uninstall(h)
    assert logging.getLogger(name).handlers == []
    with Consumer(topic, group_id=False) as c:
        got = [m.value for m in c.messages(max_messages=1, timeout=20)]
    assert [(r["service"], r["message"], r["metadata"]["orderId"]) for r in got] == [
        ("orders", "order ORD-1 created", "ORD-1")]
    admin.delete_topic(topic)


# ---------------------------------------------------------------- a real outage


@pytest.mark.slow
def test_handler_survives_a_broker_outage_and_reports_what_it_dropped(tmp_path, monkeypatch) -> None:
    from kafkalab import broker

    monkeypatch.setenv("KAFKALAB_STATE_DIR", str(tmp_path))  # a broker of our own
    port = closed_port()  # fixed, so that the handler finds the broker again when it is back
    info, _ = broker.up(nodes=1, port=port)
    settings = Settings(brokers=tuple(info.bootstrap.split(",")),
                        client_id=f"outage-{uuid.uuid4().hex[:6]}")
    topic = "application-logs"
    h = KafkaLogHandler("api", settings=settings, topic=topic, capacity=100, batch_size=20,
                        send_timeout=2.0, max_backoff=0.5, flush_interval=0.05)
    log = attach(h, f"t.outage.{uuid.uuid4().hex}")
    try:
        for i in range(10):
            log.info("before %d", i)
        assert h.flush(60), h.stats
        assert h.stats.sent == 10
        broker.down()
        # The broker is down; its log, with the 10 records, stays on disk.
        log.info("during 0")
        deadline = time.monotonic() + 30
        while h.stats.failures == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert h.stats.failures >= 1
        for i in range(1, 400):
            log.info("during %d", i)
        dropped = h.stats.dropped
        assert dropped >= 400 - 100 - 20, h.stats   # the bound: capacity plus one batch
        assert h.stats.sent == 10
        broker.up(nodes=1, port=port)
        assert h.flush(60), h.stats
        # The drop report goes out after the first successful send.
        deadline = time.monotonic() + 30
        while h.stats.dropped_reported < dropped and time.monotonic() < deadline:
            time.sleep(0.05)
        assert h.stats.dropped_reported == dropped
        with Consumer(topic, group_id=False, settings=settings) as c:
            got = [m.value for m in c.messages(idle_timeout=3, timeout=60)]
    finally:
        h.close(timeout=1)
        broker.down()
    # Every kafka-python producer the handler made along the way is closed:
    # no network thread of ours keeps reconnecting in the background.
    # (A force-closed thread ends at its next loop turn: give it a moment.)
    def ours() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.startswith(settings.client_id)]

    deadline = time.monotonic() + 10
    while ours() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not ours()
    before = {r["message"] for r in got if r["message"].startswith("before")}
    assert before == {f"before {i}" for i in range(10)}  # kept by the broker across its outage
    during = {r["message"] for r in got if r["message"].startswith("during")}
    reports = [r for r in got if r["logger"] == "kafkalab.logs.handler"]
    # Everything not counted as dropped arrived (duplicates are allowed: at-least-once).
    assert len(during) == 400 - dropped
    assert "during 0" in during  # the oldest lines are the ones kept
    assert [r["metadata"]["dropped"] for r in reports] == [dropped]
    assert reports[0]["level"] == "WARNING" and str(dropped) in reports[0]["message"]
    assert h.stats.emitted == 410 and h.stats.sent == 410 - dropped


@pytest.mark.slow
def test_a_program_with_the_two_lines_exits_cleanly_while_the_broker_is_down() -> None:
    import os
    import sys

    program = (
        "from kafkalab import logs\n"
        "logs.install(service='orders')\n"
        "import logging\n"
        "for i in range(2000):\n"
        "    logging.getLogger('shop').info('order %d placed', i)\n"
        "print('done logging')\n"
    )
    env = dict(os.environ, KAFKA_BROKERS=f"127.0.0.1:{closed_port()}")
    out = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True,
                         text=True, timeout=60)   # a hang fails here instead of blocking the suite
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout == "done logging\n"
    assert "Traceback" not in out.stderr
    # The lines it could not ship are lost: the program says so (it used to exit silently).
    lost = [line for line in out.stderr.splitlines() if line.startswith("kafkalab.logs: ")]
    assert len(lost) == 1 and " log record(s) for 'application-logs' could not be sent and are lost" in lost[0]
    assert int(lost[0].split()[1]) > 0
