"""Seeded sample orders for the first weeks: the course brief's field names, fixed randomness.

Weeks 1 and 2 need plenty of small, realistic records before the order
services of week 3 exist. These follow the brief's order shape
(``customerId``, ``items`` with ``productId``, ``name``, ``price``,
``quantity``) and add ``orderId``, ``total``, ``seq`` (the n-th order of that
customer, to check ordering) and ``timestamp`` (milliseconds).

>>> first = orders(3, seed=7)[0]
>>> sorted(first)
['customerId', 'items', 'orderId', 'seq', 'timestamp', 'total']
>>> orders(3, seed=7) == orders(3, seed=7)     # same seed, same orders
True
>>> [o["seq"] for o in orders(8, customers=2, seed=1) if o["customerId"] == "CUST-001"]
[0, 1, 2, 3]
>>> hot = orders(1000, customers=20, hot_share=0.5, seed=3)
>>> sum(o["customerId"] == HOT_CUSTOMER for o in hot) > 450
True
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["HOT_CUSTOMER", "PRODUCTS", "customer_ids", "orders"]

#: The products a sample order draws from: ``(productId, name, price)``.
PRODUCTS: tuple[tuple[str, str, int], ...] = (
    ("ITEM-001", "Laptop", 1500),
    ("ITEM-002", "Mouse", 25),
    ("ITEM-003", "Keyboard", 70),
    ("ITEM-004", "Monitor", 300),
    ("ITEM-005", "Headphones", 120),
    ("ITEM-006", "USB cable", 10),
)

#: The customer who gets ``hot_share`` of all orders (a "hot key").
HOT_CUSTOMER = "CUST-001"


def customer_ids(n: int) -> list[str]:
    """``["CUST-001", "CUST-002", ...]``, the brief's id style.

    >>> customer_ids(3)
    ['CUST-001', 'CUST-002', 'CUST-003']
    """
    if n < 1:
        raise ValueError(f"need at least one customer; got {n}")
    return [f"CUST-{i:03d}" for i in range(1, n + 1)]


def orders(n: int, *, customers: int = 20, seed: int = 42, hot_share: float = 0.0,
           start_ms: int = 1_700_000_000_000, step_ms: int = 100) -> list[dict[str, Any]]:
    """``n`` orders from ``customers`` customers, reproducible for a given ``seed``.

    Parameters
    ----------
    n
        How many orders.
    customers
        How many distinct ``customerId`` values (the keys of week 1).
    seed
        Fixes every random choice: the same arguments give the same orders.
    hot_share
        Fraction (0 to 1) of orders that go to :data:`HOT_CUSTOMER` on top of
        its fair share: a skewed key for the partitioning lesson of week 2.
    start_ms, step_ms
        The first order's ``timestamp`` and the gap between orders, so times
        are fixed too (no wall clock).
    """
    if not 0.0 <= hot_share <= 1.0:
        raise ValueError(f"hot_share is a fraction between 0 and 1; got {hot_share}")
    rng = random.Random(seed)
    ids = customer_ids(customers)
    seq: dict[str, int] = {}
    out = []
    for i in range(n):
        customer = HOT_CUSTOMER if rng.random() < hot_share else rng.choice(ids)
        items: list[dict[str, Any]] = []
        for product_id, name, price in rng.sample(PRODUCTS, rng.randint(1, 3)):
            items.append({"productId": product_id, "name": name, "price": price,
                          "quantity": rng.randint(1, 3)})
        out.append({
            "orderId": f"ORD-{i + 1:05d}",
            "customerId": customer,
            "items": items,
            "total": sum(it["price"] * it["quantity"] for it in items),
            "seq": seq.get(customer, 0),
            "timestamp": start_ms + i * step_ms,
        })
        seq[customer] = seq.get(customer, 0) + 1
    return out
