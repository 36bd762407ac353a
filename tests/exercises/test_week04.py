"""Week 4 checkers: each passes a right answer and rejects wrong ones (and free passes) in plain words.

Exercises 3 and 4 run on the broker: the checker writes the input, runs the learner's loop with an
injected failure, and reads what the broker kept.
"""

from __future__ import annotations

import time
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata

from kafkalab.exercises import ExerciseFailed, week04
from kafkalab.exercises.week04 import check_exactly_once, check_loyalty_step, check_shipped_twice
from kafkalab.saga import SagaStep

# --- exercise 1 and 2: a saga step's compensation, the no-double-shipping invariant -------------


class Loyalty(SagaStep):
    name = "loyalty"
    succeeded, failed, compensated = ("PointsAwarded",), ("PointsRejected",), ("PointsRevoked",)

    def execute(self, saga):
        return "AwardPoints", {"customerId": saga.data["customerId"], "points": saga.data["total"] // 100}

    def compensate(self, saga):
        return "RevokePoints", {"customerId": saga.data["customerId"], "points": saga.data["total"] // 100}


class NoCompensation(Loyalty):
    def compensate(self, saga):
        return None


class WrongReplies(Loyalty):
    compensated = ()


class CompensatesOnlyIfAwarded(Loyalty):
    def compensate(self, saga):
        if "loyalty" not in saga.data:  # depends on the reply: wrong for a timed-out step
            return None
        return super().compensate(saga)


class WrongPoints(Loyalty):
    def execute(self, saga):
        return "AwardPoints", {"customerId": saga.data["customerId"], "points": saga.data["total"]}


def test_loyalty_step():
    assert check_loyalty_step(Loyalty).passed
    with pytest.raises(ExerciseFailed, match="which does not undo the points"):
        check_loyalty_step(NoCompensation)
    with pytest.raises(ExerciseFailed, match="waits for an acknowledgement of each undo"):
        check_loyalty_step(WrongReplies)
    with pytest.raises(ExerciseFailed, match="cannot depend on its reply"):
        check_loyalty_step(CompensatesOnlyIfAwarded)
    with pytest.raises(ExerciseFailed, match="the command after the payment is your step's"):
        check_loyalty_step(WrongPoints)


def test_loyalty_hints_point_at_the_concept_not_the_answer():
    with pytest.raises(ExerciseFailed) as failed:
        check_loyalty_step(NoCompensation)
    assert "RevokePoints" not in str(failed.value).split("which does not undo")[1]


def test_shipped_twice():
    def right(events):
        ids = {}
        for e in events:
            if e.event_type == "ShipmentCreated":
                ids.setdefault(e.order_id, set()).add(e.data["shipmentId"])
        return {o for o, s in ids.items() if len(s) > 1}

    def counts_events(events):
        n = {}
        for e in events:
            n[e.order_id] = n.get(e.order_id, 0) + 1
        return {o for o, k in n.items() if k > 1}

    assert check_shipped_twice(right).passed
    with pytest.raises(ExerciseFailed, match="What identifies a shipment"):
        check_shipped_twice(counts_events)
    with pytest.raises(ExerciseFailed, match="one order in the stream really was shipped twice"):
        check_shipped_twice(lambda events: set())                 # the free pass: nobody shipped twice


# --- exercise 3: an exactly-once consume-transform-produce loop, on the broker ------------------

def make_pipeline(*, isolation="read_committed", commit_outside=False, abort=True, rewind=True,
                  catch=True, offsets_in_tx=True):
    """The right answer, or one mistake at a time."""

    def pipeline(bootstrap_servers, source, sink, group_id, transactional_id, transform):
        settings = {"isolation_level": isolation} if isolation else {}
        consumer = KafkaConsumer(source, bootstrap_servers=bootstrap_servers, group_id=group_id,
                                 auto_offset_reset="earliest", enable_auto_commit=False, **settings)
        producer = KafkaProducer(bootstrap_servers=bootstrap_servers, transactional_id=transactional_id)
        producer.init_transactions()
        idle = 0
        try:
            for _ in range(60):
                batch = consumer.poll(timeout_ms=500)
                if not batch:
                    idle += 1
                    if idle >= 3:
                        break
                    continue
                idle = 0
                producer.begin_transaction()
                try:
                    for records in batch.values():
                        for record in records:
                            try:
                                producer.send(sink, transform(record.value), key=record.key)
                            except week04.InjectedFailure:
                                if abort or not catch:
                                    raise
                                # the mistake: skip it and carry on in the same transaction
                    offsets = {tp: OffsetAndMetadata(rs[-1].offset + 1, "", -1) for tp, rs in batch.items()}
                    if offsets_in_tx:
                        producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
                    producer.commit_transaction()
                    if commit_outside:
                        consumer.commit(offsets)
                except week04.InjectedFailure:
                    if not catch:
                        raise
                    producer.abort_transaction()
                    if rewind:
                        for tp, records in batch.items():
                            consumer.seek(tp, records[0].offset)
        finally:
            consumer.close()
            producer.close()

    return pipeline


def test_exactly_once_passes_the_right_loop():
    result = check_exactly_once(make_pipeline())
    assert result.passed, str(result)


@pytest.mark.parametrize(("wrong", "says"), [
    (dict(commit_outside=True, offsets_in_tx=False), "that commit is outside the transaction"),
    (dict(abort=False), "abort_transaction was never called"),
    (dict(isolation=None), "the default level hands their records to you"),
    (dict(rewind=False), "where is the consumer's position"),
    (dict(catch=False), "what must happen to the transaction it interrupted"),
])
def test_exactly_once_rejects_each_mistake(wrong, says):
    with pytest.raises(ExerciseFailed, match=says):
        check_exactly_once(make_pipeline(**wrong))


def test_a_read_uncommitted_loop_is_caught_on_the_broker_too():
    """Not only the stated setting: its results for the aborted upstream records are in the sink."""
    with pytest.raises(ExerciseFailed, match="written upstream in a transaction that aborted"):
        check_exactly_once(make_pipeline(isolation="read_uncommitted"))


def test_exactly_once_free_passes_fail():
    with pytest.raises(ExerciseFailed, match="have no committed result"):
        check_exactly_once(lambda *args: None)                         # does nothing at all
    with pytest.raises(ExerciseFailed, match="still running after 1 s"):
        check_exactly_once(lambda *args: time.sleep(3), timeout=1)     # an unbounded loop
    with pytest.raises(ExerciseFailed, match="not done yet"):
        check_exactly_once(None)


# --- exercise 4: predict, then run --------------------------------------------------------------

def test_transaction_prediction():
    topic = f"w4-predict-{uuid.uuid4().hex[:8]}"
    week04.write_transactions(topic)
    right = {"end offset": 10, "read_uncommitted": 7, "read_committed": 5}
    assert week04.check_transaction_prediction(right, topic).passed
    with pytest.raises(ExerciseFailed, match="end offset you said 7, the broker says 10"):
        week04.check_transaction_prediction({**right, "end offset": 7}, topic)   # forgot the markers
    with pytest.raises(ExerciseFailed, match="read_committed you said 7"):
        week04.check_transaction_prediction({**right, "read_committed": 7}, topic)
    with pytest.raises(ExerciseFailed, match="write prediction as"):
        week04.check_transaction_prediction({"end": 10}, topic)
    with pytest.raises(ExerciseFailed, match="run the cell that writes the transactions first"):
        week04.check_transaction_prediction(right, f"w4-none-{uuid.uuid4().hex[:8]}")


def test_exactly_once_rejects_results_that_are_not_the_transform():
    right = make_pipeline()

    def wraps_the_result(bootstrap_servers, source, sink, group_id, transactional_id, transform):
        return right(bootstrap_servers, source, sink, group_id, transactional_id,
                     lambda value: b"invoice: " + transform(value))

    with pytest.raises(ExerciseFailed, match="are not what transform returned"):
        check_exactly_once(wraps_the_result)
    with pytest.raises(ExerciseFailed, match="your pipeline raised TypeError"):
        check_exactly_once(lambda bootstrap_servers, source: None)     # the wrong signature
