"""kafkalab.stats.percentile: numpy's definition, on the 0-100 scale, None for no data."""

import numpy as np
import pytest

from kafkalab import ops
from kafkalab.logs import aggregate
from kafkalab.stats import percentile


@pytest.mark.parametrize("values", [[5.0], [1, 2], [3, 1, 2], [10, 20, 30, 40, 50],
                                    list(np.random.default_rng(7).exponential(20, 101))])
@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 95, 99, 99.9, 100])
def test_matches_numpy_default(values, q):
    assert percentile(values, q) == pytest.approx(np.percentile(values, q))


def test_empty_input_is_none_for_every_q():
    assert all(percentile([], q) is None for q in (0, 50, 100))
    assert percentile(iter(()), 99) is None


def test_single_value_is_every_percentile():
    assert {percentile([42], q) for q in (0, 50, 99, 100)} == {42.0}


def test_result_is_a_float_and_input_is_not_changed():
    values = [3, 1, 2]
    assert isinstance(percentile(values, 50), float)
    assert values == [3, 1, 2]
    assert percentile((v for v in values), 50) == 2.0  # any iterable


@pytest.mark.parametrize("q", [-1, 100.5, float("nan")])
def test_q_outside_0_to_100_is_refused(q):
    with pytest.raises(ValueError, match="0 to 100"):
        percentile([1, 2], q)


def test_the_public_names_are_the_one_function():
    assert ops.percentile is percentile
    assert aggregate.percentile is percentile


def test_histogram_before_any_observation_has_no_percentiles_and_exports_nan():
    reg = ops.Registry(now=lambda: 0.0)
    h = reg.histogram("processing_seconds", handler="h")
    assert h.percentile(99) is None and h.summary() == {"p50": None, "p95": None, "p99": None}
    assert 'processing_seconds{handler="h",quantile="0.99"} NaN' in reg.prometheus().splitlines()
