"""Checkers for week 3: an idempotent handler, a read model folded from events, and one
service's consume-handle-produce-commit loop written with kafka-python and checked on the broker.

>>> from kafkalab.orders import Store
>>> def count_units(store, event):
...     with store.transaction():
...         if store.seen(event.event_id):
...             return
...         for item in event.data["items"]:
...             key = f"units/{item['productId']}"
...             store.put(key, store.get(key, 0) + item["quantity"])
...         store.mark(event.event_id)
>>> print(check_idempotent_handler(count_units))
Exercise 1: make a handler idempotent: 4 of 4 checks passed
  ✔ it counts every unit of every order once (3 orders, 2 products)
  ✔ redelivered events (the same eventId again) change nothing
  ✔ replaying the whole stream a second time changes nothing
  ✔ the processed ids are stored in the same store as the counts (3 ids)

A wrong answer says what is wrong (and, under the test suite, raises)::

    ✘ after redelivery ITEM-001 has 5 units, expected 3: a redelivered event was counted again.
      A consumer that commits after processing gets records at least once: what must the handler ...
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from kafka import KafkaProducer

from kafkalab import schemas
from kafkalab.clients.admin import Admin
from kafkalab.clients.connection import bootstrap_servers
from kafkalab.clients.consumer import Consumer
from kafkalab.exercises import ExerciseFailed, Result, check_prediction, forbidden, guard_checkers
from kafkalab.orders.avro import ORDER_PLACED_V1, ORDER_PLACED_V2
from kafkalab.orders.events import Event, Topics, new_event
from kafkalab.orders.inventory import InventoryService
from kafkalab.orders.service import Service
from kafkalab.orders.store import Store

__all__ = ["SimulatedCrash", "check_evolved_schema", "check_idempotent_handler", "check_old_readers",
           "check_service_loop", "check_spend_view", "loop_input", "sample_events", "schema_changes"]


def _placed(oid: str, customer: str, items: list[tuple[str, int, int]], ts: int) -> Event:
    return new_event("OrderPlaced", oid, {
        "customerId": customer, "total": sum(p * q for _, p, q in items),
        "items": [{"productId": pid, "name": pid, "price": p, "quantity": q} for pid, p, q in items]},
        source="api", now_ms=ts, event_id=f"placed-{oid}")


def sample_events() -> list[Event]:
    """A small, fixed stream: three orders, one cancelled, one event delivered twice."""
    a = _placed("ORD-A", "CUST-001", [("ITEM-001", 1500, 1), ("ITEM-002", 25, 2)], 1_000)
    b = _placed("ORD-B", "CUST-002", [("ITEM-001", 1500, 2)], 2_000)
    c = _placed("ORD-C", "CUST-001", [("ITEM-002", 25, 4)], 3_000)
    done_a = new_event("OrderCompleted", "ORD-A", {"total": 1550}, source="order", now_ms=1_500,
                       event_id="done-A")
    cancel_b = new_event("OrderCancelled", "ORD-B", {"reason": "payment failed", "compensated": []},
                         source="order", now_ms=2_500, event_id="cancel-B")
    done_c = new_event("OrderCompleted", "ORD-C", {"total": 100}, source="order", now_ms=3_500,
                       event_id="done-C")
    return [a, b, done_a, c, cancel_b, done_a, done_c]


def check_idempotent_handler(handler: Callable[[Store, Event], Any]) -> Result:
    """Exercise 1: ``handler(store, event)`` counts units per product from ``OrderPlaced``,
    once per event, however often an event is delivered."""
    r = Result("Exercise 1: make a handler idempotent")
    placed = [e for e in sample_events() if e.event_type == "OrderPlaced"]
    expected = {"ITEM-001": 3, "ITEM-002": 6}
    store = Store()

    def units() -> dict[str, Any]:
        return {k.split("/", 1)[1]: v for k, v in store.items("units/")}

    try:
        for e in placed:
            handler(store, e)
        first = units()
        if not r.check(first == expected,
                       f"it counts every unit of every order once ({len(placed)} orders, 2 products)",
                       f"after one delivery of each order the counts are {first}, expected "
                       f"{expected}: each product's count is the sum of its quantities over the orders"):
            return r.done()
        for e in [placed[0], placed[0], placed[2]]:  # redelivered after a "crash"
            handler(store, e)
        after = units()
        bad = next((p for p in expected if after.get(p) != expected[p]), None)
        r.check(bad is None, "redelivered events (the same eventId again) change nothing",
                f"after redelivery {bad} has {after.get(bad)} units, expected {expected.get(bad)}: "
                "a redelivered event was counted again. A consumer that commits after processing gets "
                "records at least once: what must the handler remember about each event it has counted, "
                "to know one when it comes back?"
                if bad else "")
        for e in placed:
            handler(store, e)
        r.check(units() == expected, "replaying the whole stream a second time changes nothing",
                f"after a full replay the counts are {units()}, expected {expected}")
    except Exception as exc:  # the learner's code raised: say so plainly
        r.check(False, "", f"your handler raised {type(exc).__name__}: {exc}")
        return r.done()
    n = store.processed_count()
    r.check(n == len(placed),
            f"the processed ids are stored in the same store as the counts ({n} ids)",
            f"the store holds {n} processed ids, expected {len(placed)}: what the handler "
            "remembers lives outside the store, so a crash (or a second copy of the service) "
            "would keep the counts but forget which events they include. Keep both in one place, "
            "written together")
    return r.done()


def check_spend_view(fold: Callable[[dict[str, Any], Event], dict[str, Any]]) -> Result:
    """Exercise 2: ``fold(view, event)`` builds ``{customerId: {"orders": n, "spent": total}}``
    where ``spent`` counts completed orders only; folding a duplicate changes nothing."""
    r = Result("Exercise 2: a read model of customer spend")
    expected = {"CUST-001": {"orders": 2, "spent": 1650}, "CUST-002": {"orders": 1, "spent": 0}}
    view: dict[str, Any] = {}
    try:
        for e in sample_events():
            out = fold(view, e)
            if not isinstance(out, dict):
                r.check(False, "", f"fold returned {type(out).__name__}; it must return the view dict")
                return r.done()
            view = out
    except Exception as exc:
        r.check(False, "", f"your fold raised {type(exc).__name__}: {exc} (look at which fields "
                           "each event type carries: events.contract_table())")
        return r.done()
    got = {c: view.get(c) for c in expected}
    r.check(all(isinstance(v, dict) and v.get("orders") == expected[c]["orders"]
                for c, v in got.items()),
            "it counts each customer's orders (placed, whatever their outcome)",
            f"orders per customer are {({c: (v or {}).get('orders') for c, v in got.items()})}, "
            "expected CUST-001: 2, CUST-002: 1")
    r.check(all(isinstance(v, dict) and v.get("spent") == expected[c]["spent"]
                for c, v in got.items()),
            "spent counts completed orders once (the duplicate OrderCompleted is ignored)",
            f"spent per customer is {({c: (v or {}).get('spent') for c, v in got.items()})}, "
            "expected CUST-001: 1650, CUST-002: 0. Which events say money was really spent, and "
            "what happens to your sum when one of them is delivered twice?")
    return r.done()


# -- Exercise 3: one service's loop, raw kafka-python, on the broker ----------------------------

#: Stock the checker's inventory starts with: enough for every order, so each
#: command's reply is InventoryReserved whatever order the partitions are read in.
LOOP_STOCK = {"ITEM-001": 100, "ITEM-002": 100}


class SimulatedCrash(BaseException):
    """The checker's producer "crashes the process" on one send.

    A ``BaseException`` (like ``KeyboardInterrupt``), so ``except Exception``
    in the learner's loop does not catch it: the loop stops, as a killed
    process would, and the checker starts it again.
    """


def loop_input(topics: Topics) -> list[tuple[bytes, bytes]]:
    """The records the checker writes to ``inventory-commands``: ``(key, value)`` bytes.

    Six ``ReserveInventory`` commands (ORD-1 .. ORD-6); ORD-2's command a
    second time (the same ``eventId``: a redelivery, as after a producer retry);
    one record that is not JSON and one JSON object that is not an envelope.
    """
    out: list[tuple[bytes, bytes]] = []
    for i in range(1, 7):
        oid = f"ORD-{i}"
        cmd = new_event("ReserveInventory", oid,
                        {"items": [{"productId": f"ITEM-00{1 + i % 2}", "quantity": i}]},
                        source="order", now_ms=1_700_000_000_000 + i, event_id=f"{topics.prefix}cmd-{i}")
        out.append((oid.encode(), json.dumps(cmd.to_record()).encode()))
    out.insert(3, out[1])                                      # ORD-2 again, same eventId
    out.insert(5, (b"ORD-7", b'{"eventType": "ReserveInventory", "orderId": '))    # cut short
    out.append((b"ORD-8", json.dumps({"orderId": "ORD-8", "hello": "world"}).encode()))  # no envelope
    return out


class _CrashingProducer:
    """A real ``KafkaProducer`` that raises :class:`SimulatedCrash` on the n-th send to one topic."""

    def __init__(self, raw: KafkaProducer, topic: str, crash_at: int | None) -> None:
        self._raw, self._topic, self.crash_at = raw, topic, crash_at
        self.sent = 0            # sends to the output topic that went through
        self.crashed = False

    def send(self, topic: str, *args: Any, **kwargs: Any) -> Any:
        if topic == self._topic:
            if self.crash_at is not None and self.sent + 1 == self.crash_at:
                self.crash_at, self.crashed = None, True
                raise SimulatedCrash(f"the checker crashed the service on send #{self.sent + 1}")
            self.sent += 1
        return self._raw.send(topic, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # flush, close, ...: the real producer's
        return getattr(self._raw, name)


class _Running:
    """The ``running()`` the checker hands the loop: False once caught up, crashed, or out of time."""

    def __init__(self, caught_up: Callable[[], bool], timeout: float,
                 stop_on_crash: _CrashingProducer | None) -> None:
        self.caught_up, self.stop_on_crash = caught_up, stop_on_crash
        self.deadline = time.monotonic() + timeout
        self.looked, self.done = 0.0, False

    def __call__(self) -> bool:
        if self.stop_on_crash is not None and self.stop_on_crash.crashed:
            return False                            # a crashed process runs no more
        if time.monotonic() > self.deadline:
            return False
        if time.monotonic() - self.looked > 0.25:   # ask the broker 4 times a second at most
            self.looked, self.done = time.monotonic(), self.caught_up()
        return not self.done


@contextlib.contextmanager
def _no_shortcuts() -> Iterator[None]:
    """The course's own loops and its deduplicating ``Service.process`` refuse to run."""
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise ExerciseFailed("this exercise asks you to write the check yourself: don't call "
                             "inventory.process (it deduplicates for you); call inventory.handle")
    original = Service.process
    Service.process = refused  # type: ignore[method-assign]
    try:
        with forbidden("kafkalab.clients.ConsumerLoop", "kafkalab.clients.loop.ConsumerLoop",
                       "kafkalab.clients.Consumer", "kafkalab.orders.runner.ServiceRunner"):
            yield
    finally:
        Service.process = original  # type: ignore[method-assign]


