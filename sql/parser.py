"""SQLite's SQL grammar as a hand-written recursive-descent parser.

Single job: turn SQL text into ``sql.ast`` statements, accepting exactly what
SQLite 3.40 accepts and failing the way it fails. The grammar is SQLite's
``parse.y`` (a Lemon LALR(1) grammar; readable form in "SQL As Understood By
SQLite": lang_select, lang_expr, lang_createtable, ...); this module follows
it rule by rule, with these points of fidelity (shared by ``parse_expr`` and
``parse_ddl``):

- Non-reserved keywords (``sql.tokenizer.FALLBACK_ID``) are identifiers
  wherever the grammar has no use for the keyword itself, as Lemon's
  ``%fallback ID`` does: every place that accepts a name first checks the
  keywords that have a meaning there.
- Operator precedence is parse.y's ``%left/%right`` table, implemented as
  precedence climbing (see ``sql.parse_expr``).
- Errors carry SQLite's messages and the offset of the token they quote:
  ``near "X": syntax error`` at the first token that cannot continue the
  statement, ``incomplete input`` at the end, ``unrecognized token: "X"``
  when a malformed token is reached. Checks that SQLite makes while reducing
  grammar rules (``unknown join type``, ``a JOIN clause is required before
  ON``, ``ORDER BY clause should come after UNION not before``, ``unknown
  table option``, parameter numbers, ...) are raised here with SQLite's
  wording; as in SQLite, a syntax error found at the same lookahead token
  takes precedence over them.
- Limits: SQLite's parser stack holds 100 entries ("parser stack
  overflow": about 94 nested parentheses, 19 nested subqueries) and an
  expression tree may be 1000 deep ("Expression tree is too large (maximum
  depth 1000)"). Both are emulated, so deep nesting fails like SQLite and
  never reaches Python's recursion limit.
- ``BEGIN CONCURRENT`` (SQLite's begin-concurrent branch) is accepted.
  Everything else follows stock SQLite 3.40: aggregate ``ORDER BY`` inside
  function arguments (3.44) and digit separators (3.46) are syntax errors.

Layout: this module holds the public API, the token cursor, statement
dispatch, transaction and utility commands, SELECT (with FROM/joins, WITH)
and INSERT/UPDATE/DELETE (also as trigger bodies). The expression rules are
in ``sql.parse_expr`` and CREATE/ALTER/DROP in ``sql.parse_ddl``, as mixin
classes that ``_Parser`` inherits, so one parser object walks the whole
statement and every rule can call every other through ``self``.

Public surface: ``parse(sql) -> list[Statement]``, ``parse_one(sql)``,
``parse_first(sql, start=0) -> (Statement | None, tail)`` (sqlite3_prepare),
``iter_parse(sql)`` (executescript), ``split_statements(sql)`` (the shell),
``complete_statement`` (re-exported from the tokenizer).
"""
from __future__ import annotations

from typing import Callable, Iterator, NamedTuple

import attrs

from sql import ast as A
from sql.errors import ParseError, SqlSyntaxError
from sql.parse_ddl import _RESOLVE, DdlGrammar
from sql.parse_expr import (  # the limits are re-exported: part of this module's surface
    _IDS_EXTRA, _NM_EXTRA, _SELECT_START, MAX_EXPR_DEPTH, MAX_FUNCTION_ARG, MAX_VARIABLE_NUMBER,
    ExprGrammar, _dequote,
)
from sql.tokenizer import (
    EOF, FALLBACK_ID, FLOAT, ID, ILLEGAL, INTEGER, SEMI, Token, complete_statement, scan,
    tokenize, COMPLETE_TRANS,
)
from storage.errors import ProgrammingError

__all__ = [
    "parse", "parse_one", "parse_first", "iter_parse", "split_statements", "StatementText",
    "complete_statement", "MAX_EXPR_DEPTH", "MAX_VARIABLE_NUMBER",
]

#: SQLITE_MAX_COMPOUND_SELECT
MAX_COMPOUND_SELECT = 500
#: Lemon's YYSTACKDEPTH in SQLite 3.40: pushing stack entry 100 overflows
_STACK_LIMIT = 100

# sqlite3JoinType's keywords: name -> bits (NATURAL, LEFT, OUTER, RIGHT, INNER, CROSS)
_JT_NATURAL, _JT_LEFT, _JT_OUTER, _JT_RIGHT, _JT_INNER, _JT_CROSS, _JT_ERROR = (
    1, 2, 4, 8, 16, 32, 64)
_JOIN_WORDS = {
    "natural": _JT_NATURAL, "left": _JT_LEFT | _JT_OUTER, "outer": _JT_OUTER,
    "right": _JT_RIGHT | _JT_OUTER, "full": _JT_LEFT | _JT_RIGHT | _JT_OUTER,
    "inner": _JT_INNER, "cross": _JT_INNER | _JT_CROSS,
}


