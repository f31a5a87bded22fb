"""Files written by stdlib sqlite3 read back exactly through mvlite's storage layer.

For every shape below, sqlite3 builds a database; the oracle answers come from
sqlite3 itself (``SELECT rowid, * ...`` for tables, ``SELECT <index columns>,
rowid ... INDEXED BY i ORDER BY <index order>`` for indexes, ``PRAGMA
freelist_count``), and must equal what ``Pager`` + ``btree`` cursors decode:
every row, every index entry in index order, the schema rows, the freelist
count. Our integrity checker must say ``[]`` for each file.

Shapes: page sizes 512/1024/4096/65536; a 100k-row table (built once per
module); 1 MB blobs and long texts (overflow, also inside index keys);
single/multi-column, DESC, UNIQUE and NOCASE indexes over mixed types; heavy
deletes then inserts (freelist reuse); WITHOUT ROWID; auto-vacuum (pointer
maps); ALTER TABLE ADD COLUMN (short records); edge values (±2^63, -0.0, inf,
unicode, empty text/blob); rollback-journal modes DELETE and PERSIST (a
leftover, non-hot journal file); WAL with frames not yet checkpointed (db and
-wal copied while sqlite3 still holds them open).
"""
from __future__ import annotations

import math
import random
import shutil
import sqlite3

import pytest

from storage import btree, integrity
from storage.inspect import scan_database
from storage.pager import Pager
from storage.schema_table import read_schema


# -- the oracle ----------------------------------------------------------------------

def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _oracle(con: sqlite3.Connection) -> dict:
    """Everything sqlite3 says about the database, in comparable form."""
    out = {"schema": [tuple(r) for r in con.execute(
        "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema ORDER BY rowid")],
        "freelist": con.execute("PRAGMA freelist_count").fetchone()[0],
        "tables": {}, "indexes": {}}
    for typ, name, tbl, root, sql in out["schema"]:
        if typ == "table" and root:
            info = con.execute(f"PRAGMA table_info({_q(name)})").fetchall()
            without_rowid = "WITHOUT ROWID" in (sql or "").upper()
            if without_rowid:
                pk = sorted((c for c in info if c[5]), key=lambda c: c[5])
                rest = [c for c in info if not c[5]]
                cols = ", ".join(_q(c[1]) for c in pk + rest)
                order = ", ".join(_q(c[1]) for c in pk)
                out["tables"][name] = ("index", [tuple(r) for r in con.execute(
                    f"SELECT {cols} FROM {_q(name)} ORDER BY {order}")])
            else:
                rows = [tuple(r) for r in con.execute(
                    f"SELECT rowid, * FROM {_q(name)} ORDER BY rowid")]
                pks = [c for c in info if c[5]]
                alias = (pks[0][0] if len(pks) == 1 and pks[0][2].upper() == "INTEGER"
                         else None)
                defaults = [None if c[4] is None else con.execute(f"SELECT {c[4]}").fetchone()[0]
                            for c in info]
                out["tables"][name] = ("table", rows, alias, defaults)
        elif typ == "index" and root:
            xinfo = con.execute(f"PRAGMA index_xinfo({_q(name)})").fetchall()
            # (seqno, cid, name, desc, coll, key); cid -1 = rowid, -2 = expression
            assert all(c[1] != -2 for c in xinfo), "expression indexes are not oracle-able here"
            cols = ", ".join("rowid" if c[1] == -1 else _q(c[2]) for c in xinfo)
            order = ", ".join(
                ("rowid" if c[1] == -1 else f"{_q(c[2])} COLLATE {c[4]}")
                + (" DESC" if c[3] else "") for c in xinfo)
            out["indexes"][name] = [tuple(r) for r in con.execute(
                f"SELECT {cols} FROM {_q(tbl)} INDEXED BY {_q(name)} ORDER BY {order}")]
    return out


