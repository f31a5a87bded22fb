"""Unit tests of sql.parser: the tree built for each construct of the grammar.

Each test parses a construct and compares the whole node (or the part that
matters) with the expected tree, so a wrong shape, precedence or field fails.
Error behaviour lives in test_parser_errors.py, the differential runs in
test_parser_corpus.py and test_parser_fuzz.py.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from sql import ast as A
from sql.parser import iter_parse, parse, parse_first, parse_one, split_statements
from storage.errors import OperationalError, ProgrammingError
from test_parser_oracle import sqlite_params


def I(v):  # noqa: E743 - short names keep expected trees readable
    return A.Literal(v, "integer")


def S(v):
    return A.Literal(v, "string")


def C(name, table=None, schema=None):
    return A.ColumnRef(name, table, schema)


def expr(sql: str) -> A.Expr:
    stmt = parse_one("SELECT " + sql)
    return stmt.core.columns[0].expr


def select(sql: str) -> A.Select:
    stmt = parse_one(sql)
    assert isinstance(stmt, A.Select)
    return stmt


# -- literals, names, parameters ----------------------------------------------

def test_literals():
    assert expr("1") == I(1)
    assert expr("0x1F") == I(31)
    assert expr("0xFFFFFFFFFFFFFFFF") == I(-1)
    assert expr("0x8000000000000000") == I(-(1 << 63))
    assert expr("9223372036854775808") == I(9223372036854775808)
    assert expr("1.5e3") == A.Literal(1500.0, "float")
    assert expr(".5") == A.Literal(0.5, "float")
    assert expr("'it''s'") == S("it's")
    assert expr("x'0aFF'") == A.Literal(b"\x0a\xff", "blob")
    assert expr("NULL") == A.Literal(None, "null")
    assert expr("TRUE") == A.Literal(True, "bool")
    assert expr("false") == A.Literal(False, "bool")
    assert expr('"true"') == A.ColumnRef("true", double_quoted=True)
    assert expr("CURRENT_TIMESTAMP") == A.CurrentTime("CURRENT_TIMESTAMP")
    assert expr("current_date") == A.CurrentTime("CURRENT_DATE")
    assert expr("1").text == "1" and expr("0x1F").text == "0x1F"


def test_column_refs_and_quoting():
    assert expr("a") == C("a")
    assert expr("t.a") == C("a", "t")
    assert expr("main.t.a") == C("a", "t", "main")
    assert expr('"a""b"') == A.ColumnRef('a"b', double_quoted=True)
    assert expr("[a b]") == C("a b")
    assert expr("`a``b`") == C("a`b")
    assert expr("'t'.a") == C("a", "t")  # a string is a name before a dot
    assert expr('t."a"') == A.ColumnRef("a", "t", double_quoted=True)
    # non-reserved keywords are names where the grammar has no use for them
    assert expr("key") == C("key")
    assert expr("replace.offset") == C("offset", "replace")
    assert expr("left") == C("left")
    assert expr("indexed") == C("indexed")
    assert expr("rowid") == C("rowid")


def test_positions():
    e = expr("a +  b")
    assert (e.pos, e.left.pos, e.right.pos) == (7, 7, 12)
    stmt = parse_one("  SELECT 1 ;")
    assert stmt.span == (2, 10)


def test_parameters_are_numbered_like_sqlite():
    cols = select("SELECT ?, ?5, :a, @b, ?, :a, $c::d(e), ?2").core.columns
    assert [c.expr for c in cols] == [
        A.Param(1), A.Param(5, "?5"), A.Param(6, ":a"), A.Param(7, "@b"), A.Param(8),
        A.Param(6, ":a"), A.Param(9, "$c::d(e)"), A.Param(2, "?2")]
    # :a takes slot 1; ?1 later shares it
    cols = select("SELECT :a, ?1, :b").core.columns
    assert [c.expr.index for c in cols] == [1, 1, 2]
    # numbering restarts with each statement
    s1, s2 = parse("SELECT ?; SELECT ?")
    assert s1.core.columns[0].expr == s2.core.columns[0].expr == A.Param(1)


_PARAM = st.sampled_from(["?", "?1", "?2", "?7", "?07", ":a", ":b", "@a", "$a", "$b::c(d)",
                          "#x", ":a::b"])


@settings(max_examples=200, deadline=None)
@given(st.lists(_PARAM, min_size=1, max_size=8))
def test_parameter_slots_match_sqlite(params):
    sql = "SELECT " + ", ".join(params)
    stmt = parse_one(sql)
    assert stmt.params == sqlite_params(sql)
    names = stmt.params
    for col in stmt.core.columns:
        p = col.expr
        assert 1 <= p.index <= len(names)
        if p.name is not None and not p.name.startswith("?"):
            assert names[p.index - 1] == p.name


# -- operators -----------------------------------------------------------------

def test_arithmetic_precedence_and_associativity():
    assert expr("1 + 2 * 3") == A.Binary("+", I(1), A.Binary("*", I(2), I(3)))
    assert expr("1 - 2 - 3") == A.Binary("-", A.Binary("-", I(1), I(2)), I(3))
    assert expr("1 || 2 * 3") == A.Binary("*", A.Binary("||", I(1), I(2)), I(3))
    assert expr("a -> 'x' ->> 'y'") == A.Binary("->>", A.Binary("->", C("a"), S("x")), S("y"))
    assert expr("1 & 2 + 3") == A.Binary("&", I(1), A.Binary("+", I(2), I(3)))
    assert expr("1 << 2 | 3 >> 4") == A.Binary(
        ">>", A.Binary("|", A.Binary("<<", I(1), I(2)), I(3)), I(4))
    assert expr("1 < 2 = 3 > 4") == A.Binary(
        "=", A.Binary("<", I(1), I(2)), A.Binary(">", I(3), I(4)))
    assert expr("1 == 2 <> 3 != 4") == A.Binary(
        "!=", A.Binary("!=", A.Binary("=", I(1), I(2)), I(3)), I(4))
    assert expr("a % b / c") == A.Binary("/", A.Binary("%", C("a"), C("b")), C("c"))


def test_logical_precedence():
    assert expr("a OR b AND c") == A.Binary("OR", C("a"), A.Binary("AND", C("b"), C("c")))
    assert expr("NOT a = b") == A.Unary("NOT", A.Binary("=", C("a"), C("b")))
    assert expr("NOT a AND b") == A.Binary("AND", A.Unary("NOT", C("a")), C("b"))
    assert expr("NOT NOT a") == A.Unary("NOT", A.Unary("NOT", C("a")))
    assert expr("a = NOT b") == A.Binary("=", C("a"), A.Unary("NOT", C("b")))


def test_unary_operators():
    assert expr("-a") == A.Unary("-", C("a"))
    assert expr("+ - ~a") == A.Unary("+", A.Unary("-", A.Unary("~", C("a"))))
    assert expr("-a * b") == A.Binary("*", A.Unary("-", C("a")), C("b"))
    assert expr("-a COLLATE x") == A.Collate(A.Unary("-", C("a")), "x")
    assert expr("- NOT a = b") == A.Unary("-", A.Unary("NOT", A.Binary("=", C("a"), C("b"))))


def test_collate():
    assert expr("a COLLATE nocase") == A.Collate(C("a"), "nocase")
    assert expr("a || b COLLATE \"x\"") == A.Binary("||", C("a"), A.Collate(C("b"), "x"))
    assert expr("a COLLATE x COLLATE 'y'") == A.Collate(A.Collate(C("a"), "x"), "y")


def test_is_and_null_tests():
    assert expr("a IS b") == A.Binary("IS", C("a"), C("b"))
    assert expr("a IS NOT b") == A.Binary("IS NOT", C("a"), C("b"))
    assert expr("a IS NOT DISTINCT FROM b") == A.Binary("IS", C("a"), C("b"))
    assert expr("a IS DISTINCT FROM b") == A.Binary("IS NOT", C("a"), C("b"))
    assert expr("a IS NULL") == A.IsNull(C("a"))
    assert expr("a IS NOT NULL") == A.IsNull(C("a"), True)
    assert expr("a ISNULL") == A.IsNull(C("a"))
    assert expr("a NOTNULL") == A.IsNull(C("a"), True)
    assert expr("a NOT NULL") == A.IsNull(C("a"), True)
    assert expr("a IS NOT NOT b") == A.Binary("IS NOT", C("a"), A.Unary("NOT", C("b")))
    assert expr("a = b NOT NULL") == A.IsNull(A.Binary("=", C("a"), C("b")), True)
    assert expr("NOT a NOT NULL") == A.Unary("NOT", A.IsNull(C("a"), True))
    assert expr("a IS b < c") == A.Binary("IS", C("a"), A.Binary("<", C("b"), C("c")))


def test_like_family():
    assert expr("a LIKE 'x%'") == A.Like("LIKE", C("a"), S("x%"))
    assert expr("a NOT GLOB b") == A.Like("GLOB", C("a"), C("b"), None, True)
    assert expr("a regexp b") == A.Like("REGEXP", C("a"), C("b"))
    assert expr("a MATCH b") == A.Like("MATCH", C("a"), C("b"))
    assert expr("a LIKE b ESCAPE c") == A.Like("LIKE", C("a"), C("b"), C("c"))
    assert expr("a NOT LIKE b || c ESCAPE d") == A.Like(
        "LIKE", C("a"), A.Binary("||", C("b"), C("c")), C("d"), True)
    assert expr("a LIKE b LIKE c") == A.Like("LIKE", A.Like("LIKE", C("a"), C("b")), C("c"))
    assert expr("a = b LIKE c") == A.Like("LIKE", A.Binary("=", C("a"), C("b")), C("c"))


def test_between():
    assert expr("a BETWEEN 1 AND 2") == A.Between(C("a"), I(1), I(2))
    assert expr("a NOT BETWEEN b + 1 AND c * 2") == A.Between(
        C("a"), A.Binary("+", C("b"), I(1)), A.Binary("*", C("c"), I(2)), True)
    assert expr("a BETWEEN 1 AND 2 AND b") == A.Binary(
        "AND", A.Between(C("a"), I(1), I(2)), C("b"))
    assert expr("a BETWEEN NOT b AND c") == A.Between(C("a"), A.Unary("NOT", C("b")), C("c"))
    assert expr("a BETWEEN b AND c < d") == A.Between(C("a"), C("b"), A.Binary("<", C("c"), C("d")))


def test_in():
    assert expr("a IN (1, 2)") == A.InList(C("a"), (I(1), I(2)))
    assert expr("a NOT IN ()") == A.InList(C("a"), (), True)
    sub = expr("a IN (SELECT b FROM t)")
    assert isinstance(sub, A.InSelect) and not sub.negated
    assert sub.select.core.from_.first == A.TableName("t")
    assert expr("a NOT IN main.t") == A.InTable(C("a"), "t", "main", None, True)
    assert expr("a IN f(1, 2)") == A.InTable(C("a"), "f", None, (I(1), I(2)))
    assert expr("a IN 'tbl'") == A.InTable(C("a"), "tbl")
    assert expr("(a, b) IN (VALUES (1, 2))").expr == A.Vector((C("a"), C("b")))


def test_subqueries_and_exists():
    e = expr("(SELECT 1)")
    assert isinstance(e, A.Subquery) and e.select.core.columns == (A.ResultColumn(I(1)),)
    e = expr("NOT EXISTS (SELECT 1)")
    assert isinstance(e, A.Unary) and isinstance(e.operand, A.Exists)
    assert isinstance(expr("(VALUES (1))"), A.Subquery)
    assert isinstance(expr("(WITH c AS (SELECT 1) SELECT * FROM c)").select.with_, A.With)
    assert expr("((1))") == I(1)
    assert expr("(1, 2)") == A.Vector((I(1), I(2)))


def test_case_and_cast():
    assert expr("CASE a WHEN 1 THEN 'x' WHEN 2 THEN 'y' ELSE 'z' END") == A.Case(
        C("a"), (A.WhenThen(I(1), S("x")), A.WhenThen(I(2), S("y"))), S("z"))
    assert expr("CASE WHEN a THEN b END") == A.Case(None, (A.WhenThen(C("a"), C("b")),))
    assert expr("CASE WHEN 1 THEN end END") == A.Case(None, (A.WhenThen(I(1), C("end")),))
    assert expr("CAST(a AS INTEGER)") == A.Cast(C("a"), "INTEGER")
    assert expr("CAST(a AS VARCHAR(10))") == A.Cast(C("a"), "VARCHAR(10)")
    assert expr("CAST(a AS unsigned  big int)") == A.Cast(C("a"), "unsigned  big int")
    assert expr("CAST(a AS)") == A.Cast(C("a"), "")
    assert expr('CAST(a AS "my type")') == A.Cast(C("a"), "my type")


def test_function_calls():
    assert expr("f()") == A.FunctionCall("f")
    assert expr("count(*)") == A.FunctionCall("count", star=True)
    assert expr("count(DISTINCT a)") == A.FunctionCall("count", (C("a"),), distinct=True)
    assert expr("group_concat(ALL a, ',')") == A.FunctionCall("group_concat", (C("a"), S(",")))
    assert expr("replace(a, 'x', 'y')") == A.FunctionCall("replace", (C("a"), S("x"), S("y")))
    assert expr("glob(a, b)").name == "glob"
    assert expr("\"my func\"(1)") == A.FunctionCall("my func", (I(1),))
    assert expr("max(a) FILTER (WHERE a > 1)") == A.FunctionCall(
        "max", (C("a"),), filter=A.Binary(">", C("a"), I(1)))
    assert expr("count(*) OVER w") == A.FunctionCall("count", star=True, over="w")


def test_window_specs():
    e = expr("sum(a) OVER (PARTITION BY b, c ORDER BY d DESC ROWS BETWEEN UNBOUNDED PRECEDING"
             " AND CURRENT ROW EXCLUDE NO OTHERS)")
    assert e.over == A.WindowSpec(None, (C("b"), C("c")), (A.OrderingTerm(C("d"), "DESC"),),
                                  A.Frame("ROWS", A.FrameBound("UNBOUNDED PRECEDING"),
                                          A.FrameBound("CURRENT ROW"), "NO OTHERS"))
    e = expr("sum(a) OVER (w ORDER BY c RANGE 5 PRECEDING EXCLUDE TIES)")
    assert e.over == A.WindowSpec("w", (), (A.OrderingTerm(C("c")),),
                                  A.Frame("RANGE", A.FrameBound("PRECEDING", I(5)), None, "TIES"))
    e = expr("sum(a) OVER (GROUPS BETWEEN 1 PRECEDING AND 1 + 1 FOLLOWING EXCLUDE GROUP)")
    assert e.over.frame == A.Frame("GROUPS", A.FrameBound("PRECEDING", I(1)),
                                   A.FrameBound("FOLLOWING", A.Binary("+", I(1), I(1))), "GROUP")
    assert expr("sum(a) OVER ()").over == A.WindowSpec()
    assert expr("sum(a) OVER (current)").over == A.WindowSpec("current")
    e = expr("sum(a) OVER (ROWS BETWEEN a AND b PRECEDING AND UNBOUNDED FOLLOWING EXCLUDE "
             "CURRENT ROW)")
    assert e.over.frame == A.Frame("ROWS", A.FrameBound("PRECEDING", A.Binary("AND", C("a"), C("b"))),
                                   A.FrameBound("UNBOUNDED FOLLOWING"), "CURRENT ROW")


def test_raise():
    body = parse_one("CREATE TRIGGER r AFTER INSERT ON t BEGIN SELECT RAISE(IGNORE), "
                     "RAISE(ABORT, 'msg'), raise(fail, \"m\"); END").body[0]
    assert [c.expr for c in body.core.columns] == [
        A.Raise("IGNORE"), A.Raise("ABORT", "msg"), A.Raise("FAIL", "m")]


# -- SELECT --------------------------------------------------------------------

def test_select_clauses():
    s = select("SELECT DISTINCT a, t.*, b AS x, c y, 'lit' 'z', * FROM t WHERE a > 1 "
               "GROUP BY a, b HAVING count(*) > 1 ORDER BY 1 DESC NULLS LAST, 2 LIMIT 10 OFFSET 5")
    core = s.core
    assert core.distinct
    assert core.columns == (A.ResultColumn(C("a")), A.Star("t"), A.ResultColumn(C("b"), "x"),
                            A.ResultColumn(C("c"), "y"), A.ResultColumn(S("lit"), "z"), A.Star())
    assert core.from_ == A.FromClause(A.TableName("t"))
    assert core.where == A.Binary(">", C("a"), I(1))
    assert core.group_by == (C("a"), C("b"))
    assert core.having == A.Binary(">", A.FunctionCall("count", star=True), I(1))
    assert s.order_by == (A.OrderingTerm(I(1), "DESC", "LAST"), A.OrderingTerm(I(2)))
    assert (s.limit, s.offset) == (I(10), I(5))
    assert select("SELECT 1 LIMIT 5, 10") .limit == I(10)
    assert select("SELECT 1 LIMIT 5, 10").offset == I(5)
    assert not select("SELECT ALL a FROM t").core.distinct


def test_aliases_may_be_non_reserved_keywords():
    cols = select("SELECT a abort, b key, c offset, d over, e filter, f window").core.columns
    assert [c.alias for c in cols] == ["abort", "key", "offset", "over", "filter", "window"]


def test_compound_select():
    s = select("SELECT 1 UNION SELECT 2 UNION ALL VALUES (3) INTERSECT SELECT 4 EXCEPT "
               "SELECT 5 ORDER BY 1 LIMIT 2")
    assert [p.op for p in s.compound] == ["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]
    assert s.compound[1].core == A.Values(((I(3),),))
    assert s.compound[-1].core == A.SelectCore((A.ResultColumn(I(5)),))
    # ORDER BY and LIMIT belong to the whole compound
    assert s.order_by == (A.OrderingTerm(I(1)),) and s.limit == I(2)


def test_values():
    s = select("VALUES (1, 2), (3, 4)")
    assert s.core == A.Values(((I(1), I(2)), (I(3), I(4))))


def test_with_clause():
    s = select("WITH RECURSIVE c(x) AS MATERIALIZED (SELECT 1 UNION ALL SELECT x + 1 FROM c), "
               "d AS NOT MATERIALIZED (SELECT 2), e AS (SELECT 3) SELECT * FROM c, d")
    w = s.with_
    assert w.recursive
    assert [(c.name, c.columns, c.materialized) for c in w.ctes] == [
        ("c", ("x",), True), ("d", None, False), ("e", None, None)]
    assert len(w.ctes[0].select.compound) == 1


def test_joins():
    s = select("SELECT * FROM a, b AS bb JOIN c ON a.x = c.x LEFT JOIN d USING (x, y) "
               "LEFT OUTER JOIN e NATURAL JOIN f RIGHT JOIN g FULL OUTER JOIN h "
               "INNER JOIN i CROSS JOIN j NATURAL LEFT JOIN k")
    f = s.core.from_
    assert f.first == A.TableName("a")
    assert [(j.kind, j.natural, j.source.name) for j in f.joins] == [
        ("COMMA", False, "b"), ("INNER", False, "c"), ("LEFT", False, "d"), ("LEFT", False, "e"),
        ("INNER", True, "f"), ("RIGHT", False, "g"), ("FULL", False, "h"), ("INNER", False, "i"),
        ("CROSS", False, "j"), ("LEFT", True, "k")]
    assert f.joins[0].source.alias == "bb"
    assert f.joins[1].on == A.Binary("=", C("x", "a"), C("x", "c"))
    assert f.joins[2].using == ("x", "y")


def test_from_sources():
    f = select("SELECT * FROM main.t AS x INDEXED BY i, u NOT INDEXED, "
               "json_each('[1]') AS j, (SELECT 1) s, (a JOIN b) AS ab").core.from_
    assert f.first == A.TableName("t", "main", "x", indexed_by="i")
    assert f.joins[0].source == A.TableName("u", not_indexed=True)
    assert f.joins[1].source == A.TableName("json_each", None, "j", (S("[1]"),))
    assert isinstance(f.joins[2].source, A.SubquerySource) and f.joins[2].source.alias == "s"
    js = f.joins[3].source
    assert js == A.JoinSource(A.FromClause(A.TableName("a"), (A.Join("INNER", A.TableName("b")),)),
                              "ab")


def test_parenthesised_from_lists_flatten_like_sqlite():
    # first item, no alias: the inner list is the list
    f = select("SELECT * FROM (a JOIN b) JOIN c").core.from_
    assert f.first == A.TableName("a") and [j.source.name for j in f.joins] == ["b", "c"]
    # a single parenthesised table takes the outer alias and loses its own
    f = select("SELECT * FROM x, (t AS inner_alias) AS outer_alias").core.from_
    assert f.joins[0].source == A.TableName("t", alias="outer_alias")
    f = select("SELECT * FROM x, (t AS inner_alias)").core.from_
    assert f.joins[0].source == A.TableName("t")
    f = select("SELECT * FROM (t AS a1)").core.from_
    assert f.first == A.TableName("t", alias="a1")


def test_window_clause():
    s = select("SELECT max(a) OVER w FROM t WINDOW w AS (PARTITION BY b), w2 AS (w ROWS 1 PRECEDING)")
    assert s.core.windows == (
        A.WindowDef("w", A.WindowSpec(None, (C("b"),))),
        A.WindowDef("w2", A.WindowSpec("w", frame=A.Frame("ROWS", A.FrameBound("PRECEDING", I(1))))))


# -- INSERT / UPDATE / DELETE --------------------------------------------------

def test_insert():
    s = parse_one("INSERT OR IGNORE INTO main.t AS x (a, b) VALUES (1, 2), (3, 4)")
    assert s.verb == "INSERT" and s.or_conflict == "IGNORE"
    assert s.table == A.QualifiedTable("t", "main", "x")
    assert s.columns == ("a", "b")
    assert s.source.core == A.Values(((I(1), I(2)), (I(3), I(4))))
    s = parse_one("REPLACE INTO t SELECT * FROM u")
    assert (s.verb, s.or_conflict) == ("REPLACE", "REPLACE")
    assert s.source.core.from_.first == A.TableName("u")
    s = parse_one("INSERT INTO t DEFAULT VALUES RETURNING *, a AS b")
    assert s.source is None and s.returning == (A.Star(), A.ResultColumn(C("a"), "b"))
    s = parse_one("WITH c AS (SELECT 1) INSERT INTO t SELECT * FROM c")
    assert s.with_.ctes[0].name == "c"


def test_upsert():
    s = parse_one("INSERT INTO t(a) VALUES (1) ON CONFLICT (a COLLATE nocase) WHERE a > 0 "
                  "DO UPDATE SET b = excluded.b, (c, d) = (1, 2) WHERE b < 5 "
                  "ON CONFLICT DO NOTHING RETURNING a")
    u1, u2 = s.upsert
    assert u1.target == (A.OrderingTerm(A.Collate(C("a"), "nocase")),)
    assert u1.target_where == A.Binary(">", C("a"), I(0))
    assert u1.do_update and u1.assignments == (
        A.Assignment(("b",), C("b", "excluded")),
        A.Assignment(("c", "d"), A.Vector((I(1), I(2)))))
    assert u1.where == A.Binary("<", C("b"), I(5))
    assert u2 == A.Upsert(None)
    assert s.returning == (A.ResultColumn(C("a")),)
    # the ON of a join wins over ON CONFLICT, as in SQLite
    s = parse_one("INSERT INTO t SELECT * FROM a JOIN b ON c")
    assert s.upsert == () and s.source.core.from_.joins[0].on == C("c")


def test_update():
    s = parse_one("UPDATE OR REPLACE t AS x INDEXED BY i SET a = 1, (b, c) = (2, 3) FROM u "
                  "WHERE x.a = u.a RETURNING * ORDER BY a LIMIT 1 OFFSET 2")
    assert s.or_conflict == "REPLACE"
    assert s.table == A.QualifiedTable("t", None, "x", "i")
    assert s.assignments == (A.Assignment(("a",), I(1)),
                             A.Assignment(("b", "c"), A.Vector((I(2), I(3)))))
    assert s.from_.first == A.TableName("u")
    assert s.returning == (A.Star(),)
    assert s.order_by == (A.OrderingTerm(C("a")),) and (s.limit, s.offset) == (I(1), I(2))


def test_delete():
    s = parse_one("WITH c AS (SELECT 1) DELETE FROM t NOT INDEXED WHERE a RETURNING a "
                  "ORDER BY a LIMIT 3")
    assert s.table == A.QualifiedTable("t", not_indexed=True)
    assert s.where == C("a") and s.returning == (A.ResultColumn(C("a")),)
    assert s.limit == I(3) and s.with_ is not None
    assert s.span[0] == 0


# -- DDL -----------------------------------------------------------------------

def test_create_table_columns():
    s = parse_one("CREATE TEMP TABLE IF NOT EXISTS main.t(a INTEGER PRIMARY KEY DESC ON CONFLICT "
                  "REPLACE AUTOINCREMENT, b VARCHAR(10) NOT NULL UNIQUE ON CONFLICT IGNORE, "
                  "c DOUBLE PRECISION DEFAULT -1.5 CHECK (c > 0) COLLATE nocase, "
                  "d UNSIGNED BIG INT CONSTRAINT fk REFERENCES u(x) ON DELETE CASCADE "
                  "ON UPDATE SET NULL MATCH simple DEFERRABLE INITIALLY DEFERRED, "
                  "e AS (a + 1) STORED, f GENERATED ALWAYS AS (b) VIRTUAL, g)")
    assert (s.name, s.schema, s.temp, s.if_not_exists) == ("t", "main", True, True)
    a, b, c, d, e, f, g = s.columns
    assert a == A.ColumnDef("a", "INTEGER", (A.PrimaryKeyConstraint("DESC", "REPLACE", True),))
    assert b == A.ColumnDef("b", "VARCHAR(10)", (A.NotNullConstraint(),
                                                  A.UniqueConstraint("IGNORE")))
    assert c.type_name == "DOUBLE PRECISION"
    assert c.constraints == (
        A.DefaultConstraint(A.Unary("-", A.Literal(1.5, "float")), "-1.5"),
        A.CheckConstraint(A.Binary(">", C("c"), I(0))), A.CollateConstraint("nocase"))
    assert d.type_name == "UNSIGNED BIG INT"
    assert d.constraints == (A.ReferencesConstraint(
        A.ForeignKeyClause("u", ("x",), "CASCADE", "SET NULL", "simple", True, True), name="fk"),)
    assert e.constraints == (A.GeneratedConstraint(A.Binary("+", C("a"), I(1)), True, "STORED"),)
    assert f.type_name is None  # "GENERATED ALWAYS" is not part of the type
    assert f.constraints == (A.GeneratedConstraint(C("b"), False, "VIRTUAL"),)
    assert g == A.ColumnDef("g")
    assert b.sql == "b VARCHAR(10) NOT NULL UNIQUE ON CONFLICT IGNORE"


def test_create_table_type_names_absorb_non_reserved_words():
    s = parse_one('CREATE TABLE t(a text key, b "my type" \'other\', c INT GENERATED ALWAYS, '
                  "d NUMERIC(+1, -2))")
    assert [c.type_name for c in s.columns] == ["text key", "my type", "INT", "NUMERIC(+1, -2)"]


def test_create_table_defaults():
    s = parse_one("CREATE TABLE t(a DEFAULT 1, b DEFAULT 'x', c DEFAULT ( 1 + 2 ), "
                  "d DEFAULT +2, e DEFAULT true, f DEFAULT abc, g DEFAULT \"q\", "
                  "h DEFAULT CURRENT_TIME, i DEFAULT NULL, j DEFAULT x'00')")
    got = [(c.constraints[0].expr, c.constraints[0].text) for c in s.columns]
    assert got == [
        (I(1), "1"), (S("x"), "'x'"), (A.Binary("+", I(1), I(2)), "1 + 2"), (I(2), "+2"),
        (A.Literal(True, "bool"), "true"), (S("abc"), "abc"), (S("q"), '"q"'),
        (A.CurrentTime("CURRENT_TIME"), "CURRENT_TIME"), (A.Literal(None, "null"), "NULL"),
        (A.Literal(b"\0", "blob"), "x'00'")]


def test_create_table_constraints_and_options():
    s = parse_one("CREATE TABLE t(a, b, CONSTRAINT pk PRIMARY KEY (a DESC, b) ON CONFLICT ABORT, "
                  "UNIQUE (b) CHECK (a > b) ON CONFLICT FAIL, "
                  "FOREIGN KEY (a, b) REFERENCES u ON DELETE SET DEFAULT NOT DEFERRABLE, "
                  "CONSTRAINT c1, CHECK (1)) WITHOUT ROWID, STRICT")
    assert s.constraints == (
        A.TablePrimaryKey((A.OrderingTerm(C("a"), "DESC"), A.OrderingTerm(C("b"))), "ABORT",
                          name="pk"),
        A.TableUnique((A.OrderingTerm(C("b")),)),
        A.TableCheck(A.Binary(">", C("a"), C("b")), "FAIL"),
        A.TableForeignKey(("a", "b"), A.ForeignKeyClause("u", None, "SET DEFAULT", None, None,
                                                         False, False)),
        A.TableCheck(I(1)))
    assert s.without_rowid and s.strict
    s = parse_one("CREATE TABLE t(a, PRIMARY KEY (a AUTOINCREMENT))")
    assert s.constraints[0].autoincrement


def test_create_table_as_select():
    s = parse_one("CREATE TABLE t AS SELECT 1 AS a")
    assert s.as_select.core.columns == (A.ResultColumn(I(1), "a"),)
    assert s.columns == () and s.schema_sql is None


def test_create_index_view_vtab():
    s = parse_one("CREATE UNIQUE INDEX IF NOT EXISTS main.i ON t(a COLLATE nocase DESC, b + c) "
                  "WHERE a NOT NULL")
    assert (s.name, s.schema, s.table, s.unique, s.if_not_exists) == ("i", "main", "t", True, True)
    assert s.columns == (A.OrderingTerm(A.Collate(C("a"), "nocase"), "DESC"),
                         A.OrderingTerm(A.Binary("+", C("b"), C("c"))))
    assert s.where == A.IsNull(C("a"), True)
    v = parse_one("CREATE TEMPORARY VIEW IF NOT EXISTS v(x, y) AS SELECT 1, 2")
    assert (v.name, v.temp, v.if_not_exists, v.columns) == ("v", True, True, ("x", "y"))
    vt = parse_one("CREATE VIRTUAL TABLE IF NOT EXISTS vt USING fts5(a, [b c], tokenize = "
                   "'porter (x)', f(g, (h)), )")
    assert (vt.name, vt.module) == ("vt", "fts5")
    assert vt.args == ("a", "[b c]", "tokenize = 'porter (x)'", "f(g, (h))")
    assert parse_one("CREATE VIRTUAL TABLE vt USING m").args is None
    assert parse_one("CREATE VIRTUAL TABLE vt USING m()").args == ()


def test_create_trigger():
    s = parse_one("CREATE TEMP TRIGGER IF NOT EXISTS main.tr BEFORE UPDATE OF a, b ON t "
                  "FOR EACH ROW WHEN new.a > 1 BEGIN "
                  "UPDATE u SET x = new.a WHERE y = old.a; "
                  "INSERT INTO u VALUES (1); "
                  "DELETE FROM u WHERE x; "
                  "SELECT 1; END")
    assert (s.name, s.schema, s.temp, s.if_not_exists) == ("tr", "main", True, True)
    assert (s.timing, s.event, s.update_columns, s.table) == ("BEFORE", "UPDATE", ("a", "b"), "t")
    assert s.for_each_row and s.when == A.Binary(">", C("a", "new"), I(1))
    assert [type(b).__name__ for b in s.body] == ["Update", "Insert", "Delete", "Select"]
    t = parse_one("CREATE TRIGGER before INSERT ON t BEGIN SELECT 1; END")
    assert (t.name, t.timing, t.event) == ("before", None, "INSERT")
    t = parse_one("CREATE TRIGGER x INSTEAD OF DELETE ON v BEGIN SELECT 1; END")
    assert t.timing == "INSTEAD OF"


def test_drop_and_alter():
    assert parse_one("DROP TABLE IF EXISTS main.t") == A.Drop("TABLE", "t", "main", True)
    assert parse_one("DROP INDEX i") == A.Drop("INDEX", "i")
    assert parse_one("DROP VIEW v") == A.Drop("VIEW", "v")
    assert parse_one("DROP TRIGGER IF EXISTS tr") == A.Drop("TRIGGER", "tr", None, True)
    assert parse_one("ALTER TABLE t RENAME TO u") == A.AlterTable("t", "RENAME TABLE", new_name="u")
    assert parse_one("ALTER TABLE main.t RENAME COLUMN a TO b") == A.AlterTable(
        "t", "RENAME COLUMN", "main", "b", "a")
    assert parse_one("ALTER TABLE t RENAME a TO b") == A.AlterTable(
        "t", "RENAME COLUMN", new_name="b", column="a")
    s = parse_one("ALTER TABLE t ADD COLUMN d INT DEFAULT 0 -- trailing\n;")
    assert s.column_def == A.ColumnDef("d", "INT", (A.DefaultConstraint(I(0), "0"),))
    assert s.column_def.sql == "d INT DEFAULT 0 -- trailing"
    assert parse_one("ALTER TABLE t ADD d").column_def == A.ColumnDef("d")
    assert parse_one("ALTER TABLE t DROP COLUMN c") == A.AlterTable("t", "DROP COLUMN", column="c")
    assert parse_one("ALTER TABLE t DROP c") == A.AlterTable("t", "DROP COLUMN", column="c")


# -- transactions and the rest -------------------------------------------------

@pytest.mark.parametrize("sql,node", [
    ("BEGIN", A.Begin()),
    ("BEGIN DEFERRED TRANSACTION", A.Begin("DEFERRED")),
    ("BEGIN IMMEDIATE", A.Begin("IMMEDIATE")),
    ("BEGIN EXCLUSIVE TRANSACTION foo", A.Begin("EXCLUSIVE")),
    ("BEGIN CONCURRENT", A.Begin("CONCURRENT")),
    ("begin concurrent transaction", A.Begin("CONCURRENT")),
    ("COMMIT", A.Commit()), ("END TRANSACTION", A.Commit()),
    ("ROLLBACK", A.Rollback()), ("ROLLBACK TO SAVEPOINT x", A.Rollback("x")),
    ("ROLLBACK TRANSACTION TO x", A.Rollback("x")),
    ("SAVEPOINT x", A.Savepoint("x")), ("RELEASE x", A.Release("x")),
    ("RELEASE SAVEPOINT 'x'", A.Release("x")),
    ("PRAGMA foreign_keys", A.Pragma("foreign_keys")),
    ("PRAGMA main.cache_size = -2000", A.Pragma("cache_size", "main", "-2000")),
    ("PRAGMA table_info(t)", A.Pragma("table_info", None, "t", True)),
    ("PRAGMA journal_mode = delete", A.Pragma("journal_mode", None, "delete")),
    ("PRAGMA foreign_keys = ON", A.Pragma("foreign_keys", None, "ON")),
    ("PRAGMA x = +5", A.Pragma("x", None, "5")),
    ("PRAGMA x = 'str'", A.Pragma("x", None, "str")),
    ("PRAGMA x(\"q\")", A.Pragma("x", None, "q", True)),
    ("ATTACH DATABASE 'f.db' AS aux KEY 'k'", A.Attach(S("f.db"), C("aux"), S("k"))),
    ("ATTACH 'f.db' AS 'aux'", A.Attach(S("f.db"), S("aux"))),
    ("DETACH DATABASE aux", A.Detach(C("aux"))),
    ("VACUUM", A.Vacuum()), ("VACUUM main", A.Vacuum("main")),
    ("VACUUM main INTO 'x.db'", A.Vacuum("main", S("x.db"))),
    ("VACUUM INTO 'x.db'", A.Vacuum(None, S("x.db"))),
    ("ANALYZE", A.Analyze()), ("ANALYZE t", A.Analyze("t")),
    ("ANALYZE main.t", A.Analyze("t", "main")),
    ("REINDEX", A.Reindex()), ("REINDEX nocase", A.Reindex("nocase")),
])
def test_other_statements(sql, node):
    assert parse_one(sql) == node


def test_explain():
    s = parse_one("EXPLAIN QUERY PLAN SELECT 1")
    assert isinstance(s, A.Explain) and s.query_plan
    assert s.statement == A.Select(A.SelectCore((A.ResultColumn(I(1)),)))
    assert s.span == (0, 27) and s.statement.span == (19, 27)
    assert not parse_one("EXPLAIN DELETE FROM t").query_plan


# -- source text ---------------------------------------------------------------

def test_create_statements_keep_their_source():
    sql = "CREATE  TEMP TABLE IF NOT EXISTS main.t(a INT)  ;"
    s = parse_one(sql)
    assert s.sql == "CREATE  TEMP TABLE IF NOT EXISTS main.t(a INT)"
    assert s.schema_sql == "CREATE TABLE t(a INT)"
    assert s.span == (0, len(s.sql))
    assert parse_one("create table t(a) strict -- c\n").schema_sql == \
        "CREATE TABLE t(a) strict -- c\n"
    assert parse_one("create unique index i on t(a) ;").schema_sql == \
        "CREATE UNIQUE INDEX i on t(a) "
    assert parse_one("create view v as select 1  ;").schema_sql == "CREATE VIEW v as select 1"
    assert parse_one("create trigger x after insert on t begin select 1; end ;").schema_sql == \
        "CREATE TRIGGER x after insert on t begin select 1; end"
    assert parse_one("create virtual table v using m (a)").schema_sql == \
        "CREATE VIRTUAL TABLE v using m (a)"


def test_statement_spans_in_scripts():
    sql = "SELECT 1;  -- c\n  UPDATE t SET a = 1 ;;\nCREATE TABLE x(y)"
    stmts = parse(sql)
    assert [sql[a:b] for a, b in (s.span for s in stmts)] == [
        "SELECT 1", "UPDATE t SET a = 1", "CREATE TABLE x(y)"]


# -- API -------------------------------------------------------------------------

def test_parse_first_behaves_like_prepare():
    sql = "SELECT 1; SELECT 'unterminated"
    stmt, tail = parse_first(sql)
    assert isinstance(stmt, A.Select) and tail == 9
    with pytest.raises(OperationalError, match="unrecognized token"):
        parse_first(sql, tail)
    assert parse_first("  ;; -- nothing\n") == (None, 16)
    assert parse_first("SELECT 2", 0)[1] == 8
    stmt, tail = parse_first("xx; SELECT 2", 3)
    assert stmt.span == (4, 12) and tail == 12


def test_iter_parse_reports_errors_where_they_are():
    it = iter_parse("SELECT 1; SELECT 2; SELEC 3")
    assert next(it)[1] == 9
    assert next(it)[1] == 19
    with pytest.raises(OperationalError, match='near "SELEC"'):
        next(it)


def test_parse_one():
    assert parse_one("SELECT 1 ; -- c\n ;") == A.Select(A.SelectCore((A.ResultColumn(I(1)),)))
    assert parse_one(" -- nothing") is None
    with pytest.raises(ProgrammingError, match="one statement at a time"):
        parse_one("SELECT 1; SELECT 2")


def test_split_statements():
    sql = ("SELECT ';' ; -- a ; comment\n"
           "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END;\n"
           "/* only a comment */;\n"
           "INSERT INTO t VALUES (\"a;b\")")
    parts = split_statements(sql)
    assert [p.text for p in parts] == [
        "SELECT ';'",
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END",
        'INSERT INTO t VALUES ("a;b")']
    assert all(sql[p.start:p.end] == p.text for p in parts)
    assert [p.text for p in split_statements("EXPLAIN CREATE TEMP TRIGGER x BEGIN a; END; b")] == [
        "EXPLAIN CREATE TEMP TRIGGER x BEGIN a; END", "b"]
    assert split_statements("  ") == []
