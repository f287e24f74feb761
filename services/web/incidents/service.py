"""The responder's console: what it reads from alerts and the registry, and what it sends back.

Plain functions over the client, so the views (and the live updates in `live.py`) stay thin. Every
read goes out as the signed-in responder: alerts decides which incidents they see, here as in every
other page. What the pages show is made here from the services' answers: Chinese words for every
code, the current escalation step, the next deadline, and each notification's retry state.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from services.web.client import NotFound, ServiceClient, Unavailable
from services.web.forms import Form
from services.web.labels import beijing, zh
from services.web.session import WebSession

RESPONDER_ROLES = ("county", "township")
"""Who works the console: the offices an escalation step notifies and that may acknowledge."""

MAX_PEOPLE = 1_000_000
PLACE_NAMES_SECONDS = 300.0
OPEN_LIMIT = 200

COUNT_FIELDS = ("ill_count", "hospitalised_count", "death_count", "note")
LABELS = {
    "note": "备注",
    "text": "备注内容",
    "status": "新的状态",
    "ill_count": "发病人数",
    "hospitalised_count": "住院人数",
    "death_count": "死亡人数",
    "cause": "事故原因",
}
SERVICE_FIELDS = {name: name for name in LABELS}

# how an incident's cancelled notification says why it stopped (alerts' `last_error`)
STOP_REASONS = (
    ("acknowledged by", "事件已被确认"),
    ("incident closed", "事件已结案"),
    ("superseded", "已有更新的通知"),
    ("alert no longer open", "预警已处理"),
    ("retry window passed", "已超过重试期限"),
)


def record_id(value: str) -> str:
    """A record id from the address bar: a UUID, or the 404 page (never passed on as a path)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound() from None


def new_key() -> str:
    """The Idempotency-Key a form carries from the moment it is rendered."""
    return uuid.uuid4().hex


def form_key(form: Form, posted: Any) -> str:
    """The posted form's key (kept when the form is shown again), or a fresh one."""
    value = posted.get("idempotency_key")
    key = value if isinstance(value, str) and 8 <= len(value) <= 64 and value.isalnum() else new_key()
    form.values["idempotency_key"] = key
    return key


# --- places ---------------------------------------------------------------------------------------


class PlaceNames:
    """The names of a county's places (the registry's `/places`), kept a few minutes per county:
    every row of the console names its township and village, and places rarely change."""

    def __init__(self, seconds: float = PLACE_NAMES_SECONDS) -> None:
        self.seconds = seconds
        self._by_county: dict[str, tuple[float, dict[str, str]]] = {}

    async def get(self, client: ServiceClient, session: WebSession) -> dict[str, str]:
        county = session.user.county_id
        kept = self._by_county.get(county)
        if kept is not None and time.monotonic() - kept[0] < self.seconds:
            return kept[1]
        try:
            places = await client.get(session, "registry", "/places")
        except Unavailable:
            return kept[1] if kept else {}
        names = {str(p.get("id")): str(p.get("name", "")) for p in places if isinstance(p, dict)}
        self._by_county[county] = (time.monotonic(), names)
        return names


PLACES = PlaceNames()


# --- reading --------------------------------------------------------------------------------------


async def open_incidents(client: ServiceClient, session: WebSession) -> list[dict[str, Any]]:
    """The open incidents the responder sees, most severe first, then the longest waiting."""
    answer = await client.get(session, "alerts", "/incidents", state="open", limit=OPEN_LIMIT)
    names = await PLACES.get(client, session)
    return [row(item, names) for item in answer.get("items", [])]


async def one_row(client: ServiceClient, session: WebSession, incident_id: str) -> dict[str, Any]:
    """One incident as a row of the console (NotFound outside the responder's scope)."""
    incident = await client.get(session, "alerts", f"/incidents/{incident_id}")
    return row(incident, await PLACES.get(client, session))


async def detail(client: ServiceClient, session: WebSession, incident_id: str) -> dict[str, Any]:
    """An incident with its timeline and every notification and attempt."""
    incident = await client.get(session, "alerts", f"/incidents/{incident_id}")
    timeline = await client.get(session, "alerts", f"/incidents/{incident_id}/timeline")
    notes = await client.get(session, "alerts", f"/incidents/{incident_id}/notifications")
    names = await PLACES.get(client, session)
    return {
        "incident": row(incident, names),
        "timeline": [timeline_entry(entry, names, session) for entry in timeline],
        "notifications": [notification(item) for item in notes],
    }


