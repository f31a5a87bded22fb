"""``.import FILE TABLE``: CSV with quotes, separators and embedded newlines.

Compared with the sqlite3 CLI importing the same file: the created table's
schema, the rows (typeof and value), and the warnings for short/long records.
"""
from __future__ import annotations

import pytest

import sqlite3

from shell_helpers import run_inproc, run_sqlite_cli

CSV = ('name,"note, with comma",n\r\n'
       'alice,"she said ""hi""",1\r\n'
       '"bob","two\nlines",2\r\n'
       'carol,,3\r\n'
       '"d\u00e9sir\u00e9e","x",\r\n')


def _rows(path, table):
    con = sqlite3.connect(path)
    try:
        return con.execute(f'SELECT *, typeof(n) FROM "{table}" ORDER BY rowid').fetchall(), \
            con.execute("SELECT sql FROM sqlite_schema WHERE name = ?", (table,)).fetchall()
    finally:
        con.close()


@pytest.mark.sqlite3_cli
def test_import_creates_table_like_sqlite3(tmp_path):
    f = tmp_path / "people.csv"
    f.write_bytes(CSV.encode())
    ours_db, theirs_db = str(tmp_path / "o.db"), str(tmp_path / "s.db")
    out, err, n = run_inproc(f".import {f} people\nSELECT count(*) FROM people;\n", ours_db)
    assert (out, err, n) == ("4\n", "", 0)
    run_sqlite_cli([theirs_db, f".import --csv {f} people"])
    assert _rows(ours_db, "people") == _rows(theirs_db, "people")
    rows, _schema = _rows(ours_db, "people")
    assert rows[0] == ("alice", 'she said "hi"', "1", "text")
    assert rows[1][1] == "two\nlines"


@pytest.mark.sqlite3_cli
def test_import_into_existing_table_applies_affinity_and_warns(tmp_path):
    f = tmp_path / "nums.csv"
    f.write_text("1,one\n2\n3,three,extra\n")
    script = f"CREATE TABLE nums(n INTEGER, w TEXT);\n.import --csv {f} nums\n"
    ours_db, theirs_db = str(tmp_path / "o.db"), str(tmp_path / "s.db")
    out, err, n = run_inproc(script, ours_db)
    _o, terr, _rc = run_sqlite_cli([theirs_db], script)
    assert err == terr.replace(str(f), str(f))
    assert err.splitlines() == [
        f"{f}:2: expected 2 columns but found 1 - filling the rest with NULL",
        f"{f}:3: expected 2 columns but found 3 - extras ignored"]
    q = "SELECT n, typeof(n), w FROM nums ORDER BY rowid"
    a, b = sqlite3.connect(ours_db), sqlite3.connect(theirs_db)
    assert a.execute(q).fetchall() == b.execute(q).fetchall() == [
        (1, "integer", "one"), (2, "integer", None), (3, "integer", "three")]
    out, err, n = run_inproc(script + f".import --skip 2 --csv {f} nums\n"
                             "SELECT count(*) FROM nums;\n", str(tmp_path / "skip.db"))
    assert out == "4\n" and err.count("extras ignored") == 2


def test_import_errors():
    out, err, n = run_inproc(".import /nonexistent/file.csv t\n.import onlyone\n")
    assert err.splitlines()[0] == 'Error: cannot open "/nonexistent/file.csv"'
    assert "missing FILE or TABLE" in err and n == 2
