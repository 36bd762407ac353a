"""The contract of the one consume loop (kafkalab.clients.ConsumerLoop), on a real broker.

Every pipeline runs on this loop, so these are its promises: bounds count
this run, the idle clock restarts after a batch's work, a refused commit is
counted and the batch comes again, before_commit runs before every commit,
on_assign runs on every assignment, and the stats add up.
"""

from __future__ import annotations

import threading
import time

import pytest
from kafka.errors import CommitFailedError, RebalanceInProgressError

from kafkalab.clients import Bounds, Consumer, ConsumerLoop, DeadLetterQueue, LoopStats
from tests.conftest import unique


def fill(producer, topic, n, **kw):
    for i in range(n):
        producer.send(topic, {"n": i}, **kw)
    producer.flush()


def eventually(cond, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def test_bounds_are_validated_and_say_why_a_run_stopped():
    with pytest.raises(ValueError, match="timeout must be >= 0"):
        Bounds(timeout=-1)
    with pytest.raises(ValueError, match="needs a bound"):
        Bounds().require()
    t = [100.0]
    run = Bounds(timeout=10).start(clock=lambda: t[0])
    t[0] = 109.9
    assert run.stop_reason(seen=0) is None and run.wait(0.5) == pytest.approx(0.1)
    t[0] = 110.0
    assert run.stop_reason(seen=0) == "timeout"


def test_max_messages_counts_this_run_and_batches_stop_exactly_there(producer, new_topic):
    topic = new_topic(partitions=2)
    fill(producer, topic, 30, key=None)
    with Consumer(topic, group_id=unique("bounds")) as c:
        loop = ConsumerLoop(c, lambda m: None, max_records=4)
        first = loop.run(max_messages=10, timeout=30, handle_signals=False)
        assert (first.seen, first.processed) == (10, 10)
        loop.run(Bounds(max_messages=10, timeout=30), handle_signals=False)
    assert (loop.stats.seen, loop.stats.processed) == (20, 20)  # a second run, 10 more
    assert loop.stats.batches >= 20 / 4


def test_idle_clock_restarts_after_the_batch_work(producer, new_topic):
    # The first batch takes longer than idle_timeout, and sends the next record
    # at its very end. Had the idle clock started before the work, the loop
    # would stop before reading it.
    topic = new_topic(partitions=1)
    handled = []

    def slow(batch):
        for m in batch:
            handled.append(m.value["n"])
        if handled == [0]:
            time.sleep(3.0)
            producer.send_and_wait(topic, {"n": 1})

    with Consumer(topic, group_id=unique("idle")) as c:
        loop = ConsumerLoop(c, batch_handler=slow)
        producer.send_and_wait(topic, {"n": -1})  # warm up: joined and fetching
        loop.run(max_messages=1, timeout=60, handle_signals=False)
        producer.send_and_wait(topic, {"n": 0})
        handled.clear()
        stats = loop.run(idle_timeout=2.0, timeout=60, handle_signals=False)
    assert handled == [0, 1] and stats.batches == 3


def test_refused_commit_is_counted_and_the_batch_is_read_again(producer, new_topic, admin):
    topic = new_topic(partitions=1)
    fill(producer, topic, 5)
    group = unique("refused")

    class RefusesOnce(Consumer):
        refused = False

        def commit(self, messages=None):  # the fault: the group moved on meanwhile
            if not self.refused:
                self.refused = True
                raise RebalanceInProgressError()
            super().commit(messages)

    seen = []
    with RefusesOnce(topic, group_id=group) as c:
        loop = ConsumerLoop(c, lambda m: seen.append(m.value["n"]))
        stats = loop.run(max_messages=10, timeout=30, handle_signals=False)
    assert (stats.refused_commits, stats.redelivered) == (1, 5)
    assert sorted(seen) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]  # the partition stayed ours: read again
    assert sum(p.lag for p in admin.lag(group, topic)) == 0  # and committed the second time


