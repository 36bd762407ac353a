"""SQLite capture -> db-changes -> lake and cache, against a real Apache Kafka broker."""

from __future__ import annotations

import sqlite3

import pytest

from kafkalab import cdc, clients
from kafkalab.cdc.shop import SHOP_TABLES, random_changes, table_rows
from tests.conftest import unique


def _sorted(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: tuple((v is None, v) for v in r.values()))


def touch_all(db) -> None:
    """Publish every existing row once, as an UPDATE (a stand-in for a snapshot)."""
    with sqlite3.connect(db) as con:
        for t in SHOP_TABLES:
            con.execute(f"UPDATE {t} SET id = id")
    con.close()


def read_all(topic: str, n: int | None = None) -> list[clients.Message]:
    """``n`` records (or, if None, all until 3 s pass without one)."""
    with clients.Consumer(topic, group_id=False) as c:
        return list(c.messages(max_messages=n, idle_timeout=None if n else 3, timeout=30))


def test_capture_to_topic_to_lake(tmp_path, shop_db, new_topic, producer) -> None:
    topic = new_topic(partitions=3, prefix="cdc")
    cap = cdc.SQLiteCapture(shop_db, tables=SHOP_TABLES, topic=topic, producer=producer,
                            batch_size=50)
    cap.install()
    touch_all(shop_db)
    random_changes(shop_db, 150, seed=11, per_transaction=3)
    stats = cap.run(idle_timeout=0.3, timeout=30)
    assert stats.published == 28 + 150
    msgs = read_all(topic, stats.published)
    assert len(msgs) == stats.published
    # One row's changes: one partition, in position order.
    by_key: dict[str, list[clients.Message]] = {}
    for m in msgs:
        by_key.setdefault(m.key, []).append(m)
    for key, ms in by_key.items():
        assert len({m.partition for m in ms}) == 1, key
        positions = [m.value["position"] for m in sorted(ms, key=lambda m: m.offset)]
        assert positions == sorted(positions), key
        assert all(m.value["table"] + ":" in key for m in ms)
    with cdc.LakeApplier(tmp_path / "lake", topic, dead_letter_topic=unique("dlq")) as applier:
        s = applier.run(max_messages=len(msgs), timeout=30)
    assert (s.applied, s.dead_lettered) == (len(msgs), 0)
    for t in SHOP_TABLES:
        assert _sorted(applier.lake.rows(t)) == table_rows(shop_db, t), t
    cap.close()


def test_rollback_publishes_nothing(shop_db, new_topic, producer) -> None:
    topic = new_topic(partitions=1, prefix="cdc-rb")
    cap = cdc.SQLiteCapture(shop_db, tables=["products"], topic=topic, producer=producer)
    cap.install()
    con = sqlite3.connect(shop_db)
    con.execute("DELETE FROM products")
    con.rollback()
    con.execute("UPDATE products SET price = 1 WHERE id = 5")
    con.commit()
    con.close()
    cap.run(idle_timeout=0.3, timeout=10)
    msgs = read_all(topic)
    assert [(m.key, m.value["operation"], m.value["after"]["price"]) for m in msgs] == [
        ("products:5", "UPDATE", 1.0)]
    cap.close()


