"""A batch's rows inserted by one statement whatever their number (PostgreSQL).

``executemany`` of an INSERT makes PostgreSQL plan and run the statement once per row: for the
writer's batches of a few dozen beacons that was a third of ``store()``. On PostgreSQL the rows
go instead as one array per column, ``INSERT … SELECT … FROM unnest(:a, :b, …)``: one statement
text for every batch size (prepared once by the driver), one execution. The arrays travel in
binary form (``portal.db`` registers psycopg's binary list dumper: the text form escaped every
string with a regular expression, a quarter of the writer's CPU). On SQLite, where a
statement costs little and arrays do not exist, the rows go by ``executemany`` as before.

``rows`` builds the statement (the caller may add ``on_conflict_*`` to it: the rows of one
upsert must not repeat a key, as with ``executemany``); ``Rows.run`` executes it.

A batch also waits for the server less: ``read_together`` sends several SELECTs that do not
depend on each other in one round trip, and ``pipelined`` sends every statement run inside it
without waiting for each answer (psycopg's pipeline mode, PostgreSQL; on SQLite, where there
is no round trip, both run statement by statement).
"""

from __future__ import annotations

import contextlib
import json
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import JSON, Float, String, Table, Text, any_, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select
from sqlalchemy.types import ARRAY, TypeDecorator


