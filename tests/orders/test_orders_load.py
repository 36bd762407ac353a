"""The open-loop order driver: its schedule and its summary (no broker; bench/orders.py
and the week 8 notebook run it against one)."""

import threading

import pytest

from kafkalab.orders.load import at_rate, summarise


def test_at_rate_calls_every_slot_once_with_its_due_time():
    calls: list[tuple[int, float]] = []
    lock = threading.Lock()

    def send(i, due_ms):
        with lock:
            calls.append((i, due_ms))

    first = at_rate(500, 10, send)
    assert sorted(i for i, _ in calls) == list(range(10))
    # Due times are the schedule's, 2 ms apart, whenever the call actually ran.
    assert {i: due for i, due in calls} == {i: pytest.approx(first + 2 * i) for i in range(10)}


def test_at_rate_raises_what_a_send_raised():
    def send(i, _due):
        if i == 2:
            raise ValueError("broker said no")

    with pytest.raises(ValueError, match="broker said no"):
        at_rate(1000, 4, send)


def _view(status, finished):
    return {"status": status, "finishedAt": finished}


def test_summary_measures_from_the_due_time_to_finished():
    due = {"a": 1000.0, "b": 1010.0, "c": 1020.0}
    views = {"a": _view("completed", 1100), "b": _view("completed", 1210), "c": _view("completed", 1320)}
    r = summarise("x", 100, due, views)
    assert (r.completed, r.p50_ms, r.max_ms) == (3, 200.0, 300.0)
    assert r.per_s == pytest.approx(3 / 0.32, abs=0.1)  # first due to last finished
    assert r.statuses == {"completed": 3}


def test_summary_refuses_a_rate_when_an_order_did_not_complete():
    due = {"a": 0.0, "b": 0.0, "c": 0.0}
    views = {"a": _view("completed", 10), "b": _view("cancelled", 20), "c": None}
    with pytest.raises(RuntimeError, match="2 of 3 orders did not complete"):
        summarise("x", 100, due, views)
    lenient = summarise("x", 100, due, views, strict=False)
    assert lenient.completed == 1 and lenient.statuses == {"completed": 1, "cancelled": 1, "missing": 1}
