"""kafkalab.timeutil: one rule for ISO-8601 event times, used by every part that reads them."""

import datetime as dt

import pandas as pd
import pytest

from kafkalab import iot, timeutil
from kafkalab.logs import LogFilter, timestamp_ms
from kafkalab.streams import EventTimeError, event_time
from kafkalab.testing import make_message

T = 1_767_225_630_125  # 2026-01-01T00:00:30.125Z


@pytest.mark.parametrize("text", [
    "2026-01-01T00:00:30.125Z",          # Z suffix
    "2026-01-01T00:00:30.125z",
    "2026-01-01T00:00:30.125+00:00",     # aware, UTC
    "2026-01-01T01:00:30.125+01:00",     # aware, another zone
    "2025-12-31T19:00:30.125-05:00",
    "2026-01-01T00:00:30.125",           # naive: UTC
    "2026-01-01 00:00:30.125",           # a space instead of T
    "  2026-01-01T00:00:30.125Z\n",      # surrounding blanks
    "2026-01-01T00:00:30.125999Z",       # below a millisecond: floored
])
def test_every_spelling_of_one_moment_gives_the_same_milliseconds(text):
    assert timeutil.to_epoch_ms(text) == T


def test_naive_is_utc_whatever_the_local_zone(monkeypatch):
    # The rule must not depend on the machine: datetime.timestamp() on a naive
    # time would use the local zone.
    import time
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert timeutil.to_epoch_ms("2026-01-01T00:00:30.125") == T
        assert timeutil.to_epoch_ms(dt.datetime(2026, 1, 1, 0, 0, 30, 125_000)) == T
    finally:
        monkeypatch.undo()
        time.tzset()


def test_datetimes_and_pandas_timestamps():
    aware = dt.datetime(2026, 1, 1, 1, 0, 30, 125_000, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert timeutil.to_epoch_ms(aware) == T
    assert timeutil.to_epoch_ms(pd.Timestamp("2026-01-01T00:00:30.125")) == T
    assert timeutil.to_epoch_ms(pd.Timestamp("2026-01-01T00:00:30.125Z")) == T


def test_milliseconds_are_exact_not_float_rounded():
    # 0.123 s is not exact in binary: timestamp() * 1000 truncated gives 122.
    assert timeutil.to_epoch_ms("2026-11-24T17:47:28.123Z") % 1000 == 123
    assert timeutil.to_epoch_ms("1970-01-01T00:00:00Z") == 0
    assert timeutil.to_epoch_ms("1969-12-31T23:59:59.999Z") == -1


@pytest.mark.parametrize("bad", ["", "yesterday", "2026-13-01T00:00:00Z", "Z"])
def test_text_that_is_not_iso_is_a_value_error_quoting_it(bad):
    with pytest.raises(ValueError, match="is not an ISO-8601 time"):
        timeutil.to_epoch_ms(bad)


@pytest.mark.parametrize("other", [1767225630125, 1.5, None, dt.date(2026, 1, 1)])
def test_anything_else_is_a_type_error(other):
    with pytest.raises(TypeError):
        timeutil.to_epoch_ms(other)


def test_parse_iso_is_always_aware():
    assert timeutil.parse_iso("2026-01-01").tzinfo == dt.UTC
    assert timeutil.parse_iso("2026-01-01T00:00:00+02:00").utcoffset() == dt.timedelta(hours=2)


@pytest.mark.parametrize("text", ["2026-01-01T00:00:30.125Z", "2026-01-01T00:00:30.125",
                                  "2026-01-01T01:00:30.125+01:00"])
def test_logs_iot_streams_and_filters_read_a_time_alike(text):
    """The callers that parsed times on their own (UTC, rejected, local) now agree."""
    reading = {"deviceId": "SENSOR-001", "type": "temperature", "value": 21.5, "unit": "°C",
               "timestamp": text}
    assert timestamp_ms({"timestamp": text}) == T
    assert iot.parse_timestamp(text) == T
    assert iot.validate(reading).timestamp_ms == T
    assert event_time("ts", make_message({"ts": text})) == T
    assert LogFilter(since=text).since == T


def test_callers_keep_their_own_error_types():
    with pytest.raises(EventTimeError, match="not ISO-8601"):
        event_time("ts", make_message({"ts": "soon"}))
    with pytest.raises(iot.InvalidReading, match="not ISO-8601"):
        iot.parse_timestamp("soon")
