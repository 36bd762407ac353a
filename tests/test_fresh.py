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



def test_drop_topic_returns_when_the_topic_was_created_again_at_once():
    # A learner's producer still sending: the broker auto-creates the topic as soon as
    # the old one is gone, often before a poll for the name sees the gap (week 5's
    # checker timed out on that). The race is made certain here: this admin creates
    # the topic again right after the delete has gone through. It is a new topic, with
    # a new topic ID, so the old one is deleted and drop_topic returns.
    import time

    name = f"test-fresh-{uuid.uuid4().hex[:8]}"
    fresh_topic(name, partitions=1)

    class RecreatingAdmin(clients.Admin):
        def delete_topic(self, topic: str, missing_ok: bool = True) -> bool:
            deleted = super().delete_topic(topic, missing_ok)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    if self.ensure_topic(topic, partitions=1):
                        break
                except Exception:  # noqa: BLE001 - "marked for deletion": try again
                    pass
                time.sleep(0.1)
            return deleted

    with RecreatingAdmin() as admin:
        (before,) = admin.raw.describe_topics([name])
        assert drop_topic(name, admin=admin, timeout=5) is True
        (after,) = admin.raw.describe_topics([name])
        assert after["topic_id"] != before["topic_id"]
    drop_topic(name)
