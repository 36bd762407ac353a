"""SQLite capture and the lake, without a broker (a memory producer stands in):
triggers, rollbacks, offsets, and lake == source after random changes."""

from __future__ import annotations

import sqlite3

import pytest

from kafkalab import cdc
from kafkalab.cdc.shop import SHOP_TABLES, random_changes, table_rows


def _sorted(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: tuple((v is None, v) for v in r.values()))


def assert_lake_equals_source(lake: cdc.Lake, db) -> None:
    for table in SHOP_TABLES:
        assert _sorted(lake.rows(table)) == table_rows(db, table), table


def test_triggers_capture_before_and_after_images(shop_db, memory_producer) -> None:
    cap = cdc.SQLiteCapture(shop_db, tables=SHOP_TABLES, producer=memory_producer)
    cap.install()
    with sqlite3.connect(shop_db) as con:
        con.execute("INSERT INTO products VALUES (100, 'Pen', 'office', 1.5, 3)")
        con.execute("UPDATE products SET price = 2.0 WHERE id = 100")
        con.execute("DELETE FROM products WHERE id = 100")
        con.execute("UPDATE customers SET city = 'Oslo' WHERE id = 'CUST-001'")
    con.close()
    events = cap.poll_once()
    assert [e.operation for e in events] == ["INSERT", "UPDATE", "DELETE", "UPDATE"]
    ins, upd, dele, cust = events
    assert ins.before is None and ins.after["price"] == 1.5
    assert upd.before["price"] == 1.5 and upd.after["price"] == 2.0
    assert dele.after is None and dele.before["name"] == "Pen"
    assert cust.key == {"id": "CUST-001"} and cust.record_key == "customers:CUST-001"
    assert [e.position for e in events] == sorted(e.position for e in events)
    assert [k for _, k, _ in memory_producer.sent] == [e.record_key for e in events]
    assert memory_producer.flushes == 1
    assert cap.poll_once() == [] and cap.last_published == events[-1].position
    cap.close()


def test_a_rolled_back_transaction_leaves_nothing_to_publish(shop_db, memory_producer) -> None:
    cap = cdc.SQLiteCapture(shop_db, tables=["products"], producer=memory_producer)
    cap.install()
    con = sqlite3.connect(shop_db)
    con.execute("UPDATE products SET price = 0 WHERE id = 1")
    con.execute("DELETE FROM products WHERE id = 2")
    con.rollback()
    con.execute("UPDATE products SET stock = 99 WHERE id = 3")
    con.commit()
    con.close()
    events = cap.poll_once()
    assert [(e.operation, e.key, e.after["stock"]) for e in events] == [
        ("UPDATE", {"id": 3}, 99)]
    cap.close()


def test_install_is_idempotent_and_picks_up_new_columns(shop_db, memory_producer) -> None:
    cap = cdc.SQLiteCapture(shop_db, tables=["products"], producer=memory_producer)
    cap.install()
    cap.install()  # a second install must not double the triggers
    with sqlite3.connect(shop_db) as con:
        con.execute("ALTER TABLE products ADD COLUMN colour TEXT")
    con.close()
    cap.install()
    with sqlite3.connect(shop_db) as con:
        con.execute("UPDATE products SET colour = 'red' WHERE id = 1")
    con.close()
    (e,) = cap.poll_once()
    assert e.before["colour"] is None and e.after["colour"] == "red"
    cap.close()


def test_a_table_without_a_primary_key_is_refused(shop_db) -> None:
    with sqlite3.connect(shop_db) as con:
        con.execute("CREATE TABLE audit (at TEXT, what TEXT)")
    con.close()
    cap = cdc.SQLiteCapture(shop_db, tables=["products", "audit"], producer=None)
    with pytest.raises(cdc.NoPrimaryKeyError, match="table 'audit' has no primary key"):
        cap.install()
    with pytest.raises(LookupError, match="'nope' does not exist"):
        cdc.SQLiteCapture(shop_db, tables=["nope"], producer=None).install()
    # Nothing was installed for products either: the check comes first.
    with sqlite3.connect(shop_db) as con:
        assert con.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                           ).fetchone() == (0,)
    con.close()
    cap.close()


def test_a_crash_before_recording_the_offset_publishes_again(shop_db, memory_producer,
                                                             monkeypatch) -> None:
    cap = cdc.SQLiteCapture(shop_db, tables=SHOP_TABLES, producer=memory_producer)
    cap.install()
    random_changes(shop_db, 10, seed=3)

    def crash(last_id: int) -> None:
        raise RuntimeError("killed between publish and record")

    with monkeypatch.context() as m:
        m.setattr(cap, "_record", crash)
        with pytest.raises(RuntimeError, match="killed"):
            cap.poll_once()
    first = memory_producer.values()
    assert len(first) == 10 and cap.last_published == 0
    again = cap.poll_once()
    assert [e.position for e in again] == [v["position"] for v in first]  # the same changes
    cap.close()


