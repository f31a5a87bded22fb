"""Differential fuzzing of the parser against stdlib sqlite3.

Four generators feed ``test_parser_oracle.agree`` (SQLite accepts -> we
accept; SQLite says syntax error / incomplete input / unrecognized token ->
we say exactly the same, at the same offset; SQLite fails otherwise -> we
accept or fail without a syntax error):

- mutations of real statements (corpus records and a seed list covering
  every statement kind): tokens deleted, duplicated, swapped, inserted;
- token soup: a statement start followed by random tokens;
- random text;
- random integer expressions, which must also *evaluate* (through a small
  evaluator of our tree) to what SQLite computes, so precedence and
  associativity are checked, not just acceptance.

Nothing may raise anything but ParseError, and nothing may hang (timeouts).
The stored schema text of CREATE statements is compared with sqlite_schema.
"""
from __future__ import annotations

import random
import sqlite3

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from sql import ast as A
from sql.errors import ParseError
from sql.parser import parse, parse_first, parse_one
from sql.tokenizer import KEYWORDS, scan
from test_parser_oracle import agree, corpus_files, corpus_records

SEEDS = r"""
CREATE TRIGGER tr AFTER INSERT ON t1 FOR EACH ROW WHEN new.a > 1 BEGIN SELECT 1; UPDATE t1 SET a=1 WHERE b; DELETE FROM t1 WHERE a; INSERT INTO t1 VALUES(1,2,3,4,5); END
CREATE TEMP TRIGGER IF NOT EXISTS tr2 BEFORE UPDATE OF a, b ON t1 BEGIN SELECT raise(abort, 'x'); SELECT raise(ignore); END
CREATE TRIGGER tr3 INSTEAD OF DELETE ON v1 BEGIN REPLACE INTO t1 SELECT * FROM t1; END
SELECT * FROM t1 AS x NOT INDEXED, t2 AS u ON x.a=u.a JOIN t3 USING (a) JOIN t1 AS t4 ON 1
SELECT * FROM (t1 JOIN t2 ON 1) AS z, (SELECT 1 UNION SELECT 2), (t3)
SELECT * FROM t1 WHERE a IN main.t1 AND b NOT IN t2 AND c IN json_each('[1]') AND d IN (1,2) AND e NOT IN (SELECT a FROM t2) AND b IN ()
SELECT a FROM t1 ORDER BY a NULLS FIRST, b DESC NULLS LAST LIMIT 1,2
SELECT * FROM t1 t CROSS JOIN t2 NATURAL LEFT OUTER JOIN t3 RIGHT JOIN t4 FULL OUTER JOIN t5 INNER JOIN t6
DELETE FROM main.t1 AS x INDEXED BY i1 WHERE a > 0 RETURNING a ORDER BY a LIMIT 1
UPDATE OR IGNORE t1 AS z NOT INDEXED SET (a,b)=(1,2), c = a + 1 FROM t2 WHERE b RETURNING *, a AS x ORDER BY c LIMIT 3 OFFSET 1
INSERT OR REPLACE INTO t1(a,b,c) VALUES(1,2,3),(4,5,6) ON CONFLICT(a) WHERE a>0 DO UPDATE SET b=excluded.b WHERE 1 ON CONFLICT DO NOTHING RETURNING a
INSERT INTO t1 DEFAULT VALUES RETURNING *
WITH x(a) AS (SELECT 1) INSERT INTO t1 AS y SELECT * FROM x WHERE 1 ON CONFLICT (a COLLATE nocase) DO UPDATE SET (a, b) = (1, 2)
CREATE TABLE v(a INTEGER PRIMARY KEY DESC ON CONFLICT REPLACE AUTOINCREMENT, b)
CREATE TABLE v2(a text key, b int default -1, c default +1.5, d default (1+2), e default current_time, f default true, g default x'00', h collate nocase references t(a) on delete cascade on update set null match full deferrable initially deferred, i as (a+1) stored, j generated always as (a) virtual, constraint pk primary key(a desc, b) on conflict abort, unique(c) foreign key(d) references t2 not deferrable check(a>0) on conflict fail)
CREATE TABLE v3(a VARCHAR(10), b DOUBLE PRECISION, c UNSIGNED BIG INT, d DECIMAL(10, 5), e NUMERIC(+1,-2), f INT(1.5e3), g "my type" 'other') WITHOUT ROWID, STRICT
CREATE TEMP TABLE IF NOT EXISTS v5 AS SELECT 1 AS a, 2 AS b
CREATE TEMPORARY VIEW IF NOT EXISTS vv(x, y) AS WITH c AS (SELECT 1) SELECT 1, 2 FROM c
CREATE UNIQUE INDEX IF NOT EXISTS main.j ON t1(a COLLATE nocase DESC, b+c) WHERE a NOT NULL
CREATE VIRTUAL TABLE IF NOT EXISTS vt USING fts5(a, b, tokenize = 'porter (x)', )
DROP TABLE IF EXISTS main.t1
DROP TRIGGER IF EXISTS main.tr
ALTER TABLE main.t1 RENAME COLUMN a TO aa
ALTER TABLE t1 ADD COLUMN d INT DEFAULT 0 NOT NULL
ALTER TABLE t1 DROP COLUMN c
BEGIN EXCLUSIVE TRANSACTION foo
ROLLBACK TRANSACTION TO SAVEPOINT x
RELEASE SAVEPOINT x
PRAGMA main.cache_size = -2000
PRAGMA table_info(t1)
ATTACH DATABASE ':memory:' AS aux KEY 'k'
DETACH DATABASE aux
VACUUM main INTO 'x.db'
ANALYZE main.t1
REINDEX t1
EXPLAIN QUERY PLAN SELECT 1
WITH RECURSIVE c(x) AS MATERIALIZED (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 5), d AS NOT MATERIALIZED (SELECT 2) SELECT * FROM c, d
SELECT DISTINCT a, t1.*, b AS "bb", c cc, 'lit' 'alias' FROM t1 GROUP BY a, b HAVING count(*) > 1 WINDOW w AS (ORDER BY a), w2 AS (w ROWS 1 PRECEDING)
SELECT sum(a) FILTER (WHERE a > 1) OVER (PARTITION BY b ORDER BY c ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE NO OTHERS), count(*) OVER w FROM t1 WINDOW w AS (PARTITION BY b)
SELECT sum(a) OVER (GROUPS BETWEEN 1 PRECEDING AND 2 FOLLOWING EXCLUDE GROUP), max(b) OVER (RANGE 5 PRECEDING EXCLUDE TIES) FROM t1
SELECT CASE a WHEN 1 THEN 'x' WHEN 2 THEN 'y' ELSE 'z' END, CASE WHEN a THEN 1 END FROM t1
SELECT a IS NOT DISTINCT FROM b, a IS DISTINCT FROM b, a ISNULL, a NOTNULL, a NOT NULL, a IS NULL, a IS NOT b FROM t1
SELECT a LIKE 'x%' ESCAPE '\', a NOT GLOB 'x', a NOT REGEXP 'y', a MATCH 'z', a NOT LIKE b FROM t1
SELECT a -> '$.x', a ->> '$.y', ~a, -a, +a, NOT a, a << 1 >> 2 & 3 | 4 % 5, a || b, a / 2 * 3 FROM t1
SELECT (1,2) = (1,2), (SELECT 1), EXISTS (SELECT 1), NOT EXISTS (SELECT 1), CAST(a AS INTEGER), CAST(b AS VARCHAR(10)), CAST(c AS)
SELECT count(DISTINCT a), count(*), count(), group_concat(ALL a, ','), abs(-1) FROM t1
SELECT ?, ?5, :a, @b, $c, $d::e(f), ?, :a, #g
SELECT 1 UNION SELECT 2 INTERSECT SELECT 3 EXCEPT SELECT 4 UNION ALL VALUES (5), (6) ORDER BY 1 LIMIT 2
SELECT a BETWEEN 1 AND 2, a NOT BETWEEN b AND c AND d, x'0A', 1.5e10, .5, 0x1F, 1e-3, NULL, TRUE, CURRENT_TIMESTAMP FROM t1
SELECT t1.a, main.t1.b, "t1"."c", [t1].[a], `t1`.`b` FROM t1 INDEXED BY i1 LEFT JOIN t2 ON t1.a = t2.a WHERE t2.b IS NULL
SELECT replace(a, 'x', 'y'), like(a, b), glob(a, b), key, offset, first, last, rowid FROM t1
""".strip().split("\n")

