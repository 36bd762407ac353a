"""Window assignment, stream time, late records, emit modes, sessions and checkpoints."""

from __future__ import annotations

import json

import pytest

from kafkalab import windows
from kafkalab.testing import make_events
from kafkalab.windows import Count, CountBased, Hopping, Session, Sliding, Tumbling, Window, WindowedAggregation


def test_tumbling_assigns_exactly_one_window():
    t = Tumbling(1000)
    for ts in [0, 1, 999, 1000, 1500, -1, -1000]:
        (w,) = t.windows_for(ts)
        assert w.contains(ts) and w.size_ms == 1000 and w.start_ms % 1000 == 0


def test_hopping_windows_all_contain_the_event():
    h = Hopping(5000, 1000)
    for ts in [0, 999, 1000, 4999, 12_345]:
        ws = h.windows_for(ts)
        assert len(ws) == 5 and all(w.contains(ts) for w in ws)
        assert [w.start_ms for w in ws] == sorted(w.start_ms for w in ws)
    assert Hopping(1000, 1000).windows_for(1500) == Tumbling(1000).windows_for(1500)


def test_bad_window_sizes_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="size_ms > 0"):
        Tumbling(-5)
    with pytest.raises(ValueError, match="gaps"):
        Hopping(1000, 5000)
    with pytest.raises(ValueError, match="gap_ms > 0"):
        Session(0)
    with pytest.raises(ValueError, match="emit must be"):
        WindowedAggregation(Tumbling(), Count(), emit="sometimes")
    with pytest.raises(ValueError, match="size_ms > 0"):
        Sliding(0)
    with pytest.raises(ValueError, match="step between 1 and count"):
        CountBased(3, step=4)
    with pytest.raises(ValueError, match="closing must be"):
        WindowedAggregation(Tumbling(), Count(), closing="never")


def test_final_mode_emits_once_per_window_when_it_closes():
    agg = WindowedAggregation(Tumbling(1000), Count(), grace_ms=500, emit="final")
    out = []
    for e in make_events(range(10), start_ms=0, step_ms=300, key="k"):
        out += agg.process(e.key, e.value, e.timestamp_ms)
    # events at 0..2700 ms; stream time 2700 closes [0,1000) (1500 <= 2700) and [1000,2000)
    assert [(r.window.start_ms, r.value, r.final) for r in out] == [(0, 4, True), (1000, 3, True)]
    assert [(r.window.start_ms, r.value) for r in agg.flush()] == [(2000, 3)]


def test_update_mode_emits_every_change():
    agg = WindowedAggregation(Tumbling(1000), Count(), emit="update")
    out = [r for e in make_events(range(3), step_ms=100, key="k")
           for r in agg.process(e.key, e.value, e.timestamp_ms)]
    assert [r.value for r in out] == [1, 2, 3] and not any(r.final for r in out)


def test_late_record_goes_to_the_side_output_with_its_reason():
    agg = WindowedAggregation(Tumbling(1000), Count(), grace_ms=0, emit="final")
    agg.process("k", "a", 100)
    agg.process("k", "b", 2500)
    (late,) = agg.process("k", "late one", 900)
    assert isinstance(late, windows.LateRecord)
    assert late.value == "late one" and late.lateness_ms == 1600
    assert late.windows == (Window(0, 1000),)
    rec = late.to_record()
    assert "after its window(s) closed" in rec["reason"] and rec["lateness_ms"] == 1600
    assert agg.late_count == 1


def test_out_of_order_within_grace_is_counted():
    agg = WindowedAggregation(Tumbling(1000), Count(), grace_ms=2000, emit="final")
    for ts in [100, 1200, 2500, 800, 2999]:
        assert all(not isinstance(o, windows.LateRecord) for o in agg.process("k", 1, ts))
    out = agg.process("k", 1, 3000)  # closes [0,1000): 1000 + 2000 <= 3000
    assert [(r.window.start_ms, r.value) for r in out] == [(0, 2)]


def test_keys_are_aggregated_separately():
    agg = WindowedAggregation(Tumbling(1000), Count(), emit="final")
    for key, ts in [("a", 1), ("b", 2), ("a", 3)]:
        agg.process(key, None, ts)
    assert {(r.key, r.value) for r in agg.flush()} == {("a", 2), ("b", 1)}