@dataclass(frozen=True, slots=True)
class Rows:
    """An INSERT of many rows: ``statement`` with its ``on_conflict_*``, if any, and how the
    rows are passed to it (``columns``: as arrays, PostgreSQL; empty: by ``executemany``)."""

    statement: Any
    columns: tuple[str, ...] = ()
    encoders: tuple[tuple[str, Callable[[Any], Any]], ...] = ()

    def run(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``rows`` (dicts of every column of the statement) in the caller's transaction."""
        if not rows:
            return
        if self.columns and rows[0].keys() != set(self.columns):
            # Arrays carry only the named columns: a key left out would not be stored here,
            # while SQLite's executemany stores it.
            raise ValueError(f"rows have {sorted(rows[0])}, the statement {self.columns}")
        if not self.columns:
            connection.execute(self.statement, rows)
            return
        arrays = {name: [row[name] for row in rows] for name in self.columns}
        for name, encode in self.encoders:
            arrays[name] = [encode(value) for value in arrays[name]]
        connection.execute(self.statement, arrays)


def rows(
    dialect: str,
    table: Table,
    columns: Sequence[str],
    finish: Callable[[Any], Any] = lambda statement: statement,
) -> Rows:
    """An INSERT of ``columns`` into ``table`` for the dialect, ready to ``run``; ``finish`` gets
    the dialect's ``insert`` (which has ``excluded``) and may add ``on_conflict_*`` to it."""
    if dialect != "postgresql":
        return Rows(finish(sqlite.insert(table)))
    types = {name: table.c[name].type for name in columns}
    arrays = [bindparam(name, type_=ARRAY(_element(types[name]))) for name in columns]
    given = func.unnest(*arrays).table_valued(*columns).render_derived(name="given")
    chosen = [
        cast(given.c[name], JSON) if isinstance(types[name], JSON) else given.c[name]
        for name in columns
    ]
    encoders = tuple(
        (name, _json if isinstance(kind, JSON) else _float)
        for name, kind in types.items()
        if isinstance(kind, JSON | Float)
    )
    statement = postgresql.insert(table).from_select(list(columns), select(*chosen))
    return Rows(finish(statement), tuple(columns), encoders)


def one_of(dialect: str, column: Any, name: str) -> Any:
    """``column`` is one of the list passed as ``name``: on PostgreSQL ``= ANY(:name)``, one
    statement text whatever the list's length; elsewhere an expanding ``IN``."""
    if dialect != "postgresql":
        return column.in_(bindparam(name, expanding=True))
    return column == any_(bindparam(name, type_=ARRAY(_element(column.type))))


def _element(column_type: Any) -> Any:
    """An array element's type for a column: text without a length (an explicit cast to
    ``varchar(n)`` cuts a longer value short without a word; the insert's own assignment then
    refuses it, as the row-by-row statement did), JSON as its text, anything else as is."""
    if isinstance(column_type, JSON | String):
        return Text()
    return column_type


def _float(value: float | None) -> float | None:
    """A float column's value as a float: an array holds one type, and 15 and 7.5 are two."""
    return None if value is None else float(value)


def _json(value: Any) -> str:
    """A JSON column's value as its text (``None`` is JSON ``null``, as SQLAlchemy stores it)."""
    return json.dumps(value)


class Read(NamedTuple):
    """A SELECT and its parameters for ``read_together``; ``planned_each_time`` (PostgreSQL):
    never a prepared statement, whose generic plan is kept for the connection's life."""

    statement: Select[Any]
    parameters: dict[str, Any]
    planned_each_time: bool = False


def read_together(
    connection: Connection, reads: Sequence[Read], *, first: Callable[[], None] = lambda: None
) -> list[list[tuple[Any, ...]]]:
    """Each read's rows, in order; on PostgreSQL all sent in one round trip (they run one after
    the other on the server, in the caller's transaction, as if sent one by one). ``first``
    runs statements that return nothing before them, in the same round trip.

    The rows are the driver's, with the columns' ``TypeDecorator`` results applied (aware UTC
    datetimes): a statement for it selects columns whose other types need no conversion."""
    if connection.dialect.name != "postgresql":
        first()
        return [[tuple(row) for row in connection.execute(*read[:2])] for read in reads]
    driver = connection.connection.driver_connection
    sent = []
    try:
        with _pipeline(connection):
            first()
            for read in reads:
                sql, converters = _compiled(read.statement, connection.dialect)
                cursor = driver.cursor()  # type: ignore[union-attr]
                sent.append((cursor, converters))
                prepare = False if read.planned_each_time else None
                cursor.execute(sql, read.parameters, prepare=prepare)
        found: list[list[tuple[Any, ...]]] = []
        for cursor, converters in sent:
            rows = cursor.fetchall()
            if any(converters):
                rows = [
                    tuple(v if c is None else c(v) for c, v in zip(converters, row, strict=True))
                    for row in rows
                ]
            found.append(rows)
        return found
    finally:
        for cursor, _ in sent:
            cursor.close()


@contextlib.contextmanager
def pipelined(connection: Connection) -> Iterator[None]:
    """Statements run inside are sent without waiting for each one's answer (PostgreSQL), and
    all answered when the block ends: for statements that return no rows (INSERT, UPDATE
    without RETURNING). A statement's error surfaces as SQLAlchemy's exception, at a later
    statement of the block or at its end; the transaction is then failed, as after any
    error (a dropped connection is replaced by the pool's pre-ping at its next checkout)."""
    if connection.dialect.name != "postgresql":
        yield
        return
    with _pipeline(connection):
        yield


@contextlib.contextmanager
def _pipeline(connection: Connection) -> Iterator[None]:
    """psycopg's pipeline mode on ``connection``; an error the server answered with is raised as
    SQLAlchemy raises it for a statement run alone (``DBAPIError``, ``IntegrityError`` …)."""
    driver = connection.connection.driver_connection
    failure = connection.dialect.loaded_dbapi.Error
    try:
        with driver.pipeline():  # type: ignore[union-attr]
            yield
    except failure as error:
        raise DBAPIError.instance(None, None, error, failure, dialect=connection.dialect) from error


_Converter = Callable[[Any], Any] | None
_COMPILED: weakref.WeakKeyDictionary[Select[Any], tuple[str, tuple[_Converter, ...]]] = (
    weakref.WeakKeyDictionary()
)
"""Each ``Read`` statement's SQL (for PostgreSQL) and result converters, while it lives."""


def _compiled(statement: Select[Any], dialect: Dialect) -> tuple[str, tuple[_Converter, ...]]:
    found = _COMPILED.get(statement)
    if found is None:
        sql = str(statement.compile(dialect=dialect))
        if "POSTCOMPILE" in sql:  # an expanding IN: its list is rendered at execution
            raise ValueError("a read sent together takes arrays (bulk.one_of), not IN lists")
        converters = tuple(
            _converter(column.type, dialect) for column in statement.selected_columns
        )
        found = _COMPILED[statement] = (sql, converters)
    return found


def _converter(column_type: Any, dialect: Dialect) -> _Converter:
    if not isinstance(column_type, TypeDecorator):
        return None
    return lambda value: column_type.process_result_value(value, dialect)
