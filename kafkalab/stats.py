"""Percentiles, one definition for every latency the course reports.

Log windows (week 5), order analytics (week 3), metric histograms and load
tests (week 8) all summarise durations as p50 / p95 / p99; they all call
:func:`percentile`, so the same numbers give the same p99 everywhere.

>>> percentile([10, 20, 30, 40], 50), percentile([10, 20, 30, 40], 95)
(25.0, 38.5)
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["percentile"]


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile of ``values``, ``q`` from 0 to 100, or ``None`` if there are none.

    Linear interpolation between the two nearest ranks: numpy's default
    (``numpy.percentile(values, q)``) and pandas' ``quantile(q / 100)``, so a
    learner can check any number the course prints with either. ``q`` is on
    the 0-100 scale, as in the names p50 / p99.

    No values give ``None``, not ``0`` or ``NaN``: an empty window has no
    latency, a ``0`` would read as "instant", and ``NaN`` silently fails every
    comparison (``nan > limit`` is False) and is not valid JSON. Callers say
    what "no data" means for them (the Prometheus exposition writes ``NaN``,
    as Prometheus does for an empty summary).

    Parameters
    ----------
    values : iterable of float
        In any order; they are sorted here.
    q : float
        0 is the minimum, 50 the median, 100 the maximum.

    Returns
    -------
    float or None

    Raises
    ------
    ValueError
        When ``q`` is outside 0-100 (``0.99`` meant as p99 is the usual slip).

    Examples
    --------
    >>> percentile([], 99) is None
    True
    >>> percentile([7], 99)
    7.0
    >>> percentile([3, 1, 2], 0), percentile([3, 1, 2], 100)
    (1.0, 3.0)
    """
    if not 0 <= q <= 100:
        raise ValueError(f"q is a percentage from 0 to 100; got {q!r}")
    ordered = sorted(values)
    if not ordered:
        return None
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (pos - low))
