"""Change capture per mode and statement kind, checked against stdlib sqlite3.

The expected change feed is derived from the oracle: the same statements run
in ``sqlite3``, and each statement's changes are the difference between the
table before and after it (by rowid). The capture table and sqlite_schema are
read back through mvlite and, after closing, through ``sqlite3`` itself.
"""
from __future__ import annotations

import json
import sqlite3

import pytest

import mvlite
import sql.cdc  # noqa: F401  (registers the PRAGMA and the functions)
from storage.errors import IntegrityError, OperationalError
from storage.record import decode_record, encode_record

PRAGMA = "PRAGMA unstable_capture_data_changes_conn"

SCRIPT = [
    "INSERT INTO t VALUES (10, 'a', 1.5), (5, 'b', NULL)",
    "INSERT INTO t(y, z) VALUES ('c', x'00ff')",
    "UPDATE t SET z = 7 WHERE x >= 10",
    "UPDATE t SET y = y || '!'",
    "UPDATE t SET x = 3 WHERE x = 5",
    "DELETE FROM t WHERE y = 'a!'",
    "INSERT INTO t VALUES (20, 20, 20)",
    "DELETE FROM t",
]


def _state(con) -> dict:
    return {r[0]: tuple(r) for r in con.execute("SELECT x, y, z FROM t")}


def _oracle_feed() -> list[list[tuple]]:
    """Per statement: sorted (kind, rowid, before, after) from sqlite3's table states."""
    o = sqlite3.connect(":memory:")
    o.execute("CREATE TABLE t (x INTEGER PRIMARY KEY, y, z)")
    feed = []
    for stmt in SCRIPT:
        a = _state(o)
        o.execute(stmt)
        b = _state(o)
        changes = []
        for rid in a.keys() | b.keys():
            ra, rb = a.get(rid), b.get(rid)
            if ra == rb:
                continue
            kind = 1 if ra is None else (-1 if rb is None else 0)
            changes.append((kind, rid, ra, rb))
        feed.append(sorted(changes))
    return feed


def _updates(old: tuple, new: tuple) -> tuple:
    flags = tuple(0 if (type(x), x) == (type(y), y) else 1 for x, y in zip(old, new))
    return flags + tuple(y if f else None for f, y in zip(flags, new))


@pytest.mark.parametrize("mode", ["id", "before", "after", "full"])
def test_each_mode_matches_the_oracle_diff(tmp_path, mode):
    path = str(tmp_path / "m.db")
    con = mvlite.connect(path, isolation_level=None)
    con.execute("CREATE TABLE t (x INTEGER PRIMARY KEY, y, z)")
    con.execute(f"{PRAGMA}('{mode}')")
    assert con.execute(PRAGMA).fetchall() == [(mode, "turso_cdc")]
    for stmt in SCRIPT:
        con.execute(stmt)
    rows = con.execute("SELECT * FROM turso_cdc ORDER BY change_id").fetchall()
    con.close()
    expected = _oracle_feed()
    assert len(rows) == sum(len(f) for f in expected)
    ids = [r[0] for r in rows]
    assert ids == list(range(1, len(rows) + 1))  # strictly increasing, from 1
    # the feed in statement order: statement i owns the next len(expected[i]) rows
    pos = 0
    for changes in expected:
        got = []
        for r in rows[pos:pos + len(changes)]:
            _cid, ctime, kind, table, rid, before, after, updates = r
            assert table == "t" and isinstance(ctime, int)
            got.append((kind, rid, before, after, updates))
        pos += len(changes)
        want = []
        for kind, rid, ra, rb in changes:
            before = encode_record(ra) if mode in ("before", "full") and ra else None
            after = encode_record(rb) if mode in ("after", "full") and rb else None
            upd = encode_record(_updates(ra, rb)) if mode == "full" and kind == 0 else None
            want.append((kind, rid, before, after, upd))
        assert sorted(got, key=lambda g: (g[0], g[1])) == sorted(want, key=lambda g: (g[0], g[1]))
    # stdlib sqlite3 reads the same feed from the file; the file is sound
    o = sqlite3.connect(path)
    assert o.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert o.execute("SELECT * FROM turso_cdc ORDER BY change_id").fetchall() == rows
    assert o.execute("SELECT seq FROM sqlite_sequence WHERE name='turso_cdc'").fetchall() \
        == [(len(rows),)]
    o.close()