def _same(a, b) -> bool:
    """Value equality as sqlite3 means it (REAL columns may be stored as integers)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            continue
        if x != y or (type(x) in (str, bytes) or type(y) in (str, bytes)) and type(x) != type(y):
            return False
        if isinstance(x, float) and isinstance(y, float) and math.copysign(1, x) != math.copysign(1, y):
            return False
    return True


def _read_with_mvlite(path) -> dict:
    """The same answers, read through Pager + btree cursors."""
    pager = Pager.open(str(path), readonly=True, create=False)
    try:
        txn = pager.begin_read()
        try:
            schema = [tuple(r) for r in read_schema(txn)]
            out = {"schema": schema, "tables": {}, "indexes": {},
                   "freelist": int.from_bytes(txn.page(1).data[36:40], "big"),
                   "check": integrity.check(txn)}
            for typ, name, tbl, root, sql in schema:
                if not root:
                    continue
                if typ == "index" or "WITHOUT ROWID" in (sql or "").upper():
                    cur = btree.IndexCursor(txn, root, btree.KeyInfo(collations=(), desc=()))
                    keys = []
                    ok = cur.first()
                    while ok:
                        keys.append(tuple(cur.key))
                        ok = cur.next()
                    (out["indexes"] if typ == "index" else out["tables"])[name] = keys
                else:
                    cur = btree.TableCursor(txn, root)
                    rows = []
                    ok = cur.first()
                    while ok:
                        rows.append((cur.rowid, tuple(cur.record())))
                        ok = cur.next()
                    out["tables"][name] = rows
        finally:
            txn.end()
        # the inspector's full scan visits exactly every schema row, row and index entry
        out["scanned"] = scan_database(pager)
        return out
    finally:
        pager.close()


def _compare(oracle: dict, ours: dict) -> None:
    assert ours["check"] == [], ours["check"][:10]
    assert ours["schema"] == oracle["schema"]
    assert ours["scanned"] == len(oracle["schema"]) + sum(
        len(spec[1]) for spec in oracle["tables"].values()) + sum(
        len(v) for v in oracle["indexes"].values())
    assert ours["freelist"] == oracle["freelist"]
    assert set(ours["tables"]) == set(oracle["tables"])
    for name, spec in oracle["tables"].items():
        mine = ours["tables"][name]
        if spec[0] == "index":  # WITHOUT ROWID: records in primary-key order
            want = spec[1]
            assert len(mine) == len(want), name
            for a, b in zip(mine, want):
                assert _same(a, b), (name, a, b)
            continue
        _, want, alias, defaults = spec
        assert len(mine) == len(want), name
        for (rowid, rec), row in zip(mine, want):
            full = list(rec) + defaults[len(rec):]  # ALTER TABLE ADD COLUMN: short records
            if alias is not None:
                assert full[alias] is None  # the rowid alias is stored as NULL
                full[alias] = rowid
            assert _same((rowid, *full), row), (name, rowid)
    assert set(ours["indexes"]) == set(oracle["indexes"])
    for name, want in oracle["indexes"].items():
        mine = ours["indexes"][name]
        assert len(mine) == len(want), name
        for a, b in zip(mine, want):
            assert _same(a, b), (name, a, b)


def _check_file(path) -> dict:
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        oracle = _oracle(con)
    finally:
        con.close()
    ours = _read_with_mvlite(path)
    _compare(oracle, ours)
    return ours


# -- shapes ------------------------------------------------------------------------------

def _mixed_rows(n, seed, big=False):
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        kind = rnd.randrange(6)
        v = [None, rnd.randrange(-2**40, 2**40), rnd.uniform(-1e9, 1e9),
             "t" + "é" * rnd.randrange(0, 30) + str(i), rnd.randbytes(rnd.randrange(0, 60)),
             rnd.choice([0, 1, -1, 2**63 - 1, -2**63])][kind]
        text = "x" * rnd.choice([0, 5, 100, 700, 5000 if big else 300])
        rows.append((i * 3 - 50, v, text, rnd.randrange(10), rnd.random()))
    return rows


def _basic(con, n=600, seed=1):
    con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v, s TEXT, k INT, r REAL)")
    con.executemany("INSERT INTO t VALUES (?,?,?,?,?)", _mixed_rows(n, seed))
    con.execute("CREATE INDEX t_v ON t(v)")
    con.execute("CREATE INDEX t_ks ON t(k, s DESC)")


def shape_page512(con):
    con.execute("PRAGMA page_size=512")
    _basic(con)


def shape_page1024(con):
    con.execute("PRAGMA page_size=1024")
    _basic(con, seed=2)


def shape_page4096(con):
    con.execute("PRAGMA page_size=4096")
    _basic(con, n=2000, seed=3)


def shape_page65536(con):
    con.execute("PRAGMA page_size=65536")
    _basic(con, n=2000, seed=4)


def shape_overflow_1mb(con):
    con.execute("PRAGMA page_size=4096")
    con.execute("CREATE TABLE big(id INTEGER PRIMARY KEY, b BLOB, t TEXT)")
    rnd = random.Random(5)
    rows = [(1, rnd.randbytes(1 << 20), "long " * 40000),
            (2, rnd.randbytes((1 << 20) + 123), "ü" * 300_000),
            (3, b"", ""), (4, rnd.randbytes(4000), "a" * 4061)]
    con.executemany("INSERT INTO big VALUES (?,?,?)", rows)
    con.execute("CREATE INDEX big_t ON big(t)")  # index keys that overflow too
    con.execute("CREATE TABLE small(x)")
    con.executemany("INSERT INTO small VALUES (?)", [("y" * i,) for i in range(0, 9000, 450)])


def shape_indexes(con):
    con.execute("PRAGMA page_size=1024")
    con.execute("CREATE TABLE p(a, b TEXT COLLATE NOCASE, c REAL, d BLOB, e)")
    rnd = random.Random(6)
    vals = [None, 0, 1, -1, 7, 2.5, -0.5, 1e300, "", "abc", "ABC", "abd", "Zed", b"", b"\x00",
            b"\xff\x01", 2**62, -2**62]
    rows = [tuple(rnd.choice(vals) for _ in range(5)) for _ in range(1500)]
    con.executemany("INSERT INTO p VALUES (?,?,?,?,?)", rows)
    con.execute("CREATE INDEX p_a ON p(a)")
    con.execute("CREATE INDEX p_b ON p(b)")
    con.execute("CREATE INDEX p_ab ON p(a DESC, b)")
    con.execute("CREATE INDEX p_cde ON p(c, d DESC, e)")
    con.execute("CREATE INDEX p_bbin ON p(b COLLATE BINARY DESC, a)")
    con.execute("CREATE TABLE q(u TEXT UNIQUE, w INT UNIQUE)")
    con.executemany("INSERT INTO q VALUES (?,?)", [(f"u{i}", i * 7 % 1009) for i in range(900)])


def shape_deletes_then_inserts(con):
    con.execute("PRAGMA page_size=1024")
    _basic(con, n=3000, seed=7)
    con.commit()
    con.execute("DELETE FROM t WHERE id % 5 != 0")
    con.commit()
    rows = _mixed_rows(400, 8)
    con.executemany("INSERT INTO t VALUES (?,?,?,?,?)", [(r[0] + 100_000,) + r[1:] for r in rows])
    con.commit()
    con.execute("DELETE FROM t WHERE id BETWEEN 100000 AND 100300")


def shape_without_rowid(con):
    con.execute("PRAGMA page_size=1024")
    con.execute("CREATE TABLE w(b TEXT, a INT, c, PRIMARY KEY(a, b)) WITHOUT ROWID")
    rnd = random.Random(9)
    con.executemany("INSERT INTO w VALUES (?,?,?)",
                    [(f"k{i % 37}" * rnd.randrange(1, 30), i // 37, rnd.randbytes(rnd.randrange(90)))
                     for i in range(2000)])
    con.execute("CREATE INDEX w_c ON w(c)")
    con.execute("DELETE FROM w WHERE a % 3 = 0")


def shape_autovacuum(con):
    con.execute("PRAGMA page_size=1024")
    con.execute("PRAGMA auto_vacuum=FULL")
    _basic(con, n=1500, seed=10)
    con.commit()
    con.execute("DELETE FROM t WHERE id % 2 = 0")


def shape_incremental_vacuum(con):
    con.execute("PRAGMA page_size=512")
    con.execute("PRAGMA auto_vacuum=INCREMENTAL")
    _basic(con, n=800, seed=11)
    con.commit()
    con.execute("DELETE FROM t WHERE id % 3 = 0")


def shape_alter_add_column(con):
    con.execute("PRAGMA page_size=4096")
    con.execute("CREATE TABLE a(x, y)")
    con.executemany("INSERT INTO a VALUES (?,?)", [(i, str(i)) for i in range(300)])
    con.execute("ALTER TABLE a ADD COLUMN z DEFAULT 42")
    con.execute("ALTER TABLE a ADD COLUMN w TEXT")
    con.executemany("INSERT INTO a VALUES (?,?,?,?)", [(i, "n", i * 2, "w") for i in range(300, 400)])


def shape_edge_values(con):
    con.execute("PRAGMA page_size=512")
    con.execute("CREATE TABLE e(v)")
    vals = [None, 0, 1, -1, 127, 128, -128, -129, 2**15, 2**23, -2**23 - 1, 2**31, 2**47 - 1,
            2**47, -2**47, 2**63 - 1, -2**63, 0.0, -0.0, 1.5, -2.25, float("inf"), float("-inf"),
            1e-308, "", "ascii", "ünïcødé 🎉", "\x00nul\x00", b"", b"\x00\xff", "x" * 3000]
    con.executemany("INSERT INTO e(rowid, v) VALUES (?, ?)",
                    [(r, v) for r, v in zip([-2**63, -1, 0, 1, 2**63 - 1] + list(range(2, 100)), vals)])
    con.execute("CREATE INDEX e_v ON e(v)")


def shape_rollback_delete(con):
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("PRAGMA page_size=2048")
    _basic(con, n=700, seed=12)


def shape_rollback_persist(con):
    con.execute("PRAGMA page_size=1024")
    con.execute("PRAGMA journal_mode=PERSIST")  # leaves a zeroed (not hot) -journal behind
    _basic(con, n=500, seed=13)
    con.commit()
    con.execute("UPDATE t SET s = 'changed' WHERE id % 4 = 0")


SHAPES = {f.__name__[len("shape_"):]: f for f in [
    shape_page512, shape_page1024, shape_page4096, shape_page65536, shape_overflow_1mb,
    shape_indexes, shape_deletes_then_inserts, shape_without_rowid, shape_autovacuum,
    shape_incremental_vacuum, shape_alter_add_column, shape_edge_values, shape_rollback_delete,
    shape_rollback_persist]}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_sqlite3_file_reads_back_exactly(shape, tmp_path):
    path = tmp_path / "db.sqlite"
    con = sqlite3.connect(path)
    SHAPES[shape](con)
    con.commit()
    con.close()
    if shape == "rollback_persist":
        journal = tmp_path / "db.sqlite-journal"
        assert journal.exists() and journal.stat().st_size > 0
    _check_file(path)


def test_deletes_leave_a_freelist_that_we_count(tmp_path):
    path = tmp_path / "db.sqlite"
    con = sqlite3.connect(path)
    shape_deletes_then_inserts(con)
    con.commit()
    n = con.execute("PRAGMA freelist_count").fetchone()[0]
    con.close()
    assert n > 0
    ours = _check_file(path)
    assert ours["freelist"] == n


# -- the 100k-row table (built once) --------------------------------------------------------

@pytest.fixture(scope="module")
def big_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE big(id INTEGER PRIMARY KEY, name TEXT, n INT, f REAL)")
    con.executemany("INSERT INTO big VALUES (?,?,?,?)",
                    ((i, f"name-{i * 7919 % 100_000:05d}", i % 977, i / 7) for i in range(1, 100_001)))
    con.execute("CREATE INDEX big_name ON big(name)")
    con.commit()
    con.close()
    return path


def test_100k_rows_read_back_exactly(big_db):
    ours = _check_file(big_db)
    assert len(ours["tables"]["big"]) == 100_000
    assert len(ours["indexes"]["big_name"]) == 100_000


# -- WAL with frames not yet checkpointed ---------------------------------------------------

def test_wal_frames_not_checkpointed(tmp_path):
    src = tmp_path / "live.sqlite"
    con = sqlite3.connect(src, isolation_level=None)
    con.execute("PRAGMA page_size=1024")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("BEGIN")
    _basic(con, n=400, seed=14)
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # part of the data in the db file...
    for round_ in range(3):  # ...and several transactions only in the WAL
        con.execute("BEGIN")
        con.executemany("INSERT INTO t VALUES (?,?,?,?,?)",
                        [(10_000 + round_ * 1000 + r[0],) + r[1:] for r in _mixed_rows(150, 15 + round_)])
        con.execute("DELETE FROM t WHERE id % 7 = ?", (round_,))
        con.execute("COMMIT")
    con.execute("CREATE TABLE later(x)")
    con.execute("INSERT INTO later VALUES ('only in the wal')")
    oracle = _oracle(con)
    copy = tmp_path / "copy.sqlite"
    shutil.copy(src, copy)
    shutil.copy(str(src) + "-wal", str(copy) + "-wal")
    con.close()
    assert (tmp_path / "copy.sqlite-wal").stat().st_size > 32 + 24 + 1024  # frames are there
    db_only = sqlite3.connect(f"file:{copy}?mode=ro&immutable=1", uri=True)
    try:  # the db file alone does not have the later table: it is only in the WAL
        assert "later" not in [r[0] for r in db_only.execute("SELECT name FROM sqlite_schema")]
    finally:
        db_only.close()
    ours = _read_with_mvlite(copy)
    _compare(oracle, ours)
    assert ours["tables"]["later"] == [(1, ("only in the wal",))]
