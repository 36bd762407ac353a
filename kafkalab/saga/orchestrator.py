"""The saga orchestrator: a pure state machine that drives steps and compensations.

It reads no clock and touches no Kafka: every method takes the saga's state
and the time (``now_ms``) and returns the commands to send. That is why it is
unit-tested with fixed timestamps, and why its state (a plain dict) can be
stored next to the processed-event ids and survive a restart of the process
that drives it.

The life of a saga::

    running(step 0) -> running(step 1) -> ... -> completed
         | a step fails (reply) or times out
         v
    compensating: undo every step that succeeded, wait for each undo to be
    acknowledged, re-send unacknowledged undos on timeout -> cancelled
    (a step that timed out is undone too, since it may have run after all,
    but its silent service is not waited for)
                                            -> stuck (after max attempts: a human looks)

>>> from kafkalab.saga.step import SagaStep
>>> class Pay(SagaStep):
...     name, succeeded, failed, compensated = "pay", ("Paid",), ("Declined",), ("Refunded",)
...     def execute(self, saga): return "Charge", {"amount": saga.data["total"]}
...     def compensate(self, saga): return "Refund", {"reason": saga.reason}
>>> o = Orchestrator([Pay()], timeout_s=5)
>>> saga, cmds = o.start("ORD-1", {"total": 10}, now_ms=0)
>>> [c.type for c in cmds], saga.status
(['Charge'], 'running')
>>> [c.type for c in o.on_reply(saga, "Paid", {"paymentId": "P1"}, now_ms=100)], saga.status
(['SagaCompleted'], 'completed')
>>> saga2, _ = o.start("ORD-2", {"total": 10}, now_ms=0)
>>> [c.type for c in o.on_tick(saga2, now_ms=6000)], saga2.status     # no answer in 5 s
(['Refund', 'SagaCancelled'], 'cancelled')
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kafkalab.saga.step import SagaStep

__all__ = ["Command", "Orchestrator", "SagaState", "TERMINAL"]

log = logging.getLogger(__name__)

_NS = uuid.UUID("0b9f3d0e-2c55-4d8e-8a51-6c1f3b2a9e77")

#: Statuses a saga never leaves.
TERMINAL = frozenset({"completed", "cancelled", "stuck"})


@dataclass(frozen=True)
class Command:
    """Something to send: a type, its data, and an id that is the same every
    time the same decision is made (so a re-sent command is recognised)."""

    type: str
    data: dict[str, Any]
    id: str
    step: str | None = None


@dataclass
class SagaState:
    """Where one saga is. Plain data: stored as JSON between events."""

    saga_id: str
    data: dict[str, Any]
    status: str = "running"
    step: int = 0
    started_ms: int = 0
    deadline_ms: int = 0
    done: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    attempt: int = 0
    reason: str | None = None
    finished_ms: int | None = None
    log: list[list[Any]] = field(default_factory=list)

    def to_record(self) -> dict[str, Any]:
        # A JSON-ready copy, nothing shared with this state. dataclasses.asdict
        # did the same by walking every nested value in Python: 16 % of the
        # order services' work per order (bench/profiles.py orders); the json
        # round trip copies the same plain data in C.
        return json.loads(json.dumps(vars(self)))

    @classmethod
    def from_record(cls, d: dict[str, Any]) -> SagaState:
        return cls(**d)

    def note(self, now_ms: int, text: str) -> None:
        self.log.append([now_ms, text])


class Orchestrator:
    """Drive sagas made of ``steps``, in order, compensating on failure.

    Parameters
    ----------
    steps
        The saga's steps, in execution order.
    timeout_s
        Default seconds a step may take before it is compensated.
    max_attempts
        Times an unacknowledged compensation is sent before the saga is
        marked ``stuck``.
    completed_type, cancelled_type
        Types of the commands announcing the outcome (the order service maps
        them to ``OrderCompleted`` and ``OrderCancelled`` events).
    """

    def __init__(self, steps: Sequence[SagaStep], *, timeout_s: float = 10.0,
                 max_attempts: int = 5, completed_type: str = "SagaCompleted",
                 cancelled_type: str = "SagaCancelled") -> None:
        names = [s.name for s in steps]
        if len(set(names)) != len(names):
            raise ValueError(f"saga step names must be unique; got {names}")
        if not steps:
            raise ValueError("a saga needs at least one step")
        self.steps = list(steps)
        self.by_name = {s.name: s for s in steps}
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.completed_type = completed_type
        self.cancelled_type = cancelled_type
        # Which step a reply belongs to, and what it means.
        self.reply_map: dict[str, tuple[SagaStep, str]] = {}
        for s in steps:
            for reply, meaning in s.replies().items():
                if reply in self.reply_map:
                    raise ValueError(f"reply type {reply!r} belongs to two steps")
                self.reply_map[reply] = (s, meaning)

    # -- helpers -------------------------------------------------------------

    def _command(self, saga: SagaState, action: tuple[str, dict[str, Any]] | None, step: str,
                 verb: str) -> list[Command]:
        if action is None:
            return []
        ctype, data = action
        cid = str(uuid.uuid5(_NS, f"{saga.saga_id}/{step}/{verb}/{saga.attempt}"))
        return [Command(ctype, data, cid, step)]

    def _timeout_ms(self, step: SagaStep) -> int:
        return int(1000 * (step.timeout_s if step.timeout_s is not None else self.timeout_s))

    def _run_step(self, saga: SagaState, now_ms: int) -> list[Command]:
        step = self.steps[saga.step]
        saga.deadline_ms = now_ms + self._timeout_ms(step)
        saga.note(now_ms, f"execute {step.name}")
        return self._command(saga, step.execute(saga), step.name, "execute")

    def _finish(self, saga: SagaState, status: str, now_ms: int) -> list[Command]:
        saga.status = status
        saga.finished_ms = now_ms
        saga.deadline_ms = 0
        saga.note(now_ms, status + (f": {saga.reason}" if saga.reason and status != "completed" else ""))
        if status == "completed":
            out: list[Command] = []
            for s in self.steps:
                out += self._command(saga, s.confirm(saga), s.name, "confirm")
            return out + self._command(saga, (self.completed_type, {}), "saga", "completed")
        if status == "cancelled":
            return self._command(saga, (self.cancelled_type, {
                "reason": saga.reason, "compensated": list(saga.done)}), "saga", "cancelled")
        return []

    def _compensate(self, saga: SagaState, reason: str, now_ms: int,
                    include_current: bool) -> list[Command]:
        saga.status = "compensating"
        saga.reason = reason
        saga.note(now_ms, f"compensate: {reason}")
        out: list[Command] = []
        if include_current:
            # The step timed out: it may still have run, so it is undone too.
            # Its service is not answering, so we do not wait for its ack: the
            # command waits in its topic, and the service, reading its commands
            # in order, will undo the step (or refuse it) when it is back.
            current = self.steps[saga.step]
            out += self._command(saga, current.compensate(saga), current.name, "compensate")
        return out + self._send_compensations(saga, list(reversed(saga.done)), now_ms)

    def _send_compensations(self, saga: SagaState, names: list[str], now_ms: int) -> list[Command]:
        out: list[Command] = []
        pending = []
        for name in names:
            cmds = self._command(saga, self.by_name[name].compensate(saga), name, "compensate")
            if cmds:
                pending.append(name)
            out += cmds
        saga.pending = pending
        saga.deadline_ms = now_ms + int(1000 * self.timeout_s)
        if not pending:
            return out + self._finish(saga, "cancelled", now_ms)
        return out

    # -- the three entry points ---------------------------------------------

    def start(self, saga_id: str, data: dict[str, Any], now_ms: int) -> tuple[SagaState, list[Command]]:
        """A new saga at step 0, and the command that runs it."""
        saga = SagaState(saga_id=saga_id, data=dict(data), started_ms=now_ms)
        return saga, self._run_step(saga, now_ms)

    def on_reply(self, saga: SagaState, reply_type: str, reply: dict[str, Any],
                 now_ms: int) -> list[Command]:
        """Advance ``saga`` (in place) on a service's reply; return what to send.

        Replies that do not fit (late, duplicated, for another step) change
        nothing: the saga notes them and moves on.
        """
        if reply_type not in self.reply_map or saga.status in TERMINAL:
            return []
        step, meaning = self.reply_map[reply_type]
        if saga.status == "running" and step is self.steps[saga.step]:
            if meaning == "succeeded":
                step.on_success(saga, reply)
                saga.done.append(step.name)
                saga.note(now_ms, f"{step.name} succeeded")
                if saga.step + 1 == len(self.steps):
                    return self._finish(saga, "completed", now_ms)
                saga.step += 1
                return self._run_step(saga, now_ms)
            if meaning == "failed":
                why = reply.get("reason") or reply_type
                return self._compensate(saga, f"{step.name} failed: {why}", now_ms,
                                        include_current=False)
        if saga.status == "compensating" and meaning == "compensated" and step.name in saga.pending:
            saga.pending.remove(step.name)
            saga.note(now_ms, f"{step.name} compensated")
            if not saga.pending:
                return self._finish(saga, "cancelled", now_ms)
            return []
        saga.note(now_ms, f"ignored {reply_type} while {saga.status}")
        return []

    def on_tick(self, saga: SagaState, now_ms: int) -> list[Command]:
        """Check ``saga``'s deadline: compensate a step that took too long, or
        re-send compensations nobody acknowledged."""
        if saga.status in TERMINAL or not saga.deadline_ms or now_ms < saga.deadline_ms:
            return []
        if saga.status == "running":
            name = self.steps[saga.step].name
            return self._compensate(saga, f"{name} timed out", now_ms, include_current=True)
        # compensating: someone did not answer; ask again (commands are idempotent).
        saga.attempt += 1
        if saga.attempt >= self.max_attempts:
            saga.reason = f"{saga.reason}; compensation of {saga.pending} never acknowledged"
            return self._finish(saga, "stuck", now_ms)
        saga.note(now_ms, f"re-send compensations {saga.pending} (attempt {saga.attempt + 1})")
        return self._send_compensations(saga, list(saga.pending), now_ms)
