"""The payment service: charges, refunds and captures, with a ledger that must balance.

>>> from kafkalab.orders.events import new_event
>>> from kafkalab.orders.store import Store
>>> pay = PaymentService(Store())
>>> charge = new_event("ChargePayment", "ORD-1", {"customerId": "C", "amount": 100}, source="order")
>>> [e.event_type for e in pay.process(charge)]
['PaymentCharged']
>>> refund = new_event("RefundPayment", "ORD-1", {"reason": "shipping failed"}, source="order")
>>> [e.event_type for e in pay.process(refund)], pay.ledger()
(['PaymentRefunded'], {'charged': 100, 'captured': 0, 'refunded': 100})
>>> from kafkalab.orders.faults import Faults
>>> PaymentService(Store(), faults=Faults(payment_decline_rate=1)).process(charge)[0].event_type
'PaymentDeclined'
"""

from __future__ import annotations

import logging

from kafkalab.orders.events import Event
from kafkalab.orders.service import Service, UnexpectedEvent

__all__ = ["PaymentService"]

log = logging.getLogger(__name__)


class PaymentService(Service):
    """One payment per order: ``charged -> captured`` or ``charged -> refunded``.

    The ledger counts money: at rest, ``charged == captured + refunded``.
    """

    name = "payment"
    consumes = ("payment-commands",)

    def ledger(self) -> dict[str, int | float]:
        return self.store.get("ledger", {"charged": 0, "captured": 0, "refunded": 0})

    def _book(self, column: str, amount: int | float) -> None:
        ledger = self.ledger()
        ledger[column] = ledger[column] + amount
        self.store.put("ledger", ledger)

    def handle(self, event: Event) -> list[Event]:
        key = f"payment/{event.order_id}"
        p = self.store.get(key)
        t = event.event_type
        if t == "ChargePayment":
            if p is None:
                if self.faults.declines(event.order_id):
                    self.store.put(key, {"state": "declined"})
                    return [self.reply("PaymentDeclined", event,
                                       {"reason": "card declined (injected fault)"})]
                amount = event.data["amount"]
                p = {"state": "charged", "amount": amount, "paymentId": f"PAY-{event.order_id}"}
                self.store.put(key, p)
                self._book("charged", amount)
            if p["state"] in ("charged", "captured"):  # a repeated charge changes nothing
                return [self.reply("PaymentCharged", event,
                                   {"paymentId": p["paymentId"], "amount": p["amount"]})]
            return [self.reply("PaymentDeclined", event, {"reason": f"payment already {p['state']}"})]
        if t == "RefundPayment":
            if p is not None and p["state"] == "charged":
                self.store.put(key, {**p, "state": "refunded"})
                self._book("refunded", p["amount"])
                return [self.reply("PaymentRefunded", event, {"amount": p["amount"]})]
            if p is None:  # refund before any charge: void, so a late charge is refused
                self.store.put(key, {"state": "voided"})
            return [self.reply("PaymentRefunded", event, {"amount": 0})]
        if t == "CapturePayment":
            if p is not None and p["state"] == "charged":
                self.store.put(key, {**p, "state": "captured"})
                self._book("captured", p["amount"])
                return [self.reply("PaymentCaptured", event, {"amount": p["amount"]})]
            return [self.reply("PaymentCaptured", event, {"amount": 0})]
        raise UnexpectedEvent(f"the payment service does not handle {t}")
