"""A small shop database and seeded random changes to it: the week's source data.

>>> import tempfile, os
>>> db = os.path.join(tempfile.mkdtemp(), "shop.db")
>>> create_shop(db, products=5, customers=3, seed=1)
>>> counts = random_changes(db, 20, seed=1)
>>> sum(counts.values())
20
>>> sorted(counts)
['DELETE', 'INSERT', 'UPDATE']
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from typing import Any

from kafkalab.testing import seeded

__all__ = ["CATEGORIES", "SHOP_TABLES", "create_shop", "random_changes", "table_rows"]

#: The captured tables of the shop.
SHOP_TABLES = ("products", "customers")
CATEGORIES = ("books", "games", "garden", "kitchen", "music")
_NAMES = ("Laptop", "Mouse", "Desk", "Lamp", "Kettle", "Chess set", "Rake", "Novel", "Guitar",
          "Headphones", "Mug", "Atlas")
_CITIES = ("Seoul", "Busan", "Lyon", "Porto", "Oslo", "Quito")


def _product(rng: Any, pid: int) -> tuple:
    return (pid, f"{rng.choice(_NAMES)} {pid}", rng.choice(CATEGORIES),
            round(rng.uniform(2, 2000), 2), rng.randint(0, 50))


def create_shop(db_path: str | os.PathLike, *, products: int = 10, customers: int = 5,
                seed: int = 42) -> None:
    """Create ``products`` and ``customers`` tables with seeded rows (replacing old ones)."""
    rng = seeded(seed)
    with sqlite3.connect(db_path) as con:
        con.execute("DROP TABLE IF EXISTS products")
        con.execute("DROP TABLE IF EXISTS customers")
        con.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                    "category TEXT NOT NULL, price REAL NOT NULL, stock INTEGER NOT NULL)")
        con.execute("CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
                    "city TEXT, email TEXT)")
        con.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?)",
                        [_product(rng, i) for i in range(1, products + 1)])
        con.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)",
                        [(f"CUST-{i:03d}", f"Customer {i}", rng.choice(_CITIES),
                          f"c{i}@example.com") for i in range(1, customers + 1)])
    con.close()


def random_changes(db_path: str | os.PathLike, n: int, *, seed: int = 42,
                   per_transaction: int = 1) -> Counter:
    """Make ``n`` seeded random INSERT/UPDATE/DELETE statements on the shop tables.

    Returns how many of each operation were made. ``per_transaction`` groups
    statements into transactions of that size.
    """
    rng = seeded(seed)
    done: Counter = Counter()
    con = sqlite3.connect(db_path)
    try:
        next_pid = (con.execute("SELECT max(id) FROM products").fetchone()[0] or 0) + 1
        next_cid = (con.execute("SELECT max(CAST(substr(id, 6) AS INTEGER)) FROM customers"
                                ).fetchone()[0] or 0) + 1
        for i in range(n):
            table = "products" if rng.random() < 0.75 else "customers"
            ids = [r[0] for r in con.execute(f"SELECT id FROM {table} ORDER BY id")]
            roll = rng.random()
            if not ids or roll < 0.3:
                if table == "products":
                    con.execute("INSERT INTO products VALUES (?, ?, ?, ?, ?)",
                                _product(rng, next_pid))
                    next_pid += 1
                else:
                    con.execute("INSERT INTO customers VALUES (?, ?, ?, ?)",
                                (f"CUST-{next_cid:03d}", f"Customer {next_cid}",
                                 rng.choice(_CITIES), None))
                    next_cid += 1
                done["INSERT"] += 1
            elif roll < 0.85:
                row_id = rng.choice(ids)
                if table == "products":
                    column, value = rng.choice([
                        ("price", round(rng.uniform(2, 2000), 2)),
                        ("stock", rng.randint(0, 50)),
                        ("category", rng.choice(CATEGORIES))])
                else:
                    column, value = rng.choice([("city", rng.choice(_CITIES)),
                                                ("email", f"new{i}@example.com")])
                con.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (value, row_id))
                done["UPDATE"] += 1
            else:
                con.execute(f"DELETE FROM {table} WHERE id = ?", (rng.choice(ids),))
                done["DELETE"] += 1
            if (i + 1) % per_transaction == 0:
                con.commit()
        con.commit()
    finally:
        con.close()
    return done


def table_rows(db_path: str | os.PathLike, table: str) -> list[dict[str, Any]]:
    """Every row of ``table`` as dicts, sorted by their columns (to compare with a lake)."""
    con = sqlite3.connect(db_path)
    con.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in con.execute(f'SELECT * FROM "{table}" ORDER BY 1')]
    finally:
        con.close()
    return sorted(rows, key=lambda r: tuple((v is None, v) for v in r.values()))