def test_crash_between_publish_and_record_republishes_and_the_lake_is_unchanged(
        tmp_path, shop_db, new_topic, producer, monkeypatch) -> None:
    topic = new_topic(partitions=2, prefix="cdc-crash")
    cap = cdc.SQLiteCapture(shop_db, tables=SHOP_TABLES, topic=topic, producer=producer)
    cap.install()
    touch_all(shop_db)
    random_changes(shop_db, 40, seed=5)
    with monkeypatch.context() as m:
        m.setattr(cap, "_record", lambda last_id: (_ for _ in ()).throw(
            RuntimeError("power cut")))
        with pytest.raises(RuntimeError, match="power cut"):
            cap.poll_once()
    cap.close()
    lake = cdc.Lake(tmp_path / "lake")
    with cdc.LakeApplier(lake, topic) as applier:
        first = applier.run(max_messages=68, timeout=30)
    state = {t: lake.rows(t) for t in SHOP_TABLES}
    files = sorted(p.name for t in SHOP_TABLES for p in lake.files(t))
    # The restarted capture publishes the same 68 changes again.
    with cdc.SQLiteCapture(shop_db, tables=SHOP_TABLES, topic=topic, producer=producer) as again:
        assert again.run(idle_timeout=0.3, timeout=10).published == 68
    msgs = read_all(topic, 136)
    assert len(msgs) == 136 and len({m.value["eventId"] for m in msgs}) == 68
    with cdc.LakeApplier(lake, topic) as applier:
        second = applier.run(max_messages=136, timeout=30)
    assert first.applied == 68 and second.applied == 0 and second.skipped == 136
    assert {t: lake.rows(t) for t in SHOP_TABLES} == state
    assert sorted(p.name for t in SHOP_TABLES for p in lake.files(t)) == files
    for t in SHOP_TABLES:
        assert _sorted(state[t]) == table_rows(shop_db, t)


def _dead_letters(topic: str, n: int) -> list[clients.Message]:
    with clients.Consumer(topic, group_id=False) as c:
        return list(c.messages(max_messages=n, timeout=20))


def test_malformed_records_are_dead_lettered_and_the_rest_applied(tmp_path, new_topic,
                                                                  producer, admin) -> None:
    topic = new_topic(partitions=1, prefix="cdc-bad")
    dlq = unique("cdc-dlq")
    admin.ensure_topic(dlq, 1)
    good = cdc.ChangeEvent.insert("products", {"id": 1, "price": 3}, key={"id": 1},
                                  position=1, timestamp=0,
                                  source={"connector": "sqlite", "db": "t"}).to_record()
    missing = {k: v for k, v in good.items() if k != "table"}
    unknown = dict(good, operation="MERGE", position=2)
    raw = clients.Producer(value_format="raw")
    raw.send(topic, b'{"operation": "INSERT", ', key="products:9").get(10)
    raw.close()
    for body in (missing, good, unknown):
        producer.send(topic, body, key="products:1")
    producer.flush()
    with cdc.LakeApplier(tmp_path / "lake", topic, dead_letter_topic=dlq) as applier:
        s = applier.run(max_messages=4, timeout=30)
    assert (s.seen, s.applied, s.dead_lettered) == (4, 1, 3)
    assert applier.lake.rows("products") == [{"id": 1, "price": 3}]
    reasons = [m.value["error"]["message"] for m in _dead_letters(dlq, 3)]
    assert any("not valid JSON" in r for r in reasons)
    assert any("field 'table' is missing" in r for r in reasons)
    assert any("field 'operation' is 'MERGE'" in r for r in reasons)
    # The invalidator treats bad input the same way.
    dlq2 = unique("cdc-dlq")
    admin.ensure_topic(dlq2, 1)
    cache = cdc.ReadThroughCache(lambda key: {"loaded": key})
    with cdc.CacheInvalidator(cache, topic, dead_letter_topic=dlq2) as inv:
        s = inv.run(max_messages=4, timeout=30)
    assert s.dead_lettered == 3 and len(_dead_letters(dlq2, 3)) == 3


