"""``mvlite FILE --mcp`` driven by a real MCP client (the SDK's stdio client).

The server runs as a subprocess; ``ClientSession`` lists its tools and calls
each one, including refusals and SQL errors, which must come back as tool
errors (``isError``) with SQLite's message, never as protocol failures or a
dead server. sqlite3 is the oracle for data read from a file it wrote, for
error texts, and for the file's content after the server has exited (mvlite
holds SQLite's lock bytes while the file is open, so the check comes after).
One server per module, plus one short-lived server for the shutdown check.
"""
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.from_thread
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

pytestmark = pytest.mark.timeout(120)

TOOLS = {"open_database", "current_database", "list_tables", "describe_table", "execute_query",
         "insert_data", "update_data", "delete_data", "schema_change"}
MVLITE = str(Path(sys.executable).with_name("mvlite"))
if not os.path.exists(MVLITE):
    MVLITE = shutil.which("mvlite") or MVLITE


def server_argv(db: Path, form: str = "shell") -> list[str]:
    """``mvlite FILE --mcp`` (the console script), or the module's own entry point."""
    if form == "shell":
        return [MVLITE, str(db), "--mcp"]
    return [sys.executable, "-m", "mvlite.mcp_server", str(db)]


class Client:
    """A blocking wrapper over ``ClientSession`` + ``stdio_client`` (one event-loop thread)."""

    def __init__(self, argv: list[str], errlog: Path) -> None:
        self._stack = contextlib.ExitStack()
        self._err = self._stack.enter_context(open(errlog, "w"))
        self.portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        params = StdioServerParameters(command=argv[0], args=argv[1:])
        read, write = self._stack.enter_context(
            self.portal.wrap_async_context_manager(stdio_client(params, errlog=self._err)))
        self.session = self._stack.enter_context(self.portal.wrap_async_context_manager(
            ClientSession(read, write, read_timeout_seconds=60)))
        self.init = self.portal.call(self.session.initialize)

    def tools(self) -> list:
        return self.portal.call(self.session.list_tools).tools

    def call(self, name: str, **args) -> tuple[bool, str]:
        res = self.portal.call(self.session.call_tool, name, args)
        return bool(res.is_error), "".join(c.text for c in res.content)

    def ok(self, name: str, **args):
        err, text = self.call(name, **args)
        assert not err, text
        return json.loads(text)

    def error(self, name: str, **args) -> str:
        err, text = self.call(name, **args)
        assert err, text
        return text

    def close(self) -> None:
        self._stack.close()