VOCAB = sorted(KEYWORDS) + [
    "(", ")", ",", ";", ".", "*", "+", "-", "=", "<>", "||", "->", "?", ":a", "'s'", "1", "2.5",
    "x'00'", "a", "b", "t1", '"q"', "[b]", "NOT NULL", "IS NOT", "ON CONFLICT", "DO NOTHING",
    "OVER (", "FILTER (WHERE", "ROWS BETWEEN", "UNBOUNDED PRECEDING", "CURRENT ROW", "AS (",
    "ESCAPE", "COLLATE nocase", "WINDOW w AS (", "$x",
]
STARTS = [
    "SELECT", "SELECT a FROM t1 WHERE", "SELECT * FROM t1", "SELECT count(*) OVER (",
    "CREATE TABLE t(", "CREATE TABLE t(a", "CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN",
    "INSERT INTO t1", "INSERT INTO t1 VALUES (1) ON CONFLICT", "UPDATE t1 SET", "DELETE FROM t1",
    "WITH x AS (SELECT 1)", "CREATE INDEX i ON t1(", "PRAGMA", "ALTER TABLE t1", "BEGIN",
    "ROLLBACK", "CREATE VIEW v AS", "CREATE VIRTUAL TABLE vt USING fts5(", "ATTACH", "VACUUM",
    "EXPLAIN", "DROP", "SELECT a", "VALUES",
]


