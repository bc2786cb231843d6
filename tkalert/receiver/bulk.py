"""Set-wise SQL for the sweep: many rows in one statement, as plain tuples, on SQLite and PostgreSQL alike.

The sweep (tkalert.receiver.escalate) handles thousands of systems at once after an outage or a relay failure.
Through the ORM each row costs a model instance (about 20 us), `bulk_create` half a millisecond, and each value
of an IN list a Python conversion; here a batch is a handful of statements whatever its size:
  insert_new    INSERT ... ON CONFLICT DO NOTHING, RETURNING what it inserted: a row a unique key already holds
                (a racing writer's) stays as it is and is not returned
  update_where  a compare-and-set over many ids (`UPDATE ... WHERE id IN ids AND <still as read>`), returning the
                ids it changed: only those won
  in_ids        `column IN ids` as one parameter, for any other statement
  select_in     a SELECT over `column IN ids`, its rows as tuples (the ids bound by the server on PostgreSQL)
PostgreSQL gets each column as one array (`unnest`, `= ANY`); SQLite gets executemany or multi-row VALUES under its
parameter limit, and an id list as one JSON parameter (`json_each`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

from django.db import connection

SQLITE_PARAMETERS = 32766  # SQLITE_MAX_VARIABLE_NUMBER since 3.32 (bookworm has 3.40)


def postgresql() -> bool:
    return connection.vendor == "postgresql"


def in_ids(column: str, ids: Iterable[int]) -> tuple[str, list]:
    """`column IN ids` as SQL with one parameter, however many ids."""
    ids = list(ids)
    if postgresql():
        return f"{column} = ANY(%s)", [ids]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(ids)]


def select_in(sql: str, column: str, ids: Iterable[int], params: Sequence = ()) -> list[tuple]:
    """The rows of `sql`, a SELECT whose `{where}` becomes `column IN ids` (after `params`), as tuples; times
    aware on SQLite too (its raw cursor gives them naive, in UTC)."""
    ids = list(ids)
    if not ids:
        return []
    if postgresql():
        return _bound(sql.format(where=f"{column} = ANY(%b::bigint[])"), [*params, ids], fetch=True)
    where, id_params = in_ids(column, ids)
    with connection.cursor() as cursor:
        cursor.execute(sql.format(where=where), [*params, *id_params])
        return [tuple(value.replace(tzinfo=timezone.utc) if isinstance(value, datetime) else value for value in row)
                for row in cursor.fetchall()]


def insert_new(model, fields: Sequence[str], rows: Sequence[tuple], returning: Sequence[str] = ()) -> list[tuple]:
    """INSERT the rows (values in the order of `fields`, model field names) unless a unique key holds them; the
    inserted rows' `returning` columns."""
    if not rows:
        return []
    table, columns, types = _columns(model, fields)
    adapted = _adapted(model, fields, rows)
    back = f" RETURNING {', '.join(returning)}" if returning else ""
    if postgresql():
        picks, source, params = _unnest(types, adapted)
        return _bound(f"INSERT INTO {table} ({columns}) SELECT {', '.join(picks)} FROM {source} "
                      f"ON CONFLICT DO NOTHING{back}", params, fetch=bool(returning))
    with connection.cursor() as cursor:
        values = list(zip(*adapted, strict=True))
        if not returning:
            marks = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING", values)
            return []
        found, step = [], SQLITE_PARAMETERS // len(fields)
        for start in range(0, len(values), step):
            chunk = values[start:start + step]
            marks = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(chunk))
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {marks} ON CONFLICT DO NOTHING{back}",
                           [value for row in chunk for value in row])
            found += cursor.fetchall()
        return found


def with_defaults(model, fields: Sequence[str], rows: Sequence[tuple]) -> tuple[list[str], list[tuple]]:
    """`fields` and `rows` completed with every other column's default, as Model.save would write them (a raw
    INSERT gets no default from Django, and the columns have none in the database)."""
    given = set(fields)
    rest = [f for f in model._meta.concrete_fields if not f.primary_key and f.name not in given]
    defaults = tuple(f.get_default() for f in rest)
    return [*fields, *(f.name for f in rest)], [(*row, *defaults) for row in rows]