class _Parser(ExprGrammar, DdlGrammar):
    """One parse of one SQL text; ``next_statement`` walks its statements.

    State: the token list and cursor, the error a grammar action raised
    while the current lookahead was being processed (raised when that token
    is consumed, dropped if the token is a syntax error, as in SQLite), the
    parameter numbering of the statement being parsed, and expression
    heights for the depth limit.
    """

    def __init__(self, sql: str, start: int = 0) -> None:
        nul = sql.find("\0", start)
        self.sql = sql if nul < 0 else sql[:nul]
        self.toks: list[Token] = tokenize(self.sql, start)
        self.i = 0
        self.tok: Token = self.toks[0]
        self._pending: ParseError | None = None
        self._heights: dict[int, int] = {}
        self._false: set[int] = set()
        self._nvar = 0
        self._var_by_name: dict[str, int] = {}
        self._var_names: dict[int, str] = {}
        self._trigger = False

    # -- token cursor ----------------------------------------------------------

    def _advance(self) -> Token:
        """Consume (shift) the current token and move to the next one."""
        if self._pending is not None:
            err, self._pending = self._pending, None
            raise err
        t = self.tok
        self.i += 1
        self.tok = nt = self.toks[self.i]
        if nt.type == ILLEGAL:
            raise SqlSyntaxError(f'unrecognized token: "{nt.text}"', nt.pos)
        return t

    def _peek(self, k: int = 1) -> Token:
        j = self.i + k
        toks = self.toks
        return toks[j] if j < len(toks) else toks[-1]

    def _error(self) -> SqlSyntaxError:
        """The syntax error at the current token (drops any pending error)."""
        self._pending = None
        t = self.tok
        if t.type == EOF:
            return SqlSyntaxError("incomplete input", -1)
        return SqlSyntaxError(f'near "{t.text}": syntax error', t.pos)

    def _set_error(self, msg: str, offset: int = -1) -> None:
        """A grammar action's error: raised when the lookahead is shifted."""
        cls = SqlSyntaxError if "syntax error" in msg else ParseError
        self._pending = cls(msg, offset)

    def _expect(self, ttype: str) -> Token:
        if self.tok.type != ttype:
            raise self._error()
        return self._advance()

    def _accept(self, ttype: str) -> bool:
        if self.tok.type == ttype:
            self._advance()
            return True
        return False

    def _push(self, depth: int) -> None:
        """Lemon's parser stack: a shift that makes it ``depth`` deep."""
        if depth >= _STACK_LIMIT:
            self._pending = None
            raise ParseError("parser stack overflow")

    # -- token classes ---------------------------------------------------------

    def _is_nm(self, t: Token | None = None) -> bool:
        tt = (t or self.tok).type
        return tt in _NM_EXTRA or tt in FALLBACK_ID

    def _is_ids(self, t: Token | None = None) -> bool:
        tt = (t or self.tok).type
        return tt in _IDS_EXTRA or tt in FALLBACK_ID

    def _nm(self) -> str:
        """nm ::= ID | fallback keyword | INDEXED | JOIN_KW | STRING (dequoted)."""
        if not self._is_nm():
            raise self._error()
        return _dequote(self._advance().text)

    def _ids(self) -> str:
        if not self._is_ids():
            raise self._error()
        return _dequote(self._advance().text)

    def _dbnm(self) -> tuple[str | None, str]:
        """``nm [DOT nm]`` -> (schema, name)."""
        first = self._nm()
        if self.tok.type == "DOT":
            self._advance()
            return first, self._nm()
        return None, first

    # -- statements ------------------------------------------------------------

    def next_statement(self) -> tuple[A.Statement | None, int]:
        """Parse the next statement: (node or None at end, offset past it).

        Like ``sqlite3_prepare``: empty statements (lone ``;``) are skipped,
        the tail is just past the terminating ``;`` (or the end of the text).
        """
        while self.tok.type == SEMI:
            self._advance()
        if self.tok.type == EOF:
            return None, len(self.sql)
        if self.tok.type == ILLEGAL:
            raise SqlSyntaxError(f'unrecognized token: "{self.tok.text}"', self.tok.pos)
        self._heights = {}
        self._false = set()
        self._nvar = 0
        self._var_by_name = {}
        self._var_names = {}
        start = self.tok.pos
        if self.tok.type == "EXPLAIN":
            self._advance()
            qp = False
            if self.tok.type == "QUERY":
                self._advance()
                self._expect("PLAN")
                qp = True
            inner = self._cmd(1)
            stmt: A.Statement = A.Explain(inner, qp, span=(start, inner.span[1]))
        else:
            stmt = self._cmd(0)
        if self._nvar:
            names = self._var_names
            stmt = attrs.evolve(stmt, params=tuple(names.get(k) for k in range(1, self._nvar + 1)))
        t = self.tok
        if t.type == SEMI:
            # shift the ';' but do not look at the next statement's first token
            if self._pending is not None:
                err, self._pending = self._pending, None
                raise err
            self.i += 1
            self.tok = self.toks[self.i]
            return stmt, t.end
        if t.type == EOF:
            if self._pending is not None:
                err, self._pending = self._pending, None
                raise err
            return stmt, len(self.sql)
        raise self._error()

    def _end_of(self) -> int:
        """End offset of the last consumed token."""
        return self.toks[self.i - 1].end if self.i else 0

    def _cmd(self, base: int) -> A.Statement:
        t = self.tok.type
        start = self.tok.pos
        handler = _CMD.get(t)
        if handler is None:
            raise self._error()
        stmt = handler(self, base)
        return _with_span(stmt, (start, self._end_of()))

    # transactions ----------------------------------------------------------------

    def _trans_opt(self) -> None:
        if self.tok.type == "TRANSACTION":
            self._advance()
            if self._is_nm():
                self._advance()

    def _begin(self, base: int) -> A.Statement:
        self._advance()
        mode = None
        t = self.tok
        if t.type in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            mode = self._advance().type
        elif t.type == ID and t.text.upper() == "CONCURRENT":
            self._advance()
            mode = "CONCURRENT"
        self._trans_opt()
        return A.Begin(mode)

    def _commit(self, base: int) -> A.Statement:
        self._advance()
        self._trans_opt()
        return A.Commit()

    def _rollback(self, base: int) -> A.Statement:
        self._advance()
        self._trans_opt()
        if self.tok.type == "TO":
            self._advance()
            if self.tok.type == "SAVEPOINT":
                self._advance()
            return A.Rollback(self._nm())
        return A.Rollback()

    def _savepoint(self, base: int) -> A.Statement:
        self._advance()
        return A.Savepoint(self._nm())

    def _release(self, base: int) -> A.Statement:
        self._advance()
        if self.tok.type == "SAVEPOINT":
            self._advance()
        return A.Release(self._nm())

    # misc commands -----------------------------------------------------------

    def _pragma(self, base: int) -> A.Statement:
        self._advance()
        schema, name = self._dbnm()
        t = self.tok.type
        if t != "EQ" and t != "LP":
            return A.Pragma(name, schema)
        self._advance()
        is_call = t == "LP"
        tt = self.tok.type
        if tt == "MINUS":
            self._advance()
            if self.tok.type not in (INTEGER, FLOAT):
                raise self._error()
            value = "-" + self._advance().text
        elif tt == "PLUS":
            self._advance()
            if self.tok.type not in (INTEGER, FLOAT):
                raise self._error()
            value = self._advance().text
        elif tt in (INTEGER, FLOAT, "ON", "DELETE", "DEFAULT"):
            value = self._advance().text
        elif self._is_nm():
            value = _dequote(self._advance().text)
        else:
            raise self._error()
        if is_call:
            self._expect("RP")
        return A.Pragma(name, schema, value, is_call)

    def _attach(self, base: int) -> A.Statement:
        self._advance()
        if self.tok.type == "DATABASE":
            self._advance()
        f = self._expr(2)
        self._expect("AS")
        name = self._expr(4)
        key = None
        if self.tok.type == "KEY":
            self._advance()
            key = self._expr(6)
        return A.Attach(f, name, key)

    def _detach(self, base: int) -> A.Statement:
        self._advance()
        if self.tok.type == "DATABASE":
            self._advance()
        return A.Detach(self._expr(2))

    def _vacuum(self, base: int) -> A.Statement:
        self._advance()
        schema = None
        if self.tok.type != "INTO" and self._is_nm():
            schema = _dequote(self._advance().text)
        into = None
        if self.tok.type == "INTO":
            self._advance()
            into = self._expr(3)
        return A.Vacuum(schema, into)

    def _analyze_like(self, base: int) -> tuple[str | None, str | None]:
        self._advance()
        if self._is_nm():
            schema, name = self._dbnm()
            if schema is None:
                return name, None
            return name, schema
        return None, None

    def _analyze(self, base: int) -> A.Statement:
        name, schema = self._analyze_like(base)
        return A.Analyze(name, schema)

    def _reindex(self, base: int) -> A.Statement:
        name, schema = self._analyze_like(base)
        return A.Reindex(name, schema)

    # WITH-prefixed statements ------------------------------------------------

    def _with_cmd(self, base: int) -> A.Statement:
        start = self.tok.pos
        with_ = self._with(base)
        t = self.tok.type
        if t in ("SELECT", "VALUES"):
            return self._select(base, with_, start)
        if t == "DELETE":
            return self._delete(base + 1, with_)
        if t == "UPDATE":
            return self._update(base + 1, with_)
        if t in ("INSERT", "REPLACE"):
            return self._insert(base + 1, with_)
        raise self._error()

    def _select_cmd(self, base: int) -> A.Statement:
        return self._select(base)

    # -- SELECT ----------------------------------------------------------------

    def _with(self, base: int) -> A.With:
        self._advance()  # WITH
        recursive = False
        if self.tok.type == "RECURSIVE":
            self._advance()
            recursive = True
        ctes = [self._cte(base + 1 + recursive)]
        while self.tok.type == "COMMA":
            self._advance()
            ctes.append(self._cte(base + 3 + recursive))
        return A.With(tuple(ctes), recursive)

    def _cte(self, base: int) -> A.CTE:
        name = self._nm()
        cols = None
        if self.tok.type == "LP":
            cols = self._eidlist()
        self._expect("AS")
        mat = None
        if self.tok.type == "MATERIALIZED":
            self._advance()
            mat = True
        elif self.tok.type == "NOT":
            self._advance()
            self._expect("MATERIALIZED")
            mat = False
        self._push(base + 4)
        self._expect("LP")
        sel = self._select(base + 4)
        self._expect("RP")
        return A.CTE(name, sel, cols, mat)

    def _eidlist(self) -> tuple[str, ...]:
        """``(nm [COLLATE x] [ASC|DESC], ...)``; COLLATE/ASC/DESC are errors."""
        self._expect("LP")
        names = []
        while True:
            t = self.tok
            name = self._nm()
            bad = False
            if self.tok.type == "COLLATE":
                self._advance()
                self._ids()
                bad = True
            if self.tok.type in ("ASC", "DESC"):
                self._advance()
                bad = True
            if bad:
                self._set_error(f'syntax error after column name "{t.text}"')
            names.append(name)
            if self.tok.type != "COMMA":
                break
            self._advance()
        self._expect("RP")
        return tuple(names)

    def _select(self, base: int, with_: A.With | None = None, start: int = -1) -> A.Select:
        """select ::= [WITH ...] oneselect (op oneselect)* ; ORDER BY/LIMIT on the last.

        ``with_``/``start``: a WITH clause the caller already parsed.
        """
        if start < 0:
            start = self.tok.pos
        b = base
        if with_ is None and self.tok.type == "WITH":
            with_ = self._with(base)
        if with_ is not None:
            b = base + 2
        if self.tok.type not in ("SELECT", "VALUES"):
            raise self._error()
        parts: list[tuple[str | None, A.SelectCore | A.Values, tuple, A.Expr | None,
                          A.Expr | None, int]] = []
        op: str | None = None
        cb = b
        h = 0
        while True:
            core, order, limit, offset, rows, ch = self._oneselect(cb)
            h = max(h, ch)
            parts.append((op, core, order, limit, offset, rows))
            t = self.tok.type
            if t == "UNION":
                self._advance()
                if self.tok.type == "ALL":
                    self._advance()
                    op = "UNION ALL"
                else:
                    op = "UNION"
            elif t == "INTERSECT" or t == "EXCEPT":
                op = self._advance().type
            else:
                break
            cb = b + 2
        self._check_compound(parts)
        first = parts[0]
        last = parts[-1]
        sel = A.Select(first[1], tuple(A.CompoundPart(p[0], p[1]) for p in parts[1:]), with_,
                       last[2], last[3], last[4], span=(start, self._end_of()))
        if h:
            self._heights[id(sel)] = h
        return sel

    def _check_compound(self, parts: list) -> None:
        """parserDoubleLinkSelect: ORDER BY/LIMIT placement, compound size."""
        if len(parts) == 1 and parts[0][5] <= 1:
            return
        # terms as SQLite chains them: a leading multi-row VALUES counts per row
        cnt = 1
        k = len(parts) - 1
        while k > 0:
            cnt += 1
            prior = parts[k - 1]
            if prior[2] or prior[3] is not None:
                self._set_error("%s clause should come after %s not before" % (
                    "ORDER BY" if prior[2] else "LIMIT", parts[k][0]))
                break
            k -= 1
        else:
            cnt += parts[0][5] - 1
        multi_last = len(parts) == 1 and parts[0][5] > 1
        if not multi_last and cnt > MAX_COMPOUND_SELECT:
            self._set_error("too many terms in compound SELECT")

    def _oneselect(self, base: int):
        """One SELECT core or VALUES: (core, order_by, limit, offset, rows, height)."""
        if self.tok.type == "VALUES":
            self._advance()
            rows = []
            h = 0
            first = True
            while True:
                self._push(base + 2 if first else base + 3)
                self._expect("LP")
                row = self._nexprlist(base + 2 if first else base + 3)
                for e in row:
                    h = max(h, self._h(e))
                self._expect("RP")
                rows.append(tuple(row))
                first = False
                if self.tok.type != "COMMA":
                    break
                self._advance()
            return A.Values(tuple(rows)), (), None, None, len(rows), h
        self._expect("SELECT")
        distinct = False
        if self.tok.type == "DISTINCT":
            self._advance()
            distinct = True
        elif self.tok.type == "ALL":
            self._advance()
        self._push(base + 4)
        columns = self._selcollist(base + 4)
        h = 0
        for c in columns:
            if isinstance(c, A.ResultColumn):
                h = max(h, self._h(c.expr))
        from_ = None
        if self.tok.type == "FROM":
            self._advance()
            from_ = self._from(base + 4)
        where = None
        if self.tok.type == "WHERE":
            self._advance()
            where = self._expr(base + 5)
            h = max(h, self._h(where))
        group_by: tuple[A.Expr, ...] = ()
        if self.tok.type == "GROUP":
            self._advance()
            self._expect("BY")
            group_by = tuple(self._nexprlist(base + 7))
            for e in group_by:
                h = max(h, self._h(e))
        having = None
        if self.tok.type == "HAVING":
            self._advance()
            having = self._expr(base + 7)
            h = max(h, self._h(having))
        windows: tuple[A.WindowDef, ...] = ()
        wb = 0
        if self.tok.type == "WINDOW":
            self._advance()
            windows = self._window_clause(base + 8)
            wb = 1
        order: tuple[A.OrderingTerm, ...] = ()
        if self.tok.type == "ORDER":
            self._advance()
            self._expect("BY")
            order = self._sortlist(base + 9 + wb)
            for o in order:
                h = max(h, self._h(o.expr))
        limit = offset = None
        if self.tok.type == "LIMIT":
            limit, offset = self._limit(base + 9 + wb)
            h = max(h, 1 + max(self._h(limit), self._h(offset) if offset is not None else 0))
        self._push(base + 9 + wb)  # the empty from/where/.../limit rules
        core = A.SelectCore(tuple(columns), distinct, from_, where, group_by, having, windows)
        return core, order, limit, offset, 1, h

    def _limit(self, base: int) -> tuple[A.Expr, A.Expr | None]:
        self._advance()  # LIMIT
        first = self._expr(base)
        if self.tok.type == "OFFSET":
            self._advance()
            return first, self._expr(base + 2)
        if self.tok.type == "COMMA":
            self._advance()
            second = self._expr(base + 2)
            return second, first
        return first, None

    def _window_clause(self, base: int) -> tuple[A.WindowDef, ...]:
        defs = []
        while True:
            name = self._nm()
            self._expect("AS")
            self._expect("LP")
            spec = self._window(base + 3)
            self._expect("RP")
            defs.append(A.WindowDef(name, spec))
            if self.tok.type != "COMMA":
                return tuple(defs)
            self._advance()

    def _selcollist(self, base: int) -> list[A.ResultColumn | A.Star]:
        cols: list[A.ResultColumn | A.Star] = []
        while True:
            cols.append(self._result_column(base))
            if self.tok.type != "COMMA":
                return cols
            self._advance()

    def _result_column(self, base: int) -> A.ResultColumn | A.Star:
        t = self.tok
        if t.type == "STAR":
            self._push(base + 1)
            self._advance()
            return A.Star()
        if (self._is_nm() and t.type not in ("CAST", "RAISE", "CTIME_KW")
                and self._peek().type == "DOT" and self._peek(2).type == "STAR"):
            self._advance()
            self._advance()
            self._push(base + 3)
            self._advance()
            return A.Star(_dequote(t.text))
        e = self._expr(base)
        return A.ResultColumn(e, self._as())

    def _as(self) -> str | None:
        """as ::= AS nm | ids | (nothing)."""
        if self.tok.type == "AS":
            self._advance()
            return self._nm()
        if self._is_ids():
            return _dequote(self._advance().text)
        return None

    # FROM --------------------------------------------------------------------

    def _from(self, base: int) -> A.FromClause:
        """FROM seltablist; ``base`` is the stack index of the FROM keyword."""
        items = self._seltablist(base)
        return A.FromClause(items[0][1], tuple(
            A.Join(kind, src, natural, on, using) for kind, src, natural, on, using in items[1:]))

    def _seltablist(self, base: int) -> list[tuple]:
        """A FROM list as [(kind, source, natural, on, using)], first kind None."""
        items: list[tuple] = []
        kind: str | None = None
        natural = False
        while True:
            self._from_item(items, kind, natural, base)
            t = self.tok.type
            if t == "COMMA":
                self._advance()
                kind, natural = "COMMA", False
            elif t == "JOIN":
                self._advance()
                kind, natural = "INNER", False
            elif t == "JOIN_KW":
                kind, natural = self._joinop()
            else:
                return items

    def _joinop(self) -> tuple[str, bool]:
        """JOIN_KW [nm [nm]] JOIN, checked like sqlite3JoinType."""
        words = [self._advance()]
        while self.tok.type != "JOIN" and len(words) < 3:
            if not self._is_nm():
                raise self._error()
            words.append(self._advance())
        self._expect("JOIN")
        jt = 0
        for w in words:
            bits = _JOIN_WORDS.get(w.text.lower())
            if bits is None:
                jt |= _JT_ERROR
                break
            jt |= bits
        if ((jt & (_JT_INNER | _JT_OUTER)) == (_JT_INNER | _JT_OUTER) or jt & _JT_ERROR
                or (jt & (_JT_OUTER | _JT_LEFT | _JT_RIGHT)) == _JT_OUTER):
            self._set_error("unknown join type: " + " ".join(w.text for w in words), words[0].pos)
            return "INNER", False
        natural = bool(jt & _JT_NATURAL)
        if jt & _JT_LEFT and jt & _JT_RIGHT:
            kind = "FULL"
        elif jt & _JT_LEFT:
            kind = "LEFT"
        elif jt & _JT_RIGHT:
            kind = "RIGHT"
        elif jt & _JT_CROSS:
            kind = "CROSS"
        else:
            kind = "INNER"
        return kind, natural

    def _on_using(self, base: int) -> tuple[A.Expr | None, tuple[str, ...] | None]:
        """on_using; ``base`` is the stack index of the ``as`` before it."""
        t = self.tok.type
        if t == "ON":
            self._push(base + 1)
            self._advance()
            return self._expr(base + 1), None
        if t == "USING":
            self._advance()
            self._expect("LP")
            names = [self._nm()]
            while self.tok.type == "COMMA":
                self._advance()
                names.append(self._nm())
            self._expect("RP")
            return None, tuple(names)
        return None, None

    def _append_item(self, items: list, kind: str | None, src, natural: bool,
                     on, using) -> None:
        if not items and (on is not None or using is not None):
            self._set_error("a JOIN clause is required before %s" % ("ON" if on is not None else "USING"))
        items.append((kind, src, natural, on, using))

    def _from_item(self, items: list, kind: str | None, natural: bool, base: int) -> None:
        """One seltablist term; ``base``: stack index below its stl_prefix."""
        self._push(base + 2)
        t = self.tok
        if t.type == "LP":
            self._advance()
            if self.tok.type in _SELECT_START:
                sel = self._select(base + 2)
                self._push(base + 4)
                self._expect("RP")
                alias = self._as()
                on, using = self._on_using(base + 5)
                self._push(base + 6)
                self._append_item(items, kind, A.SubquerySource(sel, alias), natural, on, using)
                return
            inner = self._seltablist(base + 2)
            self._push(base + 4)
            self._expect("RP")
            alias = self._as()
            on, using = self._on_using(base + 5)
            self._push(base + 6)
            if not items and alias is None and on is None and using is None:
                items.extend(inner)  # the parenthesised list is the list
                return
            if len(inner) == 1:
                src = inner[0][1]
                if isinstance(src, A.TableName):
                    src = A.TableName(src.name, src.schema, alias, src.args)
                elif isinstance(src, A.SubquerySource):
                    src = A.SubquerySource(src.select, alias)
                else:
                    src = A.JoinSource(src.from_, alias)
            else:
                src = A.JoinSource(A.FromClause(inner[0][1], tuple(
                    A.Join(k, s, nat, o, u) for k, s, nat, o, u in inner[1:])), alias)
            self._append_item(items, kind, src, natural, on, using)
            return
        if not self._is_nm():
            raise self._error()
        schema, name = self._dbnm()
        if self.tok.type == "LP":
            self._push(base + 4)
            self._advance()
            args = tuple(self._exprlist(base + 4))
            self._push(base + 6)
            self._expect("RP")
            alias = self._as()
            on, using = self._on_using(base + 7)
            self._push(base + 8)
            self._append_item(items, kind, A.TableName(name, schema, alias, args), natural,
                              on, using)
            return
        alias = self._as()
        indexed_by = None
        not_indexed = False
        if self.tok.type == "INDEXED":
            self._advance()
            self._expect("BY")
            indexed_by = self._nm()
        elif self.tok.type == "NOT":
            self._advance()
            self._expect("INDEXED")
            not_indexed = True
        on, using = self._on_using(base + 4 + (indexed_by is not None or not_indexed))
        self._push(base + 5)
        self._append_item(items, kind, A.TableName(name, schema, alias, None, indexed_by,
                                                   not_indexed), natural, on, using)

    # -- INSERT / UPDATE / DELETE ----------------------------------------------

    def _orconf(self) -> str | None:
        if self.tok.type != "OR":
            return None
        self._advance()
        t = self.tok.type
        if t not in _RESOLVE:
            raise self._error()
        self._advance()
        return t

    def _xfullname(self, allow_alias: bool = True) -> A.QualifiedTable:
        schema, name = self._dbnm()
        if self._trigger and schema is not None:
            self._set_error("qualified table names are not allowed on INSERT, UPDATE, "
                            "and DELETE statements within triggers")
        alias = None
        if allow_alias and self.tok.type == "AS":
            self._advance()
            alias = self._nm()
        return A.QualifiedTable(name, schema, alias)

    def _indexed_opt(self, qt: A.QualifiedTable) -> A.QualifiedTable:
        t = self.tok.type
        if t == "INDEXED":
            self._advance()
            self._expect("BY")
            name = self._nm()
            if self._trigger:
                self._set_error("the INDEXED BY clause is not allowed on UPDATE or DELETE "
                                "statements within triggers")
            return A.QualifiedTable(qt.name, qt.schema, qt.alias, name)
        if t == "NOT":
            self._advance()
            self._expect("INDEXED")
            if self._trigger:
                self._set_error("the NOT INDEXED clause is not allowed on UPDATE or DELETE "
                                "statements within triggers")
            return A.QualifiedTable(qt.name, qt.schema, qt.alias, None, True)
        return qt

    def _setlist(self, base: int) -> tuple[A.Assignment, ...]:
        out = []
        b = base
        while True:
            if self.tok.type == "LP":
                self._advance()
                names = [self._nm()]
                while self.tok.type == "COMMA":
                    self._advance()
                    names.append(self._nm())
                self._expect("RP")
                self._expect("EQ")
                out.append(A.Assignment(tuple(names), self._expr(b + 5)))
            else:
                name = self._nm()
                self._expect("EQ")
                out.append(A.Assignment((name,), self._expr(b + 2)))
            if self.tok.type != "COMMA":
                return tuple(out)
            self._advance()
            b = base + 2

    def _returning(self, base: int) -> tuple[A.ResultColumn | A.Star, ...]:
        self._advance()  # RETURNING
        cols = tuple(self._selcollist(base + 4))
        if self._trigger:
            self._set_error("cannot use RETURNING in a trigger")
        return cols

    def _where_ret(self, base: int) -> tuple[A.Expr | None, tuple]:
        where = None
        if self.tok.type == "WHERE":
            self._advance()
            where = self._expr(base + 1)
        returning: tuple = ()
        if self.tok.type == "RETURNING" and not self._trigger:
            returning = self._returning(base + 1)
        return where, returning

    def _order_limit(self, base: int) -> tuple[tuple, A.Expr | None, A.Expr | None]:
        order: tuple[A.OrderingTerm, ...] = ()
        if self.tok.type == "ORDER":
            self._advance()
            self._expect("BY")
            order = self._sortlist(base + 2)
        limit = offset = None
        if self.tok.type == "LIMIT":
            limit, offset = self._limit(base + 2)
        return order, limit, offset

    def _delete(self, base: int, with_: A.With | None = None) -> A.Statement:
        start = self.tok.pos
        self._advance()
        self._expect("FROM")
        qt = self._indexed_opt(self._xfullname(not self._trigger))
        where, returning = self._where_ret(base + 5)
        order: tuple = ()
        limit = offset = None
        if not self._trigger:
            order, limit, offset = self._order_limit(base + 6)
        return A.Delete(qt, where, returning, order, limit, offset, with_,
                        span=(start, self._end_of()))

    def _update(self, base: int, with_: A.With | None = None) -> A.Statement:
        start = self.tok.pos
        self._advance()
        orconf = self._orconf()
        qt = self._indexed_opt(self._xfullname(not self._trigger))
        self._expect("SET")
        assignments = self._setlist(base + 6)
        from_ = None
        if self.tok.type == "FROM":
            self._advance()
            from_ = self._from(base + 8)
        where, returning = self._where_ret(base + 8)
        order: tuple = ()
        limit = offset = None
        if not self._trigger:
            order, limit, offset = self._order_limit(base + 9)
        return A.Update(qt, assignments, orconf, from_, where, returning, order, limit, offset,
                        with_, span=(start, self._end_of()))

    def _insert(self, base: int, with_: A.With | None = None) -> A.Statement:
        start = self.tok.pos
        verb = self._advance().type
        orconf = "REPLACE" if verb == "REPLACE" else self._orconf()
        self._expect("INTO")
        qt = self._xfullname(not self._trigger)
        columns = None
        if self.tok.type == "LP":
            self._advance()
            names = [self._nm()]
            while self.tok.type == "COMMA":
                self._advance()
                names.append(self._nm())
            self._expect("RP")
            columns = tuple(names)
        upserts: list[A.Upsert] = []
        returning: tuple = ()
        if self.tok.type == "DEFAULT" and not self._trigger:
            self._advance()
            self._expect("VALUES")
            if self.tok.type == "RETURNING":
                returning = self._returning(base + 6)
            return A.Insert(qt, None, columns, verb, orconf, (), returning, with_,
                            span=(start, self._end_of()))
        source = self._select(base + 5)
        while self.tok.type == "ON":
            self._advance()
            self._expect("CONFLICT")
            target = None
            target_where = None
            if self.tok.type == "LP":
                self._advance()
                target = self._sortlist(base + 9)
                self._expect("RP")
                if self.tok.type == "WHERE":
                    self._advance()
                    target_where = self._expr(base + 12)
            self._expect("DO")
            if self.tok.type == "NOTHING":
                self._advance()
                upserts.append(A.Upsert(target, target_where))
            else:
                self._expect("UPDATE")
                self._expect("SET")
                sb = base + (15 if target is not None else 11)
                assignments = self._setlist(sb)
                where = None
                if self.tok.type == "WHERE":
                    self._advance()
                    where = self._expr(sb + 3)
                upserts.append(A.Upsert(target, target_where, True, assignments, where))
            if target is None:
                break  # the target-less form must be the last one
        if self.tok.type == "RETURNING":
            returning = self._returning(base + 6)
        return A.Insert(qt, source, columns, verb, orconf, tuple(upserts), returning, with_,
                        span=(start, self._end_of()))

    # -- trigger bodies --------------------------------------------------------

    def _trigger_cmd(self, base: int) -> A.Statement:
        t = self.tok.type
        start = self.tok.pos
        if t == "UPDATE":
            return self._update(base - 2)
        if t == "INSERT" or t == "REPLACE":
            return self._insert(base - 1)
        if t == "DELETE":
            return self._delete(base - 2)
        if t in _SELECT_START:
            sel = self._select(base)
            return _with_span(sel, (start, self._end_of()))
        raise self._error()