def _corpus_pool(n: int) -> list[str]:
    rng = random.Random(7)
    out = []
    for path in corpus_files():
        recs = corpus_records(path)
        out.extend(sql for _l, _k, sql in rng.sample(recs, min(n, len(recs))))
    return out


POOL = SEEDS * 4 + _corpus_pool(40)


def mutate(sql: str, ops: list[tuple[int, int, int]]) -> str:
    """Apply (op, position, argument) edits to the tokens of ``sql``."""
    toks = [t.text for t in scan(sql) if t.type != "EOF"]
    sig = [k for k, t in enumerate(scan(sql)) if t.type not in ("SPACE", "COMMENT", "EOF")]
    if not sig:
        return sql
    for op, pos, arg in ops:
        k = sig[pos % len(sig)]
        if op == 0:
            toks[k] = ""
        elif op == 1:
            toks[k] = toks[k] + " " + toks[k]
        elif op == 2:
            j = sig[arg % len(sig)]
            toks[k], toks[j] = toks[j], toks[k]
        elif op == 3:
            toks[k] = toks[k] + " " + VOCAB[arg % len(VOCAB)]
        else:
            toks[k] = VOCAB[arg % len(VOCAB)]
    return "".join(t if t else " " for t in toks)


def _assert_agree(sql: str) -> None:
    why = agree(sql)
    assert why is None, f"{sql!r}: {why}"


_EDIT = st.tuples(st.integers(0, 4), st.integers(0, 10 ** 6), st.integers(0, 10 ** 6))


@pytest.mark.timeout(120)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(POOL), st.lists(_EDIT, min_size=1, max_size=3))
def test_mutated_statements_agree(sql, edits):
    _assert_agree(mutate(sql, edits))


@pytest.mark.timeout(120)
def test_seeded_mutations_agree():
    rng = random.Random(2024)
    for _ in range(3000):
        sql = rng.choice(POOL)
        edits = [(rng.randrange(5), rng.randrange(10 ** 6), rng.randrange(10 ** 6))
                 for _ in range(rng.choice((1, 1, 2, 3)))]
        _assert_agree(mutate(sql, edits))


@pytest.mark.timeout(120)
@settings(max_examples=500, deadline=None)
@given(st.sampled_from(STARTS), st.lists(st.sampled_from(VOCAB), min_size=1, max_size=10))
def test_token_soup_agrees(start, words):
    _assert_agree(start + " " + " ".join(words))


_SQLISH_PIECES = list("abcxyz019 .,;()'\"[]`*+-/=<>!|&~?:@$#\n\t_") + [
    "SELECT", " FROM ", " WHERE ", "--", "/*", "*/", "é", "\\", "\x00"]
_SQLISH = st.lists(st.sampled_from(_SQLISH_PIECES), max_size=40).map("".join)


