r"""Checkers for week 5: masking ids in log templates, alert rules, and a log shipper on the broker.

>>> import re
>>> def mask_ids(message):
...     message = re.sub(r"\b(?:ORD|CUST|ITEM)-\d+\b|\bpay_[0-9a-f]+\b", "<id>", message)
...     return re.sub(r"\b\d+\b", "<num>", message)
>>> print(check_mask_ids(mask_ids))
Exercise 1: mask ids in templates: 4 of 4 checks passed
  ✔ it returns text for every message
  ✔ no order, customer or payment id is left in any template
  ✔ lines of the same kind share one template (6 kinds)
  ✔ lines of different kinds keep different templates, and words are kept

The course's own ``logs.template`` is the reference answer: handing it in, or
calling it inside your function, fails the check.

A wrong answer says what is wrong (and, under the test suite, raises)::

    ✘ 'refund for ORD-48213 issued' kept an id: its template is 'refund for ORD-<num> issued'.
      An id must become <id> as a whole: which of your masks has to run first?
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kafkalab.exercises import ExerciseFailed, Result, check_prediction, forbidden, guard_checkers

__all__ = ["INCIDENT", "SHIPPER_SETTINGS", "check_alert_rule", "check_log_shipper", "check_mask_ids",
           "check_resend_prediction", "check_slow_requests_rule"]

# Groups of messages: within a group one template, across groups different ones.
_KINDS: dict[str, list[str]] = {
    "refund": ["refund for ORD-48213 issued", "refund for ORD-7 issued",
               "refund for ORD-100000 issued"],
    "payment": ["payment pay_8f3a2c for CUST-001 took 812 ms",
                "payment pay_00b1d9 for CUST-042 took 95 ms"],
    "stock": ["only 3 left of ITEM-001", "only 120 left of ITEM-734"],
    "declined": ["card declined for CUST-913", "card declined for CUST-007"],
    "retry": ["retry 2 of 5 for ORD-3", "retry 4 of 5 for ORD-99812"],
    "oom": ["OutOfMemoryError: Java heap space"],
}
_ID = re.compile(r"\b(?:ORD|CUST|ITEM)-\d+|\bpay_[0-9a-f]+", re.IGNORECASE)


def check_mask_ids(fn: Callable[[str], str]) -> Result:
    """Exercise 1: ``fn(message)`` masks ids and numbers so one kind of line has one template."""
    from kafkalab.logs import templates

    r = Result("Exercise 1: mask ids in templates")
    # The reference answer handed in as is, or wrapped (functools.partial, a bound method...).
    if fn in _REFERENCE_TEMPLATERS() or getattr(fn, "func", None) in _REFERENCE_TEMPLATERS():
        r.check(False, "", "this is the course's own logs.template: write mask_ids yourself, "
                "with re.sub")
        return r.done()
    out: dict[str, list[str]] = {}
    for kind, messages in _KINDS.items():
        out[kind] = []
        for m in messages:
            try:
                with forbidden("kafkalab.logs.template", "kafkalab.logs.templates.template"), \
                        _no_templater(templates):
                    t = fn(m)
            except ExerciseFailed as exc:
                r.check(False, "", f"{exc} (it is the reference answer): mask the ids with re.sub")
                return r.done()
            except Exception as exc:
                r.check(False, "", f"your function raised {type(exc).__name__}: {exc} on {m!r}")
                return r.done()
            if not isinstance(t, str):
                r.check(False, "", f"your function returned {type(t).__name__} for {m!r}; "
                                   "it must return the template as text")
                return r.done()
            out[kind].append(t)
    r.check(True, "it returns text for every message", "")
    leaks = [(m, t) for kind in _KINDS for m, t in zip(_KINDS[kind], out[kind], strict=False)
             if _ID.search(t) or re.search(r"\b(?:ORD|CUST|ITEM)-|\bpay_", t)]
    r.check(not leaks, "no order, customer or payment id is left in any template",
            (f"{leaks[0][0]!r} kept an id: its template is {leaks[0][1]!r}. An id must become <id> "
             "as a whole, prefix included: which of your masks has to run first?")
            if leaks else "")
    split = {k: sorted(set(ts)) for k, ts in out.items() if len(set(ts)) > 1}
    r.check(not split, f"lines of the same kind share one template ({len(_KINDS)} kinds)",
            (lambda k: f"{_KINDS[k][0]!r} and {_KINDS[k][1]!r} are the same kind of line but got "
                       f"different templates {split[k]}: mask every number and id that varies")(
                next(iter(split))) if split else "")
    firsts = {k: ts[0] for k, ts in out.items()}
    same = [(a, b) for a in firsts for b in firsts if a < b and firsts[a] == firsts[b]]
    kept_words = all(w in firsts[k] for k, w in [("refund", "refund"), ("declined", "declined"),
                                                   ("oom", "OutOfMemoryError")])
    r.check(not same and kept_words,
            "lines of different kinds keep different templates, and words are kept",
            f"{_KINDS[same[0][0]][0]!r} and {_KINDS[same[0][1]][0]!r} got the same template "
            f"{firsts[same[0][0]]!r}: mask only what varies, keep the words" if same else
            f"a template lost its words (e.g. {firsts['oom']!r} for "
            f"{_KINDS['oom'][0]!r}): mask ids and numbers only, not whole lines")
    return r.done()


def _REFERENCE_TEMPLATERS() -> tuple[Any, ...]:  # noqa: N802 - reads as the constant it is
    from kafkalab.logs import templates

    return (templates.template, templates.Templater.__call__)


class _no_templater:  # noqa: N801 - used as a context manager, like forbidden
    """While checking, a ``logs.Templater`` refuses to mask too.

    ``logs.template`` is a ``Templater`` with the default masks, so this also
    catches the reference imported by name before the check (``from
    kafkalab.logs import template``), which :func:`forbidden` cannot replace.
    """

    def __init__(self, module: Any) -> None:
        self.cls = module.Templater
        self.saved = self.cls.__call__

    def __enter__(self) -> None:
        def refused(*args: Any, **kwargs: Any) -> Any:
            raise ExerciseFailed("this exercise asks you to write it yourself: don't call "
                                 "kafkalab.logs.template or a logs.Templater")
        self.cls.__call__ = refused

    def __exit__(self, *exc: object) -> None:
        self.cls.__call__ = self.saved


def _incident() -> list:
    from kafkalab.logs import SlowDependency

    return [SlowDependency("api", start_s=300, duration_s=90)]


#: The scripted incident of Exercise 2: ``api``'s database slows down 5 minutes in.
INCIDENT = "SlowDependency('api', start_s=300, duration_s=90)"


def check_alert_rule(config: Mapping[str, Any] | str | Path, *, seeds: tuple[int, ...] = (1, 2, 3)
                     ) -> Result:
    """Exercise 2: a one-rule config that fires once on the incident and never on clean traffic.

    Runs the rule over 15 minutes of clean simulated traffic for each seed,
    then over 10 minutes with :data:`INCIDENT`, with a 5-minute cool-down.
    """
    from kafkalab.logs import AlertEngine, simulate, validate

    r = Result("Exercise 2: write an alert rule")
    try:
        engine = AlertEngine.from_config(config)
    except (ValueError, TypeError, AttributeError) as exc:
        r.check(False, "", f"the config does not load: {exc}")
        return r.done()
    if not r.check(len(engine.rules) == 1, f"the config holds one rule ({engine.rules[0].name!r})"
                   if len(engine.rules) == 1 else "",
                   f"the config holds {len(engine.rules)} rules; write exactly one, under 'rules:'"):
        return r.done()

    def fire(records: list) -> list:
        e = AlertEngine.from_config(config)  # fresh rule state for every run
        e.cooldown_ms = 300_000
        for rec in records:
            e.process(validate(rec))
        e.flush()
        return e.alerts

    noisy = {seed: fire(simulate(900, seed=seed)) for seed in seeds}
    false = {s: a for s, a in noisy.items() if a}
    r.check(not false, f"it never fires on 15 minutes of clean traffic ({len(seeds)} seeds)",
            (lambda s: f"it fired {len(false[s])} time(s) on clean traffic (seed {s}), first: "
                       f"{false[s][0].service}: {false[s][0].message}. Make it stricter: a "
                       "higher threshold, a narrower pattern or a service filter")(next(iter(false)))
            if false else "")
    alerts = fire(simulate(600, seed=seeds[0], incidents=_incident()))
    by_key = collections.Counter(a.service for a in alerts)
    r.check(len(alerts) == 1 and by_key.get("api") == 1,
            f"it fires exactly once on the incident, for api: {alerts[0].message}"
            if len(alerts) == 1 and by_key.get("api") == 1 else "",
            "it did not fire during the incident: filter the incident's ERROR lines for api (as "
            "the cell above the exercise does) and look at what they say" if not alerts else
            f"it fired {len(alerts)} times during the incident ({dict(by_key)}): it should fire "
            "once, for api (the cool-down is 5 minutes; is the rule limited to api?)")
    return r.done()


def check_slow_requests_rule(cls: type, *, seeds: tuple[int, ...] = (1, 2)) -> Result:
    """Exercise 3: a :class:`~kafkalab.logs.Rule` subclass for slow requests.

    ``cls(name, slow_ms=2000, count=3, within_s=30)`` must alert when one
    service logs ``count`` requests with ``metadata.duration_ms >= slow_ms``
    within ``within_s`` seconds: once on :data:`INCIDENT` (5-minute
    cool-down), never on clean traffic.
    """
    from kafkalab.logs import AlertEngine, Rule, simulate, validate

    r = Result("Exercise 3: a rule class of your own")
    if not r.check(isinstance(cls, type) and issubclass(cls, Rule),
                   f"{getattr(cls, '__name__', cls)} subclasses logs.Rule",
                   f"{cls!r} is not a subclass of logs.Rule: write `class "
                   "SlowRequests(logs.Rule):` and implement process(self, record)"):
        return r.done()
    try:
        rule = cls("slow-requests", slow_ms=2000, count=3, within_s=30)
    except TypeError as exc:
        r.check(False, "", f"cls('slow-requests', slow_ms=2000, count=3, within_s=30) failed: "
                           f"{exc}. Take those keyword arguments and pass name (and **kw) to "
                           "super().__init__")
        return r.done()
    r.check(rule.name == "slow-requests", "it keeps its name",
            f"its name is {rule.name!r}, not 'slow-requests': call super().__init__(name, **kw)")

    def fire(records: list) -> tuple[list, AlertEngine]:
        engine = AlertEngine([cls("slow-requests", slow_ms=2000, count=3, within_s=30)],
                             cooldown_s=300)
        for rec in records:
            engine.process(validate(rec))
        engine.flush()
        return engine.alerts, engine

    alerts, engine = fire(simulate(600, seed=seeds[0], incidents=_incident()))
    if not r.check(not engine.stats.rule_errors, "process() handled every record",
                   f"process() raised on {engine.stats.rule_errors} records, first: "
                   f"{engine.stats.errors[0] if engine.stats.errors else ''}. Most records carry no "
                   "duration at all: what should the rule do with those?"):
        return r.done()
    r.check(len(alerts) == 1 and alerts[0].service == "api",
            f"it fires exactly once on the incident, for api: {alerts[0].message}"
            if len(alerts) == 1 else "",
            "it did not fire during the incident, when a few of api's requests take 2000 ms or "
            "more: what must one service log, within how long, before the rule fires, and how does "
            "a rule say it fired? (logs.BurstRule does something very similar)"
            if not alerts else f"it fired {len(alerts)} times during the incident, for "
            f"{sorted({a.service for a in alerts})}: it should fire once, for api")
    from kafkalab.logs import make_record

    def slow(seconds: list[int]) -> list:
        return [make_record(service="api", level="INFO", message="GET /", timestamp_ms=s * 1000,
                            metadata={"duration_ms": 2500}) for s in seconds]

    spread = fire(slow([0, 200, 400]))[0]
    r.check(not spread, "three slow requests minutes apart are not a burst",
            "it fired on three slow requests 200 s apart: a burst is count slow requests within "
            "within_s. When a new one arrives, which of the earlier ones still count?")
    noisy = {seed: fire(simulate(900, seed=seed))[0] for seed in seeds}
    false = {s: a for s, a in noisy.items() if a}
    r.check(not false, f"it never fires on 15 minutes of clean traffic ({len(seeds)} seeds)",
            (lambda s: f"it fired {len(false[s])} time(s) on clean traffic (seed {s}), first: "
                       f"{false[s][0].message}. Which requests count as slow, and which earlier ones "
                       "still belong to the burst once time has moved on?")(next(iter(false)))
            if false else "")
    return r.done()


#: The producer settings exercise 4 asks you to state, with why each matters to a log shipper.
SHIPPER_SETTINGS = {
    "linger_ms": "how long a batch waits for more lines before it is sent",
    "batch_size": "how many bytes one partition's batch may hold",
    "compression_type": "log lines repeat themselves: compressed batches are much smaller",
    "acks": "which replicas must have a batch before the broker says yes",
}


class _Recorder:
    """Hands the learner's ``ship_batch`` the real producer, noting each future ``send`` returns.

    A future not yet done when ``ship_batch`` returns is a record still
    waiting in the producer's memory: a crash then would lose it.
    """

    def __init__(self, producer: Any) -> None:
        self._producer = producer
        self.futures: list[Any] = []

    def send(self, *args: Any, **kwargs: Any) -> Any:
        future = self._producer.send(*args, **kwargs)
        self.futures.append(future)
        return future

    def __getattr__(self, name: str) -> Any:
        return getattr(self._producer, name)


def _stated_settings(make_producer: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    """Call ``make_producer()``, recording the settings passed to ``KafkaProducer(...)``."""
    import kafka

    stated: dict[str, Any] = {}
    original = kafka.KafkaProducer.__init__

    def spy(self: Any, **configs: Any) -> None:
        stated.update(configs)
        original(self, **configs)

    kafka.KafkaProducer.__init__ = spy
    try:
        with forbidden("kafkalab.clients.Producer", "kafkalab.logs.install"):
            producer = make_producer()
    finally:
        kafka.KafkaProducer.__init__ = original
    return producer, stated


# Inside the learner's ship_batch the course's own shipping helpers refuse to run.
_SHIPPERS = ("kafkalab.logs.publish", "kafkalab.logs.replay", "kafkalab.logs.install",
             "kafkalab.clients.Producer")


def _shipper_records(limit: int) -> list[dict[str, Any]]:
    from kafkalab.logs import zookeeper

    return zookeeper.records(limit=limit)


def check_log_shipper(make_producer: Callable[[], Any], ship_batch: Callable[[Any, list, str], Any], *,
                      lines: int = 400, settings: Any = None) -> Result:
    """Exercise 4: a log shipper batch with raw kafka-python, checked on the broker.

    ``make_producer()`` returns a ``kafka.KafkaProducer`` built with the
    settings of :data:`SHIPPER_SETTINGS` stated; ``ship_batch(producer,
    records, topic)`` sends every record keyed by its ``logger`` (the component
    that wrote it), makes sure the broker has them all, raises if the broker
    refused any, and returns how many it shipped.

    The checker ships ``lines`` real ZooKeeper log lines to a new topic and
    reads them back: every line arrived once, keyed, in order per key. Then it
    ships a batch holding one line larger than a second topic accepts
    (``max.message.bytes``): ``ship_batch`` must not return as if all went well.
    """
    import uuid

    import kafka

    from kafkalab import fresh
    from kafkalab.frames import read_topic

    r = Result("Exercise 4: a log shipper batch")
    try:
        producer, stated = _stated_settings(make_producer)
    except Exception as exc:  # noqa: BLE001 - the learner's code: say what happened
        r.check(False, "", f"make_producer() raised {type(exc).__name__}: {exc}")
        return r.done()
    if not r.check(isinstance(producer, kafka.KafkaProducer), "make_producer() returns a kafka.KafkaProducer",
                   f"make_producer() returned {type(producer).__name__}: this exercise is about the "
                   "client itself, so build a kafka.KafkaProducer"):
        return r.done()
    try:
        missing = [k for k in SHIPPER_SETTINGS if k not in stated]
        r.check(not missing, f"it states {', '.join(SHIPPER_SETTINGS)}",
                "state each setting the lesson is about instead of trusting the default: "
                + "; ".join(f"{k} ({SHIPPER_SETTINGS[k]})" for k in missing))
        linger, codec, acks = stated.get("linger_ms", 0), stated.get("compression_type"), stated.get("acks")
        r.check(isinstance(linger, (int, float)) and linger > 0 and codec is not None and acks in ("all", -1),
                f"batches wait {linger} ms, are compressed with {codec}, and every in-sync replica confirms",
                f"linger_ms={linger!r}, compression_type={codec!r}, acks={acks!r}: a shipper trades a few "
                "milliseconds of waiting for fuller, compressed batches, and must not lose a line a "
                "single broker acknowledged")
        records = _shipper_records(lines)
        topic = f"week05-shipper-{uuid.uuid4().hex[:8]}"
        fresh.fresh_topic(topic, partitions=3)
        recorder = _Recorder(producer)
        try:
            with forbidden(*_SHIPPERS):
                returned = ship_batch(recorder, records, topic)
        except Exception as exc:  # noqa: BLE001
            r.check(False, "", f"ship_batch raised {type(exc).__name__}: {exc}")
            return r.done()
        if not r.check(recorder.futures, f"ship_batch called send() {len(recorder.futures)} times",
                       "ship_batch never called producer.send(): send each record to the topic"):
            return r.done()
        pending = sum(not f.is_done for f in recorder.futures)
        r.check(pending == 0, "when ship_batch returned, the broker had answered every send",
                f"when ship_batch returned, {pending} of {len(recorder.futures)} sends were still waiting "
                "in the producer's memory (send() only queues a record): a crash now would lose them. "
                "What makes a producer finish what it has queued?")
        r.check(returned == len(records), f"it returns {len(records)}, the lines shipped",
                f"it returned {returned!r}; return how many records the broker acknowledged ({len(records)})")
        frame = read_topic(topic, timeout=20, settings=settings)
        _check_arrived(r, records, frame)
        fresh.drop_topic(topic)
        _check_refusal(r, producer, ship_batch, settings)
    finally:
        producer.close(timeout=5)
    return r.done()


def _line_numbers(frame: Any) -> list[int | None]:
    """Each row's ``metadata["line"]`` (the source line number), or None where there is none."""
    if "metadata" not in frame.columns:
        return [None] * len(frame)
    out: list[int | None] = []
    for meta in frame["metadata"]:
        line = meta.get("line") if isinstance(meta, dict) else None
        out.append(line if isinstance(line, int) and not isinstance(line, bool) else None)
    return out


