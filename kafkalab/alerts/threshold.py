"""Limits with hysteresis: fire past one level, clear only back past another.

A rule "alert above 85" fires again and again when a value hovers around 85
(86, 84.5, 85.3, 84.9, ...). Hysteresis arms the alarm above ``high`` and
clears it only once the value falls below ``clear`` (lower than ``high``), so
the hovering is one excursion. A lower limit (``low``, ``clear_low``) works
the same way downwards, and a value past the *other* limit while armed is a
new excursion, not the same one.

:meth:`Threshold.side` is the whole rule: given a value and the side an alarm
is armed on, it says which side (``"high"``, ``"low"``) is in force, or
``None``. A :class:`~kafkalab.alerts.Gate` keeps the armed side per key.

>>> th = Threshold(high=85, clear=80)
>>> armed = None
>>> for v in [84, 86, 84.5, 85.3, 79, 83]:
...     armed = th.side(v, armed)
...     print(v, armed)
84 None
86 high
84.5 high
85.3 high
79 None
83 None
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Threshold"]


@dataclass(frozen=True)
class Threshold:
    """Fire above ``high`` (or below ``low``); clear only back past ``clear`` (``clear_low``).

    ``clear`` defaults to ``high`` (no hysteresis), ``clear_low`` to ``low``.
    ``inclusive`` fires at the limit itself too (``>=``, "at or above"),
    rather than only past it.
    """

    high: float = math.inf
    clear: float | None = None
    low: float = -math.inf
    clear_low: float | None = None
    inclusive: bool = False

    def __post_init__(self) -> None:
        if self.clear is not None and self.clear > self.high:
            raise ValueError(f"clear ({self.clear}) must not exceed high ({self.high}): "
                             "the alarm would clear while still above the limit")
        if self.clear_low is not None and self.clear_low < self.low:
            raise ValueError(f"clear_low ({self.clear_low}) must not be below low ({self.low})")

    @property
    def clear_high(self) -> float:
        return self.high if self.clear is None else self.clear

    @property
    def clear_lower(self) -> float:
        return self.low if self.clear_low is None else self.clear_low

    def side(self, value: float, armed: str | None = None) -> str | None:
        """``"high"``, ``"low"`` or ``None``: the excursion in force after ``value``.

        ``armed`` is the side in force before it (``None``: not armed).
        """
        if self.inclusive:
            past = "high" if value >= self.high else "low" if value <= self.low else None
        else:
            past = "high" if value > self.high else "low" if value < self.low else None
        if past is None and armed is not None and not self.clear_lower < value < self.clear_high:
            return armed  # not back well inside yet: the same excursion goes on
        return past

    def limit(self, side: str) -> float:
        """The level an excursion on ``side`` crossed."""
        return self.high if side == "high" else self.low
