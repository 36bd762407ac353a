"""Fresh topics and groups: a lesson run twice starts from the same state."""

from __future__ import annotations

import uuid

from kafkalab import clients
from kafkalab.fresh import drop_topic, fresh_group, fresh_topic


def test_fresh_topic_recreates_an_empty_topic_with_the_asked_partitions():
    name = f"test-fresh-{uuid.uuid4().hex[:8]}"
    info = fresh_topic(name, partitions=2)          # did not exist yet
    assert info.partitions == 2
    with clients.Producer() as producer:
        for i in range(5):
            producer.send(name, {"i": i}, key=str(i))
    with clients.Admin() as admin:
        assert admin.message_count(name) == 5
        info = fresh_topic(name, partitions=3, admin=admin)
        assert info.partitions == 3
        assert admin.message_count(name) == 0
        assert name in admin.topics()               # the caller's admin is left open


def test_fresh_group_forgets_committed_offsets():
    topic = f"test-fresh-{uuid.uuid4().hex[:8]}"
    group = f"g-{uuid.uuid4().hex[:8]}"
    fresh_topic(topic, partitions=1)
    with clients.Producer() as producer:
        producer.send_and_wait(topic, {"i": 1}, key="k")
    with clients.Consumer(topic, group_id=group) as consumer:
        consumer.commit(list(consumer.messages(max_messages=1, timeout=15)))
    with clients.Admin() as admin:
        assert admin.group_offsets(group)
        assert fresh_group(group, admin=admin) is True
        assert admin.group_offsets(group) == {}
    assert fresh_group(group) is False  # again: no error, and nothing was deleted


def test_drop_topic_waits_until_it_is_gone():
    name = f"test-fresh-{uuid.uuid4().hex[:8]}"
    assert drop_topic(name) is False                # nothing to drop
    fresh_topic(name, partitions=1)
    with clients.Admin() as admin:
        assert drop_topic(name, admin=admin) is True
        assert name not in admin.topics()
