"""The Chinese words for every code the pages show, and Beijing time.

Pages never show a code (`IV`, `below_IV`, `reported`): templates pass codes through the `zh`
filter (`{{ incident.level | zh("level") }}`) and times through `beijing`. An area adds its own
vocabularies to `VOCABULARIES` under a name of its own.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from shared.catalogue.alerts import LEVEL_LABELS

BEIJING = ZoneInfo("Asia/Shanghai")

VOCABULARIES: dict[str, dict[str, str]] = {
    # incidents (alerts)
    "level": dict(LEVEL_LABELS),
    "incident_status": {
        "reported": "已上报",
        "acknowledged": "已响应",
        "responding": "处置中",
        "contained": "已控制",
        "closed": "已结案",
    },
    "place_kind": {
        "banquet": "农村宴席",
        "school": "学校",
        "kindergarten": "幼儿园",
        "restaurant": "餐馆饭店",
        "canteen": "单位食堂",
        "market": "集贸市场",
        "other": "其他场所",
    },
    "timeline": {
        "reported": "上报",
        "report_added": "追加报告",
        "escalated": "逐级通知",
        "acknowledged": "已响应",
        "status_changed": "状态变更",
        "counts_updated": "人数更新",
        "level_changed": "级别变更",
        "note": "备注",
        "closed": "结案",
        "acknowledgement_lapsed": "响应超时",
        "escalation_exhausted": "已通知至最高一级",
    },
    "tier": {
        "village": "村协管员",
        "township": "乡镇食安办",
        "county": "县食安办",
        "city": "市食安办",
        "province": "省食安办",
    },
    "notification_status": {
        "pending": "待发送",
        "delivered": "已送达",
        "failed": "发送失败",
    },
    "channel": {"webhook": "系统推送", "sms": "短信", "im": "即时消息", "log": "系统记录"},
    # people (identity)
    "role": {
        "county": "县食安办",
        "township": "乡镇食安办",
        "inspector": "检查员",
        "village": "村协管员",
        "ops": "运维值班",
        "machine": "系统账户",
    },
    # places and businesses (registry)
    "place_level": {"county": "县", "township": "乡镇", "village": "村"},
    "business_kind": {
        "catering": "餐饮服务",
        "workshop": "食品小作坊",
        "school_canteen": "学校食堂",
        "central_kitchen": "中央厨房",
        "school_area_shop": "校园周边商店",
        "street_vendor": "食品摊贩",
        "market": "集贸市场",
        "grocery": "食品零售店",
        "slaughterhouse": "屠宰场",
        "producer": "食品生产企业",
        "other": "其他",
    },
    "business_status": {"active": "营业中", "suspended": "停业整改", "closed": "已注销"},
    "risk_level": {
        "A": "低风险（A级）",
        "B": "一般风险（B级）",
        "C": "较高风险（C级）",
        "D": "高风险（D级）",
    },
    # banquets (registry)
    "occasion": {
        "wedding": "婚宴",
        "funeral": "丧宴",
        "birthday": "寿宴",
        "celebration": "喜庆宴",
        "other": "其他宴席",
    },
    "health_status": {"certified": "有有效健康证", "expired": "健康证过期", "none": "无健康证"},
    "yes_no": {"true": "是", "false": "否"},
    # the township office's register (registry)
    "licence_kind": {"business_licence": "营业执照", "food_permit": "食品经营许可证"},
    "licence_state": {"valid": "有效", "expiring": "即将到期", "expired": "已过期", "missing": "缺证"},
    "certificate_state": {
        "valid": "有效",
        "expiring": "即将到期",
        "expired": "已过期",
        "missing": "无健康证",
    },
    # rectification orders and inspections (inspection)
    "severity": {"general": "一般项", "key": "关键项", "critical": "严重项"},
    "order_status": {"open": "整改中", "verified": "已复查合格"},
    "inspection_kind": {
        "routine": "日常检查",
        "campaign": "专项检查",
        "complaint_followup": "投诉核查",
        "reinspection": "整改复查",
        "school": "校园检查",
        "holiday": "节日检查",
        "joint": "联合检查",
    },
    # complaints (inspection)
    "complaint_channel": {"phone": "电话", "web": "网络", "walk_in": "来访"},
    "complaint_kind": {"complaint": "投诉", "report": "举报"},
    "complaint_status": {
        "received": "待受理",
        "accepted": "已受理",
        "refused": "不予受理",
        "closed": "已办结",
    },
    # campaigns (inspection), letters (registry), publicity and trainings (reporting)
    "campaign_kind": {"holiday": "节日专项", "special": "专项整治"},
    "party_kind": {"village": "村", "business": "经营主体"},
    "publicity_kind": {
        "consultation": "咨询活动",
        "lecture": "讲座",
        "door_to_door": "入户宣传",
        "media": "媒体宣传",
        "publicity_point": "宣传点",
        "other": "其他",
    },
    "training_audience": {
        "coordinators": "村协管员、信息员",
        "operators": "经营者",
        "staff": "从业人员",
        "inspectors": "检查人员",
    },
}


def zh(code: object, vocabulary: str) -> str:
    """The Chinese word for `code` in `vocabulary`; an unknown code shows as 「未知」, never as code."""
    if code is None or code == "":
        return "—"
    key = str(code).lower() if isinstance(code, bool) else str(code)
    return VOCABULARIES.get(vocabulary, {}).get(key, "未知")


def beijing(moment: datetime | date | str | None, style: str = "minute") -> str:
    """A moment as Beijing time (`2026年11月30日 14:05`); a naive datetime is taken as UTC (the
    services answer in UTC). `style`: minute, date, or time."""
    if moment is None or moment == "":
        return "—"
    if isinstance(moment, str):
        text = moment
        try:
            moment = datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
        except ValueError:
            return text
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        local = aware.astimezone(BEIJING)
        if style == "date":
            return f"{local.year}年{local.month}月{local.day}日"
        if style == "time":
            return f"{local:%H:%M}"
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    return f"{moment.year}年{moment.month}月{moment.day}日"


def now_beijing() -> datetime:
    return datetime.now(BEIJING)
