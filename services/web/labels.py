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
        "reminder_deferred": "提醒顺延至办公时间",
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
        "undeliverable": "无法送达",
        "cancelled": "已停止发送",
    },
    # the responder's console (services/web/incidents/)
    "retry_state": {
        "pending": "待发送",
        "sent": "已发送",
        "failed": "发送失败，等待重试",
        "undeliverable": "无法送达",
        "cancelled": "已停止重试",
    },
    "notification_kind": {
        "escalation": "逐级通知",
        "reminder": "催办提醒",
        "alert": "预警",
        "undeliverable": "无法送达告知",
    },
    "escalation_reason": {
        "reported": "新上报",
        "at_once": "按级别同时通报",
        "deadline": "下级未按时确认，逐级上报",
        "level_raised": "事故级别上升",
        "repeat": "未确认，再次通知",
        "reminder": "未确认，催办提醒",
        "acknowledgement_lapsed": "确认后未见处置，重新通知",
    },
    "ack_via": {
        "api": "在系统中确认",
        "link": "通过通知消息中的链接确认",
        "sms_reply": "回复短信确认",
    },
    "deadline_kind": {"acknowledge": "确认期限", "progress": "处置期限"},
    "progress_status": {"responding": "开始处置", "contained": "已控制"},
    "provider": {
        "dingtalk": "钉钉群机器人",
        "wecom": "企业微信群机器人",
        "aliyun_sms": "阿里云短信",
        "tencent_sms": "腾讯云短信",
    },
    "channel": {
        "webhook": "系统推送",
        "http": "系统推送",
        "sms": "短信",
        "im": "即时消息",
        "log": "系统记录",
        "dingtalk": "钉钉群机器人",
        "wecom": "企业微信群机器人",
        "aliyun_sms": "阿里云短信",
        "tencent_sms": "腾讯云短信",
    },
    # people (identity)
    "role": {
        "county": "县食安办",
        "township": "乡镇食安办",
        "inspector": "检查员",
        "village": "村协管员",
        "ops": "运维值班",
        "machine": "机器账号",
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
    # inspections (inspection)
    "outcome": {"compliant": "符合", "basically_compliant": "基本符合", "non_compliant": "不符合"},
    "action": {"pass": "通过", "written_rectification": "书面限期整改", "stop_operating": "停业整改"},
    "dynamic_grade": {"excellent": "优秀（笑脸）", "good": "良好（平脸）", "fair": "一般（哭脸）"},
    "grade_withheld": {
        "new_licence": "新取证未满期限，暂不评定",
        "incident": "发生食品安全事件，暂不评定",
        "nothing_applicable": "无适用检查项，不评定",
    },
    "item_result": {"pass": "符合", "fail": "不符合", "not_applicable": "不适用"},
    "inspection_kind": {
        "routine": "日常检查",
        "reinspection": "整改复查",
        "complaint_followup": "投诉核查",
        "campaign": "专项检查",
        "school": "校园食品安全检查",
        "holiday": "节日检查",
        "joint": "联合检查",
    },
    "work_what": {
        "urgent_task": "紧急检查任务",
        "planned_inspection": "计划检查",
        "reinspection": "整改复查",
        "complaint_followup": "投诉核查",
    },
    "work_state": {"due": "待检查", "overdue": "已逾期"},
    "order_status": {"open": "整改中", "verified": "已复查合格"},
    "severity": {"key": "关键项", "general": "一般项", "critical": "严重项"},
    "licence_kind": {"business_licence": "营业执照", "food_permit": "食品经营许可证"},
    # the township office's register (registry)
    "licence_state": {"valid": "有效", "expiring": "即将到期", "expired": "已过期", "missing": "缺证"},
    "certificate_state": {
        "valid": "有效",
        "expiring": "即将到期",
        "expired": "已过期",
        "missing": "无健康证",
    },
    # the county office (services/web/county/)
    "account_status": {"pending": "待设密码", "active": "正常", "disabled": "已停用"},
    "channel_kind": {
        "dingtalk": "钉钉机器人",
        "wecom": "企业微信机器人",
        "aliyun_sms": "阿里云短信",
        "tencent_sms": "腾讯云短信",
        "webhook": "系统推送地址",
    },
    "policy_source": {"township": "本乡镇自定", "county": "沿用全县默认", "rule_table": "系统默认（未设置）"},
    "level_short": {"I": "Ⅰ级", "II": "Ⅱ级", "III": "Ⅲ级", "IV": "Ⅳ级", "below_IV": "Ⅳ级以下"},
    "record_field": {
        "name": "名称",
        "title": "标题",
        "host": "办宴人",
        "kind": "类别",
        "level": "级别",
        "status": "状态",
        "township_id": "乡镇",
        "village_id": "村",
        "registered_on": "登记日期",
        "inspected_on": "检查日期",
        "outcome": "检查结果",
        "item_code": "检查项",
        "severity": "严重程度",
        "deadline": "整改期限",
        "verified_on": "复查日期",
        "ordered_on": "下达日期",
        "on_time": "按期",
        "received_on": "受理日期",
        "closed_on": "办结日期",
        "closed_in_time": "按期办结",
        "reported_at": "报告时间",
        "ill_count": "发病人数",
        "death_count": "死亡人数",
        "place_kind": "发生场所",
        "held_on": "举办日期",
        "filed_on": "备案日期",
        "people": "人数",
        "tables": "桌数",
        "late": "逾期备案",
        "guidance_due": "需现场指导",
        "risk_level": "风险等级",
        "dynamic_grade": "动态等级",
        "grade": "等级",
        "graded": "已分级",
        "score": "得分",
        "attendees": "参加人数",
        "hours": "学时",
        "audience": "对象",
        "channel": "渠道",
        "staff_name": "人员",
        "licence_kind": "许证类别",
        "number": "编号",
        "expires_on": "有效期至",
        "issued_on": "发证日期",
        "reason": "原因",
        "action": "处理",
        "accepted": "受理",
        "minutes_to_acknowledge": "响应用时（分钟）",
        "hours_to_close": "结案用时（小时）",
        "assessed_on": "考核日期",
        "year": "年度",
        "people_consulted": "咨询人数",
        "leaflets": "发放资料",
        "banners": "横幅",
        "boards": "展板",
        "decided_on": "决定日期",
        "referred_on": "移送日期",
        "overdue_on": "逾期日期",
        "failed_count": "不合格项数",
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
