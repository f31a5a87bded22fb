"""Name lookup for SQL functions, aggregates and collations, per connection.

Single job: one place the compiler asks "what is function f with n
arguments / aggregate a / collation c?". A connection's own definitions
(``create_function``, ``create_aggregate``, ``create_collation``) shadow the
built-ins of ``sql.functions``, ``sql.aggregates`` and ``sql.collation``, as
in SQLite where user functions are per connection. The engine attaches the
connection's registry to every ``Schema`` it builds (``schema.registry``);
code that compiles without a connection uses ``BUILTIN``.
"""
from __future__ import annotations

from typing import Any

from sql import aggregates as AG
from sql import functions as F
from sql.collation import Collation, get_collation

__all__ = ["Registry", "BUILTIN", "registry_of"]


class Registry:
    """Built-ins plus a connection's own functions, aggregates and collations."""

    def __init__(self) -> None:
        self.functions: dict[str, Any] = {}   # lower name -> FunctionDef (user)
        self.aggregates: dict[str, Any] = {}  # lower name -> AggregateDef (user)
        self.collations: dict[str, Collation] = {}  # upper name -> Collation (user)
        #: bumped on every change so that compiled plans are rebuilt
        self.generation = 0

    def function(self, name: str, argc: int) -> "F.FunctionDef":
        """The scalar function for ``argc`` arguments, or SQLite's error."""
        d = self.functions.get(name.lower())
        if d is not None and d.accepts(argc):
            return d
        return F.lookup(name, argc)

    def aggregate(self, name: str, argc: int) -> "AG.AggregateDef | None":
        """The aggregate for ``argc`` arguments; None when ``name`` is no aggregate."""
        d = self.aggregates.get(name.lower())
        if d is not None and d.accepts(argc):
            return d
        return AG.lookup_aggregate(name, argc)

    def collation(self, name: str) -> Collation:
        """The collation ``name``, or OperationalError("no such collation sequence: x")."""
        c = self.collations.get(name.upper())
        if c is not None:
            return c
        return get_collation(name)


BUILTIN = Registry()


def registry_of(schema: Any) -> Registry:
    """The registry attached to ``schema`` by the engine, else the built-ins."""
    return getattr(schema, "registry", None) or BUILTIN
