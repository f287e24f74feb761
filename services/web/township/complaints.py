"""Complaints and reports from the public as the township office handles them: intake, the
decision to accept or refuse, assignment to an inspector, closure with the result, and the
deadlines the inspection service set in working days (accept within 7, verify within 15, counted
from the day after receipt) shown against today."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.web.client import ServiceClient
from services.web.forms import Form
from services.web.labels import BEIJING, VOCABULARIES, now_beijing
from services.web.session import WebSession

INTAKE_FIELDS = ("channel", "kind", "business_id", "complainant", "contact", "content", "received_at")
LABELS = {
    "channel": "来源渠道",
    "kind": "类别",
    "business_id": "涉及的经营主体",
    "complainant": "投诉人",
    "contact": "联系方式",
    "content": "投诉内容",
    "received_at": "收到时间",
    "accept": "受理决定",
    "reason": "不予受理的理由",
    "assignee": "承办检查员",
    "result": "办理结果",
    "Idempotency-Key": "提交",
}
SERVICE_FIELDS = {name: name for name in (*INTAKE_FIELDS, "accept", "reason", "assignee", "result")}


def days_left(due: str | date, today: date) -> int:
    return ((due if isinstance(due, date) else date.fromisoformat(due)) - today).days


def mark(complaint: dict[str, Any], today: date) -> dict[str, Any]:
    """The complaint with the deadline that matters now and how far it is: `due_kind` accept
    while it waits for a decision, verify while it is being handled, none once settled."""
    status = complaint.get("status")
    if status == "received":
        complaint["due_kind"], due = "accept", complaint["accept_due"]
    elif status == "accepted":
        complaint["due_kind"], due = "verify", complaint["verify_due"]
    else:
        complaint["due_kind"], due = None, None
    complaint["days_left"] = days_left(due, today) if due else None
    return complaint


async def listing(
    client: ServiceClient, session: WebSession, status: str, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    answer = await client.get(
        session, "inspection", "/complaints", status=status or None, offset=offset, limit=limit
    )
    today = now_beijing().date()
    return [mark(item, today) for item in answer.get("items", [])], int(answer.get("total", 0))


async def businesses(client: ServiceClient, session: WebSession) -> dict[str, str]:
    """The township's businesses for the intake form's choice, by name."""
    answer = await client.get(session, "registry", "/businesses", limit=500, sort="name")
    return {str(item["id"]): str(item["name"]) for item in answer.get("items", [])}


def intake_body(form: Form, known: dict[str, str], now: datetime) -> dict[str, Any] | None:
    form.required("channel", "kind", "content")
    if form.get("channel") and form.get("channel") not in VOCABULARIES["complaint_channel"]:
        form.error("channel", "请从选项中选择")
    if form.get("kind") and form.get("kind") not in VOCABULARIES["complaint_kind"]:
        form.error("kind", "请从选项中选择")
    if form.get("business_id") and form.get("business_id") not in known:
        form.error("business_id", "不在您负责的范围内")
    for name, most in (("complainant", 100), ("contact", 100), ("content", 4000)):
        if len(form.get(name)) > most:
            form.error(name, f"太长了，最多 {most} 个字")
    received: datetime | None = None
    if form.get("received_at"):
        try:
            received = datetime.fromisoformat(form.get("received_at")).replace(tzinfo=BEIJING)
        except ValueError:
            form.error("received_at", "时间格式不对")
        else:
            if received > now:
                form.error("received_at", "不能晚于现在")
    if not form.ok:
        return None
    return {
        "channel": form.get("channel"),
        "kind": form.get("kind"),
        "business_id": form.get("business_id") or None,
        "complainant": form.get("complainant") or None,
        "contact": form.get("contact") or None,
        "content": form.get("content"),
        "received_at": received.isoformat() if received else None,
    }


def decision_body(form: Form) -> dict[str, Any] | None:
    if form.get("accept") not in ("yes", "no"):
        form.error("accept", "请选择受理或不予受理")
    if form.get("accept") == "no" and not form.get("reason"):
        form.error("reason", "不予受理时必须写明理由")
    if len(form.get("reason")) > 1000:
        form.error("reason", "太长了，最多 1000 个字")
    if not form.ok:
        return None
    return {"accept": form.get("accept") == "yes", "reason": form.get("reason") or None}


def text_body(form: Form, name: str, most: int) -> dict[str, Any] | None:
    form.required(name)
    if len(form.get(name)) > most:
        form.error(name, f"太长了，最多 {most} 个字")
    return {name: form.get(name)} if form.ok else None
