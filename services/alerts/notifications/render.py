"""What a notification says, in Chinese, on each kind of channel: a plain text (SMS, log), a
markdown card (DingTalk, WeCom group robots) and the parameters of an SMS template.

Levels are always written with their Chinese labels (Ⅳ级（一般）), never as codes; times in Beijing
time. Every function works from the notification's payload alone, so a message retried hours later
reads as it did when the escalation decided it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.catalogue.alerts import LEVEL_LABELS
from shared.clock import to_local

REASONS = {
    "reported": "新上报",
    "at_once": "按级别同时通报",
    "deadline": "下级未按时确认，逐级上报",
    "level_raised": "事故级别上升",
    "repeat": "未确认，再次通知",
    "reminder": "未确认，催办提醒",
    "acknowledgement_lapsed": "确认后未见处置，重新通知",
}
PLACE_KINDS = {
    "school": "学校",
    "kindergarten": "幼儿园",
    "banquet": "农村集体聚餐",
    "restaurant": "餐馆",
    "canteen": "单位食堂",
    "market": "市场",
    "other": "其他场所",
}
KIND_TITLES = {
    "escalation": "食品安全事故通报",
    "reminder": "食品安全事故催办",
    "alert": "食品安全预警",
    "undeliverable": "通知无法送达",
}
REMINDER_REASONS = frozenset({"repeat", "reminder", "acknowledgement_lapsed"})
SMS_PARAMETERS: dict[str, tuple[str, ...]] = {
    "escalation": ("level", "place", "ill", "deadline", "link"),
    "reminder": ("level", "place", "ill", "deadline", "link"),
    "alert": ("summary",),
    "undeliverable": ("summary",),
}
"""Each kind's SMS template variables: by name for Alibaba Cloud (${level}), in this order for
Tencent Cloud's positional {1}..{5}."""


def kind_of(reason: str | None) -> str:
    """An escalation's message kind: a first notice, or a reminder of one already sent."""
    return "reminder" if reason in REMINDER_REASONS else "escalation"


def level_label(payload: dict[str, Any]) -> str:
    return LEVEL_LABELS.get(str(payload.get("level")), "") if payload.get("level") else ""


def _deadline(payload: dict[str, Any]) -> str:
    due = payload.get("deadline_at")
    if not due:
        return ""
    return f"{to_local(datetime.fromisoformat(due)):%m月%d日%H:%M}"


def title(kind: str, payload: dict[str, Any]) -> str:
    label = level_label(payload)
    return f"【食安】{label}{KIND_TITLES.get(kind, KIND_TITLES['escalation'])}"


def markdown(
    kind: str, text: str, payload: dict[str, Any], *, link: str | None, mobiles: tuple[str, ...]
) -> str:
    """The card a township's group sees. DingTalk shows @mentions only when the numbers are in the
    text as well as in `at.atMobiles`, so they end the card."""
    lines = [f"### {title(kind, payload)}"]
    if kind in ("escalation", "reminder") and payload.get("incident_id"):
        lines.append(f"**级别**：{level_label(payload)}")
        where = payload.get("place") or ""
        place_kind = PLACE_KINDS.get(str(payload.get("place_kind")), "")
        lines.append(f"**地点**：{where}{f'（{place_kind}）' if place_kind else ''}")
        lines.append(
            f"**人数**：发病{payload.get('ill', 0)}人，住院{payload.get('hospitalised', 0)}人，"
            f"死亡{payload.get('deaths', 0)}人"
        )
        if payload.get("step_name"):
            lines.append(f"**通知**：{payload['step_name']}（{REASONS.get(str(payload.get('reason')), '')}）")
        due = _deadline(payload)
        lines.append(f"**请于{due}前确认**" if due else "请知悉")
    else:
        lines.append(text)
    if link:
        lines.append(f"[点此确认收到]({link})")
    if mobiles:
        lines.append(" ".join(f"@{number}" for number in mobiles))
    return "\n\n".join(lines)


def sms_parameters(kind: str, text: str, payload: dict[str, Any], *, link: str | None) -> dict[str, str]:
    """The values of an SMS template's variables (the provider bounds each: 35 characters at
    Alibaba Cloud). `link` is the part after `/ack/`: the approved template holds the rest
    (`https://<host>/ack/${link}`). The template's fixed words are the ones a county had approved
    by its provider; README lists what each kind says."""
    values = {
        "level": level_label(payload),
        "place": str(payload.get("place") or "")[:20],
        "ill": str(payload.get("ill", 0)),
        "deadline": _deadline(payload) or "尽快",
        "link": link or "",
        "summary": text.removeprefix("[食安] ")[:35],
    }
    return {name: values[name] for name in SMS_PARAMETERS.get(kind, SMS_PARAMETERS["alert"])}
