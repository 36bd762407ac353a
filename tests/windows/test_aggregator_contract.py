"""Contract tests: every aggregator in ``kafkalab.windows.__all__`` keeps the same promises.

* ``initialize / add / result`` work and the accumulator survives JSON (checkpoints);
* ``merge`` of two halves equals adding everything to one accumulator.
"""

from __future__ import annotations

import inspect
import json

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
