"""Event time, stream time, the grace period, and when a window closes.

Records arrive out of order: a phone that was offline sends events minutes
late. A stream processor cannot wait forever, so it tracks **stream time**,
the largest event time it has seen (on one partition), and keeps a window open
until stream time passes the window's end plus a **grace period**. A record
for a window that is already closed is **late**: it is counted and sent to a
side output, never silently dropped. This is Kafka Streams' rule.

>>> wm = Watermark(grace_ms=10_000)
>>> wm.observe(65_000)         # stream time moves forward ...
65000
>>> wm.observe(30_000)         # ... never back (an out-of-order record)
65000
>>> wm.is_closed(60_000)       # window ending at 60 s stays open until 70 s
False
>>> wm.observe(70_000); wm.is_closed(60_000)
70000
True
"""

from __future__ import annotations

__all__ = ["Watermark"]

#: Stream time before any record has been seen.
NO_TIME = -(2**62)


class Watermark:
    """Stream time and the grace period of one partition.

    Parameters
    ----------
    grace_ms
        How long after a window's end it still accepts records.
    """

    def __init__(self, grace_ms: int = 0) -> None:
        if grace_ms < 0:
            raise ValueError(f"grace_ms must be >= 0; got {grace_ms}")
        self.grace_ms = int(grace_ms)
        self.stream_time = NO_TIME

    def observe(self, ts_ms: int) -> int:
        """Advance stream time with one record's event time; return stream time."""
        if ts_ms > self.stream_time:
            self.stream_time = ts_ms
        return self.stream_time

    @property
    def watermark(self) -> int:
        """Event time up to which windows are complete: stream time minus grace."""
        return self.stream_time - self.grace_ms

    def is_closed(self, end_ms: int) -> bool:
        """True when a window ending at ``end_ms`` accepts no more records."""
        return end_ms <= self.watermark

    def lateness(self, ts_ms: int) -> int:
        """How far behind stream time a record is (0 when it is the newest)."""
        return max(0, self.stream_time - ts_ms)
