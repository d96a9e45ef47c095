"""SQL for the hot statements, made once per shape instead of compiled by peewee at every run.

peewee compiles every query it runs (about 0.25 ms for a small one, far more for an
`IN` list of hundreds of ids); a write runs the same few statements for every claim
it touches, and a read of a claim or a page the same few for every request. Two ways
here, both run on the request's connection: the write path's statements as text, from
the models' table and column names with the database's own placeholder; and the reads'
as peewee queries, compiled once per database and shape (compiled_rows).
"""

import functools

from peewee import __exception_wrapper__

from .db import db


@functools.cache
def table(model):
    """A model's table name, quoted."""
    return f'"{model._meta.table_name}"'


def columns(model, *names):
    """The quoted columns of these fields of a model, comma-separated."""
    return _columns(model, names)


@functools.cache
def _columns(model, names):
    # A model's columns never change, and every write and read names the same few lists.
    return ", ".join(f'"{model._meta.fields[name].column_name}"' for name in names)


def param():
    """The placeholder of the database in use.

    Read from the database itself, here and below: an attribute that peewee's DatabaseProxy
    does not hold costs an AttributeError before it is looked up on the database (0.6 µs;
    a write names dozens).
    """
    return db.obj.param


def marks(count):
    """`count` placeholders of the database in use, comma-separated (for VALUES or IN lists)."""
    return _marks(db.obj.param, count)


@functools.cache
def _marks(param, count):
    return ", ".join([param] * count)


def text_once(build):
    """Decorate build(param, *args), which puts together SQL text for a placeholder: called with *args, it gives
    the text for the database in use, put together once per placeholder and arguments (a write runs the same
    few statements every time, whose text took longer to put together than some of them took to run)."""
    made = functools.lru_cache(maxsize=256)(build)

    @functools.wraps(build)
    def text(*args):
        return made(db.obj.param, *args)

    return text


def rows(sql, params=()):
    """Run a query and return its rows as tuples."""
    return list(db.obj.execute_sql(sql, params))


def select(model, where, params=(), lock=None):
    """Model instances of the rows `where` selects (SQL text after WHERE, ORDER BY included), built without
    peewee compiling the query; `lock` ("FOR UPDATE", "FOR SHARE") is added where the database locks rows."""
    return [instance(model, row) for row in select_rows(model, where, params, lock)]


def select_rows(model, where, params=(), lock=None):
    """What select reads, as rows of every field of the model in their stored form (see instance)."""
    return rows(_select_text(model, where, lock if lock and db.obj.for_update else None), params)


@functools.lru_cache(maxsize=256)
def _select_text(model, where, lock):
    # Made once per shape: every request reads its token by the same query.
    query = f"SELECT {_every_column(model)} FROM {table(model)} WHERE {where}"
    return f"{query} {lock}" if lock else query


@functools.cache
def _every_column(model):
    return columns(model, *[f.name for f in model._meta.sorted_fields])


def instance(model, row):
    """A model instance of a row of select_rows."""
    return model(**{f.name: f.python_value(v) for f, v in zip(model._meta.sorted_fields, row, strict=True)})


def run(sql, params=()):
    """Run one statement."""
    db.obj.execute_sql(sql, params)


def insert(model, names, values):
    """Insert rows of values already in their stored form (times as microseconds, JSON as text); `names` a tuple."""
    if values:
        run_many(_insert_text(model, names), values)


@text_once
def _insert_text(param, model, names):
    # Made once per table, columns and placeholder: a write inserts into the same few tables every time.
    return f"INSERT INTO {table(model)} ({columns(model, *names)}) VALUES ({_marks(param, len(names))})"


def run_many(sql, params):
    """Run one statement for each parameter row, prepared once; driver errors become peewee's, as for a query."""
    params = params if isinstance(params, list) else list(params)
    if len(params) == 1:
        # psycopg runs executemany in pipeline mode, whose setting up and syncing cost more than one row's round trip.
        run(sql, params[0])
    elif params:
        with __exception_wrapper__:
            db.obj.cursor().executemany(sql, params)


def compiled_rows(statement, params, shape=None):
    """The raw rows of statement(shape, params), a function giving a peewee query, whose SQL is compiled once per
    database, shape and number of parameters."""
    params = list(params)
    return db.obj.execute_sql(_compiled(type(db.obj), statement, shape, len(params)), params).fetchall()


@functools.lru_cache(maxsize=256)
def _compiled(database, statement, shape, count):
    """The SQL text of a statement; it must take its parameters in the order its SQL names them (checked here)."""
    stand_ins = list(range(1, count + 1))
    text, params = statement(shape, stand_ins).sql()
    if [float(p) for p in params] != stand_ins:
        raise AssertionError(f"{statement.__name__} does not name its parameters in the order it takes them")
    return text


def chunks(items, size=900):
    """Slices small enough for one statement's bound parameters on every database."""
    items = list(items)
    if len(items) <= size:  # nearly always: a write names a few
        return [items] if items else []
    return [items[i:i + size] for i in range(0, len(items), size)]
