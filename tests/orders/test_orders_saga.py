"""The orchestrator as a pure state machine: fixed timestamps, no broker."""

from __future__ import annotations

import json

import pytest

from kafkalab.orders.order_saga import order_saga
from kafkalab.saga import Orchestrator, SagaState, SagaStep

ORDER = {"customerId": "CUST-001", "total": 1500,
         "items": [{"productId": "ITEM-001", "name": "Laptop", "price": 1500, "quantity": 1}]}
OK = {"inventory": ("InventoryReserved", {"items": {"ITEM-001": 1}}),
      "payment": ("PaymentCharged", {"paymentId": "P-1", "amount": 1500}),
      "shipping": ("ShipmentCreated", {"shipmentId": "S-1"})}


def types(cmds):
    return [c.type for c in cmds]


def run_until(o, saga, n_ok, t=0):
    """Let the first ``n_ok`` steps succeed."""
    for name in ["inventory", "payment", "shipping"][:n_ok]:
        t += 10
        o.on_reply(saga, *OK[name], now_ms=t)
    return t


def test_happy_path_completes_and_captures_payment():
    o = order_saga(timeout_s=5)
    saga, cmds = o.start("ORD-1", ORDER, now_ms=1000)
    assert types(cmds) == ["ReserveInventory"]
    assert types(o.on_reply(saga, *OK["inventory"], now_ms=1010)) == ["ChargePayment"]
    assert types(o.on_reply(saga, *OK["payment"], now_ms=1020)) == ["CreateShipment"]
    assert types(o.on_reply(saga, *OK["shipping"], now_ms=1030)) == ["CapturePayment", "OrderCompleted"]
    assert saga.status == "completed" and saga.finished_ms == 1030
    assert saga.done == ["inventory", "payment", "shipping"]


@pytest.mark.parametrize("n_ok, failure, compensations", [
    (0, ("InventoryRejected", {"reason": "out of stock"}), []),
    (1, ("PaymentDeclined", {"reason": "card declined"}), ["ReleaseInventory"]),
    (2, ("ShipmentFailed", {"reason": "no carrier"}), ["RefundPayment", "ReleaseInventory"]),
])
def test_every_failure_compensates_the_steps_before_it(n_ok, failure, compensations):
    o = order_saga(timeout_s=5)
    saga, _ = o.start("ORD-1", ORDER, now_ms=0)
    t = run_until(o, saga, n_ok)
    cmds = o.on_reply(saga, *failure, now_ms=t + 10)
    if not compensations:  # nothing to undo: cancelled at once
        assert types(cmds) == ["OrderCancelled"] and saga.status == "cancelled"
        assert "out of stock" in saga.reason
        return
    assert types(cmds) == compensations and saga.status == "compensating"
    acks = {"ReleaseInventory": ("InventoryReleased", {"items": {}}),
            "RefundPayment": ("PaymentRefunded", {"amount": 1500})}
    out = []
    for c in compensations:
        out = o.on_reply(saga, *acks[c], now_ms=t + 20)
    assert types(out) == ["OrderCancelled"] and saga.status == "cancelled"
    assert out[0].data["compensated"] == ["inventory", "payment", "shipping"][:n_ok]


@pytest.mark.parametrize("n_ok, expected", [
    (0, ["ReleaseInventory"]),
    (1, ["RefundPayment", "ReleaseInventory"]),
    (2, ["CancelShipment", "RefundPayment", "ReleaseInventory"]),
])
def test_a_step_that_never_answers_times_out_and_is_compensated_too(n_ok, expected):
    o = order_saga(timeout_s=5)
    saga, _ = o.start("ORD-1", ORDER, now_ms=0)
    t = run_until(o, saga, n_ok)
    assert o.on_tick(saga, now_ms=t + 4999) == []  # not yet
    cmds = o.on_tick(saga, now_ms=t + 5000)
    assert "timed out" in saga.reason
    if n_ok == 0:  # only the silent step to undo, and it is not waited for
        assert types(cmds) == expected + ["OrderCancelled"] and saga.status == "cancelled"
        return
    assert types(cmds) == expected and saga.status == "compensating"
    assert saga.pending == ["inventory", "payment"][:n_ok][::-1]  # the silent step is not awaited


def test_unacknowledged_compensation_is_resent_then_marked_stuck():
    o = Orchestrator(order_saga().steps, timeout_s=1, max_attempts=3)
    saga, _ = o.start("ORD-1", ORDER, now_ms=0)
    o.on_reply(saga, *OK["inventory"], now_ms=10)
    first = o.on_reply(saga, "PaymentDeclined", {"reason": "x"}, now_ms=20)
    again = o.on_tick(saga, now_ms=1020)
    assert types(again) == ["ReleaseInventory"]
    assert again[0].id != first[0].id  # a new attempt is a new command id
    assert o.on_tick(saga, now_ms=2020) and saga.status == "compensating"
    assert o.on_tick(saga, now_ms=3020) == [] and saga.status == "stuck"


def test_late_and_duplicate_replies_change_nothing():
    o = order_saga(timeout_s=5)
    saga, _ = o.start("ORD-1", ORDER, now_ms=0)
    o.on_reply(saga, *OK["inventory"], now_ms=10)
    before = saga.to_record()
    assert o.on_reply(saga, *OK["inventory"], now_ms=11) == []      # duplicate
    assert o.on_reply(saga, *OK["shipping"], now_ms=12) == []       # out of turn
    assert o.on_reply(saga, "SomethingElse", {}, now_ms=13) == []   # unknown
    assert {k: v for k, v in saga.to_record().items() if k != "log"} == \
        {k: v for k, v in before.items() if k != "log"}
    o.on_tick(saga, now_ms=6000)                                     # payment timed out
    assert o.on_reply(saga, *OK["payment"], now_ms=6100) == []      # late success: ignored
    assert saga.status == "compensating"


def test_state_survives_a_json_round_trip_mid_saga():
    """What the order service stores between events: a restart resumes from it."""
    o = order_saga(timeout_s=5)
    saga, _ = o.start("ORD-1", ORDER, now_ms=0)
    o.on_reply(saga, *OK["inventory"], now_ms=10)
    restored = SagaState.from_record(json.loads(json.dumps(saga.to_record())))
    assert types(o.on_reply(restored, *OK["payment"], now_ms=20)) == ["CreateShipment"]


def test_same_decision_gives_the_same_command_id():
    o = order_saga()
    a, ca = o.start("ORD-1", ORDER, now_ms=0)
    b, cb = o.start("ORD-1", ORDER, now_ms=999)
    assert ca[0].id == cb[0].id
    assert o.start("ORD-2", ORDER, now_ms=0)[1][0].id != ca[0].id


def test_bad_definitions_are_refused():
    class A(SagaStep):
        name, succeeded = "a", ("Done",)

    class B(SagaStep):
        name, succeeded = "b", ("Done",)

    with pytest.raises(ValueError, match="belongs to two steps"):
        Orchestrator([A(), B()])
    with pytest.raises(ValueError, match="unique"):
        Orchestrator([A(), A()])
    with pytest.raises(ValueError, match="at least one"):
        Orchestrator([])
