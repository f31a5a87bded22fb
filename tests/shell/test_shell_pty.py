"""The interactive shell on a pseudo-terminal, typed the way a person uses it.

One session: banner, create/insert, a multi-line SELECT with the continuation
prompt, ``.mode``, ``.schema``, an error line, Ctrl-C at the prompt, Ctrl-C
during a long query (the shell survives and keeps the data), tab completion,
history written to MVLITE_HISTORY, then ``.quit``; and Ctrl-D exits.
"""
from __future__ import annotations

import os
import sys
import time

import pexpect

PROMPT = "mvlite> "


def _spawn(tmp_path, *args):
    env = dict(os.environ, MVLITE_HISTORY=str(tmp_path / "hist"), TERM="dumb",
               PYTHONIOENCODING="utf-8")
    p = pexpect.spawn(sys.executable, ["-m", "mvlite", *args], env=env, encoding="utf-8",
                      timeout=10, dimensions=(50, 200), cwd=str(tmp_path))
    return p


def test_interactive_session(tmp_path):
    p = _spawn(tmp_path)
    p.expect("transient in-memory database")
    p.expect_exact('.open FILENAME')
    p.expect_exact(PROMPT)
    p.sendline("CREATE TABLE big(x INTEGER, name TEXT);")
    p.expect_exact(PROMPT)
    p.sendline("INSERT INTO big VALUES(1, 'alice');")
    p.expect_exact(PROMPT)
    for i in range(16):  # 65536 rows
        p.sendline(f"INSERT INTO big SELECT x + {1 << i}, name FROM big;")
        p.expect_exact(PROMPT)
    p.sendline("SELECT count(*) AS n,")
    p.expect_exact("   ...> ")
    p.sendline("  max(x) AS top")
    p.expect_exact("   ...> ")
    p.sendline("FROM big;")
    p.expect_exact("\u2502   n   \u2502  top  \u2502")  # pretty (box) is the terminal default
    p.expect_exact("\u2502 65536 \u2502 65536 \u2502")
    p.expect_exact(PROMPT)
    p.sendline(".mode csv")
    p.expect_exact(PROMPT)
    p.sendline("SELECT name, x FROM big WHERE x <= 2;")
    p.expect_exact("alice,1")
    p.expect_exact("alice,2")
    p.expect_exact(PROMPT)
    p.sendline(".schema")
    p.expect_exact("CREATE TABLE big(x INTEGER, name TEXT);")
    p.expect_exact(PROMPT)
    p.sendline("SELEC 1;")
    p.expect_exact('Parse error: near "SELEC": syntax error')
    p.expect_exact(PROMPT)
    # Ctrl-C at the prompt throws away the statement being typed
    p.send("SELECT 'never")
    p.expect_exact("SELECT 'never")  # echoed: readline has the characters
    time.sleep(0.2)
    p.sendintr()
    p.expect_exact(PROMPT)
    p.sendline("SELECT 'fresh';")
    p.expect_exact("fresh")
    p.expect_exact(PROMPT)
    # Ctrl-C during a long query cancels it and the shell stays
    p.sendline("SELECT count(*) FROM big WHERE printf('%.40e', x * 1.1) LIKE '%7777777%'"
               " AND printf('%.40e', x * 1.3) LIKE '%1%';")
    time.sleep(0.8)
    t0 = time.monotonic()
    p.sendintr()
    p.expect_exact("interrupted")
    assert time.monotonic() - t0 < 5
    p.expect_exact(PROMPT)
    p.sendline("SELECT count(*) FROM big;")
    p.expect_exact("65536")
    p.expect_exact(PROMPT)
    # tab completion of a table name
    p.send("SELECT count(*) FROM bi\t")
    time.sleep(0.3)
    p.sendline(";")
    p.expect_exact("65536")
    p.expect_exact(PROMPT)
    p.sendline(".quit")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0
    hist = (tmp_path / "hist").read_text()
    assert "SELECT 'fresh';" in hist and "SELECT count(*) FROM big;" in hist


def test_ctrl_d_exits_history_persists(tmp_path):
    p = _spawn(tmp_path, "-q", str(tmp_path / "f.db"))
    p.expect_exact(PROMPT)
    assert "transient" not in p.before
    p.sendline("CREATE TABLE t(x); INSERT INTO t VALUES(5);")
    p.expect_exact(PROMPT)
    p.sendeof()
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0
    # the history survives: Ctrl-P in a new session recalls the last statement
    p = _spawn(tmp_path, "-q", str(tmp_path / "f.db"))
    p.expect_exact(PROMPT)
    p.sendline("SELECT x * 100 FROM t;")
    p.expect_exact("500")
    p.expect_exact(PROMPT)
    p.sendline(".quit")
    p.expect(pexpect.EOF)
    p.close()
    p = _spawn(tmp_path, "-q", str(tmp_path / "f.db"))
    p.expect_exact(PROMPT)
    p.send("\x10")  # Ctrl-P: previous history line (.quit)
    p.expect_exact(".quit")
    p.send("\x10")  # and the one before
    p.expect_exact("SELECT x * 100 FROM t;")
    p.send("\r")
    p.expect_exact("500")
    p.expect_exact(PROMPT)
    p.sendeof()
    p.expect(pexpect.EOF)
    p.close()
    import sqlite3
    con = sqlite3.connect(tmp_path / "f.db")
    assert con.execute("SELECT x FROM t").fetchall() == [(5,)]
    con.close()
