"""Self-checking exercises: each checker says, in plain words, what is right or wrong.

A checker inspects what the learner built (records in a topic, a function, a
class) and returns a :class:`Result` that prints one line per check::

    ✔ all 30 records of key 'CUST-1' are on partition 2
    ✘ key 'CUST-2' is on partitions [0, 1]: records of one key must share a
      partition. Did you pass key= to send()?

An exercise cell not written yet leaves its answer ``None`` (that is how
``exercises.ipynb`` is derived, so Run All reaches every checker); a checker
handed ``None`` says so in one line instead of failing inside::

    Exercise 3: not done yet (write your answer in the cell above, then run this cell again)

Learners see the messages. When ``KAFKALAB_STRICT_CHECKS=1`` (set by the test
suite, which runs the solution notebooks) a failed check also raises
:class:`ExerciseFailed`, so a wrong solution fails CI.

>>> r = Result("demo")
>>> r.check(1 + 1 == 2, "addition works", "addition is broken")
True
>>> r.check([] == [1], "lists match", "the list is empty: append the item first")
False
>>> print(r)
demo: 1 of 2 checks passed
  ✔ addition works
  ✘ the list is empty: append the item first
>>> bool(r)
False
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["NOT_DONE", "ExerciseFailed", "Result", "answered", "check_prediction", "forbidden",
           "guard_checkers"]

#: What a checker says when the exercise cell still holds ``None``.
NOT_DONE = "not done yet (write your answer in the cell above, then run this cell again)"


class ExerciseFailed(AssertionError):
    """A checked exercise is wrong (raised only in strict mode, i.e. under the test suite)."""


@dataclass
class Result:
    """The outcome of checking one exercise: a list of ``(passed, message)``."""

    title: str
    lines: list[tuple[bool, str]] = field(default_factory=list)
    #: True when there was no answer to check yet (see :func:`guard_checkers`).
    not_done: bool = False

    def check(self, condition: object, ok: str, wrong: str) -> bool:
        """Record one check: ``ok`` is shown if it holds, ``wrong`` (what to fix) if not."""
        passed = bool(condition)
        self.lines.append((passed, ok if passed else wrong))
        return passed

    @property
    def passed(self) -> bool:
        return bool(self.lines) and all(p for p, _ in self.lines)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.not_done:
            return f"{self.title}: {NOT_DONE}"
        n = sum(p for p, _ in self.lines)
        head = f"{self.title}: {n} of {len(self.lines)} checks passed"
        return "\n".join([head] + [f"  {'✔' if p else '✘'} {m}" for p, m in self.lines])

    def _repr_html_(self) -> str:
        import html

        if self.not_done:
            return f"<div><b>{html.escape(self.title)}</b>: {html.escape(NOT_DONE)}</div>"
        colour = "#1a7f37" if self.passed else "#cf222e"
        rows = "".join(
            f"<li style='color:{'#1a7f37' if p else '#cf222e'}'>{'✔' if p else '✘'} "
            f"{html.escape(m)}</li>" for p, m in self.lines)
        return (f"<div><b style='color:{colour}'>{html.escape(self.title)}</b>"
                f"<ul style='list-style:none;padding-left:1em'>{rows}</ul></div>")

    def __repr__(self) -> str:
        return str(self)

    def done(self) -> Result:
        """Finish: in strict mode (the test suite) a failure raises :class:`ExerciseFailed`."""
        if not self.passed and os.environ.get("KAFKALAB_STRICT_CHECKS") == "1":
            raise ExerciseFailed(str(self))
        return self


def _title(fn: Callable[..., Any]) -> str:
    """``"Exercise 3"`` from a checker's docstring ``"Exercise 3: ..."``, else its name."""
    doc = (fn.__doc__ or "").strip()
    return doc.split(":", 1)[0] if doc.startswith("Exercise") and ":" in doc else fn.__name__


