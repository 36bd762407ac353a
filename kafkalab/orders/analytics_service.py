"""The analytics service: running totals for ``GET /api/analytics``.

It reads only the ``orders`` topic (placed, completed, cancelled) and keeps
its counters in its own store, deduplicated like every other service, so a
redelivered event is never counted twice.

>>> from kafkalab.orders.events import new_event
>>> from kafkalab.orders.store import Store
>>> a = AnalyticsService(Store())
>>> _ = a.process(new_event("OrderPlaced", "ORD-1", {"customerId": "C", "items": [], "total": 1500},
...                         source="api", now_ms=1_000))
>>> _ = a.process(new_event("OrderCompleted", "ORD-1", {"total": 1500}, source="order", now_ms=1_800))
>>> s = a.snapshot()
>>> s["orders"]["total"], s["revenue"], s["byStatus"], s["processingTimeMs"]["p50"]
(1, 1500, {'pending': 0, 'completed': 1, 'cancelled': 0}, 800.0)
"""

from __future__ import annotations

import logging
from typing import Any

from kafkalab.orders.events import Event
from kafkalab.orders.service import Service
from kafkalab.orders.store import Store
from kafkalab.stats import percentile

__all__ = ["AnalyticsService", "analytics_snapshot"]

log = logging.getLogger(__name__)

_MAX_DURATIONS = 10_000  # keep the latest processing times only: bounded memory


class AnalyticsService(Service):
    """Counts orders by outcome, revenue, throughput and processing time."""

    name = "analytics"
    consumes = ("orders",)

    def handle(self, event: Event) -> list[Event]:
        st = self.store.get("stats") or {"placed": 0, "completed": 0, "cancelled": 0,
                                          "revenue": 0, "cancelReasons": {}, "firstPlaced": None,
                                          "lastFinished": None, "durations": []}
        t = event.event_type
        if t == "OrderPlaced":
            if self.store.get(f"placed/{event.order_id}") is not None:
                return []  # the same order placed twice: count it once
            st["placed"] += 1
            self.store.put(f"placed/{event.order_id}", event.timestamp)
            if st["firstPlaced"] is None or event.timestamp < st["firstPlaced"]:
                st["firstPlaced"] = event.timestamp
        elif t in ("OrderCompleted", "OrderCancelled"):
            if self.store.get(f"finished/{event.order_id}") is not None:
                return []
            self.store.put(f"finished/{event.order_id}", t)
            if t == "OrderCompleted":
                st["completed"] += 1
                st["revenue"] += event.data["total"]
            else:
                st["cancelled"] += 1
                reason = (event.data.get("reason") or "unknown").split(":")[0]
                st["cancelReasons"][reason] = st["cancelReasons"].get(reason, 0) + 1
            placed = self.store.get(f"placed/{event.order_id}")
            if placed is not None:
                st["durations"] = (st["durations"] + [event.timestamp - placed])[-_MAX_DURATIONS:]
            st["lastFinished"] = max(st["lastFinished"] or 0, event.timestamp)
            # The latest finish times, for a "last minute" rate (bounded list).
            st["recent"] = (st.get("recent", []) + [event.timestamp])[-_MAX_DURATIONS:]
        else:
            return []
        self.store.put("stats", st)
        return []

    def snapshot(self) -> dict[str, Any]:
        return analytics_snapshot(self.store)


def analytics_snapshot(store: Store, now_ms: int | None = None) -> dict[str, Any]:
    """The JSON ``GET /api/analytics`` returns, from an analytics store.

    ``throughput.finishedPerSecond`` is over the whole run (first order placed
    to last one finished); ``lastMinutePerSecond`` counts the orders finished
    in the 60 s before ``now_ms`` (default: the time of the latest finish).
    """
    st = store.get("stats") or {"placed": 0, "completed": 0, "cancelled": 0, "revenue": 0,
                                "cancelReasons": {}, "firstPlaced": None, "lastFinished": None,
                                "durations": []}
    finished = st["completed"] + st["cancelled"]
    span_s = ((st["lastFinished"] - st["firstPlaced"]) / 1000
              if st["firstPlaced"] is not None and st["lastFinished"] else None)
    d = sorted(st["durations"])
    # Rounded to 0.1 ms like the mean; None while no order has finished.
    pct = {q: percentile(d, q) for q in (50, 95, 99)}
    pct = {q: None if v is None else round(v, 1) for q, v in pct.items()}
    recent = st.get("recent", [])
    now_ms = now_ms if now_ms is not None else (st["lastFinished"] or 0)
    last_minute = sum(1 for t in recent if now_ms - 60_000 < t <= now_ms)
    return {
        "orders": {"total": st["placed"], "finished": finished},
        "revenue": st["revenue"],
        "byStatus": {"pending": st["placed"] - finished, "completed": st["completed"],
                     "cancelled": st["cancelled"]},
        "cancelReasons": st["cancelReasons"],
        "throughput": {"finishedPerSecond": round(finished / span_s, 2) if span_s else None,
                       "windowSeconds": span_s,
                       "lastMinutePerSecond": round(last_minute / 60, 2)},
        "processingTimeMs": {"count": len(d), "p50": pct[50],
                             "p95": pct[95], "p99": pct[99],
                             "max": d[-1] if d else None,
                             "mean": round(sum(d) / len(d), 1) if d else None},
    }