def _check_arrived(r: Result, records: list[dict[str, Any]], frame: Any) -> None:
    """Every line once, keyed by its logger, in order per key (read back from the broker)."""
    lines = _line_numbers(frame)
    if not r.check(any(ln is not None for ln in lines), "",
                   "the topic holds no log records with a metadata line number: send each record, "
                   "unchanged, as JSON"):
        return
    # read_topic sorts by partition, then offset: the order a consumer of each partition sees.
    rows = [(str(k), int(p), ln) for k, p, ln in zip(frame["key"], frame["partition"], lines, strict=True)
            if ln is not None]
    want = [rec["metadata"]["line"] for rec in records]
    got = [ln for _, _, ln in rows]
    lost = sorted(set(want) - set(got))
    twice = len(got) - len(set(got))
    r.check(not lost and not twice and len(got) == len(want),
            f"all {len(want)} lines arrived, each once",
            f"the topic holds {len(got)} lines for {len(want)} shipped: {len(lost)} missing "
            f"(first: line {lost[0] if lost else '-'}), {twice} duplicated")
    logger_of = {rec["metadata"]["line"]: rec["logger"] for rec in records}
    wrong_key = [(k, ln) for k, _, ln in rows if ln in logger_of and k != logger_of[ln]]
    r.check(not wrong_key, "every record's key is the logger that wrote the line",
            f"{len(wrong_key)} records have another key (first: {wrong_key[0][0]!r} for a "
            f"{logger_of[wrong_key[0][1]]!r} line): the key decides the partition, and one "
            "component's lines belong together" if wrong_key else "")
    expected: dict[str, list[int]] = collections.defaultdict(list)
    for rec in records:
        expected[rec["logger"]].append(rec["metadata"]["line"])
    seen: dict[str, list[int]] = collections.defaultdict(list)
    partitions: dict[str, set[int]] = collections.defaultdict(set)
    for _, part, ln in rows:
        if ln in logger_of:
            seen[logger_of[ln]].append(ln)
            partitions[logger_of[ln]].add(part)
    bad = sorted(k for k in expected if len(partitions[k]) > 1
                 or seen[k] != [ln for ln in expected[k] if ln in set(seen[k])])
    r.check(not bad, f"each of the {len(expected)} loggers' lines sit on one partition, in file order",
            f"the lines of {bad[:3]} are split across partitions or out of order: one key's records "
            "keep their order only on one partition" if bad else "")


