"""The county office's work over the services: figures (reporting), incidents (alerts), places and
businesses (registry), escalation chains (alerts) and accounts (identity).

Plain functions over the client, so the views stay thin. What a user may see is decided by the
services (a township office asking for another township's figures gets their 404).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from services.web.client import ServiceClient
from services.web.forms import Form, reason_in_chinese
from services.web.labels import now_beijing
from services.web.session import WebSession

# the figures shown first, in this order (reporting's dashboard showed the same)
KEY_FIGURES = (
    "businesses.registered",
    "inspections.total",
    "inspections.businesses",
    "problems.found",
    "problems.rectified_on_time",
    "problems.overdue",
    "complaints.received",
    "complaints.closed_in_time",
    "incidents.reported",
    "banquets.filed",
    "publicity.events",
    "trainings.held",
)
PERIOD = re.compile(r"^\d{4}(-(H[12]|Q[1-4]|(0[1-9]|1[0-2])))?$")
FIGURE_KEY = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")


def period_or_none(text: str | None) -> str | None:
    """A period code as reporting takes it (2026, 2026-H1, 2026-Q2, 2026-05), or None."""
    return text if text and PERIOD.match(text) else None


def period_code(text: str | None) -> str:
    """The period asked for, else the current half-year in Beijing time (what a county reports on)."""
    given = period_or_none(text)
    if given:
        return given
    today = now_beijing()
    return f"{today.year}-H{1 if today.month <= 6 else 2}"


async def places(client: ServiceClient, session: WebSession) -> list[dict[str, Any]]:
    answer = await client.get(session, "registry", "/places")
    return list(answer) if isinstance(answer, list) else []


def townships_of(all_places: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [place for place in all_places if place.get("level") == "township"]


def villages_of(all_places: list[dict[str, Any]], township_id: str | None = None) -> list[dict[str, Any]]:
    return [
        place
        for place in all_places
        if place.get("level") == "village"
        and (township_id is None or place.get("township_id") == township_id)
    ]


@dataclass
class Overview:
    statistics: dict[str, Any]
    key_figures: list[dict[str, Any]]
    open_incidents: list[dict[str, Any]]
    open_total: int
    townships: list[dict[str, Any]] = field(default_factory=list)


async def overview(client: ServiceClient, session: WebSession, place_id: str, period: str | None) -> Overview:
    """A place's figures for the period (reporting), its open incidents (alerts) and, for a county,
    its townships to drill into."""
    statistics = await client.get(session, "reporting", f"/statistics/{place_id}", period=period_code(period))
    figures = statistics.get("figures", {})
    level = statistics.get("place", {}).get("level")
    township = place_id if level == "township" else None
    incidents = await client.get(
        session, "alerts", "/incidents", state="open", township_id=township, limit=50
    )
    if level == "village":
        items = [item for item in incidents.get("items", []) if item.get("village_id") == place_id]
    else:
        items = list(incidents.get("items", []))
    towns = townships_of(await places(client, session)) if level == "county" else []
    return Overview(
        statistics=statistics,
        key_figures=[figures[key] for key in KEY_FIGURES if key in figures],
        open_incidents=items,
        open_total=len(items) if level == "village" else int(incidents.get("total", len(items))),
        townships=towns,
    )


async def figure_records(
    client: ServiceClient, session: WebSession, place_id: str, key: str, period: str | None, offset: int
) -> dict[str, Any]:
    answer: dict[str, Any] = await client.get(
        session,
        "reporting",
        f"/statistics/{place_id}/records/{key}",
        period=period_code(period),
        limit=100,
        offset=offset,
    )
    return answer


# -- the map: businesses by their coordinates, and every village's counts -------------------------

MAP_WIDTH, MAP_HEIGHT, MAP_MARGIN = 800, 500, 30


@dataclass
class MapPoint:
    x: float
    y: float
    name: str
    kind: str
    village: str


@dataclass
class VillageCell:
    id: str
    name: str
    township: str
    x: float
    y: float
    businesses: int
    incidents: int
    incident_levels: list[str]


def project(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Longitude/latitude to drawing coordinates inside the map's box, north up (equirectangular,
    the scale of a county: the error of not using a real projection is far below a dot's size)."""
    if not points:
        return []
    lats = [lat for lat, _ in points]
    lons = [lon for _, lon in points]
    middle = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * middle, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    scale = min((MAP_WIDTH - 2 * MAP_MARGIN) / span_x, (MAP_HEIGHT - 2 * MAP_MARGIN) / span_y)
    return [
        (
            round(MAP_MARGIN + (lon - min(lons)) * middle * scale, 1),
            round(MAP_HEIGHT - MAP_MARGIN - (lat - min(lats)) * scale, 1),
        )
        for lat, lon in points
    ]


