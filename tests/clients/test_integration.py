"""The client layer against a real Apache Kafka broker."""

from __future__ import annotations

import threading
import time

import pytest
from kafka.structs import TopicPartition

from kafkalab.clients import (
    BrokerUnavailable,
    Consumer,
    ConsumerLoop,
    DeadLetterQueue,
    PermanentError,
    Producer,
    TransientError,
    UnknownTopicError,
    run,
)
from kafkalab.settings import Settings
from tests.conftest import unique


def read_all(topic: str, fmt: str = "json", idle: float = 1.5) -> list:
    with Consumer(topic, group_id=False, value_format=fmt) as c:
        return list(c.messages(idle_timeout=idle, timeout=30))


def test_round_trip_keeps_keys_headers_timestamps_and_key_order(producer, new_topic):
    topic = new_topic(partitions=4)
    for i in range(60):
        producer.send(topic, {"n": i}, key=f"CUST-{i % 6}", headers={"source": "test"},
                      timestamp_ms=1_700_000_000_000 + i)
    producer.flush()
    msgs = read_all(topic)
    assert sorted(m.value["n"] for m in msgs) == list(range(60))
    by_key: dict[str, list] = {}
    for m in msgs:
        by_key.setdefault(m.key, []).append(m)
    for key, items in by_key.items():
        assert len({m.partition for m in items}) == 1, f"{key} spread over partitions"
        ordered = sorted(items, key=lambda m: m.offset)
        assert [m.value["n"] for m in ordered] == sorted(m.value["n"] for m in items)
    assert all(m.header("source") == b"test" for m in msgs)
    assert {m.timestamp_ms - 1_700_000_000_000 for m in msgs} == set(range(60))


def test_end_offsets_are_right_after_batched_sends(admin, new_topic):
    # ListOffsets("latest") gives the high watermark: 50 after one 50-record batch.
    topic = new_topic(partitions=2)
    with Producer(linger_ms=200, batch_size=1_000_000) as p:
        for i in range(50):
            p.send(topic, i, partition=0)
        p.flush()
    ends = admin.end_offsets(topic)
    assert ends == {TopicPartition(topic, 0): 50, TopicPartition(topic, 1): 0}
    assert admin.message_count(topic) == 50


def test_from_beginning_false_reads_only_new_records(producer, new_topic):
    topic = new_topic(partitions=1)
    with Producer(linger_ms=100) as batched:
        for i in range(30):
            batched.send(topic, {"old": i})
    with Consumer(topic, group_id=unique("latest"), from_beginning=False) as c:
        c.wait_for_assignment(timeout=30)
        producer.send_and_wait(topic, {"new": 1})
        got = [m.value for m in c.messages(idle_timeout=1.5, timeout=20)]
    assert got == [{"new": 1}]


def test_without_a_group_from_the_end_means_the_end_when_it_connected(producer, new_topic):
    topic = new_topic(partitions=2)
    producer.send_and_wait(topic, {"old": 1})
    with Consumer(topic, group_id=False, from_beginning=False) as c:
        _ = c.raw  # connected: "the end" is here, not at the first poll
        producer.send_and_wait(topic, {"new": 1})
        got = [m.value for m in c.messages(idle_timeout=1.5, timeout=20)]
    assert got == [{"new": 1}]


def test_group_commits_and_a_new_member_resumes_after_them(producer, new_topic, admin):
    topic = new_topic(partitions=3)
    group = unique("resume")
    for i in range(20):
        producer.send(topic, {"n": i}, key=str(i))
    producer.flush()
    with Consumer(topic, group_id=group) as c:
        first = list(c.messages(max_messages=20, timeout=30))
        c.commit(first)
        assert admin.describe_group(group)["state"] == "Stable"
        assert len(admin.describe_group(group)["members"]) == 1
    assert admin.describe_group(group) == {"group": group, "state": "Empty", "members": []}
    assert sum(p.lag for p in admin.lag(group, topic)) == 0
    for i in range(20, 25):
        producer.send(topic, {"n": i}, key=str(i))
    producer.flush()
    assert sum(p.lag for p in admin.lag(group, topic)) == 5
    with Consumer(topic, group_id=group) as c:
        rest = [m.value["n"] for m in c.messages(idle_timeout=1.5, timeout=30)]
    assert sorted(rest) == [20, 21, 22, 23, 24]


