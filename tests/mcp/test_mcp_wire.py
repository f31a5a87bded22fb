"""``mvlite FILE --mcp`` on the wire: raw JSON-RPC 2.0 lines, no SDK client.

What a non-Python MCP client (Claude Desktop, an editor) sends and reads:
newline-delimited JSON-RPC messages on stdin/stdout, camelCase fields
(``protocolVersion``, ``isError``), a refusal as an ``isError: true``
result, a garbage line that does not kill the server, and a clean exit
(status 0) when stdin closes.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

MVLITE = str(Path(sys.executable).with_name("mvlite"))


class Wire:
    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)

    def send(self, obj) -> None:
        self.p.stdin.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
        self.p.stdin.flush()

    def recv(self) -> dict:
        line = self.p.stdout.readline()
        assert line, self.p.stderr.read()
        return json.loads(line)

    def request(self, id_, method, params=None) -> dict:
        msg = {"jsonrpc": "2.0", "id": id_, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        while True:
            r = self.recv()
            if r.get("id") == id_:
                return r


def test_raw_json_rpc_session(tmp_path):
    w = Wire([MVLITE, str(tmp_path / "wire.db"), "--mcp"])
    try:
        init = w.request(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                           "clientInfo": {"name": "raw", "version": "0"}})
        assert init["jsonrpc"] == "2.0"
        assert init["result"]["protocolVersion"] == "2025-06-18"
        assert init["result"]["serverInfo"]["name"] == "mvlite"
        assert "tools" in init["result"]["capabilities"]
        w.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

        tools = w.request(2, "tools/list")["result"]["tools"]
        assert len(tools) == 9
        eq = next(t for t in tools if t["name"] == "execute_query")
        assert eq["inputSchema"]["required"] == ["sql"]
        assert eq["annotations"]["readOnlyHint"] is True

        def call(id_, name, args):
            return w.request(id_, "tools/call", {"name": name, "arguments": args})["result"]

        made = call(3, "schema_change", {"sql": "CREATE TABLE t(a)"})
        assert made["isError"] is False
        assert json.loads(made["content"][0]["text"]) == {"ok": True, "statement": "CREATE TABLE"}
        refused = call(4, "execute_query", {"sql": "DELETE FROM t"})
        assert refused["isError"] is True
        assert "not DELETE; use delete_data" in refused["content"][0]["text"]
        w.send("this is not json")  # a broken line must not end the session
        got = call(5, "execute_query", {"sql": "SELECT count(*) AS n FROM t"})
        assert got["isError"] is False
        assert json.loads(got["content"][0]["text"])["rows"] == [[0]]
        assert call(6, "no_such_tool", {})["isError"] is True
    finally:
        w.p.stdin.close()
        code = w.p.wait(timeout=30)
        w.p.stdout.close()
        w.p.stderr.close()
    assert code == 0
