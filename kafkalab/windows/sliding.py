"""Sliding windows: the last ``size_ms`` up to each event, per key.

"20 errors within 10 seconds" asks, at every error, how many errors the
service logged in the 10 seconds up to it. Tumbling windows cannot answer it
(a burst split by a minute boundary hides in two half-full windows); a window
that slides with the events can. Each event at ``t`` ends a window of its own,
``[t - size_ms + 1, t + 1)``: the key's events less than ``size_ms`` before it,
and itself. That is pandas' ``rolling("10s")`` on a time index.

Windows exist only where an event ends them, so an event of a key that was
quiet for a while starts from an empty window. An event that arrives out of
order also joins the later windows that hold its time, as long as they are
open (end + grace not yet passed). Kafka Streams' ``SlidingWindows`` and
quix-streams' sliding windows also keep a window *after* each event; a rolling
figure per event, which is what alert rules need, does without them.

>>> s = Sliding(10_000)
>>> s.window_for(26_000)       # the 10 s up to and including 26 s
Window(start_ms=16001, end_ms=26001)
>>> s.window_for(26_000).contains(16_000), s.window_for(26_000).contains(16_001)
(False, True)
>>> from kafkalab.windows import Count, WindowedAggregation
>>> errors = WindowedAggregation(Sliding(10_000), Count(), closing="key")
>>> [errors.process("api", None, ts)[-1].value for ts in (0, 4_000, 12_000)]  # errors in 10 s
[1, 2, 2]
>>> Sliding(0)
Traceback (most recent call last):
...
ValueError: a sliding window needs size_ms > 0; got 0
"""

from __future__ import annotations

from kafkalab.windows.window import Window

__all__ = ["Sliding"]


class Sliding:
    """A window of ``size_ms`` ending at each event of a key.

    Parameters
    ----------
    size_ms
        How far back from each event the window reaches, in milliseconds.
    """

    def __init__(self, size_ms: int = 60_000) -> None:
        if size_ms <= 0:
            raise ValueError(f"a sliding window needs size_ms > 0; got {size_ms}")
        self.size_ms = int(size_ms)

    def window_for(self, ts_ms: int) -> Window:
        """The window that an event at ``ts_ms`` ends."""
        return Window(ts_ms - self.size_ms + 1, ts_ms + 1)

    def forgettable(self, ts_ms: int, stream_time: int, grace_ms: int) -> bool:
        """True when an event at ``ts_ms`` can be in no open window any more.

        A new window is open only if it ends after ``stream_time - grace_ms``,
        and it reaches back ``size_ms``: older events will never be counted.
        """
        return ts_ms + self.size_ms + grace_ms <= stream_time

    def __repr__(self) -> str:
        return f"Sliding(size_ms={self.size_ms})"