def test_records_fetched_while_joining_are_kept(producer, new_topic):
    # wait_for_assignment polls, so it may fetch records in the same poll that
    # joins the group (and runs the rebalance listener): none may be lost.
    topic = new_topic(partitions=3)
    for i in range(30):
        producer.send(topic, {"n": i}, key=str(i))
    producer.flush()
    with Consumer(topic, group_id=unique("join")) as c:
        c.wait_for_assignment(timeout=30)
        got = [m.value["n"] for m in c.messages(max_messages=30, idle_timeout=1.5, timeout=30)]
    assert sorted(got) == list(range(30))


def test_two_members_split_the_partitions(producer, new_topic):
    topic = new_topic(partitions=4)
    group = unique("split")
    a, b = Consumer(topic, group_id=group), Consumer(topic, group_id=group)
    try:
        a.wait_for_assignment(timeout=30)
        # b's join triggers a rebalance; poll both until each owns a share.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            a.poll(0.1)
            b.poll(0.1)
            # Mid-rebalance, a may still report its old assignment while b has
            # its new one: wait until both have joined and the split is clean.
            mine, theirs = a.assignment(), b.assignment()
            if (a.joined and b.joined and mine and theirs and not mine & theirs
                    and len(mine | theirs) == 4):
                break
        assert a.assignment() and b.assignment()
        assert not (a.assignment() & b.assignment())
        assert len(a.assignment() | b.assignment()) == 4
    finally:
        a.close()
        b.close()


def test_loop_dead_letters_poison_and_failed_records_and_commits(producer, new_topic, admin):
    topic = new_topic(partitions=2)
    dlq_topic = new_topic(partitions=1, prefix="dlq")
    producer.send(topic, {"n": 1}, key="a")
    producer.raw.send(topic, b"{not json", key=b"a")          # poison: cannot decode
    producer.send(topic, {"n": 2, "bad": True}, key="a")     # handler rejects it
    producer.send(topic, {"n": 3, "flaky": True}, key="a")   # fails twice, then works
    producer.flush()
    seen, flaky_calls = [], []

    def handler(m):
        if m.value.get("bad"):
            raise PermanentError("n=2 is not a valid order")
        if m.value.get("flaky"):
            flaky_calls.append(1)
            if len(flaky_calls) < 3:
                raise TransientError("payment service busy")
        seen.append(m.value["n"])

    group = unique("loop")
    with Consumer(topic, group_id=group) as c:
        loop = ConsumerLoop(c, handler, dead_letter=DeadLetterQueue(producer, dlq_topic),
                            sleep=lambda s: None)
        stats = loop.run(max_messages=4, timeout=30)
    assert seen == [1, 3] and stats.retries == 2
    assert (stats.processed, stats.dead_lettered) == (2, 2)
    dead = read_all(dlq_topic)
    reasons = sorted(d.value["error"]["stage"] for d in dead)
    assert reasons == ["decode", "handler"]
    poison = next(d.value for d in dead if d.value["error"]["stage"] == "decode")
    assert poison["originalMessage"] == "{not json" and poison["source"]["topic"] == topic
    assert sum(p.lag for p in admin.lag(group, topic)) == 0


def test_crash_mid_batch_redelivers_and_idempotent_handler_gives_same_result(producer, new_topic):
    topic = new_topic(partitions=1)
    for i in range(10):
        producer.send(topic, {"id": f"e{i}", "amount": i})
    producer.flush()
    group = unique("crash")
    totals: dict[str, int] = {}  # the state; keyed by event id, so replays change nothing

    class Crash(BaseException):
        pass  # not an Exception: the loop must not catch and dead-letter it

    def crashing(m):
        if m.value["id"] == "e6":
            raise Crash()
        totals[m.value["id"]] = m.value["amount"]

    with Consumer(topic, group_id=group) as c:
        with pytest.raises(Crash):
            run(c, crashing, max_messages=10, timeout=30, handle_signals=False)
    assert len(totals) == 6  # e0..e5 handled, nothing committed
    with Consumer(topic, group_id=group) as c:
        stats = run(c, lambda m: totals.__setitem__(m.value["id"], m.value["amount"]),
                    max_messages=10, timeout=30, handle_signals=False)
    assert stats.processed == 10  # the whole batch came again
    assert sum(totals.values()) == sum(range(10)) and len(totals) == 10


def test_loop_stops_gracefully_from_another_thread(producer, new_topic):
    topic = new_topic(partitions=1)
    with Consumer(topic, group_id=unique("stop")) as c:
        loop = ConsumerLoop(c, lambda m: None)
        t = threading.Timer(2.0, loop.stop)
        t.start()
        stats = loop.run()  # unbounded: only stop() ends it
        t.join()
    assert loop.stopping and stats.processed == 0


def test_unknown_topic_is_a_clear_error():
    with pytest.raises(UnknownTopicError, match="does not exist; create it"):
        Consumer(unique("no-such-topic")).poll(0.1)


