"""How long a run goes on: a number of records, seconds in total, seconds idle.

Every bounded run in kafkalab (the consume loop, a change capture) takes one
:class:`Bounds`, and every command line spells it the same way:
``--max-messages``, ``--timeout``, ``--idle-timeout``. A :class:`RunClock`
measures one run against its bounds. Idle time restarts *after* a batch's
work, so a slow batch is never mistaken for a quiet topic.

>>> t = [0.0]
>>> run = Bounds(max_messages=10, timeout=60, idle_timeout=5).start(clock=lambda: t[0])
>>> run.stop_reason(seen=0) is None
True
>>> t[0] = 4.0; run.busy()          # a batch was handled at t=4 s
>>> t[0] = 8.0; run.stop_reason(seen=3) is None   # idle for 4 s only
True
>>> t[0] = 9.0; run.stop_reason(seen=3)
'idle_timeout'
>>> run.stop_reason(seen=10)
'max_messages'
>>> run.limit(seen=7, max_records=500), run.wait(0.5)
(3, 0.5)
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Bounds", "RunClock"]


@dataclass(frozen=True)
class Bounds:
    """When a run stops: after ``max_messages`` records, ``timeout`` seconds in
    total, or ``idle_timeout`` seconds with nothing to do, whichever comes first.

    ``None`` means no such bound; with none at all a run goes on until stopped.
    """

    max_messages: int | None = None
    timeout: float | None = None
    idle_timeout: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_messages", "timeout", "idle_timeout"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0 or None; got {value!r}")

    @property
    def bounded(self) -> bool:
        """True when at least one bound is set."""
        return not (self.max_messages is None and self.timeout is None
                    and self.idle_timeout is None)

    def require(self, what: str = "run()") -> Bounds:
        """Self, or ``ValueError`` when unbounded (for runs that must end by themselves)."""
        if not self.bounded:
            raise ValueError(f"{what} needs a bound: max_messages=, timeout= or idle_timeout=")
        return self

    def start(self, clock: Callable[[], float] = time.monotonic) -> RunClock:
        """Start measuring one run against these bounds."""
        return RunClock(self, clock)

    # -- the one command-line spelling ----------------------------------------

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser, *, max_messages: int | None = None,
                      timeout: float | None = None, idle_timeout: float | None = None) -> None:
        """Add ``--max-messages``, ``--timeout`` and ``--idle-timeout`` (with these defaults)."""
        parser.add_argument("--max-messages", type=int, default=max_messages,
                            help="stop after this many records")
        parser.add_argument("--timeout", type=float, default=timeout,
                            help="stop after this many seconds in total")
        parser.add_argument("--idle-timeout", type=float, default=idle_timeout,
                            help="stop after this many seconds with nothing to do")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Bounds:
        """The bounds given on a command line made with :meth:`add_arguments`."""
        return cls(max_messages=args.max_messages, timeout=args.timeout,
                   idle_timeout=args.idle_timeout)


class RunClock:
    """One run measured against its :class:`Bounds` (see the module example)."""

    def __init__(self, bounds: Bounds, clock: Callable[[], float] = time.monotonic) -> None:
        self.bounds = bounds
        self.clock = clock
        self.started = self.last_busy = clock()

    def busy(self) -> None:
        """Restart the idle clock: call it *after* a batch's work, and while not
        yet able to work (joining a group is not idleness)."""
        self.last_busy = self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def stop_reason(self, seen: int) -> str | None:
        """The bound reached after ``seen`` records, or ``None`` to go on."""
        b = self.bounds
        if b.max_messages is not None and seen >= b.max_messages:
            return "max_messages"
        now = self.clock()
        if b.timeout is not None and now - self.started >= b.timeout:
            return "timeout"
        if b.idle_timeout is not None and now - self.last_busy >= b.idle_timeout:
            return "idle_timeout"
        return None

    def limit(self, seen: int, max_records: int | None = None) -> int | None:
        """How many records the next batch may have (``None``: any number)."""
        if self.bounds.max_messages is None:
            return max_records
        left = max(0, self.bounds.max_messages - seen)
        return left if max_records is None else min(left, max_records)

    def wait(self, poll_timeout: float) -> float:
        """How long the next poll may wait: ``poll_timeout``, or less near the timeout."""
        if self.bounds.timeout is None:
            return poll_timeout
        return max(0.0, min(poll_timeout, self.bounds.timeout - self.elapsed()))