def _check_refusal(r: Result, producer: Any, ship_batch: Callable[..., Any], settings: Any) -> None:
    """A line the topic refuses (too large) must not be reported as shipped."""
    import os
    import uuid

    from kafkalab import fresh
    from kafkalab.logs import make_record

    topic = f"week05-refused-{uuid.uuid4().hex[:8]}"
    fresh.fresh_topic(topic, partitions=1, config={"max.message.bytes": "16384"})
    good = _shipper_records(5)
    # The refused line comes last and is larger than the producer's batch_size, so it travels
    # alone in its own batch: its future fails plainly (a batch of several records that the broker
    # finds too large is split and retried by kafka-python 3, which this check must not depend on).
    # Random hex compresses to about half: still far above the topic's 16 KiB.
    batch_size = int(getattr(producer, "config", {}).get("batch_size", 16_384) or 16_384)
    huge = make_record(service="zookeeper", level="ERROR", message=os.urandom(max(batch_size, 16_384) + 8_192).hex(),
                       timestamp_ms=1_438_192_000_000, logger="Huge", metadata={"line": 0})
    try:
        with forbidden(*_SHIPPERS):
            returned = ship_batch(producer, [*good, huge], topic)
        r.check(False, "", f"the broker refused a line (larger than the topic's max.message.bytes) and "
                f"ship_batch returned {returned!r} as if all went well: the failure was in the send's "
                "future (or callback), and nobody looked at it")
    except ExerciseFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - what we want: the failure reached the caller
        r.check(True, f"a line the broker refused made ship_batch fail ({type(exc).__name__})", "")
    finally:
        # Deleted, but not waited for: the learner's producer still knows the topic, and
        # its next metadata refresh may create it again (auto.create.topics.enable), so
        # "no longer listed" can take as long as that producer lives (a run timed out so).
        from kafkalab.clients import Admin

        with Admin() as admin:
            admin.delete_topic(topic)


def check_resend_prediction(predicted: Mapping[str, int], topic: str) -> Result:
    """Exercise 5 (predict, then run): the same batch shipped twice: how many records, how many distinct lines?

    ``predicted`` holds ``{"records": ..., "distinct lines": ...}``, written down
    before shipping; the checker reads ``topic`` on the broker.
    """
    from kafkalab.clients.admin import Admin, UnknownTopicError
    from kafkalab.frames import read_topic

    r = Result("Exercise 5: ship the same batch twice")
    try:
        with Admin() as admin:
            total = sum(admin.end_offsets(topic).values())
    except UnknownTopicError:
        r.check(False, "", f"there is no topic {topic!r}: run the cell that ships the batch twice first")
        return r.done()
    frame = read_topic(topic, timeout=20) if total else None
    distinct = 0 if frame is None else len({ln for ln in _line_numbers(frame) if ln is not None})
    check_prediction(r, dict(predicted), {"records": total, "distinct lines": distinct},
                     "counts")
    return r.done()


# An exercise cell not written yet leaves its answer None: say "not done yet" in one line.
guard_checkers(globals())
