"""Hopping windows: fixed size, starting every ``advance_ms``; they overlap.

A 5-minute window advancing by 1 minute gives a "last five minutes" figure
once a minute. An event belongs to ``size_ms / advance_ms`` windows (when the
advance divides the size). Aligned to the epoch, like Kafka Streams'
``TimeWindows.ofSizeWithNoGrace(size).advanceBy(advance)``.

>>> h = Hopping(size_ms=3_000, advance_ms=1_000)
>>> h.windows_for(2_500)
[Window(start_ms=0, end_ms=3000), Window(start_ms=1000, end_ms=4000), Window(start_ms=2000, end_ms=5000)]
>>> Hopping(1_000, 2_000)
Traceback (most recent call last):
...
ValueError: advance_ms (2000) must be between 1 and size_ms (1000); a bigger advance would leave gaps
"""

from __future__ import annotations

from kafkalab.windows.window import Window, WindowSpec, window_start

__all__ = ["Hopping"]


class Hopping(WindowSpec):
    """Windows of ``size_ms`` that start every ``advance_ms``.

    ``Hopping(size, size)`` is the same as ``Tumbling(size)``.
    """

    def __init__(self, size_ms: int = 300_000, advance_ms: int = 60_000) -> None:
        if not 0 < advance_ms <= size_ms:
            raise ValueError(f"advance_ms ({advance_ms}) must be between 1 and size_ms "
                             f"({size_ms}); a bigger advance would leave gaps")
        self.size_ms = int(size_ms)
        self.advance_ms = int(advance_ms)

    def windows_for(self, ts_ms: int) -> list[Window]:
        # The latest window containing ts starts at the last multiple of the
        # advance at or before ts; earlier ones step back while they still reach ts.
        last = window_start(ts_ms, self.advance_ms)
        starts = range(last, ts_ms - self.size_ms, -self.advance_ms)
        return [Window(s, s + self.size_ms) for s in reversed(starts)]

    def __repr__(self) -> str:
        return f"Hopping(size_ms={self.size_ms}, advance_ms={self.advance_ms})"