def update_rows(model, fields: Sequence[str], rows: Sequence[tuple]) -> None:
    """UPDATE each row by its id with its own values: rows are (id, values in the order of `fields`). One statement
    on PostgreSQL (`UPDATE ... FROM unnest(...)`), one executemany of a statement compiled once on SQLite."""
    if not rows:
        return
    table, _, types = _columns(model, fields)
    quote = connection.ops.quote_name
    names = [quote(model._meta.get_field(name).column) for name in fields]
    adapted = _adapted(model, ["id", *fields], rows)
    if postgresql():
        picks, source, params = _unnest(["bigint", *types], adapted)
        sets = ", ".join(f"{name} = {pick}" for name, pick in zip(names, picks[1:], strict=True))
        _bound(f"UPDATE {table} SET {sets} FROM {source} WHERE {table}.id = {picks[0]}", params)
        return
    sets = ", ".join(f"{name} = %s" for name in names)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE id = %s",
                           [(*values, pk) for pk, *values in zip(*adapted, strict=True)])


def update_where(model, ids: Iterable[int], changes: dict, condition: str = "", params: Sequence = ()) -> list[int]:
    """UPDATE the rows of `ids` that still meet `condition` (SQL over the table's columns): the ids changed."""
    ids = list(ids)
    if not ids:
        return []
    table = model._meta.db_table
    quote = connection.ops.quote_name
    names = list(changes)
    sets = ", ".join(f"{quote(model._meta.get_field(name).column)} = %s" for name in names)
    value_row = [value for value, in _adapted(model, names, [tuple(changes.values())])]
    where, where_params = in_ids("id", ids)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {sets} WHERE {where}{' AND ' + condition if condition else ''} "
                       "RETURNING id", [*value_row, *where_params, *params])
        return [pk for pk, in cursor.fetchall()]


def _unnest(types: Sequence[str], columns: Sequence[list]) -> tuple[list[str], str, list]:
    """PostgreSQL: the columns as one `unnest` of arrays (binary parameters): each column's expression, the FROM
    source and the parameters. A column with one value for all rows (a batch's `now`, a state, all NULL) goes
    once, not as an array; the first column always as an array (it gives the row count)."""
    picks, arrays, names, scalars, lists = [], [], [], [], []
    for index, (kind, column) in enumerate(zip(types, columns, strict=True)):
        if index > 0 and all(value == column[0] for value in column):
            picks.append(f"%b::{kind}")
            scalars.append(column[0])
        else:
            picks.append(f"u.c{index}")
            arrays.append(f"%b::{kind}[]")
            names.append(f"c{index}")
            lists.append(column)
    # the scalars come first in the SQL text (in the SELECT or SET list), the arrays after (in FROM)
    return picks, f"unnest({', '.join(arrays)}) AS u({', '.join(names)})", scalars + lists


def _bound(sql: str, params: list, fetch: bool = False) -> list[tuple]:
    """One statement on PostgreSQL with its arrays as binary parameters, bound by the server: Django's cursor binds
    on the client, quoting every element into the SQL text for the server to parse again, which for ten thousand
    mails costs as much as the INSERT itself. Same connection and transaction as the ORM's, same error classes."""
    import psycopg

    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        # rows back in binary as well: ten thousand times parsed from text cost more than the query
        cursor.execute(sql, params, binary=fetch)
        return cursor.fetchall() if fetch else []


def _columns(model, fields: Sequence[str]) -> tuple[str, str, list[str]]:
    found = [model._meta.get_field(name) for name in fields]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in found)
    return model._meta.db_table, columns, [field.db_type(connection) for field in found]


def _adapted(model, fields: Sequence[str], rows: Sequence[tuple]) -> list[list]:
    """The rows' columns, with JSON as text and, on SQLite, times as its text (each distinct time converted once:
    a batch's rows share `now`)."""
    columns = [list(column) for column in zip(*rows, strict=True)]
    for index, name in enumerate(fields):
        kind = model._meta.get_field(name).get_internal_type()
        if kind == "JSONField":
            columns[index] = _json_texts(columns[index])
        elif kind == "DateTimeField" and not postgresql():
            seen: dict = {None: None}
            adapt = connection.ops.adapt_datetimefield_value
            columns[index] = [seen[value] if value in seen else seen.setdefault(value, adapt(value))
                              for value in columns[index]]
    return columns


def _json_texts(values: list) -> list:
    """Each value as JSON text, a run of the same object (a batch's shared `{}`) encoded once."""
    texts, last, text = [], object(), None
    for value in values:
        if value is not last:
            last, text = value, None if value is None else json.dumps(value)
        texts.append(text)
    return texts
