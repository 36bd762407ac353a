"""PostgreSQL capture through wal2json, against a throwaway cluster (skipped, naming the
packages to install, when PostgreSQL is absent; under `make test` as root, as in CI,
scripts/install-system-deps.sh installs them and their absence fails)."""

from __future__ import annotations

import pytest

from kafkalab import cdc, clients
from tests.conftest import unique

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def pg(pg_server):
    """A fresh schema-less set of tables and a unique slot per test."""
    suffix = unique("t").replace("-", "_")
    con = psycopg.connect(pg_server.dsn, autocommit=True)
    con.execute(f"CREATE TABLE products_{suffix} (id int PRIMARY KEY, name text, "
                "price numeric(8, 2), category text)")
    con.execute(f"CREATE TABLE nopk_{suffix} (a int)")
    yield con, f"products_{suffix}", f"nopk_{suffix}", f"slot_{suffix}"
    con.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                "WHERE slot_name = %s", (f"slot_{suffix}",))
    con.close()


def test_pg_changes_reach_the_topic_with_before_and_after(pg, pg_server, new_topic,
                                                          producer) -> None:
    con, table, _, slot = pg
    topic = new_topic(partitions=3, prefix="cdc-pg")
    cap = cdc.PostgresCapture(pg_server.dsn, [table], topic=topic, producer=producer, slot=slot)
    cap.install()
    cap.install()  # idempotent
    con.execute(f"INSERT INTO {table} VALUES (1, 'Laptop', 1500, 'tech'), (2, 'Mug', 8, 'home')")
    con.execute(f"UPDATE {table} SET price = 1400 WHERE id = 1")
    with con.transaction():
        con.execute(f"DELETE FROM {table} WHERE id = 2")
        con.execute(f"UPDATE {table} SET category = 'sale' WHERE id = 1")
    with pytest.raises(RuntimeError, match="rolled back"):
        with con.transaction():
            con.execute(f"DELETE FROM {table}")
            raise RuntimeError("rolled back")
    events = cap.run(idle_timeout=0.3, timeout=20)
    assert events.published == 5
    with clients.Consumer(topic, group_id=False) as c:
        msgs = sorted(c.messages(max_messages=5, timeout=20), key=lambda m: m.value["position"])
    got = [(m.key, m.value["operation"], m.value["before"], m.value["after"]) for m in msgs]
    laptop = {"id": 1, "name": "Laptop", "price": 1500, "category": "tech"}
    mug = {"id": 2, "name": "Mug", "price": 8, "category": "home"}
    assert got == [
        (f"{table}:1", "INSERT", None, laptop),
        (f"{table}:2", "INSERT", None, mug),
        (f"{table}:1", "UPDATE", laptop, dict(laptop, price=1400)),
        (f"{table}:2", "DELETE", mug, None),
        (f"{table}:1", "UPDATE", dict(laptop, price=1400), dict(laptop, price=1400,
                                                                  category="sale")),
    ]
    assert all(m.value["source"] == {"connector": "postgresql", "db": "kafkalab"} for m in msgs)
    assert all(m.value["timestamp"] > 1_600_000_000_000 for m in msgs)
    assert cap.poll_once() == []  # the slot was advanced
    cap.close()


def test_pg_crash_before_advancing_the_slot_republishes(pg, pg_server, memory_producer,
                                                        monkeypatch, tmp_path) -> None:
    con, table, _, slot = pg
    cap = cdc.PostgresCapture(pg_server.dsn, [table], producer=memory_producer, slot=slot)
    cap.install()
    for i in range(1, 6):
        con.execute(f"INSERT INTO {table} VALUES (%s, %s, %s, 'x')", (i, f"p{i}", i * 10))
    con.execute(f"DELETE FROM {table} WHERE id = 3")
    with monkeypatch.context() as m:
        m.setattr(cap, "_record", lambda mark: (_ for _ in ()).throw(RuntimeError("crash")))
        with pytest.raises(RuntimeError, match="crash"):
            cap.poll_once()
    first = [cdc.ChangeEvent.from_record(v) for v in memory_producer.values()]
    again = cap.poll_once()
    assert [e.position for e in again] == [e.position for e in first] and len(first) == 6
    lake = cdc.Lake(tmp_path / "lake")
    assert lake.apply(first + again) == 6
    rows = con.execute(f"SELECT id, name, price, category FROM {table} ORDER BY id").fetchall()
    assert [tuple(r.values()) for r in lake.rows(table)] == [
        (i, n, float(p), c) for i, n, p, c in rows]
    cap.close()


def test_pg_refuses_a_table_without_a_primary_key(pg, pg_server) -> None:
    _, table, nopk, slot = pg
    cap = cdc.PostgresCapture(pg_server.dsn, [table, nopk], slot=slot)
    with pytest.raises(cdc.NoPrimaryKeyError, match=f"'public.{nopk}' has no primary key"):
        cap.install()
    with pytest.raises(LookupError, match="does not exist"):
        cdc.PostgresCapture(pg_server.dsn, ["missing"], slot=slot).install()
    cap.close()


def test_without_postgres_the_reason_names_the_packages(monkeypatch) -> None:
    from kafkalab.cdc import pgserver

    monkeypatch.setattr(pgserver.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pgserver.shutil, "which", lambda name: None)
    reason = cdc.postgres_unavailable()
    assert "apt-get install postgresql postgresql-<version>-wal2json" in reason
    assert "postgresql-15-wal2json on Debian 12" in reason
    with pytest.raises(cdc.PostgresUnavailable, match="PostgreSQL is not installed"):
        cdc.PGServer().start()


def test_lsn_to_int_orders_like_the_wal() -> None:
    lsns = ["0/1", "0/FFFFFFFF", "1/0", "1/10", "A/0"]
    assert [cdc.lsn_to_int(x) for x in lsns] == sorted(cdc.lsn_to_int(x) for x in lsns)
    assert cdc.lsn_to_int("1/10") == 2**32 + 16


def test_a_server_without_the_plugin_gets_a_clear_error(pg, pg_server, monkeypatch) -> None:
    _, table, _, slot = pg
    cap = cdc.PostgresCapture(pg_server.dsn, [table], slot=slot)
    monkeypatch.setattr(cap, "plugin", "wal2json_not_installed")  # as on the official image
    with pytest.raises(RuntimeError, match="has no wal2json_not_installed output plugin .*"
                                           "official postgres Docker image"):
        cap.install()
    cap.close()
