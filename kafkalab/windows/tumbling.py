"""Tumbling windows: fixed size, no gaps, no overlaps; each event is in exactly one.

"Orders per minute" is a tumbling window of 60 000 ms (the course brief's
``60000`` window). Windows are aligned to the epoch, as in Kafka Streams, so
every processor, and pandas' ``resample("1min")``, cuts time at the same places.

>>> t = Tumbling(60_000)
>>> t.windows_for(125_000)
[Window(start_ms=120000, end_ms=180000)]
>>> t.windows_for(120_000)    # the start belongs to the window, the end does not
[Window(start_ms=120000, end_ms=180000)]
>>> Tumbling(0)
Traceback (most recent call last):
...
ValueError: a tumbling window needs size_ms > 0; got 0
"""

from __future__ import annotations

from collections.abc import Sequence

from kafkalab.windows.window import Window, WindowSpec, window_start, window_starts

__all__ = ["Tumbling"]


class Tumbling(WindowSpec):
    """Back-to-back windows of ``size_ms`` (default one minute).

    Parameters
    ----------
    size_ms
        Window length in milliseconds.
    """

    def __init__(self, size_ms: int = 60_000) -> None:
        if size_ms <= 0:
            raise ValueError(f"a tumbling window needs size_ms > 0; got {size_ms}")
        self.size_ms = int(size_ms)

    def placements(self, times: Sequence[int]) -> tuple[Sequence[int], list[int]]:
        return range(len(times)), window_starts(times, self.size_ms)

    def windows_for(self, ts_ms: int) -> list[Window]:
        # placements() for one time, without the lists (process() calls it for every record)
        start = window_start(ts_ms, self.size_ms)
        return [Window(start, start + self.size_ms)]

    def __repr__(self) -> str:
        return f"Tumbling(size_ms={self.size_ms})"
