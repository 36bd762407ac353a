"""Alert rules, the engine's cool-down, configs and notifiers: pure, with fixed timestamps.

The week's promise: each rule fires exactly once on a scripted incident and
never on clean traffic.
"""

from __future__ import annotations

import collections
import http.server
import json
import threading
from collections.abc import Iterator

import pytest

from kafkalab.logs import (
    DEFAULT_RULES,
    AlertEngine,
    BurstRule,
    ErrorBurst,
    ErrorRateRule,
    MemoryNotifier,
    NewTemplateRule,
    PatternRule,
    Rule,
    SlowDependency,
    WebhookNotifier,
    make_record,
    rules_from_config,
    simulate,
    validate,
)

T0 = 1_767_603_600_000


def run(engine: AlertEngine, records) -> list:
    for r in records:
        engine.process(validate(r))
    engine.flush()
    return engine.alerts


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_no_rule_fires_on_clean_traffic(seed) -> None:
    engine = AlertEngine.from_config(DEFAULT_RULES)
    assert run(engine, simulate(900, seed=seed, start_ms=T0)) == []
    assert engine.stats.evaluated > 10_000 and engine.stats.suppressed == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_rule_fires_exactly_once_on_an_error_burst(seed) -> None:
    engine = AlertEngine.from_config(DEFAULT_RULES)
    incident = ErrorBurst("payments", start_s=300, duration_s=90)
    alerts = run(engine, simulate(720, seed=seed, start_ms=T0, incidents=[incident]))
    fired = collections.Counter((a.rule, a.service) for a in alerts)
    assert fired == {(name, "payments"): 1 for name in (
        "high-error-rate", "error-burst", "out-of-memory-or-timeout", "new-error")}
    assert engine.stats.suppressed > 100  # the repeats were held back, not lost
    by_rule = {a.rule: a for a in alerts}
    # Each fired inside the incident, not before it.
    assert all(T0 + 300_000 <= a.timestamp_ms <= T0 + 450_000 for a in alerts)
    assert by_rule["new-error"].details["template"] == "OutOfMemoryError: Java heap space in worker <num>"
    assert by_rule["high-error-rate"].details["error_rate"] > 0.25


def test_a_slow_dependency_raises_the_timeout_alerts_once() -> None:
    engine = AlertEngine.from_config(DEFAULT_RULES)
    alerts = run(engine, simulate(600, seed=1, start_ms=T0,
                                  incidents=[SlowDependency("api", start_s=300, duration_s=60)]))
    fired = collections.Counter((a.rule, a.service) for a in alerts)
    assert fired[("out-of-memory-or-timeout", "api")] == 1
    assert fired[("new-error", "api")] == 1
    assert {svc for _, svc in fired} == {"api"}


