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

from collections.abc import Sequence

from kafkalab.windows.window import Window, WindowSpec, window_start, window_starts

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

    def placements(self, times: Sequence[int]) -> tuple[Sequence[int], list[int]]:
        # The latest window containing t starts at the last multiple of the
        # advance at or before t; earlier ones step back while they still reach t
        # (at most ceil(size / advance) of them).
        size, advance = self.size_ms, self.advance_ms
        lasts = window_starts(times, advance)
        backs = range(-(-size // advance) * advance - advance, -1, -advance)  # oldest first
        if size % advance == 0:
            # The advance divides the size: every time is in exactly size / advance
            # windows (the oldest starts size - advance before the last, and
            # last > t - advance), so no test per window.
            return ([i for i in range(len(times)) for _ in backs],
                    [last - back for last in lasts for back in backs])
        pairs = [(i, last - back) for i, (t, last) in enumerate(zip(times, lasts, strict=True))
                 for back in backs if last - back > t - size]
        return [i for i, _ in pairs], [s for _, s in pairs]

    def windows_for(self, ts_ms: int) -> list[Window]:
        # placements() for one time without the lists (process() calls it for every
        # record); tests/windows/test_batch.py checks that the two agree.
        last = window_start(ts_ms, self.advance_ms)
        return [Window(s, s + self.size_ms)
                for s in reversed(range(last, ts_ms - self.size_ms, -self.advance_ms))]

    def __repr__(self) -> str:
        return f"Hopping(size_ms={self.size_ms}, advance_ms={self.advance_ms})"
