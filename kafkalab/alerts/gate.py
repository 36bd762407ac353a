"""The alert gate: turn "does the condition hold?" answers into fired / cleared / suppressed.

Rules only *detect*. Whether a page goes out is decided here, once for the
whole course, per key (a rule and a service, a device and a sensor type, a
metric):

* **hold time** (``for_s``): the condition must hold that long before it
  fires; it counts from the answer at which it started to hold, so one spike
  is not an incident;
* **fired / cleared**: one ``fired`` when the condition starts to hold, one
  ``cleared`` when it stops, nothing in between;
* **cool-down** (``cooldown_s``): after firing, a key does not fire again for
  that long. A condition that comes back meanwhile is ``suppressed`` and
  counted; if it still holds when the cool-down ends it fires then (a
  flapping metric pages once, a lasting incident is never muted), and the
  ``fired`` event says how many repeats were held back;
* **hysteresis**: :meth:`Gate.observe` judges a value against a
  :class:`~kafkalab.alerts.Threshold` and the side the key is armed on, and a
  value past the other limit while armed is a new excursion.

Time is whatever clock the caller goes by: the records' own timestamps (event
time, so a replay raises the same alerts) passed as ``now``, or the injectable
``clock``.

>>> gate = Gate(for_s=2, cooldown_s=10)
>>> for t, lag in enumerate([0, 500, 0, 150, 150, 150, 20] + [150] * 9):
...     event = gate.update("lag", lag >= 100, now=t)
...     if event:
...         print(t, event.kind, event.suppressed)
5 fired 0
6 cleared 0
9 suppressed 0
15 fired 1
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from kafkalab.alerts.threshold import Threshold

__all__ = ["Gate", "GateEvent", "GateStats"]


@dataclass(frozen=True)
class GateEvent:
    """What the gate decided for one key: ``fired``, ``suppressed`` or ``cleared``.

    ``state`` is the excursion (``True``, or a side such as ``"high"``);
    ``suppressed`` is, on ``fired``, how many onsets the cool-down held back
    since the key last fired.
    """

    kind: str
    key: Hashable
    t: float
    state: Any = True
    suppressed: int = 0


@dataclass
class GateStats:
    fired: int = 0
    suppressed: int = 0
    cleared: int = 0


@dataclass
class _Key:
    state: Any = None            # the excursion in force; None: not active
    pending: Any = None          # an excursion waiting out its hold time
    since: float = 0.0           # ... since this time
    muted: bool = False          # active, but not yet fired because of the cool-down
    last_fired: float = -math.inf
    held: int = 0                # onsets suppressed since the last firing


@dataclass
class Gate:
    """Per key: hold time, fire once, clear once, cool-down with a count, hysteresis.

    Parameters
    ----------
    for_s
        Seconds a condition must hold before it fires (0: at once).
    cooldown_s
        Seconds after firing during which the same key does not fire again.
    clock
        Seconds, used when :meth:`update` gets no ``now``.
    """

    for_s: float = 0.0
    cooldown_s: float = 0.0
    clock: Callable[[], float] = time.time
    stats: GateStats = field(default_factory=GateStats)

    def __post_init__(self) -> None:
        if self.for_s < 0 or self.cooldown_s < 0:
            raise ValueError(f"for_s and cooldown_s are durations >= 0; got {self.for_s}, "
                             f"{self.cooldown_s}")
        self._keys: dict[Hashable, _Key] = {}

    def update(self, key: Hashable, holds: Any, now: float | None = None) -> GateEvent | None:
        """Tell the gate whether ``key``'s condition holds at ``now``; return what that changed.

        ``holds`` is a truth value, or a string naming the excursion
        (``"high"``/``"low"``): a different label while active is a new excursion.
        """
        now = self.clock() if now is None else now
        return self._update(key, holds, now, self.for_s)

    def _update(self, key: Hashable, holds: Any, now: float, for_s: float) -> GateEvent | None:
        k = self._keys.setdefault(key, _Key())
        # A label names the excursion; anything else is a truth value (numpy's too).
        state = (holds or None) if isinstance(holds, str) else (True if holds else None)
        if state is None:
            k.pending = None
            if k.state is None:
                return None
            k.state, k.muted = None, False
            return self._event("cleared", key, now, None)
        if state == k.state:
            if k.muted and self._cooled(k, now):
                # Came back within the cool-down and never went away: now that the
                # cool-down is over it is a real incident and pages after all.
                return self._fire(k, key, now)
            return None
        # A new excursion: nothing was active, or the value jumped to the other side.
        if k.pending != state:
            k.pending, k.since = state, now  # the hold time counts from here
        if now - k.since < for_s:
            return None
        k.pending, k.state = None, state
        if self._cooled(k, now):
            return self._fire(k, key, now)
        k.muted = True
        k.held += 1
        return self._event("suppressed", key, now, state)

    def observe(self, key: Hashable, value: float, threshold: Threshold,
                now: float | None = None) -> GateEvent | None:
        """:meth:`update` with the side of ``threshold`` that ``value`` is on (hysteresis)."""
        return self.update(key, threshold.side(value, self.state(key)), now)

    def trigger(self, key: Hashable, now: float | None = None) -> GateEvent | None:
        """A momentary condition (a matching log line): ``fired`` or ``suppressed``, or ``None``.

        It holds for an instant only, so nothing stays active and no hold time
        applies; repeats within the cool-down are counted.
        """
        now = self.clock() if now is None else now
        event = self._update(key, True, now, for_s=0.0)  # an instant cannot be held a while
        k = self._keys[key]
        k.state, k.muted = None, False  # over at once: no "cleared" to report
        return event

    def state(self, key: Hashable) -> Any:
        """The excursion in force for ``key`` (``None`` when not active)."""
        k = self._keys.get(key)
        return None if k is None else k.state

    def active(self, key: Hashable) -> bool:
        """Whether ``key`` has fired (or been suppressed) and not cleared since."""
        return self.state(key) is not None

    def _cooled(self, k: _Key, now: float) -> bool:
        # Rounded: times in seconds made from millisecond timestamps carry float
        # noise, and exactly one cool-down later must count as over.
        return round(now - k.last_fired, 6) >= self.cooldown_s

    def _fire(self, k: _Key, key: Hashable, now: float) -> GateEvent:
        held, k.held, k.muted, k.last_fired = k.held, 0, False, now
        return self._event("fired", key, now, k.state, held)

    def _event(self, kind: str, key: Hashable, now: float, state: Any,
               suppressed: int = 0) -> GateEvent:
        setattr(self.stats, kind, getattr(self.stats, kind) + 1)
        return GateEvent(kind, key, now, state, suppressed)
