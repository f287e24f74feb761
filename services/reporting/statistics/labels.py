"""How the figures and their groups are named in Chinese reports and on the dashboard. Incident
levels are named once for every service: shared.catalogue.alerts.LEVEL_LABELS."""

from __future__ import annotations

BUSINESS_KINDS = {
    "catering": "餐饮单位",
    "workshop": "小作坊",
    "school_canteen": "学校食堂",
    "school_area_shop": "校园周边商店",
    "street_vendor": "流动摊贩",
    "market": "农贸市场",
    "grocery": "杂货店",
    "slaughterhouse": "生猪定点屠宰点",
    "producer": "食品生产企业",
}
BUSINESS_STATUSES = {"active": "正常经营", "suspended": "停业整顿", "closed": "已关闭"}
RISK_LEVELS = {"A": "A级", "B": "B级", "C": "C级", "D": "D级"}
LICENCE_KINDS = {"business_licence": "营业执照", "food_permit": "食品经营许可证"}
INSPECTION_KINDS = {
    "routine": "日常检查",
    "campaign": "专项检查",
    "complaint_followup": "投诉核查",
    "reinspection": "复查",
    "school": "校园检查",
    "holiday": "节日检查",
    "joint": "联合检查",
}
OUTCOMES = {"compliant": "符合", "basically_compliant": "基本符合", "non_compliant": "不符合"}
ACTIONS = {"pass": "通过", "written_rectification": "书面限期整改", "stop_operating": "立即停止生产经营"}
GRADES = {"excellent": "优秀", "good": "良好", "fair": "一般", "none": "未评定"}
COMPLAINT_KINDS = {"complaint": "投诉", "report": "举报"}
LETTER_PARTIES = {"village": "村", "business": "经营单位"}
ALERT_KINDS = {
    "stop_operating": "责令停业",
    "rectification_overdue": "整改逾期",
    "certificate_expired": "健康证过期",
    "licence_expired": "许可证过期",
    "banquet_late": "宴席迟报",
    "banquet_guidance_due": "宴席待指导",
    "complaint_deadline_missed": "投诉超时",
    "notification_undeliverable": "通知无法送达",
}


def group_label(names: dict[str, str], value: object) -> str:
    text = "none" if value is None else str(value)
    return names.get(text, text)
