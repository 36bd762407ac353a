"""Week 1 checkers: each passes a right answer and rejects each wrong one in plain words.

The suite runs in strict mode (conftest sets KAFKALAB_STRICT_CHECKS=1), so a
failed check raises ExerciseFailed carrying the learner's message. Every answer
here is written the way a learner would, with kafka-python itself.
"""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.serializer import DefaultSerializer, JsonSerializer
from kafka.structs import OffsetAndMetadata

from kafkalab import broker, clients
from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week01 import (
    check_consumer_loop,
    check_end_offsets,
    check_keyed_orders,
    check_rewind,
    check_topic,
)
from kafkalab.partitioners import RoundRobin
from kafkalab.sampledata import orders

WEEK_MS = 7 * 24 * 60 * 60 * 1000


def _name(prefix: str) -> str:
    return f"test-w1-{prefix}-{uuid.uuid4().hex[:8]}"


def _bootstrap() -> list[str]:
    return clients.bootstrap_servers()


def _create(partitions: int = 4, configs: dict[str, str] | None = None) -> str:
    topic = _name("t")
    admin = KafkaAdminClient(bootstrap_servers=_bootstrap())
    try:
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                      topic_configs=configs or {})])
    finally:
        admin.close()
    return topic


def _send(topic: str, data: list[dict], *, key: bool = True, header: bool = True, twice: bool = False) -> None:
    producer = KafkaProducer(bootstrap_servers=_bootstrap(), key_serializer=DefaultSerializer(),
                             value_serializer=JsonSerializer())
    for _ in range(2 if twice else 1):
        for o in data:
            producer.send(topic, value=o, key=o["customerId"] if key else None,
                          headers=[("source", b"checkout")] if header else [])
    producer.flush()
    producer.close()


# -- Exercise 1 -------------------------------------------------------------------------

def test_check_topic_passes_a_topic_made_with_new_topic():
    topic = _create(4, {"retention.ms": str(WEEK_MS)})
    result = check_topic(topic, 4, WEEK_MS)
    assert result.passed and len(result.lines) == 5


