"""SIGKILL a real writer process at random moments; every acknowledged commit must survive.

The writer (``python -m stress writer``, ``stress/workloads.py``) runs four
threads of transactions under ``synchronous=FULL`` and prints ``C <tag>`` only
after ``commit()`` returned. We kill it with SIGKILL at a random moment, then
judge the files exactly as the kill left them, twice and independently: a
copy through the stdlib ``sqlite3`` (its own WAL recovery; integrity_check
must say ok) and a copy through ``mvcc`` (ours). Both must hold every
acknowledged commit, no half transaction (pairs of rows, transfers, tally),
and agree with each other. The next run reuses the original files untouched,
so each writer starts by recovering the previous kill (appending to the
recovered WAL), and state accumulates; every fifth check recovers the original
itself and closes it cleanly.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from mvcc.database import Database
from stress import workloads

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KILLS = 200 if os.environ.get("MVLITE_SLOW") == "1" else 50


def _copy(src: str, dst: str) -> None:
    for suffix in ("", "-wal", "-journal"):
        if os.path.exists(src + suffix):
            shutil.copyfile(src + suffix, dst + suffix)


def _spawn(path: str, run: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, "-m", "stress", "writer", "--path", path, "--run", str(run),
         "--threads", "4", "--seed", str(run)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _kill_once(path: str, run: int, rng: random.Random) -> set[int]:
    """Start the writer, kill it at a random moment; the tags it acknowledged."""
    proc = _spawn(path, run)
    try:
        first = proc.stdout.readline()
        assert first == b"READY\n", (first, proc.stderr.read())
        early = b""
        if rng.random() < 0.25:  # soon after the open: during the first commits
            time.sleep(rng.uniform(0.0, 0.02))
        else:  # in full flow: after some acknowledged commits
            for _ in range(rng.randint(1, 60)):
                line = proc.stdout.readline()
                early += line
                if not line:
                    break
            time.sleep(rng.uniform(0.0, 0.01))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        out = early + out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, err.decode()[-2000:])
    acked = set()
    for line in out.split(b"\n")[:-1]:  # only complete lines were acknowledged
        assert line.startswith(b"C "), (line, err.decode()[-2000:])
        acked.add(int(line[2:]))
    return acked


def test_sigkill_loses_no_acknowledged_commit(tmp_path):
    path = str(tmp_path / "killed.db")
    workloads.create(path)
    rng = random.Random(20240611)
    acked: set[int] = set()
    runs_with_commits = 0
    recovered_wal = 0
    for run in range(1, KILLS + 1):
        new = _kill_once(path, run, rng)
        runs_with_commits += bool(new)
        acked |= new
        if os.path.exists(path + "-wal"):
            recovered_wal += 1

        # 1. the stdlib sqlite3 on a copy of the files as the kill left them
        lite = str(tmp_path / f"lite{run}.db")
        _copy(path, lite)
        ok, by_sqlite = workloads.read_sqlite(lite)
        assert ok == "ok", f"run {run}: sqlite3 integrity_check: {ok}"
        bad = workloads.check_state(by_sqlite, acked)
        assert not bad, f"run {run} (sqlite3): {bad}"

        # 2. mvcc on another copy: its own WAL recovery must find the same state.
        # Every 5th time on the original itself: recovery then a clean close
        # (full checkpoint, WAL removed), which also keeps the WAL from growing
        # without bound (four always-busy writers starve the WAL restart).
        if run % 5 == 0:
            mine = path
        else:
            mine = str(tmp_path / f"mvcc{run}.db")
            _copy(path, mine)
        db = Database.open(mine)
        try:
            by_mvcc = workloads.read_mvcc(db)
            db._check()
        finally:
            db.close()
        assert by_mvcc == by_sqlite, f"run {run}: mvcc and sqlite3 recover different states"
        if mine == path:
            assert not os.path.exists(path + "-wal")
        for p in (lite, mine) if mine != path else (lite,):
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(p + suffix):
                    os.remove(p + suffix)
    # the test only means something if kills landed while commits were flowing
    assert runs_with_commits >= KILLS // 2, runs_with_commits
    assert len(acked) >= KILLS, len(acked)
    assert recovered_wal >= KILLS // 2, recovered_wal


@pytest.mark.parametrize("threads", [1, 4])
def test_writer_runs_to_completion_cleanly(tmp_path, threads):
    """Without a kill the writer's own numbers add up (guards the workload itself)."""
    path = str(tmp_path / "w.db")
    workloads.create(path)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-m", "stress", "writer", "--path", path, "--run", "1",
                          "--threads", str(threads), "--txns", "25"],
                         cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert res.returncode == 0, res.stderr.decode()
    lines = res.stdout.decode().splitlines()
    assert lines[0] == "READY"
    acked = {int(x[2:]) for x in lines[1:]}
    assert len(acked) == 25 * threads
    ok, tables = workloads.read_sqlite(path)
    assert ok == "ok"
    assert workloads.check_state(tables, acked) == []
    assert len(tables["pairs"]) == 2 * len(acked)
    assert not os.path.exists(path + "-wal")  # a clean close checkpoints and removes it
