"""The DSL without a broker: steps, grouping, bad records, sessions (run_local)."""

from __future__ import annotations

from kafkalab import windows
from kafkalab.streams import Step, Stream, apply_steps
from kafkalab.testing import make_events, make_message


def test_steps_run_in_order():
    steps = [Step("map", lambda k, v: (v["user"], v)),
             Step("flat_map", lambda k, v: [(k, i) for i in range(v["n"])]),
             Step("filter", lambda k, v: v % 2 == 0)]
    assert apply_steps(steps, None, {"user": "u", "n": 5}) == [("u", 0), ("u", 2), ("u", 4)]


def test_group_by_rekeys_and_counts_per_window():
    events = make_events([{"customerId": c, "total": t} for c, t in
                          [("A", 5), ("B", 1), ("A", 7), ("A", 1), ("B", 2)]],
                         step_ms=400, key="ignored")
    table = (Stream("orders").group_by(lambda k, v: v["customerId"])
             .window(windows.Tumbling(1000), emit="final").aggregate(windows.Sum("total")))
    got = [(r.key, r.window.start_ms, r.value) for r in table.run_local(events).final()]
    assert got == [("A", 0, 12), ("B", 0, 1), ("A", 1000, 1), ("B", 1000, 2)]


def test_bad_records_are_reported_not_dropped():
    msgs = [make_message({"ts": 1000, "v": 1}, offset=0),
            make_message({"v": 2}, offset=1),                 # no time field
            make_message({"ts": "yesterday", "v": 3}, offset=2),
            make_message({"ts": 1500, "v": 4}, offset=3)]
    table = Stream("t").group_by_key().window(windows.Tumbling(1000), time="ts").count()
    run = table.run_local(msgs)
    assert [r.value for r in run.final()] == [2]
    assert [(m.offset, reason) for m, reason in run.dead] == [
        (1, "no event time: field 'ts' is missing from the record"),
        (2, "no event time: 'yesterday' is not ISO-8601 nor epoch ms")]


def test_a_failing_step_is_reported_with_its_error():
    msgs = [make_message({"v": 1}, offset=0), make_message({"v": 0}, offset=1)]
    table = (Stream("t").map_values(lambda v: 10 // v["v"]).group_by_key()
             .window(windows.Tumbling(1000)).count())
    run = table.run_local(msgs)
    assert [r.value for r in run.final()] == [1]
    assert run.dead[0][1].startswith("ZeroDivisionError")


def test_session_windows_through_the_dsl():
    clicks = make_events([{}] * 4, key="u1", step_ms=400) + [
        make_message({}, key="u1", offset=9, timestamp_ms=10_000)]
    table = (Stream("clicks").group_by_key().window(windows.Session(gap_ms=1000), grace_ms=60_000)
             .count())
    got = [(r.window, r.value) for r in table.run_local(clicks).final()]
    assert got == [(windows.Window(0, 1201), 4), (windows.Window(10_000, 10_001), 1)]


def test_late_records_come_out_of_run_local():
    msgs = [make_message(1, offset=i, key="k", timestamp_ms=ts)
            for i, ts in enumerate([0, 5000, 100])]
    run = Stream("t").group_by_key().window(windows.Tumbling(1000)).count().run_local(msgs)
    assert [(r.timestamp_ms, r.stream_time_ms) for r in run.late] == [(100, 5000)]


def test_group_by_key_after_a_map_repartitions():
    s = Stream("t").map(lambda k, v: (v["user"], v))
    assert s.group_by_key().window(windows.Tumbling()).count().repartitions
    assert not Stream("t").group_by_key().window(windows.Tumbling()).count().repartitions
    msgs = [make_message({"user": u}, key="x", offset=i, timestamp_ms=i)
            for i, u in enumerate("abab")]
    run = s.group_by_key().window(windows.Tumbling(1000)).count().run_local(msgs)
    assert [(r.key, r.value) for r in run.final()] == [("a", 2), ("b", 2)]


def test_group_by_over_several_partitions_gives_one_result_per_key_and_window():
    msgs = [make_message({"customerId": "A", "total": t}, partition=p, offset=i, timestamp_ms=100 * i)
            for i, (p, t) in enumerate([(0, 1), (1, 2), (2, 4), (0, 8)])]
    table = (Stream("orders").group_by(lambda k, v: v["customerId"])
             .window(windows.Tumbling(1000)).aggregate(windows.Sum("total")))
    assert [(r.key, r.value) for r in table.run_local(msgs).final()] == [("A", 15)]


def test_the_streams_modules_import_each_other_without_a_cycle():
    """steps <- task <- stream <- processor: each module reads on its own, top to bottom.

    Imports inside functions count (the old cycle hid in one); imports under
    ``if TYPE_CHECKING:`` do not run, so they do not.
    """
    import ast
    from pathlib import Path

    import kafkalab.streams

    folder = Path(kafkalab.streams.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        if path.stem in ("__init__", "__main__"):
            continue
        tree = ast.parse(path.read_text())
        skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                and ast.unparse(node.test) == "TYPE_CHECKING" for n in ast.walk(node)}
        graph[path.stem] = {node.module.rsplit(".", 1)[-1] for node in ast.walk(tree)
                            if isinstance(node, ast.ImportFrom) and id(node) not in skip
                            and (node.module or "").startswith("kafkalab.streams.")}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n}))
                   for n in graph.get(start, ()))

    assert [m for m in graph if reaches(m, m, set())] == []
    assert graph["steps"] == set() and graph["task"] == {"steps"}


def test_a_task_takes_a_poll_at_once_as_it_takes_each_message():
    """The processor hands a partition's records to Task.process_many at once;
    run_local hands them one at a time (Task.process): same outputs, same errors."""
    from kafkalab.streams import Task
    from kafkalab.testing import seeded

    rng = seeded(11)
    msgs = []
    for i in range(400):
        value = {"ts": 60_000 + i * 300 - rng.choice([0, 0, 0, 5_000, 40_000]), "total": rng.randint(0, 9),
                 "n": rng.randint(0, 2)}
        if i % 37 == 0:
            del value["ts"]              # no event time
        if i % 41 == 0:
            del value["total"]           # Sum refuses it
        msgs.append(make_message(value, key=f"k{rng.randint(0, 3)}", offset=i))
    table = (Stream("t").filter(lambda k, v: v["total"] != 1 if "total" in v else True)
             .flat_map(lambda k, v: [(k, v)] * v["n"]).group_by_key()
             .window(windows.Hopping(3000, 1000), grace_ms=2000, time="ts")
             .aggregate(windows.Fields(n=windows.Count(), total=windows.Sum("total"))))
    one, many = Task(table, 0), Task(table, 0)
    expected, expected_errors = [], []
    for m in msgs:
        out, errors = one.process(m, table.transform(m, rekey=False))
        expected += out
        expected_errors += [(m.offset, stage, repr(exc)) for exc, stage in errors]
    got, got_errors = [], []
    for i in range(0, len(msgs), 64):
        out, errors = many.process_many([(m, table.transform(m, rekey=False)) for m in msgs[i:i + 64]])
        got += out
        got_errors += [(m.offset, stage, repr(exc)) for m, exc, stage in errors]
    assert {s for _, s, _ in expected_errors} == {"event-time", "aggregate"}
    assert any(isinstance(o, windows.LateRecord) for o in expected)
    assert got == expected and got_errors == expected_errors
    assert many.snapshot() == one.snapshot()
