"""Window results equal pandas' on the same events, with out-of-order and late data.

pandas is the reference: ``groupby(key) + resample`` for tumbling windows and
one ``resample`` per hop offset for hopping windows. Lateness is computed the
pandas way too: stream time is the running maximum of event time (``cummax``)
and a record is late for a window when ``end + grace <= stream time``.
"""

from __future__ import annotations

import pandas as pd
import pytest

from kafkalab import windows
from kafkalab.testing import seeded

T0 = 1_700_000_000_000 - 1_700_000_000_000 % 60_000  # a minute boundary, fixed


def shuffled_events(n: int = 2000, max_delay_ms: int = 90_000, seed: int = 7) -> pd.DataFrame:
    """Orders in arrival order: event time = arrival time minus a random delay."""
    rng = seeded(seed)
    rows = []
    for i in range(n):
        arrival = T0 + i * 700
        delay = rng.choice([0, 0, 0, rng.randint(0, max_delay_ms)])
        rows.append({"key": rng.choice(["CUST-001", "CUST-002", "CUST-003"]),
                     "ts_ms": arrival - delay, "total": rng.randint(1, 500)})
    return pd.DataFrame(rows)


def run_ours(df: pd.DataFrame, spec, grace_ms: int, emit: str = "final"):
    agg = windows.WindowedAggregation(
        spec, windows.Fields(count=windows.Count(), revenue=windows.Sum("total")),
        grace_ms=grace_ms, emit=emit)
    results, late = {}, []
    for row in df.itertuples():
        for out in agg.process(row.key, {"total": row.total}, row.ts_ms):
            if isinstance(out, windows.LateRecord):
                late.append(out)
            else:
                results[(out.key, out.window.start_ms)] = out.value
    for out in agg.flush():
        results[(out.key, out.window.start_ms)] = out.value
    return results, late, agg


