"""interrupt(), set_progress_handler() and set_trace_callback() against stdlib sqlite3:
which statements fail with "interrupted", what happens to the transaction, and the exact
statement texts the trace callback sees (implicit BEGIN/COMMIT, expanded parameters,
executescript pieces)."""
from __future__ import annotations

import sqlite3
import threading
import time

import mvlite

BIG = ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 100000000) "
       "SELECT count(*) FROM r")


def outcome(fn):
    try:
        return ("ok", fn())
    except (sqlite3.Error, mvlite.Error) as exc:
        return (type(exc).__name__ if type(exc).__name__ != "SqlSyntaxError"
                else "OperationalError", str(exc), exc.sqlite_errorcode, exc.sqlite_errorname)


def interrupt_script(m):
    c = m.connect(":memory:")
    out = []
    c.interrupt()                     # nothing running: no effect on the next statement
    out.append(outcome(lambda: c.execute("SELECT 1").fetchall()))
    c.execute("CREATE TABLE src(x)")
    c.executemany("INSERT INTO src VALUES (?)", [(i,) for i in range(10)])
    c.commit()
    c.execute("CREATE TABLE dst(x)")

    def f(x):
        if x == 3:
            c.interrupt()
        return x
    c.create_function("f", 1, f)
    out.append(outcome(lambda: c.execute("SELECT f(x) FROM src").fetchall()))
    out.append(outcome(lambda: c.execute("SELECT 2").fetchall()))
    # a write interrupted inside a transaction rolls the whole transaction back
    c.execute("INSERT INTO dst VALUES (100)")
    out.append(c.in_transaction)
    out.append(outcome(lambda: c.execute("INSERT INTO dst SELECT f(x) FROM src")))
    out.append((c.in_transaction, c.execute("SELECT * FROM dst").fetchall()))
    # an interrupted read leaves the transaction alone
    c.execute("INSERT INTO dst VALUES (100)")
    c.commit()
    c.execute("SAVEPOINT a")
    c.execute("INSERT INTO dst VALUES (5)")
    out.append(outcome(lambda: c.execute("SELECT f(x) FROM src").fetchall()))
    out.append((c.in_transaction, c.execute("SELECT * FROM dst ORDER BY x").fetchall()))
    c.rollback()
    c.isolation_level = None
    out.append(outcome(lambda: c.execute("INSERT INTO dst SELECT f(x) FROM src")))
    out.append((c.in_transaction, c.execute("SELECT * FROM dst").fetchall()))
    out.append(outcome(lambda: c.execute("UPDATE dst SET x = f(3)")))
    out.append((c.in_transaction, c.execute("SELECT * FROM dst").fetchall()))
    c.close()
    return out


def test_interrupt_semantics_match_sqlite3():
    assert interrupt_script(mvlite) == interrupt_script(sqlite3)


def test_interrupt_from_another_thread():
    for m in (sqlite3, mvlite):
        c = m.connect(":memory:", check_same_thread=False)
        box = []
        th = threading.Thread(target=lambda: box.append(outcome(
            lambda: c.execute(BIG).fetchall())))
        th.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        c.interrupt()
        th.join(10)
        assert not th.is_alive()
        assert time.monotonic() - t0 < 5
        assert box == [("OperationalError", "interrupted", 9, "SQLITE_INTERRUPT")], m
        assert c.execute("SELECT 1").fetchall() == [(1,)]   # the connection stays usable
        c.close()


def test_progress_handler():
    for m in (sqlite3, mvlite):
        c = m.connect(":memory:")
        calls = []
        c.set_progress_handler(lambda: calls.append(1), 100)
        q = ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 5000) "
             "SELECT count(*) FROM r")
        assert c.execute(q).fetchall() == [(5000,)]
        assert len(calls) > 5, m                            # called regularly
        c.set_progress_handler(lambda: 1, 10)               # a true result aborts
        assert outcome(lambda: c.execute(q).fetchall()) == \
            ("OperationalError", "interrupted", 9, "SQLITE_INTERRUPT")
        c.set_progress_handler(lambda: 1 / 0, 10)           # so does an exception
        assert outcome(lambda: c.execute(q).fetchall())[1] == "interrupted"
        c.set_progress_handler(None, 0)
        calls.clear()
        assert c.execute(q).fetchall() == [(5000,)] and calls == []
        c.close()


def trace_script(m):
    c = m.connect(":memory:")
    out = []
    c.set_trace_callback(out.append)
    c.execute("CREATE TABLE t(x)")
    c.execute("INSERT INTO t VALUES (?)", ("a'b",))
    c.execute("INSERT INTO t VALUES (?), (?), (?)", (1.5, b"\x01\xff", None))
    c.execute("INSERT INTO t VALUES (?2), (?1), (:n)" if False else
              "INSERT INTO t VALUES (?), (-?)", (7, 8))
    c.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
    c.execute("SELECT * FROM t WHERE x = :v OR x = :v", {"v": 3}).fetchall()
    c.commit()
    c.commit()                                   # nothing pending: not traced
    c.executescript("INSERT INTO t VALUES(1); SELECT 1;  -- c\n SELECT 2")
    c.execute("PRAGMA user_version")
    c.execute("  SELECT 3  ;  ")
    c.execute("SAVEPOINT a")
    c.execute("RELEASE a")
    c.rollback()
    c.execute("BEGIN")
    c.rollback()
    c.set_trace_callback(lambda s: 1 / 0)        # errors in the callback are swallowed
    c.execute("SELECT 4")
    c.set_trace_callback(None)
    c.execute("SELECT 5")
    c.close()
    return out


def test_trace_callback_matches_sqlite3():
    assert trace_script(mvlite) == trace_script(sqlite3)
