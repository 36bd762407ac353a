"""Checkers for week 4: a saga step's compensation, an invariant, and Kafka transactions.

>>> from kafkalab.saga import SagaStep
>>> class AwardPoints(SagaStep):
...     name = "loyalty"
...     succeeded, failed, compensated = ("PointsAwarded",), ("PointsRejected",), ("PointsRevoked",)
...     def execute(self, saga):
...         return "AwardPoints", {"customerId": saga.data["customerId"],
...                                "points": saga.data["total"] // 100}
...     def compensate(self, saga):
...         return "RevokePoints", {"customerId": saga.data["customerId"],
...                                 "points": saga.data["total"] // 100}
>>> print(check_loyalty_step(AwardPoints))
Exercise 1: compensate a new saga step: 5 of 5 checks passed
  ✔ on the happy path it awards 15 points to CUST-001 after the payment
  ✔ a failed shipment revokes the points (and refunds, and releases the stock)
  ✔ the saga ends cancelled once every undo is acknowledged
  ✔ if the points were rejected, nothing is revoked (only payment and stock are undone)
  ✔ if the loyalty service never answers, the points are revoked anyway (they may have been given)

A wrong answer says what is wrong (and, under the test suite, raises)::

    ✘ a failed shipment sent ['RefundPayment', 'ReleaseInventory'], which does not undo the
      points: when a later step fails, the orchestrator asks every step that succeeded for its undo...
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from kafkalab.exercises import Result, guard_checkers
from kafkalab.orders.events import Event
from kafkalab.orders.order_saga import ChargePayment, CreateShipment, ReserveInventory
from kafkalab.saga import Orchestrator, SagaStep

__all__ = ["InjectedFailure", "check_exactly_once", "check_loyalty_step", "check_shipped_twice",
           "check_transaction_prediction", "observe_transactions", "shipping_events", "write_transactions"]

_ORDER = {"customerId": "CUST-001", "total": 1550,
          "items": [{"productId": "ITEM-001", "name": "Laptop", "price": 1500, "quantity": 1},
                    {"productId": "ITEM-002", "name": "Mouse", "price": 25, "quantity": 2}]}
_OK: list[tuple[str, dict[str, Any]]] = [("InventoryReserved", {"items": {"ITEM-001": 1}}),
       ("PaymentCharged", {"paymentId": "P", "amount": 1550})]


def _types(cmds: Iterable[Any]) -> list[str]:
    return [c.type for c in cmds]


def check_loyalty_step(step_cls: type[SagaStep]) -> Result:
    """Exercise 1: a ``loyalty`` step between payment and shipping, with its compensation."""
    r = Result("Exercise 1: compensate a new saga step")
    try:
        step = step_cls()
        saga_def = Orchestrator([ReserveInventory(), ChargePayment(), step, CreateShipment()],
                                timeout_s=5, completed_type="OrderCompleted",
                                cancelled_type="OrderCancelled")
    except Exception as exc:
        r.check(False, "", f"the step could not be used: {type(exc).__name__}: {exc}. Subclass "
                           "SagaStep, set name and the reply types, write execute and compensate")
        return r.done()

    def to_loyalty(now: int = 0) -> tuple[Any, list[Any]]:
        saga, _ = saga_def.start("ORD-1", _ORDER, now_ms=now)
        cmds: list[Any] = []
        for i, reply in enumerate(_OK):
            cmds = saga_def.on_reply(saga, *reply, now_ms=now + 10 * (i + 1))
        return saga, cmds

    try:
        saga, cmds = to_loyalty()
        award = cmds[0] if cmds else None
        r.check(award is not None and award.type == "AwardPoints"
                and award.data.get("points") == 15 and award.data.get("customerId") == "CUST-001",
                "on the happy path it awards 15 points to CUST-001 after the payment",
                f"after the payment the saga sent {_types(cmds)} with data "
                f"{award.data if award else None}: the command after the payment is your step's "
                "execute(), built from the order the saga carries (saga.data)")
        after = saga_def.on_reply(saga, step.succeeded[0] if step.succeeded else "PointsAwarded",
                                  {}, now_ms=40)
        failed = saga_def.on_reply(saga, "ShipmentFailed", {"reason": "no carrier"}, now_ms=50)
        revoke = [c for c in failed if c.type == "RevokePoints"]
        r.check(_types(after) == ["CreateShipment"] and revoke
                and revoke[0].data.get("points") == 15
                and {"RefundPayment", "ReleaseInventory"} <= set(_types(failed)),
                "a failed shipment revokes the points (and refunds, and releases the stock)",
                f"a failed shipment sent {_types(failed)}, which does not undo the points: when a later "
                "step fails, the orchestrator asks every step that succeeded for its undo command, and "
                "it knows a step succeeded by the reply types the step declares")
        for reply in ("PaymentRefunded", "InventoryReleased",
                      step.compensated[0] if step.compensated else "PointsRevoked"):
            last = saga_def.on_reply(saga, reply, {"amount": 0, "items": {}}, now_ms=60)
        r.check(saga.status == "cancelled" and _types(last) == ["OrderCancelled"],
                "the saga ends cancelled once every undo is acknowledged",
                f"after every undo was acknowledged the saga is {saga.status!r} (pending "
                f"{saga.pending}): the orchestrator waits for an acknowledgement of each undo; "
                "which reply says the points were taken back?")
        saga2, _ = to_loyalty()
        out = saga_def.on_reply(saga2, step.failed[0] if step.failed else "PointsRejected",
                                {"reason": "no account"}, now_ms=40)
        r.check(set(_types(out)) == {"RefundPayment", "ReleaseInventory"},
                "if the points were rejected, nothing is revoked (only payment and stock are undone)",
                f"a PointsRejected reply sent {_types(out)}: a step that failed changed nothing, so only "
                "the steps before it are undone, and the orchestrator knows it failed by the reply "
                "types the step declares")
        saga3, _ = to_loyalty()
        out = saga_def.on_tick(saga3, now_ms=10_000)
        r.check("RevokePoints" in _types(out),
                "if the loyalty service never answers, the points are revoked anyway "
                "(they may have been given)",
                f"a timed-out loyalty step sent {_types(out)}: a step that never answered may still "
                "have acted, so its undo cannot depend on its reply")
    except Exception as exc:
        r.check(False, "", f"running the saga with your step raised {type(exc).__name__}: {exc}")
    return r.done()


def shipping_events() -> list[Event]:
    """A fixed stream of shipping events: one order shipped twice, one duplicate delivery."""
    from kafkalab.orders.events import new_event

    def shipped(oid: str, sid: str, eid: str) -> Event:
        return new_event("ShipmentCreated", oid, {"shipmentId": sid}, source="shipping",
                         now_ms=0, event_id=eid)

    return [shipped("ORD-1", "SHP-1", "e1"), shipped("ORD-1", "SHP-1", "e1"),   # redelivered
            shipped("ORD-2", "SHP-2", "e2"), shipped("ORD-2", "SHP-2", "e3"),   # re-sent command
            shipped("ORD-3", "SHP-3", "e4"), shipped("ORD-3", "SHP-3b", "e5"),  # two shipments!
            new_event("ShipmentCancelled", "ORD-4", {"shipmentId": "SHP-4"}, source="shipping",
                      now_ms=0, event_id="e6")]


def check_shipped_twice(fn: Callable[[list[Event]], Any]) -> Result:
    """Exercise 2: ``fn(events)`` returns the order ids that got more than one shipment."""
    r = Result("Exercise 2: check the no-double-shipping invariant")
    try:
        got = fn(shipping_events())
    except Exception as exc:
        r.check(False, "", f"your function raised {type(exc).__name__}: {exc}")
        return r.done()
    got_set = set(got or ())
    r.check("ORD-3" in got_set, "it finds ORD-3, which has two different shipment ids",
            f"it returned {sorted(got_set)}, but one order in the stream really was shipped twice: "
            "look at what each ShipmentCreated says was shipped")
    r.check(not {"ORD-1", "ORD-2"} & got_set,
            "a redelivered event or a re-sent command with the same shipmentId is not a second shipment",
            f"it returned {sorted(got_set)}: a redelivered event or a re-sent command repeats a "
            "shipment without making a new one. What identifies a shipment?")
    r.check("ORD-4" not in got_set, "other event types are ignored",
            "ORD-4 was never shipped: which event type says a shipment was made?")
    return r.done()



# --- Exercise 3: a consume-transform-produce loop in Kafka transactions -------------------------

#: The input of exercise 3: (partition, orderId, total) in the order the checker writes them.
#: Plain records come last on each partition, so the committed offsets must reach the end offsets.
_TX_ORDERS = [(i % 2, f"ORD-{i:04d}", 100 * (i + 1)) for i in range(12)]
_TX_GHOSTS = [(0, "GHOST-1", 999), (1, "GHOST-2", 999), (0, "GHOST-3", 999)]
_TX_FAIL_ON = "ORD-0006"     # partition 0, preceded on it by ORD-0000/2/4, so the failure lands mid-transaction


class InjectedFailure(RuntimeError):
    """The crash the checker injects once, inside ``transform``, half-way through a transaction."""


def _spy_clients() -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """Patch kafka-python's client classes to record how they are built and used (checker only)."""
    from kafka import KafkaConsumer, KafkaProducer

    seen: dict[str, Any] = {"consumer": [], "producer": []}
    saved: list[tuple[Any, ...]] = []

    def wrap(cls: Any, name: str, record: Callable[..., None]) -> None:
        original = getattr(cls, name)

        @functools.wraps(original)
        def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
            record(*args, **kwargs)
            return original(self, *args, **kwargs)

        saved.append((cls, name, original))
        setattr(cls, name, spy)

    wrap(KafkaConsumer, "__init__", lambda *a, **k: seen["consumer"].append(k))
    wrap(KafkaProducer, "__init__", lambda *a, **k: seen["producer"].append(k))
    for name in ("commit", "commit_async"):
        wrap(KafkaConsumer, name, lambda *a, _n=name, **k: seen.setdefault("consumer_commits", []).append(_n))
    for name in ("abort_transaction", "commit_transaction", "send_offsets_to_transaction"):
        wrap(KafkaProducer, name, lambda *a, _n=name, **k: seen.setdefault(_n, []).append(1))
    return seen, saved


