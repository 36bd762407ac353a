"""Faults injected on purpose, to see the saga compensate.

Which orders fail is decided by a seeded hash of the order id, not by a
random draw at run time: the same order fails the same way every time it is
(re)processed. That matters: a handler that re-processes a redelivered command
must reach the same decision, or redelivery would change the outcome.

>>> f = Faults(payment_decline_rate=0.5, seed=1)
>>> f.declines("ORD-1") == f.declines("ORD-1")     # stable
True
>>> sum(f.declines(f"ORD-{i}") for i in range(1000))   # about half
4...
>>> Faults().declines("ORD-1"), Faults(payment_decline_rate=1).declines("ORD-1")
(False, True)
>>> poison_record()[:12]
b'{"eventId": '
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = ["Faults", "poison_record"]


@dataclass(frozen=True)
class Faults:
    """What goes wrong, and how often.

    Parameters
    ----------
    payment_decline_rate
        Share of orders whose payment is declined (0 to 1).
    shipping_failure_rate
        Share of orders whose shipment cannot be created.
    seed
        Changes which orders are hit, not how many.

    Stock shortages are not a rate: give the inventory service little stock
    (``OrdersConfig(stock={...})``). A service that never answers is one you
    do not start (``OrderSystem.start(services=...)``) or stop mid-run.
    """

    payment_decline_rate: float = 0.0
    shipping_failure_rate: float = 0.0
    seed: int = 42

    def __post_init__(self) -> None:
        for name in ("payment_decline_rate", "shipping_failure_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1; got {value}")

    def _hit(self, what: str, order_id: str, rate: float) -> bool:
        if rate <= 0:
            return False
        digest = hashlib.sha256(f"{self.seed}/{what}/{order_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < rate

    def declines(self, order_id: str) -> bool:
        """Whether the payment of ``order_id`` is declined."""
        return self._hit("payment", order_id, self.payment_decline_rate)

    def shipping_fails(self, order_id: str) -> bool:
        """Whether the shipment of ``order_id`` fails."""
        return self._hit("shipping", order_id, self.shipping_failure_rate)


def poison_record(kind: str = "missing-field") -> bytes:
    """Bytes no service can process, to send to a topic on purpose.

    ``"missing-field"``: valid JSON, but a ``ChargePayment`` without its amount.
    ``"not-json"``: not JSON at all.
    """
    if kind == "not-json":
        return b'{"eventId": "poison", "eventType": '
    if kind == "missing-field":
        return (b'{"eventId": "poison-1", "eventType": "ChargePayment", "orderId": "ORD-POISON", '
                b'"timestamp": 0, "source": "faults", "data": {"customerId": "CUST-001"}}')
    raise ValueError(f"unknown poison kind {kind!r}; expected 'missing-field' or 'not-json'")
