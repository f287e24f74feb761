"""The township office's other registers: campaigns and how far the township is with each,
banquets filed in its villages, the responsibility letters it signed, and its publicity events
and trainings (which the half-year summary counts). Lists and, where the office records them,
a form; the services decide and scope, as everywhere."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from services.web.client import ServiceClient
from services.web.forms import Form
from services.web.labels import VOCABULARIES
from services.web.session import WebSession

PUBLICITY_FIELDS = (
    "kind",
    "title",
    "held_on",
    "village_id",
    "venue",
    "banners",
    "boards",
    "leaflets",
    "people_consulted",
)
TRAINING_FIELDS = ("title", "audience", "held_on", "village_id", "attendees", "hours")
LETTER_FIELDS = ("party_kind", "village_id", "business_id", "year", "signed_on", "signatory")
LABELS = {
    "kind": "形式",
    "title": "主题",
    "held_on": "日期",
    "village_id": "村（可不填）",
    "venue": "地点",
    "banners": "横幅（条）",
    "boards": "展板（块）",
    "leaflets": "资料（份）",
    "people_consulted": "咨询人数",
    "audience": "培训对象",
    "attendees": "参训人数",
    "hours": "学时",
    "party_kind": "签订对象",
    "business_id": "经营主体",
    "year": "年度",
    "signed_on": "签订日期",
    "signatory": "签字人",
    "Idempotency-Key": "提交",
}
SERVICE_FIELDS = {name: name for name in LABELS}


async def campaigns(client: ServiceClient, session: WebSession) -> list[dict[str, Any]]:
    """Campaigns concerning the township, each with the township's target and inspections done."""
    found: list[dict[str, Any]] = await client.get(session, "inspection", "/campaigns")
    township = session.user.township_id
    progress = await asyncio.gather(
        *(client.get(session, "inspection", f"/campaigns/{item['id']}/progress") for item in found)
    )
    for item, answer in zip(found, progress, strict=True):
        own = next((row for row in answer.get("townships", []) if row.get("township_id") == township), None)
        item["target"] = own["target"] if own else item.get("targets", {}).get(township, 0)
        item["done"] = own["done"] if own else 0
        item["percent"] = min(100, round(100 * item["done"] / item["target"])) if item["target"] else None
    return sorted(found, key=lambda item: str(item["starts_on"]), reverse=True)


def _day(form: Form, name: str) -> str | None:
    try:
        return date.fromisoformat(form.get(name)).isoformat()
    except ValueError:
        form.error(name, "日期格式不对")
        return None


def _village(form: Form, villages: dict[str, str]) -> str | None:
    value = form.get("village_id")
    if value and value not in villages:
        form.error("village_id", "不在您负责的范围内")
    return value or None


def publicity_body(form: Form, villages: dict[str, str]) -> dict[str, Any] | None:
    form.required("kind", "title", "held_on")
    if form.get("kind") and form.get("kind") not in VOCABULARIES["publicity_kind"]:
        form.error("kind", "请从选项中选择")
    held = _day(form, "held_on") if form.get("held_on") else None
    counts = {
        name: form.integer(name, low=0, high=1_000_000, default=0)
        for name in ("banners", "boards", "leaflets", "people_consulted")
    }
    village = _village(form, villages)
    if not form.ok:
        return None
    return {
        "kind": form.get("kind"),
        "title": form.get("title"),
        "held_on": held,
        "village_id": village,
        "venue": form.get("venue") or None,
        **counts,
    }


def training_body(form: Form, villages: dict[str, str]) -> dict[str, Any] | None:
    form.required("title", "audience", "held_on", "attendees", "hours")
    if form.get("audience") and form.get("audience") not in VOCABULARIES["training_audience"]:
        form.error("audience", "请从选项中选择")
    held = _day(form, "held_on") if form.get("held_on") else None
    attendees = form.integer("attendees", low=1, high=100_000)
    hours: float | None = None
    if form.get("hours"):
        try:
            hours = float(form.get("hours"))
        except ValueError:
            form.error("hours", "请填写数字")
        else:
            if not 0 < hours <= 200:
                form.error("hours", "应在 0 到 200 之间")
    village = _village(form, villages)
    if not form.ok:
        return None
    return {
        "title": form.get("title"),
        "audience": form.get("audience"),
        "held_on": held,
        "village_id": village,
        "attendees": attendees,
        "hours": hours,
    }


def letter_body(form: Form, villages: dict[str, str], businesses: dict[str, str]) -> dict[str, Any] | None:
    form.required("party_kind", "year", "signed_on")
    kind = form.get("party_kind")
    if kind == "village":
        form.required("village_id")
        _village(form, villages)
    elif kind == "business":
        form.required("business_id")
        if form.get("business_id") and form.get("business_id") not in businesses:
            form.error("business_id", "不在您负责的范围内")
    elif kind:
        form.error("party_kind", "请从选项中选择")
    year = form.integer("year", low=2000, high=2100)
    signed = _day(form, "signed_on") if form.get("signed_on") else None
    if not form.ok:
        return None
    return {
        "party_kind": kind,
        "village_id": form.get("village_id") or None if kind == "village" else None,
        "business_id": form.get("business_id") or None if kind == "business" else None,
        "year": year,
        "signed_on": signed,
        "signatory": form.get("signatory") or None,
    }
