"""A consumer group on threads: partitions move as members join and leave,
and every record is processed exactly once across the hand-overs."""

from __future__ import annotations

import time
import uuid

import pytest

from kafkalab import clients
from kafkalab.groups import Group, settled


def _all_records(topic):
    with clients.Consumer(topic, group_id=False) as c:
        return list(c.messages(max_messages=200, timeout=15))


def test_settled_needs_each_partition_exactly_once():
    assert settled({"a": (0, 1, 2, 3)}, 4)
    assert settled({"a": (0, 2), "b": (1, 3), "c": ()}, 4)
    assert not settled({"a": (0, 1), "b": (1, 2, 3)}, 4)   # overlap: stale view
    assert not settled({"a": (0, 1)}, 4)                    # partitions without owner
    assert not settled({}, 1)


@pytest.mark.slow
def test_partitions_move_and_records_are_processed_once():
    topic = f"test-groups-{uuid.uuid4().hex[:8]}"
    with clients.Admin() as admin:
        admin.ensure_topic(topic, partitions=4)
    seen: list[tuple[int, int]] = []
    with Group(topic, f"g-{uuid.uuid4().hex[:8]}", handler=lambda m: seen.append(
            (m.partition, m.offset)), max_records=5) as group:
        group.add("A")
        ticks = []
        group.wait_settled(4, tick=lambda: ticks.append(1))
        assert ticks                                       # the join takes a while
        assert group.assignments() == {"A": (0, 1, 2, 3)}
        group.add("B")
        group.wait_settled(4)
        split = group.assignments()
        assert sorted(len(p) for p in split.values()) == [2, 2]
        with clients.Producer() as producer:
            for i in range(200):
                producer.send(topic, {"i": i}, key=f"k{i}")
        # B leaves while records are flowing: A takes its partitions over and
        # continues from B's last commit.
        group.remove("B")
        group.wait_settled(4)
        assert group.assignments() == {"A": (0, 1, 2, 3)}

        deadline = time.monotonic() + 20
        while len(set(seen)) < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        timeline = group.timeline()
    assert set(seen) == {(m.partition, m.offset) for m in _all_records(topic)}  # none lost
    assert len(set(seen)) == 200
    # A record is handled twice only after a commit refused during a rebalance.
    assert len(seen) - 200 <= sum(m.uncommitted for m in group.members.values())
    assert group.processed() == len(seen)
    assert set(timeline["member"]) == {"A", "B"}
    b_rows = timeline[timeline["member"] == "B"]
    assert b_rows["n_partitions"].tolist()[-1] == 0            # B ended with nothing
    assert all(not m.alive for m in group.members.values())


@pytest.mark.slow
def test_a_failing_handler_is_reported_not_swallowed():
    topic = f"test-groups-{uuid.uuid4().hex[:8]}"
    with clients.Admin() as admin:
        admin.ensure_topic(topic, partitions=1)
    with clients.Producer() as producer:
        producer.send_and_wait(topic, {"poison": True}, key="k")

    def handler(msg):
        raise ValueError(f"cannot handle {msg.value}")

    with Group(topic, f"g-{uuid.uuid4().hex[:8]}", handler=handler) as group:
        group.add("A")
        deadline = time.monotonic() + 20
        while group.members["A"].alive and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(RuntimeError, match="A: ValueError: cannot handle {'poison': True}"):
            group.raise_errors()
    assert group.processed() == 0
