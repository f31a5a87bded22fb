"""SQLite's schema statements (CREATE, ALTER, DROP), as a mixin of the SQL parser.

Single job: parse.y's ``create_table``/``columnlist``/``ccons``/``tcons``,
``create_view``, ``create_index``, ``create_vtab``, ``create_trigger``,
``alter_table`` and ``drop_*`` rules, written as the methods of
``DdlGrammar``, which ``sql.parser._Parser`` inherits; and the text SQLite
stores for each object in sqlite_schema (``schema_sql``: "CREATE TABLE "
followed by the statement from the name on, as ``sqlite3EndTable`` and
friends build it). The methods use the parser's token cursor, its expression
rules (``sql.parse_expr``) and its SELECT and trigger-body rules through
``self``. Grammar reference: SQLite's ``parse.y`` and "SQL As Understood By
SQLite" (lang_createtable, lang_createindex, lang_createview,
lang_createtrigger, lang_altertable, lang_droptable).
"""
from __future__ import annotations

from sql import ast as A
from sql.parse_expr import _ID_EXTRA, _dequote
from sql.tokenizer import BLOB, EOF, FALLBACK_ID, FLOAT, ID, INTEGER, SEMI, STRING, Token

_RESOLVE = frozenset(("ROLLBACK", "ABORT", "FAIL", "IGNORE", "REPLACE"))
_SPACE = " \t\n\v\f\r"


def _strip_generated(text: str) -> str:
    """sqlite3AddColumn: drop a trailing "GENERATED ALWAYS" from a type name."""
    if len(text) >= 16 and text[-6:].lower() == "always":
        text = text[:-6].rstrip(_SPACE)
        if len(text) >= 9 and text[-9:].lower() == "generated":
            text = text[:-9].rstrip(_SPACE)
    return text