def _read(topic: str, admin: Admin) -> list[Any]:
    ends = {tp: end for tp, end in admin.end_offsets(topic).items() if end > 0}
    consumer = Consumer(topic, group_id=False, value_format="raw")
    try:
        messages, _ = consumer.read_to_end(ends, timeout=15)
    finally:
        consumer.close()
    return messages


def _json(raw: bytes | None) -> Any:
    try:
        return json.loads(raw or b"")
    except ValueError:
        return None


def check_service_loop(serve: Callable[..., Any], *, timeout: float = 20.0, crash_at: int = 3) -> Result:
    """Exercise 3: ``serve(inventory, producer, topics, group_id, running)`` runs the inventory
    service on Kafka: poll ``inventory-commands``, ``inventory.handle`` each command, send the
    replies to ``inventory-events``, commit; malformed records to ``dead-letter-queue``.

    The checker writes :func:`loop_input` to fresh topics, runs ``serve`` with a
    producer that crashes on its ``crash_at``-th reply, runs it again (the same
    store, the same group: a restart), and then reads the broker: the replies,
    the dead letters and the group's committed offsets. ``running()`` turns
    False once every input record is committed, or after ``timeout`` seconds.
    """
    r = Result("Exercise 3: one service's loop on Kafka")
    topics = Topics(f"w3x-{uuid.uuid4().hex[:8]}-")
    source, replies, dlq = topics.name("inventory-commands"), topics.name("inventory-events"), topics.dead_letter
    group = f"{topics.prefix}orders-inventory"
    records = loop_input(topics)
    valid = {json.loads(v)["eventId"]: k.decode() for k, v in records if _json(v) and "eventId" in _json(v)}
    poison = [v for _, v in records if not (_json(v) and "eventId" in _json(v))]
    inventory = InventoryService(Store(), stock=LOOP_STOCK)
    admin = Admin()
    raw = KafkaProducer(bootstrap_servers=bootstrap_servers(), linger_ms=0)
    try:
        for t in (source, replies, dlq):
            admin.ensure_topic(t, partitions=3)
        for key, value in records:
            raw.send(source, key=key, value=value)
        raw.flush(15)
        ends = admin.end_offsets(source)
        producer = _CrashingProducer(raw, replies, crash_at)

        def committed() -> dict[Any, int]:
            return {tp: off for tp, off in admin.group_offsets(group).items() if tp.topic == source}

        runs: list[str] = []
        for attempt in ("first run", "restart"):
            running = _Running(lambda: committed() == {tp: e for tp, e in ends.items() if e},
                               timeout, stop_on_crash=producer if attempt == "first run" else None)
            try:
                with _no_shortcuts():
                    serve(inventory, producer, topics, group, running)
                runs.append("returned")
            except SimulatedCrash:
                runs.append("crashed")
            except ExerciseFailed as exc:
                r.check(False, "", str(exc))
                return r.done()
            except Exception as exc:  # the learner's loop stopped on something
                r.check(False, "", f"in the {attempt} your loop stopped with {type(exc).__name__}: "
                        f"{str(exc)[:120]}. The input holds records that are not order events; one bad "
                        "record must not stop a service. Where does the course put what it cannot process?")
                return r.done()
        first_sent = producer.sent
        out = _read(replies, admin)
        dead = _read(dlq, admin)
        done = committed()
    finally:
        raw.close(timeout=5)
        for t in (source, replies, dlq):
            admin.delete_topic(t)
        admin.close()

    if not r.check(runs[0] == "crashed" or first_sent >= crash_at,
                   "the checker's producer crashed your loop mid-stream, and it was started again",
                   f"your loop sent {first_sent} replies through the producer it was given (the checker "
                   f"crashes it on reply #{crash_at}). Did it read anything? A new group starts where "
                   "the consumer's auto_offset_reset says; and send with the producer passed in, not "
                   "one of your own" if not out else
                   f"the output topic has {len(out)} records but only {first_sent} went through the "
                   "producer passed in: send with that one (the checker crashes it to test a restart)"):
        return r.done()

    # Replies: one per distinct command, whatever happened in between.
    causes = Counter((_json(m.value) or {}).get("causationId") for m in out)
    twice = sorted(valid[c] for c, n in causes.items() if c in valid and n > 1)
    lost = sorted(o for c, o in valid.items() if causes[c] == 0)
    r.check(not twice, f"each command got exactly one reply ({len(valid)} orders; ORD-2's command "
            "arrived twice and was answered once)",
            f"{', '.join(twice)}: the command was answered more than once. ORD-2's command is in the topic "
            "twice, and a restart re-reads whatever was not committed yet (at least once): what does "
            "the service remember about the commands it has answered?")
    r.check(not lost, "no command was lost in the crash and restart",
            f"{', '.join(lost)}: no reply ever appeared, even after the restart. The group's committed "
            "offset had passed the command before its reply was safely written (by your commit, or by "
            "one the consumer made on its own), so the restarted loop skipped it; or the service "
            "remembered it as done too early. What must be true before an offset is committed, and "
            "before a command counts as done?")
    stock = inventory.stock()
    taken = {p: LOOP_STOCK[p] - stock.get(p, 0) for p in LOOP_STOCK}
    want = {"ITEM-001": 2 + 4 + 6, "ITEM-002": 1 + 3 + 5}
    r.check(taken == want, f"the stock moved once per order ({want})",
            f"the stock moved {taken}, expected {want}: some command's reservation was applied twice "
            "or not at all")

    # Dead letters: the two bad records, kept whole; and the loop went past them.
    originals = [(_json(m.value) or {}).get("originalMessage") for m in dead]
    kept = sum(any(isinstance(o, str) and o.encode() == p for o in originals) for p in poison)
    r.check(kept == len(poison) and len(dead) == len(poison),
            f"both malformed records are on {topics.base(dlq)!r}, kept whole as originalMessage",
            f"{topics.base(dlq)!r} holds {len(dead)} records, {kept} of them carrying one of the "
            f"{len(poison)} malformed inputs as originalMessage (the course's dead-letter shape: "
            "{originalMessage, error, timestamp}). A record you cannot process is kept, not dropped")

    # Committed offsets: the next record to read, on every partition, at the end.
    want_end = {tp: e for tp, e in ends.items() if e}
    if not r.check(bool(done), f"group {group!r} committed offsets",
                   f"group {group!r} committed nothing on the input topic: after a restart it would "
                   "start again from auto_offset_reset. How does a group tell Kafka what it has finished?"):
        return r.done()
    short = sorted(f"partition {tp.partition}: {done.get(tp)} of {e}" for tp, e in want_end.items()
                   if done.get(tp) != e)
    r.check(not short, "every partition is committed to its end (the committed offset is the next "
            "record to read)",
            f"committed offsets stop short ({'; '.join(short)}). A committed offset names the next record "
            "to read, not the last one read; and a loop that stops at a bad record never commits past it")
    return r.done()


