"""The shop's products and their starting stock.

The API rejects orders for products not listed here, and the inventory
service starts from :data:`STARTING_STOCK` (unless told otherwise).

>>> CATALOG["ITEM-001"].name, CATALOG["ITEM-001"].price
('Laptop', 1500)
>>> order_total([{"productId": "ITEM-001", "price": 1500, "quantity": 2},
...              {"productId": "ITEM-002", "price": 25, "quantity": 1}])
3025
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

__all__ = ["CATALOG", "STARTING_STOCK", "Product", "order_total", "quantities"]


class Product(NamedTuple):
    product_id: str
    name: str
    price: int


CATALOG: dict[str, Product] = {p.product_id: p for p in [
    Product("ITEM-001", "Laptop", 1500),
    Product("ITEM-002", "Mouse", 25),
    Product("ITEM-003", "Keyboard", 75),
    Product("ITEM-004", "Monitor", 300),
    Product("ITEM-005", "Headphones", 120),
]}

#: Units in stock when the inventory service starts with an empty state.
STARTING_STOCK: dict[str, int] = {pid: 1000 for pid in CATALOG}


def order_total(items: Iterable[Mapping[str, Any]]) -> int | float:
    """Sum of price x quantity (what the customer is charged)."""
    total = sum(i["price"] * i["quantity"] for i in items)
    return round(total, 2) if isinstance(total, float) else total


def quantities(items: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Units per product (an order may list a product twice).

    >>> quantities([{"productId": "A", "quantity": 1}, {"productId": "A", "quantity": 2}])
    {'A': 3}
    """
    out: dict[str, int] = {}
    for i in items:
        out[i["productId"]] = out.get(i["productId"], 0) + int(i["quantity"])
    return out
