"""Keyed writes for projections (read models of another service's records): insert the row or set
the given columns of the existing one, whatever order the events came in.

Statements are built once per table and shape and executed with parameters, so SQLAlchemy
compiles each shape once: building a statement per event cost more than executing it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

# Each dialect's own INSERT, which has ON CONFLICT (the generic sa.Insert has not).
DialectInsert = sqlite.Insert | postgresql.Insert
DIALECT_INSERTS: dict[str, Callable[[sa.Table], DialectInsert]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


@cache
def _upsert_statement(
    dialect: str, table: sa.Table, keys: tuple[str, ...], columns: tuple[str, ...]
) -> DialectInsert:
    statement = DIALECT_INSERTS[dialect](table)
    if not columns:
        return statement.on_conflict_do_nothing(index_elements=list(keys))
    return statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in columns}
    )


def upsert(session: Session, table: sa.Table, key: dict[str, Any], values: dict[str, Any]) -> None:
    """INSERT ... ON CONFLICT (key) DO UPDATE SET values: one statement, whatever came before.

    Only `values` are overwritten on conflict, so an event that knows a few facts of a record never
    erases what another event recorded."""
    dialect = session.get_bind().dialect.name
    statement = _upsert_statement(dialect, table, tuple(key), tuple(values))
    session.connection().execute(statement, {**key, **values})


@cache
def _update_statement(table: sa.Table, keys: tuple[str, ...], columns: tuple[str, ...]) -> sa.Update:
    condition = sa.and_(*(table.c[name] == sa.bindparam(f"key_{name}") for name in keys))
    return table.update().where(condition).values({name: sa.bindparam(f"new_{name}") for name in columns})


def update(session: Session, table: sa.Table, key: dict[str, Any], values: dict[str, Any]) -> int:
    """Set columns of an existing row; returns the rows changed (0 when the record is unknown)."""
    statement = _update_statement(table, tuple(key), tuple(values))
    params = {f"key_{name}": value for name, value in key.items()} | {
        f"new_{n}": v for n, v in values.items()
    }
    return session.connection().execute(statement, params).rowcount
