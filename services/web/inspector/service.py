"""The inspector's work: the worklist, a business's page, the checklist and its verdict.

Plain functions over the client, so the views stay thin. What an inspector may see and record is
decided by the services (their township); the verdict shown before submitting is the inspection
service's own (`POST /inspections/preview`), from the same checks and rule tables as the record.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData, UploadFile

from services.web.client import Refused, ServiceClient
from services.web.forms import Form
from services.web.session import WebSession
from shared import filetypes

RESULTS = ("pass", "fail", "not_applicable")
KINDS = ("routine", "reinspection", "complaint_followup", "campaign", "school", "holiday", "joint")
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")
MAX_PHOTOS = 4
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # the inspection service's limit per photo
FIELDS = ("kind", "inspectors", "notes", "complaint_id", "idempotency_key")
LABELS = {
    "kind": "检查类型",
    "inspectors": "检查人员",
    "notes": "检查意见",
    "items": "检查项目",
    "photos": "现场照片",
    "complaint_id": "投诉",
    "business_id": "检查对象",
    "inspected_at": "检查时间",
    "checklist_version": "检查表版本",
    "idempotency_key": "提交编号",
}
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")
NAME_SPLIT = re.compile(r"[,，、;；\s]+")


@dataclass
class Recorded:
    """A checklist as filled in: the form's values, each item's result and note, the photos."""

    form: Form
    results: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    photos: list[UploadFile] = field(default_factory=list)


def follow_up(kind: str, complaint: str) -> str:
    """The query that carries a worklist follow-up (a re-inspection, a complaint to check) on to
    the checklist; empty for anything else (a hostile value never reaches a link)."""
    if kind == "reinspection":
        return "?kind=reinspection"
    if kind == "complaint_followup":
        try:
            return f"?kind=complaint_followup&complaint={uuid.UUID(complaint)}"
        except ValueError:
            return ""
    return ""


def new_key() -> str:
    return str(uuid.uuid4())


async def worklist(client: ServiceClient, session: WebSession) -> dict[str, Any]:
    """What is due and overdue in the inspector's township: planned inspections by risk level,
    rectification follow-ups, complaint assignments and urgent tasks (overdue first, as the
    service orders them)."""
    found: dict[str, Any] = await client.get(session, "inspection", "/worklist")
    found["overdue"] = sum(1 for item in found.get("items", []) if item["state"] == "overdue")
    return found


async def business_page(client: ServiceClient, session: WebSession, business_id: str) -> dict[str, Any]:
    """A business as the inspector needs it on site: particulars and licences, food handlers and
    their health certificates, grade history and open rectification orders."""
    business = await client.get(session, "registry", f"/businesses/{business_id}")
    staff = await client.get(session, "registry", f"/businesses/{business_id}/staff")
    grades = await client.get(session, "registry", f"/businesses/{business_id}/grades")
    orders = await client.get(
        session, "inspection", "/rectifications", business_id=business_id, status="open", limit=100
    )
    return {
        "business": business,
        "staff": [member for member in staff if member.get("active", True)],
        "grades": grades,
        "orders": orders.get("items", []),
    }


async def checklist_for(client: ServiceClient, session: WebSession, business_kind: str) -> dict[str, Any]:
    """The checklist in force for the business's kind, its items grouped by section in order."""
    template: dict[str, Any] = await client.get(
        session, "inspection", "/checklists/current", business_kind=business_kind
    )
    sections: dict[str, list[dict[str, Any]]] = {}
    for item in template["items"]:
        sections.setdefault(item["section"], []).append(item)
    template["sections"] = sections
    return template


def items_in(data: FormData) -> list[dict[str, Any]]:
    """The items a posted checklist names (`r-<code>` fields), for the preview, which needs no
    template of its own: the inspection service checks the codes against the checklist in force."""
    codes = [name[2:] for name in data if name.startswith("r-") and 0 < len(name) - 2 <= 20]
    return [{"code": code} for code in codes[:500]]


def read_checklist(data: FormData, template: dict[str, Any]) -> Recorded:
    """The posted checklist: `r-<code>` is an item's result, `n-<code>` its note."""
    recorded = Recorded(form=Form.read(data, FIELDS))
    for item in template["items"]:
        code = item["code"]
        result = data.get(f"r-{code}")
        if isinstance(result, str) and result in RESULTS:
            recorded.results[code] = result
        note = data.get(f"n-{code}")
        if isinstance(note, str) and note.strip():
            recorded.notes[code] = note.strip()
        recorded.form.values[f"n-{code}"] = recorded.notes.get(code, "")
    recorded.photos = [
        photo for photo in data.getlist("photos") if isinstance(photo, UploadFile) and photo.filename
    ]
    return recorded


