"""Checkers for week 6: a custom aggregator, and a grace period chosen from data.

>>> from kafkalab import windows
>>> class Mean(windows.Aggregator):
...     def initialize(self): return [0, 0]
...     def add(self, acc, order): return [acc[0] + order["total"], acc[1] + 1]
...     def result(self, acc): return round(acc[0] / acc[1], 2) if acc[1] else None
...     def merge(self, a, b): return [a[0] + b[0], a[1] + b[1]]
>>> print(check_custom_aggregate(Mean))
Exercise 1: a custom aggregate (average order value): 5 of 5 checks passed
  ✔ it subclasses windows.Aggregator
  ✔ initialize() gives a JSON accumulator
  ✔ an empty window gives None
  ✔ six orders average 107.04
  ✔ merge() of two halves equals the whole
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Sequence
from typing import Any

from kafkalab.exercises import Result, guard_checkers
from kafkalab.windows import Aggregator, Count, Tumbling, WindowedAggregation

__all__ = ["check_custom_aggregate", "check_grace_period", "late_share", "lateness_ms"]

_ORDERS = [{"total": t} for t in (120.0, 80.5, 99.5, 300.0, 0.0, 42.25)]


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 2)


def check_custom_aggregate(cls: type) -> Result:
    """Exercise 1: ``AverageOrderValue``, the mean ``total`` of a window's orders.

    It must subclass :class:`kafkalab.windows.Aggregator`, give ``None`` for
    an empty window, keep a JSON accumulator (the processor
    checkpoints it), not change the accumulator it is given, and merge.
    """
    r = Result("Exercise 1: a custom aggregate (average order value)")
    if not r.check(isinstance(cls, type) and issubclass(cls, Aggregator),
                   "it subclasses windows.Aggregator",
                   f"{cls!r} is not a subclass of windows.Aggregator: write "
                   "`class AverageOrderValue(windows.Aggregator):`"):
        return r.done()
    agg = cls()
    try:
        acc = agg.initialize()
        json.dumps(acc)
        r.check(True, "initialize() gives a JSON accumulator", "")
    except Exception as exc:  # noqa: BLE001 - the learner's code: say what happened
        r.check(False, "", f"initialize() failed or is not JSON ({type(exc).__name__}: {exc}); "
                "use numbers, lists or dicts")
        return r.done()
    try:
        empty = agg.result(acc)
        r.check(empty is None, "an empty window gives None",
                f"an empty window gave {empty!r}: it should give None (there is no average yet)")
    except Exception as exc:  # noqa: BLE001
        r.check(False, "", f"result() of an empty window raised {type(exc).__name__}: an empty "
                "window (no orders yet) should give None")
    try:
        whole = agg.initialize()
        for order in _ORDERS:
            before = copy.deepcopy(whole)
            new = agg.add(whole, order)
            if whole != before:
                r.check(False, "", "add() changed the accumulator it was given: return a new "
                        "one (a checkpoint may still hold the old one)")
                return r.done()
            whole = json.loads(json.dumps(new))
        got = agg.result(whole)
        want = _mean([o["total"] for o in _ORDERS])
        r.check(isinstance(got, (int, float)) and math.isclose(got, want, abs_tol=0.006),
                f"six orders average {want}",
                f"six orders with totals {[o['total'] for o in _ORDERS]} gave {got!r}; "
                f"expected {want}: the sum of the totals divided by the number of orders")
    except Exception as exc:  # noqa: BLE001
        r.check(False, "", f"add() or result() raised {type(exc).__name__}: {exc}")
        return r.done()
    try:
        left, right = agg.initialize(), agg.initialize()
        for o in _ORDERS[:2]:
            left = agg.add(left, o)
        for o in _ORDERS[2:]:
            right = agg.add(right, o)
        merged = agg.result(agg.merge(left, right))
        same = (merged == agg.result(whole) or isinstance(merged, float)
                and math.isclose(merged, agg.result(whole), abs_tol=1e-9))
        r.check(same, "merge() of two halves equals the whole",
                f"merge() of two halves gave {merged!r} but the whole gives "
                f"{agg.result(whole)!r}: add the sums and the counts")
    except NotImplementedError:
        r.check(False, "", "merge() is missing: session windows need it; combine two "
                "accumulators into one")
    except Exception as exc:  # noqa: BLE001
        r.check(False, "", f"merge() raised {type(exc).__name__}: {exc}")
    return r.done()


def lateness_ms(timestamps: Sequence[int]) -> list[int]:
    """How far behind stream time (the largest timestamp so far) each record arrived.

    >>> lateness_ms([1000, 3000, 2500, 4000, 1000])
    [0, 0, 500, 0, 3000]
    """
    out, high = [], None
    for ts in timestamps:
        high = ts if high is None else max(high, ts)
        out.append(high - ts)
    return out


def late_share(timestamps: Sequence[int], grace_ms: int, size_ms: int = 60_000) -> float:
    """Share of records a tumbling window with ``grace_ms`` would report late.

    >>> late_share([0, 61_000, 30_000], grace_ms=0, size_ms=60_000)
    0.3333333333333333
    """
    agg = WindowedAggregation(Tumbling(size_ms), Count(), grace_ms=grace_ms)
    for ts in timestamps:
        agg.process("k", None, ts)
    return agg.late_count / len(timestamps) if timestamps else 0.0


def check_grace_period(grace_ms: Any, timestamps: Sequence[int], *, max_late_share: float = 0.01,
                       size_ms: int = 60_000) -> Result:
    """Exercise 2: a grace period that loses at most 1 % of records, and waits no longer than needed.

    "No longer than needed": at most the largest lateness seen plus one
    window, since beyond that no record would gain anything, while every
    final result would come out later.
    """
    r = Result("Exercise 2: choose a grace period")
    if not r.check(isinstance(grace_ms, int) and not isinstance(grace_ms, bool) and grace_ms >= 0,
                   f"GRACE_MS is a whole number of milliseconds ({grace_ms})",
                   f"GRACE_MS should be a non-negative int of milliseconds; got {grace_ms!r}"):
        return r.done()
    share = late_share(timestamps, grace_ms, size_ms)
    r.check(share <= max_late_share,
            f"{share:.2%} of records would be late (at most {max_late_share:.0%})",
            f"with {grace_ms} ms of grace {share:.2%} of records are late, more than "
            f"{max_late_share:.0%}: read the lateness plot again and wait longer")
    worst = max(lateness_ms(timestamps), default=0)
    r.check(grace_ms <= worst + size_ms,
            f"results are not delayed for nothing (worst lateness {worst} ms)",
            f"{grace_ms} ms is far more than needed: no record is more than {worst} ms late, "
            "and every final result waits for the grace period to pass")
    return r.done()


# An exercise cell not written yet leaves its answer None: say "not done yet" in one line.
guard_checkers(globals())