def test_insert_order_and_updates_image_as_in_turso(tmp_path):
    con = mvlite.connect(str(tmp_path / "o.db"), isolation_level=None)
    con.execute("CREATE TABLE t (x INTEGER PRIMARY KEY, y)")
    con.execute(f"{PRAGMA}('full')")
    con.execute("INSERT INTO t VALUES (1, 2), (3, 4)")
    con.execute("UPDATE t SET y = 3 WHERE x = 1")
    con.execute("DELETE FROM t WHERE x = 3")
    got = [(r[0], r[2], r[3], r[4], r[5] and decode_record(r[5]), r[6] and decode_record(r[6]),
            r[7] and decode_record(r[7]))
           for r in con.execute("SELECT * FROM turso_cdc")]
    assert got == [
        (1, 1, "t", 1, None, (1, 2), None),
        (2, 1, "t", 3, None, (3, 4), None),
        (3, 0, "t", 1, (1, 2), (1, 3), (0, 1, None, 3)),
        (4, -1, "t", 3, (3, 4), None, None),
    ]
    con.close()


def test_rolled_back_transaction_and_failed_statement_leave_no_changes(tmp_path):
    con = mvlite.connect(str(tmp_path / "r.db"), isolation_level=None)
    con.execute("CREATE TABLE t (x INTEGER PRIMARY KEY, y UNIQUE)")
    con.execute(f"{PRAGMA}('id')")
    con.execute("INSERT INTO t VALUES (1, 10), (2, 20)")
    con.execute("BEGIN")
    con.execute("INSERT INTO t VALUES (3, 30)")
    con.execute("ROLLBACK")
    with pytest.raises(IntegrityError):
        con.execute("INSERT INTO t VALUES (4, 40), (5, 50), (6, 10)")
    con.execute("BEGIN")
    con.execute("INSERT INTO t VALUES (7, 70)")
    with pytest.raises(IntegrityError):  # a failed statement inside a transaction
        con.execute("UPDATE t SET y = 10 WHERE x = 7")
    con.execute("SAVEPOINT s")
    con.execute("DELETE FROM t WHERE x = 1")
    con.execute("ROLLBACK TO s")
    con.execute("UPDATE t SET y = 71 WHERE x = 7")
    con.execute("COMMIT")
    rows = con.execute("SELECT change_id, change_type, table_name, id FROM turso_cdc").fetchall()
    assert rows == [(1, 1, "t", 1), (2, 1, "t", 2), (3, 1, "t", 7), (4, 0, "t", 7)]
    assert con.execute("SELECT * FROM t").fetchall() == [(1, 10), (2, 20), (7, 71)]
    con.close()


def test_schema_changes_are_recorded_against_sqlite_schema(tmp_path):
    path = str(tmp_path / "s.db")
    con = mvlite.connect(path, isolation_level=None)
    con.execute(f"{PRAGMA}('full')")
    con.execute("CREATE TABLE q (a, b UNIQUE)")
    con.execute("CREATE INDEX q_a ON q(a)")
    con.execute("BEGIN")
    con.execute("CREATE TABLE r (k INTEGER PRIMARY KEY, v)")  # root given at COMMIT
    con.execute("INSERT INTO r VALUES (1, 'one')")
    con.execute("COMMIT")
    con.execute("DROP INDEX q_a")
    rows = [(r[2], r[3], r[4], r[5] and decode_record(r[5]), r[6] and decode_record(r[6]))
            for r in con.execute("SELECT * FROM turso_cdc ORDER BY change_id")]
    con.close()
    o = sqlite3.connect(path)
    assert o.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    schema = {r[0]: r[1:] for r in o.execute("SELECT rowid, * FROM sqlite_schema")}
    created = [r for r in rows if r[0] == 1 and r[1] == "sqlite_schema"]
    names = [r[4][1] for r in created]
    assert names == ["q", "sqlite_autoindex_q_1", "q_a", "r"]
    for kind, table, rid, before, after in created:
        if after[1] != "q_a":  # dropped later; the others are on disk as recorded
            assert schema[rid] == after  # real root pages, sqlite3's own rowids
        assert after[3] > 0
    assert rows[-1][0] == -1 and rows[-1][3][1] == "q_a" and rows[-1][4] is None
    assert (1, "r", 1, None, (1, "one")) in rows
    assert not any(r[4] and r[4][1] in ("turso_cdc", "sqlite_sequence")
                   for r in rows if r[1] == "sqlite_schema")


