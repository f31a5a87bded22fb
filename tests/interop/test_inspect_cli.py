"""The inspector (``python -m storage FILE`` / ``mvlite-inspect``) on sqlite3-made files.

Every number it prints is compared with what sqlite3 says about the same file
(PRAGMA page_count/freelist_count/user_version, sqlite_schema root pages,
``count(*)``, dbstat page counts); errors are one line and exit code 1.
"""
from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys

import pytest

from storage import inspect


def _make(path, *, wal=False):
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA page_size=1024")
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("PRAGMA user_version=77")
    con.execute("BEGIN")
    con.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c)")
    con.executemany("INSERT INTO t VALUES (?,?,?)",
                    [(i, f"b{i}" * (i % 50), None if i % 3 else b"\x00\x01") for i in range(1, 801)])
    con.execute("INSERT INTO t VALUES (1000, 'it''s', 2.5)")
    con.execute("CREATE INDEX t_b ON t(b DESC)")
    con.execute("CREATE VIEW v AS SELECT a FROM t")
    con.execute("DELETE FROM t WHERE a BETWEEN 100 AND 400")
    con.execute("COMMIT")
    return con


@pytest.fixture
def dbfile(tmp_path):
    p = tmp_path / "x.db"
    _make(p).close()
    return p


def _run(capsys, *argv):
    code = inspect.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _field(out, label):
    m = re.search(rf"^{re.escape(label)}:\s+(\S+)", out, re.M)
    assert m, f"{label!r} not in output"
    return m.group(1)


def test_report_matches_sqlite(dbfile, capsys):
    code, out, err = _run(capsys, dbfile)
    assert code == 0 and err == ""
    con = sqlite3.connect(dbfile)
    try:
        assert int(_field(out, "page size")) == 1024
        assert int(_field(out, "pages (snapshot)")) == con.execute("PRAGMA page_count").fetchone()[0]
        assert int(_field(out, "freelist page count")) == \
            con.execute("PRAGMA freelist_count").fetchone()[0] > 0
        assert int(_field(out, "user version")) == 77
        assert _field(out, "journal mode") == "rollback"
        for name, root in con.execute("SELECT name, rootpage FROM sqlite_schema WHERE rootpage"):
            line = re.search(rf"^\s+\w+\s+{name}\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$",
                             out, re.M)
            assert line, name
            r, depth, pages, ovfl, cells, rows = map(int, line.groups())
            assert r == root
            npages = con.execute("SELECT count(*) FROM dbstat WHERE name=?", (name,)).fetchone()[0]
            assert pages == npages
            nov = con.execute("SELECT count(*) FROM dbstat WHERE name=? AND pagetype='overflow'",
                              (name,)).fetchone()[0]
            assert ovfl == nov
            assert rows == con.execute("SELECT count(*) FROM t").fetchone()[0]
            assert depth == 1 + max(p.count("/") - 1 for (p,) in con.execute(
                "SELECT path FROM dbstat WHERE name=? AND pagetype!='overflow'", (name,)))
        assert re.search(r"^\s+view\s+v\s+-$", out, re.M)
    finally:
        con.close()


def test_check_and_pages(dbfile, capsys):
    code, out, _ = _run(capsys, dbfile, "--check", "--pages")
    assert code == 0
    assert "integrity check: ok" in out
    n = sqlite3.connect(dbfile).execute("PRAGMA page_count").fetchone()[0]
    assert len(re.findall(r"^\s+\d+\s+(?:table|index|other)", out, re.M)) == n


def test_check_reports_damage_with_exit_1(dbfile, capsys):
    data = bytearray(dbfile.read_bytes())
    data[36:40] = (int.from_bytes(data[36:40], "big") + 1).to_bytes(4, "big")  # freelist count
    dbfile.write_bytes(bytes(data))
    code, out, err = _run(capsys, dbfile, "--check")
    assert code == 1
    assert "Main freelist: size is" in out
    assert "Traceback" not in out + err


