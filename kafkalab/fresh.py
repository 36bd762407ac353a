"""Start a lesson from a clean slate: topics re-created empty, groups forgotten.

A notebook that is run twice must show the same thing twice, so lessons
delete and re-create their topics first. On real Kafka, deleting a topic is
asynchronous: for a moment the old topic is "marked for deletion" and creating
it again fails. :func:`fresh_topic` waits that moment out (bounded), so the
same cell works on the local broker and on a 3-broker cluster.

>>> import inspect
>>> list(inspect.signature(fresh_topic).parameters)
['name', 'partitions', 'admin', 'config', 'timeout']
>>> list(inspect.signature(drop_topic).parameters)
['name', 'admin', 'timeout']
"""

from __future__ import annotations

import logging
import time

from kafkalab.clients.admin import Admin, TopicInfo, UnknownTopicError

__all__ = ["drop_topic", "fresh_group", "fresh_topic"]

log = logging.getLogger(__name__)


def drop_topic(name: str, *, admin: Admin | None = None, timeout: float = 30.0) -> bool:
    """Delete ``name`` and wait (bounded) until the broker no longer has *that* topic.

    Returns False if there was no such topic. Raises :class:`TimeoutError`
    if the same topic (same topic ID) is still listed after ``timeout`` seconds.

    A producer that is still running may create the topic again as soon as it
    is gone (``auto.create.topics.enable``): that is a new topic with a new
    topic ID, so the old one counts as deleted rather than as "still listed".
    """
    own = admin is None
    admin = admin or Admin()
    try:
        old_id = _topic_id(admin, name)
        if not admin.delete_topic(name):
            return False
        deadline = time.monotonic() + timeout
        while (now := _topic_id(admin, name)) is not None and now == old_id:
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {name!r} is still listed {timeout} s after deleting it")
            time.sleep(0.2)
        return True
    finally:
        if own:
            admin.close()


def _topic_id(admin: Admin, name: str) -> str | None:
    """The topic's ID (Kafka gives each topic one when it is created), or None if it is not there."""
    try:
        return admin.describe_topic(name).topic_id
    except UnknownTopicError:
        return None


def fresh_topic(name: str, partitions: int = 3, *, admin: Admin | None = None,
                config: dict[str, str] | None = None, timeout: float = 30.0) -> TopicInfo:
    """Delete ``name`` if it exists and create it again, empty, with ``partitions``.

    Raises :class:`TimeoutError` if the broker still reports the old topic
    after ``timeout`` seconds.
    """
    own = admin is None
    admin = admin or Admin()
    try:
        drop_topic(name, admin=admin, timeout=timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if admin.ensure_topic(name, partitions=partitions, config=config):
                    return admin.describe_topic(name)
                # "Already exists" right after a delete: the old topic is still
                # being deleted (real Kafka deletes in the background).
            except UnknownTopicError:
                pass  # gone between the create attempt and the describe: try again
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {name!r} was deleted but the broker still reports it "
                                   f"after {timeout} s; try again, or pick another name")
            log.debug("topic %s is still being deleted; waiting", name)
            time.sleep(0.2)
    finally:
        if own:
            admin.close()


def fresh_group(group: str, *, admin: Admin | None = None) -> bool:
    """Forget a consumer group's committed offsets (it must have no live members).

    Returns the broker's answer: True if it deleted the group, False if there
    was no such group.
    """
    own = admin is None
    admin = admin or Admin()
    try:
        return admin.delete_group(group)
    finally:
        if own:
            admin.close()