# --- what the pages show --------------------------------------------------------------------------


def _moment(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _epoch_ms(value: Any) -> int | None:
    moment = _moment(value)
    return int(moment.timestamp() * 1000) if moment else None


def row(incident: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """An incident as the console shows it: level, place, counts, status, the escalation step it
    has reached, and its next deadline (as epoch milliseconds for the page's countdown)."""
    place = "".join(
        names.get(str(incident.get(key)), "") for key in ("township_id", "village_id") if incident.get(key)
    )
    now = time.time() * 1000
    reported, deadline = _epoch_ms(incident.get("reported_at")), _epoch_ms(incident.get("deadline_at"))
    return {
        **incident,
        "place": place or "本辖区",
        "open": incident.get("status") != "closed",
        "reported_ms": reported,
        "deadline_ms": deadline,
        "age_text": elapsed_text((now - reported) / 1000) if reported else "—",
        "left_text": left_text((deadline - now) / 1000) if deadline else "",
        "step": incident.get("step_name") or zh(incident.get("step_tier"), "tier"),
    }


def elapsed_text(seconds: float) -> str:
    """`1天3小时`, `2小时5分`, `12分` (static/incidents.js writes the same as it ticks)."""
    minutes = max(int(seconds // 60), 0)
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{mins}分"
    return f"{mins}分"


def left_text(seconds: float) -> str:
    """`还剩 01:05:09`, or `已超时 00:03:10` (as static/incidents.js counts down)."""
    whole = int(abs(seconds))
    clock = f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
    return f"还剩 {clock}" if seconds >= 0 else f"已超时 {clock}"


def who(actor: str, session: WebSession | None = None) -> str:
    """Who did a step, in words: an office, a message's recipient, the system."""
    kind, _, rest = str(actor).partition(":")
    if session is not None and actor == f"{session.user.role}:{session.user.account_id}":
        return f"{zh(kind, 'role')}（本人）"
    if kind in ("county", "township", "inspector", "village"):
        return zh(kind, "role")
    if kind == "phone":
        return f"手机 {mask_phone(rest)}"
    if kind == "group":
        return f"群（{rest}）"
    if kind == "role":
        office = rest.split("@")[0]
        offices = {
            "village_coordinator": "村协管员",
            "township_office": "乡镇食安办",
            "county_office": "县食安办",
        }
        return offices.get(office, "相关部门")
    if kind == "person":
        return "指定人员"
    if kind == "machine":
        return "系统对接"
    return "系统"


def mask_phone(number: str) -> str:
    """`+8613800000001` as `138****0001` (numbers are masked wherever the console shows them)."""
    digits = number[3:] if number.startswith("+86") else number
    if "*" in digits or len(digits) < 7:
        return digits
    return f"{digits[:3]}****{digits[-4:]}"


def channel_name(name: str | None) -> str:
    """A channel: the deployment's own in words; a county's (its robot or SMS account) by the name
    the county office gave it."""
    if not name:
        return "—"
    known = {"log": "系统记录", "webhook": "系统推送", "sms": "短信"}
    return known.get(name, name)


def _counts(values: dict[str, Any]) -> str:
    return (
        f"发病 {values.get('ill_count', '—')} 人，住院 {values.get('hospitalised_count', '—')} 人，"
        f"死亡 {values.get('death_count', '—')} 人"
    )


def timeline_entry(entry: dict[str, Any], names: dict[str, str], session: WebSession) -> dict[str, Any]:
    """One step of the timeline in words: what, who, and the details that matter to a responder
    (for an acknowledgement: through which channel it came)."""
    kind = str(entry.get("kind"))
    detail = entry.get("detail") or {}
    lines: list[str] = []
    if kind == "escalated":
        reason = zh(detail.get("reason"), "escalation_reason")
        lines.append(f"通知{zh(detail.get('tier'), 'tier')}（{reason}）")
        if detail.get("deadline_at"):
            lines.append(f"确认期限 {_local(detail.get('deadline_at'))}")
    elif kind == "acknowledged":
        lines.append(zh(detail.get("via") or "api", "ack_via"))
        if detail.get("channel"):
            lines.append(f"渠道：{channel_name(detail.get('channel'))}")
        if detail.get("note"):
            lines.append(f"备注：{detail['note']}")
    elif kind == "status_changed":
        lines.append(
            f"{zh(detail.get('previous'), 'incident_status')} → {zh(detail.get('status'), 'incident_status')}"
        )
        if detail.get("note"):
            lines.append(f"备注：{detail['note']}")
    elif kind in ("reported", "report_added"):
        lines.append(_counts(detail))
        if detail.get("level"):
            lines.append(zh(detail.get("level"), "level"))
    elif kind == "counts_updated":
        before, after = detail.get("before") or {}, detail.get("after") or {}
        lines.append(f"原：{_counts(before)}")
        lines.append(f"现：{_counts(after)}")
        if detail.get("note"):
            lines.append(f"备注：{detail['note']}")
    elif kind == "level_changed":
        lines.append(f"{zh(detail.get('previous'), 'level')} → {zh(detail.get('level'), 'level')}")
    elif kind == "note":
        lines.append(str(detail.get("text", "")))
    elif kind == "closed":
        lines.append(f"原因：{detail.get('cause', '')}")
        if detail.get("note"):
            lines.append(f"备注：{detail['note']}")
    elif kind == "reminder_deferred":
        lines.append(f"顺延至 {_local(detail.get('until'))}")
    return {
        "at": entry.get("at"),
        "kind": kind,
        "what": zh(kind, "timeline"),
        "who": who(str(entry.get("actor", "")), session),
        "lines": [line for line in lines if line],
        "channel": detail.get("channel") if kind == "acknowledged" else None,
    }


def _local(value: Any) -> str:
    return beijing(value)


def retry_state(item: dict[str, Any]) -> str:
    """pending (not tried yet), sent, failed (tried, waiting for its next try), undeliverable,
    cancelled: what a responder needs to know of one message."""
    status = str(item.get("status"))
    if status == "delivered":
        return "sent"
    if status in ("undeliverable", "cancelled"):
        return status
    return "failed" if int(item.get("attempts") or 0) > 0 else "pending"


def notification(item: dict[str, Any]) -> dict[str, Any]:
    state = retry_state(item)
    stopped = ""
    if state == "cancelled":
        reason = str(item.get("last_error") or "")
        stopped = next((words for fragment, words in STOP_REASONS if fragment in reason), "")
    attempts = [
        {
            "number": attempt.get("number"),
            "at": attempt.get("at"),
            "ok": bool(attempt.get("ok")),
            "outcome": _outcome(attempt),
        }
        for attempt in item.get("attempt_log") or []
    ]
    return {
        "id": item.get("id"),
        "channel": channel_name(item.get("channel")),
        "target": who(str(item.get("target", ""))),
        "tier": zh(item.get("tier"), "tier") if item.get("tier") else "—",
        "kind": zh(item.get("kind"), "notification_kind"),
        "state": state,
        "created_at": item.get("created_at"),
        "next_attempt_at": item.get("next_attempt_at") if state == "failed" else None,
        "stopped": stopped,
        "attempts": attempts,
    }


def _outcome(attempt: dict[str, Any]) -> str:
    if attempt.get("ok"):
        return "成功"
    code = attempt.get("status_code")
    return f"失败（HTTP {code}）" if code else "失败（未连通）"


def retrying(notifications: list[dict[str, Any]]) -> bool:
    """Whether a message is still on its way (the page then looks again shortly)."""
    return any(item["state"] in ("pending", "failed") for item in notifications)


# --- the commands ---------------------------------------------------------------------------------


def counts_body(form: Form) -> dict[str, Any] | None:
    """The counts update for the form, or None with the form's errors set."""
    ill = form.integer("ill_count", low=0, high=MAX_PEOPLE)
    hospitalised = form.integer("hospitalised_count", low=0, high=MAX_PEOPLE, default=0)
    dead = form.integer("death_count", low=0, high=MAX_PEOPLE, default=0)
    if ill is not None and hospitalised is not None and hospitalised > ill:
        form.error("hospitalised_count", "不能多于发病人数（已计入发病人数）")
    if ill is not None and dead is not None and dead > ill:
        form.error("death_count", "不能多于发病人数（已计入发病人数）")
    if len(form.get("note")) > 2000:
        form.error("note", "太长了，最多 2000 个字")
    if not form.ok:
        return None
    return {
        "ill_count": ill,
        "hospitalised_count": hospitalised,
        "death_count": dead,
        "note": form.get("note") or None,
    }


def text_field(form: Form, name: str, *, required: bool, limit: int) -> str | None:
    value = form.get(name)
    if required and not value:
        form.error(name, "必须填写")
    elif len(value) > limit:
        form.error(name, f"太长了，最多 {limit} 个字")
    return value or None