def test_sessions_merge_and_tombstone_the_merged_windows():
    agg = WindowedAggregation(Session(gap_ms=1000), Count(), grace_ms=10_000, emit="update")
    agg.process("u", 1, 0)
    agg.process("u", 1, 5000)
    out = agg.process("u", 1, 800)   # joins nothing: 5000 - 800 > 1000; extends the first
    assert out[-1].window == Window(0, 801) and out[-1].value == 2
    out = agg.process("u", 1, 4200)  # bridges? 4200 is 3399 after 801: no; within 1000 of 5000: yes
    assert out[-1].window == Window(4200, 5001) and out[-1].value == 2
    out = agg.process("u", 1, 1700)  # 1700 - 800 <= 1000: extends session one
    assert out[-1].window == Window(0, 1701)
    out = agg.process("u", 1, 2700)  # 2700 touches 1700+1000 -> session [0, 2700]
    out = agg.process("u", 1, 3400)  # within 1000 of 2700 and of 4200: bridges both
    tombstones = [r.window for r in out if r.value is None]
    assert sorted(tombstones) == [Window(0, 2701), Window(4200, 5001)]
    assert out[-1].window == Window(0, 5001) and out[-1].value == 7


def test_session_closes_after_gap_plus_grace_and_reports_late():
    agg = WindowedAggregation(Session(gap_ms=1000), Count(), grace_ms=0, emit="final")
    agg.process("u", 1, 0)
    agg.process("u", 1, 500)
    (closed,) = agg.process("v", 1, 1500)   # 500 + 1000 <= 1500: u's session closes
    assert closed.key == "u" and closed.window == Window(0, 501) and closed.value == 2
    (late,) = agg.process("u", 1, 200)
    assert isinstance(late, windows.LateRecord)


def test_session_needs_a_mergeable_aggregator():
    class NoMerge(windows.Aggregator):
        def initialize(self):
            return 0

        def add(self, acc, value):
            return acc + 1

    with pytest.raises(TypeError, match="merge"):
        WindowedAggregation(Session(1000), NoMerge())


@pytest.mark.parametrize("spec, closing", [
    (Tumbling(1000), "partition"), (Hopping(3000, 1000), "partition"), (Session(700), "partition"),
    (Sliding(2000), "partition"), (CountBased(4, step=2), "partition"), (Tumbling(1000), "key"),
    (Sliding(2000), "key")], ids=repr)