# -- Exercises 4 and 5: schema evolution, round-tripped through the broker -------------------------

_V2_RECORD = {"eventId": "e-v2", "orderId": "ORD-V2", "timestamp": 1_700_000_000_000, "customerId": "CUST-001",
              "items": [{"productId": "ITEM-001", "name": "Laptop", "price": 1500, "quantity": 1}],
              "total": 1500, "channel": "app", "currency": "USD"}


def _with(base: schemas.Schema, *, drop: str | None = None, add: dict[str, Any] | None = None,
          item_type: tuple[str, str] | None = None) -> schemas.Schema:
    s = json.loads(base.schema_str)
    s["fields"] = [f for f in s["fields"] if f["name"] != drop] + ([add] if add else [])
    if item_type:
        for f in s["fields"]:
            if f["name"] == "items":
                for g in f["type"]["items"]["fields"]:
                    if g["name"] == item_type[0]:
                        g["type"] = item_type[1]
    return schemas.Schema(json.dumps(s, indent=1))


def schema_changes() -> dict[str, tuple[str, schemas.Schema]]:
    """Exercise 5's five changes to ``OrderPlaced`` v2: ``{letter: (what changes, new schema)}``."""
    return {
        "a": ("add discount (long, default 0)", _with(ORDER_PLACED_V2, add={
            "name": "discount", "type": "long", "default": 0})),
        "b": ("add loyaltyId (string, no default)", _with(ORDER_PLACED_V2, add={
            "name": "loyaltyId", "type": "string"})),
        "c": ("drop customerId", _with(ORDER_PLACED_V2, drop="customerId")),
        "d": ("items[].quantity: int -> long", _with(ORDER_PLACED_V2, item_type=("quantity", "long"))),
        "e": ("drop currency (it had a default)", _with(ORDER_PLACED_V2, drop="currency")),
    }