def _with_span(stmt: A.Statement, span: tuple[int, int]) -> A.Statement:
    """The statement with its ``span`` set (spans are not part of equality)."""
    if stmt.span == span:
        return stmt
    return attrs.evolve(stmt, span=span)


_CMD: dict[str, Callable[[_Parser, int], A.Statement]] = {
    "BEGIN": _Parser._begin, "COMMIT": _Parser._commit, "END": _Parser._commit,
    "ROLLBACK": _Parser._rollback, "SAVEPOINT": _Parser._savepoint,
    "RELEASE": _Parser._release, "PRAGMA": _Parser._pragma, "ATTACH": _Parser._attach,
    "DETACH": _Parser._detach, "VACUUM": _Parser._vacuum, "ANALYZE": _Parser._analyze,
    "REINDEX": _Parser._reindex, "DROP": _Parser._drop, "ALTER": _Parser._alter,
    "CREATE": _Parser._create, "SELECT": _Parser._select_cmd, "VALUES": _Parser._select_cmd,
    "WITH": _Parser._with_cmd, "DELETE": _Parser._delete, "UPDATE": _Parser._update,
    "INSERT": _Parser._insert, "REPLACE": _Parser._insert,
}


# -- public API ----------------------------------------------------------------

def _guard(fn: Callable, *args):
    """Run a parse step; a RecursionError (never expected) becomes a ParseError."""
    try:
        return fn(*args)
    except RecursionError:
        raise ParseError("parser stack overflow") from None