@pytest.mark.slow
def test_a_crash_mid_batch_in_the_applier_redelivers_with_the_same_result(
        tmp_path, shop_db, new_topic, producer, monkeypatch) -> None:
    topic = new_topic(partitions=2, prefix="cdc-mid")
    with cdc.SQLiteCapture(shop_db, tables=SHOP_TABLES, topic=topic, producer=producer) as cap:
        cap.install()
        touch_all(shop_db)
        random_changes(shop_db, 120, seed=8)
        n = cap.run(idle_timeout=0.3, timeout=20).published
    group = unique("cdc-lake")
    lake = cdc.Lake(tmp_path / "lake")
    real_apply = cdc.Lake.apply
    calls = {"n": 0}

    def dies_half_way(self, events):
        calls["n"] += 1
        events = list(events)
        real_apply(self, events[:len(events) // 2])  # half the batch reaches the lake...
        raise RuntimeError("applier killed mid-batch")  # ...then the process dies

    with monkeypatch.context() as m:
        m.setattr(cdc.Lake, "apply", dies_half_way)
        with cdc.LakeApplier(lake, topic, group_id=group) as applier:
            with pytest.raises(RuntimeError, match="killed mid-batch"):
                applier.run(max_messages=n, timeout=30)
    assert calls["n"] == 1 and any(lake.files(t) for t in SHOP_TABLES)
    # A new applier in the same group (and a fresh Lake object: the old index
    # died with the process) gets the uncommitted batch again.
    with cdc.LakeApplier(cdc.Lake(lake.root), topic, group_id=group) as applier:
        s = applier.run(max_messages=n, idle_timeout=3, timeout=60)
    # Nothing was committed: everything comes again, and the half applied before
    # the crash is recognised by position and skipped.
    assert s.seen == n and s.skipped > 0 and s.applied + s.skipped == n
    for t in SHOP_TABLES:
        assert _sorted(lake.rows(t)) == table_rows(shop_db, t), t


def test_cache_is_stale_without_the_invalidator_and_fresh_with_it(shop_db, new_topic,
                                                                  producer) -> None:
    topic = new_topic(partitions=3, prefix="cdc-cache")
    cache = cdc.ReadThroughCache(cdc.sqlite_row_loader(shop_db))
    cap = cdc.SQLiteCapture(shop_db, tables=SHOP_TABLES, topic=topic, producer=producer)
    cap.install()
    old = cache.get("products:3")
    assert cache.get("products:3") == old and (cache.hits, cache.misses) == (1, 1)
    customer = cache.get("customers:CUST-002")
    with sqlite3.connect(shop_db) as con:
        con.execute("UPDATE products SET price = price + 100 WHERE id = 3")
        con.execute("DELETE FROM customers WHERE id = 'CUST-002'")
    con.close()
    assert cache.get("products:3") == old  # stale: nothing told the cache
    assert cache.get("customers:CUST-002") == customer is not None
    cap.run(idle_timeout=0.3, timeout=10)
    with cdc.CacheInvalidator(cache, topic) as inv:
        s = inv.run(max_messages=2, timeout=20)
    assert s.applied == 2 and sorted(inv.dropped) == ["customers:CUST-002", "products:3"]
    assert cache.get("products:3")["price"] == pytest.approx(old["price"] + 100)
    assert cache.get("customers:CUST-002") is None
    assert cache.invalidations == 2
    cap.close()


def test_hostile_records_are_dead_lettered_and_the_lake_moves_on(tmp_path, new_topic,
                                                                  producer, admin) -> None:
    topic = new_topic(partitions=1, prefix="cdc-hostile")
    dlq = unique("cdc-dlq")
    admin.ensure_topic(dlq, 1)
    good = cdc.ChangeEvent.insert("products", {"id": 1, "price": 3}, key={"id": 1},
                                  position=1, timestamp=0,
                                  source={"connector": "sqlite", "db": "t"}).to_record()
    hostile = [dict(good, table="../escape"), dict(good, table="*"),
               dict(good, position=2**70), dict(good, after={"id": 1, "_cdc_rank": 9})]
    for body in (*hostile, good):
        producer.send(topic, body, key="products:1")
    producer.flush()
    for _ in range(2):  # a rerun neither crashes nor applies anything twice
        with cdc.LakeApplier(tmp_path / "lake", topic, dead_letter_topic=dlq) as applier:
            applier.run(max_messages=5, timeout=30)
        assert applier.lake.tables() == ["products"]
        assert applier.lake.rows("products") == [{"id": 1, "price": 3}]
    assert not (tmp_path / "escape").exists()
    reasons = [m.value["error"]["message"] for m in _dead_letters(dlq, 4)]
    assert len(reasons) == 4 and all(r.startswith("change event: ") for r in reasons)