def guard_checkers(namespace: dict[str, Any]) -> None:
    """Wrap every public ``check_*`` function of a week's module (call at its end).

    A wrapped checker handed ``None`` (an exercise cell not written yet) returns
    a one-line "not done yet" :class:`Result` instead of checking.

    >>> def check_answer(answer):
    ...     "Exercise 9: the answer is 42."
    ...     return Result("Exercise 9").done()
    >>> ns = {"check_answer": check_answer, "__all__": ["check_answer"]}
    >>> guard_checkers(ns)
    >>> try:
    ...     print(ns["check_answer"](None))
    ... except ExerciseFailed as exc:  # strict mode (the test suite) raises instead
    ...     print(exc)
    Exercise 9: not done yet (write your answer in the cell above, then run this cell again)
    """
    for name in namespace.get("__all__", ()):
        fn = namespace.get(name)
        if name.startswith("check_") and inspect.isfunction(fn) and not hasattr(fn, "__wrapped__"):
            namespace[name] = _guarded(fn)


def _guarded(fn: Callable[..., Result]) -> Callable[..., Result]:
    @functools.wraps(fn)
    def checker(*args: Any, **kwargs: Any) -> Result:
        if any(value is None for value in (*args, *kwargs.values())):
            return Result(_title(fn), not_done=True).done()
        return fn(*args, **kwargs)

    return checker


def answered(*answers: Any) -> bool:
    """True once every answer is written (not ``None``); else say this cell waits for it.

    For a cell that *uses* an exercise's answer outside a checker::

        if answered(plan):
            print(plan(100, 1000, 0.3))

    >>> answered(None)
    skipped: this cell uses an exercise above that is not done yet
    False
    >>> answered(len)
    True
    """
    if any(a is None for a in answers):
        print("skipped: this cell uses an exercise above that is not done yet")
        return False
    return True


def check_prediction(r: Result, predicted: Mapping[Any, Any], observed: Mapping[Any, Any], what: str) -> bool:
    """Predict-then-run: compare what the learner wrote down *before* running with what the broker showed.

    Each key is one thing predicted (a partition, an offset, a lag); every key
    the broker showed must be predicted, and each value must match.

    >>> r = Result("Exercise 5")
    >>> check_prediction(r, {"p0": 3, "p1": 2}, {"p0": 3, "p1": 2}, "end offsets")
    True
    >>> check_prediction(r, {"p0": 3}, {"p0": 4, "p1": 2}, "offsets")
    False
    >>> print(r)
    Exercise 5: 1 of 2 checks passed
      ✔ your end offsets match the broker's: p0=3, p1=2
      ✘ your offsets differ from the broker's: p0 you said 3, the broker says 4; p1 you said nothing, ...
    """
    wrong = []
    for key in sorted(observed, key=str):
        said = predicted.get(key, "nothing")
        if said != observed[key]:
            wrong.append(f"{key} you said {said}, the broker says {observed[key]}")
    extra = sorted(str(k) for k in predicted if k not in observed)
    if extra:
        wrong.append(f"the broker shows no {', '.join(extra)}")
    shown = ", ".join(f"{k}={observed[k]}" for k in sorted(observed, key=str))
    return r.check(not wrong, f"your {what} match the broker's: {shown}",
                   f"your {what} differ from the broker's: {'; '.join(wrong)}")


@contextlib.contextmanager
def forbidden(*dotted: str) -> Iterator[None]:
    """While checking, the course's own reference functions refuse to run.

    An exercise that asks the learner to write ``template`` must not pass by
    calling ``kafkalab.logs.template``: inside this block each named function
    raises :class:`ExerciseFailed` saying so, when called through its module
    (``logs.template(...)``, as the lessons do). (A learner's function that *is* the
    reference is caught too: it is the same object the block replaces, so the
    checker should also compare identities before calling it.)

    >>> import kafkalab.stats as stats
    >>> with forbidden("kafkalab.stats.percentile"):
    ...     try:
    ...         stats.percentile([1, 2, 3], 50)
    ...     except ExerciseFailed as exc:
    ...         print(exc)
    this exercise asks you to write it yourself: don't call kafkalab.stats.percentile
    >>> stats.percentile([1, 2, 3], 50)
    2.0
    """
    saved: list[tuple[Any, str, Any]] = []

    def refuse(name: str) -> Callable[..., Any]:
        def refused(*args: Any, **kwargs: Any) -> Any:
            raise ExerciseFailed(f"this exercise asks you to write it yourself: don't call {name}")
        return refused

    try:
        for name in dotted:
            module_name, attr = name.rsplit(".", 1)
            module = importlib.import_module(module_name)
            saved.append((module, attr, getattr(module, attr)))
            setattr(module, attr, refuse(name))
        yield
    finally:
        for module, attr, original in reversed(saved):
            setattr(module, attr, original)