SEED_SQL = """
    CREATE TABLE seed(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, raw BLOB);
    CREATE UNIQUE INDEX seed_name ON seed(name);
    INSERT INTO seed VALUES (1, 'ann', 3.5, x'00ff'), (2, 'bob', NULL, NULL),
                            (3, 'cy', -1e999, x'');
"""


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A database written by sqlite3 (what a user would point the server at)."""
    d = tmp_path_factory.mktemp("mcp")
    db = d / "seed.db"
    c = sqlite3.connect(db)
    c.executescript(SEED_SQL)
    c.commit()
    rows = c.execute("SELECT * FROM seed ORDER BY id").fetchall()
    c.close()
    return d, db, rows


@pytest.fixture(scope="module")
def client(seeded):
    d, db, _rows = seeded
    c = Client(server_argv(db), d / "server.err")
    yield c
    c.close()
    err = (d / "server.err").read_text()
    assert "Traceback" not in err, err  # every failure was a tool error, not a crash


def _json(v):
    if isinstance(v, bytes):
        return {"hex": v.hex()}
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return {"real": "Infinity" if v > 0 else "-Infinity"}
    return v


def test_initialize_and_list_tools(client):
    assert client.init.server_info.name == "mvlite"
    tools = {t.name: t for t in client.tools()}
    assert set(tools) == TOOLS
    assert tools["execute_query"].annotations.read_only_hint is True
    assert tools["schema_change"].annotations.destructive_hint is True
    assert tools["insert_data"].input_schema["required"] == ["sql"]
    assert tools["describe_table"].input_schema["required"] == ["table"]
    assert all(t.description for t in tools.values())


def test_reads_what_sqlite_wrote(client, seeded):
    _d, db, rows = seeded
    got = client.ok("execute_query", sql="SELECT * FROM seed ORDER BY id;")
    assert got["columns"] == ["id", "name", "score", "raw"]
    assert got["rows"] == [[_json(v) for v in r] for r in rows]
    assert client.ok("current_database") == {"path": str(db), "in_memory": False,
                                             "size_bytes": os.path.getsize(db), "tables": 1}
    assert {"name": "seed", "type": "table"} in client.ok("list_tables")["tables"]
    d = client.ok("describe_table", table="seed")
    assert [(c["name"], c["type"], c["notnull"], c["pk"]) for c in d["columns"]] == [
        ("id", "INTEGER", 0, 1), ("name", "TEXT", 1, 0), ("score", "REAL", 0, 0),
        ("raw", "BLOB", 0, 0)]
    assert [(i["name"], i["unique"], i["columns"]) for i in d["indexes"]] == [
        ("seed_name", True, ["name"])]


def test_every_write_tool(client):
    assert client.ok("schema_change", sql="CREATE TABLE w(k INTEGER PRIMARY KEY, v TEXT)") == \
        {"ok": True, "statement": "CREATE TABLE"}
    assert client.ok("insert_data", sql="INSERT INTO w(v) VALUES (?), (?)",
                     params=["a", "b"]) == {"changes": 2, "last_insert_rowid": 2}
    assert client.ok("update_data", sql="UPDATE w SET v = :v WHERE k = 2",
                     params={"v": "B"}) == {"changes": 1}
    assert client.ok("insert_data", sql="INSERT INTO w VALUES (10, ?)",
                     params=[{"hex": "cafe"}])["last_insert_rowid"] == 10
    assert client.ok("delete_data", sql="DELETE FROM w WHERE k = 1") == {"changes": 1}
    assert client.ok("execute_query", sql="SELECT k, v FROM w ORDER BY k")["rows"] == \
        [[2, "B"], [10, {"hex": "cafe"}]]
    assert client.ok("schema_change", sql="ALTER TABLE w ADD COLUMN extra")["statement"] == \
        "ALTER TABLE"
    assert client.ok("schema_change", sql="DROP TABLE w")["statement"] == "DROP TABLE"
    assert "w" not in [t["name"] for t in client.ok("list_tables")["tables"]]


@pytest.mark.parametrize("tool,sql,message", [
    ("execute_query", "DELETE FROM seed", "refused: execute_query runs only read-only "
     "statements (SELECT, EXPLAIN, read-only PRAGMA), not DELETE; use delete_data"),
    ("execute_query", "WITH x AS (SELECT 1) INSERT INTO seed(name) SELECT 'z' FROM x",
     "not INSERT; use insert_data"),
    ("insert_data", "DROP TABLE seed", "not DROP TABLE; use schema_change"),
    ("execute_query", "SELECT 1; DROP TABLE seed", "exactly one SQL statement per call"),
    ("update_data", "UPDATE seed SET score = 0; -- ok\nDELETE FROM seed",
     "exactly one SQL statement per call"),
    ("schema_change", "PRAGMA user_version = 9", "no tool runs it"),
])
def test_refusals_are_tool_errors_and_change_nothing(client, seeded, tool, sql, message):
    assert message in client.error(tool, sql=sql)
    _d, _db, rows = seeded
    assert client.ok("execute_query", sql="SELECT * FROM seed ORDER BY id")["rows"] == \
        [[_json(v) for v in r] for r in rows]


@pytest.mark.parametrize("tool,sql", [
    ("execute_query", "SELECT * FROM nope"),
    ("execute_query", "SELEC 1"),
    ("insert_data", "INSERT INTO seed(name) VALUES ('ann')"),
    ("insert_data", "INSERT INTO seed(id) VALUES (9)"),
    ("update_data", "UPDATE seed SET nope = 1"),
    ("schema_change", "CREATE TABLE seed(x)"),
])
def test_sql_errors_carry_sqlites_message(client, tool, sql):
    o = sqlite3.connect(":memory:")
    o.executescript(SEED_SQL)  # the served file's twin (the served one is locked by mvlite)
    with pytest.raises(sqlite3.Error) as oracle:
        o.execute(sql)
    text = client.error(tool, sql=sql)
    assert text.endswith(f"{type(oracle.value).__name__}: {oracle.value}")


def test_bad_arguments_are_tool_errors(client):
    assert "sql" in client.error("execute_query")  # missing argument
    assert "invalid hex" in client.error("insert_data", sql="INSERT INTO seed(name) VALUES (?)",
                                         params=[{"hex": "xyz"}])
    assert "no such table: ghost" in client.error("describe_table", table="ghost")
    assert client.ok("execute_query", sql="SELECT 1")["rows"] == [[1]]  # still serving


def test_open_database_switches_files(client, seeded, tmp_path):
    _d, db, _rows = seeded
    other = tmp_path / "other.db"
    got = client.ok("open_database", path=str(other))
    assert got["created"] is True and got["path"] == str(other) and got["tables"] == 0
    client.ok("schema_change", sql="CREATE TABLE o(x)")
    assert client.ok("list_tables") == {"tables": [{"name": "o", "type": "table"}]}
    assert "is a directory" in client.error("open_database", path=str(tmp_path))
    assert client.ok("current_database")["path"] == str(other)
    # back to the seeded file; the other one is closed and readable by sqlite3
    assert client.ok("open_database", path=str(db))["created"] is False
    assert sqlite3.connect(other).execute("SELECT name FROM sqlite_schema").fetchall() == [("o",)]


def test_file_is_sqlite_readable_after_the_server_exits(tmp_path):
    db = tmp_path / "after.db"
    c = Client(server_argv(db, "module"), tmp_path / "err.txt")  # python -m mvlite.mcp_server
    try:
        c.ok("schema_change", sql="CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB)")
        c.ok("schema_change", sql="CREATE INDEX tb ON t(b)")
        for i in range(20):
            c.ok("insert_data", sql="INSERT INTO t(b, c) VALUES (?, ?)",
                 params=[f"row{i}", {"hex": bytes([i]).hex()}])
        c.ok("update_data", sql="UPDATE t SET b = upper(b) WHERE a % 5 = 0")
        c.ok("delete_data", sql="DELETE FROM t WHERE a > 15")
        c.error("execute_query", sql="DROP TABLE t")
        served = c.ok("execute_query", sql="SELECT a, b, c FROM t ORDER BY a")["rows"]
    finally:
        c.close()
    assert not Path(f"{db}-wal").exists()  # closed cleanly on EOF: checkpointed, WAL removed
    o = sqlite3.connect(db)
    assert o.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    rows = o.execute("SELECT a, b, c FROM t ORDER BY a").fetchall()
    assert [[a, b, {"hex": c.hex()}] for a, b, c in rows] == served
    assert [r[1] for r in rows] == [f"ROW{i}" if (i + 1) % 5 == 0 else f"row{i}"
                                    for i in range(15)]
    assert o.execute("SELECT b FROM t INDEXED BY tb WHERE b = 'row3'").fetchall() == [("row3",)]
    o.close()


def test_unexpected_exceptions_become_tool_errors(capsys):
    from mcp.server.mcpserver.exceptions import ToolError

    from mvlite.mcp_server import DatabaseSession, build_server

    session = DatabaseSession()
    server = build_server(session)

    def boom():
        raise RuntimeError("boom")

    session.list_tables = boom
    with pytest.raises(ToolError, match=": internal error: RuntimeError: boom$"):
        anyio.run(server.call_tool, "list_tables", {})
    assert "Traceback" in capsys.readouterr().err  # logged for a bug report
    res = anyio.run(server.call_tool, "execute_query", {"sql": "SELECT 2"})
    assert json.loads(res.content[0].text)["rows"] == [[2]]
    session.close()


def test_readonly_server_lists_only_the_reading_tools(tmp_path):
    from mvlite.mcp_server import DatabaseSession, build_server

    sqlite3.connect(tmp_path / "r.db").execute("CREATE TABLE t(a)").connection.close()
    session = DatabaseSession(str(tmp_path / "r.db"), readonly=True)
    names = {t.name for t in anyio.run(build_server(session).list_tools)}
    assert names == {"open_database", "current_database", "list_tables", "describe_table",
                     "execute_query"}
    session.close()


def test_main_reports_a_file_it_cannot_serve(tmp_path, capsys):
    from mvlite.mcp_server import main
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database" * 100)
    assert main(str(bad)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"mvlite: cannot open {bad}: ") and "not a database" in err
    assert main(str(tmp_path)) == 1
    assert "is a directory" in capsys.readouterr().err


@pytest.mark.parametrize("form,fake_sdk,hint", [
    ("shell", "raise ImportError('mcp hidden by the test')\n", 'pip install "mvlite[mcp]"'),
    ("module", "raise ImportError('mcp hidden by the test')\n", 'pip install "mvlite[mcp]"'),
    ("shell", "", 'version 2 of the MCP SDK'),  # an SDK without mcp.server.mcpserver
])
def test_without_the_sdk_a_one_line_hint(tmp_path, form, fake_sdk, hint):
    fake = tmp_path / "fake"
    (fake / "mcp").mkdir(parents=True)
    (fake / "mcp" / "__init__.py").write_text(fake_sdk)
    db = tmp_path / "nosdk.db"
    env = dict(os.environ, PYTHONPATH=str(fake))
    out = subprocess.run(server_argv(db, form), capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 1
    lines = (out.stdout + out.stderr).strip().splitlines()
    assert len(lines) == 1 and hint in lines[0] and 'mvlite[mcp]"' in lines[0]
    assert not db.exists()


def test_shell_readonly_flag_reaches_the_server(tmp_path):
    """``mvlite FILE --mcp --readonly``: only the reading tools, and the file is untouched."""
    db = tmp_path / "ro.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t(a)")
    con.execute("INSERT INTO t VALUES (1)")
    con.commit()
    con.close()
    before = db.read_bytes()
    client = Client([MVLITE, str(db), "--mcp", "--readonly"], tmp_path / "err.log")
    try:
        names = {t.name for t in client.tools()}
        assert names == {"open_database", "current_database", "list_tables", "describe_table",
                         "execute_query"}
        assert client.ok("execute_query", sql="SELECT a FROM t")["rows"] == [[1]]
    finally:
        client.close()
    assert db.read_bytes() == before