@pytest.mark.parametrize("seed", [1, 2])
def test_lake_equals_source_after_random_changes_applied_twice(tmp_path, shop_db,
                                                               memory_producer, seed) -> None:
    cap = cdc.SQLiteCapture(shop_db, tables=SHOP_TABLES, producer=memory_producer,
                            batch_size=37)
    cap.install()
    lake = cdc.Lake(tmp_path / "lake")
    # The initial rows existed before the triggers: a snapshot would load them;
    # here we load them as INSERTs by touching every row once.
    with sqlite3.connect(shop_db) as con:
        con.execute("UPDATE products SET id = id")
        con.execute("UPDATE customers SET id = id")
    con.close()
    counts = random_changes(shop_db, 300, seed=seed, per_transaction=4)
    assert min(counts.values()) > 20  # every kind of change is exercised
    while cap.poll_once():
        pass
    events = [cdc.ChangeEvent.from_record(v) for v in memory_producer.values()]
    for i in range(0, len(events), 50):
        assert lake.apply(events[i:i + 50]) > 0
    assert_lake_equals_source(lake, shop_db)
    files = {t: len(lake.files(t)) for t in SHOP_TABLES}
    # Everything again, in another order: nothing new, no new files.
    assert lake.apply(reversed(events)) == 0
    assert {t: len(lake.files(t)) for t in SHOP_TABLES} == files
    # A fresh Lake object reads its positions back from the files.
    assert cdc.Lake(lake.root).apply(events) == 0
    assert_lake_equals_source(lake, shop_db)


def test_compaction_keeps_the_state_and_the_tombstones(tmp_path, shop_db,
                                                       memory_producer) -> None:
    cap = cdc.SQLiteCapture(shop_db, tables=["products"], producer=memory_producer,
                            batch_size=10)
    cap.install()
    with sqlite3.connect(shop_db) as con:
        con.execute("UPDATE products SET id = id")
        con.execute("DELETE FROM products WHERE id IN (4, 5)")
    con.close()
    random_changes(shop_db, 60, seed=9)
    lake = cdc.Lake(tmp_path / "lake")
    while events := cap.poll_once():
        lake.apply(events)
    before = lake.rows("products")
    n_files = len(lake.files("products"))
    assert n_files > 2
    assert lake.compact("products") == n_files
    assert len(lake.files("products")) == 1
    assert lake.rows("products") == before
    # Re-delivered old INSERTs of deleted rows must not bring them back.
    old = [cdc.ChangeEvent.from_record(v) for v in memory_producer.values()]
    assert cdc.Lake(lake.root).apply(old) == 0
    assert lake.rows("products") == before
    assert _sorted(before) == table_rows(shop_db, "products")
    assert not any(r["id"] in (4, 5) for r in before)


def test_duckdb_views_query_the_lake(tmp_path) -> None:
    lake = cdc.Lake(tmp_path / "lake")
    src = {"connector": "sqlite", "db": "x"}
    lake.apply([cdc.ChangeEvent.insert("products", {"id": i, "category": c, "price": p},
                                       key={"id": i}, position=i, timestamp=0, source=src)
                for i, (c, p) in enumerate([("books", 10), ("books", 5), ("games", 7)], 1)])
    lake.apply([cdc.ChangeEvent.delete("products", {"id": 2, "category": "books", "price": 5},
                                       key={"id": 2}, position=9, timestamp=0, source=src)])
    df = lake.query("SELECT category, count(*) AS n, sum(price) AS total FROM products "
                    "GROUP BY category ORDER BY category")
    assert df.to_dict("records") == [{"category": "books", "n": 1, "total": 10},
                                     {"category": "games", "n": 1, "total": 7}]
    con = lake.connect()
    assert con.execute("SELECT count(*) FROM products_changes").fetchone() == (4,)
    con.close()


def test_a_snapshot_queues_existing_rows_before_later_changes(tmp_path, shop_db,
                                                              memory_producer) -> None:
    cap = cdc.SQLiteCapture(shop_db, tables=SHOP_TABLES, producer=memory_producer)
    assert cap.snapshot() == 28  # 20 products and 8 customers
    random_changes(shop_db, 50, seed=4)
    lake = cdc.Lake(tmp_path / "lake")
    while events := cap.poll_once():
        lake.apply(events)
    sent = memory_producer.values()
    assert [v["operation"] for v in sent[:28]] == ["INSERT"] * 28
    assert min(v["position"] for v in sent[28:]) > max(v["position"] for v in sent[:28])
    assert_lake_equals_source(lake, shop_db)
    cap.close()


def test_an_invalidation_during_a_load_is_not_lost() -> None:
    # The invalidator runs on its own thread: it may drop a key while a reader
    # is loading that key's old row. That old value must not be cached.
    db = {"products:1": {"price": 10}}
    cache: cdc.ReadThroughCache

    def slow_loader(key):
        value = dict(db[key])                 # the reader has read the old row...
        db[key] = {"price": 12}               # ...the row changes...
        if cache.misses == 1:
            cache.invalidate(key)             # ...and its change event arrives mid-load
        return value

    cache = cdc.ReadThroughCache(slow_loader)
    assert cache.get("products:1") == {"price": 10}
    assert "products:1" not in cache          # not cached: it may be stale
    assert cache.get("products:1") == {"price": 12} and cache.misses == 2
    assert cache.get("products:1") == {"price": 12} and cache.hits == 1


def test_an_update_of_the_primary_key_moves_the_row_in_the_lake_and_the_cache(
        tmp_path, shop_db, memory_producer) -> None:
    cap = cdc.SQLiteCapture(shop_db, tables=["products"], producer=memory_producer)
    cap.snapshot()
    with sqlite3.connect(shop_db) as con:
        con.execute("UPDATE products SET id = 900 WHERE id = 1")   # the key itself changes
        con.execute("UPDATE products SET price = 1 WHERE id = 900")
    con.close()
    lake = cdc.Lake(tmp_path / "lake")
    events = []
    while batch := cap.poll_once():
        events += batch
        lake.apply(batch)
    cap.close()
    assert _sorted(lake.rows("products")) == table_rows(shop_db, "products")
    assert not any(r["id"] == 1 for r in lake.rows("products"))
    assert cdc.Lake(lake.root).apply(events) == 0          # re-delivery still changes nothing
    move = events[-2]
    assert move.key == {"id": 900} and cdc.keys_for(move) == {"products:900", "products:1"}
