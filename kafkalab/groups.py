"""Watch a consumer group share partitions as members join and leave.

A :class:`Group` runs each member, a :class:`~kafkalab.clients.Consumer` of
the same ``group_id``, on its own thread, and records every change of its
assignment with the time it happened. Adding or removing a member triggers a
rebalance: for a moment the members own nothing, then the partitions are
dealt out again. The timeline shows it happen.

Every member commits after each batch, so a partition that moves to another
member is continued from where the old owner stopped. If a rebalance refuses
a commit, the batch is delivered again to the next owner, and the member's
``uncommitted`` count says how many records that was.

>>> g = Group("orders", "billing")        # no thread, no network I/O yet
>>> g.members
{}
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from kafka.structs import TopicPartition

from kafkalab.clients.consumer import Consumer
from kafkalab.clients.loop import Batch, ConsumerLoop
from kafkalab.clients.message import Message
from kafkalab.settings import Settings, get_settings

__all__ = ["Change", "Group", "Member", "settled"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """At ``t`` seconds, ``member`` owned ``partitions`` (empty while rebalancing)."""

    t: float
    member: str
    partitions: tuple[int, ...]


@dataclass
class Member:
    """One member's state, updated by its thread and read by anyone."""

    name: str
    partitions: tuple[int, ...] = ()
    processed: int = 0
    uncommitted: int = 0
    rebalances: int = 0
    alive: bool = True
    error: str | None = None
    thread: threading.Thread | None = field(default=None, repr=False)
    stop: threading.Event = field(default_factory=threading.Event, repr=False)
    loop: ConsumerLoop | None = field(default=None, repr=False)


def settled(assignments: dict[str, tuple[int, ...]], num_partitions: int) -> bool:
    """True when every partition is owned by exactly one member.

    >>> settled({"A": (0, 1), "B": (2,)}, 3)
    True
    >>> settled({"A": (0, 1), "B": (1, 2)}, 3)     # stale view during a rebalance
    False
    >>> settled({"A": (0,), "B": ()}, 3)
    False
    """
    owned = [p for parts in assignments.values() for p in parts]
    return len(owned) == num_partitions and set(owned) == set(range(num_partitions))


