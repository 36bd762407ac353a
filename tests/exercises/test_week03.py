"""Week 3 checkers: each passes a right answer and rejects wrong ones in plain words.

Exercise 3 runs on the real broker: each wrong loop below is one mistake a
learner makes, and the test names the message the checker must give for it.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from kafka import KafkaConsumer
from kafka.structs import OffsetAndMetadata

from kafkalab import schemas
from kafkalab.clients import bootstrap_servers
from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week03 import (
    check_evolved_schema,
    check_idempotent_handler,
    check_old_readers,
    check_service_loop,
    check_spend_view,
)
from kafkalab.orders import Event
from kafkalab.orders.avro import ORDER_PLACED_V2

# -- Exercise 1 -------------------------------------------------------------------------------------


def idempotent(store, event):
    with store.transaction():
        if store.seen(event.event_id):
            return
        for item in event.data["items"]:
            key = f"units/{item['productId']}"
            store.put(key, store.get(key, 0) + item["quantity"])
        store.mark(event.event_id)


def naive(store, event):
    for item in event.data["items"]:
        key = f"units/{item['productId']}"
        store.put(key, store.get(key, 0) + item["quantity"])


def dedupe_in_memory():
    seen = set()

    def handler(store, event):
        if event.event_id in seen:
            return
        seen.add(event.event_id)
        naive(store, event)
    return handler


def test_idempotent_handler():
    assert check_idempotent_handler(idempotent).passed
    with pytest.raises(ExerciseFailed, match="a redelivered event was counted again"):
        check_idempotent_handler(naive)
    with pytest.raises(ExerciseFailed, match="what the handler remembers lives outside the store"):
        check_idempotent_handler(dedupe_in_memory())  # right counts, but ids not stored with them
    with pytest.raises(ExerciseFailed, match="your handler raised KeyError"):
        check_idempotent_handler(lambda store, e: e.data["nope"])


def test_idempotent_handler_hints_do_not_spell_the_answer():
    for wrong in (naive, dedupe_in_memory()):
        with pytest.raises(ExerciseFailed) as failed:
            check_idempotent_handler(wrong)
        assert "store.seen" not in str(failed.value) and "store.mark" not in str(failed.value)


# -- Exercise 2 -------------------------------------------------------------------------------------


def spend(view, event):
    view = {**view, "_orders": dict(view.get("_orders", {})), "_done": set(view.get("_done", ()))}
    if event.event_type == "OrderPlaced":
        c = event.data["customerId"]
        view["_orders"][event.order_id] = c
        view.setdefault(c, {"orders": 0, "spent": 0})
        view[c] = {**view[c], "orders": view[c]["orders"] + 1}
    elif event.event_type == "OrderCompleted" and event.order_id not in view["_done"]:
        view["_done"].add(event.order_id)
        c = view["_orders"][event.order_id]
        view[c] = {**view[c], "spent": view[c]["spent"] + event.data["total"]}
    return view


def spend_counting_duplicates(view, event):
    view = dict(view)
    if event.event_type == "OrderPlaced":
        c = event.data["customerId"]
        view[event.order_id] = c
        view[c] = {"orders": view.get(c, {"orders": 0})["orders"] + 1,
                   "spent": view.get(c, {"spent": 0})["spent"]}
    elif event.event_type == "OrderCompleted":
        c = view[event.order_id]
        view[c] = {**view[c], "spent": view[c]["spent"] + event.data["total"]}
    return view


def test_spend_view():
    assert check_spend_view(spend).passed
    with pytest.raises(ExerciseFailed, match="expected CUST-001: 1650"):
        check_spend_view(spend_counting_duplicates)
    with pytest.raises(ExerciseFailed, match="must return the view dict"):
        check_spend_view(lambda view, e: None)


# -- Exercise 3: the raw loop, on the broker ---------------------------------------------------------


def loop(inventory, producer, topics, group_id, running, *, dedupe=True, commit="after", dlq=True,
         reset="earliest", close=True, plus_one=True, auto_commit=False):
    """The right loop, and (through its switches) each wrong one a test below hands the checker."""
    consumer = KafkaConsumer(topics.name("inventory-commands"), bootstrap_servers=bootstrap_servers(),
                             group_id=group_id, enable_auto_commit=auto_commit, auto_offset_reset=reset)
    store = inventory.store
    try:
        while running():
            for tp, records in consumer.poll(timeout_ms=200).items():
                for rec in records:
                    done = {tp: OffsetAndMetadata(rec.offset + (1 if plus_one else 0), None, -1)}
                    if commit == "before":
                        consumer.commit(done)
                    try:
                        event = Event.from_record(json.loads(rec.value))
                    except ValueError as exc:
                        if not dlq:
                            raise
                        body = {"originalMessage": rec.value.decode("utf-8", "replace"), "error": str(exc),
                                "timestamp": int(time.time() * 1000)}
                        producer.send(topics.dead_letter, key=rec.key, value=json.dumps(body).encode()).get(10)
                    else:
                        with store.transaction():
                            if not (dedupe and store.seen(event.event_id)):
                                for reply in inventory.handle(event):
                                    producer.send(topics.name(reply.topic), key=reply.order_id.encode(),
                                                  value=json.dumps(reply.to_record()).encode()).get(10)
                                store.mark(event.event_id)
                    if commit == "after":
                        consumer.commit(done)
    finally:
        if close:
            consumer.close()


def test_service_loop_passes_the_right_loop():
    result = check_service_loop(loop)
    assert result.passed, str(result)
    assert "no command was lost in the crash and restart" in str(result)


@pytest.mark.parametrize(("mistake", "message"), [
    ({"dedupe": False}, r"ORD-2: the command was answered more than once"),
    ({"commit": "before"}, r"no reply ever appeared, even after the restart"),
    ({"commit": "never"}, r"committed nothing on the input topic"),
    # enable_auto_commit left at kafka-python's default (True): close() commits what was fetched
    ({"commit": "never", "auto_commit": True}, r"no reply ever appeared, even after the restart"),
    ({"dlq": False}, r"your loop stopped with (JSONDecodeError|InvalidEvent).*one bad record must not stop a service"),
    ({"plus_one": False}, r"A committed offset names the next record to read"),
    ({"reset": "latest"}, r"A new group starts where the consumer's auto_offset_reset says"),
], ids=["no-idempotency-check", "commit-before-produce", "no-commit", "auto-commit", "poison-stops-the-loop",
        "commit-offset-not-plus-one", "auto-offset-reset-latest"])
def test_service_loop_rejects(mistake, message):
    def wrong(*args):
        return loop(*args, **mistake)
    with pytest.raises(ExerciseFailed, match=message):
        check_service_loop(wrong, timeout=6)


def test_service_loop_refuses_the_course_loop_and_process():
    def uses_process(inventory, producer, topics, group_id, running):
        from kafkalab.orders.events import new_event
        inventory.process(new_event("ReserveInventory", "ORD-1", {"items": []}, source="order"))
    with pytest.raises(ExerciseFailed, match="don't call inventory.process"):
        check_service_loop(uses_process, timeout=5)

    def uses_consumer_loop(inventory, producer, topics, group_id, running):
        from kafkalab import clients
        clients.ConsumerLoop(None, print)
    with pytest.raises(ExerciseFailed, match="don't call kafkalab.clients.ConsumerLoop"):
        check_service_loop(uses_consumer_loop, timeout=5)


def test_service_loop_says_when_it_is_not_done():
    with pytest.raises(ExerciseFailed, match="Exercise 3: not done yet"):
        check_service_loop(None)


# -- Exercises 4 and 5: schema evolution through the broker -----------------------------------------


def v3(drop=("channel",), add=({"name": "giftWrap", "type": "boolean", "default": False},), name=None):
    s = json.loads(ORDER_PLACED_V2.schema_str)
    s["fields"] = [f for f in s["fields"] if f["name"] not in drop] + list(add)
    if name:
        s["name"] = name
    return schemas.Schema(json.dumps(s))


def test_evolved_schema():
    result = check_evolved_schema(v3())
    assert result.passed and "a v2 consumer reads a v3 record" in str(result)


@pytest.mark.parametrize(("answer", "message"), [
    (v3(add=({"name": "giftWrap", "type": "boolean"},)),
     "new reader, old data: field 'giftWrap' is missing in the written data and has no default"),
    (v3(drop=("channel", "customerId")), "old reader, new data: field 'customerId' is missing"),
    (v3(add=({"name": "giftWrap", "type": "string", "default": "no"},)), "giftWrap is 'string', not a boolean"),
    (v3(drop=()), "channel is still there"),
    (ORDER_PLACED_V2, "it has no boolean field giftWrap"),          # the free pass: v2 is compatible with v2
    (v3(name="OrderPlacedV3"), "readers match records by their full name"),
    (schemas.Schema('{"type": "record", "name": '), "not a valid Avro schema"),
    ('{"type": "record"}', "wrap the schema's JSON text in schemas.Schema"),
])
def test_evolved_schema_rejects(answer, message):
    with pytest.raises(ExerciseFailed, match=re.escape(message)):
        check_evolved_schema(answer)


def test_old_readers_prediction():
    right = {"a": False, "b": False, "c": True, "d": True, "e": False}
    result = check_old_readers(right)
    assert result.passed and "long is not int" in str(result)     # the reason comes from reading on the broker
    with pytest.raises(ExerciseFailed, match="b you said True, the broker says False"):
        check_old_readers({**right, "b": True})
    with pytest.raises(ExerciseFailed, match="write True"):
        check_old_readers({"a": False})
    with pytest.raises(ExerciseFailed, match="write True"):
        check_old_readers({k: "no" for k in right})
