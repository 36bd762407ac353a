"""Session windows: a burst of activity per key, ended by a gap of inactivity.

Unlike tumbling and hopping windows, sessions are not fixed in advance: each
key's events that are less than ``gap_ms`` apart form one session, and one
event can join two sessions into one (so session aggregates must be
*mergeable*, see :meth:`~kafkalab.windows.aggregators.Aggregator.merge`).

A session's window is ``[first event, last event]``, written here as
``Window(first, last + 1)`` so that it is half-open like the others. It closes
once stream time passes its last event + ``gap_ms`` + the grace period.

>>> s = Session(gap_ms=30_000)
>>> sessions = []
>>> s.place(sessions, 0)           # first click: a new session
(Window(start_ms=0, end_ms=1), [])
>>> sessions = [Window(0, 1)]
>>> s.place(sessions, 20_000)      # 20 s later: extends it
(Window(start_ms=0, end_ms=20001), [Window(start_ms=0, end_ms=1)])
>>> s.place([Window(0, 1), Window(50_000, 50_001)], 25_000)  # bridges two sessions
(Window(start_ms=0, end_ms=50001), [Window(start_ms=0, end_ms=1), Window(start_ms=50000, end_ms=50001)])
"""

from __future__ import annotations

from collections.abc import Sequence

from kafkalab.windows.window import Window

__all__ = ["Session"]


class Session:
    """Sessions of one key separated by at least ``gap_ms`` of inactivity."""

    def __init__(self, gap_ms: int = 300_000) -> None:
        if gap_ms <= 0:
            raise ValueError(f"a session window needs gap_ms > 0; got {gap_ms}")
        self.gap_ms = int(gap_ms)

    def place(self, sessions: Sequence[Window], ts_ms: int) -> tuple[Window, list[Window]]:
        """Where an event at ``ts_ms`` goes, given the key's open ``sessions``.

        Returns the session the event ends up in and the existing sessions that
        it replaces (merged into it; empty when the event starts a new one).
        """
        touching = [w for w in sessions
                    if w.start_ms - self.gap_ms <= ts_ms <= w.end_ms - 1 + self.gap_ms]
        start = min([ts_ms] + [w.start_ms for w in touching])
        end = max([ts_ms + 1] + [w.end_ms for w in touching])
        return Window(start, end), sorted(touching)

    def close_time(self, window: Window) -> int:
        """Event time after which no event can extend ``window`` any more."""
        return window.end_ms - 1 + self.gap_ms

    def __repr__(self) -> str:
        return f"Session(gap_ms={self.gap_ms})"
