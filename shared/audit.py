"""The audit log: who changed what, when, written in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from shared.db import InfraTables, utcnow


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    county_id: str | None = None,
    township_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    infra: InfraTables = session.info["shian.infra"]
    session.execute(
        infra.audit_log.insert().values(
            at=utcnow(),
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            county_id=county_id,
            township_id=township_id,
            detail=detail,
        )
    )


def record_many(session: Session, entries: Sequence[dict[str, Any]]) -> None:
    """Many audit lines in one statement (a bulk import); each entry has record()'s keywords."""
    if not entries:
        return
    infra: InfraTables = session.info["shian.infra"]
    now = utcnow()
    session.execute(
        infra.audit_log.insert(),
        [
            {
                "at": now,
                "county_id": None,
                "township_id": None,
                "detail": None,
                **entry,
            }
            for entry in entries
        ],
    )
