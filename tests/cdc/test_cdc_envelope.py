"""The change event: the brief's fields, Debezium's before/after rule, clear errors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from kafkalab import cdc
from kafkalab.testing import FakeClock, make_message

SRC = {"connector": "sqlite", "db": "shop.db"}
CLOCK = FakeClock(start_ms=1_700_000_000_000)


def event(op: str = "UPDATE", **kw) -> cdc.ChangeEvent:
    images = {"INSERT": (None, {"id": 7, "price": 12}), "UPDATE": ({"id": 7, "price": 10},
              {"id": 7, "price": 12}), "DELETE": ({"id": 7, "price": 12}, None)}[op]
    fields = dict(operation=op, table="products", before=images[0], after=images[1],
                  timestamp=CLOCK.now_ms(), key={"id": 7}, position=42, source=SRC)
    fields.update(kw)
    return cdc.ChangeEvent(**fields)


@pytest.mark.parametrize("op", cdc.OPERATIONS)
def test_round_trip_through_json_keeps_every_field(op: str) -> None:
    e = event(op)
    body = json.loads(json.dumps(e.to_record()))
    assert list(body)[:5] == ["operation", "table", "before", "after", "timestamp"]
    assert body["timestamp"] == 1_700_000_000_000
    assert body["eventId"] == "sqlite:shop.db:42"
    assert cdc.ChangeEvent.from_record(body) == e
    assert cdc.ChangeEvent.from_record(json.dumps(body).encode()) == e


def test_debezium_rule_for_before_and_after() -> None:
    assert event("INSERT").before is None and event("DELETE").after is None
    with pytest.raises(ValueError, match="'before' must be null for INSERT"):
        event("INSERT", before={"id": 7})
    with pytest.raises(ValueError, match="'after' must be a row .* for UPDATE"):
        event("UPDATE", after=None)
    with pytest.raises(ValueError, match="'before' must be a row .* for DELETE"):
        event("DELETE", before=None)
    assert event("DELETE").row == {"id": 7, "price": 12}


def test_record_key_keeps_a_rows_changes_together() -> None:
    assert event().record_key == "products:7"
    assert cdc.record_key("lines", {"order": "ORD-1", "n": 2}) == "lines:ORD-1,2"
    assert event(key={"id": 8}).record_key != event().record_key


@pytest.mark.parametrize("mutate, says", [
    (lambda d: d.pop("table"), "field 'table' is missing"),
    (lambda d: d.pop("operation"), "field 'operation' is missing"),
    (lambda d: d.update(operation="UPSERT"), "field 'operation' is 'UPSERT'"),
    (lambda d: d.update(position="12"), "field 'position' is '12'; expected int"),
    (lambda d: d.update(timestamp=True), "field 'timestamp' is True; expected int"),
    (lambda d: d.update(before=[1, 2]), "field 'before' is [1, 2]; expected dict or null"),
    (lambda d: d.update(key={}), "field 'key' is empty"),
    (lambda d: d.pop("source"), "field 'source' is missing"),
])
def test_malformed_bodies_name_the_field(mutate, says: str) -> None:
    body = event().to_record()
    mutate(body)
    with pytest.raises(ValueError, match=says.replace("[", r"\[").replace("]", r"\]")):
        cdc.ChangeEvent.from_record(body)


def test_not_json_and_not_an_object() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        cdc.ChangeEvent.from_record(b'{"operation": ')
    with pytest.raises(ValueError, match="expected a JSON object, got list"):
        cdc.ChangeEvent.from_record([1])


def test_parse_reads_consumed_records_including_undecodable_ones() -> None:
    good = make_message(event().to_record(), key="products:7", timestamp_ms=CLOCK.now_ms())
    assert cdc.parse(good) == event()
    undecoded = make_message(b"\xff\xfe", key="x")
    undecoded = dataclasses.replace(undecoded, value=None, error="bad utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        cdc.parse(undecoded)


HOSTILE = {
    "empty table": {"table": ""},
    "path escape": {"table": "../escape"},
    "slash": {"table": "a/b"},
    "300 characters": {"table": "t" * 300},
    "NUL in table": {"table": "prod\x00ucts"},
    "glob": {"table": "*"},
    "bracket": {"table": "x["},
    "huge position": {"position": 2**70},
    "negative position": {"position": -1},
    "huge timestamp": {"timestamp": 10**30},
    "huge value": {"after": {"id": 7, "price": 10**400}},
    "non-finite value": {"after": {"id": 7, "price": float("nan")}},
    "reserved column _cdc_key": {"after": {"id": 7, "_cdc_key": "x"}},
    "reserved column _cdc_rank": {"before": {"id": 7, "_cdc_rank": 1}},
    "column with a space": {"after": {"id": 7, "unit price": 3}},
    "NUL in a key column": {"key": {"i\x00d": 7}},
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_records_that_would_break_the_lake_are_refused_before_any_side_effect(name) -> None:
    # Each of these passed the dead-letter step before and then crashed
    # `cdc apply` for good, escaped the lake's directory, or made rows vanish.
    body = event("UPDATE").to_record()
    body.update(HOSTILE[name])
    with pytest.raises(ValueError, match="^change event: "):
        cdc.ChangeEvent.from_record(json.loads(json.dumps(body, allow_nan=True)))


def test_a_schema_qualified_table_is_still_a_table() -> None:
    assert event(table="inventory.products").table == "inventory.products"