def test_dump_prints_every_row(dbfile, capsys):
    code, out, _ = _run(capsys, dbfile, "--dump", "t")
    assert code == 0
    lines = out.split("root page")[-1].splitlines()[1:]
    con = sqlite3.connect(dbfile)
    want = []
    for a, b, c in con.execute("SELECT a, b, c FROM t ORDER BY a"):
        lit = [str(a), "NULL", inspect._sql_literal(b), inspect._sql_literal(c)]  # a is the alias
        want.append("|".join(lit))
    con.close()
    assert lines == want
    assert "1000|NULL|'it''s'|2.5" in lines


def test_dump_index_in_index_order(dbfile, capsys):
    code, out, _ = _run(capsys, dbfile, "--dump", "t_b")
    assert code == 0
    lines = out.split("root page")[-1].splitlines()[1:]
    con = sqlite3.connect(dbfile)
    want = ["|".join(inspect._sql_literal(v) for v in row) for row in
            con.execute("SELECT b, a FROM t INDEXED BY t_b ORDER BY b DESC, a")]
    con.close()
    assert lines == want


def test_wal_state_is_reported(tmp_path, capsys):
    src = tmp_path / "live.db"
    con = _make(src, wal=True)
    copy = tmp_path / "copy.db"
    shutil.copy(src, copy)
    shutil.copy(f"{src}-wal", f"{copy}-wal")
    n_frames = (copy.with_name("copy.db-wal").stat().st_size - 32) // (24 + 1024)
    want_rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    con.close()
    code, out, _ = _run(capsys, copy, "--check")
    assert code == 0
    assert _field(out, "journal mode") == "wal"
    assert re.search(rf"^wal:\s+{n_frames} valid frames, 0 backfilled", out, re.M)
    assert re.search(rf"^\s+table\s+t\s+.*\s{want_rows}$", out, re.M)
    assert "integrity check: ok" in out
    # read-only: the files are untouched
    assert copy.with_name("copy.db-wal").stat().st_size == 32 + n_frames * (24 + 1024)


@pytest.mark.parametrize("content,message", [
    (b"this is not a database, just some text" * 30, "Error: file is not a database"),
    (b"SQLite format 3\x00" + b"\x00\x07" + bytes(2000), "Error: file is not a database"),
])
def test_errors_are_one_line(tmp_path, capsys, content, message):
    p = tmp_path / "bad.db"
    p.write_bytes(content)
    code, out, err = _run(capsys, p, "--check")
    assert code == 1
    assert err.strip() == message
    assert "Traceback" not in out


def test_missing_file_and_unknown_table(tmp_path, dbfile, capsys):
    code, _, err = _run(capsys, tmp_path / "nope.db")
    assert code == 1 and err.startswith("Error: unable to open database file")
    assert not (tmp_path / "nope.db").exists()
    code, _, err = _run(capsys, dbfile, "--dump", "nope")
    assert code == 1 and err.strip() == "Error: no such table: nope"


def test_damaged_file_never_shows_a_traceback(dbfile, capsys):
    data = bytearray(dbfile.read_bytes())
    for pg in range(2, len(data) // 1024 + 1):
        data[(pg - 1) * 1024] = 0x42  # every b-tree page type byte is now invalid
    dbfile.write_bytes(bytes(data))
    code, out, err = _run(capsys, dbfile, "--check", "--dump", "t")
    assert code == 1
    assert err.startswith("Error: ") and len(err.strip().splitlines()) == 1


def test_python_dash_m_storage(dbfile):
    r = subprocess.run([sys.executable, "-m", "storage", str(dbfile), "--check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "integrity check: ok" in r.stdout
    exe = shutil.which("mvlite-inspect")
    assert exe, "the console script mvlite-inspect is not installed (pip install -e .)"
    r = subprocess.run([exe, str(dbfile)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^page size:\s+1024$", r.stdout, re.M)
