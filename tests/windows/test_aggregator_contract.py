"""Contract tests: every aggregator in ``kafkalab.windows.__all__`` keeps the same promises.

* ``initialize / add / result`` work and the accumulator survives JSON (checkpoints);
* ``merge`` of two halves equals adding everything to one accumulator.
"""

from __future__ import annotations

import functools
import inspect
import json
import operator

import pytest

from kafkalab import windows
from kafkalab.testing import seeded

# Constructor arguments for aggregators that need some; the rest take none.
ARGS = {
    "Reduce": (lambda a, b: a + b,),
}

AGGREGATORS = [
    getattr(windows, name) for name in windows.__all__
    if inspect.isclass(getattr(windows, name))
    and issubclass(getattr(windows, name), windows.Aggregator)
    and getattr(windows, name) is not windows.Aggregator
]


def build(cls):
    if cls is windows.Fields:
        return cls(n=windows.Count(), total=windows.Sum())
    return cls(*ARGS.get(cls.__name__, ()))


def test_every_aggregator_is_covered():
    names = {c.__name__ for c in AGGREGATORS}
    assert {"Count", "Sum", "Mean", "Min", "Max", "CountDistinct", "Reduce", "Fields", "CountBy",
            "Collect"} <= names


@pytest.mark.parametrize("cls", AGGREGATORS, ids=lambda c: c.__name__)
def test_initialize_add_result_and_json(cls):
    agg = build(cls)
    acc = agg.initialize()
    agg.result(acc)  # an empty window has a result too
    rng = seeded(1)
    for _ in range(20):
        acc = agg.add(acc, rng.randint(-50, 50))
        acc = json.loads(json.dumps(acc))  # what a checkpoint does
    assert agg.result(acc) is not None


@pytest.mark.parametrize("cls", AGGREGATORS, ids=lambda c: c.__name__)
def test_merge_of_halves_equals_the_whole(cls):
    agg = build(cls)
    values = [seeded(2).randint(-50, 50) for _ in range(1)] + list(range(-7, 23, 3))
    whole = agg.initialize()
    for v in values:
        whole = agg.add(whole, v)
    left = right = agg.initialize()
    for v in values[:5]:
        left = agg.add(left, v)
    for v in values[5:]:
        right = agg.add(right, v)
    assert agg.result(agg.merge(left, right)) == agg.result(whole)
    assert agg.result(agg.merge(agg.initialize(), whole)) == agg.result(whole)


@pytest.mark.parametrize("cls", AGGREGATORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("kind", ["int", "float"])
def test_add_all_equals_add_one_at_a_time(cls, kind):
    """A batch adds a window's records with add_all: it must be add, in turn, exactly
    (floats too: the same roundings, not a compensated sum)."""
    agg = build(cls)
    rng = seeded(3)
    values = [rng.randint(-50, 50) if kind == "int" else rng.uniform(-1e6, 1e6) for _ in range(40)]
    for start in (agg.initialize(), agg.add(agg.initialize(), values[0])):
        one_by_one = start
        for v in values[1:]:
            one_by_one = agg.add(one_by_one, v)
        at_once = agg.add_all(start, values[1:])
        assert at_once == one_by_one and type(at_once) is type(one_by_one)
        assert agg.add_all(start, []) == start


def test_add_all_of_floats_is_not_a_compensated_sum():
    values = [0.1] * 10 + [1e16, 1.0, -1e16]
    assert windows.Sum().add_all(0, values) == functools.reduce(operator.add, values, 0)
    assert windows.Mean().add_all([0, 0], values)[0] == functools.reduce(operator.add, values, 0)
