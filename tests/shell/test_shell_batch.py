"""The mvlite shell in batch mode: piped scripts, SQL arguments, dot-commands, errors.

Each test checks stdout, stderr and the exit status (or error count) the way
a script user sees them; the schema listings are compared with the sqlite3
CLI's on the same database file.
"""
from __future__ import annotations

import pytest

import sqlite3

from shell_helpers import run_cli, run_inproc, run_sqlite_cli

SCHEMA = """\
CREATE TABLE t1(a INTEGER PRIMARY KEY AUTOINCREMENT, b TEXT UNIQUE);
CREATE TABLE t2(x, y);
CREATE INDEX t2x ON t2(x);
CREATE TABLE other(z);
CREATE INDEX oz ON other(z);
INSERT INTO t1(b) VALUES('one'), ('two');
CREATE VIEW tv AS SELECT a, b AS bee, a + 1 FROM t1;
CREATE VIEW "odd view"(p, "q r") AS SELECT 1, 2;
"""


def test_pipe_runs_statements_and_reports_errors_with_line_numbers(tmp_path):
    script = "SELECT 1;\nSELEC 2;\nSELECT * FROM nope;\nSELECT abs(-9223372036854775808);\n" \
             "SELECT 3;\nSELECT 4"  # the last one has no ';' and still runs
    out, err, code = run_cli([], script)
    assert out == "1\n3\n4\n"
    assert err.splitlines() == [
        'Parse error near line 2: near "SELEC": syntax error',
        "Parse error near line 3: no such table: nope",
        "Runtime error near line 4: integer overflow",
    ]
    assert code == 1
    out, err, code = run_cli([], "SELECT 1;\n")
    assert (out, err, code) == ("1\n", "", 0)


def test_sql_arguments_stop_at_first_error(tmp_path):
    db = str(tmp_path / "a.db")
    out, err, code = run_cli([db, "CREATE TABLE t(x)", "INSERT INTO t VALUES(7)",
                              "SELECT x FROM t", "SELECT nope FROM t", "SELECT 99"])
    assert out == "7\n" and code == 1
    assert err == "Parse error: no such column: nope\n"
    con = sqlite3.connect(db)  # the file is a real SQLite database
    assert con.execute("SELECT x FROM t").fetchall() == [(7,)]
    con.close()
    out, err, code = run_cli(["-m", "csv", db, ".headers on", "SELECT x, 'a b' AS s FROM t"])
    assert (out, code) == ('x,s\n7,"a b"\n', 0)


def test_multiline_statement_and_trigger_body():
    script = ("CREATE TABLE t(x);\nCREATE TABLE log(y);\n"
              "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  INSERT INTO log VALUES(new.x);\n"
              "  INSERT INTO log VALUES(new.x * 10);\nEND;\n"
              "SELECT 'a;b',\n  -- a comment; with semicolon\n  2\n;\n")
    out, err, n = run_inproc(script)
    assert err == "" and n == 0
    assert out == "a;b|2\n"


@pytest.mark.sqlite3_cli
def test_dot_commands_schema_tables_indexes_match_sqlite3(tmp_path):
    db = str(tmp_path / "s.db")
    con = sqlite3.connect(db)
    con.executescript(SCHEMA)
    con.close()
    for cmd in (".schema", ".schema t%", ".schema t2", ".schema t*", ".schema odd%", ".tables",
                ".tables t%",
                ".indexes", ".indexes t2", ".indexes t%"):
        ours, err, n = run_inproc(cmd + "\n", db)
        theirs, _e, _rc = run_sqlite_cli([db], cmd + "\n")
        assert (ours, err, n) == (theirs, "", 0), cmd


def test_settings_commands_and_show():
    out, err, n = run_inproc(".headers on\n.nullvalue N/A\n.echo on\nSELECT NULL AS v;\n"
                             ".echo off\n.show\n")
    lines = out.splitlines()
    assert lines[:4] == ["SELECT NULL AS v;", "v", "N/A", ".echo off"]
    assert "     headers: on" in lines and '   nullvalue: "N/A"' in lines
    assert "        echo: off" in lines and "    filename: :memory:" in lines
    out, err, n = run_inproc(".headers maybe\n.bogus\n")
    assert err.splitlines() == ['ERROR: Not a boolean value: "maybe". Assuming "no".',
                                'Error: unknown command or invalid arguments:  "bogus". '
                                'Enter ".help" for help']
    assert n == 1


def test_timer_prints_run_time():
    out, err, n = run_inproc(".timer on\nSELECT 5;\n.timer off\nSELECT 6;\n")
    lines = out.splitlines()
    assert lines[0] == "5" and lines[1].startswith("Run Time: real ") and lines[2] == "6"
    assert len(lines) == 3


def test_output_and_once_redirect(tmp_path):
    f1, f2 = tmp_path / "o1.txt", tmp_path / "o2.txt"
    out, err, n = run_inproc(f"SELECT 1;\n.output {f1}\nSELECT 2;\nSELECT 3;\n.output\n"
                             f"SELECT 4;\n.once {f2}\nSELECT 5;\nSELECT 6;\n")
    assert (out, err, n) == ("1\n4\n6\n", "", 0)
    assert f1.read_text() == "2\n3\n" and f2.read_text() == "5\n"


