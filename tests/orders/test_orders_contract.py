"""The same checks over every service (contract tests): it consumes only contract topics, emits
only contract events from itself on their declared topics, and a redelivered event changes nothing."""

from __future__ import annotations

import pytest

from kafkalab.orders import EVENT_TYPES, Store, new_event
from kafkalab.orders.events import COMMAND_TOPICS, EVENT_TOPICS, Event, InvalidEvent
from kafkalab.orders.system import SERVICES

SAMPLE = {"customerId": "CUST-001", "total": 1500, "reason": "x", "amount": 1500,
          "paymentId": "PAY-1", "shipmentId": "SHP-1", "compensated": [],
          "items": [{"productId": "ITEM-001", "name": "Laptop", "price": 1500, "quantity": 1}]}


def sample(event_type: str, order_id: str = "ORD-1"):
    data = {f: SAMPLE[f] for f in EVENT_TYPES[event_type].fields}
    return new_event(event_type, order_id, data, source="test", now_ms=1_000)


def stream_for(service):
    """Every contract type the service reads, the saga's start first."""
    order = ["OrderPlaced"] + [t for t in EVENT_TYPES if t != "OrderPlaced"]
    return [sample(t) for t in order if EVENT_TYPES[t].topic in service.consumes]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_follows_the_contract(name):
    service = SERVICES[name](Store())
    assert service.name == name
    assert set(service.consumes) <= set(EVENT_TOPICS + COMMAND_TOPICS)
    events = stream_for(service)
    assert events, f"{name} reads no contract event type"
    for e in events:
        for out in service.process(e):
            spec = EVENT_TYPES[out.event_type]
            assert out.source == name and spec.producer == name, (name, out.event_type)
            assert out.topic == spec.topic
            assert set(spec.fields) <= set(out.data)
        # The same record again: no new state, nothing emitted.
        state_after = service.store.items()
        outbox = len(service.store.outbox_pending())
        assert service.process(e) == []
        assert service.store.items() == state_after and len(service.store.outbox_pending()) == outbox
    assert service.duplicates == len(events)


@pytest.mark.parametrize(("data", "reason"), [
    ({"customerId": "C", "amount": float("nan")}, "not a finite number"),
    ({"customerId": "C", "amount": float("inf")}, "not a finite number"),
    ({"customerId": "C", "amount": -5}, "must be a number of 0 or more"),
    ({"customerId": "C", "amount": "12"}, "must be a number of 0 or more"),
    ({"customerId": "C", "amount": 2**64}, "at most 64"),
    ({"customerId": "C\x00X", "amount": 1}, "NUL byte"),
])
def test_a_charge_that_could_never_be_booked_or_answered_is_refused(data, reason):
    # A ChargePayment with amount NaN used to be booked (ledger {"charged": NaN})
    # and its reply could never be encoded: the outbox stalled for good.
    envelope = {"eventId": "e", "eventType": "ChargePayment", "orderId": "O", "timestamp": 1,
                "source": "order", "data": data}
    with pytest.raises(InvalidEvent, match=reason):
        Event.from_record(envelope)