def _restore(saved: list[tuple[Any, ...]]) -> None:
    for cls, name, original in reversed(saved):
        setattr(cls, name, original)


def _tx_input(source: str) -> None:
    """Write exercise 3's input: 6 plain orders, 3 ghosts in an aborted transaction, 6 more."""
    import json

    from kafka import KafkaProducer

    from kafkalab.clients import bootstrap_servers

    def value(order_id: str, total: int) -> bytes:
        return json.dumps({"orderId": order_id, "total": total}).encode()

    plain = KafkaProducer(bootstrap_servers=bootstrap_servers())
    for part, oid, total in _TX_ORDERS[:6]:
        plain.send(source, value(oid, total), key=oid.encode(), partition=part)
    plain.flush()
    upstream = KafkaProducer(bootstrap_servers=bootstrap_servers(),
                             transactional_id=f"{source}-upstream")
    upstream.init_transactions()
    upstream.begin_transaction()
    for part, oid, total in _TX_GHOSTS:
        upstream.send(source, value(oid, total), key=oid.encode(), partition=part)
    upstream.flush()
    upstream.abort_transaction()
    upstream.close()
    # The coordinator writes the abort markers after abort_transaction() returns:
    # wait for them, so they sit before the later orders and the input ends with a
    # record (else the end offset is a marker's, one past the last record).
    want = {0: 0, 1: 0}
    for part, _, _ in [*_TX_ORDERS[:6], *_TX_GHOSTS]:
        want[part] += 1
    want = {part: n + 1 for part, n in want.items()}  # one abort marker per partition
    _wait_for_ends(source, want)
    for part, oid, total in _TX_ORDERS[6:]:
        plain.send(source, value(oid, total), key=oid.encode(), partition=part)
    plain.flush()
    plain.close()


