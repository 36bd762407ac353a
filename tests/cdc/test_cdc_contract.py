"""The same checks on every change capture (SQLite triggers, PostgreSQL logical decoding):
before/after images, rollbacks, re-publishing after a crash, lake == source."""

from __future__ import annotations

import sqlite3

import pytest

from kafkalab import cdc
from kafkalab.testing import seeded
from tests.conftest import unique

SCHEMA = "CREATE TABLE {t} (id integer PRIMARY KEY, name text, qty integer)"


class SQLiteSource:
    def __init__(self, tmp_path, producer) -> None:
        self.table = "items"
        self.con = sqlite3.connect(tmp_path / "src.db", isolation_level=None)
        self.con.execute(SCHEMA.format(t=self.table))
        self.capture = cdc.SQLiteCapture(tmp_path / "src.db", [self.table], producer=producer)

    def run(self, *statements: str, rollback: bool = False) -> None:
        self.con.execute("BEGIN")
        for s in statements:
            self.con.execute(s.format(t=self.table))
        self.con.execute("ROLLBACK" if rollback else "COMMIT")

    def rows(self) -> list[tuple]:
        return self.con.execute(f"SELECT id, name, qty FROM {self.table} ORDER BY id").fetchall()

    def close(self) -> None:
        self.capture.close()
        self.con.close()


class PostgresSource(SQLiteSource):
    def __init__(self, server, producer) -> None:
        import psycopg

        self.table = unique("items").replace("-", "_")
        self.con = psycopg.connect(server.dsn, autocommit=True)
        self.con.execute(SCHEMA.format(t=self.table))
        self.capture = cdc.PostgresCapture(server.dsn, [self.table], producer=producer,
                                           slot=f"slot_{self.table}")

    def close(self) -> None:
        self.capture.drop()
        super().close()


@pytest.fixture(params=["sqlite", "postgresql"])
def source(request, tmp_path, memory_producer):
    if request.param == "sqlite":
        src = SQLiteSource(tmp_path, memory_producer)
    else:
        src = PostgresSource(request.getfixturevalue("pg_server"), memory_producer)
    src.capture.install()
    yield src
    src.close()


def test_images_keys_and_positions(source) -> None:
    source.run("INSERT INTO {t} VALUES (1, 'bolt', 10)", "INSERT INTO {t} VALUES (2, 'nut', 5)")
    source.run("UPDATE {t} SET qty = 9 WHERE id = 1")
    source.run("DELETE FROM {t} WHERE id = 2")
    events = source.capture.poll_once()
    t = source.capture.tables[0].rpartition(".")[2]
    assert [(e.operation, e.record_key) for e in events] == [
        ("INSERT", f"{t}:1"), ("INSERT", f"{t}:2"), ("UPDATE", f"{t}:1"), ("DELETE", f"{t}:2")]
    assert events[2].before == {"id": 1, "name": "bolt", "qty": 10}
    assert events[2].after == {"id": 1, "name": "bolt", "qty": 9}
    assert events[3].before == {"id": 2, "name": "nut", "qty": 5} and events[3].after is None
    assert [e.position for e in events] == sorted({e.position for e in events})
    assert source.capture.poll_once() == []


def test_a_rollback_publishes_nothing(source) -> None:
    source.run("INSERT INTO {t} VALUES (1, 'bolt', 10)", rollback=True)
    source.run("INSERT INTO {t} VALUES (2, 'nut', 5)")
    assert [e.key for e in source.capture.poll_once()] == [{"id": 2}]


def test_a_crash_before_recording_republishes_the_same_positions(source, monkeypatch) -> None:
    source.run("INSERT INTO {t} VALUES (1, 'bolt', 10)", "UPDATE {t} SET qty = 1 WHERE id = 1")
    with monkeypatch.context() as m:
        m.setattr(source.capture, "_record", lambda mark: (_ for _ in ()).throw(OSError("cut")))
        with pytest.raises(OSError):
            source.capture.poll_once()
    first = source.capture.stats.published
    again = source.capture.poll_once()
    assert first == 0 and [e.eventId for e in again] == [
        cdc.ChangeEvent.from_record(v).eventId for v in
        source.capture.producer.values()[:2]]


def test_the_lake_equals_the_source_after_random_changes(source, tmp_path) -> None:
    rng = seeded(3)
    ids: set[int] = set()          # the ids in the source table
    for i in range(120):
        statements, now = [], set(ids)
        for _ in range(rng.randint(1, 3)):
            roll, pick = rng.random(), rng.randint(1, 30)
            if pick not in now and roll < 0.6:
                statements.append(f"INSERT INTO {{t}} VALUES ({pick}, 'n{i}', {rng.randint(0, 9)})")
                now.add(pick)
            elif pick in now and roll < 0.8:
                statements.append(f"UPDATE {{t}} SET qty = {rng.randint(0, 9)} WHERE id = {pick}")
            elif pick in now:
                statements.append(f"DELETE FROM {{t}} WHERE id = {pick}")
                now.discard(pick)
        rollback = rng.random() < 0.1
        source.run(*statements, rollback=rollback)
        if not rollback:
            ids = now
    assert len(source.rows()) == len(ids) > 5
    lake = cdc.Lake(tmp_path / "lake")
    while events := source.capture.poll_once(limit=25):
        lake.apply(events)
    table = source.capture.tables[0].rpartition(".")[2]
    assert [tuple(r.values()) for r in lake.rows(table)] == source.rows()


def test_an_update_of_the_primary_key_moves_the_row(source, tmp_path) -> None:
    source.run("INSERT INTO {t} VALUES (1, 'bolt', 10)", "INSERT INTO {t} VALUES (2, 'nut', 5)")
    source.run("UPDATE {t} SET id = 7 WHERE id = 1")
    lake = cdc.Lake(tmp_path / "lake")
    while events := source.capture.poll_once():
        lake.apply(events)
    table = source.capture.tables[0].rpartition(".")[2]
    assert [tuple(r.values()) for r in lake.rows(table)] == source.rows() == [
        (2, "nut", 5), (7, "bolt", 10)]
