"""Count-based windows: every ``count`` records of a key, whatever their times.

"The mean of the last 15 minute-means" or "every 100 readings" are windows
measured in records, not milliseconds (quix-streams' ``count_tumbling_window``
and ``count_hopping_window``). Records of a key are numbered from 0 as they
arrive, and a window is a half-open range of those numbers, so a
:class:`~kafkalab.windows.Window` here counts records: ``Window(0, 3)`` is a
key's first three records. A new window starts every ``step`` records
(``step=count``, the default, makes them tumble; ``step=1`` gives the last
``count`` records at every record). A window is complete, and final, when its
last record arrives; event time plays no part, so no record is ever late.

>>> CountBased(3).windows_for(4)            # record #4 is in the second window of three
[Window(start_ms=3, end_ms=6)]
>>> CountBased(3, step=1).windows_for(1)    # no window starts before the first record
[Window(start_ms=0, end_ms=3), Window(start_ms=1, end_ms=4)]
>>> CountBased(3, step=1).windows_for(4)
[Window(start_ms=2, end_ms=5), Window(start_ms=3, end_ms=6), Window(start_ms=4, end_ms=7)]
>>> from kafkalab.windows import Sum, WindowedAggregation
>>> threes = WindowedAggregation(CountBased(3), Sum(), emit="final")
>>> [r.value for v in range(7) for r in threes.process("k", v, 0)]   # 0+1+2, 3+4+5
[3, 12]
"""

from __future__ import annotations

from kafkalab.windows.hopping import Hopping
from kafkalab.windows.window import Window

__all__ = ["CountBased"]

#: How many record numbers' windows a CountBased remembers.
_REMEMBERED = 1024


class CountBased:
    """Windows of ``count`` records starting every ``step`` records of a key.

    Parameters
    ----------
    count
        Records per window.
    step
        Records between window starts; ``count`` (tumbling) by default.
    """

    def __init__(self, count: int, step: int | None = None) -> None:
        step = count if step is None else step
        if count <= 0 or not 0 < step <= count:
            raise ValueError(f"a count window needs count > 0 and step between 1 and count; "
                             f"got count={count}, step={step}")
        self.count = int(count)
        self.step = int(step)
        # Record numbers are cut exactly as hopping windows cut milliseconds.
        self._grid = Hopping(self.count, self.step)
        self._recent: dict[int, tuple[Window, ...]] = {}  # windows_of's answers

    def windows_for(self, n: int) -> list[Window]:
        """The windows record number ``n`` (from 0) belongs to, oldest first."""
        windows = self._grid.windows_for(n)
        # Only the first count - 1 records have windows that would start before record 0.
        return windows if n >= self.count - 1 else [w for w in windows if w.start_ms >= 0]

    def windows_of(self, n: int) -> tuple[Window, ...]:
        """:meth:`windows_for`, remembered: what the windowing engine asks for every record.

        Keys of one stream are mostly at similar record numbers (devices
        reporting every minute), so recent answers serve the other keys: with
        ``step=1`` that is ``count`` windows not built again per record.
        """
        windows = self._recent.get(n)
        if windows is None:
            if len(self._recent) >= _REMEMBERED:
                self._recent.clear()  # keys far apart: start remembering afresh
            windows = self._recent[n] = tuple(self.windows_for(n))
        return windows

    def is_full(self, window: Window, n: int) -> bool:
        """True when record number ``n`` is the last that ``window`` takes."""
        return window.end_ms == n + 1

    def __repr__(self) -> str:
        step = "" if self.step == self.count else f", step={self.step}"
        return f"CountBased({self.count}{step})"