async def _all_businesses(client: ServiceClient, session: WebSession) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = await client.get(session, "registry", "/businesses", limit=500, offset=offset)
        items = page.get("items", [])
        found.extend(items)
        offset += len(items)
        if not items or offset >= int(page.get("total", 0)) or offset >= 10_000:
            return found


@dataclass
class CountyMap:
    points: list[MapPoint]
    villages: list[VillageCell]
    without_location: int
    width: int = MAP_WIDTH
    height: int = MAP_HEIGHT


async def county_map(client: ServiceClient, session: WebSession) -> CountyMap:
    """Businesses that carry coordinates as dots; the places carry none (no outlines), so every
    village is drawn as a cell of a grid grouped by township, with its businesses and open
    incidents counted in it."""
    all_places = await places(client, session)
    names = {place["id"]: place.get("name", "") for place in all_places}
    businesses = await _all_businesses(client, session)
    incidents = (await client.get(session, "alerts", "/incidents", state="open", limit=500)).get("items", [])
    located = [
        item for item in businesses if item.get("latitude") is not None and item.get("longitude") is not None
    ]
    xy = project([(float(item["latitude"]), float(item["longitude"])) for item in located])
    points = [
        MapPoint(
            x,
            y,
            str(item.get("name", "")),
            str(item.get("kind", "")),
            names.get(item.get("village_id") or "", ""),
        )
        for item, (x, y) in zip(located, xy, strict=True)
    ]
    per_village: dict[str, int] = {}
    for item in businesses:
        if item.get("village_id"):
            per_village[item["village_id"]] = per_village.get(item["village_id"], 0) + 1
    levels: dict[str, list[str]] = {}
    for incident in incidents:
        if incident.get("village_id"):
            levels.setdefault(incident["village_id"], []).append(str(incident.get("level")))
    cells: list[VillageCell] = []
    towns = townships_of(all_places)
    row_height = 70
    for row, town in enumerate(towns):
        for column, village in enumerate(villages_of(all_places, town["id"])):
            cells.append(
                VillageCell(
                    id=village["id"],
                    name=village.get("name", ""),
                    township=town.get("name", ""),
                    x=150 + column * 130,
                    y=20 + row * row_height,
                    businesses=per_village.get(village["id"], 0),
                    incidents=len(levels.get(village["id"], [])),
                    incident_levels=levels.get(village["id"], []),
                )
            )
    return CountyMap(points=points, villages=cells, without_location=len(businesses) - len(located))


# -- escalation chains ----------------------------------------------------------------------------

TIERS = ("village", "township", "county", "city", "province")
LEVELS = ("I", "II", "III", "IV", "below_IV")
STEP_FIELDS = ("name", "tier", "targets", "repeat", *(f"deadline_{level}" for level in LEVELS), "extra")
POLICY_LABELS = {
    "name": "步骤名称",
    "tier": "层级",
    "targets": "通知对象",
    "repeat": "重复通知次数",
    **{f"deadline_{level}": "响应时限（分钟）" for level in LEVELS},
    "steps": "通知链",
}
BLANK_STEPS = 1  # empty rows under the chain's steps, to add a step


def step_name(index: int, name: str) -> str:
    return f"steps-{index}-{name}"


