"""Checkers for week 4: the compensation of a new saga step, and an invariant.

>>> from kafkalab.saga import SagaStep
>>> class AwardPoints(SagaStep):
...     name = "loyalty"
...     succeeded, failed, compensated = ("PointsAwarded",), ("PointsRejected",), ("PointsRevoked",)
...     def execute(self, saga):
...         return "AwardPoints", {"customerId": saga.data["customerId"],
...                                "points": saga.data["total"] // 100}
...     def compensate(self, saga):
...         return "RevokePoints", {"customerId": saga.data["customerId"],
...                                 "points": saga.data["total"] // 100}
>>> print(check_loyalty_step(AwardPoints))
Exercise 1: compensate a new saga step: 5 of 5 checks passed
  ✔ on the happy path it awards 15 points to CUST-001 after the payment
  ✔ a failed shipment revokes the points (and refunds, and releases the stock)
  ✔ the saga ends cancelled once every undo is acknowledged
  ✔ if the points were rejected, nothing is revoked (only payment and stock are undone)
  ✔ if the loyalty service never answers, the points are revoked anyway (they may have been given)

A wrong answer says what is wrong (and, under the test suite, raises)::

    ✘ a failed shipment sent ['RefundPayment', 'ReleaseInventory'] but no RevokePoints:
      compensate() must return ("RevokePoints", {...})
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kafkalab.exercises import Result, guard_checkers
from kafkalab.orders.events import Event
from kafkalab.orders.order_saga import ChargePayment, CreateShipment, ReserveInventory
from kafkalab.saga import Orchestrator, SagaStep

__all__ = ["check_loyalty_step", "check_shipped_twice", "shipping_events"]

_ORDER = {"customerId": "CUST-001", "total": 1550,
          "items": [{"productId": "ITEM-001", "name": "Laptop", "price": 1500, "quantity": 1},
                    {"productId": "ITEM-002", "name": "Mouse", "price": 25, "quantity": 2}]}
_OK: list[tuple[str, dict[str, Any]]] = [("InventoryReserved", {"items": {"ITEM-001": 1}}),
       ("PaymentCharged", {"paymentId": "P", "amount": 1550})]


def _types(cmds: Iterable[Any]) -> list[str]:
    return [c.type for c in cmds]


def check_loyalty_step(step_cls: type[SagaStep]) -> Result:
    """Exercise 1: a ``loyalty`` step between payment and shipping, with its compensation."""
    r = Result("Exercise 1: compensate a new saga step")
    try:
        step = step_cls()
        saga_def = Orchestrator([ReserveInventory(), ChargePayment(), step, CreateShipment()],
                                timeout_s=5, completed_type="OrderCompleted",
                                cancelled_type="OrderCancelled")
    except Exception as exc:
        r.check(False, "", f"the step could not be used: {type(exc).__name__}: {exc}. Subclass "
                           "SagaStep, set name and the reply types, write execute and compensate")
        return r.done()

    def to_loyalty(now: int = 0) -> tuple[Any, list[Any]]:
        saga, _ = saga_def.start("ORD-1", _ORDER, now_ms=now)
        cmds: list[Any] = []
        for i, reply in enumerate(_OK):
            cmds = saga_def.on_reply(saga, *reply, now_ms=now + 10 * (i + 1))
        return saga, cmds

    try:
        saga, cmds = to_loyalty()
        award = cmds[0] if cmds else None
        r.check(award is not None and award.type == "AwardPoints"
                and award.data.get("points") == 15 and award.data.get("customerId") == "CUST-001",
                "on the happy path it awards 15 points to CUST-001 after the payment",
                f"after the payment the saga sent {_types(cmds)} with data "
                f"{award.data if award else None}; execute() must return ('AwardPoints', "
                "{'customerId': ..., 'points': total // 100}) (1550 // 100 = 15)")
        after = saga_def.on_reply(saga, step.succeeded[0] if step.succeeded else "PointsAwarded",
                                  {}, now_ms=40)
        failed = saga_def.on_reply(saga, "ShipmentFailed", {"reason": "no carrier"}, now_ms=50)
        revoke = [c for c in failed if c.type == "RevokePoints"]
        r.check(_types(after) == ["CreateShipment"] and revoke
                and revoke[0].data.get("points") == 15
                and {"RefundPayment", "ReleaseInventory"} <= set(_types(failed)),
                "a failed shipment revokes the points (and refunds, and releases the stock)",
                f"a failed shipment sent {_types(failed)} but no RevokePoints for 15 points: "
                "compensate() must return ('RevokePoints', {'customerId': ..., 'points': ...}), "
                "and succeeded must hold 'PointsAwarded'")
        for reply in ("PaymentRefunded", "InventoryReleased",
                      step.compensated[0] if step.compensated else "PointsRevoked"):
            last = saga_def.on_reply(saga, reply, {"amount": 0, "items": {}}, now_ms=60)
        r.check(saga.status == "cancelled" and _types(last) == ["OrderCancelled"],
                "the saga ends cancelled once every undo is acknowledged",
                f"after every undo was acknowledged the saga is {saga.status!r} (pending "
                f"{saga.pending}): compensated must hold 'PointsRevoked'")
        saga2, _ = to_loyalty()
        out = saga_def.on_reply(saga2, step.failed[0] if step.failed else "PointsRejected",
                                {"reason": "no account"}, now_ms=40)
        r.check(set(_types(out)) == {"RefundPayment", "ReleaseInventory"},
                "if the points were rejected, nothing is revoked (only payment and stock are undone)",
                f"a PointsRejected reply sent {_types(out)}: failed must hold 'PointsRejected', "
                "and a failed step undoes the steps *before* it, not itself")
        saga3, _ = to_loyalty()
        out = saga_def.on_tick(saga3, now_ms=10_000)
        r.check("RevokePoints" in _types(out),
                "if the loyalty service never answers, the points are revoked anyway "
                "(they may have been given)",
                f"a timed-out loyalty step sent {_types(out)}: the orchestrator calls "
                "compensate() for it too; compensate() must not depend on the reply")
    except Exception as exc:
        r.check(False, "", f"running the saga with your step raised {type(exc).__name__}: {exc}")
    return r.done()


def shipping_events() -> list[Event]:
    """A fixed stream of shipping events: one order shipped twice, one duplicate delivery."""
    from kafkalab.orders.events import new_event

    def shipped(oid: str, sid: str, eid: str) -> Event:
        return new_event("ShipmentCreated", oid, {"shipmentId": sid}, source="shipping",
                         now_ms=0, event_id=eid)

    return [shipped("ORD-1", "SHP-1", "e1"), shipped("ORD-1", "SHP-1", "e1"),   # redelivered
            shipped("ORD-2", "SHP-2", "e2"), shipped("ORD-2", "SHP-2", "e3"),   # re-sent command
            shipped("ORD-3", "SHP-3", "e4"), shipped("ORD-3", "SHP-3b", "e5"),  # two shipments!
            new_event("ShipmentCancelled", "ORD-4", {"shipmentId": "SHP-4"}, source="shipping",
                      now_ms=0, event_id="e6")]


def check_shipped_twice(fn: Callable[[list[Event]], Any]) -> Result:
    """Exercise 2: ``fn(events)`` returns the order ids that got more than one shipment."""
    r = Result("Exercise 2: check the no-double-shipping invariant")
    try:
        got = fn(shipping_events())
    except Exception as exc:
        r.check(False, "", f"your function raised {type(exc).__name__}: {exc}")
        return r.done()
    got_set = set(got or ())
    r.check("ORD-3" in got_set, "it finds ORD-3, which has two different shipment ids",
            f"it returned {sorted(got_set)}; ORD-3 got SHP-3 and SHP-3b: two shipments")
    r.check(not {"ORD-1", "ORD-2"} & got_set,
            "a redelivered event or a re-sent command with the same shipmentId is not a second shipment",
            f"it returned {sorted(got_set)}: ORD-1 and ORD-2 have one shipmentId each. Count "
            "distinct shipmentIds per order, not events")
    r.check("ORD-4" not in got_set, "other event types are ignored",
            "ORD-4 only has a ShipmentCancelled: look at ShipmentCreated events only")
    return r.done()


# An exercise cell not written yet leaves its answer None: say "not done yet" in one line.
guard_checkers(globals())
