"""Consumer lag: how far a group is behind, per partition, sampled over time.

Lag is ``end offset - committed offset``: records written that the group has
not yet committed as processed. One sample says how far behind the group is;
a few samples say where it is heading. :func:`trend` fits a line through the
recent total lag: growing means the consumers are slower than the producers,
shrinking gives an estimate of when they catch up.

The end offset is the high watermark, from ListOffsets
(:meth:`kafkalab.clients.Admin.lag`). A group that joined but never committed
has no lag to show yet: without ``topic``, only partitions it committed on
are sampled.

>>> samples = [LagSample("orders", 0, committed=0, end=e, t=t, group="g")
...            for t, e in [(0.0, 100), (1.0, 150), (2.0, 200)]]
>>> trend(samples)
Trend(direction='growing', rate=50.0, lag=200, catch_up_s=None)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd

from kafkalab.clients.admin import Admin, PartitionLag
from kafkalab.ops.metrics import Registry

__all__ = ["LagMonitor", "LagSample", "Trend", "trend"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LagSample(PartitionLag):
    """A :class:`~kafkalab.clients.PartitionLag` of group ``group``, read at time ``t`` (seconds)."""

    t: float = field(kw_only=True)
    group: str = field(kw_only=True)


@dataclass(frozen=True)
class Trend:
    """Where total lag is heading: ``rate`` in records per second (negative: shrinking)."""

    direction: str  # "growing", "shrinking", "steady" or "unknown"
    rate: float
    lag: int
    catch_up_s: float | None  # estimated seconds to zero lag, when shrinking


def trend(samples: Iterable[LagSample], *, window_s: float = 30.0,
          steady_below: float = 0.5) -> Trend:
    """Fit a straight line through total lag over the last ``window_s`` seconds.

    The slope is records per second; within ``steady_below`` of zero it
    counts as steady. When shrinking, ``catch_up_s = lag / -rate``.

    >>> s = [LagSample("o", 0, committed=c, end=100, t=t, group="g") for t, c in [(0, 20), (2, 60), (4, 80)]]
    >>> trend(s)
    Trend(direction='shrinking', rate=-15.0, lag=20, catch_up_s=1.3)
    >>> trend(s[:1]).direction
    'unknown'
    """
    totals: dict[float, int] = {}
    for s in samples:
        totals[s.t] = totals.get(s.t, 0) + s.lag
    if not totals:
        return Trend("unknown", 0.0, 0, None)
    points = sorted(totals.items())
    last_t = points[-1][0]
    points = [(t, v) for t, v in points if t >= last_t - window_s]
    lag = points[-1][1]
    if len(points) < 2:
        return Trend("unknown", 0.0, lag, None)
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    rate = sum((t - mean_t) * (v - mean_v) for t, v in points) / var if var else 0.0
    rate = round(rate, 3)
    if abs(rate) < steady_below:
        return Trend("steady", rate, lag, 0.0 if lag == 0 else None)
    if rate > 0:
        return Trend("growing", rate, lag, None)
    return Trend("shrinking", rate, lag, round(lag / -rate, 1))


class LagMonitor:
    """Sample a group's lag per partition; keep the history; feed a registry.

    Parameters
    ----------
    group
        The consumer group.
    topic
        The topic; ``None`` means every topic the group has committed on.
    admin
        An :class:`~kafkalab.clients.Admin` (one is made when omitted).
    registry
        Where ``consumer_lag{group, topic, partition}`` and
        ``consumer_lag_total{group}`` gauges go (optional).
    now
        Clock in seconds.
    keep
        Samples kept per partition.

    Each :meth:`sample` makes two round trips to the broker (committed offsets,
    and ListOffsets for the high watermarks), so sample every
    second or so, not in a tight loop.
    """

    def __init__(self, group: str, topic: str | None = None, *, admin: Admin | None = None,
                 registry: Registry | None = None, now: Callable[[], float] = time.time,
                 keep: int = 600) -> None:
        self.group = group
        self.topic = topic
        self.registry = registry
        self.now = now
        self.keep = keep
        self._admin = admin
        self._own_admin = admin is None
        self.history: list[LagSample] = []

    @property
    def admin(self) -> Admin:
        if self._admin is None:
            self._admin = Admin()
        return self._admin

    def sample(self) -> list[LagSample]:
        """Read the lag of every partition now; record and return it."""
        t = self.now()
        rows = [LagSample(p.topic, p.partition, p.committed, p.end, t=t, group=self.group)
                for p in self.admin.lag(self.group, self.topic)]
        self.add(rows)
        return rows

    def add(self, rows: Iterable[LagSample]) -> None:
        """Record samples taken elsewhere (tests feed fixed ones here)."""
        rows = list(rows)
        self.history.extend(rows)
        parts = {(s.topic, s.partition) for s in self.history}
        limit = self.keep * max(1, len(parts))
        if len(self.history) > limit:
            del self.history[: len(self.history) - limit]
        if self.registry is not None and rows:
            for s in rows:
                self.registry.set("consumer_lag", s.lag, group=s.group, topic=s.topic,
                                  partition=s.partition)
            self.registry.set("consumer_lag_total", sum(s.lag for s in rows), group=self.group)

    def latest(self) -> list[LagSample]:
        """The most recent sample of each partition."""
        if not self.history:
            return []
        t = self.history[-1].t
        return [s for s in self.history if s.t == t]

    def total(self) -> int:
        return sum(s.lag for s in self.latest())

    def trend(self, window_s: float = 30.0) -> Trend:
        return trend(self.history, window_s=window_s)

    def frame(self) -> pd.DataFrame:
        """Every sample: ``time, group, topic, partition, committed, end, lag``."""
        return pd.DataFrame(
            [{"time": pd.Timestamp(s.t, unit="s", tz="UTC"), "group": s.group, "topic": s.topic,
              "partition": s.partition, "committed": s.committed, "end": s.end, "lag": s.lag}
             for s in self.history],
            columns=["time", "group", "topic", "partition", "committed", "end", "lag"])

    def close(self) -> None:
        if self._own_admin and self._admin is not None:
            self._admin.close()
            self._admin = None

    def __enter__(self) -> LagMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