@pytest.mark.timeout(120)
@settings(max_examples=400, deadline=None)
@given(_SQLISH)
def test_sqlish_text_agrees(text):
    _assert_agree(text.split("\x00")[0])
    try:  # and the whole text as a script never fails in another way
        parse(text)
    except ParseError:
        pass


@pytest.mark.timeout(120)
@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_only_raises_parse_errors(text):
    try:
        parse(text)
    except ParseError:
        pass


# -- precedence by evaluation --------------------------------------------------

class _Skip(Exception):
    """The expression leaves the range the mini evaluator models."""


_M64 = (1 << 64) - 1


def _wrap(v: int) -> int:
    v &= _M64
    return v - (1 << 64) if v >> 63 else v


def _int(v: int) -> int:
    if not -(1 << 62) < v < (1 << 62):
        raise _Skip  # SQLite would switch to REAL arithmetic
    return v


def _truth(v):
    return None if v is None else v != 0


def _cmp(op: str, a, b):
    if a is None or b is None:
        return None
    return int({"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b,
                ">=": a >= b}[op])


def _shift(a: int, b: int, left: bool) -> int:
    if b < 0:
        left = not left
        b = -b if b > -64 else 64
    if b >= 64:
        return 0 if (a >= 0 or left) else -1
    return _wrap(a << b) if left else a >> b


def evaluate(e: A.Expr):
    """SQLite's value of an integer/NULL expression tree (None is NULL)."""
    if isinstance(e, A.Literal):
        return e.value
    if isinstance(e, A.Collate):
        return evaluate(e.expr)
    if isinstance(e, A.Unary):
        v = evaluate(e.operand)
        if v is None:
            return None
        return {"-": lambda: _int(-v), "+": lambda: v, "~": lambda: ~v,
                "NOT": lambda: int(v == 0)}[e.op]()
    if isinstance(e, A.IsNull):
        return int((evaluate(e.expr) is None) != e.negated)
    if isinstance(e, A.Between):
        v, lo, hi = evaluate(e.expr), evaluate(e.low), evaluate(e.high)
        r = _and(_cmp(">=", v, lo), _cmp("<=", v, hi))
        return None if r is None else int(bool(r) != e.negated)
    if isinstance(e, A.InList):
        v = evaluate(e.expr)
        items = [evaluate(x) for x in e.items]
        if not items:
            r = 0
        elif v is None:
            r = None
        elif v in items:
            r = 1
        else:
            r = None if None in items else 0
        return None if r is None else int(bool(r) != e.negated)
    if isinstance(e, A.Case):
        base = evaluate(e.operand) if e.operand is not None else None
        for arm in e.whens:
            w = evaluate(arm.when)
            hit = (base is not None and w is not None and base == w) if e.operand is not None \
                else bool(_truth(w))
            if hit:
                return evaluate(arm.then)
        return evaluate(e.else_) if e.else_ is not None else None
    if isinstance(e, A.Binary):
        op = e.op
        a = evaluate(e.left)
        b = evaluate(e.right)
        if op == "AND":
            return _and(a, b)
        if op == "OR":
            ta, tb = _truth(a), _truth(b)
            if ta or tb:
                return 1
            return None if ta is None or tb is None else 0
        if op in ("IS", "IS NOT"):
            if isinstance(e.right, A.InList) and not e.right.items:
                # "x IN ()" folds to TRUE/FALSE, and "a IS TRUE" is a truth test
                return int((_truth(a) is bool(b)) == (op == "IS"))
            return int((a == b) == (op == "IS"))
        if a is None or b is None:
            return None
        if op in ("=", "!=", "<", "<=", ">", ">="):
            return _cmp(op, a, b)
        if op == "+":
            return _int(a + b)
        if op == "-":
            return _int(a - b)
        if op == "*":
            return _int(a * b)
        if op == "/":
            if b == 0:
                return None
            q = abs(a) // abs(b)
            return q if (a >= 0) == (b >= 0) else -q
        if op == "%":
            if b == 0:
                return None
            r = abs(a) % abs(b)
            return r if a >= 0 else -r
        if op == "&":
            return a & b
        if op == "|":
            return a | b
        if op in ("<<", ">>"):
            return _shift(a, b, op == "<<")
    raise _Skip


def _and(a, b):
    ta, tb = _truth(a), _truth(b)
    if ta is False or tb is False:
        return 0
    return None if ta is None or tb is None else 1