def test_refused_commit_goes_to_the_next_owner_and_is_never_raised(producer, new_topic):
    topic = new_topic(partitions=1)
    fill(producer, topic, 3)
    group = unique("handover")

    class Refuses(Consumer):
        def commit(self, messages=None):
            raise CommitFailedError()

    with Refuses(topic, group_id=group) as c:
        stats = ConsumerLoop(c, lambda m: None).run(max_messages=3, timeout=30,
                                                     handle_signals=False)
    assert stats.refused_commits == 1 and stats.processed == 3
    with Consumer(topic, group_id=group) as c:  # the next owner
        again = [m.value["n"] for m in c.messages(idle_timeout=1.5, timeout=30)]
    assert again == [0, 1, 2]


def test_before_commit_runs_before_every_commit_and_can_prevent_it(producer, new_topic, admin):
    topic = new_topic(partitions=2)
    fill(producer, topic, 12, key=None)
    events: list[str] = []

    class Recording(Consumer):
        def commit(self, messages=None):
            events.append("commit")
            super().commit(messages)

    group = unique("before")
    with Recording(topic, group_id=group) as c:
        loop = ConsumerLoop(c, lambda m: None, max_records=3,
                            before_commit=lambda batch: events.append(f"before:{len(batch)}"))
        stats = loop.run(max_messages=12, timeout=30, handle_signals=False)
    assert stats.batches >= 4 and len(events) == 2 * stats.batches
    assert all(e.startswith("before:") for e in events[0::2]) and set(events[1::2]) == {"commit"}

    fill(producer, topic, 2, key=None)

    def fails(batch):
        raise OSError("the checkpoint store is down")

    with Consumer(topic, group_id=group) as c:
        with pytest.raises(OSError):
            ConsumerLoop(c, lambda m: None, before_commit=fails).run(max_messages=2, timeout=30,
                                                                     handle_signals=False)
    assert sum(p.lag for p in admin.lag(group, topic)) == 2  # nothing committed


def test_on_assign_runs_on_every_assignment_before_that_poll_is_handled(producer, new_topic):
    topic = new_topic(partitions=4)
    group = unique("assign")
    calls: list[set[int]] = []
    loop_ready = threading.Event()

    with Consumer(topic, group_id=group) as a:
        loop = ConsumerLoop(a, lambda m: None, poll_timeout=0.1,
                            on_assign=lambda tps: calls.append({tp.partition for tp in tps}))
        t = threading.Thread(target=lambda: (loop.run(timeout=90, handle_signals=False),
                                             loop_ready.set()))
        t.start()
        try:
            eventually(lambda: {0, 1, 2, 3} in calls, "the first member gets all 4 partitions")
            b = Consumer(topic, group_id=group)
            b.wait_for_assignment(30)
            eventually(lambda: calls[-1] and len(calls[-1]) == 2, "a rebalance gives it 2")
            b.close()  # leaves the group: a gets everything back
            eventually(lambda: calls[-1] == {0, 1, 2, 3}, "and all 4 again after b leaves")
        finally:
            loop.stop()
            t.join(30)
    full = [c for c in calls if c == {0, 1, 2, 3}]
    assert len(full) >= 2 and any(len(c) == 2 for c in calls)


