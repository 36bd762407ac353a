"""Pure logic of week 5 (records, templates, filters, windows): fixed timestamps, no broker."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from kafkalab.logs import (
    ErrorBurst,
    InvalidLogRecord,
    LogFilter,
    SlowDependency,
    Templater,
    WindowAggregator,
    counts_frame,
    make_record,
    simulate,
    summaries_frame,
    template,
    to_frame,
    validate,
)
from kafkalab.logs.aggregate import percentile
from kafkalab.logs.record import normalise_level, to_iso
from kafkalab.logs.templates import DEFAULT_MASKS
from kafkalab.testing import FakeClock

T0 = 1_767_603_600_000


# ---------------------------------------------------------------- records


@pytest.mark.parametrize("bad, reason", [
    ({"level": "INFO", "message": "x", "source": "api"}, "'timestamp'"),
    ({"timestamp": T0, "message": "x", "source": "api"}, "'level'"),
    ({"timestamp": T0, "level": "INFO", "message": "x"}, "'source' (or 'service')"),
    ({"timestamp": "yesterday", "level": "INFO", "message": "x", "source": "a"}, "not ISO 8601"),
    ({"timestamp": T0, "level": "LOUD", "message": "x", "source": "a"}, "unknown level 'LOUD'"),
    ({"timestamp": T0, "level": "INFO", "message": 3, "source": "a"}, "message must be text"),
    ({"timestamp": T0, "level": "INFO", "message": "x", "source": "a", "metadata": [1]},
     "metadata must be a JSON object"),
    ("just text", "must be a JSON object"),
])
def test_invalid_records_are_rejected_with_a_reason(bad, reason) -> None:
    with pytest.raises(InvalidLogRecord) as info:
        validate(bad)
    assert reason in str(info.value)


def test_validate_accepts_other_shippers_spellings() -> None:
    rec = validate({"timestamp": "2026-01-05T09:00:00+01:00", "service": "api", "level": "warn",
                    "message": "m"})
    assert (rec["level"], rec["source"], rec["metadata"], rec["exception"]) == (
        "WARNING", "api", {}, None)
    from kafkalab.logs import timestamp_ms
    assert timestamp_ms(rec) == T0 - 3_600_000


def test_validate_normalises_records_of_every_spelling_field_by_field() -> None:
    # What validate promises, spelt out per field, on records in every spelling
    # shippers use: the same dict, with its keys in the same order.
    rng = random.Random(9)
    records = simulate(60, seed=9, incidents=[ErrorBurst("payments", start_s=10, duration_s=5)])
    for rec in records:
        rec = dict(rec)
        pick = rng.randrange(6)
        if pick == 0:
            rec["level"] = rng.choice(["warn", "Error", " info ", "FATAL", 40, 25])
        elif pick == 1:
            del rec["service"]
        elif pick == 2:
            del rec["source"]
            rec.pop("host")
            rec.pop("logger")
        elif pick == 3:
            rec["timestamp"] = T0 + rng.randrange(10**6)
        elif pick == 4:
            rec["metadata"] = None
            rec["logger"] = None
        got = validate(rec)
        service = rec.get("service") or rec["source"]
        expected = {**rec, "timestamp": rec["timestamp"] if isinstance(rec["timestamp"], str)
                    else to_iso(rec["timestamp"]),
                    "level": normalise_level(rec["level"]), "service": service,
                    "source": rec.get("source") or service, "host": rec.get("host") or "",
                    "logger": rec.get("logger") or "", "exception": rec.get("exception"),
                    "metadata": dict(rec.get("metadata") or {})}
        assert got == expected and list(got) == list(expected)
        assert got is not rec and got["metadata"] is not rec.get("metadata")


# ---------------------------------------------------------------- templates


@pytest.mark.parametrize("message, expected", [
    ("order ORD-20931 for CUST-001 created", "order <id> for <id> created"),
    ("took 1200ms, retry 3 of 5", "took <num>ms, retry <num> of <num>"),
    ("amount -12.50 EUR", "amount <num> EUR"),
    ("trace 4bf92f3577b34da6a3ce929d0e0e4736 done", "trace <hex> done"),
    ("user 'alice' not found", "user <str> not found"),
    ("mail bob@example.com bounced", "mail <email> bounced"),
    ("connect 10.1.2.3:5432 refused", "connect <ip> refused"),
    ("OutOfMemoryError: Java heap space", "OutOfMemoryError: Java heap space"),
    ("payment  failed", "payment failed"),
])
def test_templates_mask_what_varies_and_keep_what_does_not(message, expected) -> None:
    assert template(message) == expected


def test_messages_of_one_kind_share_a_template() -> None:
    rng = random.Random(3)
    msgs = {f"payment PAY-{rng.randrange(10**5, 10**6)} for CUST-{rng.randrange(999)} "
            f"amount {rng.randrange(5000)} in {rng.randrange(900)} ms" for _ in range(200)}
    assert len(msgs) == 200
    assert {template(m) for m in msgs} == {"payment <id> for <id> amount <num> in <num> ms"}


def _every_mask_in_turn(message: str) -> str:
    # The definition: each default mask substituted in order, none skipped.
    for placeholder, pattern in DEFAULT_MASKS:
        message = pattern.sub(placeholder, message)
    return " ".join(message.split())


def test_skipping_masks_a_line_cannot_hold_changes_no_template() -> None:
    # The templater skips a mask when the line lacks text the mask needs (an @
    # for an e-mail...), and masks a line without quotes word by word, keeping
    # each word's template. Random lines built from the masks' own pieces, glued
    # in every order and by every kind of whitespace, must still get exactly the
    # template of all eight masks in turn on the whole line.
    rng = random.Random(12)
    pieces = ["ORD-20931", "pay_8f3a", "3f2a9c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b", "10.0.0.12:8080",
              "a.b+c@mail.example.com", "http://inv:8080/stock?x=1", "https://h/p'q",
              "'quoted 12'", '"dq 3"', "0xdeadbeef", "deadbeef12", "DEADBEEF", "12ms", "3.5s",
              "-7", "+4.25", "512MB", "99%", "1.2.3", "x_1", "AB-cd", "٣", "\t", " ", "  ", "-",
              "_", ".", "@", "'", '"', ":", "/", "e", "7", "aaaa-bbbb-cccc-dddd-eeee"]
    lines = [f"{sep}".join(rng.choice(pieces) for _ in range(rng.randrange(1, 9)))
             for sep in ("", " ", "-", ".", "\t", "\u00a0", "\x1c", " \n ") for _ in range(2000)]
    lines += ["", " ", "  a  ", "\u2003x\u2003", "ORD-1 " + "deadbeef12-" * 20 + " 7ms"]  # a word too long to keep
    lines += lines  # twice: the second time, words come from what the first remembered
    lines += [r["message"] for r in simulate(120, seed=4, incidents=[
        ErrorBurst("payments", start_s=10, duration_s=5), SlowDependency("api", start_s=20, duration_s=30)])]
    assert [template(line) for line in lines] == [_every_mask_in_turn(line) for line in lines]
    # A mask in place of a default one of the same name is never skipped.
    custom = Templater(masks=[("<email>", r"at \S+")])
    assert custom("mail at home") == "mail <email>"


def test_extra_masks_run_before_the_defaults() -> None:
    assert Templater(extra=[("<sku>", r"\bSKU\d+\b")])("SKU123 x 2") == "<sku> x <num>"
    assert Templater()("SKU123 x 2") == "SKU123 x <num>"


# ---------------------------------------------------------------- filters


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return [validate(r) for r in simulate(
        300, seed=5, start_ms=T0, incidents=[ErrorBurst("payments", start_s=100, duration_s=20),
                                             SlowDependency("api", start_s=200, duration_s=30)])]


@pytest.mark.parametrize("flt", [
    LogFilter(level="WARN"),
    LogFilter(level="ERROR", services="payments"),
    LogFilter(services=["api", "shipping"], since=T0 + 60_000, until="2026-01-05T09:02:00Z"),
    LogFilter(text="TIMEOUT"),
    LogFilter(regex=r"OutOfMemory|declined"),
    LogFilter(level="INFO", regex=r"MemoryError"),   # matches the exception text
])
def test_a_filter_selects_the_same_records_live_and_on_a_dataframe(records, flt) -> None:
    live = [r for r in records if flt(r)]
    frame = flt.frame(to_frame(records))
    assert 0 < len(live) < len(records)
    assert sorted(frame["message"]) == sorted(r["message"] for r in live)


def test_level_threshold_and_time_range_mean_what_they_say(records) -> None:
    kept = [r for r in records if LogFilter(level="WARNING")(r)]
    assert {r["level"] for r in kept} == {"WARNING", "ERROR"}
    df = LogFilter(since=T0 + 60_000, until=T0 + 120_000).frame(to_frame(records))
    assert df["timestamp"].min() >= pd.Timestamp(T0 + 60_000, unit="ms", tz="UTC")
    assert df["timestamp"].max() < pd.Timestamp(T0 + 120_000, unit="ms", tz="UTC")


def test_a_bad_filter_fails_when_made_not_on_the_first_record() -> None:
    with pytest.raises(ValueError, match="not valid"):
        LogFilter(regex="(")
    with pytest.raises(InvalidLogRecord, match="unknown level"):
        LogFilter(level="LOUDEST")


# ---------------------------------------------------------------- windows


def test_streaming_windows_agree_with_pandas(records) -> None:
    agg = WindowAggregator(60, lateness_s=0)
    for r in records:
        agg.process(r)
    agg.flush()
    ours = summaries_frame(agg.summaries).set_index(["window_start", "service"]).sort_index()
    theirs = counts_frame(to_frame(records), 60).set_index(["window_start", "service"]).sort_index()
    cols = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "total", "errors", "error_rate"]
    pd.testing.assert_frame_equal(ours[cols].astype(float), theirs[cols].astype(float))
    assert len(ours) == 5 * 4


def test_window_length_is_configurable_and_counts_add_up(records) -> None:
    for window_s in (10, 60, 300):
        agg = WindowAggregator(window_s)
        for r in records:
            agg.process(r)
        agg.flush()
        assert sum(s["total"] for s in agg.summaries) == len(records)
        from kafkalab.logs import timestamp_ms
        for s in agg.summaries:
            start = timestamp_ms({"timestamp": s["window_start"]})
            end = timestamp_ms({"timestamp": s["window_end"]})
            assert start % (window_s * 1000) == 0 and end - start == window_s * 1000


def test_latency_percentiles_match_numpy() -> None:
    rng = np.random.default_rng(1)
    durations = rng.lognormal(4, 0.6, size=500).round(1)
    agg = WindowAggregator(60)
    for i, d in enumerate(durations):
        agg.process(make_record(service="api", level="INFO", message="GET", timestamp_ms=T0 + i * 10,
                                metadata={"duration_ms": float(d)}))
    (summary,) = agg.flush()
    for q in (50, 95, 99):
        assert summary["latency_ms"][f"p{q}"] == pytest.approx(np.percentile(durations, q))
    assert percentile([5.0], 99) == 5.0


def test_top_templates_count_kinds_not_exact_lines() -> None:
    clock = FakeClock(T0)
    agg = WindowAggregator(60)
    for i in range(30):
        clock.advance(1)
        agg.process(make_record(service="payments", level="ERROR", timestamp_ms=clock.now_ms(),
                                message=f"card declined for CUST-{i:03d}"))
    for i in range(5):
        agg.process(make_record(service="payments", level="ERROR", timestamp_ms=clock.now_ms(),
                                message=f"timeout after {1000 + i} ms"))
    (summary,) = agg.flush()
    assert summary["top_templates"][:2] == [
        {"template": "card declined for <id>", "count": 30},
        {"template": "timeout after <num> ms", "count": 5}]


def test_windows_close_per_service_and_late_records_are_counted_not_added() -> None:
    agg = WindowAggregator(60, lateness_s=5)
    rec = lambda svc, s: make_record(service=svc, level="INFO", message="m",  # noqa: E731
                                     timestamp_ms=T0 + s * 1000)
    assert agg.process(rec("api", 10)) == []
    assert agg.process(rec("api", 63)) == []           # within the lateness: not closed yet
    assert agg.process(rec("shipping", 200)) == []      # another service's time closes nothing here
    closed = agg.process(rec("api", 66))                # the api watermark passed 60 s
    assert [(s["service"], s["total"]) for s in closed] == [("api", 1)]
    assert agg.process(rec("api", 30)) == [] and agg.stats.late == 1
    assert sum(s["total"] for s in agg.flush()) == 3


def test_a_record_for_a_window_the_watermark_passed_is_late_even_if_it_never_opened() -> None:
    agg = WindowAggregator(60, lateness_s=5)
    rec = lambda s: make_record(service="api", level="INFO", message="m",  # noqa: E731
                                timestamp_ms=T0 + s * 1000)
    agg.process(rec(0))
    assert [s["total"] for s in agg.process(rec(200))] == [1]   # [0, 60 s) closes
    # [60 s, 120 s) never had a record, but 120 s + 5 s is behind the watermark: late,
    # not a window opened and closed at once (the engine's rule, as in Kafka Streams).
    assert agg.process(rec(100)) == [] and agg.stats.late == 1


def test_summaries_survive_a_snapshot_and_restore(records) -> None:
    import json

    whole = WindowAggregator(60, lateness_s=5)
    expected = [s for r in records for s in whole.process(r)] + whole.flush()
    first = WindowAggregator(60, lateness_s=5)
    half = len(records) // 2
    got = [s for r in records[:half] for s in first.process(r)]
    state = json.loads(json.dumps(first.snapshot()))     # a checkpoint is JSON
    second = WindowAggregator(60, lateness_s=5)
    second.restore(state)
    got += [s for r in records[half:] for s in second.process(r)] + second.flush()
    assert got == expected and second.stats == whole.stats
    assert any(s["latency_ms"] for s in got)             # durations were in the open windows too


def test_a_quiet_service_s_last_window_closes_by_the_wall_clock() -> None:
    from kafkalab.logs import LogAggregator
    from kafkalab.testing import make_events

    clock = FakeClock(T0)
    agg = LogAggregator(rules=[], window_s=60, lateness_s=5, close_idle_windows=True,
                        clock=clock.now)
    lines = [make_record(service=svc, level="INFO", message="m", timestamp_ms=T0 + s * 1000)
             for svc, s in [("api", 1), ("payments", 2), ("api", 30)]]
    for msg in make_events(lines):
        agg.handle(msg)
    clock.advance(60)
    assert agg.tick() == []                      # 09:01:00 is not yet 5 s past the window
    clock.advance(10)
    closed = agg.tick()
    assert sorted((s["service"], s["total"]) for s in closed) == [("api", 2), ("payments", 1)]
    late = make_record(service="api", level="INFO", message="m", timestamp_ms=T0 + 40_000)
    agg.handle(make_events([late])[0])
    assert agg.windows.stats.late == 1           # its window was already summarised
