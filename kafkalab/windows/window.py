"""A time window: a half-open interval ``[start, end)`` of event time, in milliseconds.

Every window type (:mod:`~kafkalab.windows.tumbling`, :mod:`~kafkalab.windows.hopping`,
:mod:`~kafkalab.windows.session`) answers one question, "which windows does an
event at time ``t`` belong to?", with :class:`Window` objects.

>>> w = Window(60_000, 120_000)
>>> w.contains(60_000), w.contains(120_000)
(True, False)
>>> w.size_ms
60000
>>> w.label()
'1970-01-01T00:01:00Z/1970-01-01T00:02:00Z'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["Window", "WindowSpec", "iso", "window_start", "window_starts"]


def iso(ms: int) -> str:
    """Milliseconds since the epoch as an ISO-8601 UTC string (readable window labels).

    >>> iso(1_700_000_000_000)
    '2023-11-14T22:13:20Z'
    """
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{ms % 1000:03d}Z" if ms % 1000 else "Z")


def window_start(ts_ms: int, size_ms: int) -> int:
    """The start of the epoch-aligned window of ``size_ms`` that holds ``ts_ms``.

    The one place the package cuts time into slices: tumbling windows start
    here, hopping windows step back from here, and the log summaries and IoT
    minute means are tumbling windows. Floor division floors negative times
    too (before 1970), so ``-1`` belongs to the window that ends at 0.

    >>> window_start(125_000, 60_000), window_start(120_000, 60_000), window_start(-1, 60_000)
    (120000, 120000, -60000)
    """
    return (ts_ms // size_ms) * size_ms


def window_starts(times: Sequence[int], size_ms: int) -> list[int]:
    """:func:`window_start` of each time: the same cut, for a batch of records at once.

    >>> window_starts([125_000, 120_000, -1], 60_000)
    [120000, 120000, -60000]
    """
    return [(t // size_ms) * size_ms for t in times]


class Window(NamedTuple):
    """``[start_ms, end_ms)``: an event at ``end_ms`` belongs to the *next* window.

    A NamedTuple, so windows sort by start and serve as dictionary keys.
    """

    start_ms: int
    end_ms: int

    @property
    def size_ms(self) -> int:
        return self.end_ms - self.start_ms

    def contains(self, ts_ms: int) -> bool:
        return self.start_ms <= ts_ms < self.end_ms

    def label(self) -> str:
        return f"{iso(self.start_ms)}/{iso(self.end_ms)}"


class WindowSpec:
    """Base class of the fixed-size window types: maps an event time to its windows.

    Subclasses set ``size_ms`` and implement :meth:`placements`, the one
    rule of which windows hold which time; :meth:`windows_for` asks it about one.
    """

    size_ms: int

    def placements(self, times: Sequence[int]) -> tuple[Sequence[int], list[int]]:
        """The windows of many times at once: ``(indices, starts)``, where window
        ``starts[j]`` holds ``times[indices[j]]``; in the order of the times, each
        time's windows oldest first. With one window per time, ``indices[j] == j``."""
        raise NotImplementedError

    def windows_for(self, ts_ms: int) -> list[Window]:
        """The windows an event at ``ts_ms`` belongs to, oldest first."""
        size = self.size_ms
        return [Window(s, s + size) for s in self.placements((ts_ms,))[1]]