def test_snapshot_restore_continues_identically(spec, closing):
    """A checkpoint mid-stream, restored into a fresh object, gives the same results."""
    events = [(f"k{i % 3}", i, (i * 370) % 9000 + (i // 7) * 400) for i in range(120)]
    agg_fn = lambda: windows.Fields(n=Count(), s=windows.Sum(), m=windows.Max(),  # noqa: E731
                                    d=windows.CountDistinct())
    whole = WindowedAggregation(spec, agg_fn(), grace_ms=1500, emit="final", closing=closing)
    expected = [o for k, v, ts in events for o in whole.process(k, v, ts)] + whole.flush()

    first = WindowedAggregation(spec, agg_fn(), grace_ms=1500, emit="final", closing=closing)
    got = [o for k, v, ts in events[:50] for o in first.process(k, v, ts)]
    snap = json.loads(json.dumps(first.snapshot()))   # must survive JSON
    second = WindowedAggregation(spec, agg_fn(), grace_ms=1500, emit="final", closing=closing)
    second.restore(snap)
    got += [o for k, v, ts in events[50:] for o in second.process(k, v, ts)] + second.flush()
    assert got == expected
    assert second.late_count == whole.late_count


def test_advance_closes_windows_without_a_record():
    agg = WindowedAggregation(Tumbling(1000), Count(), emit="final")
    agg.process("k", 1, 10)
    assert agg.advance(999) == []
    assert [r.value for r in agg.advance(1000)] == [1]


def test_both_mode_emits_updates_and_then_the_final_value():
    agg = WindowedAggregation(Tumbling(1000), Count(), emit="both")
    out = [o for ts in (100, 200, 1500) for o in agg.process("k", 1, ts)]
    assert [(r.window.start_ms, r.value, r.final) for r in out] == [
        (0, 1, False), (0, 2, False), (1000, 1, False), (0, 2, True)]


def test_key_closing_lets_each_key_keep_its_own_stream_time():
    # "api" runs ahead; "batch" logs in its own, slower, time.
    events = [("api", 100), ("batch", 50), ("api", 5000), ("batch", 900), ("batch", 1200)]
    by_partition = WindowedAggregation(Tumbling(1000), Count(), emit="final")
    out = [o for k, ts in events for o in by_partition.process(k, None, ts)]
    assert by_partition.late_count == 2       # batch@900 and @1200: behind the partition's 5000
    by_key = WindowedAggregation(Tumbling(1000), Count(), emit="final", closing="key")
    out = [o for k, ts in events for o in by_key.process(k, None, ts)]
    assert by_key.late_count == 0
    # batch@1200 closes batch's own [0, 1000) (2 records); api's [0, 1000) closed at 5000.
    assert [(r.key, r.window.start_ms, r.value) for r in out] == [("api", 0, 1), ("batch", 0, 2)]
    assert by_key.stream_time == 5000         # the partition's, for reporting
    # A punctuation moves every key's time: the quiet keys' windows close too.
    assert sorted((r.key, r.value) for r in by_key.advance(10_000)) == [("api", 1), ("batch", 1)]


def test_flush_of_one_key_leaves_the_others_and_restarts_its_count():
    agg = WindowedAggregation(CountBased(3), Count(), emit="final")
    for key in ["a", "b", "a", "b"]:
        agg.process(key, None, 0)
    assert [(r.key, r.window, r.value) for r in agg.flush("a")] == [("a", Window(0, 3), 2)]
    assert [r.key for r in agg.current()] == ["b"]
    agg.process("a", None, 0)
    assert [(r.key, r.window, r.value) for r in agg.current()] == [
        ("a", Window(0, 3), 1), ("b", Window(0, 3), 2)]   # a's records are numbered afresh


def test_sliding_window_counts_the_last_size_ms_at_every_event():
    agg = WindowedAggregation(Sliding(10_000), Count(), emit="update", closing="key")
    counts = [out[-1].value for ts in (0, 4_000, 9_999, 10_000, 20_000, 21_000)
              for out in [agg.process("api", None, ts)]]
    # 10 000 is exactly 10 s after 0: outside the window, as in pandas' rolling("10s").
    assert counts == [1, 2, 3, 3, 1, 2]
    assert agg.open_windows == 1              # grace 0: only the newest window is open
    assert agg.flush("api")[0].window == Window(11_001, 21_001)
    assert agg.process("api", None, 22_000)[-1].value == 1   # flushed: starts afresh


def test_count_windows_emit_when_full_in_final_mode_and_every_record_in_update_mode():
    final = WindowedAggregation(CountBased(2), windows.Sum(), emit="final")
    assert [o for v in (1, 2, 3) for o in final.process("k", v, 0)] == [
        windows.WindowResult("k", Window(0, 2), 3, final=True)]
    update = WindowedAggregation(CountBased(2), windows.Sum(), emit="update")
    assert [(o.value, o.final) for v in (1, 2, 3) for o in update.process("k", v, 0)] == [
        (1, False), (3, False), (3, False)]


@pytest.mark.parametrize("count, step", [(1, 1), (3, 1), (4, 2), (5, 5), (15, 1), (6, 4)])
@pytest.mark.parametrize("emit", ["final", "update", "both"])
def test_count_windows_match_slices_of_each_keys_records(count, step, emit):
    """Count windows against an independent reference: window s of a key is its records s .. s+count-1."""
    assert all(CountBased(count, step).windows_for(n) == [w for w in Hopping(count, step).windows_for(n)
                                                          if w.start_ms >= 0] for n in range(3 * count))
    spec = CountBased(count, step)  # what the engine asks: remembered, also past forgetting
    assert all(spec.windows_of(n) == tuple(spec.windows_for(n)) for n in [*range(2500), *range(100)])
    events = [(f"k{(i * 7) % 3}", (i * 37) % 11 - 3.5) for i in range(60)]
    for aggregator in (windows.Collect(), windows.Sum(), windows.Mean()):
        agg = WindowedAggregation(CountBased(count, step), aggregator, emit=emit)
        got = [o for key, v in events for o in agg.process(key, v, 0)]
        seen: dict[str, list[float]] = {}
        expected = []
        for key, v in events:
            values = seen.setdefault(key, [])
            values.append(v)
            n = len(values) - 1
            for s in range(0, n + 1, step):
                if s + count <= n:
                    continue  # that window filled up before this record
                acc = aggregator.initialize()
                for x in values[s:n + 1]:
                    acc = aggregator.add(acc, x)
                window, value = Window(s, s + count), aggregator.result(acc)
                if emit != "final":
                    expected.append(windows.WindowResult(key, window, value))
                if s + count == n + 1 and emit != "update":
                    expected.append(windows.WindowResult(key, window, value, final=True))
        assert got == expected
        assert [(r.key, r.window) for r in agg.current()] == sorted(
            ((k, Window(s, s + count)) for k, vs in seen.items() for s in range(0, len(vs), step)
             if s + count > len(vs)), key=lambda kw: (kw[1].start_ms, kw[0]))
