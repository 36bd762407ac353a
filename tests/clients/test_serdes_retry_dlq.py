"""Pure logic of the client layer: formats, backoff, dead-letter records."""

import json
import random

import pytest

from kafkalab.clients import Backoff, PermanentError, RetriesExhausted, TransientError, retry
from kafkalab.clients.deadletter import dead_letter_record
from kafkalab.clients.producer import normalise_headers
from kafkalab.clients.serdes import DeserializationError, SerializationError, from_bytes, loads_json, to_bytes
from kafkalab.testing import FakeClock, make_message


@pytest.mark.parametrize("fmt,value", [("json", {"a": [1, 2.5, None, "é"]}), ("str", "héllo"),
                                       ("raw", b"\x00\xff")])
def test_formats_round_trip(fmt, value):
    assert from_bytes(fmt, to_bytes(fmt, value)) == value


def test_none_is_a_tombstone_in_every_format():
    for fmt in ("json", "str", "raw"):
        assert to_bytes(fmt, None) is None and from_bytes(fmt, None) is None


def test_json_rejects_what_it_cannot_encode_with_a_clear_error():
    with pytest.raises(SerializationError, match="cannot encode as JSON"):
        to_bytes("json", {"x": object()})
    with pytest.raises(SerializationError):
        to_bytes("json", {"x": float("nan")})  # NaN is not JSON
    with pytest.raises(SerializationError, match="raw format needs bytes"):
        to_bytes("raw", "text")


@pytest.mark.parametrize("data,reason", [(b"\xff\xfe", "not UTF-8"), (b"{'single': 1}", "not valid JSON")])
def test_bad_bytes_raise_deserialization_error_with_reason(data, reason):
    with pytest.raises(DeserializationError, match=reason):
        from_bytes("json", data)


def test_backoff_doubles_up_to_the_cap_and_jitter_stays_below_it():
    b = Backoff(initial=0.5, factor=2, max_delay=3, attempts=6, jitter=False)
    assert list(b.delays()) == [0.5, 1.0, 2.0, 3.0, 3.0]
    rng = random.Random(1)
    jittered = list(Backoff(initial=0.5, factor=2, max_delay=3, attempts=6).delays(rng))
    assert all(0 <= d <= cap for d, cap in zip(jittered, [0.5, 1.0, 2.0, 3.0, 3.0], strict=False))
    assert len(set(jittered)) == 5  # drawn, not fixed


def test_retry_gives_up_after_the_attempts_and_sleeps_between():
    clock = FakeClock()
    calls = []

    def always_busy():
        calls.append(clock.now())
        raise TransientError("busy")

    with pytest.raises(RetriesExhausted) as err:
        retry(always_busy, backoff=Backoff(initial=1, attempts=4, jitter=False), sleep=clock.sleep)
    assert len(calls) == 4 and clock.slept == [1, 2, 4]
    assert err.value.attempts == 4 and isinstance(err.value.__cause__, TransientError)


def test_retry_does_not_retry_permanent_errors():
    calls = []

    def bad():
        calls.append(1)
        raise PermanentError("bad data")

    with pytest.raises(PermanentError):
        retry(bad, sleep=lambda s: None)
    assert calls == [1]


def test_dead_letter_record_keeps_binary_payloads_intact():
    import base64

    msg = make_message(b"\xff\x00binary", topic="in", partition=2, offset=9, key="k")
    rec = dead_letter_record(msg, ValueError("boom"), stage="handler", attempts=3, now_ms=0)
    assert rec["encoding"] == "base64"
    assert base64.b64decode(rec["originalMessage"]) == b"\xff\x00binary"
    assert rec["error"] == {"type": "ValueError", "message": "boom", "stage": "handler", "attempts": 3}
    assert rec["source"] == {"topic": "in", "partition": 2, "offset": 9, "timestamp_ms": 0}
    assert rec["timestamp"] == "1970-01-01T00:00:00+00:00"


def test_headers_accept_dicts_and_pairs():
    assert normalise_headers([("a", "x"), ("a", b"y")]) == [("a", b"x"), ("a", b"y")]
    assert normalise_headers(None) == []


@pytest.mark.parametrize("text", [b'{"amount": NaN}', b'{"amount": Infinity}', b"[-Infinity]",
                                  b'{"amount": 1e400}', b'{"amount": 2E+308}', b"[-1.5e999]",
                                  b"[" + b"9" * 400 + b".5]",  # no exponent: 400 digits overflow too
                                  b"[" * 50_000 + b"]" * 50_000])
def test_json_that_python_accepts_but_json_does_not_is_refused(text):
    # json.loads takes all of these (the deep one raises RecursionError); a
    # record carrying them is dead-lettered with the reason, not processed.
    with pytest.raises(DeserializationError, match="not valid JSON"):
        from_bytes("json", text)


@pytest.mark.parametrize("text", [b'{"a": 1.5, "b": -2.5e-3, "c": 1E5, "d": 0.1}', b'["1e999", "9e9"]',
                                  b"[" + b"9" * 299 + b".5]", b'{"big": 1' + b"0" * 400 + b"}"])
def test_finite_floats_and_numbers_in_strings_read_as_json_loads_reads_them(text):
    # Floats are checked in Python only where one could overflow; the rest must not change.
    assert from_bytes("json", text) == __import__("json").loads(text)


@pytest.mark.parametrize("text", ['{"a": 1, "b": [2.5, -0.0, "x", null, true]}', "\ufeff{}", " 7 ",
                                  '{"a": 1', '{"a":1}{', "", '"\\ud800"'])
def test_json_reads_like_json_loads_where_both_accept_and_says_the_same_otherwise(text):
    # loads_json reuses one decoder; it must read and refuse as json.loads does.
    try:
        expected: object = json.loads(text)
    except ValueError as exc:
        with pytest.raises(ValueError) as info:
            loads_json(text)
        assert str(info.value) == str(exc)
    else:
        assert loads_json(text) == expected
