"""``python -m stress``: the run and sim commands end to end, and that they can say FAIL.

The subprocess tests run the real command line; the in-process ones plant a
bug (monkeypatch) and check that the command exits non-zero with a useful
message rather than printing a happy summary.
"""
from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys

from mvcc import transaction, version
from storage import btree
from stress import runner
from stress.__main__ import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "stress", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _number(out: str, label: str) -> int:
    m = re.search(rf"^\s*{label}\s+(\d+)", out, re.M)
    assert m, (label, out)
    return int(m.group(1))


def test_run_small_exits_zero_and_prints_the_summary(tmp_path):
    path = str(tmp_path / "s.db")
    res = _cli("run", "--threads", "3", "--txns", "60", "--path", path, "--mix", "0.6",
               "--seed", "7")
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert _number(out, "commits") == 3 * 60  # every transaction retried until it committed
    for word in ("conflicts", "retries", "commits/s", "groups", "fsyncs", "OK:"):
        assert word in out, (word, out)
    # the file it leaves is a valid SQLite database with the run's invariants
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert con.execute("SELECT sum(balance) FROM accounts").fetchone() == (runner.TOTAL,)
    con.close()


def test_run_synchronous_normal_and_off(tmp_path):
    for mode in ("NORMAL", "OFF"):
        res = _cli("run", "--threads", "2", "--txns", "40", "--synchronous", mode.lower(),
                   "--path", str(tmp_path / f"{mode}.db"))
        assert res.returncode == 0, res.stdout + res.stderr
        assert f"synchronous {mode}" in res.stdout
    assert "fsyncs 0" in res.stdout  # OFF never syncs


def test_run_refuses_an_existing_file(tmp_path):
    path = tmp_path / "there.db"
    path.write_bytes(b"precious")
    res = _cli("run", "--threads", "1", "--txns", "1", "--path", str(path))
    assert res.returncode == 2
    assert "exists" in res.stdout
    assert path.read_bytes() == b"precious"


def test_run_reports_a_planted_storage_bug(tmp_path, monkeypatch, capsys):
    """Deletes that never reach the B-tree: the rows come back after close -> exit 1."""
    monkeypatch.setattr(btree, "table_delete", lambda *a, **k: None)
    code = main(["run", "--threads", "3", "--txns", "80", "--path", str(tmp_path / "bug.db"),
                 "--synchronous", "OFF", "--seed", "1"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "FAIL" in out and "phantom" in out and "OK:" not in out


def test_sim_one_seed_verbose():
    res = _cli("sim", "--seed", "3", "-v")
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("  0 seed 3:")
    assert any(" BEGIN " in x for x in lines) and any(" COMMIT " in x for x in lines)
    assert lines[-1].startswith("seed 3: ok")


def test_sim_reports_the_seed_and_the_replay_command(monkeypatch, capsys):
    real = transaction.Transaction._classify

    def no_conflicts(self, cur):
        state = real(self, cur)
        return (cur.end == version.INF, False) if state is None else state

    monkeypatch.setattr(transaction.Transaction, "_classify", no_conflicts)
    code = main(["sim", "--seeds", "100"])
    out = capsys.readouterr().out
    assert code == 1
    m = re.search(r"replay: python -m stress sim --seed (\d+) -v", out)
    assert m, out
    # replaying that seed alone fails the same way
    code = main(["sim", "--seed", m.group(1)])
    assert code == 1
    assert f"seed {m.group(1)}" in capsys.readouterr().out