class DdlGrammar:
    """The CREATE/ALTER/DROP rules of ``sql.parser._Parser`` (a mixin: no state of its own)."""

    # -- DROP / ALTER -----------------------------------------------------------

    def _drop(self, base: int) -> A.Statement:
        self._advance()
        kind = self.tok.type
        if kind not in ("TABLE", "INDEX", "VIEW", "TRIGGER"):
            raise self._error()
        self._advance()
        if_exists = False
        if self.tok.type == "IF":
            self._advance()
            self._expect("EXISTS")
            if_exists = True
        schema, name = self._dbnm()
        return A.Drop(kind, name, schema, if_exists)

    def _alter(self, base: int) -> A.Statement:
        self._advance()
        self._expect("TABLE")
        schema, table = self._dbnm()
        t = self.tok.type
        if t == "RENAME":
            self._advance()
            if self.tok.type == "TO":
                self._advance()
                return A.AlterTable(table, "RENAME TABLE", schema, new_name=self._nm())
            if self.tok.type == "COLUMNKW":
                self._advance()
            old = self._nm()
            self._expect("TO")
            return A.AlterTable(table, "RENAME COLUMN", schema, column=old, new_name=self._nm())
        if t == "ADD":
            self._advance()
            if self.tok.type == "COLUMNKW":
                self._advance()
            col = self._column_def(4, alter=True)
            return A.AlterTable(table, "ADD COLUMN", schema, column_def=col)
        if t == "DROP":
            self._advance()
            if self.tok.type == "COLUMNKW":
                self._advance()
            return A.AlterTable(table, "DROP COLUMN", schema, column=self._nm())
        raise self._error()

    # -- CREATE ----------------------------------------------------------------

    def _create(self, base: int) -> A.Statement:
        start = self.tok.pos
        self._advance()
        temp = False
        t = self.tok.type
        if t == "TEMP":
            self._advance()
            temp = True
            t = self.tok.type
            if t not in ("TABLE", "VIEW", "TRIGGER"):
                raise self._error()
        if t == "TABLE":
            return self._create_table(start, temp)
        if t == "VIEW":
            return self._create_view(start, temp)
        if t == "TRIGGER":
            return self._create_trigger(start, temp)
        if t == "UNIQUE" or t == "INDEX":
            return self._create_index(start)
        if t == "VIRTUAL":
            return self._create_vtab(start)
        raise self._error()

    def _if_not_exists(self) -> bool:
        if self.tok.type == "IF":
            self._advance()
            self._expect("NOT")
            self._expect("EXISTS")
            return True
        return False

    def _name_token(self) -> tuple[str | None, str, Token]:
        """``nm [DOT nm]`` -> (schema, name, token of the name part)."""
        t = self.tok
        first = self._nm()
        if self.tok.type == "DOT":
            self._advance()
            t = self.tok
            return first, self._nm(), t
        return None, first, t

    def _lookahead_end(self) -> int:
        """Where SQLite's stored text ends: at the lookahead ';' or the end of input."""
        t = self.tok
        return t.pos if t.type == SEMI else len(self.sql)

    def _create_table(self, start: int, temp: bool) -> A.Statement:
        self._advance()  # TABLE
        ine = self._if_not_exists()
        schema, name, name_tok = self._name_token()
        if self.tok.type == "AS":
            self._advance()
            sel = self._select(2)
            return A.CreateTable(name, schema, temp, ine, as_select=sel,
                                 sql=self.sql[start:self._end_of()], schema_sql=None)
        self._expect("LP")
        columns: list[A.ColumnDef] = []
        constraints: list[A.TableConstraint] = []
        columns.append(self._column_def(3))
        while self.tok.type == "COMMA":
            self._advance()
            if self.tok.type in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"):
                self._table_constraints(constraints)
                break
            columns.append(self._column_def(5))
        rp = self._expect("RP")
        # table_option_set ::= [option] (COMMA option)*   (the first is optional)
        options: list[str] = []
        self._table_option(options)
        while self.tok.type == "COMMA":
            self._advance()
            if not self._table_option(options):
                raise self._error()
        has_options = bool(options)
        without_rowid = "WITHOUT ROWID" in options
        strict = "STRICT" in options
        end = self._lookahead_end() if has_options else rp.end
        return A.CreateTable(name, schema, temp, ine, tuple(columns), tuple(constraints),
                             without_rowid, strict, None, sql=self.sql[start:self._end_of()],
                             schema_sql="CREATE TABLE " + self.sql[name_tok.pos:end])

    def _table_option(self, out: list[str]) -> bool:
        """``WITHOUT ROWID`` or ``STRICT``, compared on the raw token as SQLite does."""
        if self.tok.type == "WITHOUT":
            self._advance()
            opt = self.tok
            self._nm()
            if opt.text.lower() == "rowid":
                out.append("WITHOUT ROWID")
            else:
                out.append("?")
                self._set_error(f"unknown table option: {opt.text}")
            return True
        if self._is_nm():
            opt = self._advance()
            if opt.text.lower() == "strict":
                out.append("STRICT")
            else:
                out.append("?")
                self._set_error(f"unknown table option: {opt.text}")
            return True
        return False

    def _column_def(self, base: int, alter: bool = False) -> A.ColumnDef:
        start = self.tok.pos
        name = self._nm()
        type_text = self._typetoken(base + 1)
        if type_text is not None:
            type_text = _strip_generated(type_text)
            type_name = _dequote(type_text) if type_text else None
        else:
            type_name = None
        cons: list[A.ColumnConstraint] = []
        cname: str | None = None
        while True:
            t = self.tok.type
            if t == "CONSTRAINT":
                self._advance()
                cname = self._nm()
                continue
            c = self._column_constraint(t, cname, cons, base + 1)
            if c is False:
                break
            if c is not None:
                cons.append(c)
        if alter:
            end = self._lookahead_end()
            text = self.sql[start:end].rstrip(_SPACE + ";")
        else:
            text = self.sql[start:self._end_of()]
        return A.ColumnDef(name, type_name, tuple(cons), sql=text)

    def _onconf(self) -> str | None:
        if self.tok.type != "ON":
            return None
        self._advance()
        self._expect("CONFLICT")
        t = self.tok.type
        if t not in _RESOLVE:
            raise self._error()
        self._advance()
        return t

    def _column_constraint(self, t: str, cname: str | None, cons: list, base: int):
        """One ccons; None for the no-op ones, False when there is none."""
        if t == "DEFAULT":
            return self._default(cname, base)
        if t == "NULL":
            self._advance()
            self._onconf()
            return None
        if t == "NOT":
            if self._peek().type == "NULL":
                self._advance()
                self._advance()
                return A.NotNullConstraint(self._onconf(), name=cname)
            self._advance()
            self._expect("DEFERRABLE")
            self._defer(cons, False)
            return None
        if t == "PRIMARY":
            self._advance()
            self._expect("KEY")
            direction = None
            if self.tok.type in ("ASC", "DESC"):
                direction = self._advance().type
            onconf = self._onconf()
            autoinc = self._accept("AUTOINCR")
            return A.PrimaryKeyConstraint(direction, onconf, autoinc, name=cname)
        if t == "UNIQUE":
            self._advance()
            return A.UniqueConstraint(self._onconf(), name=cname)
        if t == "CHECK":
            self._advance()
            self._push(base + 2)
            self._expect("LP")
            e = self._expr(base + 2)
            self._expect("RP")
            return A.CheckConstraint(e, name=cname)
        if t == "REFERENCES":
            return A.ReferencesConstraint(self._references(base), name=cname)
        if t == "DEFERRABLE":
            self._advance()
            self._defer(cons, True)
            return None
        if t == "COLLATE":
            self._advance()
            return A.CollateConstraint(self._ids(), name=cname)
        if t == "GENERATED" or t == "AS":
            if t == "GENERATED":
                self._advance()
                self._expect("ALWAYS")
            self._expect("AS")
            self._expect("LP")
            e = self._expr(base + (4 if t == "GENERATED" else 2))
            self._expect("RP")
            storage = None
            if self.tok.type == ID or self.tok.type in FALLBACK_ID:
                storage = self._advance().text
            return A.GeneratedConstraint(e, storage is not None and storage.lower() == "stored",
                                         storage, name=cname)
        return False

    def _init_deferred(self) -> str | None:
        if self.tok.type != "INITIALLY":
            return None
        self._advance()
        t = self.tok.type
        if t != "DEFERRED" and t != "IMMEDIATE":
            raise self._error()
        return self._advance().type

    def _defer(self, cons: list, deferrable: bool) -> None:
        """A column's [NOT] DEFERRABLE [INITIALLY ..]: applies to its last REFERENCES."""
        init = self._init_deferred()
        for k in range(len(cons) - 1, -1, -1):
            c = cons[k]
            if isinstance(c, A.ReferencesConstraint):
                cl = c.clause
                cons[k] = A.ReferencesConstraint(A.ForeignKeyClause(
                    cl.table, cl.columns, cl.on_delete, cl.on_update, cl.match, deferrable,
                    deferrable and init == "DEFERRED"), name=c.name)
                return

    def _default(self, cname: str | None, base: int) -> A.ColumnConstraint:
        self._advance()  # DEFAULT
        t = self.tok
        tt = t.type
        if tt == "LP":
            self._advance()
            e = self._expr(base + 2)
            rp = self._expect("RP")
            text = self.sql[t.end:rp.pos].strip(_SPACE)
            return A.DefaultConstraint(e, text, name=cname)
        if tt == "PLUS" or tt == "MINUS":
            self._advance()
            term = self._term()
            e = term if tt == "PLUS" else A.Unary("-", term, pos=t.pos)
            return A.DefaultConstraint(e, self.sql[t.pos:self._end_of()], name=cname)
        if tt in (INTEGER, FLOAT, STRING, BLOB, "NULL", "CTIME_KW"):
            return A.DefaultConstraint(self._term(), t.text, name=cname)
        if tt in _ID_EXTRA or tt in FALLBACK_ID:
            self._advance()
            low = t.text.lower()
            if t.text[0] not in "\"'[`" and low in ("true", "false"):
                e: A.Expr = A.Literal(low == "true", "bool", t.text, pos=t.pos)
            else:
                e = A.Literal(_dequote(t.text), "string", t.text, pos=t.pos)
            return A.DefaultConstraint(e, t.text, name=cname)
        raise self._error()

    def _term(self) -> A.Expr:
        """term ::= NULL | FLOAT | BLOB | STRING | INTEGER | CTIME_KW."""
        tt = self.tok.type
        if tt not in (INTEGER, FLOAT, STRING, BLOB, "NULL", "CTIME_KW"):
            raise self._error()
        if tt == STRING:
            t = self._advance()
            return A.Literal(t.text[1:-1].replace("''", "'"), "string", t.text, pos=t.pos)
        return self._primary(0)

    def _references(self, base: int) -> A.ForeignKeyClause:
        self._advance()  # REFERENCES
        table = self._nm()
        cols = self._eidlist() if self.tok.type == "LP" else None
        on_delete = on_update = match = None
        while True:
            t = self.tok.type
            if t == "MATCH":
                self._advance()
                match = self._nm()
            elif t == "ON":
                self._advance()
                which = self.tok.type
                if which not in ("INSERT", "DELETE", "UPDATE"):
                    raise self._error()
                self._advance()
                action = self._refact()
                if which == "DELETE":
                    on_delete = action
                elif which == "UPDATE":
                    on_update = action
            else:
                break
        return A.ForeignKeyClause(table, cols, on_delete, on_update, match)

    def _refact(self) -> str:
        t = self.tok.type
        if t == "SET":
            self._advance()
            t2 = self.tok.type
            if t2 != "NULL" and t2 != "DEFAULT":
                raise self._error()
            self._advance()
            return "SET " + t2
        if t == "CASCADE" or t == "RESTRICT":
            return self._advance().type
        if t == "NO":
            self._advance()
            self._expect("ACTION")
            return "NO ACTION"
        raise self._error()

    def _table_constraints(self, out: list) -> None:
        cname: str | None = None
        b = 4  # stack index below the first table constraint
        while True:
            t = self.tok.type
            if t == "CONSTRAINT":
                self._advance()
                cname = self._nm()
                # a name alone is a (no-op) constraint; more may follow
            elif t == "PRIMARY":
                self._advance()
                self._expect("KEY")
                self._expect("LP")
                cols = self._sortlist(b + 3)
                autoinc = self._accept("AUTOINCR")
                self._expect("RP")
                out.append(A.TablePrimaryKey(cols, self._onconf(), autoinc, name=cname))
            elif t == "UNIQUE":
                self._advance()
                self._expect("LP")
                cols = self._sortlist(b + 2)
                self._expect("RP")
                out.append(A.TableUnique(cols, self._onconf(), name=cname))
            elif t == "CHECK":
                self._advance()
                self._push(b + 2)
                self._expect("LP")
                e = self._expr(b + 2)
                self._expect("RP")
                out.append(A.TableCheck(e, self._onconf(), name=cname))
            elif t == "FOREIGN":
                self._advance()
                self._expect("KEY")
                cols = self._eidlist()
                if self.tok.type != "REFERENCES":
                    raise self._error()
                clause = self._references(8)
                deferrable = None
                init = None
                if self.tok.type == "NOT":
                    self._advance()
                    self._expect("DEFERRABLE")
                    deferrable = False
                    init = self._init_deferred()
                elif self.tok.type == "DEFERRABLE":
                    self._advance()
                    deferrable = True
                    init = self._init_deferred()
                if deferrable is not None:
                    clause = A.ForeignKeyClause(clause.table, clause.columns, clause.on_delete,
                                                clause.on_update, clause.match, deferrable,
                                                deferrable and init == "DEFERRED")
                out.append(A.TableForeignKey(cols, clause, name=cname))
            else:
                raise self._error()
            b = 6
            if self.tok.type == "COMMA":
                self._advance()
                cname = None
            elif self.tok.type == "RP":
                return

    def _create_view(self, start: int, temp: bool) -> A.Statement:
        self._advance()  # VIEW
        ine = self._if_not_exists()
        schema, name, name_tok = self._name_token()
        cols = self._eidlist() if self.tok.type == "LP" else None
        self._expect("AS")
        sel = self._select(8)
        if self._nvar > 0:
            self._set_error("parameters are not allowed in views")
        end = self._lookahead_end()
        text = self.sql[name_tok.pos:end].rstrip(_SPACE)
        return A.CreateView(name, sel, schema, temp, ine, cols,
                            sql=self.sql[start:self._end_of()], schema_sql="CREATE VIEW " + text)

    def _create_index(self, start: int) -> A.Statement:
        unique = self._accept("UNIQUE")
        self._expect("INDEX")
        ine = self._if_not_exists()
        schema, name, name_tok = self._name_token()
        self._expect("ON")
        table = self._nm()
        self._expect("LP")
        cols = self._sortlist(9)
        self._expect("RP")
        where = None
        if self.tok.type == "WHERE":
            self._advance()
            where = self._expr(12)
        end = self._lookahead_end()
        return A.CreateIndex(name, table, cols, schema, unique, ine, where,
                             sql=self.sql[start:self._end_of()],
                             schema_sql=("CREATE UNIQUE INDEX " if unique else "CREATE INDEX ")
                             + self.sql[name_tok.pos:end])

    def _create_vtab(self, start: int) -> A.Statement:
        self._advance()  # VIRTUAL
        self._expect("TABLE")
        ine = self._if_not_exists()
        schema, name, name_tok = self._name_token()
        self._expect("USING")
        module = self._nm()
        args: tuple[str, ...] | None = None
        if self.tok.type == "LP":
            self._advance()
            out: list[str] = []
            depth = 0
            arg_start = arg_end = -1
            while True:
                t = self.tok
                tt = t.type
                if tt == EOF:
                    raise self._error()
                if depth == 0 and (tt == "COMMA" or tt == "RP"):
                    if arg_start >= 0:
                        out.append(self.sql[arg_start:arg_end])
                    arg_start = arg_end = -1
                    if tt == "RP":
                        self._advance()
                        break
                    self._advance()
                    continue
                if tt == "LP":
                    depth += 1
                elif tt == "RP":
                    depth -= 1
                if arg_start < 0:
                    arg_start = t.pos
                arg_end = t.end
                self._advance()
            args = tuple(out)
        return A.CreateVirtualTable(name, module, schema, ine, args,
                                    sql=self.sql[start:self._end_of()],
                                    schema_sql="CREATE VIRTUAL TABLE "
                                    + self.sql[name_tok.pos:self._end_of()])

    def _create_trigger(self, start: int, temp: bool) -> A.Statement:
        self._advance()  # TRIGGER
        ine = self._if_not_exists()
        schema, name, name_tok = self._name_token()
        timing = None
        t = self.tok.type
        if t == "BEFORE" or t == "AFTER":
            timing = self._advance().type
        elif t == "INSTEAD":
            self._advance()
            self._expect("OF")
            timing = "INSTEAD OF"
        t = self.tok.type
        if t not in ("DELETE", "INSERT", "UPDATE"):
            raise self._error()
        event = self._advance().type
        update_cols = None
        if event == "UPDATE" and self.tok.type == "OF":
            self._advance()
            names = [self._nm()]
            while self.tok.type == "COMMA":
                self._advance()
                names.append(self._nm())
            update_cols = tuple(names)
        self._expect("ON")
        tschema, table = self._dbnm()
        for_each_row = False
        if self.tok.type == "FOR":
            self._advance()
            self._expect("EACH")
            self._expect("ROW")
            for_each_row = True
        when = None
        if self.tok.type == "WHEN":
            self._advance()
            when = self._expr(12)
        self._expect("BEGIN")
        body: list[A.Statement] = []
        self._trigger = True
        try:
            while True:
                body.append(self._trigger_cmd(4 if not body else 5))
                self._expect(SEMI)
                if self.tok.type == "END":
                    break
        finally:
            self._trigger = False
        end_tok = self._advance()
        return A.CreateTrigger(name, event, table, tuple(body), schema, tschema, temp, ine,
                               timing, update_cols, for_each_row, when,
                               sql=self.sql[start:end_tok.end],
                               schema_sql="CREATE TRIGGER " + self.sql[name_tok.pos:end_tok.end])