def test_read_runs_a_file_and_counts_errors(tmp_path):
    inc = tmp_path / "inc.sql"
    inc.write_text("CREATE TABLE r(x);\nINSERT INTO r VALUES(1),(2);\nSELEC;\n")
    out, err, n = run_inproc(f".read {inc}\nSELECT sum(x) FROM r;\n.read {tmp_path}/missing\n")
    assert out == "3\n"
    assert err.splitlines()[0] == 'Parse error near line 3: near "SELEC": syntax error'
    assert err.splitlines()[1].startswith('Error: cannot open "') and n == 2


def test_open_databases_and_damaged_file(tmp_path):
    good = tmp_path / "good.db"
    con = sqlite3.connect(good)
    con.executescript("CREATE TABLE g(v); INSERT INTO g VALUES('ok');")
    con.close()
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database file at all" * 200)
    out, err, n = run_inproc(f".open {bad}\nSELECT * FROM g;\n.open {good}\nSELECT v FROM g;\n"
                             ".databases\n")
    assert err.splitlines()[0] == f'Error: unable to open database "{bad}": file is not a database'
    assert all("Traceback" not in ln for ln in err.splitlines())
    assert out.splitlines() == ["ok", f"main: {good} r/w"]
    assert n == 2  # the failed .open, then the query on the database still open
    # a malformed b-tree page is reported as such, and the shell goes on
    data = bytearray(good.read_bytes())
    data[4096:4096 + 16] = b"\xff" * 16
    (tmp_path / "mal.db").write_bytes(data)
    out, err, n = run_inproc("SELECT * FROM g;\nSELECT 'still here';\n", str(tmp_path / "mal.db"))
    assert "database disk image is malformed" in err and out == "still here\n"


def test_readonly_option_refuses_writes(tmp_path):
    db = str(tmp_path / "ro.db")
    run_cli([db, "CREATE TABLE t(x)"])
    out, err, code = run_cli(["--readonly", db, "INSERT INTO t VALUES(1)"])
    assert code == 1 and err == "Runtime error: attempt to write a readonly database\n"
    out, err, code = run_cli(["--readonly", db, ".databases"])
    assert out.endswith(" r/o\n") and code == 0


def test_version_help_and_exit_code():
    out, _err, code = run_cli(["-V"])
    assert out.startswith("mvlite ") and "SQLite 3.40.1" in out and code == 0
    out, _err, code = run_cli(["--help"])
    assert "--output-mode" in out and "--readonly" in out and "--mcp" in out and code == 0
    out, err, code = run_cli([], "SELECT 1;\n.exit 3\nSELECT 2;\n")
    assert (out, code) == ("1\n", 3)
    out, err, code = run_cli(["-e"], "SELECT 8;\n.quit\nSELECT 9;\n")
    assert (out, code) == ("SELECT 8;\n8\n.quit\n", 0)


def test_completion_candidates(tmp_path):
    from mvlite.shell import Shell
    import io
    sh = Shell(None, out=io.StringIO(), err=io.StringIO())
    sh.conn.execute("CREATE TABLE customers(cust_id, cust_name)")
    assert sh.completions("cus", "SELECT * FROM cus") == ["customers", "cust_id", "cust_name"]
    assert sh.completions("cust_", "SELECT cust_") == ["cust_id", "cust_name"]
    assert "select" in sh.completions("sel", "sel") and "SELECT" in sh.completions("SEL", "SEL")
    assert sh.completions(".ta", ".ta") == [".tables"]
    sh.conn.close()


def test_mcp_option_hands_the_file_to_the_mcp_server(monkeypatch, tmp_path):
    import mvlite.mcp_server
    from mvlite.shell import main
    seen = []
    monkeypatch.setattr(mvlite.mcp_server, "main",
                        lambda path, readonly=False: seen.append((path, readonly)) or 0)
    assert main(["--mcp", str(tmp_path / "m.db")]) == 0
    assert main(["--mcp"]) == 0
    assert main(["--mcp", "--readonly", str(tmp_path / "m.db")]) == 0
    assert seen == [(str(tmp_path / "m.db"), False), (None, False),
                    (str(tmp_path / "m.db"), True)]


def test_help_lists_every_dot_command():
    from mvlite.shell import _DOT_COMMANDS
    out, err, n = run_inproc(".help\n")
    for cmd in _DOT_COMMANDS:
        assert ("\n" + cmd + " ") in "\n" + out, cmd
    out, err, n = run_inproc(".print hello 'big world'\n")
    assert out == "hello big world\n"


def test_ctrl_c_stops_a_piped_script(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    script = ["CREATE TABLE big(x);", "INSERT INTO big VALUES(1);"]
    script += [f"INSERT INTO big SELECT x + {1 << i} FROM big;" for i in range(15)]
    script += ["SELECT 'ready';",
               "SELECT count(*) FROM big WHERE printf('%.40e', x * 1.1) LIKE '%7777777%'"
               " AND printf('%.40e', x * 1.3) LIKE '%1%';", "SELECT 'after';"]
    p = subprocess.Popen([sys.executable, "-m", "mvlite"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(("\n".join(script) + "\n").encode())
    p.stdin.close()
    assert p.stdout.readline() == b"ready\n"
    time.sleep(0.3)
    t0 = time.monotonic()
    os.kill(p.pid, signal.SIGINT)
    p.wait(timeout=30)
    out, err = p.stdout.read(), p.stderr.read()
    p.stdout.close()
    p.stderr.close()
    assert time.monotonic() - t0 < 5
    assert out == b"" and p.returncode == 130
    assert err.decode() == "Runtime error near line 19: interrupted\n"
