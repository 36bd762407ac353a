"""A poll's records at once (``process_batch``) give exactly what ``process`` gives record by record.

Same seeded inputs through both, with out-of-order and late records, refused
values, every emit mode and both closings, cut into batches of random sizes:
the outputs (values, order, late records), the counters and the checkpoint
must be identical.
"""

from __future__ import annotations

import json

import pytest

from kafkalab import windows
from kafkalab.testing import seeded
from kafkalab.windows import Hopping, Tumbling, WindowedAggregation

SPECS = [Tumbling(1000), Hopping(3000, 1000), Hopping(2500, 1000)]  # 2500: 2 or 3 windows per time


def events(n: int, seed: int, *, refused: bool = False) -> list[tuple[object, object, int]]:
    """(key, value, ts): mostly in order, some a little out of order, some very late, some
    at window boundaries."""
    rng = seeded(seed)
    out = []
    for i in range(n):
        r = rng.random()
        delay = 0 if r < 0.7 else rng.randrange(1500) if r < 0.9 else rng.randrange(3000, 9000)
        key = rng.choice(["a", "b", "c", None, 1, "1"])  # None and 1 vs "1" sort by their text
        value = {"total": rng.randint(-5, 50), "x": rng.random()}
        if refused and rng.random() < 0.05:
            value = {"no total": True}
        ts = 10_000 + i * 97 - delay
        if rng.random() < 0.2:
            ts -= ts % 500  # exactly at a window's end: a watermark there closes it
        out.append((key, value, ts))
    return out


def aggregation(spec, emit: str, closing: str, grace_ms: int) -> WindowedAggregation:
    return WindowedAggregation(spec, windows.Fields(n=windows.Count(), total=windows.Sum("total"),
                                                    x=windows.Sum("x"), mean=windows.Mean("total"),
                                                    seen=windows.Collect("total")),
                               grace_ms=grace_ms, emit=emit, closing=closing)


def one_by_one(agg: WindowedAggregation, evs) -> tuple[list, list[int]]:
    out, refused = [], []
    for i, (k, v, ts) in enumerate(evs):
        try:
            out += agg.process(k, v, ts)
        except KeyError:
            refused.append(i)
    return out, refused


def in_batches(agg: WindowedAggregation, evs, seed: int) -> tuple[list, list[int]]:
    rng = seeded(seed)
    out, refused, i = [], [], 0
    while i < len(evs):
        chunk = evs[i:i + rng.choice([1, 2, 7, 50, 400])]
        got, errors = agg.process_batch([e[0] for e in chunk], [e[1] for e in chunk],
                                        [e[2] for e in chunk])
        assert all(isinstance(exc, KeyError) for _, exc in errors)
        out += got
        refused += [i + j for j, _ in errors]
        i += len(chunk)
    return out, refused


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@pytest.mark.parametrize("emit", ["final", "update", "both"])
@pytest.mark.parametrize("closing", ["partition", "key"])
@pytest.mark.parametrize("grace_ms", [0, 1500])
@pytest.mark.parametrize("refused", [False, True], ids=["clean", "refused"])
def test_batches_equal_record_by_record(spec, emit, closing, grace_ms, refused):
    evs = events(700, seed=3, refused=refused)
    a, b = aggregation(spec, emit, closing, grace_ms), aggregation(spec, emit, closing, grace_ms)
    expected, refused_a = one_by_one(a, evs)
    got, refused_b = in_batches(b, evs, seed=4)
    assert any(isinstance(o, windows.LateRecord) for o in expected)  # the inputs do have late records
    assert any(isinstance(o, windows.WindowResult) and o.final for o in expected) == (emit != "update")
    assert (len(refused_a) > 0) == refused
    assert got == expected
    assert refused_b == refused_a
    assert (b.late_count, b.records, b.stream_time) == (a.late_count, a.records, a.stream_time)
    assert json.dumps(b.snapshot()) == json.dumps(a.snapshot())
    assert b.flush() == a.flush()


def test_a_refused_value_changes_nothing():
    agg = aggregation(Tumbling(1000), "update", "partition", 0)
    agg.process("a", {"total": 1, "x": 0.5}, 500)
    before = json.dumps(agg.snapshot())
    with pytest.raises(KeyError):
        agg.process("a", {"x": 1.0}, 5000)           # would have closed [0, 1000) and opened [5000, 6000)
    assert json.dumps(agg.snapshot()) == before      # not even stream time moved
    out, errors = agg.process_batch(["a", "a"], [{"x": 1.0}, {"total": 2, "x": 0.0}], [5000, 700])
    assert [i for i, _ in errors] == [0]
    assert [(r.window.start_ms, r.value["n"]) for r in out] == [(0, 2)]   # 700 is not late: 5000 never came


def test_batches_continue_a_restored_checkpoint():
    evs = events(800, seed=5)
    whole = aggregation(Hopping(3000, 1000), "final", "partition", 500)
    expected, _ = one_by_one(whole, evs)
    first = aggregation(Hopping(3000, 1000), "final", "partition", 500)
    got, _ = in_batches(first, evs[:300], seed=6)
    second = aggregation(Hopping(3000, 1000), "final", "partition", 500)
    second.restore(json.loads(json.dumps(first.snapshot())))
    more, _ = in_batches(second, evs[300:], seed=7)
    assert got + more == expected


@pytest.mark.parametrize("spec", SPECS + [Tumbling(7), Hopping(10, 3)], ids=repr)
def test_placements_are_windows_for_each_time(spec):
    times = [seeded(8).randrange(-50_000, 50_000) for _ in range(1)] + list(range(-25, 25)) + [123_456_789]
    idx, starts = spec.placements(times)
    assert [(i, windows.Window(s, s + spec.size_ms)) for i, s in zip(idx, starts, strict=True)] == [
        (i, w) for i, t in enumerate(times) for w in spec.windows_for(t)]
    assert all(w.contains(t) for t in times for w in spec.windows_for(t))


def test_other_window_types_go_record_by_record_through_process_batch():
    evs = events(300, seed=9, refused=True)
    a = WindowedAggregation(windows.Session(400), windows.Sum("total"), grace_ms=100)
    b = WindowedAggregation(windows.Session(400), windows.Sum("total"), grace_ms=100)
    expected, refused = one_by_one(a, evs)
    got, errors = b.process_batch([e[0] for e in evs], [e[1] for e in evs], [e[2] for e in evs])
    assert got == expected and [i for i, _ in errors] == refused