def test_pragma_off_custom_table_and_independent_connections(tmp_path):
    path = str(tmp_path / "c.db")
    c1 = mvlite.connect(path, isolation_level=None)
    c2 = mvlite.connect(path, isolation_level=None)
    c1.execute("CREATE TABLE t (x INTEGER PRIMARY KEY, y)")
    c1.execute(f"{PRAGMA}('id,log1')")
    c2.execute(f"{PRAGMA} = 'after,log2'")
    assert c1.execute(PRAGMA).fetchall() == [("id", "log1")]
    assert c2.execute(PRAGMA).fetchall() == [("after", "log2")]
    c1.execute("INSERT INTO t VALUES (1, 1)")
    c2.execute("INSERT INTO t VALUES (2, 2)")
    c1.execute("DELETE FROM log1")  # the own capture table is not captured ...
    c1.execute("DELETE FROM log2")  # ... another connection's is
    c1.execute(f"{PRAGMA}('off')")
    assert c1.execute(PRAGMA).fetchall() == [("off", None)]
    c1.execute("INSERT INTO t VALUES (3, 3)")
    assert c1.execute("SELECT change_id, change_type, table_name, id FROM log1").fetchall() \
        == [(2, -1, "log2", 1)]
    assert c1.execute("SELECT count(*) FROM log2").fetchall() == [(0,)]
    with pytest.raises(OperationalError):
        c1.execute(f"{PRAGMA}('sideways')")
    c1.close()
    c2.close()


def test_reading_functions_match_sqlite_json(tmp_path):
    con = mvlite.connect(str(tmp_path / "f.db"), isolation_level=None)
    con.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b, c UNIQUE, d)")
    assert con.execute("SELECT table_columns_json_array('t')").fetchall() \
        == [('["a","b","c","d"]',)]
    with pytest.raises(OperationalError, match="no such table"):
        con.execute("SELECT table_columns_json_array('nope')")
    o = sqlite3.connect(":memory:")
    for values in [(None, 1, 1.61803, "hello"), (-7, 2.0, 1e100, 'q"u\u00e9'),
                   (2 ** 63 - 1, -0.5, "", None)]:
        blob = encode_record(values)
        got = con.execute("SELECT bin_record_json_object(?, ?)",
                          ('["a","b","c","d"]', blob)).fetchone()[0]
        want = o.execute("SELECT json_object('a', ?, 'b', ?, 'c', ?, 'd', ?)", values) \
            .fetchone()[0]
        assert json.loads(got) == json.loads(want)
        assert got == want
    got = con.execute("SELECT bin_record_json_object('[\"a\",\"b\",\"c\"]', ?)",
                      (encode_record((1, b"\x00\xab")),)).fetchone()[0]
    assert json.loads(got) == {"a": 1, "b": "00AB", "c": None}
    assert con.execute("SELECT bin_record_json_object(NULL, x'01')").fetchone()[0] is None
    # the round trip a consumer does: table_columns_json_array + the after image
    con.execute(f"{PRAGMA}('after')")
    con.execute("INSERT INTO t VALUES (5, 'x', 2.5, NULL)")
    got = con.execute("SELECT bin_record_json_object(table_columns_json_array(table_name), "
                      "after) FROM turso_cdc").fetchall()
    assert [json.loads(g[0]) for g in got] == [{"a": 5, "b": "x", "c": 2.5, "d": None}]
    con.close()


def test_change_ids_are_never_reused_after_the_feed_is_trimmed(tmp_path):
    path = str(tmp_path / "a.db")
    con = mvlite.connect(path, isolation_level=None)
    con.execute("CREATE TABLE t (x)")
    con.execute(f"{PRAGMA}('id')")
    con.execute("INSERT INTO t VALUES (1), (2), (3)")
    con.execute("DELETE FROM turso_cdc")  # a consumer trims what it has applied
    con.execute("BEGIN IMMEDIATE")
    con.execute("UPDATE t SET x = x + 1 WHERE x = 3")
    con.execute("COMMIT")
    assert con.execute("SELECT change_id, change_type, id FROM turso_cdc").fetchall() \
        == [(4, 0, 3)]
    con.close()
    o = sqlite3.connect(path)
    assert o.execute("SELECT seq FROM sqlite_sequence WHERE name = 'turso_cdc'").fetchall() \
        == [(4,)]
    o.execute("INSERT INTO turso_cdc(change_type) VALUES (9)")  # sqlite3 continues the sequence
    assert o.execute("SELECT max(change_id) FROM turso_cdc").fetchall() == [(5,)]
    o.close()