def policy_form(policy: dict[str, Any]) -> tuple[Form, int]:
    """The chain in force as the editor's fields (one row per step and a blank one), and the
    number of rows. What the editor does not show (channels, time windows, a target's rota) rides
    along in a hidden field so that saving keeps it."""
    values: dict[str, str] = {}
    steps = policy.get("steps") or []
    for index, step in enumerate(steps):
        values[step_name(index, "name")] = str(step.get("name", ""))
        values[step_name(index, "tier")] = str(step.get("tier", ""))
        values[step_name(index, "targets")] = "\n".join(
            str(t.get("ref", "")) for t in step.get("targets", [])
        )
        values[step_name(index, "repeat")] = str(step.get("repeat", 0))
        for level, minutes in (step.get("deadline_minutes") or {}).items():
            values[step_name(index, f"deadline_{level}")] = str(minutes)
        extra = {key: step[key] for key in ("channels", "when", "office_hours") if step.get(key) is not None}
        rota = {t["ref"]: t["when"] for t in step.get("targets", []) if t.get("when")}
        if rota:
            extra["rota"] = rota
        values[step_name(index, "extra")] = json.dumps(extra, ensure_ascii=False) if extra else ""
    return Form(values=values), len(steps) + BLANK_STEPS


def policy_field_names(rows: int) -> list[str]:
    return [step_name(index, name) for index in range(rows) for name in STEP_FIELDS]


def posted_rows(names: list[str]) -> int:
    rows = 0
    for name in names:
        match = re.match(r"^steps-(\d{1,2})-", name)
        if match:
            rows = max(rows, int(match.group(1)) + 1)
    return min(rows, 21)


def policy_body(form: Form, rows: int) -> dict[str, Any] | None:
    """The PUT body from the editor's rows (a row left blank is no step), or None with the
    form's errors set."""
    steps: list[dict[str, Any]] = []
    for index in range(rows):

        def field_value(name: str, index: int = index) -> str:
            return form.get(step_name(index, name))

        if not any(field_value(name) for name in ("name", "tier", "targets")):
            continue
        form.required(step_name(index, "name"), step_name(index, "tier"), step_name(index, "targets"))
        repeat = form.integer(step_name(index, "repeat"), low=0, high=10, default=0)
        deadlines: dict[str, int] = {}
        for level in LEVELS:
            if form.get(step_name(index, f"deadline_{level}")):
                minutes = form.integer(step_name(index, f"deadline_{level}"), low=1, high=7 * 24 * 60)
                if minutes is not None:
                    deadlines[level] = minutes
        extra: dict[str, Any] = {}
        if field_value("extra"):
            try:
                extra = dict(json.loads(field_value("extra")))
            except (ValueError, TypeError):
                extra = {}
        rota = extra.pop("rota", {}) if isinstance(extra.get("rota"), dict) else {}
        refs = [line.strip() for line in field_value("targets").splitlines() if line.strip()]
        targets = [{"ref": ref, **({"when": rota[ref]} if ref in rota else {})} for ref in refs]
        step: dict[str, Any] = {
            "name": field_value("name"),
            "tier": field_value("tier"),
            "targets": targets,
            "repeat": repeat if repeat is not None else 0,
            "deadline_minutes": deadlines or None,
        }
        step.update(
            {key: value for key, value in extra.items() if key in ("channels", "when", "office_hours")}
        )
        steps.append({"row": index, **step})
    if not steps and form.ok:
        form.general.append("通知链：至少要有一步")
    if not form.ok:
        return None
    form.values["_rows"] = ",".join(str(step["row"]) for step in steps)
    return {"steps": [{key: value for key, value in step.items() if key != "row"} for step in steps]}


def policy_refused(form: Form, errors: list[dict[str, Any]]) -> None:
    """alerts' 422 on the chain, on the row and field it names (`steps.1.targets.0.ref`: the
    second step sent, its targets), in Chinese."""
    sent_rows = [int(row) for row in form.get("_rows").split(",") if row]
    for error in errors:
        loc = [part for part in error.get("loc") or [] if part != "body"]
        reason = reason_in_chinese(error)
        if len(loc) >= 3 and loc[0] == "steps" and isinstance(loc[1], int) and loc[1] < len(sent_rows):
            name = str(loc[2])
            if name == "deadline_minutes":
                level = str(loc[3]) if len(loc) > 3 else "IV"
                name = f"deadline_{level}" if level in LEVELS else "name"
            elif name not in ("name", "tier", "targets", "repeat"):
                name = "name"
            form.error(step_name(sent_rows[loc[1]], name), reason)
        else:
            form.general.append(f"通知链：{reason}")


