"""The week-5 checkers accept right answers and reject wrong ones in plain words."""

from __future__ import annotations

import re

import pytest

from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week05 import check_alert_rule, check_mask_ids
from kafkalab.logs import template

RIGHT_RULE = """
rules:
  - name: api-timeouts
    type: pattern
    pattern: timeout
    services: [api]
    level: ERROR
"""


def failing(check, *args):
    """Run a checker on a wrong answer; return the message it would show a learner."""
    with pytest.raises(ExerciseFailed) as info:  # the suite runs in strict mode
        check(*args)
    return str(info.value)


def test_mask_ids_accepts_a_hand_written_one_and_refuses_the_package_templater() -> None:
    def hand_written(message: str) -> str:
        message = re.sub(r"\b[A-Za-z]+[-_][0-9a-fA-F]*\d[0-9a-fA-F]*\b", "<id>", message)
        return re.sub(r"\d+", "<num>", message)

    assert check_mask_ids(hand_written).passed
    # The course's own templater is the reference answer: the free pass of issue 11 (see test_week05.py).
    assert "this is the course's own logs.template" in failing(check_mask_ids, template)


@pytest.mark.parametrize("answer, says", [
    (lambda m: re.sub(r"\d+", "<num>", m), "kept an id"),
    (lambda m: "<line>", "got the same template"),
    (lambda m: m, "same kind of line but got different templates"),
    (lambda m: None, "must return the template as text"),
    (lambda m: m.nope(), "raised AttributeError"),
])
def test_mask_ids_rejects_wrong_answers_with_a_reason(answer, says) -> None:
    assert says in failing(check_mask_ids, answer)


def test_alert_rule_accepts_a_rule_that_fires_once_on_the_incident() -> None:
    result = check_alert_rule(RIGHT_RULE)
    assert result.passed and "fires exactly once" in str(result)


@pytest.mark.parametrize("config, says", [
    ({"rules": [{"name": "x", "type": "pattern", "pattern": "declined"}]}, "on clean traffic"),
    ({"rules": [{"name": "x", "type": "pattern", "pattern": "OutOfMemory"}]},
     "did not fire during the incident"),
    ({"rules": [{"name": "x", "type": "pattern", "pattern": "timeout"},
                {"name": "y", "type": "pattern", "pattern": "timeout"}]}, "holds 2 rules"),
    ({"rules": [{"name": "x", "type": "patern", "pattern": "timeout"}]}, "does not load"),
    ({"rules": [{"name": "x", "type": "error_rate", "threshold": 0.01, "min_records": 5}]},
     "on clean traffic"),
])
def test_alert_rule_rejects_wrong_answers_with_a_reason(config, says) -> None:
    assert says in failing(check_alert_rule, config)


def test_a_rule_that_fires_for_every_service_is_told_to_narrow_it() -> None:
    msg = failing(check_alert_rule, {"rules": [
        {"name": "x", "type": "pattern", "pattern": "OutOfMemory|timeout|declined|conflict"}]})
    assert "clean traffic" in msg


# ---------------------------------------------------------------- exercise 3

import collections  # noqa: E402

from kafkalab.exercises.week05 import check_slow_requests_rule  # noqa: E402
from kafkalab.logs import Rule, timestamp_ms  # noqa: E402


class SlowRequests(Rule):
    """The reference answer."""

    kind = "slow_requests"

    def __init__(self, name, *, slow_ms=2000, count=3, within_s=30, **kw):
        super().__init__(name, **kw)
        self.slow_ms, self.count, self.within_ms = slow_ms, count, within_s * 1000
        self.recent = collections.defaultdict(collections.deque)

    def process(self, record):
        duration = record["metadata"].get("duration_ms")
        if duration is None or duration < self.slow_ms:
            return None
        ts = timestamp_ms(record)
        recent = self.recent[record["service"]]
        recent.append(ts)
        while recent[0] <= ts - self.within_ms:
            recent.popleft()
        if len(recent) < self.count:
            return None
        recent.clear()
        return self.alert(record, f"{self.count} requests slower than {self.slow_ms} ms")


def test_slow_requests_accepts_the_reference_answer() -> None:
    assert check_slow_requests_rule(SlowRequests).passed


class CrashesWithoutDuration(SlowRequests):
    def process(self, record):
        if record["metadata"]["duration_ms"] < 0:
            return None
        return super().process(record)


class NeverForgets(SlowRequests):
    def __init__(self, name, **kw):
        super().__init__(name, **kw)
        self.within_ms = 10**12


class TooEager(SlowRequests):
    def process(self, record):
        if record["metadata"].get("duration_ms", 0) >= 100:   # 100 ms is not slow
            return self.alert(record, "slow")
        return None


class WrongSignature(Rule):
    def __init__(self, name):
        super().__init__(name)


@pytest.mark.parametrize("answer, says", [
    (CrashesWithoutDuration, "raised on"),
    (TooEager, "on clean traffic"),
    (WrongSignature, "failed: "),
    (dict, "is not a subclass of logs.Rule"),
])
def test_slow_requests_rejects_wrong_answers_with_a_reason(answer, says) -> None:
    assert says in failing(check_slow_requests_rule, answer)


def test_a_rule_that_never_forgets_old_slow_requests_is_caught() -> None:
    assert "which of the earlier ones still count" in failing(
        check_slow_requests_rule, NeverForgets)