def iter_parse(sql: str, start: int = 0) -> Iterator[tuple[A.Statement, int]]:
    """Statements of a script one at a time, with the offset just past each.

    Errors are raised when the statement containing them is reached, as
    ``sqlite3_exec``/``executescript`` see them (earlier statements have
    already been yielded). Offsets are into ``sql``.
    """
    p = _guard(_Parser, sql, start)
    while True:
        stmt, tail = _guard(p.next_statement)
        if stmt is None:
            return
        yield stmt, tail


def parse(sql: str) -> list[A.Statement]:
    """Parse a script: every statement, in order (empty statements skipped).

    Raises ``SqlSyntaxError`` / ``ParseError`` (``OperationalError``
    subclasses, with ``.offset``) at the first error.
    """
    return [stmt for stmt, _tail in iter_parse(sql)]


def parse_first(sql: str, start: int = 0) -> tuple[A.Statement | None, int]:
    """The first statement of ``sql[start:]`` and the offset just past it.

    ``sqlite3_prepare`` semantics: ``(None, len(sql))`` when only whitespace,
    comments and semicolons remain; text after the first statement is not
    parsed, so an error there does not affect this call.
    """
    p = _guard(_Parser, sql, start)
    return _guard(p.next_statement)


def parse_one(sql: str) -> A.Statement | None:
    """Parse exactly one statement (a trailing ``;`` and comments are fine).

    Returns None for text with no statement. More than one statement raises
    ``ProgrammingError("You can only execute one statement at a time.")`` as
    stdlib ``sqlite3``'s ``execute`` does.
    """
    stmt, tail = parse_first(sql)
    if stmt is not None:
        for t in scan(sql, tail):
            if t.type not in ("SPACE", "COMMENT", SEMI, EOF):
                raise ProgrammingError("You can only execute one statement at a time.")
    return stmt


