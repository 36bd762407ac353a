"""A batch in one SQLite transaction (a savepoint per event) leaves exactly the state,
processed ids, outbox and dead letters that handling the same records one by one does."""

from __future__ import annotations

import pytest

from kafkalab.clients import Backoff, ConsumerLoop
from kafkalab.orders import Store, new_event
from kafkalab.orders.runner import ServiceRunner
from kafkalab.orders.service import Service
from kafkalab.testing import make_events


class HalfWriter(Service):
    """Writes, then fails on orders marked ``explode``: a failure after a write."""

    name, consumes = "half-writer", ("orders",)

    def handle(self, event):
        self.store.put(f"seen/{event.order_id}", self.store.get(f"seen/{event.order_id}", 0) + 1)
        if event.data.get("explode"):
            raise ValueError("failed after writing")
        return [new_event("OrderCompleted", event.order_id, {"total": 1}, source=self.name,
                          cause=event, now_ms=5)]


class DeadLetters:
    def __init__(self):
        self.sent = []

    def send(self, msg, error, *, stage, attempts, wait=True):  # as clients.DeadLetterQueue.send
        self.sent.append((msg.offset, stage, str(error)))


def _records():
    placed = [new_event("OrderPlaced", f"ORD-{i}", {"customerId": "C", "items": [], "total": 1,
                                                    "explode": i == 2}, source="api", now_ms=i,
                        event_id=f"e{i}") for i in range(5)]
    values = [e.to_record() for e in placed]
    values.insert(3, {"eventType": "OrderPlaced"})  # not an envelope: poison
    values.append(placed[1].to_record())  # delivered twice
    return values


def _state(service):
    store = service.store
    return (store.items(), store._db.execute("SELECT event_id FROM processed ORDER BY 1").fetchall(),
            [(t, k, v) for _, t, k, v in store.outbox_pending()], service.duplicates, service.handled)


def _run(batch_size):
    service, dead = HalfWriter(Store()), DeadLetters()
    runner = ServiceRunner(service, producer=None)
    backoff = Backoff(initial=0, max_delay=0, attempts=1)
    if batch_size is None:  # one record at a time, each process() its own transaction
        loop = ConsumerLoop(None, runner._on_message, dead_letter=dead, backoff=backoff)
        batch_size = 1
    else:
        loop = ConsumerLoop(None, batch_handler=runner._on_batch, dead_letter=dead, backoff=backoff)
    msgs = make_events(_records(), topic="orders")
    for i in range(0, len(msgs), batch_size):
        loop._handle(msgs[i:i + batch_size])
    return _state(service), dead.sent, loop.stats


@pytest.mark.parametrize("batch_size", [1, 3, 100])
def test_a_batch_in_one_transaction_ends_where_one_by_one_does(batch_size):
    (state, dead, stats), (want_state, want_dead, want_stats) = _run(batch_size), _run(None)
    assert state == want_state and dead == want_dead
    assert (stats.processed, stats.dead_lettered) == (want_stats.processed, want_stats.dead_lettered)
    items, processed, outbox, duplicates, handled = state
    # The failed order's write was rolled back, the poison record dead-lettered, the
    # duplicate skipped: nothing half-done is left behind.
    assert dict(items) == {"seen/ORD-0": 1, "seen/ORD-1": 1, "seen/ORD-3": 1, "seen/ORD-4": 1}
    assert [p for (p,) in processed] == ["e0", "e1", "e3", "e4"] and len(outbox) == 4
    assert (duplicates, handled) == (1, 4) and [d[0] for d in dead] == [2, 3]


def test_a_crash_in_a_batch_leaves_nothing_of_it(tmp_path):
    class Crash(BaseException):
        pass

    class Crashing(HalfWriter):
        def handle(self, event):
            if event.order_id == "ORD-3":
                raise Crash  # a kill mid-batch: not an error to dead-letter
            return super().handle(event)

    service = Crashing(Store(tmp_path / "s.db"))
    loop = ConsumerLoop(None, batch_handler=ServiceRunner(service, producer=None)._on_batch,
                        dead_letter=DeadLetters())
    with pytest.raises(Crash):
        loop._handle(make_events(_records()[:3] + _records()[4:5], topic="orders"))
    # Redelivered in full after the restart: every id is either stored with its effects or not.
    assert service.store.items() == [] and service.store.processed_count() == 0
    assert service.store.outbox_pending() == []
