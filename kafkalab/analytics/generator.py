"""A seeded generator of shop events with labelled, injected anomalies.

Week 6 stands on its own: this produces the three event types the real-time
dashboard needs, with a daily-looking rhythm, some out-of-order arrivals, and
anomalies injected into chosen minutes, *labelled*, so detectors can be
scored (precision, recall, ROC-AUC) instead of eyeballed.

Events (``timestamp`` is event time in epoch ms)::

    {"type": "order",   "orderId", "customerId", "total", "timestamp"}
    {"type": "request", "userId", "service", "responseTimeMs", "status", "timestamp"}
    {"type": "signup",  "userId", "timestamp"}

>>> gen = EventGenerator(seed=7, minutes=30, start_ms=0)
>>> events = gen.generate()
>>> len(events), sorted({e["type"] for e in events})
(3016, ['order', 'request', 'signup'])
>>> gen.labels                                 # minute start -> injected anomaly
{1140000: 'revenue_spike'}
>>> gen.is_anomalous(1_140_000, "orders.revenue"), gen.is_anomalous(0, "orders.count")
(True, False)
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ANOMALY_KINDS", "EventGenerator"]

#: Each kind of injected anomaly, and the metrics it shows up in.
ANOMALY_KINDS: dict[str, tuple[str, ...]] = {
    "revenue_spike": ("orders.revenue",),
    "order_drop": ("orders.count", "orders.revenue"),
    "latency_spike": ("performance.avgResponseTime",),
    "error_burst": ("performance.errorRate",),
    "signup_flood": ("users.new",),
}

MINUTE = 60_000


@dataclass
class EventGenerator:
    """Generate ``minutes`` minutes of events from ``start_ms``, reproducibly.

    Parameters
    ----------
    seed
        Same seed, same events.
    minutes
        How many one-minute windows to fill.
    start_ms
        Event time of the first minute (rounded down to a minute).
    anomaly_rate
        Share of minutes (after ``warmup`` minutes) that get an anomaly.
    late_share, max_delay_ms
        Share of events that arrive late, and by how much at most.
    """

    seed: int = 42
    minutes: int = 60
    start_ms: int = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    anomaly_rate: float = 0.06
    warmup: int = 15
    late_share: float = 0.05
    max_delay_ms: int = 20_000
    users: int = 400
    labels: dict[int, str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.start_ms -= self.start_ms % MINUTE

    def is_anomalous(self, window_start_ms: int, metric: str) -> bool:
        """True if an anomaly was injected into that minute and shows in ``metric``."""
        kind = self.labels.get(window_start_ms)
        return kind is not None and metric in ANOMALY_KINDS[kind]

    def generate(self) -> list[dict[str, Any]]:
        """All events, in *arrival* order (mostly, but not entirely, event-time order)."""
        rng = random.Random(self.seed)
        self.labels = {}
        events: list[tuple[int, int, dict[str, Any]]] = []   # (arrival, seq, event)
        new_users = 0
        seq = 0
        for m in range(self.minutes):
            t0 = self.start_ms + m * MINUTE
            kind = None
            if m >= self.warmup and rng.random() < self.anomaly_rate:
                kind = rng.choice(sorted(ANOMALY_KINDS))
                self.labels[t0] = kind
            load = 1 + 0.3 * math.sin(2 * math.pi * m / 90)   # a slow daily-like rhythm
            n_orders = max(0, round(rng.gauss(20 * load, 3)))
            if kind == "order_drop":
                n_orders = max(0, round(n_orders * 0.1))
            n_requests = max(1, round(rng.gauss(60 * load, 6)))
            n_signups = max(0, round(rng.gauss(3, 1)))
            if kind == "signup_flood":
                n_signups *= 8
            batch: list[dict[str, Any]] = []
            for _ in range(n_orders):
                total = round(rng.lognormvariate(4.0, 0.4), 2)
                if kind == "revenue_spike":
                    total = round(total * 5, 2)
                batch.append({"type": "order", "orderId": f"ORD-{seq:06d}",
                              "customerId": f"CUST-{rng.randrange(self.users):03d}",
                              "total": total})
                seq += 1
            for _ in range(n_requests):
                rt = max(5.0, rng.gauss(120, 15))
                p_error = 0.02
                if kind == "latency_spike":
                    rt *= 3
                if kind == "error_burst":
                    p_error = 0.35
                batch.append({"type": "request", "userId": f"CUST-{rng.randrange(self.users):03d}",
                              "service": rng.choice(["order", "payment", "inventory", "shipping"]),
                              "responseTimeMs": round(rt, 1),
                              "status": 500 if rng.random() < p_error else 200})
            for _ in range(n_signups):
                batch.append({"type": "signup", "userId": f"NEW-{new_users:05d}"})
                new_users += 1
            for event in batch:
                ts = t0 + rng.randrange(MINUTE)
                event["timestamp"] = ts
                delay = rng.randrange(self.max_delay_ms) if rng.random() < self.late_share else 0
                events.append((ts + delay, len(events), event))
        events.sort(key=lambda e: (e[0], e[1]))
        return [e for _, _, e in events]
