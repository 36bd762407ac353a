"""A rolling z-score: the simplest honest baseline for anomaly detection.

Keep the last ``window`` values of a metric; a new value's score is how many
standard deviations it is from their mean, ``|x - mean| / std``. A score above
3 is the classic "three sigma" alert. It uses river's detector interface,
``score_one`` then ``learn_one`` (score *before* learn, so a value is never
judged against itself).

>>> det = RollingZScore(window=20)
>>> for v in [100, 102, 98, 101, 99, 100, 103, 97]:
...     det.learn_one({"value": v})
>>> round(det.score_one({"value": 101}), 2), round(det.score_one({"value": 140}), 1)
(0.5, 20.0)
>>> det.expected_range()
(94.0, 106.0)
"""

from __future__ import annotations

import collections
import math

from river.base import AnomalyDetector

__all__ = ["RollingZScore"]


class RollingZScore(AnomalyDetector):
    """``|x - mean| / std`` over the last ``window`` values of one feature.

    Parameters
    ----------
    window
        How many past values make the baseline.
    min_history
        Below this many values the score is 0 (not enough to judge).
    k
        Width of :meth:`expected_range` in standard deviations (the alert threshold).
    feature
        Which key of ``x`` to read; ``None`` means ``x`` has exactly one.
    """

    def __init__(self, window: int = 30, min_history: int = 5, k: float = 3.0,
                 feature: str | None = None) -> None:
        self.window = window
        self.min_history = min_history
        self.k = k
        self.feature = feature
        self._values: collections.deque[float] = collections.deque(maxlen=window)
        # (mean, std) of _values until the next learn_one: a pipeline asks for
        # the score and the expected range of the same history.
        self._stats_of: tuple[float, float] | None = None

    def _value(self, x: dict) -> float:
        if self.feature is not None:
            return float(x[self.feature])
        if len(x) != 1:
            raise ValueError(f"RollingZScore reads one feature; got {sorted(x)}: pass feature=")
        return float(next(iter(x.values())))

    def _stats(self) -> tuple[float, float]:
        if self._stats_of is not None:
            return self._stats_of
        n = len(self._values)
        mean = sum(self._values) / n
        var = sum([(v - mean) ** 2 for v in self._values]) / max(1, n - 1)
        # A perfectly flat history has std 0; a floor keeps scores finite
        # (1 % of the mean, or a tiny absolute amount for a flat zero).
        self._stats_of = mean, max(math.sqrt(var), 0.01 * abs(mean), 1e-9)
        return self._stats_of

    def learn_one(self, x: dict) -> None:
        self._values.append(self._value(x))
        self._stats_of = None

    def score_one(self, x: dict) -> float:
        if len(self._values) < self.min_history:
            return 0.0
        mean, std = self._stats()
        return abs(self._value(x) - mean) / std

    def expected_range(self) -> tuple[float, float]:
        """``mean ± k·std`` of the baseline: where a normal value is expected."""
        if not self._values:
            return (-math.inf, math.inf)
        mean, std = self._stats()
        return (round(mean - self.k * std, 2), round(mean + self.k * std, 2))
