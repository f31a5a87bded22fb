"""Helpers for the shell tests: run a script in-process, through the CLI, or sqlite3's CLI."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys

from mvlite.shell import Shell

SQLITE3_CLI = shutil.which("sqlite3") or "/usr/bin/sqlite3"


def run_inproc(script: str, path: str | None = None, mode: str | None = None):
    """Feed ``script`` to a Shell as a pipe would; (stdout, stderr, error count)."""
    out, err = io.StringIO(), io.StringIO()
    sh = Shell(path, out=out, err=err, mode=mode)
    try:
        n = sh.feed_lines(io.StringIO(script))
    finally:
        sh._reset_output()
        sh.conn.close()
    return out.getvalue(), err.getvalue(), n


def run_cli(args: list[str], stdin: str = "", cwd: str | None = None):
    """The installed ``mvlite`` program (as ``python -m mvlite``)."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    p = subprocess.run([sys.executable, "-m", "mvlite", *args], input=stdin.encode(),
                       capture_output=True, cwd=cwd, env=env, timeout=60)
    return p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"), p.returncode


def run_sqlite_cli(args: list[str], stdin: str = "", cwd: str | None = None):
    """The sqlite3 command-line shell, the oracle for output formats."""
    p = subprocess.run([SQLITE3_CLI, *args], input=stdin.encode(), capture_output=True,
                       cwd=cwd, timeout=60)
    return p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"), p.returncode
