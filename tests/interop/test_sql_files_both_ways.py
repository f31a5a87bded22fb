"""Issue 4, must-show 3: SQL-level file interchange with stdlib sqlite3, both ways.

A database built through mvlite (tables, indexes of every kind, views,
triggers, AUTOINCREMENT, all storage classes) is opened by sqlite3:
integrity_check ok and identical query results. A database built by sqlite3
is used through mvlite — reads, writes, and the planner using an index that
sqlite3 created (EXPLAIN QUERY PLAN says so, and the results equal sqlite3's)
— and sqlite3 still finds it intact afterwards.
"""
from __future__ import annotations

import random
import sqlite3

import mvlite

SCHEMA = """
CREATE TABLE people(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL COLLATE NOCASE,
                    age INTEGER CHECK (age >= 0), score REAL DEFAULT 1.5, photo BLOB,
                    email TEXT UNIQUE);
CREATE INDEX people_age ON people(age DESC, name);
CREATE INDEX people_adult ON people(name) WHERE age >= 18;
CREATE INDEX people_lower ON people(lower(email));
CREATE TABLE log(id INTEGER PRIMARY KEY, who INTEGER, what TEXT);
CREATE VIEW adults AS SELECT id, name FROM people WHERE age >= 18;
CREATE TRIGGER people_ins AFTER INSERT ON people BEGIN
  INSERT INTO log(who, what) VALUES (new.id, 'insert ' || new.name);
END;
"""

QUERIES = [
    "SELECT * FROM people ORDER BY id",
    "SELECT name, age FROM people WHERE age BETWEEN 20 AND 40 ORDER BY age DESC, name",
    "SELECT * FROM adults ORDER BY id",
    "SELECT p.name, count(l.id) FROM people p LEFT JOIN log l ON l.who = p.id GROUP BY p.id "
    "ORDER BY p.id",
    "SELECT email FROM people WHERE lower(email) = 'user7@example.com'",
    "SELECT typeof(photo), typeof(score), typeof(age) FROM people ORDER BY id LIMIT 5",
    "SELECT * FROM sqlite_sequence",
    "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name",
]


def _people(n: int, seed: int) -> list[tuple]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        out.append((rnd.choice(["ann", "Bob", "cy", "Dee", "ÉLA", "fé"]) + str(i % 13),
                    rnd.choice([None, rnd.randrange(0, 90)]),
                    rnd.choice([None, rnd.random() * 100, -0.0, 1e300]),
                    rnd.choice([None, b"", bytes(rnd.randrange(256) for _ in range(8))]),
                    f"user{i}@example.com" if i % 4 else None))
    return out


def _fill(con, rows) -> None:
    con.executescript(SCHEMA)
    con.executemany("INSERT INTO people(name, age, score, photo, email) VALUES (?, ?, ?, ?, ?)",
                    rows)
    con.execute("UPDATE people SET score = score * 2 WHERE age < 30")
    con.execute("DELETE FROM people WHERE id % 17 = 0")
    con.commit()


def _answers(con) -> list:
    return [con.execute(q).fetchall() for q in QUERIES]


def test_mvlite_file_opened_by_sqlite3(tmp_path):
    rows = _people(400, 1)
    ours_path, ref_path = str(tmp_path / "ours.db"), str(tmp_path / "ref.db")
    ours = mvlite.connect(ours_path)
    _fill(ours, rows)
    ours.close()
    ref = sqlite3.connect(ref_path)
    _fill(ref, rows)
    check = sqlite3.connect(ours_path)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert _answers(check) == _answers(ref)
    check.close()
    ref.close()


def test_sqlite3_file_used_through_mvlite_with_its_index(tmp_path):
    path, ref_path = str(tmp_path / "theirs.db"), str(tmp_path / "ref.db")
    rows = _people(400, 2)
    for p in (path, ref_path):
        con = sqlite3.connect(p)
        _fill(con, rows)
        con.close()
    ours = mvlite.connect(path)
    q = "SELECT name, age FROM people WHERE age = ? ORDER BY name"
    plan = [r[-1] for r in ours.execute("EXPLAIN QUERY PLAN " + q, (33,)).fetchall()]
    ref = sqlite3.connect(ref_path)
    assert "INDEX people_age (age=?)" in plan[0], plan
    assert plan == [r[-1] for r in ref.execute("EXPLAIN QUERY PLAN " + q, (33,)).fetchall()]
    for age in (0, 18, 33, 89, None):
        assert ours.execute(q, (age,)).fetchall() == ref.execute(q, (age,)).fetchall()
    # writes through mvlite keep sqlite3's indexes and triggers right
    more = _people(50, 3)
    for con in (ours, ref):
        con.executemany("INSERT INTO people(name, age, score, photo, email) "
                        "VALUES (?, ?, ?, ?, ?)", [(*r[:4], None) for r in more])
        con.execute("UPDATE people SET age = age + 1 WHERE name LIKE 'b%'")
        con.commit()
    assert _answers(ours) == _answers(ref)
    ours.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert _answers(check) == _answers(ref)
    check.close()
    ref.close()