def _record_for(schema: schemas.Schema) -> dict[str, Any]:
    """A record that fits ``schema``: v2's values, plus a value for each field v2 lacks."""
    fields = {f["name"]: f for f in json.loads(schema.schema_str)["fields"]}
    samples = {"boolean": True, "long": 7, "int": 7, "string": "x", "double": 1.5}
    out = {k: v for k, v in _V2_RECORD.items() if k in fields}
    for name, f in fields.items():
        if name not in out:
            out[name] = f.get("default", samples.get(f["type"], None) if isinstance(f["type"], str) else None)
    return out


def _round_trip(written: list[tuple[schemas.Schema, dict[str, Any]]], readers: dict[str, schemas.Schema],
                registry: schemas.SchemaRegistry) -> dict[tuple[int, str], dict[str, Any] | str]:
    """Write each record (wire format) to a fresh topic, read the topic back from the broker, and
    decode each record with each reader: ``{(index, reader): record or the one-line reason}``."""
    topic = f"w3s-{uuid.uuid4().hex[:8]}-orders"
    subject = f"{topic}-value"
    registry.set_compatibility(subject, "NONE")  # the checker writes what it is told to
    admin = Admin()
    raw = KafkaProducer(bootstrap_servers=bootstrap_servers())
    try:
        admin.ensure_topic(topic, partitions=1)
        for i, (schema, record) in enumerate(written):
            raw.send(topic, key=str(i).encode(), value=schemas.serialize(registry, subject, record, schema))
        raw.flush(15)
        back = _read(topic, admin)
    finally:
        raw.close(timeout=5)
        admin.delete_topic(topic)
        admin.close()
    out: dict[tuple[int, str], dict[str, Any] | str] = {}
    for m in back:
        for name, reader in readers.items():
            try:
                out[(int(m.key), name)] = schemas.deserialize(registry, m.raw_value, reader)
            except schemas.WireFormatError as exc:
                out[(int(m.key), name)] = str(exc)
    return out


