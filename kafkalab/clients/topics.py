"""Topic names and topic configs, checked the way Kafka checks them, before any call.

The broker refuses an illegal name or config too, but only after a round trip,
and some mistakes (a config value of the wrong type for a key it knows) come
back as errors a learner cannot read. These checks give one line that says what
is wrong and what is expected, before anything is created.

>>> check_topic_name("orders.v2")
'orders.v2'
>>> check_topic_name("my topic")
Traceback (most recent call last):
...
kafkalab.clients.topics.TopicSpecError: topic name 'my topic': only letters, digits, '.', '_' and
 '-' are allowed (' ' is not)
>>> check_topic_configs({"retention.ms": "60000", "cleanup.policy": "compact,delete"})
{'retention.ms': '60000', 'cleanup.policy': 'compact,delete'}
>>> check_topic_configs({"retention.ms": "banana"})
Traceback (most recent call last):
...
kafkalab.clients.topics.TopicSpecError: topic config retention.ms=banana: expected a whole number
 >= -1 (milliseconds; -1 keeps records for ever)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

__all__ = ["MAX_NAME_LENGTH", "TOPIC_CONFIGS", "TopicSpecError", "check_partitions",
           "check_replication_factor", "check_topic_configs", "check_topic_name"]

#: Kafka's limit (``Topic.MAX_NAME_LENGTH``): a partition's folder is
#: ``<topic>-<partition>``, and file names stop at 255 bytes.
MAX_NAME_LENGTH = 249
_LEGAL = re.compile(r"[A-Za-z0-9._-]+")
#: A signed 32-bit partition count / replication factor, as the protocol carries them.
_INT32 = 2**31 - 1
_INT64 = 2**63 - 1


class TopicSpecError(ValueError):
    """A topic name, partition count, replication factor or config Kafka would refuse."""


def check_topic_name(name: str) -> str:
    """Return ``name`` if Kafka accepts it as a topic name, else raise with the rule broken."""
    if not isinstance(name, str) or not name:
        raise TopicSpecError("topic name: must not be empty")
    if name in (".", ".."):
        raise TopicSpecError(f"topic name {name!r}: '.' and '..' are not allowed")
    if len(name) > MAX_NAME_LENGTH:
        raise TopicSpecError(f"topic name of {len(name)} characters: at most {MAX_NAME_LENGTH}")
    if not _LEGAL.fullmatch(name):
        bad = next(ch for ch in name if not _LEGAL.fullmatch(ch))
        raise TopicSpecError(f"topic name {name!r}: only letters, digits, '.', '_' and '-' are "
                             f"allowed ({bad!r} is not)")
    return name


def check_partitions(n: object) -> int:
    """A partition count: a whole number from 1 (Kafka refuses 0 and negatives)."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= _INT32:
        raise TopicSpecError(f"partitions: expected a whole number of 1 or more; got {n!r}")
    return n


def check_replication_factor(rf: object, brokers: int | None = None) -> int:
    """A replication factor: 1 or more, and no more than the brokers that can hold a copy."""
    if isinstance(rf, bool) or not isinstance(rf, int) or not 1 <= rf <= 32767:
        raise TopicSpecError(f"replication factor: expected a whole number of 1 or more; got {rf!r}")
    if brokers is not None and rf > brokers:
        raise TopicSpecError(f"replication factor {rf}: the cluster has only {brokers} broker(s), "
                             "and each copy needs its own")
    return rf


def _long(minimum: int, unit: str = "") -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if re.fullmatch(r"-?\d+", value) and minimum <= int(value) <= _INT64:
            return None
        return f"a whole number >= {minimum}{f' ({unit})' if unit else ''}"
    return check


def _int(minimum: int, unit: str = "") -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if re.fullmatch(r"-?\d+", value) and minimum <= int(value) <= _INT32:
            return None
        return f"a whole number from {minimum} to {_INT32}{f' ({unit})' if unit else ''}"
    return check


def _choice(*options: str, many: bool = False) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        parts = [p.strip() for p in value.split(",")] if many else [value]
        if parts and all(p in options for p in parts):
            return None
        return ("a comma-separated list of " if many else "one of ") + ", ".join(options)
    return check


def _ratio(value: str) -> str | None:
    try:
        if 0.0 <= float(value) <= 1.0:
            return None
    except ValueError:
        pass
    return "a number from 0 to 1"


_BOOL = _choice("true", "false")

#: The topic-level configs Kafka 4.x knows, each with the rule its value must follow.
TOPIC_CONFIGS: dict[str, Callable[[str], str | None]] = {
    "cleanup.policy": _choice("delete", "compact", many=True),
    "compression.type": _choice("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
    "compression.gzip.level": _int(-1),
    "compression.lz4.level": _int(1),
    "compression.zstd.level": _int(-131072),
    "delete.retention.ms": _long(0, "milliseconds"),
    "file.delete.delay.ms": _long(0, "milliseconds"),
    "flush.messages": _long(1),
    "flush.ms": _long(0, "milliseconds"),
    "index.interval.bytes": _int(0, "bytes"),
    "local.retention.bytes": _long(-2, "bytes"),
    "local.retention.ms": _long(-2, "milliseconds"),
    "max.compaction.lag.ms": _long(1, "milliseconds"),
    "max.message.bytes": _int(0, "bytes"),
    "message.timestamp.after.max.ms": _long(0, "milliseconds"),
    "message.timestamp.before.max.ms": _long(0, "milliseconds"),
    "message.timestamp.type": _choice("CreateTime", "LogAppendTime"),
    "min.cleanable.dirty.ratio": _ratio,
    "min.compaction.lag.ms": _long(0, "milliseconds"),
    "min.insync.replicas": _int(1),
    "preallocate": _BOOL,
    "remote.storage.enable": _BOOL,
    "retention.bytes": _long(-1, "bytes; -1 means no size limit"),
    "retention.ms": _long(-1, "milliseconds; -1 keeps records for ever"),
    "segment.bytes": _int(1048576, "bytes; Kafka 4's minimum is 1 MiB"),
    "segment.index.bytes": _int(4, "bytes"),
    "segment.jitter.ms": _long(0, "milliseconds"),
    "segment.ms": _long(1, "milliseconds"),
    "unclean.leader.election.enable": _BOOL,
}


def check_topic_configs(configs: Mapping[str, str]) -> dict[str, str]:
    """Return ``configs`` if every key is a topic config Kafka knows and every value fits it."""
    out = {}
    for key, value in configs.items():
        rule = TOPIC_CONFIGS.get(key)
        if rule is None:
            close = [k for k in TOPIC_CONFIGS if key.split(".")[0] in k]
            hint = f" (did you mean {', '.join(close[:3])}?)" if close else ""
            raise TopicSpecError(f"topic config {key!r} is not one Kafka knows{hint}")
        problem = rule(str(value))
        if problem:
            raise TopicSpecError(f"topic config {key}={value}: expected {problem}")
        out[key] = str(value)
    return out
