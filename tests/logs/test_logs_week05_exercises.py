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


def test_mask_ids_accepts_the_package_templater_and_a_hand_written_one() -> None:
    def hand_written(message: str) -> str:
        message = re.sub(r"\b[A-Za-z]+[-_][0-9a-fA-F]*\d[0-9a-fA-F]*\b", "<id>", message)
        return re.sub(r"\d+", "<num>", message)

    assert check_mask_ids(template).passed
    assert check_mask_ids(hand_written).passed


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
