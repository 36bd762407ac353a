"""Self-checking exercises: each checker says, in plain words, what is right or wrong.

A checker inspects what the learner built (records in a topic, a function, a
class) and returns a :class:`Result` that prints one line per check::

    ✔ all 30 records of key 'CUST-1' are on partition 2
    ✘ key 'CUST-2' is on partitions [0, 1]: records of one key must share a
      partition. Did you pass key= to send()?

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

import os
from dataclasses import dataclass, field

__all__ = ["ExerciseFailed", "Result"]


class ExerciseFailed(AssertionError):
    """A checked exercise is wrong (raised only in strict mode, i.e. under the test suite)."""


@dataclass
class Result:
    """The outcome of checking one exercise: a list of ``(passed, message)``."""

    title: str
    lines: list[tuple[bool, str]] = field(default_factory=list)

    def check(self, condition: bool, ok: str, wrong: str) -> bool:
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
        n = sum(p for p, _ in self.lines)
        head = f"{self.title}: {n} of {len(self.lines)} checks passed"
        return "\n".join([head] + [f"  {'✔' if p else '✘'} {m}" for p, m in self.lines])

    def _repr_html_(self) -> str:
        import html

        colour = "#1a7f37" if self.passed else "#cf222e"
        rows = "".join(
            f"<li style='color:{'#1a7f37' if p else '#cf222e'}'>{'✔' if p else '✘'} "
            f"{html.escape(m)}</li>" for p, m in self.lines)
        return (f"<div><b style='color:{colour}'>{html.escape(self.title)}</b>"
                f"<ul style='list-style:none;padding-left:1em'>{rows}</ul></div>")

    def __repr__(self) -> str:
        return str(self)

    def done(self) -> "Result":
        """Finish: in strict mode (the test suite) a failure raises :class:`ExerciseFailed`."""
        if not self.passed and os.environ.get("KAFKALAB_STRICT_CHECKS") == "1":
            raise ExerciseFailed(str(self))
        return self
