"""The order saga: reserve inventory, charge payment, create shipment.

Each step is a :class:`~kafkalab.saga.SagaStep` with ``execute`` and
``compensate``; :func:`order_saga` puts them in order behind an
:class:`~kafkalab.saga.Orchestrator`.

Why orchestration here, and not choreography? With three steps and three
compensations, the failure logic ("a declined payment releases the stock, a
failed shipment refunds *and* releases") lives in one place that can be read
top to bottom, unit-tested as a pure state machine, and given timeouts, which
choreography has no natural home for. The week-3 notebook builds the
choreographed version by hand to compare.

>>> o = order_saga(timeout_s=5)
>>> saga, cmds = o.start("ORD-1", {"customerId": "C", "items": [
...     {"productId": "ITEM-001", "name": "Laptop", "price": 1500, "quantity": 1}], "total": 1500}, now_ms=0)
>>> cmds[0].type
'ReserveInventory'
>>> [c.type for c in o.on_reply(saga, "InventoryReserved", {"items": {"ITEM-001": 1}}, now_ms=10)]
['ChargePayment']
>>> [c.type for c in o.on_reply(saga, "PaymentCharged", {"paymentId": "P", "amount": 1500}, now_ms=20)]
['CreateShipment']
>>> [c.type for c in o.on_reply(saga, "ShipmentFailed", {"reason": "no carrier"}, now_ms=30)]
['RefundPayment', 'ReleaseInventory']
"""

from __future__ import annotations

from kafkalab.saga import Orchestrator, SagaState, SagaStep
from kafkalab.saga.step import Action

__all__ = ["ChargePayment", "CreateShipment", "ReserveInventory", "order_saga"]


class ReserveInventory(SagaStep):
    name = "inventory"
    succeeded = ("InventoryReserved",)
    failed = ("InventoryRejected",)
    compensated = ("InventoryReleased",)

    def execute(self, saga: SagaState) -> Action:
        return "ReserveInventory", {"items": saga.data["items"]}

    def compensate(self, saga: SagaState) -> Action:
        return "ReleaseInventory", {"reason": saga.reason}


class ChargePayment(SagaStep):
    name = "payment"
    succeeded = ("PaymentCharged",)
    failed = ("PaymentDeclined",)
    compensated = ("PaymentRefunded",)

    def execute(self, saga: SagaState) -> Action:
        return "ChargePayment", {"customerId": saga.data["customerId"], "amount": saga.data["total"]}

    def compensate(self, saga: SagaState) -> Action:
        return "RefundPayment", {"reason": saga.reason}

    def confirm(self, saga: SagaState) -> Action:
        # Charged money is only held until the order completes; then it is captured.
        return "CapturePayment", {"amount": saga.data["total"]}


class CreateShipment(SagaStep):
    name = "shipping"
    succeeded = ("ShipmentCreated",)
    failed = ("ShipmentFailed",)
    compensated = ("ShipmentCancelled",)

    def execute(self, saga: SagaState) -> Action:
        return "CreateShipment", {"customerId": saga.data["customerId"], "items": saga.data["items"]}

    def compensate(self, saga: SagaState) -> Action:
        return "CancelShipment", {"reason": saga.reason}


def order_saga(timeout_s: float = 10.0, extra_steps: list[SagaStep] | None = None) -> Orchestrator:
    """The orchestrator for orders (``extra_steps`` run after the shipment; the
    week-4 exercise adds one)."""
    steps: list[SagaStep] = [ReserveInventory(), ChargePayment(), CreateShipment()]
    return Orchestrator(steps + list(extra_steps or []), timeout_s=timeout_s,
                        completed_type="OrderCompleted", cancelled_type="OrderCancelled")