def _wait_for_ends(topic: str, want: dict[int, int], timeout: float = 15.0) -> None:
    import time

    from kafkalab.clients import Admin

    deadline = time.monotonic() + timeout
    with Admin() as admin:
        while True:
            ends = {tp.partition: off for tp, off in admin.end_offsets(topic).items()}
            if ends == want or time.monotonic() > deadline:
                return  # a slow coordinator is not the learner's fault: the check reports what it sees
            time.sleep(0.05)


def _tx_transform() -> tuple[Callable[[bytes], bytes], list[str]]:
    """The transform handed to the learner's loop: adds 20 % tax, and fails once on ``_TX_FAIL_ON``."""
    import json

    failed: list[str] = []

    def transform(value: bytes) -> bytes:
        order = json.loads(value)
        if order["orderId"] == _TX_FAIL_ON and not failed:
            failed.append(order["orderId"])
            raise InjectedFailure(f"injected failure while transforming {order['orderId']}")
        return json.dumps({"orderId": order["orderId"], "totalWithTax": order["total"] * 6 // 5}).encode()

    return transform, failed


def check_exactly_once(pipeline: Callable[..., Any], *, timeout: float = 45.0) -> Result:
    """Exercise 3: ``pipeline(bootstrap_servers, source, sink, group_id, transactional_id, transform)``.

    The checker writes 12 orders to a fresh 2-partition ``source`` (with 3 more
    inside an *aborted* transaction between them), runs the learner's loop
    once, with ``transform`` failing once half-way through a transaction, and
    then looks at the broker: one result per order in ``sink`` for a
    ``read_committed`` reader, none for the aborted ones, and the group's
    committed offsets at the end of ``source``.
    """
    import json
    import threading
    import uuid

    from kafkalab.clients import Admin, bootstrap_servers
    from kafkalab.orders.reader import read_topic

    r = Result("Exercise 3: exactly-once consume-transform-produce")
    run = uuid.uuid4().hex[:8]
    source, sink, group, tid = f"w4ex3-in-{run}", f"w4ex3-out-{run}", f"w4ex3-{run}", f"w4ex3-tx-{run}"
    with Admin() as admin:
        admin.ensure_topic(source, partitions=2)
        admin.ensure_topic(sink, partitions=2)
    _tx_input(source)
    transform, failed = _tx_transform()

    seen, saved = _spy_clients()
    outcome: dict[str, BaseException] = {}

    def target() -> None:
        try:
            pipeline(bootstrap_servers(), source, sink, group, tid, transform)
        except BaseException as exc:  # reported below, in words
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="exercise-3-pipeline", daemon=True)
    try:
        worker.start()
        worker.join(timeout)
    finally:
        _restore(saved)
    if not r.check(not worker.is_alive(), "your pipeline returned",
                   f"your pipeline was still running after {timeout:.0f} s: bound the loop (a number of "
                   "polls, and stop once polls come back empty)"):
        return r.done()
    error = outcome.get("error")
    if not r.check(error is None, "your pipeline returned without raising",
                   f"your pipeline raised {type(error).__name__}: {error}"
                   + (". The failure is part of the exercise: what must happen to the transaction it "
                      "interrupted, and to the consumer's position?" if isinstance(error, InjectedFailure)
                      else "")):
        return r.done()

    consumers = seen["consumer"]
    producers = seen["producer"]
    stated = consumers[0] if consumers else {}
    r.check(stated.get("isolation_level") == "read_committed",
            "the consumer states isolation_level='read_committed'",
            f"the consumer was built with isolation_level={stated.get('isolation_level', '(not stated)')!r}: "
            "upstream transactions abort too, and the default level hands their records to you")
    r.check(stated.get("enable_auto_commit") is False, "the consumer states enable_auto_commit=False",
            "the consumer does not state enable_auto_commit=False: an automatic commit moves the group's "
            "offsets outside any transaction")
    r.check(any(p.get("transactional_id") == tid for p in producers),
            "the producer uses the transactional_id it was given",
            f"no producer was built with transactional_id={tid!r}: transactions (and fencing) hang on it")
    r.check(not seen.get("consumer_commits"), "offsets were committed only inside transactions",
            f"the consumer called {sorted(set(seen.get('consumer_commits', [])))}: that commit is outside the "
            "transaction, so a crash between it and the transaction's commit loses or repeats results")
    r.check(bool(seen.get("send_offsets_to_transaction")), "offsets went into the transactions",
            "send_offsets_to_transaction was never called: the consumed offsets must commit or abort "
            "together with the results")
    r.check(bool(failed) and bool(seen.get("abort_transaction")),
            "the injected failure was followed by abort_transaction",
            "the injected failure happened, but abort_transaction was never called: what becomes of the "
            "results the failed attempt had already sent?" if failed else
            "the transform was never asked for the order it fails on: did the loop read every record?")

    try:
        results = read_topic(sink, isolation_level="read_committed", timeout=15, value_format="raw")
    except Exception as exc:
        r.check(False, "", f"reading {sink!r} read_committed failed: {type(exc).__name__}: {exc}")
        return r.done()
    ids: list[str] = []
    foreign: list[Any] = []
    for m in results:
        try:
            ids.append(str(json.loads(m.value)["orderId"]))
        except (ValueError, KeyError, TypeError):
            foreign.append(m.value)
    if not r.check(not foreign, "every result is what transform returned",
                   f"{len(foreign)} records in the sink are not what transform returned (first: "
                   f"{foreign[0] if foreign else None!r:.60}): send transform(record.value) as it is"):
        return r.done()
    want = [oid for _, oid, _ in _TX_ORDERS]
    missing = [o for o in want if o not in ids]
    twice = sorted({o for o in ids if ids.count(o) > 1})
    ghosts = sorted({o for o in ids if o.startswith("GHOST")})
    r.check(not missing, f"every one of the {len(want)} orders has a committed result",
            f"{len(missing)} orders have no committed result ({', '.join(missing[:4])}): after an abort the "
            "outputs and offsets are undone, but where is the consumer's position?")
    r.check(not twice, "no order has two committed results",
            f"orders {', '.join(twice[:4])} have more than one committed result: a failed attempt's records "
            "were committed along with the retry")
    r.check(not ghosts, "nothing from the upstream aborted transaction was processed",
            f"results for {', '.join(ghosts)}, written upstream in a transaction that aborted: "
            "which isolation level skips those?")

    with Admin() as admin:
        committed = {tp.partition: off for tp, off in admin.group_offsets(group).items() if tp.topic == source}
        ends = {tp.partition: off for tp, off in admin.end_offsets(source).items()}
    r.check(committed == ends, f"the group's committed offsets are the end of {source!r}: {ends}",
            f"the group {group!r} committed {committed or 'nothing'}, the input ends at {ends}: commit the "
            "offset of the next record to read, for every partition of the batch")
    return r.done()


# --- Exercise 4: predict, then run: what transactions write into a partition ---------------------

def write_transactions(topic: str) -> None:
    """Exercise 4's scenario, on a 1-partition topic: 1 plain record, then three transactions:
    3 records committed, 2 records aborted, 1 record committed."""
    from kafka import KafkaProducer

    from kafkalab.clients import Admin, bootstrap_servers

    with Admin() as admin:
        admin.ensure_topic(topic, partitions=1)
    plain = KafkaProducer(bootstrap_servers=bootstrap_servers())
    plain.send(topic, b"plain").get(timeout=30)
    plain.close()
    tx = KafkaProducer(bootstrap_servers=bootstrap_servers(), transactional_id=f"{topic}-tx")
    tx.init_transactions()
    for values, commit in (([b"a1", b"a2", b"a3"], True), ([b"b1", b"b2"], False), ([b"c1"], True)):
        tx.begin_transaction()
        for value in values:
            tx.send(topic, value)
        tx.flush()
        if commit:
            tx.commit_transaction()
        else:
            tx.abort_transaction()
    tx.close()


def observe_transactions(topic: str) -> dict[str, int]:
    """What the broker shows of ``topic``: its end offset, and how many records each isolation level reads."""
    from kafkalab.clients import Admin
    from kafkalab.orders.reader import read_topic

    with Admin() as admin:
        end = sum(admin.end_offsets(topic).values())
    return {"end offset": end,
            "read_uncommitted": len(read_topic(topic, isolation_level="read_uncommitted", timeout=15)),
            "read_committed": len(read_topic(topic, isolation_level="read_committed", timeout=15))}


def check_transaction_prediction(prediction: dict[str, int], topic: str) -> Result:
    """Exercise 4: the end offset and the records each isolation level reads, predicted before running."""
    from kafkalab.clients import UnknownTopicError
    from kafkalab.exercises import check_prediction

    r = Result("Exercise 4: predict what transactions leave in a partition")
    if not r.check(isinstance(prediction, dict) and set(prediction) == {"end offset", "read_uncommitted",
                                                                         "read_committed"},
                   "you predicted the end offset and both readers' counts",
                   "write prediction as {'end offset': ..., 'read_uncommitted': ..., 'read_committed': ...}"):
        return r.done()
    try:
        observed = observe_transactions(topic)
    except (UnknownTopicError, TimeoutError) as exc:
        r.check(False, "", f"could not read {topic!r} ({exc}): run the cell that writes the transactions first")
        return r.done()
    if check_prediction(r, prediction, observed, "numbers"):
        return r.done()
    r.check(False, "", "records are not the only things that take offsets, and one reader is given more "
                       "than the other: which records, and which offsets?")
    return r.done()


# An exercise cell not written yet leaves its answer None: say "not done yet" in one line.
guard_checkers(globals())
