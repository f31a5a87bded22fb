"""Which MCP tool runs which statement (``mvlite.mcp_server.check_statement``).

The labels of the corpus are checked against stdlib sqlite3 on a read-only
connection: every statement labelled ``execute_query`` runs there, every
statement labelled with a write tool fails with "attempt to write a readonly
database". So the refusal matrix is tied to what SQLite itself considers a
write, not to a string prefix. Hypothesis then checks that statements
smuggled after a ``;`` are always refused, and that separators, comments and
semicolons inside literals or comments are not mistaken for statements.
"""
import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

from mvlite.mcp_server import ToolRefused, check_statement

TOOLS = ("execute_query", "insert_data", "update_data", "delete_data", "schema_change")

SETUP = """
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB);
CREATE TABLE u(x, y);
CREATE INDEX tb ON t(b);
CREATE VIEW v AS SELECT a, b FROM t;
INSERT INTO t VALUES (1, 'one', x'01'), (2, 'two', NULL);
INSERT INTO u VALUES (1, 2);
"""

CORPUS = [
    ("execute_query", "SELECT * FROM t"),
    ("execute_query", "select a from t where b = ';drop table t'"),
    ("execute_query", "SELECT 1; -- trailing comment"),
    ("execute_query", "/* c; */ SELECT count(*) FROM t ;; "),
    ("execute_query", "WITH w AS (SELECT a FROM t) SELECT * FROM w"),
    ("execute_query", "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c "
                      "WHERE n < 3) SELECT n FROM c"),
    ("execute_query", "VALUES (1, 2), (3, 4)"),
    ("execute_query", "SELECT * FROM t WHERE a IN (SELECT x FROM u) ORDER BY a LIMIT 1"),
    ("execute_query", "SELECT * FROM v"),
    ("execute_query", "EXPLAIN QUERY PLAN SELECT * FROM t"),
    ("execute_query", "PRAGMA table_info(t)"),
    ("execute_query", "PRAGMA main.index_list('t')"),
    ("execute_query", "PRAGMA user_version"),
    ("execute_query", "PRAGMA integrity_check"),
    ("insert_data", "INSERT INTO t(b) VALUES ('x')"),
    ("insert_data", "insert into u select a, b from t"),
    ("insert_data", "REPLACE INTO t VALUES (1, 'uno', NULL)"),
    ("insert_data", "INSERT OR IGNORE INTO t DEFAULT VALUES"),
    ("insert_data", "WITH w AS (SELECT 5 AS k) INSERT INTO u SELECT k, k FROM w"),
    ("insert_data", "INSERT INTO t VALUES (1, 'z', NULL) ON CONFLICT(a) DO UPDATE SET b = 'z'"),
    ("update_data", "UPDATE t SET b = upper(b) WHERE a = 1"),
    ("update_data", "WITH w AS (SELECT 1 AS k) UPDATE u SET y = 0 WHERE x IN (SELECT k FROM w)"),
    ("update_data", "UPDATE OR REPLACE t SET a = a + 1"),
    ("delete_data", "DELETE FROM t"),
    ("delete_data", "WITH w AS (SELECT 2 AS k) DELETE FROM t WHERE a IN w"),
    ("schema_change", "CREATE TABLE n(a, b)"),
    ("schema_change", "CREATE UNIQUE INDEX IF NOT EXISTS ub ON u(x)"),
    ("schema_change", "CREATE VIEW w AS SELECT 1"),
    ("schema_change", "CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM u; END"),
    ("schema_change", "ALTER TABLE u ADD COLUMN z"),
    ("schema_change", "ALTER TABLE u RENAME TO u2"),
    ("schema_change", "DROP TABLE u"),
    ("schema_change", "DROP INDEX tb"),
    ("schema_change", "DROP VIEW IF EXISTS v"),
    (None, "PRAGMA user_version = 7"),
    (None, "BEGIN"),
    (None, "VACUUM"),
]


@pytest.fixture(scope="module")
def readonly_sqlite(tmp_path_factory):
    path = tmp_path_factory.mktemp("ro") / "oracle.db"
    c = sqlite3.connect(path)
    c.executescript(SETUP)
    c.close()
    return path


