"""river's HalfSpaceTrees on features scaled to known bounds.

Half-space trees split the *unit* cube at random and score a point by how
little mass (how few recent points) share its leaves. Feed them raw numbers
such as revenue in the thousands and every point lands in the same corner:
everything scores the same and nothing is found. So each feature is first
scaled to ``[0, 1]`` with bounds known in advance (and clipped), which is the
rule river's own anomaly checks state. Score before learn; a fixed seed.

>>> det = ScaledHalfSpaceTrees({"value": (0, 200)}, window_size=20, seed=42)
>>> for i in range(60):
...     det.learn_one({"value": 100 + (i % 7)})
>>> det.score_one({"value": 103}) < det.score_one({"value": 190})
True
"""

from __future__ import annotations

import collections

from river import anomaly
from river.base import AnomalyDetector

__all__ = ["ScaledHalfSpaceTrees", "scale"]


def scale(x: dict, bounds: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Each feature mapped from its ``(low, high)`` bounds onto ``[0, 1]``, clipped.

    >>> scale({"a": 50, "b": 500}, {"a": (0, 100), "b": (0, 100)})
    {'a': 0.5, 'b': 1.0}
    """
    out = {}
    for name, (low, high) in bounds.items():
        v = (float(x[name]) - low) / (high - low)
        out[name] = min(1.0, max(0.0, v))
    return out


class ScaledHalfSpaceTrees(AnomalyDetector):
    """HalfSpaceTrees with scaling to known ``bounds`` in front.

    Parameters
    ----------
    bounds
        ``{feature: (low, high)}``: the range a feature can take (values
        outside are clipped to it).
    n_trees, height, window_size, seed
        Passed to :class:`river.anomaly.HalfSpaceTrees`. ``window_size`` is
        how many points make a reference window; the first window scores 0.
    """

    def __init__(self, bounds: dict[str, tuple[float, float]], *, n_trees: int = 25,
                 height: int = 6, window_size: int = 30, seed: int = 42) -> None:
        for name, (low, high) in bounds.items():
            if not high > low:
                raise ValueError(f"bounds of {name!r}: high ({high}) must exceed low ({low})")
        self.bounds = bounds
        self.n_trees = n_trees
        self.height = height
        self.window_size = window_size
        self.seed = seed
        self.model = anomaly.HalfSpaceTrees(n_trees=n_trees, height=height,
                                            window_size=window_size, seed=seed)
        self._recent: collections.deque[float] = collections.deque(maxlen=window_size)

    def learn_one(self, x: dict) -> None:
        self.model.learn_one(scale(x, self.bounds))
        self._recent.append(float(next(iter(x.values()))))

    def score_one(self, x: dict) -> float:
        return self.model.score_one(scale(x, self.bounds))

    def expected_range(self) -> tuple[float, float]:
        """The 5th to 95th percentile of the recent values of the first feature."""
        if not self._recent:
            low, high = next(iter(self.bounds.values()))
            return (float(low), float(high))
        values = sorted(self._recent)
        lo = values[int(0.05 * (len(values) - 1))]
        hi = values[int(round(0.95 * (len(values) - 1)))]
        return (round(lo, 2), round(hi, 2))
