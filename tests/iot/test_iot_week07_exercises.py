"""The week-7 IoT checkers accept right answers and reject wrong ones in plain words."""

from __future__ import annotations

import pytest

from kafkalab import iot
from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week07 import check_battery_rule, check_hysteresis, check_unit_converter


def failing(check, *args):
    """Run a checker on a wrong answer; return the message it would show a learner."""
    with pytest.raises(ExerciseFailed) as info:  # the suite runs in strict mode
        check(*args)
    return str(info.value)


def by_hand(sensor_type: str, value: float, unit: str) -> float:
    factors = {"°F": lambda v: (v - 32) * 5 / 9, "K": lambda v: v - 273.15,
               "psi": lambda v: v * 6.894757, "bar": lambda v: v * 100,
               "in/s": lambda v: v * 25.4}
    if unit in factors:
        return factors[unit](value)
    if unit in ("°C", "kPa", "mm/s", "%", "%RH"):
        return value
    raise ValueError(f"unknown unit {unit!r}")


def test_unit_converter_accepts_the_package_and_a_hand_written_one() -> None:
    assert check_unit_converter(lambda t, v, u: iot.convert(t, v, u)[0]).passed
    assert check_unit_converter(by_hand).passed


@pytest.mark.parametrize("answer, says", [
    (lambda t, v, u: v * 5 / 9 - 32 if u == "°F" else by_hand(t, v, u),
     "subtract 32 first"),
    (lambda t, v, u: v * 6.9 if u == "psi" else by_hand(t, v, u), "1 psi is 6.894757 kPa"),
    (lambda t, v, u: by_hand(t, v, u) if u != "in/s" else v * 2.54, "1 inch is 25.4 mm"),
    (lambda t, v, u: v if u not in ("°F", "K", "psi", "bar", "in/s") else by_hand(t, v, u),
     "must be rejected, never passed through"),
    (lambda t, v, u: str(by_hand(t, v, u)), "return the converted value as a number"),
    (lambda t, v, u: 1 / 0, "raised ZeroDivisionError"),
])
def test_unit_converter_rejects_wrong_answers_with_a_reason(answer, says) -> None:
    assert says in failing(check_unit_converter, answer)


def battery_rule(record):
    battery = record.get("battery")
    if battery is None:
        return None
    if isinstance(battery, bool) or not isinstance(battery, (int, float)) or not (
            0 <= battery <= 100):
        return f"battery {battery!r} is not a percentage"
    if battery < 5:
        return f"battery at {battery} %: readings drift below 5 %"
    return None


def test_battery_rule_accepts_a_right_rule() -> None:
    assert check_battery_rule(battery_rule).passed


@pytest.mark.parametrize("answer, says", [
    (lambda r: None, "battery 4.9 was accepted"),
    (lambda r: "too low" if (r.get("battery") or 100) < 5 else None, "say it is the battery"),
    (lambda r: "battery low" if r["battery"] < 5 else None, "use record.get('battery')"),
    (lambda r: "battery low" if r.get("battery", 100) <= 5 else None,
     "battery 5 (the limit itself) was rejected"),
    (lambda r: "battery low" if r.get("battery") is not None and not isinstance(
        r["battery"], str) and r["battery"] < 5 else None, "battery 'low' was accepted"),
])
def test_battery_rule_rejects_wrong_answers_with_a_reason(answer, says) -> None:
    assert says.lower() in failing(check_battery_rule, answer).lower()


def test_hysteresis_accepts_a_clear_level_below_the_hover() -> None:
    assert check_hysteresis(iot.Threshold(high=85, clear=80), 600).passed
    assert check_hysteresis(iot.Threshold(high=85, clear=81), 0).passed


@pytest.mark.parametrize("threshold, cooldown, says", [
    (iot.Threshold(high=85), 600, "set clear below the lowest point"),
    (iot.Threshold(high=85, clear=84), 0, "raised"),
    (iot.Threshold(high=85), 7200, "the cool-down hides a real second problem"),
    (iot.Threshold(high=80, clear=75), 600, "the limit is 85 %"),
    ({"high": 85, "clear": 80}, 600, "make one with iot.Threshold"),
])
def test_hysteresis_rejects_wrong_answers_with_a_reason(threshold, cooldown, says) -> None:
    assert says in failing(check_hysteresis, threshold, cooldown)
