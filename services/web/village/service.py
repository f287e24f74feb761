"""The village coordinator's work: what goes to the services, and the banquet hint.

Plain functions over the client, so the views stay thin. The village is always the account's own
(the services refuse any other: scoping stays where it is enforced).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.web.client import Refused, ServiceClient
from services.web.forms import Form
from services.web.labels import BEIJING
from services.web.session import WebSession

MAX_PEOPLE = 1_000_000

INCIDENT_FIELDS = (
    "place_kind",
    "ill_count",
    "hospitalised_count",
    "death_count",
    "onset_at",
    "suspected_food",
    "address",
    "description",
)
INCIDENT_LABELS = {
    "place_kind": "发生场所",
    "ill_count": "发病人数",
    "hospitalised_count": "住院人数",
    "death_count": "死亡人数",
    "onset_at": "首例发病时间",
    "suspected_food": "可疑食品",
    "address": "具体地点",
    "description": "情况描述",
}
BANQUET_FIELDS = (
    "host",
    "occasion",
    "held_on",
    "venue",
    "tables",
    "people",
    "cook_name",
    "cook_health",
    "cook_certificate",
    "food_sources",
)
BANQUET_LABELS = {
    "host": "办宴人",
    "occasion": "宴席类型",
    "held_on": "举办日期",
    "venue": "举办地点",
    "tables": "桌数",
    "people": "人数",
    "cook_name": "厨师姓名",
    "cook_health": "厨师健康证",
    "cook_certificate": "健康证编号",
    "food_sources": "食材来源",
}
# the service's field names, mapped to the form's
BANQUET_SERVICE_FIELDS = {
    "host": "host",
    "occasion": "occasion",
    "held_on": "held_on",
    "venue": "venue",
    "tables": "tables",
    "people": "people",
    "cook.name": "cook_name",
    "cook.health_status": "cook_health",
    "cook.certificate_number": "cook_certificate",
    "cook": "cook_name",
    "food_sources": "food_sources",
}


def incident_body(form: Form, user_township: str, user_village: str, now: datetime) -> dict[str, Any] | None:
    """The alerts request for the report form, or None with the form's errors set."""
    form.required("place_kind", "description")
    ill = form.integer("ill_count", low=0, high=MAX_PEOPLE)
    hospitalised = form.integer("hospitalised_count", low=0, high=MAX_PEOPLE, default=0)
    dead = form.integer("death_count", low=0, high=MAX_PEOPLE, default=0)
    if ill is not None and hospitalised is not None and hospitalised > ill:
        form.error("hospitalised_count", "不能多于发病人数（已计入发病人数）")
    if ill is not None and dead is not None and dead > ill:
        form.error("death_count", "不能多于发病人数（已计入发病人数）")
    onset: datetime | None = None
    if form.get("onset_at"):
        try:
            onset = datetime.fromisoformat(form.get("onset_at")).replace(tzinfo=BEIJING)
        except ValueError:
            form.error("onset_at", "时间格式不对")
        else:
            if onset > now:
                form.error("onset_at", "不能晚于现在")
    if len(form.get("description")) > 4000:
        form.error("description", "太长了，最多 4000 个字")
    if len(form.get("suspected_food")) > 300:
        form.error("suspected_food", "太长了，最多 300 个字")
    if len(form.get("address")) > 300:
        form.error("address", "太长了，最多 300 个字")
    if not form.ok:
        return None
    return {
        "township_id": user_township,
        "village_id": user_village,
        "place_kind": form.get("place_kind"),
        "ill_count": ill,
        "hospitalised_count": hospitalised,
        "death_count": dead,
        "onset_at": onset.isoformat() if onset else None,
        "suspected_food": form.get("suspected_food") or None,
        "address": form.get("address") or None,
        "description": form.get("description"),
        "reporter_kind": "village_coordinator",
    }


def banquet_body(form: Form, village_id: str) -> dict[str, Any] | None:
    form.required("host", "occasion", "held_on", "venue", "cook_name", "cook_health", "food_sources")
    tables = form.integer("tables", low=1, high=1000)
    people = form.integer("people", low=1, high=20_000)
    if form.get("held_on"):
        try:
            date.fromisoformat(form.get("held_on"))
        except ValueError:
            form.error("held_on", "日期格式不对")
    sources = [line.strip() for line in form.get("food_sources").splitlines() if line.strip()]
    if len(sources) > 50:
        form.error("food_sources", "最多 50 项")
    if not form.ok:
        return None
    return {
        "village_id": village_id,
        "host": form.get("host"),
        "occasion": form.get("occasion"),
        "held_on": form.get("held_on"),
        "venue": form.get("venue"),
        "tables": tables,
        "people": people,
        "cook": {
            "name": form.get("cook_name"),
            "health_status": form.get("cook_health"),
            "certificate_number": form.get("cook_certificate") or None,
        },
        "food_sources": sources,
    }


async def banquet_hint(
    client: ServiceClient, session: WebSession, *, occasion: str, held_on: str, people: str, tables: str
) -> dict[str, Any] | None:
    """What the registry will decide about a filing, said before it is sent: its own rules
    (`GET /banquets/assessment`), so the hint and the record agree. None while the figures are
    not yet enough to tell."""
    try:
        date.fromisoformat(held_on)
        count = int(people or 0)
        table_count = int(tables or 0)
    except ValueError:
        return None
    if not occasion or not 0 <= count <= 20_000 or not 0 <= table_count <= 1000:
        return None
    try:
        answer: dict[str, Any] = await client.get(
            session,
            "registry",
            "/banquets/assessment",
            occasion=occasion,
            held_on=held_on,
            people=count,
            tables=table_count,
        )
    except Refused:
        return None
    return answer


def who_was_notified(
    timeline: list[dict[str, Any]], notifications: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each escalation step (who was told, when) with how its messages fared: delivered when
    one of the step's notifications was, failed when all failed, else still being sent."""
    by_step: dict[Any, list[str]] = {}
    for note in notifications:
        by_step.setdefault(note.get("step"), []).append(str(note.get("status")))
    told = []
    for entry in timeline:
        if entry.get("kind") != "escalated":
            continue
        detail = entry.get("detail") or {}
        statuses = by_step.get(detail.get("step"), [])
        if "delivered" in statuses:
            status = "delivered"
        elif statuses and all(value == "failed" for value in statuses):
            status = "failed"
        else:
            status = "pending"
        told.append({"tier": detail.get("tier"), "at": entry.get("at"), "status": status})
    return told


async def village_records(client: ServiceClient, session: WebSession) -> tuple[list[Any], list[Any]]:
    """The village's incidents (open and closed) and banquets, newest first."""
    incidents = await client.get(session, "alerts", "/incidents", state="all", limit=50)
    banquets = await client.get(
        session, "registry", "/banquets", village_id=session.user.village_id, limit=50
    )
    return incidents.get("items", []), banquets.get("items", [])


async def incident_with_notifications(
    client: ServiceClient, session: WebSession, incident_id: str
) -> tuple[dict[str, Any], list[Any], list[Any]]:
    incident = await client.get(session, "alerts", f"/incidents/{incident_id}")
    timeline = await client.get(session, "alerts", f"/incidents/{incident_id}/timeline")
    notifications = await client.get(session, "alerts", f"/incidents/{incident_id}/notifications")
    return incident, timeline, notifications