def pandas_windows(df: pd.DataFrame, size_ms: int, offset_ms: int, grace_ms: int) -> dict:
    """Aggregate with pandas on one window grid (windows starting at offset + k * size)."""
    df = df.copy()
    df["stream_time"] = df["ts_ms"].cummax()
    start = (df["ts_ms"] - offset_ms) // size_ms * size_ms + offset_ms
    on_time = df[~(start + size_ms + grace_ms <= df["stream_time"])].copy()
    on_time["time"] = pd.to_datetime(on_time["ts_ms"], unit="ms")
    g = (on_time.groupby(["key", pd.Grouper(key="time", freq=f"{size_ms}ms",
                                              origin="epoch", offset=f"{offset_ms}ms")])["total"]
         .agg(["count", "sum"]))
    g = g[g["count"] > 0]  # resample also lists empty windows in between
    return {(k, int(t.value // 1_000_000)): {"count": int(r["count"]), "revenue": int(r["sum"])}
            for (k, t), r in g.iterrows()}


@pytest.mark.parametrize("grace_ms", [120_000, 20_000, 0])
def test_tumbling_equals_pandas(grace_ms):
    df = shuffled_events()
    assert not df["ts_ms"].is_monotonic_increasing  # really out of order
    ours, late, agg = run_ours(df, windows.Tumbling(60_000), grace_ms)
    expected = pandas_windows(df, 60_000, 0, grace_ms)
    assert ours == expected
    # Every record is either counted in a window or reported late: none vanish.
    assert sum(v["count"] for v in ours.values()) + len(late) == len(df)
    assert agg.late_count == len(late)
    if grace_ms >= 90_000 + 60_000:
        assert late == []
    if grace_ms == 0:
        assert len(late) > 50


@pytest.mark.parametrize("grace_ms", [200_000, 15_000])
def test_hopping_equals_pandas(grace_ms):
    df = shuffled_events(n=1500, seed=11)
    size, advance = 180_000, 60_000
    ours, late, _ = run_ours(df, windows.Hopping(size, advance), grace_ms)
    expected = {}
    for k in range(size // advance):
        expected.update(pandas_windows(df, size, k * advance, grace_ms))
    assert ours == expected
    counted = sum(v["count"] for v in ours.values())
    # each on-time record is counted once per window it belongs to (3 here)
    dropped = sum(len(r.windows) for r in late)
    assert counted + dropped == 3 * len(df)
    if grace_ms == 15_000:
        assert late, "a short grace must produce late records"


def test_update_mode_ends_with_the_final_values():
    df = shuffled_events(n=600, seed=3)
    final, _, _ = run_ours(df, windows.Tumbling(60_000), 30_000, emit="final")
    updates, _, _ = run_ours(df, windows.Tumbling(60_000), 30_000, emit="update")
    assert updates == final


# -- sliding windows: pandas' rolling, and an independent reference with late data ------------

def run_sliding(df: pd.DataFrame, size_ms: int, grace_ms: int):
    return run_ours(df, windows.Sliding(size_ms), grace_ms)


def test_sliding_equals_pandas_rolling_when_nothing_is_late():
    df = shuffled_events(n=1200, seed=5)
    size = 45_000
    ours, late, _ = run_sliding(df, size, grace_ms=90_001)   # the largest delay: nothing late
    assert late == []
    ordered = df.sort_values("ts_ms", kind="stable").assign(
        time=lambda d: pd.to_datetime(d["ts_ms"], unit="ms"))
    rolled = (ordered.groupby("key").rolling(f"{size}ms", on="time")["total"]
              .agg(["count", "sum"]).reset_index())
    rolled["ts_ms"] = rolled["time"].astype("datetime64[ms]").astype("int64")
    # With equal times in a key, the last of them has the whole window (pandas counts rows so far).
    rolled = rolled.groupby(["key", "ts_ms"]).last()
    expected = {(k, ts - size + 1): {"count": int(r["count"]), "revenue": int(r["sum"])}
                for (k, ts), r in rolled.iterrows()}
    assert ours == expected


@pytest.mark.parametrize("grace_ms", [0, 5_000, 30_000])
def test_sliding_with_out_of_order_and_late_records_equals_a_reference(grace_ms):
    df = shuffled_events(n=700, seed=13)
    size = 20_000
    ours, late, agg = run_sliding(df, size, grace_ms)
    # Reference, straight from the definition: a record at t opens the window
    # (t - size, t] unless stream time has passed t + 1 + grace when it arrives; a
    # record r is in that window when its time is in it and the window was still
    # open when r arrived (stream time only grows, so "t + 1 + grace > stream time then").
    rows = list(df.assign(st=df["ts_ms"].cummax()).itertuples())
    windows_at = {(r.key, r.ts_ms) for r in rows if r.ts_ms + 1 + grace_ms > r.st}
    expected = {}
    for key, t in windows_at:
        inside = [r for r in rows if r.key == key and t - size < r.ts_ms <= t
                  and t + 1 + grace_ms > r.st]
        expected[(key, t - size + 1)] = {"count": len(inside),
                                         "revenue": sum(r.total for r in inside)}
    assert ours == expected
    assert len(late) == agg.late_count == sum(1 for r in rows if r.ts_ms + 1 + grace_ms <= r.st)
    if grace_ms == 0:
        assert late


# -- count windows: pandas' cumcount groups and rolling(n) --------------------------------------

@pytest.mark.parametrize("count", [1, 7, 50])
def test_count_tumbling_equals_pandas_groups_of_n(count):
    df = shuffled_events(n=900, seed=17)
    ours, late, _ = run_ours(df, windows.CountBased(count), grace_ms=0)
    assert late == []    # event time plays no part: nothing is ever late
    df["n"] = df.groupby("key").cumcount()
    g = df.groupby(["key", df["n"] // count])["total"].agg(["count", "sum"])
    expected = {(k, i * count): {"count": int(r["count"]), "revenue": int(r["sum"])}
                for (k, i), r in g.iterrows()}
    assert ours == expected


def test_count_hopping_with_step_one_equals_pandas_rolling():
    df = shuffled_events(n=600, seed=19)
    agg = windows.WindowedAggregation(windows.CountBased(5, step=1), windows.Sum("total"),
                                      emit="final")
    finals = {(r.key, r.window.end_ms - 1): r.value
              for row in df.itertuples() for r in agg.process(row.key, {"total": row.total},
                                                              row.ts_ms)}
    df["n"] = df.groupby("key").cumcount()
    rolled = df.groupby("key")["total"].rolling(5).sum().reset_index(level=0)
    rolled["n"] = df["n"]
    expected = {(r.key, r.n): int(r.total) for r in rolled.dropna().itertuples()}
    assert finals == expected