class StatementText(NamedTuple):
    """One statement of a script: its text and (start, end) offsets."""

    text: str
    start: int
    end: int


_COMPLETE_CLASS = {"CREATE": 4, "TEMP": 5, "TEMPORARY": 5, "TRIGGER": 6, "END": 7, "EXPLAIN": 3}


def split_statements(sql: str) -> list[StatementText]:
    """Split a script into statement texts without parsing them.

    Lexical, as the sqlite3 shell does it: a statement ends at a ``;``
    outside strings, identifiers and comments, except inside ``CREATE [TEMP]
    TRIGGER ... END`` (``sqlite3_complete``'s state machine). Each text runs
    from the statement's first token to its last, semicolon excluded;
    stretches with no token are left out; an unterminated last statement is
    included as it stands.
    """
    trans = COMPLETE_TRANS
    out: list[StatementText] = []
    state = 1
    start = end = -1
    for t in scan(sql):
        tt = t.type
        if tt == "SPACE" or tt == "COMMENT" or tt == EOF:
            continue
        if tt == SEMI:
            state = trans[state][0]
            if state == 1:
                if start >= 0:
                    out.append(StatementText(sql[start:end], start, end))
                start = end = -1
            else:
                end = t.end
            continue
        cls = 2
        if (tt != ID or t.text[0] not in "\"`[") and t.text.isascii():
            cls = _COMPLETE_CLASS.get(t.text.upper(), 2)
        state = trans[state][cls]
        if start < 0:
            start = t.pos
        end = t.end
    if start >= 0:
        out.append(StatementText(sql[start:end], start, end))
    return out