class Group:
    """Members of one consumer group, each on a thread, with a shared timeline.

    Parameters
    ----------
    topic
        The topic the members subscribe to.
    group_id
        The group they share (use a fresh one per experiment: a group's
        committed offsets outlive its members).
    handler
        Called with each record, on the member's thread (default: nothing).
    record_delay
        Seconds of pretend work per record, e.g. 0.002 for a 2 ms database call.
    from_beginning
        Where members start on partitions the group never committed on.
    max_records
        Records per poll: small batches make commits, and so hand-overs, finer.
    """

    def __init__(self, topic: str, group_id: str, *, handler: Callable[[Message], Any] | None = None,
                 record_delay: float = 0.0, from_beginning: bool = True, max_records: int = 50,
                 settings: Settings | None = None) -> None:
        self.topic = topic
        self.group_id = group_id
        self.handler = handler
        self.record_delay = record_delay
        self.from_beginning = from_beginning
        self.max_records = max_records
        self.settings = settings or get_settings()
        self.members: dict[str, Member] = {}
        self.changes: list[Change] = []
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    # -- timeline ----------------------------------------------------------

    def _now(self) -> float:
        return round(time.monotonic() - self._t0, 3)

    def _record(self, member: Member, partitions: tuple[int, ...]) -> None:
        with self._lock:
            if partitions != member.partitions or not any(c.member == member.name
                                                          for c in self.changes):
                member.partitions = partitions
                self.changes.append(Change(self._now(), member.name, partitions))
                log.info("t=%.1fs %s owns partitions %s", self._now(), member.name, list(partitions))

    def timeline(self) -> pd.DataFrame:
        """Every assignment change: columns ``t, member, partitions, n_partitions``."""
        with self._lock:
            rows = [{"t": c.t, "member": c.member, "partitions": list(c.partitions),
                     "n_partitions": len(c.partitions)} for c in self.changes]
        return pd.DataFrame(rows, columns=["t", "member", "partitions", "n_partitions"])

    def assignments(self) -> dict[str, tuple[int, ...]]:
        """What each live member owns now."""
        with self._lock:
            return {m.name: m.partitions for m in self.members.values() if m.alive}

    # -- members -----------------------------------------------------------

    def add(self, name: str) -> Member:
        """Start a member on its own thread; it joins the group on its first poll."""
        if name in self.members and self.members[name].alive:
            raise ValueError(f"member {name!r} is already running")
        member = Member(name)
        member.thread = threading.Thread(target=self._run, args=(member,), daemon=True,
                                         name=f"{self.group_id}-{name}")
        self.members[name] = member
        self._record(member, ())
        member.thread.start()
        return member

    def _run(self, member: Member) -> None:
        # The consumer is created and used on this thread only: kafka-python
        # consumers are not thread-safe.
        consumer = Consumer(self.topic, group_id=self.group_id, settings=self.settings,
                            from_beginning=self.from_beginning)

        def work(batch: Batch) -> None:
            for msg in batch:
                if self.handler is not None:
                    self.handler(msg)
                if self.record_delay:
                    time.sleep(self.record_delay)
            with self._lock:
                member.processed += len(batch)

        def assigned(partitions: set[TopicPartition]) -> None:
            member.rebalances = consumer.rebalances
            self._record(member, tuple(sorted(tp.partition for tp in partitions)))

        # The loop commits after each batch: whoever owns the partition next
        # starts right after the last record we finished. A commit refused
        # during a rebalance is counted, and the next owner reads the batch
        # again: at-least-once, in plain sight (``Member.uncommitted``).
        loop = ConsumerLoop(consumer, batch_handler=work, on_assign=assigned,
                            max_records=self.max_records, poll_timeout=0.1,
                            name=f"{self.group_id}-{member.name}")
        member.loop = loop
        if member.stop.is_set():  # removed before the loop existed
            loop.stop()
        try:
            for _batch in loop.batches():  # until remove() stops it
                member.uncommitted = loop.stats.redelivered
        except Exception as exc:  # reported, not swallowed: see Member.error
            member.error = f"{type(exc).__name__}: {exc}"
            log.exception("member %s of group %s failed", member.name, self.group_id)
        finally:
            consumer.close()  # LeaveGroup: the others take over at once
            member.alive = False
            self._record(member, ())

    def remove(self, name: str, timeout: float = 10.0) -> None:
        """Stop a member: it finishes its batch, commits, leaves the group."""
        member = self.members[name]
        member.stop.set()
        if member.loop is not None:
            member.loop.stop()
        if member.thread is not None:
            member.thread.join(timeout)
            if member.thread.is_alive():
                raise TimeoutError(f"member {name!r} did not stop within {timeout} s")

    def wait_settled(self, num_partitions: int, timeout: float = 20.0, hold: float = 0.3,
                     tick: Callable[[], Any] | None = None) -> float:
        """Wait until every partition has exactly one live owner (for ``hold`` seconds);
        return the time (seconds since the group was made) when it happened.

        ``tick`` is called about every 50 ms while waiting, e.g. to refresh a
        live chart of :meth:`timeline`.
        """
        deadline = time.monotonic() + timeout
        since: float | None = None
        while time.monotonic() < deadline:
            self.raise_errors()
            live = self.assignments()
            ok = settled(live, num_partitions) and all(
                self.members[n].rebalances > 0 for n in live)
            if ok and since is None:
                since = time.monotonic()
            elif not ok:
                since = None
            if since is not None and time.monotonic() - since >= hold:
                return round(since - self._t0, 3)
            if tick is not None:
                tick()
            time.sleep(0.05)
        raise TimeoutError(f"group {self.group_id!r} did not settle within {timeout} s: "
                           f"{self.assignments()}")

    def raise_errors(self) -> None:
        """Raise if a member's thread died with an error (it is never swallowed)."""
        errors = [f"{m.name}: {m.error}" for m in self.members.values() if m.error]
        if errors:
            raise RuntimeError(f"a member of group {self.group_id!r} failed: " + "; ".join(errors))

    def processed(self) -> int:
        """Records handled by all members so far."""
        with self._lock:
            return sum(m.processed for m in self.members.values())

    def close(self, timeout: float = 10.0) -> None:
        """Stop every member: all are told at once, then each is awaited."""
        alive = [name for name, member in self.members.items() if member.alive]
        for name in alive:
            self.members[name].stop.set()
        for name in alive:
            self.remove(name, timeout)

    def __enter__(self) -> Group:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