# -- accounts -------------------------------------------------------------------------------------

ACCOUNT_FIELDS = ("name", "mobile", "role", "township_id", "village_id")
ACCOUNT_LABELS = {
    "name": "姓名",
    "mobile": "手机号",
    "role": "角色",
    "township_id": "所属乡镇",
    "village_id": "所属村",
}
# who may give which role: the county office any role of its county; a township office its own
# township's inspectors and village coordinators (identity enforces the same; the page refuses
# first, so a township office never sends a county role)
GRANTABLE = {
    "county": ("county", "township", "inspector", "village", "ops"),
    "township": ("inspector", "village"),
}
PASSWORD_FIELDS = ("mobile", "code", "password", "password_again")
PASSWORD_LABELS = {
    "mobile": "手机号",
    "code": "一次性验证码",
    "password": "新密码",
    "password_again": "再次输入新密码",
}


def account_body(
    form: Form, user_role: str, user_township: str | None, *, partial: bool = False
) -> dict[str, Any] | None:
    """The identity request for the account form, or None with the form's errors set. Roles and
    places the user may not give are refused here, before identity is asked."""
    if not partial:
        form.required("name", "mobile", "role")
    role = form.get("role")
    allowed = GRANTABLE.get(user_role, ())
    if role and role not in allowed:
        form.error("role", "您无权设置这一角色")
    mobile = re.sub(r"[\s-]", "", form.get("mobile"))
    if mobile and not re.fullmatch(r"(\+?86)?1\d{10}", mobile):
        form.error("mobile", "请填写 11 位手机号")
    if len(form.get("name")) > 80:
        form.error("name", "太长了，最多 80 个字")
    township = form.get("township_id") or None
    village = form.get("village_id") or None
    if user_role == "township":
        if township and township != user_township:
            form.error("township_id", "不在您负责的范围内")
        township = user_township
    if role in ("township", "inspector", "village") and not township:
        form.error("township_id", "这一角色必须选择所属乡镇")
    if role == "village" and not village:
        form.error("village_id", "村协管员必须选择所属村")
    if role in ("county", "ops"):
        township, village = None, None
    if role in ("township", "inspector"):
        village = None
    if not form.ok:
        return None
    body: dict[str, Any] = {
        "name": form.get("name"),
        "mobile": mobile,
        "role": role,
        "township_id": township,
        "village_id": village,
    }
    if partial:
        body = {key: value for key, value in body.items() if value or key in ("township_id", "village_id")}
        if "role" not in body:
            body.pop("township_id", None)
            body.pop("village_id", None)
    return body


def password_check(form: Form) -> dict[str, str] | None:
    form.required(*PASSWORD_FIELDS)
    if (
        form.get("password")
        and form.get("password_again")
        and form.get("password") != form.get("password_again")
    ):
        form.error("password_again", "两次输入的密码不一致")
    if not form.ok:
        return None
    return {
        "mobile": re.sub(r"[\s-]", "", form.get("mobile")),
        "code": form.get("code"),
        "password": form.get("password"),
    }


# -- notification channels (alerts' /notification-channels): secrets are written, never shown ------

