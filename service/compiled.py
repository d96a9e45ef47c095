"""Statements compiled to SQL once per database and shape, for the requests that run most often.

peewee compiles a query's SQL every time it runs (about a quarter of a millisecond for
a claim's select) and builds a model row per result. A statement here is a function
(shape, params) -> peewee query whose SQL depends only on the database, the shape and
the number of parameters; it is compiled the first time and its raw rows returned.
"""

import functools

from .db import db


def rows(statement, params, shape=None):
    """The raw rows of statement(shape, params), its SQL compiled once per database, shape and parameter count."""
    params = list(params)
    return db.execute_sql(_compiled(type(db.obj), statement, shape, len(params)), params).fetchall()


@functools.lru_cache(maxsize=256)
def _compiled(database, statement, shape, count):
    """The SQL text of a statement; it must take its parameters in the order its SQL names them (checked here)."""
    stand_ins = list(range(1, count + 1))
    sql, params = statement(shape, stand_ins).sql()
    if [float(p) for p in params] != stand_ins:
        raise AssertionError(f"{statement.__name__} does not name its parameters in the order it takes them")
    return sql