def test_check_topic_rejects_wrong_partitions_missing_topic_and_a_wrong_retention():
    topic = _create(4, {"retention.ms": str(WEEK_MS // 7)})
    with pytest.raises(ExerciseFailed, match="it has 4 partitions, not 6"):
        check_topic(topic, 6, WEEK_MS // 7)
    with pytest.raises(ExerciseFailed, match=f"retention.ms = {WEEK_MS // 7} ms, not {WEEK_MS}"):
        check_topic(topic, 4, WEEK_MS)
    with pytest.raises(ExerciseFailed, match="there is no topic called"):
        check_topic(_name("missing"), 4, WEEK_MS)


def test_check_topic_rejects_a_retention_inherited_from_the_broker():
    # Not stated on the topic: whatever the broker's default is (Kafka's is 7 days; the
    # course broker's is -1, keep forever), it is inherited, and the check says so.
    topic = _create(4)
    with pytest.raises(ExerciseFailed, match=r"only because that is the \w+_CONFIG \(the broker's default"):
        check_topic(topic, 4, WEEK_MS)


# -- Exercises 2 and 3 ------------------------------------------------------------------

DATA = orders(40, customers=6, seed=3)


def test_check_keyed_orders_and_the_end_offsets_prediction_pass_a_right_answer():
    topic = _create()
    _send(topic, DATA)
    assert check_keyed_orders(topic, DATA).passed
    assert check_end_offsets({0: 14, 1: 0, 2: 18, 3: 8}, topic).passed


def test_check_end_offsets_rejects_last_offsets_and_a_forgotten_empty_partition():
    topic = _create()
    _send(topic, DATA)
    # The classic off-by-one: the offset of the last record, not the next one.
    with pytest.raises(ExerciseFailed, match="0 you said 13, the broker says 14"):
        check_end_offsets({0: 13, 1: 0, 2: 17, 3: 7}, topic)
    with pytest.raises(ExerciseFailed, match="1 you said nothing, the broker says 0"):
        check_end_offsets({0: 14, 2: 18, 3: 8}, topic)
    with pytest.raises(ExerciseFailed, match="write the prediction as a dict"):
        check_end_offsets([14, 0, 18, 8], topic)  # type: ignore[arg-type]


def test_check_keyed_orders_rejects_keyless_sends():
    topic = _create()
    with clients.Producer(partitioner=RoundRobin()) as p:  # no key: one customer's orders spread out
        for o in DATA:
            p.send(topic, o, headers={"source": "checkout"})
    with pytest.raises(ExerciseFailed) as err:
        check_keyed_orders(topic, DATA)
    text = str(err.value)
    assert "40 records have a key other than their customerId" in text
    assert "are on several partitions" in text


def test_check_keyed_orders_rejects_sending_twice_missing_headers_and_missing_orders():
    topic = _create()
    _send(topic, DATA, twice=True)
    with pytest.raises(ExerciseFailed, match="40 orders are on the topic more than once"):
        check_keyed_orders(topic, DATA)
    topic = _create()
    _send(topic, DATA, header=False)
    with pytest.raises(ExerciseFailed, match="40 records lack the header source=checkout"):
        check_keyed_orders(topic, DATA)
    topic = _create()
    _send(topic, DATA[:30])
    with pytest.raises(ExerciseFailed, match="10 of 40 orders are missing"):
        check_keyed_orders(topic, DATA)


def test_check_keyed_orders_rejects_values_that_are_not_json_and_empty_or_missing_topics():
    topic = _create()
    producer = KafkaProducer(bootstrap_servers=_bootstrap())
    producer.send(topic, key=b"CUST-001", value=str(DATA[0]).encode())  # a Python repr, not JSON
    producer.flush()
    producer.close()
    with pytest.raises(ExerciseFailed, match="is not JSON"):
        check_keyed_orders(topic, DATA)
    with pytest.raises(ExerciseFailed, match="is empty: send the orders, then flush"):
        check_keyed_orders(_create(), DATA)
    with pytest.raises(ExerciseFailed, match="there is no topic"):
        check_keyed_orders(_name("missing"), DATA)


# -- Exercise 4 -------------------------------------------------------------------------

def _maker(topic: str, **overrides):
    def make_consumer(group_id):
        config = dict(bootstrap_servers=_bootstrap(), group_id=group_id, enable_auto_commit=False,
                      auto_offset_reset="earliest")
        config.update(overrides)
        consumer = KafkaConsumer(**config)
        consumer.subscribe([topic])
        return consumer
    return make_consumer


def _loop(commit: str = "after", plus: int = 1):
    """A learner's consume(); ``commit`` says when it commits: after / before handling, or never."""
    def consume(consumer, handle, max_polls):
        seen = 0
        for _ in range(max_polls):
            batch = consumer.poll(timeout_ms=500)
            if not batch and seen:
                break
            for tp, records in batch.items():
                if commit == "before":  # the whole batch marked done before any of it is handled
                    consumer.commit({tp: OffsetAndMetadata(records[-1].offset + plus, None, -1)})
                for record in records:
                    handle(record)
                    seen += 1
                    if commit == "after":
                        consumer.commit({tp: OffsetAndMetadata(record.offset + plus, None, -1)})
        return seen
    return consume


@pytest.fixture(scope="module")
def loop_topic() -> str:
    topic = _create()
    _send(topic, DATA)
    return topic


def test_check_consumer_loop_passes_a_loop_that_commits_offset_plus_one_after_handling(loop_topic):
    result = check_consumer_loop(_maker(loop_topic), _loop(), loop_topic)
    assert result.passed
    assert any("a restarted consumer handled every record left" in m for _, m in result.lines)


def test_check_consumer_loop_rejects_an_off_by_one_commit(loop_topic):
    with pytest.raises(ExerciseFailed, match="committed 13 and its last record is at offset 13"):
        check_consumer_loop(_maker(loop_topic), _loop(plus=0), loop_topic)


def test_check_consumer_loop_rejects_committing_before_processing(loop_topic):
    with pytest.raises(ExerciseFailed, match="were committed before they were processed"):
        check_consumer_loop(_maker(loop_topic), _loop(commit="before"), loop_topic)


def test_check_consumer_loop_rejects_the_clients_defaults(loop_topic):
    def defaults(group_id):  # kafka-python's defaults: auto-commit on, a new group starts at the end
        consumer = KafkaConsumer(bootstrap_servers=_bootstrap(), group_id=group_id)
        consumer.subscribe([loop_topic])
        return consumer
    with pytest.raises(ExerciseFailed) as err:
        check_consumer_loop(defaults, _loop(), loop_topic)
    assert "auto-commit is on" in str(err.value)
    assert "auto_offset_reset is 'latest'" in str(err.value)


def test_check_consumer_loop_rejects_a_loop_that_swallows_the_crash(loop_topic):
    def swallowing(consumer, handle, max_polls):
        def safe(record):
            try:
                handle(record)
            except Exception:  # "keep going": the failed record is then committed as done
                pass
        return _loop()(consumer, safe, max_polls)
    with pytest.raises(ExerciseFailed) as err:
        check_consumer_loop(_maker(loop_topic), swallowing, loop_topic)
    assert "your loop went on" in str(err.value) and "1 records were never handled" in str(err.value)


def test_check_consumer_loop_rejects_free_passes(loop_topic):
    with pytest.raises(ExerciseFailed, match="your loop handled 0 of 40 records"):
        check_consumer_loop(_maker(loop_topic), lambda consumer, handle, max_polls: 0, loop_topic)

    def kafkalab_consumer(group_id):
        return clients.Consumer(loop_topic, group_id=group_id)
    with pytest.raises(ExerciseFailed, match="don't call kafkalab.clients.Consumer"):
        check_consumer_loop(kafkalab_consumer, _loop(), loop_topic)
    with pytest.raises(ExerciseFailed, match="is empty: do Exercise 3 first"):
        check_consumer_loop(_maker(loop_topic), _loop(), _create())


# -- Exercise 5 -------------------------------------------------------------------------

def _group_at_end(topic: str) -> str:
    group = _name("g")
    consumer = _maker(topic)(group)
    _loop()(consumer, lambda record: None, 40)
    consumer.close()
    return group


def _reset(group: str, topic: str, *how: str) -> object:
    return broker.tool("kafka-consumer-groups", "--bootstrap-server", ",".join(_bootstrap()), "--group", group,
                       "--topic", f"{topic}:0,2,3", "--reset-offsets", *how)


def test_check_rewind_passes_a_reset_by_three_and_a_right_prediction(loop_topic):
    group = _group_at_end(loop_topic)
    done = _reset(group, loop_topic, "--shift-by", "-3", "--execute")
    assert check_rewind(done, group, loop_topic, {0: 3, 2: 3, 3: 3}).passed


def test_check_rewind_rejects_a_dry_run_a_wrong_shift_and_a_wrong_prediction(loop_topic):
    group = _group_at_end(loop_topic)
    planned = _reset(group, loop_topic, "--shift-by", "-3", "--dry-run")
    with pytest.raises(ExerciseFailed) as err:
        check_rewind(planned, group, loop_topic, {0: 0, 2: 0, 3: 0})
    assert "without --execute the tool only shows its plan" in str(err.value)
    assert "the committed offsets are partition 0: 14" in str(err.value)
    done = _reset(group, loop_topic, "--shift-by", "-2", "--execute")
    with pytest.raises(ExerciseFailed, match="3 records back from each end would be 0: 11"):
        check_rewind(done, group, loop_topic, {0: 2, 2: 2, 3: 2})
    group = _group_at_end(loop_topic)
    done = _reset(group, loop_topic, "--shift-by", "-3", "--execute")
    # Partition 1 never had a commit, so the tool prints no row for it.
    with pytest.raises(ExerciseFailed, match="the broker shows no 1"):
        check_rewind(done, group, loop_topic, {0: 3, 1: 0, 2: 3, 3: 3})
    with pytest.raises(ExerciseFailed, match="--reset-offsets"):
        check_rewind("I did it", group, loop_topic, {0: 3, 2: 3, 3: 3})