def test_stats_dead_letters_and_metrics_add_up(producer, new_topic):
    topic = new_topic(partitions=1)
    dlq = new_topic(partitions=1, prefix="dlq")
    fill(producer, topic, 6)
    producer.raw.send(topic, b"{not json")
    producer.flush()

    class Registry:  # what kafkalab.ops.Registry offers, without importing ops
        def __init__(self):
            self.counts, self.observed = {}, []

        def inc(self, name, by=1, **labels):
            self.counts[name] = self.counts.get(name, 0) + by

        def histogram(self, name, **labels):
            return self

        def observe(self, value):
            self.observed.append(value)

    def odd_is_bad(batch):
        for m in batch:
            if m.value["n"] % 2:
                batch.dead_letter(m, ValueError(f"{m.value['n']} is odd"), stage="validate")
        return len(batch)

    reg = Registry()
    got: list[int] = []
    with Consumer(topic, group_id=unique("stats")) as c:
        loop = ConsumerLoop(c, batch_handler=odd_is_bad, dead_letter=DeadLetterQueue(producer, dlq),
                            stats=LoopStats(), metrics=reg, name="odd")
        for batch in loop.batches(max_messages=7, timeout=30):
            got.append(batch.result)
    s = loop.stats
    assert (s.seen, s.processed, s.dead_lettered) == (7, 3, 4)  # 3 odd + 1 undecodable
    assert sum(got) == 6 and len(reg.observed) == s.batches
    assert reg.counts == {"records_total": 7, "dead_letters_total": 4}
    with Consumer(dlq, group_id=False) as c:
        stages = sorted(m.value["error"]["stage"] for m in c.messages(max_messages=4, timeout=30))
    assert stages == ["decode", "validate", "validate", "validate"]


def test_a_crash_in_the_batch_handler_commits_nothing(producer, new_topic, admin):
    topic = new_topic(partitions=1)
    fill(producer, topic, 4)
    group = unique("crash")

    def crash(batch):
        raise RuntimeError("the process dies mid-batch")

    with Consumer(topic, group_id=group) as c:
        with pytest.raises(RuntimeError):
            ConsumerLoop(c, batch_handler=crash).run(max_messages=4, timeout=30,
                                                     handle_signals=False)
    assert sum(p.lag for p in admin.lag(group, topic)) == 4


def test_dead_letters_are_sent_together_and_acknowledged_before_the_commit(producer, new_topic, admin):
    topic = new_topic(partitions=1)
    fill(producer, topic, 4)
    producer.raw.send(topic, b"{not json")
    producer.flush()
    events: list[str] = []

    class Future:
        def __init__(self, fails):
            self.fails = fails

        def get(self, timeout=None):
            events.append("ack" if not self.fails else "failed")
            if self.fails:
                raise TimeoutError("no acknowledgement from the broker")

    class Sends:  # a producer whose dead-letter sends fail when told to
        fails = False

        def send(self, topic, value, **kw):
            events.append(f"send:{value['error']['stage']}")
            return Future(self.fails)

    class Recording(Consumer):
        def commit(self, messages=None):
            events.append("commit")
            super().commit(messages)

    def all_bad(batch):
        for m in batch:
            batch.dead_letter(m, ValueError("bad"), stage="validate")

    sends, group = Sends(), unique("dlq-ack")
    with Recording(topic, group_id=group) as c:
        loop = ConsumerLoop(c, batch_handler=all_bad, dead_letter=DeadLetterQueue(sends, "dlq"))
        stats = loop.run(max_messages=5, timeout=30, handle_signals=False)
    assert stats.dead_lettered == 5 and stats.batches == len([e for e in events if e == "commit"])
    # Within each batch: every send, then every acknowledgement, then the commit.
    batches = "|".join(events).split("|commit")
    for b in filter(None, batches):
        parts = b.strip("|").split("|")
        first_ack = parts.index("ack")
        assert all(p.startswith("send:") for p in parts[:first_ack]), parts
        assert all(p == "ack" for p in parts[first_ack:]) and len(parts) == 2 * first_ack, parts
    assert "send:decode" in events

    # A dead letter the broker does not acknowledge: the loop stops, nothing is committed.
    fill(producer, topic, 2)
    sends.fails, events[:] = True, []
    with Recording(topic, group_id=group) as c:
        with pytest.raises(TimeoutError):
            ConsumerLoop(c, batch_handler=all_bad, dead_letter=DeadLetterQueue(sends, "dlq")).run(
                max_messages=2, timeout=30, handle_signals=False)
    assert "commit" not in events and "failed" in events
    assert sum(p.lag for p in admin.lag(group, topic)) == 2
