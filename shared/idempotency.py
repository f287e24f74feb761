"""Idempotency keys: a command retried with the same `Idempotency-Key` is answered, not repeated.

A client that lost the answer to a command (a dropped connection, a killed server, a phone that
went offline) sends it again with the same key. The first request claims the key by inserting its
row in the command's own transaction, and stores its answer in that row just before the commit:
the effect, its events and the answer are committed together or not at all. A repeat finds the
row and gets the first answer back, byte for byte, with `Idempotent-Replayed: true`, and writes
nothing. Two copies racing each other serialise on the row (SQLite's write lock, PostgreSQL's
unique index), so the second always sees the first's answer.

Keys belong to the caller (actor) that sent them: another caller's identical key is another key.
A key reused for a different request (another path or body) is refused with 422, as the
IETF draft "The Idempotency-Key HTTP Header Field" describes. Answers that are not 2xx are not
remembered: their transaction rolled back, so a retry runs again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from shared.db import InfraTables

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_HEADERS = ("content-type", "location")


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    headers: dict[str, str]
    body: bytes


class KeyReused(Exception):
    """The key was first used for a different request."""


def fingerprint(method: str, path: str, parts: dict[str, Any]) -> str:
    """What the request means: method, route and every argument it was called with, canonically
    encoded, so the same JSON sent with other spacing or key order is the same request."""
    digest = hashlib.sha256()
    digest.update(f"{method} {path}\n".encode())
    for name in sorted(parts):
        digest.update(name.encode() + b"=" + _canonical(parts[name]) + b"\n")
    return digest.hexdigest()


def _canonical(value: Any) -> bytes:
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest().encode()
    if hasattr(value, "model_dump"):
        return json.dumps(value.model_dump(mode="json"), sort_keys=True, ensure_ascii=False).encode()
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False).encode()


def claim(
    session: Session,
    *,
    actor: str,
    key: str,
    method: str,
    path: str,
    fingerprint: str,
    now: datetime,
) -> StoredAnswer | None:
    """Claim the key for this request in the session's transaction; or, when an earlier request
    holds it, return that request's answer (KeyReused if it was another request)."""
    table = _table(session)
    values = {
        "actor": actor,
        "key": key,
        "method": method,
        "path": path,
        "fingerprint": fingerprint,
        "created_at": now,
    }
    insert = pg_insert(table) if session.get_bind().dialect.name == "postgresql" else sqlite_insert(table)
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT DO NOTHING
    claimed = session.execute(insert.values(**values).on_conflict_do_nothing().returning(table.c.key))
    if claimed.first() is not None:
        return None
    row = session.execute(sa.select(table).where(table.c.actor == actor, table.c.key == key)).one()
    if row.fingerprint != fingerprint or row.method != method:
        raise KeyReused(f"this {HEADER} was first used for another request ({row.method} {row.path})")
    if row.status_code is None:  # committed without its answer: cannot happen, the two commit together
        raise KeyReused(f"this {HEADER} belongs to a request whose answer was not kept")
    return StoredAnswer(status_code=row.status_code, headers=dict(row.headers or {}), body=row.body or b"")


def remember(session: Session, *, actor: str, key: str, answer: StoredAnswer) -> None:
    """Keep the answer in the claimed row, in the same transaction as the command's effects."""
    table = _table(session)
    session.execute(
        table.update()
        .where(table.c.actor == actor, table.c.key == key)
        .values(status_code=answer.status_code, headers=answer.headers, body=answer.body)
    )


def forget_older_than(session: Session, cutoff: datetime) -> int:
    """Drop remembered answers older than the cutoff; returns how many."""
    table = _table(session)
    return session.exec(table.delete().where(table.c.created_at < cutoff)).rowcount or 0


def retention_cutoff(now: datetime, hours: int) -> datetime:
    return now - timedelta(hours=hours)


def _table(session: Session) -> sa.Table:
    infra: InfraTables = session.info["shian.infra"]
    return infra.idempotency