def inspection_body(recorded: Recorded, template: dict[str, Any], business_id: str) -> dict[str, Any] | None:
    """The inspection service's request for the checklist, or None with the form's errors set."""
    form = recorded.form
    if form.get("kind") not in KINDS:
        form.error("kind", "请从选项中选择")
    names = [name for name in NAME_SPLIT.split(form.get("inspectors")) if name]
    if not names:
        form.error("inspectors", "必须填写")
    elif len(names) > 10:
        form.error("inspectors", "最多 10 人")
    elif any(len(name) > 60 for name in names):
        form.error("inspectors", "每个姓名最多 60 个字")
    if len(form.get("notes")) > 4000:
        form.error("notes", "太长了，最多 4000 个字")
    for code, note in recorded.notes.items():
        if len(note) > 500:
            form.error(f"n-{code}", "太长了，最多 500 个字")
    minimum = int(template.get("minimum_items", 1))
    if len(recorded.results) < minimum:
        form.error("items", f"已检查 {len(recorded.results)} 项，本表至少要检查 {minimum} 项")
    complaint: str | None = None
    if form.get("complaint_id"):
        try:
            complaint = str(uuid.UUID(form.get("complaint_id")))
        except ValueError:
            form.error("complaint_id", "编号格式不对")
    if not form.ok:
        return None
    return {
        "business_id": business_id,
        "kind": form.get("kind"),
        "inspectors": names,
        "items": [
            {"code": code, "result": result, "note": recorded.notes.get(code)}
            for code, result in recorded.results.items()
        ],
        "notes": form.get("notes") or None,
        "complaint_id": complaint,
    }


async def check_photos(recorded: Recorded) -> None:
    """Photos the inspection service will take: images whose bytes are what they claim (its own
    signature check), at most `MAX_PHOTOS`, each under 10 MB. Checked before the inspection is
    recorded, so a bad photo never leaves a record without its photos."""
    if len(recorded.photos) > MAX_PHOTOS:
        recorded.form.error("photos", f"最多 {MAX_PHOTOS} 张")
    for photo in recorded.photos:
        media = photo.content_type or ""
        head = await photo.read(1024)
        await photo.seek(0)
        if media not in PHOTO_TYPES or not filetypes.matches(media, head):
            recorded.form.error("photos", "只能上传照片（JPEG、PNG、WebP、HEIC）")
        elif (photo.size or 0) > MAX_PHOTO_BYTES:
            recorded.form.error("photos", "每张照片不能超过 10 MB")


async def preview(client: ServiceClient, session: WebSession, body: dict[str, Any]) -> dict[str, Any]:
    """The verdict the inspection service would give this record (nothing is written)."""
    answer: dict[str, Any] = await client.post(session, "inspection", "/inspections/preview", body)
    return answer


async def submit(
    client: ServiceClient, session: WebSession, body: dict[str, Any], photos: list[UploadFile], key: str
) -> tuple[dict[str, Any], int]:
    """Record the inspection and attach its photos, each call under a key derived from the form's
    own: a resubmission (the answer lost, the phone back online) records once and attaches once.
    The record and how many photos the service refused (once it is recorded, the record stands:
    the page says which photos were not kept rather than offering to record it again)."""
    inspection: dict[str, Any] = await client.post(
        session, "inspection", "/inspections", body, idempotency_key=key
    )
    refused = 0
    for number, photo in enumerate(photos, start=1):
        try:
            await client.upload(
                session,
                "inspection",
                f"/inspections/{inspection['id']}/photos",
                await photo.read(),
                content_type=photo.content_type or "application/octet-stream",
                idempotency_key=f"{key}.photo{number}",
                filename=(photo.filename or f"photo{number}.jpg")[-200:],
            )
        except Refused:
            refused += 1
    return inspection, refused


def valid_key(value: str) -> str | None:
    return value if KEY_PATTERN.match(value) else None


async def inspection_of(client: ServiceClient, session: WebSession, inspection_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await client.get(session, "inspection", f"/inspections/{inspection_id}")
    return found