def test_cool_down_lets_a_second_incident_through_and_says_what_it_held_back() -> None:
    engine = AlertEngine([PatternRule("oom", pattern="OutOfMemory")], cooldown_s=300)
    oom = lambda s: make_record(service="payments", level="ERROR",  # noqa: E731
                                message="OutOfMemoryError", timestamp_ms=T0 + s * 1000)
    fired = []
    for s in list(range(0, 50)) + list(range(400, 410)):
        fired += engine.process(oom(s))
    assert [(a.timestamp_ms - T0) // 1000 for a in fired] == [0, 400]
    assert [a.suppressed for a in fired] == [0, 49]
    assert engine.stats.suppressed == 49 + 9


def test_cool_down_is_per_rule_and_service() -> None:
    engine = AlertEngine([PatternRule("oom", pattern="OutOfMemory"),
                          BurstRule("burst", count=2, within_s=5)], cooldown_s=300)
    fired = []
    for svc in ("payments", "api", "payments", "api"):
        fired += engine.process(make_record(service=svc, level="ERROR", message="OutOfMemory",
                                            timestamp_ms=T0))
    assert sorted((a.rule, a.service) for a in fired) == [("burst", "api"), ("burst", "payments"),
                                           ("oom", "api"), ("oom", "payments")]


def test_rules_only_look_at_their_services_and_levels() -> None:
    rule = PatternRule("t", pattern="timeout", level="ERROR", services=["api"])
    mk = lambda svc, lvl: validate(make_record(service=svc, level=lvl,  # noqa: E731
                                               message="timeout", timestamp_ms=T0))
    assert rule.process(mk("api", "ERROR")) is not None
    assert rule.process(mk("api", "WARNING")) is None
    assert rule.process(mk("payments", "ERROR")) is None


def test_error_rate_ignores_small_windows_and_judges_complete_ones() -> None:
    rule = ErrorRateRule("r", threshold=0.5, window_s=60, min_records=10)
    recs = [make_record(service="api", level="ERROR", message="x", timestamp_ms=T0 + i * 1000)
            for i in range(5)]  # 100% errors, but only 5 records
    recs.append(make_record(service="api", level="INFO", message="x", timestamp_ms=T0 + 61_000))
    assert [rule.process(r) for r in recs] == [None] * 6
    assert rule.flush() == []


def test_new_template_learns_first_then_alerts_once_per_template() -> None:
    rule = NewTemplateRule("new", learn_s=60)
    err = lambda s, m: rule.process(make_record(  # noqa: E731
        service="api", level="ERROR", message=m, timestamp_ms=T0 + s * 1000))
    assert err(0, "disk full on node 1") is None             # learning
    assert err(100, "disk full on node 7") is None           # same template
    assert err(110, "certificate expired for CN=shop") is not None
    assert err(120, "certificate expired for CN=shop") is None


def test_a_broken_rule_is_reported_and_does_not_stop_the_others() -> None:
    class Broken(Rule):
        def process(self, record):
            return record["no-such-field"]

    engine = AlertEngine([Broken("broken"), PatternRule("oom", pattern="OutOfMemory")])
    fired = engine.process(make_record(service="a", level="ERROR", message="OutOfMemory",
                                       timestamp_ms=T0))
    assert [a.rule for a in fired] == ["oom"]
    assert engine.stats.rule_errors == 1 and "KeyError" in engine.stats.errors[0]


@pytest.mark.parametrize("config, message", [
    ({"rules": [{"name": "x", "type": "regex", "pattern": "a"}]}, "type must be one of"),
    ([{"name": "x", "type": "burst", "count": 1}], "count >= 2"),
    ([{"name": "x", "type": "error_rate", "threshold": 20}], "share between 0 and 1"),
    ([{"type": "pattern", "pattern": "a"}], "needs a name"),
    ([{"name": "x", "type": "pattern"}], "pattern"),
    ([{"name": "x", "type": "pattern", "pattern": "("}], "is not valid"),
    ([{"name": "x", "type": "pattern", "pattern": "a", "severity": "loud"}], "severity"),
    ([{"name": "x", "type": "pattern", "pattern": "a"}] * 2, "unique"),
    ("rules: [", "not valid YAML"),
])
def test_config_mistakes_are_plain_errors(config, message) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        rules_from_config(config)


def test_the_default_rules_load_from_yaml() -> None:
    engine = AlertEngine.from_config(DEFAULT_RULES)
    assert [type(r).__name__ for r in engine.rules] == [
        "ErrorRateRule", "BurstRule", "PatternRule", "NewTemplateRule"]
    assert engine.cooldown_ms == 300_000


# ---------------------------------------------------------------- notifiers


@pytest.fixture
def webhook() -> Iterator[tuple[str, list]]:
    received: list = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers.get("X-Token"), json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alerts", received
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_receives_each_alert_once_as_json(webhook) -> None:
    url, received = webhook
    hook = WebhookNotifier(url, headers={"X-Token": "t0k"})
    memory = MemoryNotifier()
    engine = AlertEngine.from_config(DEFAULT_RULES, notifiers=[hook, memory])
    run(engine, simulate(600, seed=2, start_ms=T0,
                         incidents=[ErrorBurst("payments", start_s=300, duration_s=60)]))
    assert len(received) == len(memory.alerts) == 4 and hook.sent == 4
    path, token, body = received[0]
    assert (path, token) == ("/alerts", "t0k")
    assert {"rule", "service", "severity", "message", "timestamp", "suppressed"} <= set(body)
    assert sorted(b["rule"] for _, _, b in received) == sorted(a.rule for a in memory.alerts)


def test_a_dead_webhook_is_counted_and_the_pipeline_goes_on() -> None:
    from kafkalab.net import free_port

    port = free_port()  # nothing listens there
    hook = WebhookNotifier(f"http://127.0.0.1:{port}/x", timeout=0.5)
    memory = MemoryNotifier()
    engine = AlertEngine([PatternRule("oom", pattern="OutOfMemory")], notifiers=[hook, memory])
    engine.process(make_record(service="a", level="ERROR", message="OutOfMemory", timestamp_ms=T0))
    assert (hook.failures, hook.sent, len(memory.alerts)) == (1, 0, 1)
    assert "ConnectError" in hook.last_error


# ---------------------------------------------------------------- contract over every rule type

# For each rule type: a config, and a scripted trigger it must fire on.
CONTRACT = {
    "error_rate": ({"threshold": 0.5, "window_s": 60, "min_records": 5},
                   [("ERROR", "db down", s) for s in range(10)] + [("INFO", "ok", 61)]),
    "burst": ({"count": 5, "within_s": 10}, [("ERROR", "db down", s) for s in range(5)]),
    "pattern": ({"pattern": "db down"}, [("ERROR", "db down", 0)]),
    "new_template": ({"learn_s": 10}, [("ERROR", "known", 0), ("ERROR", "db down", 30)]),
}


def test_the_contract_covers_every_rule_type() -> None:
    from kafkalab.logs.rules import RULE_TYPES

    assert set(CONTRACT) == set(RULE_TYPES)


@pytest.mark.parametrize("kind", sorted(CONTRACT))
def test_every_rule_type_keeps_the_contract(kind) -> None:
    params, trigger = CONTRACT[kind]
    build = lambda: rules_from_config([{"name": f"r-{kind}", "type": kind, **params}])[0]  # noqa: E731

    def fire(rule: Rule, lines) -> list:
        out = [rule.process(validate(make_record(service="api", level=lvl, message=msg,
                                                 timestamp_ms=T0 + s * 1000)))
               for lvl, msg, s in lines]
        return [a for a in out + rule.flush() if a is not None]

    rule = build()
    assert isinstance(rule, Rule) and rule.kind == kind and repr(rule) == f"{type(rule).__name__}('r-{kind}')"
    alerts = fire(rule, trigger)
    assert len(alerts) == 1, f"{kind} should fire once on its trigger; got {alerts}"
    a = alerts[0]
    assert (a.rule, a.kind, a.service, a.severity) == (f"r-{kind}", kind, "api", "warning")
    assert json.loads(json.dumps(a.to_record()))["rule"] == f"r-{kind}"  # JSON-ready for topic and webhook
    # Deterministic: a fresh rule on the same lines raises the same alert.
    assert [x.to_record() for x in fire(build(), trigger)] == [a.to_record()]
    # Quiet on quiet traffic, and blind to services it is not asked about.
    assert fire(build(), [("INFO", "GET / 200", s) for s in range(120)]) == []
    scoped = rules_from_config([{"name": "s", "type": kind, "services": ["payments"], **params}])[0]
    assert fire(scoped, trigger) == []


# ---------------------------------------------------------------- the aggregator's alert sends

def test_an_alert_whose_send_failed_is_sent_before_the_next_record() -> None:
    # The loop commits a record as soon as handle() returns: a failed alert send
    # must raise (no commit) and the alert must not be lost when the retried
    # record no longer raises it (the gate has seen it).
    from kafkalab.alerts import TopicNotifier
    from kafkalab.logs import LogAggregator
    from kafkalab.testing import make_message

    class Send:
        def __init__(self, ok):
            self.ok = ok

        def get(self, timeout=None):
            if not self.ok:
                raise RuntimeError("broker refused the record")

    class Producer:
        def __init__(self):
            self.ok, self.delivered = False, []

        def send(self, topic, value=None, *, key=None, **kw):
            if self.ok:
                self.delivered.append(value["rule"])
            return Send(self.ok)

    agg = LogAggregator(rules=[PatternRule("oom", pattern="OutOfMemory")], summaries_topic=None)
    producer = Producer()
    agg._alerts_out = TopicNotifier(producer)  # stands in for the connection
    oom = make_message(make_record(service="a", level="ERROR", message="OutOfMemory",
                                   timestamp_ms=T0))
    with pytest.raises(RuntimeError, match="refused"):
        agg.handle(oom)
    producer.ok = True
    agg.handle(oom)  # the retry: suppressed by the cool-down, yet the alert goes out
    assert producer.delivered == ["oom"] and agg._unsent == []
