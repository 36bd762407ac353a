"""Aggregators: how the records of one window become one value.

Every aggregator has the same three verbs, as in Kafka Streams'
``aggregate(initializer, aggregator)``:

* ``initialize()`` returns the empty accumulator of a new window;
* ``add(acc, value)`` returns the accumulator with one more record in it;
* ``result(acc)`` turns the accumulator into the value emitted downstream;

``add_all(acc, values)`` adds several records of one window at once, in
order: what a batch of records does. It must equal ``add`` one at a time (the
tests compare them); Count and Sum do it in C-level loops.

and ``merge(a, b)`` combines two accumulators (needed when two session
windows join, and to check a parallel run against a serial one).

Accumulators are plain JSON values (numbers, lists, dicts with string keys),
because the stream processor checkpoints them to Kafka to survive a restart.

>>> agg = Mean("total")
>>> acc = agg.initialize()
>>> for order in [{"total": 10}, {"total": 30}]:
...     acc = agg.add(acc, order)
>>> agg.result(acc)
20.0
>>> Fields(orders=Count(), revenue=Sum("total")).result(
...     Fields(orders=Count(), revenue=Sum("total")).add(
...         Fields(orders=Count(), revenue=Sum("total")).initialize(), {"total": 5}))
{'orders': 1, 'revenue': 5}
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any

__all__ = [
    "Aggregator",
    "Collect",
    "Count",
    "CountBy",
    "CountDistinct",
    "Fields",
    "Max",
    "Mean",
    "Min",
    "Reduce",
    "Sum",
    "field_getter",
]


def field_getter(field: str | Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """A function reading ``field`` from a record value (a dict key, a callable, or the value)."""
    if field is None:
        return lambda v: v
    if callable(field):
        return field
    return operator.itemgetter(field)  # v[field], as a C function (it runs for every record)


class Aggregator:
    """Base class: subclass it and write ``initialize``, ``add`` and ``result``.

    ``merge`` is optional: without it, session windows cannot use the
    aggregator (they raise a clear error).
    """

    def initialize(self) -> Any:
        raise NotImplementedError

    def add(self, acc: Any, value: Any) -> Any:
        """The accumulator with ``value`` in it: a new one, or ``acc`` itself
        changed, but never changed when it raises (the record is refused whole)."""
        raise NotImplementedError

    def add_all(self, acc: Any, values: Sequence[Any]) -> Any:
        """``add`` each of ``values`` in turn (subclasses may do it faster, never differently)."""
        return reduce(self.add, values, acc)

    def result(self, acc: Any) -> Any:
        return acc

    def merge(self, a: Any, b: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} cannot merge accumulators")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _OfField(Aggregator):
    """An aggregator of one field of each record (a dict key, a callable, or the value)."""

    def __init__(self, field: str | Callable[[Any], Any] | None = None) -> None:
        self.field = field
        self._get = field_getter(field)


class Count(Aggregator):
    """How many records.

    >>> Count().result(Count().add(Count().add(Count().initialize(), "a"), "b"))
    2
    """

    def initialize(self) -> int:
        return 0

    def add(self, acc: int, value: Any) -> int:
        return acc + 1

    def add_all(self, acc: int, values: Sequence[Any]) -> int:
        return acc + len(values)

    def merge(self, a: int, b: int) -> int:
        return a + b


class Sum(_OfField):
    """The sum of a field (or of the values).

    >>> Sum().merge(Sum().add(0, 2), Sum().add(0, 3))
    5
    """

    def initialize(self) -> float:
        return 0

    def add(self, acc: float, value: Any) -> float:
        return acc + self._get(value)

    def add_all(self, acc: float, values: Sequence[Any]) -> float:
        # Left to right, one + at a time, as add() does: not sum(), whose float
        # rounding differs (compensated) from adding in turn.
        return reduce(operator.add, map(self._get, values), acc)

    def merge(self, a: float, b: float) -> float:
        return a + b


class Mean(_OfField):
    """The mean of a field; ``None`` for an empty window. The accumulator is ``[sum, n]``.

    >>> Mean().result(Mean().initialize()) is None
    True
    """

    def initialize(self) -> list[float]:
        return [0, 0]

    def add(self, acc: list[float], value: Any) -> list[float]:
        return [acc[0] + self._get(value), acc[1] + 1]

    def add_all(self, acc: list[float], values: Sequence[Any]) -> list[float]:
        return [reduce(operator.add, map(self._get, values), acc[0]), acc[1] + len(values)]

    def result(self, acc: list[float]) -> float | None:
        return acc[0] / acc[1] if acc[1] else None

    def merge(self, a: list[float], b: list[float]) -> list[float]:
        return [a[0] + b[0], a[1] + b[1]]


class Min(_OfField):
    """The smallest value of a field (``None`` when empty).

    >>> Min().result(Min().add(Min().add(Min().initialize(), 3), 1))
    1
    """

    def initialize(self) -> Any:
        return None

    def add(self, acc: Any, value: Any) -> Any:
        v = self._get(value)
        return v if acc is None or v < acc else acc

    def merge(self, a: Any, b: Any) -> Any:
        return b if a is None else a if b is None else min(a, b)


class Max(Min):
    """The largest value of a field (``None`` when empty).

    >>> Max().result(Max().add(Max().add(Max().initialize(), 3), 1))
    3
    """

    def add(self, acc: Any, value: Any) -> Any:
        v = self._get(value)
        return v if acc is None or v > acc else acc

    def merge(self, a: Any, b: Any) -> Any:
        return b if a is None else a if b is None else max(a, b)


class CountDistinct(_OfField):
    """How many different values of a field, e.g. active users per minute.

    Exact: the accumulator keeps the distinct values (as a sorted list, so
    that it stays JSON). Fine for thousands per window; for millions use a
    sketch such as HyperLogLog.

    >>> agg = CountDistinct("userId")
    >>> acc = agg.initialize()
    >>> for u in ["U1", "U2", "U1"]:
    ...     acc = agg.add(acc, {"userId": u})
    >>> agg.result(acc), acc
    (2, ['U1', 'U2'])
    """

    def initialize(self) -> list[Any]:
        return []

    def add(self, acc: list[Any], value: Any) -> list[Any]:
        v = self._get(value)
        if v is None or v in acc:
            return acc
        return sorted([*acc, v])

    def result(self, acc: list[Any]) -> int:
        return len(acc)

    def merge(self, a: list[Any], b: list[Any]) -> list[Any]:
        return sorted(set(a) | set(b))


class CountBy(_OfField):
    """How many records per value of a field, e.g. log lines per level in a minute.

    The accumulator is a dict from the value's text to its count (text, because
    a checkpoint is JSON and JSON keys are strings). Values first seen first:
    ``collections.Counter(acc).most_common()`` then breaks ties in that order.
    ``None`` values are not counted.

    >>> agg = CountBy("level")
    >>> acc = agg.initialize()
    >>> for level in ["INFO", "ERROR", "INFO"]:
    ...     acc = agg.add(acc, {"level": level})
    >>> agg.result(acc)
    {'INFO': 2, 'ERROR': 1}
    """

    def initialize(self) -> dict[str, int]:
        return {}

    def add(self, acc: dict[str, int], value: Any) -> dict[str, int]:
        v = self._get(value)
        if v is None:
            return acc
        v = str(v)
        return {**acc, v: acc.get(v, 0) + 1}

    def merge(self, a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
        out = dict(a)
        for v, n in b.items():
            out[v] = out.get(v, 0) + n
        return out


class Collect(_OfField):
    """Every value of a field, in arrival order (quix-streams' ``Collect``).

    For what needs all of a window's values: percentiles, a least-squares
    slope. The accumulator grows with the window; ``None`` values are skipped
    (a log line without a duration).

    >>> agg = Collect("ms")
    >>> acc = agg.initialize()
    >>> for ms in [20, None, 35]:
    ...     acc = agg.add(acc, {"ms": ms})
    >>> agg.result(acc)
    [20, 35]
    """

    def initialize(self) -> list[Any]:
        return []

    def add(self, acc: list[Any], value: Any) -> list[Any]:
        v = self._get(value)
        return acc if v is None else [*acc, v]

    def merge(self, a: list[Any], b: list[Any]) -> list[Any]:
        return [*a, *b]


class Reduce(Aggregator):
    """Combine values pairwise with ``fn(a, b)``, like Kafka Streams' ``reduce``.

    ``fn`` must be associative for ``merge`` to be right (``max``, ``+``).

    >>> r = Reduce(lambda a, b: a + b)
    >>> r.result(r.add(r.add(r.initialize(), 2), 5))
    7
    """

    def __init__(self, fn: Callable[[Any, Any], Any]) -> None:
        self.fn = fn

    def initialize(self) -> Any:
        return None

    def add(self, acc: Any, value: Any) -> Any:
        return value if acc is None else self.fn(acc, value)

    def merge(self, a: Any, b: Any) -> Any:
        return b if a is None else a if b is None else self.fn(a, b)


class Fields(Aggregator):
    """Several aggregators side by side, one per named output field.

    >>> agg = Fields(n=Count(), biggest=Max("total"))
    >>> acc = agg.add(agg.add(agg.initialize(), {"total": 4}), {"total": 9})
    >>> agg.result(acc)
    {'n': 2, 'biggest': 9}
    """

    def __init__(self, **aggregators: Aggregator) -> None:
        if not aggregators:
            raise ValueError("Fields needs at least one named aggregator")
        self.aggregators = aggregators
        # (name, bound add) pairs, looked up once: add() runs for every record and window.
        self._adders = tuple((name, a.add) for name, a in aggregators.items())

    def initialize(self) -> dict[str, Any]:
        return {name: a.initialize() for name, a in self.aggregators.items()}

    def add(self, acc: dict[str, Any], value: Any) -> dict[str, Any]:
        return {name: add(acc[name], value) for name, add in self._adders}

    def add_all(self, acc: dict[str, Any], values: Sequence[Any]) -> dict[str, Any]:
        return {name: a.add_all(acc[name], values) for name, a in self.aggregators.items()}

    def result(self, acc: dict[str, Any]) -> dict[str, Any]:
        return {name: a.result(acc[name]) for name, a in self.aggregators.items()}

    def merge(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        return {name: agg.merge(a[name], b[name]) for name, agg in self.aggregators.items()}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.aggregators.items())
        return f"Fields({inner})"
