"""Which partition a record goes to: key hashing, custom partitioners and hot keys.

Kafka keeps order only *within* a partition, so the choice of partition is
the choice of what stays in order. The default rule hashes the key (murmur2,
the same function as the Java client), so every record of one key lands on
one partition. A custom partitioner changes the rule; a *hot key* (one key
with a big share of the traffic) overloads its partition whatever the rule.

>>> key_partition("CUST-001", 4)        # what the Java and Python clients both pick
2
>>> rr = RoundRobin()
>>> [rr.choose(b"same-key", [0, 1, 2]) for _ in range(4)]
[0, 1, 2, 0]
>>> counts = simulate(["x"] * 8 + ["y", "z"], KeyHash(), 3)
>>> counts
{0: 1, 1: 8, 2: 1}
>>> round(skew(counts), 2)
2.4
>>> hot_keys(["x"] * 8 + ["y", "z"], top=1)
[('x', 0.8)]
"""

from __future__ import annotations

import collections
import itertools
import threading
from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kafka.partitioner import Partitioner, murmur2

__all__ = [
    "KeyHash",
    "KeyPartitioner",
    "RoundRobin",
    "SaltedHotKeys",
    "hot_keys",
    "key_partition",
    "simulate",
    "skew",
]


def _as_bytes(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else bytes(key)


def key_partition(key: str | bytes, num_partitions: int) -> int:
    """The partition Kafka's default partitioner picks for ``key``.

    ``murmur2(key) & 0x7fffffff`` modulo the partition count, exactly as the
    Java client does, so Python and Java producers agree on where a key goes.
    It also shows why adding partitions later moves keys: the modulo changes.

    >>> [key_partition("CUST-003", n) for n in (3, 4, 6)]
    [1, 0, 4]
    """
    if num_partitions < 1:
        raise ValueError(f"a topic has at least one partition; got {num_partitions}")
    return (murmur2(_as_bytes(key)) & 0x7FFFFFFF) % num_partitions


class KeyPartitioner(Partitioner):
    """Base class for your own partitioner: implement one verb, :meth:`choose`.

    kafka-python calls ``partition(topic, key, serialized_key, value,
    serialized_value, cluster)``; this class turns that into
    ``choose(key_bytes, partitions)`` so a partitioner is a few lines and can
    be tested without a broker. Pass an instance as ``Producer(partitioner=...)``.
    """

    @abstractmethod
    def choose(self, key: bytes | None, partitions: Sequence[int]) -> int:
        """Return one of ``partitions`` (sorted partition ids) for a record with ``key``."""

    # Per thread (kafka-python calls the hook and the re-pick on the sending
    # thread, one right after the other), and on the class so that subclasses
    # need not call ``super().__init__()``.
    _repick = threading.local()

    def on_new_batch(self, topic: str, cluster: Any, prev_partition: int) -> None:
        """kafka-python's hook before it asks again for a keyless record.

        When a keyless record would open a new batch, kafka-python (KIP-480,
        "sticky" partitioning) calls this hook and then :meth:`partition` a
        second time for the same record. A rule with state, such as round
        robin, would then advance twice and skip partitions; so the second
        call gets the first answer back.
        """
        self._repick.partition = prev_partition

    def partition(self, topic: str, key: Any, serialized_key: bytes | None, value: Any,
                  serialized_value: bytes | None, cluster: Any) -> int:
        again = getattr(self._repick, "partition", None)
        if again is not None:
            self._repick.partition = None
            return again
        partitions = sorted(cluster.partitions_for_topic(topic) or ())
        if not partitions:
            raise ValueError(f"no partitions known for topic {topic!r}")
        chosen = self.choose(serialized_key, partitions)
        if chosen not in partitions:
            # A partitioner bug must fail loudly, not send to a partition that
            # does not exist (the send's future raises this error).
            raise ValueError(f"{type(self).__name__}.choose returned {chosen!r}, "
                             f"not one of the partitions {partitions}")
        return chosen


class KeyHash(KeyPartitioner):
    """The default rule, written out: hash the key; records without a key rotate.

    >>> KeyHash().choose(b"CUST-001", [0, 1, 2, 3]) == key_partition("CUST-001", 4)
    True
    """

    def __init__(self) -> None:
        self._next = itertools.count()
        self._lock = threading.Lock()  # send() may be called from several threads

    def choose(self, key: bytes | None, partitions: Sequence[int]) -> int:
        if key is None:
            with self._lock:
                return partitions[next(self._next) % len(partitions)]
        return partitions[key_partition(key, len(partitions))]


class RoundRobin(KeyPartitioner):
    """Ignore the key and deal records out in turn: perfectly even, but a key's
    records end up on every partition, so their order is lost."""

    def __init__(self) -> None:
        self._next = itertools.count()
        self._lock = threading.Lock()

    def choose(self, key: bytes | None, partitions: Sequence[int]) -> int:
        with self._lock:
            return partitions[next(self._next) % len(partitions)]


class SaltedHotKeys(KeyPartitioner):
    """Spread each hot key over ``fanout`` partitions; hash every other key as usual.

    The trade-off, stated plainly: a hot key's records are no longer in one
    order (they sit on ``fanout`` partitions), so use it only where per-key
    order does not matter, or where consumers merge by a sequence number.

    Parameters
    ----------
    hot
        The keys to spread (as ``str`` or ``bytes``).
    fanout
        Over how many partitions each hot key is spread (consecutive ones,
        starting at its usual partition).

    >>> p = SaltedHotKeys({"CUST-001"}, fanout=2)
    >>> sorted({p.choose(b"CUST-001", [0, 1, 2, 3]) for _ in range(10)})
    [2, 3]
    >>> {p.choose(b"CUST-002", [0, 1, 2, 3]) for _ in range(10)}   # others: one partition
    {0}
    """

    def __init__(self, hot: Iterable[str | bytes], fanout: int = 2) -> None:
        if fanout < 1:
            raise ValueError(f"fanout must be at least 1; got {fanout}")
        self.hot = {_as_bytes(k) for k in hot}
        self.fanout = fanout
        self._counter: dict[bytes, int] = collections.defaultdict(int)
        self._lock = threading.Lock()

    def choose(self, key: bytes | None, partitions: Sequence[int]) -> int:
        n = len(partitions)
        if key is None:
            return partitions[0]
        home = key_partition(key, n)
        if key not in self.hot:
            return partitions[home]
        with self._lock:
            i = self._counter[key]
            self._counter[key] += 1
        return partitions[(home + i % min(self.fanout, n)) % n]


def simulate(keys: Iterable[str | bytes | None], partitioner: KeyPartitioner,
             num_partitions: int) -> dict[int, int]:
    """Records per partition if ``keys`` were sent through ``partitioner`` (no broker).

    Every partition appears, with 0 if it would get nothing: an empty partition
    is part of the story (a consumer assigned to it idles).
    """
    partitions = list(range(num_partitions))
    counts = dict.fromkeys(partitions, 0)
    for key in keys:
        raw = None if key is None else _as_bytes(key)
        counts[partitioner.choose(raw, partitions)] += 1
    return counts


def skew(counts: Mapping[int, int] | Sequence[int]) -> float:
    """Busiest partition's share over a fair share: 1.0 is perfectly even.

    A skew of 2 means one partition, and so the one consumer that owns it,
    does twice its share of the work and limits the whole group.

    >>> skew([10, 10, 10]), skew({0: 30, 1: 0, 2: 0})
    (1.0, 3.0)
    """
    values = list(counts.values()) if isinstance(counts, Mapping) else list(counts)
    total = sum(values)
    if not values or total == 0:
        raise ValueError("skew needs at least one record")
    return max(values) / (total / len(values))


def hot_keys(keys: Iterable[Any], top: int = 5) -> list[tuple[Any, float]]:
    """The ``top`` most frequent keys with their share of all records, largest first.

    >>> hot_keys("aaabbc", top=2)
    [('a', 0.5), ('b', 0.333...)]
    """
    counts = collections.Counter(keys)
    total = sum(counts.values())
    return [(k, n / total) for k, n in counts.most_common(top)]
