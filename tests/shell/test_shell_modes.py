"""Output modes of the mvlite shell, byte-compared with the sqlite3 CLI's (cli.html section 5).

The same script (data with text, integers, reals, NULL, quotes, separators,
non-ASCII and multi-line cells) is piped through both shells in every mode,
with headers on and off and a NULL marker.
"""
from __future__ import annotations

import pytest

from shell_helpers import run_inproc, run_sqlite_cli

SETUP = """\
CREATE TABLE t(a INTEGER, b TEXT, c REAL, d);
INSERT INTO t VALUES(1, 'x''y', 0.1, 'plain');
INSERT INTO t VALUES(2, NULL, 1e300, 'a b, "c"');
INSERT INTO t VALUES(-3, 'caf\u00e9', -2.5, 12);
INSERT INTO t VALUES(40000, '', 100.0, 'pipe|semi;');
INSERT INTO t VALUES(5, 'tab\tin', 3.0e-7, x'414243');
"""
MULTI = "INSERT INTO t VALUES(6, 'line\none', 1.5, 'two\nlines\nhere');\n"
QUERY = "SELECT * FROM t;\nSELECT a AS [long column name], c * 2 AS twice FROM t WHERE a < 3;\n"
EMPTY = "SELECT * FROM t WHERE a > 100000;\n"

MODES = ["list", "csv", "tabs", "json", "line", "markdown", "table", "column", "box", "quote"]


def _compare(script: str) -> None:
    ours, err, n = run_inproc(script)
    theirs, terr, _rc = run_sqlite_cli([":memory:"], script)
    assert err == "" and n == 0, err
    assert ours == theirs


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("headers", ["on", "off"])
@pytest.mark.sqlite3_cli
def test_mode_matches_sqlite3_cli(mode, headers):
    _compare(SETUP + f".mode {mode}\n.headers {headers}\n" + QUERY + EMPTY)


@pytest.mark.parametrize("mode", ["list", "csv", "line", "markdown", "table", "column", "box"])
@pytest.mark.sqlite3_cli
def test_multiline_cells_and_nullvalue(mode):
    _compare(SETUP + MULTI + f".mode {mode}\n.headers on\n.nullvalue NULL\n" + QUERY)


@pytest.mark.sqlite3_cli
def test_separator_and_pretty_is_box():
    _compare(SETUP + ".separator ; ~\nSELECT a, b FROM t;\n")
    box, _e, _n = run_inproc(SETUP + ".mode box\n" + QUERY)
    pretty, _e, _n = run_inproc(SETUP + ".mode pretty\n" + QUERY)
    assert pretty == box and box.startswith("\u250c")


def test_mode_without_argument_and_bad_mode():
    out, err, n = run_inproc(".mode csv\n.mode\n.mode nosuch\n")
    assert out == "current output mode: csv\n"
    assert err.startswith("Error: mode should be one of:") and n == 1