_OPS = ["+", "-", "*", "/", "%", "&", "|", "<<", ">>", "=", "==", "!=", "<>", "<", "<=", ">",
        ">=", "AND", "OR", "IS", "IS NOT", "IS DISTINCT FROM", "IS NOT DISTINCT FROM"]
_ATOMS = st.one_of(st.integers(0, 9).map(str), st.just("NULL"))


def _expr_text(depth: int):
    if depth == 0:
        return _ATOMS
    sub = _expr_text(depth - 1)
    return st.one_of(
        _ATOMS,
        st.tuples(sub, st.sampled_from(_OPS), sub).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(st.sampled_from(["-", "+", "~", "NOT "]), sub).map(lambda t: t[0] + t[1]),
        sub.map(lambda s: f"({s})"),
        st.tuples(sub, st.sampled_from(["", "NOT "]), sub, sub).map(
            lambda t: f"{t[0]} {t[1]}BETWEEN {t[2]} AND {t[3]}"),
        st.tuples(sub, st.sampled_from(["", "NOT "]), st.lists(sub, max_size=3)).map(
            lambda t: f"{t[0]} {t[1]}IN ({', '.join(t[2])})"),
        st.tuples(sub, st.sampled_from(["ISNULL", "NOTNULL", "NOT NULL", "IS NULL",
                                        "IS NOT NULL", "COLLATE binary"])).map(
            lambda t: f"{t[0]} {t[1]}"),
        st.tuples(st.sampled_from(["", "1 "]), sub, sub, sub).map(
            lambda t: f"CASE {t[0]}WHEN {t[1]} THEN {t[2]} ELSE {t[3]} END"),
    )


_con = sqlite3.connect(":memory:")


@pytest.mark.timeout(120)
@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_expr_text(4))
def test_expressions_evaluate_like_sqlite(text):
    sql = "SELECT " + text
    _assert_agree(sql)
    try:
        expected = _con.execute(sql).fetchone()[0]
    except sqlite3.Error:
        return  # SQLite rejects it (agree() checked we do too, or that it is not syntax)
    stmt = parse_one(sql)
    try:
        got = evaluate(stmt.core.columns[0].expr)
    except _Skip:
        assume(False)
    assert got == expected, (sql, got, expected)


# -- stored schema text --------------------------------------------------------

_CREATES = [
    "create table t{n}(a primary key) without rowid", "create table t{n}(a integer primary key) strict",
    "create temp table if not exists t{n} (a)", "create table main.t{n}(a, b /* c */)",
    "CREATE INDEX i{n} ON base(a)", "CREATE unique INDEX if not exists main.i{n} ON base(a) where a>1",
    "create view v{n} as select 1", "create view \"v{n}\"(x) as select 1",
    "create trigger tr{n} after insert on base begin select 1; end",
    "create temp trigger tr{n} after insert on base begin select 1; end",
    "create virtual table vt{n} using fts5(a, b)", "create table t{n}(a int primary key) strict, without rowid",
    "CREATE TABLE t{n}(x int) , strict",
]
_ENDINGS = ["", ";", "  ;", " -- c\n", " /* c */ ;", "\n\n", " -- c"]


@pytest.mark.timeout(60)
@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_CREATES), st.sampled_from(_ENDINGS), st.sampled_from(["", "  ", "\n"]))
def test_schema_text_matches_sqlite_schema(template, ending, lead):
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE base(a, b)")
    sql = lead + template.format(n=1) + ending
    con.executescript(sql)
    stmt = parse_one(sql)
    master = "sqlite_temp_master" if getattr(stmt, "temp", False) else "sqlite_master"
    stored = con.execute(f"SELECT sql FROM {master} WHERE name = ?", (stmt.name,)).fetchone()[0]
    assert stmt.schema_sql == stored
    assert stmt.sql == sql[stmt.span[0]:stmt.span[1]]
    assert stmt.sql.startswith(("create", "CREATE")) and not stmt.sql.endswith((";", " "))


def test_parse_first_never_looks_past_the_statement():
    # the tail may hold anything, as with sqlite3_prepare
    for tail in ("'unterminated", "SELEC", "\x01", "CREATE TABLE ("):
        stmt, pos = parse_first("SELECT 1;" + tail)
        assert isinstance(stmt, A.Select) and pos == 9