CHANNEL_KINDS = ("dingtalk", "wecom", "aliyun_sms", "tencent_sms", "webhook")
TEMPLATE_KINDS = ("escalation", "reminder", "alert", "undeliverable")
# the fields of each kind, in the order shown: (name, is a secret)
CHANNEL_FIELDS: dict[str, tuple[tuple[str, bool], ...]] = {
    "dingtalk": (("access_token", True), ("secret", True), ("url", False)),
    "wecom": (("key", True), ("url", False)),
    "aliyun_sms": (
        ("access_key_id", False),
        ("access_key_secret", True),
        ("sign_name", False),
        ("region", False),
        ("reply_secret", True),
        ("url", False),
    ),
    "tencent_sms": (
        ("secret_id", False),
        ("secret_key", True),
        ("sdk_app_id", False),
        ("sign_name", False),
        ("region", False),
        ("reply_secret", True),
        ("url", False),
    ),
    "webhook": (("url", False), ("secret", True)),
}
SMS_KINDS = ("aliyun_sms", "tencent_sms")
CHANNEL_FORM_FIELDS = (
    "name",
    "kind",
    *sorted({name for fields in CHANNEL_FIELDS.values() for name, _ in fields}),
    *(f"template_{kind}" for kind in TEMPLATE_KINDS),
)
CHANNEL_LABELS = {
    "name": "通道名称",
    "kind": "类型",
    "access_token": "机器人 access_token",
    "secret": "签名密钥",
    "key": "机器人 key",
    "url": "接口地址",
    "access_key_id": "AccessKey ID",
    "access_key_secret": "AccessKey Secret",
    "secret_id": "SecretId",
    "secret_key": "SecretKey",
    "sdk_app_id": "短信应用 SdkAppId",
    "sign_name": "短信签名",
    "region": "地域",
    "reply_secret": "回复回调密钥",
    "template_escalation": "模板：逐级通知（必填）",
    "template_reminder": "模板：再次提醒",
    "template_alert": "模板：告警",
    "template_undeliverable": "模板：无法送达",
    "templates": "短信模板",
}
CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def channel_form(found: dict[str, Any]) -> Form:
    """A stored channel as the form: its options, never its secrets (the service answers them
    masked; the form's secret fields start empty, and empty means 'keep')."""
    options = found.get("options") or {}
    values = {"name": str(found.get("name", "")), "kind": str(found.get("kind", ""))}
    for name, secret in CHANNEL_FIELDS.get(values["kind"], ()):
        if not secret and options.get(name) is not None:
            values[name] = str(options[name])
    for kind, code in (options.get("templates") or {}).items():
        values[f"template_{kind}"] = str(code)
    return Form(values=values)


def channel_body(form: Form, *, new: bool) -> dict[str, Any] | None:
    """The PUT body for the channel form: secrets only when typed (alerts keeps the stored ones
    otherwise), or None with the form's errors set."""
    form.required("name", "kind")
    kind = form.get("kind")
    if kind and kind not in CHANNEL_KINDS:
        form.error("kind", "请从选项中选择")
    if form.get("name") and not CHANNEL_NAME.match(form.get("name")):
        form.error("name", "只能用小写字母、数字、- 和 _，最多 40 个字符")
    if kind not in CHANNEL_KINDS:
        return None
    body: dict[str, Any] = {"kind": kind}
    for name, secret in CHANNEL_FIELDS[kind]:
        if form.get(name):
            body[name] = form.get(name)
        elif secret and new and name != "reply_secret":
            form.error(name, "必须填写")
    if kind in SMS_KINDS:
        body["templates"] = {
            template: form.get(f"template_{template}")
            for template in TEMPLATE_KINDS
            if form.get(f"template_{template}")
        }
    if not form.ok:
        return None
    return body


def channel_refused(form: Form, errors: list[dict[str, Any]]) -> None:
    """alerts' 422 on the field it names (`body.dingtalk.secret`, `body.aliyun_sms.templates`)."""
    for error in errors:
        loc = [str(part) for part in error.get("loc") or [] if part not in ("body",)]
        if loc and loc[0] in CHANNEL_KINDS:
            loc = loc[1:]
        name = loc[0] if loc else ""
        if name == "templates":
            name = (
                f"template_{loc[1]}" if len(loc) > 1 and loc[1] in TEMPLATE_KINDS else "template_escalation"
            )
        reason = reason_in_chinese(error)
        if name in CHANNEL_LABELS and name != "templates":
            form.error(name, reason)
        else:
            form.general.append(f"{CHANNEL_LABELS.get(name, '通道设置')}：{reason}")
