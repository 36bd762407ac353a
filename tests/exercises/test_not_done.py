"""Every checker of every week says "not done yet", in one line, for an unwritten answer.

An exercise cell left as derived from the solution sets its answer to ``None``
(kafkalab.curriculum), so Run All reaches each checker with ``None``."""

from __future__ import annotations

import importlib
import inspect

import pytest

from kafkalab.exercises import NOT_DONE, ExerciseFailed, answered

CHECKERS = [(f"week{w:02d}", name) for w in range(1, 9)
            for name in importlib.import_module(f"kafkalab.exercises.week{w:02d}").__all__
            if name.startswith("check_")]


@pytest.mark.parametrize(("week", "name"), CHECKERS)
def test_a_checker_handed_none_says_not_done_in_one_line(week, name, monkeypatch):
    monkeypatch.delenv("KAFKALAB_STRICT_CHECKS", raising=False)  # as a learner runs it
    fn = getattr(importlib.import_module(f"kafkalab.exercises.{week}"), name)
    required = [p for p in inspect.signature(fn).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    result = fn(*[None] * len(required))  # no broker, no learner code: it must not get that far
    text = str(result)
    assert NOT_DONE in text and "\n" not in text
    assert text.startswith("Exercise ")
    assert not result


def test_not_done_still_fails_a_strict_run(monkeypatch):
    monkeypatch.setenv("KAFKALAB_STRICT_CHECKS", "1")  # a solution notebook left unwritten
    from kafkalab.exercises import week01

    with pytest.raises(ExerciseFailed, match="not done yet"):
        week01.check_topic(None, 4, 1000)


def test_answered_skips_a_cell_that_uses_an_unwritten_answer(capsys):
    assert answered(len, 3)
    assert not answered(len, None)
    assert "not done yet" in capsys.readouterr().out
