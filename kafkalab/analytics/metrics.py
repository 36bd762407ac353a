"""The dashboard's metrics, per window, as one aggregator over all event types.

The course brief names them: ``orders {count, revenue}``,
``users {active, new}``, ``performance {avgResponseTime, errorRate}``.
:class:`ShopMetrics` computes all six in one pass; :func:`flatten` turns the
nested result into ``{"orders.count": ..., ...}`` for tables and detectors.

>>> agg = ShopMetrics()
>>> acc = agg.initialize()
>>> for e in [{"type": "order", "customerId": "C1", "total": 10.0},
...           {"type": "request", "userId": "C1", "responseTimeMs": 100, "status": 200},
...           {"type": "request", "userId": "C2", "responseTimeMs": 300, "status": 503},
...           {"type": "signup", "userId": "N1"}]:
...     acc = agg.add(acc, e)
>>> agg.result(acc)
{'orders': {'count': 1, 'revenue': 10.0}, 'users': {'active': 3, 'new': 1}, 'performance':
 {'avgResponseTime': 200.0, 'errorRate': 0.5}}
>>> flatten(agg.result(acc))["performance.errorRate"]
0.5
"""

from __future__ import annotations

from typing import Any

from kafkalab.windows import Aggregator

__all__ = ["BOUNDS", "METRICS", "ShopMetrics", "flatten"]

#: The six metric names, as :func:`flatten` spells them.
METRICS = ("orders.count", "orders.revenue", "users.active", "users.new",
           "performance.avgResponseTime", "performance.errorRate")


#: The range each metric can take, known in advance: HalfSpaceTrees needs its
#: features scaled to [0, 1] (values outside are clipped).
BOUNDS: dict[str, tuple[float, float]] = {
    "orders.count": (0, 60), "orders.revenue": (0, 8000),
    "users.active": (0, 200), "users.new": (0, 40),
    "performance.avgResponseTime": (0, 500), "performance.errorRate": (0, 0.5),
}


def flatten(metrics: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``{"orders": {"count": 3}}`` -> ``{"orders.count": 3}``."""
    return {f"{group}.{name}": value for group, inner in metrics.items()
            for name, value in inner.items()}


class ShopMetrics(Aggregator):
    """Orders, users and performance of one window.

    The accumulator is JSON (the processor checkpoints it): counts, sums, and
    the sorted list of active user ids (exact distinct count).
    A user is *active* if any event of the window carries its id
    (``customerId`` or ``userId``); *new* counts signups.
    """

    def initialize(self) -> dict[str, Any]:
        return {"orders": 0, "revenue": 0.0, "users": [], "new": 0,
                "requests": 0, "rt_sum": 0.0, "errors": 0}

    def add(self, acc: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        acc = dict(acc)
        kind = event.get("type")
        if kind == "order":
            acc["orders"] += 1
            acc["revenue"] = round(acc["revenue"] + float(event["total"]), 2)
        elif kind == "request":
            acc["requests"] += 1
            acc["rt_sum"] = round(acc["rt_sum"] + float(event["responseTimeMs"]), 3)
            acc["errors"] += int(event.get("status", 200) >= 500)
        elif kind == "signup":
            acc["new"] += 1
        else:
            raise ValueError(f"unknown event type {kind!r}; expected order, request or signup")
        user = event.get("customerId") or event.get("userId")
        if user is not None and user not in acc["users"]:
            acc["users"] = sorted([*acc["users"], user])
        return acc

    def result(self, acc: dict[str, Any]) -> dict[str, dict[str, Any]]:
        n = acc["requests"]
        return {
            "orders": {"count": acc["orders"], "revenue": round(acc["revenue"], 2)},
            "users": {"active": len(acc["users"]), "new": acc["new"]},
            "performance": {"avgResponseTime": round(acc["rt_sum"] / n, 2) if n else 0.0,
                            "errorRate": round(acc["errors"] / n, 4) if n else 0.0},
        }

    def merge(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        return {"orders": a["orders"] + b["orders"],
                "revenue": round(a["revenue"] + b["revenue"], 2),
                "users": sorted(set(a["users"]) | set(b["users"])),
                "new": a["new"] + b["new"], "requests": a["requests"] + b["requests"],
                "rt_sum": round(a["rt_sum"] + b["rt_sum"], 3), "errors": a["errors"] + b["errors"]}
