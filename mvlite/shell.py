"""The ``mvlite`` command-line shell: SQL and dot-commands against one database.

Single job: read SQL and dot-commands (from the arguments, a terminal with
line editing, or a pipe), run them through the public ``mvlite.connect()``
API and print the results. It follows the sqlite3 command-line shell
(https://sqlite.org/cli.html) in its input rules (a statement ends at a
``;`` that ``sqlite3_complete`` accepts, dot-commands only at the start of a
statement, incomplete SQL at end of input is still run), its dot-commands
and its error lines (``Parse error: ...``, ``Runtime error: ...``, with
``near line N`` in batch mode). Output formats are in
``mvlite.shell_output``, ``.dump`` in ``mvlite.shell_dump``; the user's
manual, with options and exit statuses, is ``docs/shell.md``.

Exit status: 0 on success; 1 when a statement from the arguments fails
(the rest are not run), when any statement of a piped script or ``.read``
failed (the others still run), or when the database cannot be opened;
``.exit N`` exits with N.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import signal
import sys
import threading
import time
from typing import Any, Iterable, TextIO

import mvlite
from mvlite.shell_dump import dump, like_match, quote_ident
from mvlite.shell_output import MODES, OutputSettings, render
from sql.tokenizer import KEYWORDS, complete_statement

__all__ = ["Shell", "main", "build_parser"]

PROMPT = "mvlite> "
CONTINUE_PROMPT = "   ...> "

#: messages SQLite reports when preparing a statement (sqlite3 calls these parse errors)
_PREPARE_PREFIXES = (
    "near ", "unrecognized token", "incomplete input", "no such table", "no such column",
    "no such function", "no such index", "no such view", "no such collation",
    "ambiguous column", "wrong number of arguments", "misuse of aggregate",
    "table ", "index ", "view ", "trigger ", "unknown database", "no tables specified",
    "sub-select returns", "too many", "misuse of", "default value of column",
    "duplicate column", "parser stack overflow", "variable number",
    "1st ORDER BY", "ORDER BY term", "GROUP BY term", "a GROUP BY clause",
    "SELECTs to the left", "aggregate functions are not allowed",
    "row value misused", "unknown function", "unsupported", "object name reserved",
)

_HELP = """\
.databases               List names and files of attached databases
.dump ?PATTERN? ...      Render database content as SQL (objects matching LIKE PATTERN)
.echo on|off             Turn command echo on or off
.exit ?CODE?             Exit this program with return-code CODE
.headers on|off          Turn display of headers on or off
.help                    Show this message
.import FILE TABLE       Import CSV data from FILE into TABLE (--skip N)
.indexes ?TABLE?         Show names of indexes (of tables matching TABLE)
.mode MODE               Set output mode: box column csv json line list markdown
                         pretty quote table tabs
.nullvalue STRING        Use STRING in place of NULL values
.once FILE               Output for the next command only to FILE
.open ?--readonly? ?FILE?  Close existing database and reopen FILE
                         (no FILE: a new transient in-memory database)
.output ?FILE?           Send output to FILE or stdout if FILE is omitted
.print STRING...         Print literal STRING
.quit                    Exit this program
.read FILE               Read input from FILE
.schema ?PATTERN?        Show the CREATE statements matching PATTERN
.separator COL ?ROW?     Change the column and row separators
.show                    Show the current values for various settings
.tables ?TABLE?          List names of tables matching LIKE pattern TABLE
.timer on|off            Turn SQL timer on or off
"""

_DOT_COMMANDS = (".databases", ".dump", ".echo", ".exit", ".headers", ".help", ".import",
                 ".indexes", ".mode", ".nullvalue", ".once", ".open", ".output", ".print",
                 ".quit", ".read", ".schema", ".separator", ".show", ".tables", ".timer")


class _ScriptInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a statement of a script: the rest of the script is skipped."""


