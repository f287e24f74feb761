"""Response times: how long incidents waited for an acknowledgement and for closing."""

from __future__ import annotations

import statistics
from datetime import datetime

from sqlmodel import Session, col, select

from services.alerts.incidents import timeline
from services.alerts.incidents.models import Incident, ResponseStats, ResponseTimes, TownshipResponse
from shared.auth import Principal


def response_stats(
    *, session: Session, principal: Principal, since: datetime | None, until: datetime | None
) -> ResponseStats:
    """Time to acknowledge and to close, per incident and per township, for incidents reported in
    the period (all, when none is given)."""
    query = select(Incident).where(principal.scope(Incident))
    if since is not None:
        query = query.where(Incident.reported_at >= since)
    if until is not None:
        query = query.where(Incident.reported_at < until)
    rows = session.exec(query.order_by(col(Incident.township_id), col(Incident.reported_at))).all()
    per_incident = [
        ResponseTimes(
            incident_id=row.id,
            township_id=row.township_id,
            level=row.level,
            seconds_to_acknowledge=timeline.seconds_since(row.reported_at, row.first_acknowledged_at)
            if row.first_acknowledged_at
            else None,
            seconds_to_close=timeline.seconds_since(row.reported_at, row.closed_at)
            if row.closed_at
            else None,
        )
        for row in rows
    ]
    townships: dict[str, list[ResponseTimes]] = {}
    for times in per_incident:
        townships.setdefault(times.township_id, []).append(times)
    summary = []
    for township_id, items in sorted(townships.items()):
        acks = [i.seconds_to_acknowledge for i in items if i.seconds_to_acknowledge is not None]
        closes = [i.seconds_to_close for i in items if i.seconds_to_close is not None]
        summary.append(
            TownshipResponse(
                township_id=township_id,
                incidents=len(items),
                acknowledged=len(acks),
                closed=len(closes),
                mean_seconds_to_acknowledge=round(statistics.fmean(acks), 3) if acks else None,
                max_seconds_to_acknowledge=max(acks) if acks else None,
                mean_seconds_to_close=round(statistics.fmean(closes), 3) if closes else None,
                max_seconds_to_close=max(closes) if closes else None,
            )
        )
    return ResponseStats(incidents=per_incident, townships=summary)
