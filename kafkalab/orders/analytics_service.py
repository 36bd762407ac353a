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
                                          "lastFinished": None}
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
            st["lastFinished"] = max(st["lastFinished"] or 0, event.timestamp)
            # The latest finishes (time, processing time) in a ring of rows, for
            # the percentiles and the "last minute" rate: bounded, and one small
            # row per event. Kept as two lists inside "stats", they were read
            # and rewritten whole on every event: 5 ms per order once 10,000
            # orders had finished (bench/orders.py runs 12,000).
            slot = (st["completed"] + st["cancelled"] - 1) % _MAX_DURATIONS
            self.store.put(f"finish/{slot:05d}",
                           [event.timestamp, None if placed is None else event.timestamp - placed])
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
                                "cancelReasons": {}, "firstPlaced": None, "lastFinished": None}
    finished = st["completed"] + st["cancelled"]
    span_s = ((st["lastFinished"] - st["firstPlaced"]) / 1000
              if st["firstPlaced"] is not None and st["lastFinished"] else None)
    ring = [v for _, v in store.items("finish/")]
    if ring:
        durations = [d for _, d in ring if d is not None]
        recent = [t for t, _ in ring]
    else:  # a store written before the ring kept both lists inside "stats"
        durations, recent = st.get("durations", []), st.get("recent", [])
    d = sorted(durations)
    # Rounded to 0.1 ms like the mean; None while no order has finished.
    pct = {q: percentile(d, q) for q in (50, 95, 99)}
    pct = {q: None if v is None else round(v, 1) for q, v in pct.items()}
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