class _Exit(Exception):
    """Raised by ``.quit``/``.exit`` to leave every input loop."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("mvlite")
    except Exception:  # not installed as a distribution
        return "0.1.0"


def _bool_arg(s: str, err: TextIO) -> bool:
    low = s.lower()
    if low in ("on", "yes", "true", "1"):
        return True
    if low in ("off", "no", "false", "0"):
        return False
    err.write(f'ERROR: Not a boolean value: "{s}". Assuming "no".\n')
    return False


def _dot_args(line: str) -> list[str]:
    """Split a dot-command into words: whitespace separated, '...' and "..." quoted."""
    args: list[str] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            break
        q = line[i]
        if q in "'\"":
            j = i + 1
            buf = []
            while j < n and line[j] != q:
                if q == '"' and line[j] == "\\" and j + 1 < n:
                    j += 1
                    buf.append({"n": "\n", "t": "\t", "r": "\r"}.get(line[j], line[j]))
                else:
                    buf.append(line[j])
                j += 1
            args.append("".join(buf))
            i = j + 1
        else:
            j = i
            while j < n and not line[j].isspace():
                j += 1
            args.append(line[i:j])
            i = j
    return args


def _columns_list(names: list[str], out: TextIO) -> None:
    """Names laid out in columns, column-major, as sqlite3's .tables does."""
    if not names:
        return
    width = max(len(x) for x in names)
    ncol = max(1, 80 // (width + 2))
    nrow = (len(names) + ncol - 1) // ncol
    for i in range(nrow):
        parts = []
        for j in range(i, len(names), nrow):
            parts.append(("  " if parts else "") + names[j].ljust(width))
        out.write("".join(parts) + "\n")


class Shell:
    """One shell session: a connection, output settings and the input loops."""

    def __init__(self, path: str | None = None, *, readonly: bool = False, echo: bool = False,
                 mode: str | None = None, out: TextIO | None = None,
                 err: TextIO | None = None, interactive: bool = False) -> None:
        self.stdout = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.out = self.stdout
        self._once = False
        self.interactive = interactive
        self.settings = OutputSettings()
        if mode is None:
            mode = "pretty" if self.stdout.isatty() else "list"
        self.settings.set_mode(mode, from_dot=False)
        self.echo = echo
        self.timer = False
        self.conn: Any = None
        self.path = ":memory:"
        self.readonly = readonly
        self._running = False
        self._sigints = 0
        self._seen_interrupt = False
        self._run_id = 0
        if not self.open(path, readonly=readonly) and path:
            self.open(None)  # stay usable: a transient database until .open works

    # -- the database ------------------------------------------------------------

    def open(self, path: str | None, readonly: bool = False) -> bool:
        """Open ``path`` (None: a transient in-memory database), closing the current one."""
        target = path if path else ":memory:"
        try:
            kwargs: dict[str, Any] = {"isolation_level": None, "check_same_thread": False}
            if readonly and target != ":memory:":
                kwargs["readonly"] = True
            conn = mvlite.connect(target, **kwargs)
        except mvlite.Error as e:
            self.err.write(f'Error: unable to open database "{target}": {e}\n')
            return False
        except OSError as e:
            self.err.write(f'Error: unable to open database "{target}": {e.strerror or e}\n')
            return False
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
        self.conn = conn
        self.path = target
        self.readonly = readonly
        try:
            self.schema_rows()
        except mvlite.Error as e:  # say at once that the file is damaged
            self.err.write(f"Error: {e}\n")
        return True

    def schema_rows(self) -> list[tuple]:
        """sqlite_schema as (type, name, tbl_name, rootpage, sql) rows, in rowid order."""
        try:
            return [tuple(r) for r in self.conn.execute(
                "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema").fetchall()]
        except mvlite.OperationalError as e:
            if "no such table" not in str(e):
                raise
        # the SQL layer cannot read sqlite_schema yet: read its B-tree directly
        conn = self.conn
        txn = conn._live_txn()
        own = txn is None
        if own:
            txn = conn._db.begin("deferred")
        try:
            return [tuple(rec[:5]) for _rowid, rec in txn.rows(conn._db.table(1))]
        finally:
            if own:
                txn.rollback()

    def table_rows(self, name: str) -> tuple[list, list]:
        cur = self.conn.execute("SELECT * FROM " + quote_ident(name))
        return [d[0] for d in cur.description or ()], cur.fetchall()

    def table_names(self) -> list[str]:
        return sorted(r[1] for r in self.schema_rows() if r[0] in ("table", "view"))

    def column_names(self, table: str) -> list[str]:
        try:
            cur = self.conn.execute("SELECT * FROM " + quote_ident(table) + " LIMIT 0")
            return [d[0] for d in cur.description or ()]
        except Exception:
            return []

    # -- errors ------------------------------------------------------------------

    def _report(self, e: BaseException, lineno: int | None) -> None:
        where = f" near line {lineno}" if lineno is not None else ""
        if isinstance(e, KeyboardInterrupt):
            self.err.write(f"Runtime error{where}: interrupted\n")
            return
        msg = str(e) or type(e).__name__
        if isinstance(e, mvlite.Error):
            cls = type(e).__name__
            if cls in ("SqlSyntaxError", "ParseError") or (
                    isinstance(e, mvlite.OperationalError) and msg.startswith(_PREPARE_PREFIXES)):
                kind = "Parse error"
            elif cls in ("NotADatabaseError", "CorruptError") or (
                    isinstance(e, mvlite.DatabaseError) and type(e) is mvlite.DatabaseError):
                kind = "Error"
            else:
                kind = "Runtime error"
        elif isinstance(e, (OverflowError, ValueError, TypeError)) and not isinstance(
                e, UnicodeError):
            kind = "Runtime error"
        else:
            kind = "Internal error"
            msg = f"{type(e).__name__}: {msg}"
        self.err.write(f"{kind}{where}: {msg.splitlines()[0] if msg else msg}\n")

    # -- running SQL ---------------------------------------------------------------

    def _on_sigint(self, signum: int, frame: Any) -> None:
        """Ctrl-C while a statement runs: ask the connection to stop it.

        A second Ctrl-C (or the first, when it is not honoured within a
        second) raises KeyboardInterrupt in the statement itself.
        """
        self._sigints += 1
        self._seen_interrupt = True
        interrupt = getattr(self.conn, "interrupt", None)
        if self._sigints == 1 and interrupt is not None:
            try:
                interrupt()
            except Exception:
                raise KeyboardInterrupt from None
            run = self._run_id

            def escalate() -> None:
                if self._running and self._run_id == run:
                    import _thread
                    _thread.interrupt_main()
            timer = threading.Timer(1.0, escalate)
            timer.daemon = True
            timer.start()
            return
        raise KeyboardInterrupt

    def run_statement(self, text: str, lineno: int | None) -> bool:
        """Run one SQL statement and print its rows; False (after reporting) on error."""
        main = threading.current_thread() is threading.main_thread()
        old = None
        self._sigints = 0
        self._seen_interrupt = False
        self._run_id += 1
        t0 = time.perf_counter()
        c0 = os.times()
        try:
            if main:
                old = signal.signal(signal.SIGINT, self._on_sigint)
            self._running = True
            try:
                cur = self.conn.execute(text)
                cols = [d[0] for d in cur.description] if cur.description else None
                rows = cur.fetchall() if cols is not None else []
            finally:
                self._running = False
                if main:
                    signal.signal(signal.SIGINT, old)
            if cols is not None:
                render(cols, rows, self.settings, self.out)
                self.out.flush()
        except BrokenPipeError:
            raise
        except (Exception, KeyboardInterrupt) as e:
            self.out.flush()
            self._report(e, lineno)
            return False
        finally:
            if self.timer:
                c1 = os.times()
                self.out.write("Run Time: real %.3f user %f sys %f\n" % (
                    time.perf_counter() - t0, c1.user - c0.user, c1.system - c0.system))
        return True

    def run_sql(self, chunk: str, lineno: int | None) -> bool:
        """Run every statement of ``chunk``; stop at the first error (as sqlite3 does)."""
        from sql.parser import split_statements
        if self.echo:
            self.out.write(chunk + "\n")
        for st in split_statements(chunk):
            ln = None if lineno is None else lineno + chunk.count("\n", 0, st.start)
            if not self.run_statement(st.text, ln):
                return False
        return True

    # -- input loops -----------------------------------------------------------------

    def _after_command(self) -> None:
        if self._once:
            self._once = False
            self._reset_output()

    def feed_lines(self, lines: Iterable[str], batch: bool = True) -> int:
        """Run a script given as lines (a pipe, ``.read``); returns the number of errors."""
        errors = 0
        buf: list[str] = []
        start = 0
        lineno = 0
        for raw in lines:
            lineno += 1
            line = raw.rstrip("\n").rstrip("\r") if raw.endswith("\n") else raw
            if not buf:
                s = line.lstrip()
                if not s or s.startswith("#"):
                    continue
                if s.startswith("."):
                    if self.echo:
                        self.out.write(line + "\n")
                    if not self.run_dot(s, lineno if batch else None):
                        errors += 1
                    continue
                start = lineno
            buf.append(line)
            text = "\n".join(buf)
            if ";" in line and complete_statement(text):
                buf = []
                if not self.run_sql(text, start if batch else None):
                    errors += 1
                self._after_command()
                if self._seen_interrupt:  # as sqlite3: Ctrl-C ends a script
                    raise _ScriptInterrupted()
        if buf and "\n".join(buf).strip():
            if not self.run_sql("\n".join(buf), start if batch else None):
                errors += 1
            self._after_command()
        return errors

    def interact(self) -> None:
        """The read-eval-print loop on a terminal, with line editing and history."""
        self._setup_readline()
        buf: list[str] = []
        try:
            while True:
                try:
                    line = input(CONTINUE_PROMPT if buf else PROMPT)
                except KeyboardInterrupt:  # Ctrl-C at the prompt clears the statement
                    sys.stdout.write("\n")
                    buf = []
                    continue
                except EOFError:
                    sys.stdout.write("\n")
                    break
                try:
                    if not buf:
                        s = line.strip()
                        if not s or s.startswith("#"):
                            continue
                        if s.startswith("."):
                            if self.echo:
                                self.out.write(line + "\n")
                            self.run_dot(s, None)
                            continue
                    buf.append(line)
                    text = "\n".join(buf)
                    if ";" in line and complete_statement(text):
                        buf = []
                        self.run_sql(text, None)
                        self._after_command()
                except KeyboardInterrupt:  # between two statements of a line
                    self.err.write("Runtime error: interrupted\n")
                    buf = []
        finally:
            self._save_history()

    # -- readline --------------------------------------------------------------------

    def _history_path(self) -> str:
        return os.environ.get("MVLITE_HISTORY") or os.path.join(
            os.path.expanduser("~"), ".mvlite_history")

    def _setup_readline(self) -> None:
        try:
            import readline
        except ImportError:  # no line editing on this platform
            self._readline = None
            return
        self._readline = readline
        try:
            readline.read_history_file(self._history_path())
        except (OSError, ValueError):
            pass
        readline.set_history_length(1000)
        readline.set_completer(self._complete)
        readline.set_completer_delims(" \t\n;,()=<>+-*/|'\".")
        if "libedit" in (readline.__doc__ or ""):
            readline.parse_and_bind("bind ^I rl_complete")
        else:
            readline.parse_and_bind("tab: complete")

    def _save_history(self) -> None:
        rl = getattr(self, "_readline", None)
        if rl is None:
            return
        try:
            rl.write_history_file(self._history_path())
        except OSError:
            pass

    def completions(self, text: str, line: str) -> list[str]:
        """Candidates for ``text`` (the word under the cursor) given the whole ``line``."""
        if line.lstrip().startswith(".") and line.lstrip() == text:
            return [c for c in _DOT_COMMANDS if c.startswith(text)]
        low = text.lower()
        out: list[str] = []
        try:
            names = self.table_names()
        except Exception:
            names = []
        seen = set()
        for n in names:
            if n.lower().startswith(low) and n not in seen:
                seen.add(n)
                out.append(n)
        for n in names:
            for c in self.column_names(n):
                if c.lower().startswith(low) and c not in seen:
                    seen.add(c)
                    out.append(c)
        upper = text[:1].isupper() or not text
        for k in sorted(KEYWORDS):
            if k.lower().startswith(low):
                cand = k if upper else k.lower()
                if cand not in seen:
                    seen.add(cand)
                    out.append(cand)
        return out

    def _complete(self, text: str, state: int) -> str | None:
        try:
            if state == 0:
                line = self._readline.get_line_buffer() if self._readline else text
                self._matches = self.completions(text, line)
            return self._matches[state] if state < len(self._matches) else None
        except Exception:
            return None

    # -- dot-commands ------------------------------------------------------------------

    def _reset_output(self) -> None:
        if self.out is not self.stdout:
            try:
                self.out.close()
            except OSError:
                pass
        self.out = self.stdout

    def run_dot(self, line: str, lineno: int | None) -> bool:
        """Run one dot-command; False after reporting an error. ``.quit`` raises _Exit."""
        args = _dot_args(line[1:])
        if not args:
            return True
        cmd, rest = args[0].lower(), args[1:]
        handler = getattr(self, "_dot_" + cmd, None)
        if handler is None:
            self.err.write(f'Error: unknown command or invalid arguments:  "{args[0]}". '
                           f'Enter ".help" for help\n')
            return False
        was_once = self._once
        try:
            ok = handler(rest, lineno)
        except (_Exit, BrokenPipeError):
            raise
        except _ScriptInterrupted:  # already reported by the statement
            ok = False
        except (Exception, KeyboardInterrupt) as e:
            self._report(e, lineno)
            ok = False
        self.out.flush()
        if was_once:
            self._after_command()
        return ok is not False

    def _dot_help(self, args: list[str], lineno: Any) -> bool:
        self.out.write(_HELP)
        return True

    def _dot_quit(self, args: list[str], lineno: Any) -> bool:
        raise _Exit(0)

    def _dot_exit(self, args: list[str], lineno: Any) -> bool:
        try:
            code = int(args[0]) if args else 0
        except ValueError:
            code = 0
        raise _Exit(code)

    def _dot_open(self, args: list[str], lineno: Any) -> bool:
        readonly = False
        path = None
        for a in args:
            if a in ("--readonly", "-readonly"):
                readonly = True
            elif a.startswith("-") and a not in ("--new", "-new"):
                self.err.write(f'Error: unknown option: {a}\n')
                return False
            elif not a.startswith("-"):
                path = a
        return self.open(path, readonly=readonly)

    def _dot_mode(self, args: list[str], lineno: Any) -> bool:
        if not args:
            self.out.write(f"current output mode: {self.settings.mode}\n")
            return True
        m = args[0].lower()
        if m not in MODES:
            self.err.write("Error: mode should be one of: " + " ".join(sorted(MODES)) + "\n")
            return False
        self.settings.set_mode(m)
        return True

    def _dot_headers(self, args: list[str], lineno: Any) -> bool:
        if len(args) != 1:
            self.err.write("Usage: .headers on|off\n")
            return False
        self.settings.headers = _bool_arg(args[0], self.err)
        return True

    _dot_header = _dot_headers

    def _dot_nullvalue(self, args: list[str], lineno: Any) -> bool:
        if len(args) != 1:
            self.err.write("Usage: .nullvalue STRING\n")
            return False
        self.settings.nullvalue = args[0]
        return True

    def _dot_separator(self, args: list[str], lineno: Any) -> bool:
        if not 1 <= len(args) <= 2:
            self.err.write("Usage: .separator COL ?ROW?\n")
            return False
        self.settings.colsep = args[0]
        if len(args) == 2:
            self.settings.rowsep = args[1]
        return True

    def _dot_echo(self, args: list[str], lineno: Any) -> bool:
        if len(args) != 1:
            self.err.write("Usage: .echo on|off\n")
            return False
        self.echo = _bool_arg(args[0], self.err)
        return True

    def _dot_timer(self, args: list[str], lineno: Any) -> bool:
        if len(args) != 1:
            self.err.write("Usage: .timer on|off\n")
            return False
        self.timer = _bool_arg(args[0], self.err)
        return True

    def _dot_print(self, args: list[str], lineno: Any) -> bool:
        self.out.write(" ".join(args) + "\n")
        return True

    def _dot_show(self, args: list[str], lineno: Any) -> bool:
        st = self.settings

        def esc(s: str) -> str:
            return '"' + s.replace("\\", "\\\\").replace("\n", "\\n").replace(
                "\r", "\\r").replace("\t", "\\t").replace('"', '\\"') + '"'
        out_name = "stdout" if self.out is self.stdout else getattr(self.out, "name", "?")
        for k, v in (("echo", "on" if self.echo else "off"),
                     ("headers", "on" if st.headers else "off"), ("mode", st.mode),
                     ("nullvalue", esc(st.nullvalue)), ("output", out_name),
                     ("colseparator", esc(st.colsep)), ("rowseparator", esc(st.rowsep)),
                     ("timer", "on" if self.timer else "off"), ("filename", self.path),
                     ("readonly", "on" if self.readonly else "off")):
            self.out.write("%12.12s: %s\n" % (k, v))
        return True

    def _dot_databases(self, args: list[str], lineno: Any) -> bool:
        name = '""' if self.path == ":memory:" else os.path.abspath(self.path)
        self.out.write(f"main: {name} {'r/o' if self.readonly else 'r/w'}\n")
        return True

    def _dot_output(self, args: list[str], lineno: Any, once: bool = False) -> bool:
        self._reset_output()
        self._once = False
        if not args or args[0] in ("stdout", "-"):
            if once:
                self.err.write("Usage: .once FILE\n")
                return False
            return True
        try:
            self.out = open(args[0], "w", encoding="utf-8", errors="replace", newline="")
        except OSError:
            self.err.write(f'Error: cannot open "{args[0]}"\n')
            return False
        self._once = once
        return True

    def _dot_once(self, args: list[str], lineno: Any) -> bool:
        return self._dot_output(args, lineno, once=True)

    def _dot_schema(self, args: list[str], lineno: Any) -> bool:
        pat = args[0] if args else None
        from sql.like import glob
        for typ, name, tbl, _root, sql in self.schema_rows():
            if sql is None:
                continue
            if pat is not None:
                if any(c in pat for c in "*?["):
                    ok = glob(pat, tbl) or glob(pat, name)
                else:
                    ok = like_match(pat, tbl) or like_match(pat, name)
                if not ok:
                    continue
            if typ == "view":  # sqlite3 notes a view's columns in a comment
                cols = self.column_names(name)
                if cols:
                    sql += "\n/* %s(%s) */" % (quote_ident(name),
                                               ",".join(quote_ident(c) for c in cols))
            self.out.write(sql + ";\n")
        return True

    def _dot_tables(self, args: list[str], lineno: Any) -> bool:
        pat = args[0] if args else None
        names = [r[1] for r in self.schema_rows() if r[0] in ("table", "view")
                 and not r[1].lower().startswith("sqlite_")
                 and (pat is None or like_match(pat, r[1]))]
        _columns_list(sorted(names), self.out)
        return True

    def _dot_indexes(self, args: list[str], lineno: Any) -> bool:
        pat = args[0] if args else None
        names = [r[1] for r in self.schema_rows() if r[0] == "index"
                 and (pat is None or like_match(pat, r[2]))]
        _columns_list(sorted(names), self.out)
        return True

    _dot_indices = _dot_indexes

    def _dot_dump(self, args: list[str], lineno: Any) -> bool:
        dump(self.schema_rows(), self.table_rows, self.out.write,
             [a for a in args if not a.startswith("-")] or None)
        return True

    def _dot_read(self, args: list[str], lineno: Any) -> bool:
        if len(args) != 1:
            self.err.write("Usage: .read FILE\n")
            return False
        try:
            with open(args[0], encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except OSError:
            self.err.write(f'Error: cannot open "{args[0]}"\n')
            return False
        return self.feed_lines(io.StringIO(text), batch=True) == 0

    def _dot_import(self, args: list[str], lineno: Any) -> bool:
        skip = 0
        files: list[str] = []
        i = 0
        while i < len(args):
            a = args[i]
            if a in ("--skip", "-skip") and i + 1 < len(args):
                try:
                    skip = int(args[i + 1])
                except ValueError:
                    self.err.write(f"Error: invalid --skip value: {args[i + 1]}\n")
                    return False
                i += 2
                continue
            if a.startswith("-") and len(a) > 1:
                if a not in ("--csv", "-csv", "-v"):
                    self.err.write(f'ERROR: unknown option: "{a}".  Usage:\n'
                                   ".import FILE TABLE       Import data from FILE into TABLE\n")
                    return False
            else:
                files.append(a)
            i += 1
        if len(files) != 2:
            self.err.write("ERROR: missing FILE or TABLE argument. Usage:\n"
                           ".import FILE TABLE       Import data from FILE into TABLE\n")
            return False
        fname, table = files
        try:
            with open(fname, encoding="utf-8", errors="surrogateescape", newline="") as f:
                records = list(csv.reader(f, delimiter=self.settings.colsep
                                          if self.settings.mode == "tabs" else ","))
        except OSError:
            self.err.write(f'Error: cannot open "{fname}"\n')
            return False
        except csv.Error as e:
            self.err.write(f"Error: {fname}: {e}\n")
            return False
        records = records[skip:]
        conn = self.conn
        exists = any(r[0] == "table" and r[1].lower() == table.lower()
                     for r in self.schema_rows())
        start_line = skip + 1
        if exists:
            ncol = len(self.column_names(table))
        else:
            if not records:
                self.err.write(f"Error: empty file: {fname}\n")
                return False
            header = records.pop(0)
            start_line += 1
            cols = ", ".join('"' + h.replace('"', '""') + '" TEXT' for h in header)
            conn.execute(f'CREATE TABLE IF NOT EXISTS "{table.replace(chr(34), chr(34) * 2)}"'
                         f"(\n{cols})")
            ncol = len(header)
        sql = "INSERT INTO " + quote_ident(table) + " VALUES(" + ",".join("?" * ncol) + ")"
        rows = []
        for k, rec in enumerate(records):
            if len(rec) != ncol:
                where = f"{fname}:{start_line + k}"
                if len(rec) < ncol:
                    self.err.write(f"{where}: expected {ncol} columns but found {len(rec)}"
                                   f" - filling the rest with NULL\n")
                    rec = rec + [None] * (ncol - len(rec))
                else:
                    self.err.write(f"{where}: expected {ncol} columns but found {len(rec)}"
                                   f" - extras ignored\n")
                    rec = rec[:ncol]
            rows.append(rec)
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN")
        try:
            conn.executemany(sql, rows)
        except BaseException:
            if own:
                conn.execute("ROLLBACK")
            raise
        if own:
            conn.execute("COMMIT")
        return True


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``mvlite [options] [FILE] [SQL ...]``."""
    p = argparse.ArgumentParser(
        prog="mvlite",
        description="The mvlite SQL shell: an SQLite-compatible database in pure Python. "
                    "Without FILE the database is a transient in-memory one. SQL arguments "
                    "are run in order and the shell exits; otherwise statements are read "
                    "from the terminal or, in batch mode, from standard input.",
        epilog="Manual: docs/shell.md. Exit status: 0 on success, 1 after an error.")
    p.add_argument("file", nargs="?", metavar="FILE", help="database file (default: in memory)")
    p.add_argument("sql", nargs="*", metavar="SQL", help="statements or dot-commands to run")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the banner")
    p.add_argument("-e", "--echo", action="store_true", help="print each command before running it")
    p.add_argument("--readonly", action="store_true", help="open the database read-only")
    p.add_argument("-m", "--output-mode", choices=MODES, metavar="MODE",
                   help="output mode: " + ", ".join(MODES))
    p.add_argument("-V", "--version", action="version",
                   version=f"mvlite {_version()} (SQLite {mvlite.sqlite_version} compatible)")
    p.add_argument("--mcp", action="store_true",
                   help="serve the database over the Model Context Protocol (stdio)")
    return p


def _banner(sh: Shell, out: TextIO) -> None:
    out.write(f"mvlite {_version()} (SQLite {mvlite.sqlite_version} compatible)\n"
              'Enter ".help" for usage hints.\n')
    if sh.path == ":memory:":
        out.write("Connected to a transient in-memory database.\n"
                  'Use ".open FILENAME" to reopen on a persistent database.\n')


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mvlite`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.mcp:
        try:
            from mvlite import mcp_server
        except ImportError as e:
            sys.stderr.write(f"Error: the MCP server is not available: {e}\n")
            return 1
        return mcp_server.main(args.file, readonly=args.readonly) or 0
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")  # type: ignore[attr-defined]
        except (AttributeError, ValueError):
            pass
    interactive = not args.sql and sys.stdin.isatty()
    sh = Shell(None, echo=args.echo, mode=args.output_mode, interactive=interactive)
    if args.file and not sh.open(args.file, readonly=args.readonly) and not interactive:
        return 1
    code = 0
    try:
        if args.sql:
            for item in args.sql:
                s = item.strip()
                if s.startswith("."):
                    if sh.echo:
                        sh.out.write(s + "\n")
                    ok = sh.run_dot(s, None)
                else:
                    ok = sh.run_sql(item, None)
                    sh._after_command()
                if not ok:
                    code = 1
                    break
        elif interactive:
            if not args.quiet:
                _banner(sh, sys.stdout)
            sh.interact()
        else:
            if sh.feed_lines(sys.stdin):
                code = 1
    except _Exit as e:
        code = e.code
    except KeyboardInterrupt:  # Ctrl-C while a script was being read
        code = 130
    except BrokenPipeError:  # the reader went away (mvlite ... | head)
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        code = 1
    finally:
        sh._reset_output()
        try:
            sh.conn.close()
        except Exception:
            pass
    return code


if __name__ == "__main__":
    sys.exit(main())
