"""Sample orders: the brief's shape, reproducible, with a controllable hot key."""

from __future__ import annotations

import pytest

from kafkalab.sampledata import HOT_CUSTOMER, orders


def test_orders_have_the_briefs_fields_and_consistent_totals():
    for o in orders(200, seed=9):
        assert o["customerId"].startswith("CUST-")
        assert o["items"] and all(set(it) == {"productId", "name", "price", "quantity"}
                                  for it in o["items"])
        assert o["total"] == sum(it["price"] * it["quantity"] for it in o["items"])


def test_seq_counts_each_customers_orders():
    seen: dict[str, int] = {}
    for o in orders(300, customers=5, seed=2):
        assert o["seq"] == seen.get(o["customerId"], 0)
        seen[o["customerId"]] = o["seq"] + 1


def test_seed_fixes_and_changes_the_data():
    assert orders(50, seed=1) == orders(50, seed=1)
    assert orders(50, seed=1) != orders(50, seed=2)


def test_hot_share_skews_towards_the_hot_customer():
    even = sum(o["customerId"] == HOT_CUSTOMER for o in orders(2000, customers=20, seed=4))
    hot = sum(o["customerId"] == HOT_CUSTOMER for o in orders(2000, customers=20, seed=4,
                                                              hot_share=0.6))
    assert even < 200 < 1100 < hot


@pytest.mark.parametrize("kwargs, message", [({"hot_share": 1.5}, "fraction"),
                                             ({"customers": 0}, "at least one customer")])
def test_bad_arguments_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        orders(10, **kwargs)