def _accepted_by(sql: str) -> list[str]:
    ok = []
    for tool in TOOLS:
        try:
            check_statement(tool, sql)
        except ToolRefused:
            continue
        ok.append(tool)
    return ok


@pytest.mark.parametrize("tool,sql", CORPUS)
def test_tool_matrix_matches_sqlite_readonly(tool, sql, readonly_sqlite):
    assert _accepted_by(sql) == ([tool] if tool else [])
    c = sqlite3.connect(f"file:{readonly_sqlite}?mode=ro", uri=True, isolation_level=None)
    sql = sql.rstrip().rstrip(";")  # stdlib sqlite3 takes ";;" for a second statement
    try:
        if tool == "execute_query":
            c.execute(sql).fetchall()  # a read: sqlite3 runs it on a read-only database
        elif tool is not None:
            with pytest.raises(sqlite3.OperationalError, match="readonly database"):
                c.execute(sql).fetchall()
    finally:
        c.close()


@pytest.mark.parametrize("tool,sql,words", [
    ("execute_query", "INSERT INTO t VALUES (1)", "not INSERT; use insert_data"),
    ("execute_query", "WITH w AS (SELECT 1) DELETE FROM t", "not DELETE; use delete_data"),
    ("insert_data", "DROP TABLE t", "not DROP TABLE; use schema_change"),
    ("update_data", "SELECT 1", "not SELECT; use execute_query"),
    ("schema_change", "PRAGMA user_version=3", "not PRAGMA user_version; no tool runs it"),
    ("delete_data", "ATTACH 'x.db' AS x", "not ATTACH; no tool runs it"),
])
def test_refusal_names_the_statement_and_the_right_tool(tool, sql, words):
    with pytest.raises(ToolRefused) as e:
        check_statement(tool, sql)
    assert str(e.value).startswith(tool + " runs only ")
    assert str(e.value).endswith(words)


def test_empty_and_comment_only_text_is_refused():
    for sql in ("", "  ", "-- nothing", ";;", "/* x */ ;"):
        with pytest.raises(ToolRefused, match="no SQL statement"):
            check_statement("execute_query", sql)


def test_syntax_errors_are_sqlite_errors():
    with pytest.raises(Exception) as e:
        check_statement("execute_query", "SELEC 1")
    with pytest.raises(sqlite3.OperationalError) as oracle:
        sqlite3.connect(":memory:").execute("SELEC 1")
    assert str(e.value) == str(oracle.value)


_STATEMENTS = [sql for _tool, sql in CORPUS]
_GAP = st.lists(st.sampled_from([" ", "\n", "\t", "-- c;\n", "/* ; */"]), max_size=3).map("".join)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_STATEMENTS), st.sampled_from(_STATEMENTS), _GAP, _GAP,
       st.integers(1, 3))
def test_a_second_statement_is_always_refused(first, second, gap1, gap2, semis):
    first = first.rstrip().rstrip(";").split("--")[0].rstrip().rstrip(";")
    second = second.rstrip().rstrip(";").split("--")[0].rstrip()
    sql = first + gap1 + ";" * semis + gap2 + second
    for tool in TOOLS:
        with pytest.raises(ToolRefused, match="exactly one SQL statement"):
            check_statement(tool, sql)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([(t, s) for t, s in CORPUS if t]), _GAP, _GAP, st.integers(0, 3))
def test_trailing_semicolons_and_comments_are_fine(item, gap1, gap2, semis):
    tool, sql = item
    assert _accepted_by(gap1 + sql + gap1 + ";" * semis + gap2) == [tool]


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="';-/*x\n ", max_size=12))
def test_semicolons_inside_literals_and_names_are_not_separators(text):
    quoted = "'" + text.replace("'", "''") + "'"
    ident = '"' + text.replace('"', '""') + '"'
    assert _accepted_by(f"SELECT {quoted} AS {ident}") == ["execute_query"]
    assert _accepted_by(f"INSERT INTO t(b) VALUES ({quoted})") == ["insert_data"]
