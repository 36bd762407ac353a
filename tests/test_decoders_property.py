"""Every decoder at a pipeline's edge, fed anything: a valid record or a reason, never a crash.

A record a decoder cannot handle must come out as its rejection error (the
consume loop turns that into a dead letter with the message as the reason);
any other exception would stop the pipeline at that offset, and the rerun would
stop there again. Hypothesis generates arbitrary bytes and, more to the point,
JSON objects shaped like each record with hostile values in every field.
"""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkalab import cdc, iot
from kafkalab.clients.serdes import DeserializationError, from_bytes, unstorable
from kafkalab.logs.record import InvalidLogRecord
from kafkalab.logs.record import validate as validate_log
from kafkalab.orders.events import Event, InvalidEvent

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

hostile_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.integers(min_value=2**60, max_value=10**400), st.just(10**400),
    st.just(-(10**400)), st.just(2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40), st.just(""), st.just("\x00"), st.just("../escape"), st.just("*"),
    st.just("2026-01-01T00:00:00Z"), st.just("2026-01-01T00:00:00"), st.just("yesterday"),
    st.just(1_767_225_600_000),
)
json_values = st.recursive(hostile_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def mutated(valid: dict, fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """A valid record with one to three fields replaced by hostile values or removed:
    most examples then get past the first check and reach the deeper ones."""
    keys = sorted(set(valid) | set(fields))

    def apply(changes: dict, removed: list) -> dict:
        out = {**valid, **changes}
        for k in removed:
            out.pop(k, None)
        return out

    replacement = st.sampled_from(keys).flatmap(
        lambda k: st.tuples(st.just(k), st.one_of(fields.get(k, json_values), json_values)))
    return st.builds(apply, st.lists(replacement, min_size=1, max_size=3).map(dict),
                     st.lists(st.sampled_from(keys), max_size=1))


def encode(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def decode_or_reason(data: bytes, decoder, rejection: type[Exception]) -> None:
    try:
        value = from_bytes("json", data)
    except DeserializationError:
        return
    try:
        decoder(value)
    except rejection as exc:
        assert str(exc), "a rejection must say why"


ORDER = mutated(
    {"eventId": "e-1", "eventType": "ChargePayment", "orderId": "ORD-1", "timestamp": 1,
     "source": "order", "data": {"customerId": "CUST-001", "amount": 1500}},
    {"eventType": st.sampled_from(["OrderPlaced", "ChargePayment", "PaymentCharged", "Nope"]),
     "data": st.fixed_dictionaries({"customerId": st.just("CUST-001")}, optional={
         "amount": json_values, "items": json_values, "total": json_values,
         "paymentId": json_values})})

CHANGE = mutated(
    {"operation": "UPDATE", "table": "products", "before": {"id": 7, "price": 10},
     "after": {"id": 7, "price": 12}, "timestamp": 1, "key": {"id": 7}, "position": 42,
     "source": {"connector": "sqlite", "db": "shop"}},
    {"operation": st.sampled_from(["INSERT", "UPDATE", "DELETE", "MERGE"]),
     "table": st.sampled_from(["", "a/b", "x" * 300, "inventory.products", "../escape", "*"]),
     "before": st.dictionaries(st.sampled_from(["id", "price", "_cdc_key", "a b"]), json_values,
                               max_size=3),
     "after": st.dictionaries(st.sampled_from(["id", "price", "_cdc_rank"]), json_values,
                              max_size=3),
     "key": st.dictionaries(st.sampled_from(["id", "sku", "_cdc_key"]), json_values, max_size=2)})

READING = mutated(
    {"deviceId": "SENSOR-001", "type": "temperature", "value": 21.5, "unit": "°C",
     "timestamp": 1_767_225_600_000, "status": "ok"},
    {"type": st.sampled_from(["temperature", "humidity", "pressure", "vibration", "radiation"]),
     "unit": st.sampled_from(["°C", "°F", "K", "%", "hPa", "mm/s", "?"])})

LOG = mutated(
    {"timestamp": "2026-01-01T00:00:00Z", "source": "api", "level": "ERROR",
     "message": "boom", "metadata": {"k": 1}},
    {"level": st.sampled_from(["ERROR", "WARN", "INFO", "loud", 40, 99])})


@SETTINGS
@given(st.binary(max_size=200))
def test_any_bytes_decode_as_json_or_give_a_reason(data: bytes) -> None:
    try:
        value = from_bytes("json", data)
    except DeserializationError as exc:
        assert str(exc).startswith(("not valid JSON", "not UTF-8"))
        return
    # What the JSON decoder lets through is JSON the standard allows.
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in _leaves(value))


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


@SETTINGS
@given(st.one_of(ORDER.map(encode), st.binary(max_size=100)))
def test_order_events_decode_or_give_a_reason(data: bytes) -> None:
    decode_or_reason(data, Event.from_record, InvalidEvent)


@SETTINGS
@given(ORDER)
def test_an_accepted_order_event_can_be_stored_and_sent_again(value) -> None:
    try:
        event = Event.from_record(from_bytes("json", encode(value)))
    except (DeserializationError, InvalidEvent):
        return
    assert unstorable(event.data) is None
    json.dumps(event.to_record(), allow_nan=False)  # the reply can always be encoded


@SETTINGS
@given(st.one_of(CHANGE.map(encode), st.binary(max_size=100)))
def test_change_events_decode_or_give_a_reason(data: bytes) -> None:
    decode_or_reason(data, cdc.ChangeEvent.from_record, ValueError)


@SETTINGS
@given(st.one_of(READING.map(encode), st.binary(max_size=100)))
def test_iot_readings_validate_or_give_a_reason(data: bytes) -> None:
    decode_or_reason(data, iot.validate, iot.InvalidReading)


@SETTINGS
@given(st.one_of(LOG.map(encode), st.binary(max_size=100)))
def test_log_records_validate_or_give_a_reason(data: bytes) -> None:
    decode_or_reason(data, validate_log, InvalidLogRecord)