def check_evolved_schema(v3: schemas.Schema) -> Result:
    """Exercise 4: ``OrderPlaced`` v3 adds ``giftWrap`` (boolean; an order without it is not
    gift-wrapped) and drops ``channel``, and stays FULL-compatible with v2."""
    r = Result("Exercise 4: evolve the order event")
    if not isinstance(v3, schemas.Schema):
        r.check(False, "", f"got {type(v3).__name__}: wrap the schema's JSON text in schemas.Schema(...)")
        return r.done()
    try:
        parsed = v3.parsed()
    except ValueError as exc:
        r.check(False, "", str(exc)[:200])
        return r.done()
    fields = {f["name"]: f for f in parsed.get("fields", [])} if isinstance(parsed, dict) else {}
    if not r.check(isinstance(parsed, dict) and parsed.get("name") == "kafkalab.orders.OrderPlaced",
                   "it is the record kafkalab.orders.OrderPlaced",
                   f"the record is called {parsed.get('name') if isinstance(parsed, dict) else parsed!r}: "
                   "readers match records by their full name, so an evolved schema keeps it"):
        return r.done()
    gift = fields.get("giftWrap")
    r.check(gift is not None and gift["type"] == "boolean", "it has giftWrap, a boolean",
            "it has no boolean field giftWrap" if gift is None else
            f"giftWrap is {gift['type']!r}, not a boolean")
    r.check("channel" not in fields, "channel is gone", "channel is still there: v3 drops it")
    registry = schemas.SchemaRegistry()
    subject = "orders-value"
    registry.set_compatibility(subject, "FULL")
    registry.register_schema(subject, ORDER_PLACED_V1)
    registry.register_schema(subject, ORDER_PLACED_V2)
    try:
        registry.register_schema(subject, v3)
        r.check(True, "the registry (level FULL) accepts it after v1 and v2", "")
    except schemas.IncompatibleSchema as exc:
        r.check(False, "", f"the registry refuses it: {exc}. FULL means both directions: v2 consumers "
                           "read v3 records, and v3 consumers read the v2 records already in the topic")
        return r.done()
    if not r.passed:
        return r.done()
    new = {**_record_for(v3), "giftWrap": True}
    seen = _round_trip([(ORDER_PLACED_V2, _V2_RECORD), (v3, new)], {"v2": ORDER_PLACED_V2, "v3": v3}, registry)
    old_reads_new, new_reads_old = seen.get((1, "v2")), seen.get((0, "v3"))
    r.check(isinstance(old_reads_new, dict) and old_reads_new.get("channel") == "web",
            "through the broker, a v2 consumer reads a v3 record (channel comes back as its default, 'web')",
            f"a v2 consumer reading a v3 record from the broker got: {old_reads_new}")
    r.check(isinstance(new_reads_old, dict) and new_reads_old.get("giftWrap") is False,
            "through the broker, a v3 consumer reads a v2 record (giftWrap: False)",
            f"a v3 consumer reading a v2 record from the broker got: {new_reads_old}; an order written "
            "before giftWrap existed is not gift-wrapped")
    mine = seen.get((1, "v3"))
    r.check(isinstance(mine, dict) and mine.get("giftWrap") is True, "a v3 record keeps giftWrap: True",
            f"a v3 record read back with v3 gave {mine}")
    return r.done()


