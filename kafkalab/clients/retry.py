"""Retry with exponential backoff and jitter.

A failed call is tried again after a delay that doubles each time, up to a
cap, with random "full jitter" (a delay drawn between 0 and the cap of that
attempt) so that many clients failing together do not retry in lock-step.

>>> import random
>>> b = Backoff(initial=0.1, factor=2.0, max_delay=1.0, attempts=5, jitter=False)
>>> list(b.delays(random.Random(0)))
[0.1, 0.2, 0.4, 0.8]
>>> calls = []
>>> def flaky():
...     calls.append(1)
...     if len(calls) < 3:
...         raise TransientError("broker busy")
...     return "ok"
>>> retry(flaky, backoff=b, sleep=lambda s: None)
'ok'
>>> len(calls)
3
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from kafka.errors import KafkaError

__all__ = [
    "Backoff",
    "PermanentError",
    "RetriesExhausted",
    "TransientError",
    "is_retriable",
    "retry",
]

log = logging.getLogger(__name__)
T = TypeVar("T")


class TransientError(Exception):
    """Raise from a handler for a failure worth retrying (a timeout, a busy service)."""


class PermanentError(Exception):
    """Raise from a handler for a failure retrying cannot fix (bad data): it goes
    straight to the dead-letter topic."""


class RetriesExhausted(Exception):
    """Every attempt failed; ``__cause__`` is the last error."""

    def __init__(self, attempts: int, last: BaseException) -> None:
        super().__init__(f"gave up after {attempts} attempts: {type(last).__name__}: {last}")
        self.attempts = attempts
        self.last = last


def is_retriable(exc: BaseException) -> bool:
    """Whether retrying may help: transient errors, timeouts and Kafka's retriable errors.

    >>> is_retriable(TransientError()), is_retriable(PermanentError()), is_retriable(ValueError())
    (True, False, False)
    """
    if isinstance(exc, (TransientError, TimeoutError, ConnectionError)):
        return True
    if isinstance(exc, KafkaError):
        return bool(getattr(exc, "retriable", False))
    return False


@dataclass(frozen=True)
class Backoff:
    """How long to wait between attempts.

    Parameters
    ----------
    initial
        Delay before the second attempt, in seconds.
    factor
        Each delay is ``factor`` times the previous one...
    max_delay
        ...but never more than this.
    attempts
        Total attempts, the first included.
    jitter
        Draw each delay uniformly from ``[0, delay]`` ("full jitter").
    """

    initial: float = 0.1
    factor: float = 2.0
    max_delay: float = 5.0
    attempts: int = 5
    jitter: bool = True

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """The ``attempts - 1`` waits between attempts."""
        rng = rng or random.Random()
        delay = self.initial
        for _ in range(self.attempts - 1):
            capped = min(delay, self.max_delay)
            yield rng.uniform(0, capped) if self.jitter else capped
            delay *= self.factor


def retry(fn: Callable[[], T], *, backoff: Backoff = Backoff(),
          retry_on: Callable[[BaseException], bool] = is_retriable,
          sleep: Callable[[float], Any] = time.sleep, rng: random.Random | None = None,
          on_retry: Callable[[int, BaseException, float], Any] | None = None) -> T:
    """Call ``fn`` until it succeeds, retrying the errors ``retry_on`` accepts.

    A non-retriable error is raised at once; when every attempt fails,
    :class:`RetriesExhausted` is raised from the last error.
    """
    delays = backoff.delays(rng)
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except Exception as exc:
            if not retry_on(exc):
                raise
            delay = next(delays, None)
            if delay is None:
                raise RetriesExhausted(attempt, exc) from exc
            log.info("attempt %d failed (%s: %s); retrying in %.2f s",
                     attempt, type(exc).__name__, exc, delay)
            if on_retry:
                on_retry(attempt, exc, delay)
            sleep(delay)
