"""Week 7's broker exercises: what survives compaction (7) and a CDC applier (8).

Each checker passes a right answer and fails each wrong one, on the test run's broker.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata

from kafkalab import cdc, clients
from kafkalab.exercises import ExerciseFailed, week07

# What one compaction of Exercise 7's changes leaves, worked out by hand from the rules.
SURVIVORS = {2: ("products:1", 11), 4: ("products:2", None), 5: ("products:3", 31), 6: ("products:4", 40),
             7: ("products:1", 12), 8: ("products:4", None)}


@pytest.fixture(scope="module")
def compacted() -> dict[int, tuple[str, int | None]]:
    return week07.compact_on_broker(week07.COMPACTION_BEFORE_ROLL, week07.COMPACTION_AFTER_ROLL)


def test_the_broker_compacts_as_the_rules_say(compacted):
    assert compacted == SURVIVORS


def lines(result) -> str:
    return "\n".join(m for _, m in result.lines)


def test_a_right_prediction_passes(compacted, monkeypatch):
    monkeypatch.setattr(week07, "compact_on_broker", lambda *a, **k: compacted)
    assert week07.check_compaction_prediction(dict(SURVIVORS)).passed


@pytest.mark.parametrize("wrong, hint", [
    # Latest value per key over the whole sequence: forgets the active segment is left alone.
    ({5: ("products:3", 31), 7: ("products:1", 12), 8: ("products:4", None)}, "cleaner keeps, per key"),
    # Drops the records after the roll as if they were compacted too.
    ({k: v for k, v in SURVIVORS.items() if k < 7} | {7: ("products:1", 12)}, "active segment"),
    # Drops the tombstone.
    ({k: v for k, v in SURVIVORS.items() if k != 4}, "tombstone"),
    # Keeps everything (no compaction at all).
    ({i: kv for i, kv in enumerate(week07.COMPACTION_BEFORE_ROLL + week07.COMPACTION_AFTER_ROLL)}, "older record"),
])
def test_a_wrong_prediction_fails_with_a_hint_at_the_idea(compacted, monkeypatch, wrong, hint):
    monkeypatch.setattr(week07, "compact_on_broker", lambda *a, **k: compacted)
    with pytest.raises(ExerciseFailed) as failed:
        week07.check_compaction_prediction(wrong)
    assert hint in str(failed.value)


@pytest.mark.parametrize("free", [{}, {"a": "b"}, [1, 2]])
def test_an_empty_or_malformed_prediction_fails_without_touching_the_broker(monkeypatch, free):
    monkeypatch.setattr(week07, "compact_on_broker", lambda *a, **k: pytest.fail("ran the broker"))
    with pytest.raises(ExerciseFailed):
        week07.check_compaction_prediction(free)


# --- Exercise 8

REQUIRED = ("operation", "table", "key", "position")


def parse(value: bytes) -> dict[str, Any]:
    try:
        event = json.loads(value)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise ValueError("not a JSON object")
    missing = [f for f in REQUIRED if f not in event]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    return event


def apply_change(table: dict, event: dict, *, dedupe: bool = True) -> None:
    key = cdc.record_key(event["table"], event["key"])
    if dedupe and key in table and table[key]["position"] >= event["position"]:
        return
    table[key] = {"position": event["position"], "row": event["after"]}


def make_applier(*, dedupe: bool = True, commit_first: bool = False, dead_letter: bool = True,
                 swallow_all: bool = False, stop_on_bad: bool = False, auto_commit: bool = False,
                 reset: str = "earliest"):
    def run_applier(topic: str, group_id: str, table: dict, dead_letter_topic: str) -> None:
        consumer = KafkaConsumer(topic, bootstrap_servers=clients.bootstrap_servers(), group_id=group_id,
                                 enable_auto_commit=auto_commit, auto_offset_reset=reset)
        dlq = KafkaProducer(bootstrap_servers=clients.bootstrap_servers())
        try:
            start = idle = time.monotonic()
            while time.monotonic() - start < 30 and time.monotonic() - idle < 2:
                batch = consumer.poll(timeout_ms=500)
                if batch:
                    idle = time.monotonic()
                for tp, records in batch.items():
                    if commit_first:
                        consumer.commit({tp: OffsetAndMetadata(records[-1].offset + 1, None, -1)})
                    for record in records:
                        try:
                            event = parse(record.value)
                            if swallow_all:
                                apply_change(table, event, dedupe=dedupe)
                        except Exception as exc:
                            if stop_on_bad:
                                raise
                            if dead_letter:
                                dlq.send(dead_letter_topic, record.value, key=record.key,
                                         headers=[("error", str(exc).encode())]).get(10)
                            continue
                        if not swallow_all:
                            apply_change(table, event, dedupe=dedupe)
                    if not commit_first:
                        consumer.commit({tp: OffsetAndMetadata(records[-1].offset + 1, None, -1)})
        finally:
            consumer.close()
            dlq.close()
    return run_applier


def test_a_right_applier_passes():
    result = week07.check_cdc_applier(make_applier())
    assert result.passed, str(result)


@pytest.mark.parametrize("wrong, says", [
    (make_applier(dedupe=False), "position"),
    (make_applier(commit_first=True), "past the record"),
    (make_applier(swallow_all=True), "carried on"),
    (make_applier(dead_letter=False), "dead-letter topic lacks"),
    (make_applier(stop_on_bad=True), "raised"),
    (lambda topic, group, table, dlq: None, "table is empty"),
    # kafka-python's defaults: auto-commit (close() commits what was fetched, applied or not) and "latest".
    (make_applier(auto_commit=True), "past the record"),
    (make_applier(reset="latest"), "table is empty"),
], ids=["no-dedupe-position", "commits-before-applying", "dead-letters-a-crash", "drops-bad-records",
        "stops-at-a-bad-record", "does-nothing", "auto-commit-left-on", "auto-offset-reset-latest"])
def test_a_wrong_applier_fails_and_says_why(wrong, says):
    with pytest.raises(ExerciseFailed) as failed:
        week07.check_cdc_applier(wrong)
    assert says in str(failed.value)


def test_the_feed_breaks_an_applier_without_positions():
    # Without the re-delivered batch the no-dedupe test above could pass by luck: show it cannot.
    feed, rows = week07._cdc_feed()
    naive: dict = {}
    for _, raw in feed:
        try:
            apply_change(naive, parse(raw), dedupe=False)
        except ValueError:
            continue
    assert week07._live(naive) != rows


def test_an_applier_built_on_kafkalabs_consumer_is_refused():
    def on_kafkalab(topic: str, group_id: str, table: dict, dead_letter_topic: str) -> None:
        with clients.Consumer(topic, group_id=group_id) as consumer:
            list(consumer.messages(max_messages=1, timeout=5))

    with pytest.raises(ExerciseFailed) as failed:
        week07.check_cdc_applier(on_kafkalab)
    assert "kafkalab.clients.Consumer" in str(failed.value)
    with clients.Admin() as admin:      # the checker's topics went, even though it stopped half-way
        assert not [t for t in admin.topics() if t.startswith(("week07-db-changes-", "week07-dlq-"))]


@pytest.mark.parametrize("not_a_function", [42, "run_applier", {"topic": "x"}])
def test_something_that_is_not_a_function_fails_in_one_line(not_a_function):
    with pytest.raises(ExerciseFailed) as failed:
        week07.check_cdc_applier(not_a_function)
    assert "define it with def run_applier" in str(failed.value)