def check_old_readers(predicted: dict[str, bool]) -> Result:
    """Exercise 5 (predict, then run): for each change in :func:`schema_changes`, does a consumer
    still on v2 fail to read a record written with it? ``{letter: True if it breaks}``."""
    r = Result("Exercise 5: which changes break old readers?")
    changes = schema_changes()
    if not r.check(isinstance(predicted, dict) and all(isinstance(predicted.get(k), bool) for k in changes),
                   "you wrote down an answer for every change",
                   f"write True (breaks) or False for each of {sorted(changes)} before you run this cell"):
        return r.done()
    registry = schemas.SchemaRegistry()
    seen = _round_trip([(schema, _record_for(schema)) for _, schema in changes.values()],
                       {"v2": ORDER_PLACED_V2}, registry)
    observed = {k: isinstance(seen.get((i, "v2")), str) for i, k in enumerate(changes)}
    check_prediction(r, predicted, observed, "answers")
    why = [f"{k} ({changes[k][0]}): {seen[(i, 'v2')]}" for i, k in enumerate(changes) if observed[k]]
    r.check(True, f"what the v2 consumer said, for the ones that broke: {' | '.join(why)}", "")
    return r.done()


# An exercise cell not written yet leaves its answer None: say "not done yet" in one line.
guard_checkers(globals())