def test_unreachable_broker_fails_fast_with_a_clear_error():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        settings = Settings.from_env({"KAFKA_BROKERS": f"127.0.0.1:{port}"})
        with pytest.raises(BrokerUnavailable, match=f"no Kafka broker answered at 127.0.0.1:{port}"):
            Producer(settings).send("x", {"a": 1})
    # It ended because every client is bounded (kafka-python alone waits 30 s):
    from kafkalab.clients.connection import BOOTSTRAP_TIMEOUT_MS, client_config

    assert client_config(settings)["bootstrap_timeout_ms"] == BOOTSTRAP_TIMEOUT_MS < 30_000


def test_producer_carries_on_after_a_broker_restart(tmp_path, monkeypatch):
    # Kafka keeps its log and the idempotent producer's id across a restart:
    # the same producer goes on, and nothing written before is lost.
    from kafkalab import broker

    monkeypatch.setenv("KAFKALAB_STATE_DIR", str(tmp_path))  # a private broker
    monkeypatch.delenv("KAFKA_BROKERS", raising=False)
    broker.up(nodes=1)
    try:
        from kafkalab.clients import Admin

        with Producer() as p, Admin() as admin:
            admin.ensure_topic("restart-me", 1)
            p.send_and_wait("restart-me", {"before": True})
            old = p.raw
            broker.restart()  # stopped and started again, its data kept
            p.send_and_wait("restart-me", {"after": True}, timeout=60)
            assert p.raw is old
            got = [m.value for m in read_all("restart-me")]
        assert got == [{"before": True}, {"after": True}]
    finally:
        broker.down()


def test_one_producer_shared_by_threads_from_its_first_send(new_topic, monkeypatch):
    # A service's loop and the HTTP API share one Producer. Its first sends race
    # to create the kafka-python producer: exactly one must be made, and every
    # thread must send through it. A slow KafkaProducer(), as under load, widens
    # the window in which a second thread could make another one.
    import kafkalab.clients.producer as producer_module

    made: list[object] = []
    real_producer = producer_module.KafkaProducer

    def slow_producer(**config):
        time.sleep(0.05)
        made.append(real_producer(**config))
        return made[-1]

    monkeypatch.setattr(producer_module, "KafkaProducer", slow_producer)
    topic = new_topic(partitions=2)
    errors: list[BaseException] = []
    for attempt in range(5):  # a fresh producer each time: the race is at creation
        shared = Producer()
        start = threading.Barrier(8)

        def send_some(t: int, start=start, shared=shared, attempt=attempt) -> None:
            try:
                start.wait()
                time.sleep(0.01 * t)  # arrive while another thread creates the producer
                for i in range(25):
                    shared.send(topic, {"attempt": attempt, "t": t, "i": i})
                    time.sleep(0.002)
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=send_some, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        shared.close()
    assert errors == []
    assert len(made) == 5  # one kafka-python producer per Producer
    assert len(read_all(topic)) == 5 * 8 * 25


def test_refused_commit_is_counted_and_the_batch_comes_again(producer, new_topic):
    from kafka.errors import CommitFailedError

    topic = new_topic(partitions=1)
    for i in range(5):
        producer.send(topic, {"n": i})
    producer.flush()
    group = unique("refused")

    class RebalancedMidBatch(Consumer):
        def commit(self, messages=None):  # the fault: the group moved on meanwhile
            raise CommitFailedError()

    with RebalancedMidBatch(topic, group_id=group) as c:
        stats = run(c, lambda m: None, max_messages=5, timeout=30, handle_signals=False)
    assert stats.processed == 5 and stats.refused_commits == 1
    with Consumer(topic, group_id=group) as c:
        again = [m.value["n"] for m in c.messages(idle_timeout=1.5, timeout=30)]
    assert again == [0, 1, 2, 3, 4]  # nothing was committed: delivered again


def test_close_with_the_broker_gone_drops_pending_records_and_stops(tmp_path, monkeypatch):
    from kafkalab import broker

    monkeypatch.setenv("KAFKALAB_STATE_DIR", str(tmp_path))  # a private broker
    monkeypatch.delenv("KAFKA_BROKERS", raising=False)
    broker.up(nodes=1)
    try:
        p = Producer(enable_idempotence=False, acks=1, linger_ms=60_000, batch_size=10_000_000)
        p.send("gone", {"n": 1})  # connects, then sits in a batch (long linger)
        sender = p.raw._sender
        broker.down()
        p.close(timeout=1)  # kafka-python alone raises here and keeps reconnecting
        sender.join(10)
        assert not sender.is_alive() and not p.connected
    finally:
        broker.down()
