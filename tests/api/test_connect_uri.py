"""connect(): file: URIs (mode=ro/rw/rwc/memory, cache, authority), timeout,
check_same_thread, path types and error codes, against stdlib sqlite3."""
from __future__ import annotations

import os
import pathlib
import sqlite3
import threading

import pytest

import mvlite


def outcome(fn):
    try:
        return ("ok", fn())
    except (sqlite3.Error, mvlite.Error) as exc:
        return ("OperationalError" if isinstance(exc, (sqlite3.OperationalError,
                                                       mvlite.OperationalError))
                else type(exc).__name__, str(exc), exc.sqlite_errorcode, exc.sqlite_errorname)


def make_db(m, path):
    c = m.connect(path)
    c.execute("CREATE TABLE t(x)")
    c.execute("INSERT INTO t VALUES (1)")
    c.commit()
    c.close()


@pytest.mark.parametrize("case", [
    "file:{missing}?mode=ro", "file:{missing}?mode=rw", "file:{missing}?mode=xx",
    "file:{db}?cache=bogus", "file://host{db}", "file:{db}?mode=ro&cache=shared",
    "file://localhost{db}?mode=rw", "file:{db}?mode=rwc&cache=private",
    "file:whatever?mode=memory", "file:{spaced}",
])
def test_uri_open_and_use(tmp_path, case):
    res = []
    for m in (sqlite3, mvlite):
        d = tmp_path / m.__name__
        d.mkdir()
        db = str(d / "a.db")
        make_db(m, db)
        uri = case.format(missing=str(d / "missing.db"), db=db,
                          spaced=str(d / "my%20db.db"))

        def use():
            c = m.connect(uri, uri=True)
            try:
                return [outcome(lambda: c.execute("SELECT count(*) FROM t").fetchall()),
                        outcome(lambda: c.execute("INSERT INTO t VALUES (2)").rowcount),
                        c.in_transaction,
                        outcome(lambda: c.execute("CREATE TABLE u(y)") and None),
                        outcome(lambda: c.execute("PRAGMA user_version = 3") and None),
                        outcome(lambda: c.execute("PRAGMA user_version").fetchall())]
            finally:
                c.close()
        res.append((outcome(use), os.path.exists(d / "missing.db"),
                    os.path.exists(d / "my db.db")))
    assert res[0] == res[1]


def test_readonly_uri_sees_committed_data_and_refuses_writes(tmp_path):
    db = str(tmp_path / "a.db")
    rw = mvlite.connect(db)
    rw.execute("CREATE TABLE t(x)")
    rw.execute("INSERT INTO t VALUES (1)")
    rw.commit()
    ro = mvlite.connect(f"file:{db}?mode=ro", uri=True)
    assert ro.execute("SELECT x FROM t").fetchall() == [(1,)]
    for sql in ("INSERT INTO t VALUES (2)", "UPDATE t SET x = 2", "DELETE FROM t",
                "CREATE TABLE u(y)", "DROP TABLE t", "PRAGMA application_id = 5"):
        with pytest.raises(mvlite.OperationalError, match="attempt to write a readonly database") \
                as ei:
            ro.execute(sql)
        assert ei.value.sqlite_errorcode == 8 and ei.value.sqlite_errorname == "SQLITE_READONLY"
        ro.rollback()
    rw.execute("INSERT INTO t VALUES (3)")
    rw.commit()
    assert ro.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (3,)]
    ro.close()
    rw.close()


def test_without_uri_flag_file_prefix_is_a_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    c = mvlite.connect("file:x.db?mode=ro")
    c.execute("CREATE TABLE t(x)")
    c.commit()
    c.close()
    assert (tmp_path / "file:x.db?mode=ro").exists()


def test_path_types_and_memory(tmp_path):
    p = tmp_path / "p.db"
    for db in (p, str(p), os.fsencode(str(p))):
        c = mvlite.connect(db)
        c.execute("CREATE TABLE IF NOT EXISTS t(x)")
        c.commit()
        c.close()
    a, b = mvlite.connect(":memory:"), mvlite.connect(":memory:")
    a.execute("CREATE TABLE t(x)")
    assert b.execute("PRAGMA table_info(t)").fetchall() == []   # private databases
    a.close()
    b.close()
    d = tmp_path / "dir"
    d.mkdir()
    with pytest.raises(mvlite.OperationalError, match="unable to open database file"):
        mvlite.connect(d)
    assert isinstance(pathlib.Path(p), os.PathLike)


def test_check_same_thread_and_timeout(tmp_path):
    c = mvlite.connect(str(tmp_path / "t.db"), timeout=0.25)
    assert c.execute("PRAGMA busy_timeout").fetchall() == [(250,)]
    errors = []

    def other():
        try:
            c.execute("SELECT 1")
        except mvlite.ProgrammingError as exc:
            errors.append(str(exc))
    th = threading.Thread(target=other)
    th.start()
    th.join()
    assert errors and errors[0].startswith("SQLite objects created in a thread can only be used")
    c.close()
    c = mvlite.connect(str(tmp_path / "t.db"), check_same_thread=False)
    out = []
    th = threading.Thread(target=lambda: out.append(c.execute("SELECT 7").fetchall()))
    th.start()
    th.join()
    assert out == [[(7,)]]
    c.close()


def test_error_codes_match_sqlite3():
    def codes(m):
        c = m.connect(":memory:")
        c.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b UNIQUE, c NOT NULL)")
        c.execute("INSERT INTO t VALUES (1, 1, 1)")
        out = []
        for sql in ("INSERT INTO t VALUES (3, 3, NULL)",
                    "SELECT * FROM nope", "SELEC 1", "INSERT INTO t VALUES ('x', 1, 1)"):
            try:
                c.execute(sql)
                out.append(None)
            except m.Error as exc:
                out.append((type(exc).__name__ if type(exc).__name__ in
                            ("IntegrityError", "ProgrammingError") else "OperationalError",
                            str(exc), exc.sqlite_errorcode, exc.sqlite_errorname))
        c.close()
        return out
    assert codes(mvlite) == codes(sqlite3)
    # errors raised without an explicit code get SQLite's extended code from the message
    e = mvlite.IntegrityError("UNIQUE constraint failed: t.b")
    assert (e.sqlite_errorcode, e.sqlite_errorname) == (2067, "SQLITE_CONSTRAINT_UNIQUE")
    e = mvlite.IntegrityError("CHECK constraint failed: c > 0")
    assert (e.sqlite_errorcode, e.sqlite_errorname) == (275, "SQLITE_CONSTRAINT_CHECK")
