"""What happens in a county on which day: a seeded, reproducible plan, and what it promises.

The same seed, scale, last day and length give the same plan, event for event (`Plan.digest`).
Nothing here does I/O: the plan is built from the county definition and the services' own rule
tables (risk level by kind, inspections due per year by risk level, checklists, rectification
deadlines, banquet filing, incident severity), so its ground truth (`Plan.truth`) is what the
services must count once the plan has been played.

Days are offsets from the first day (`Plan.start`); day `days - 1` is the last day, normally today.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from services.inspection.checklists import templates
from services.inspection.rules import inspection_frequency, rectification_deadline
from services.registry.places.models import CountyDefinition
from services.registry.rules import banquet_filing, risk_level
from shared.clock import LOCAL_ZONE

# Phases within a day, in the order they are played: a later phase may name what an earlier one made.
PHASES = (
    "business",
    "staff",
    "campaign",
    "inspection",
    "complaint",
    "banquet",
    "incident",
    "acknowledge",
    "close",
    "publicity",
    "training",
)

# Mix of business kinds in a rural county (weights), with the demo's names for them.
KIND_WEIGHTS: dict[str, int] = {
    "catering": 34,
    "grocery": 22,
    "street_vendor": 10,
    "workshop": 9,
    "school_area_shop": 6,
    "market": 3,
    "school_canteen": 5,
    "producer": 6,
    "slaughterhouse": 1,
    "central_kitchen": 1,
    "other": 3,
}
KIND_NAMES: dict[str, str] = {
    "catering": "饭店",
    "grocery": "杂货店",
    "street_vendor": "小吃摊",
    "workshop": "食品作坊",
    "school_area_shop": "校园周边小卖部",
    "market": "农贸市场",
    "school_canteen": "学校食堂",
    "producer": "食品厂",
    "slaughterhouse": "屠宰场",
    "central_kitchen": "中央厨房",
    "other": "食品店",
}
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
GIVEN = ("建华", "秀兰", "国强", "桂芳", "志明", "丽娟", "德贵", "春梅", "海涛", "玉珍")

# Promised rates (tests check the plan keeps them).
FAIL_RATE = 0.18  # inspections with at least one failed item
RECTIFIED_ON_TIME = 0.70  # of failed inspections: a passing reinspection within the deadline
RECTIFIED_LATE = 0.15  # ... after the deadline; the rest stay open (overdue once past the deadline)
BANQUET_LATE = 0.2  # filed under the notice days
BANQUET_LARGE = 0.3  # >= 100 people: the township owes guidance
LEVEL_WEIGHTS: dict[str, int] = {"below_IV": 50, "IV": 30, "III": 12, "II": 6, "I": 2}
ACKNOWLEDGED = 0.95
CLOSED = 0.85  # of the acknowledged
HOLIDAYS: tuple[
    tuple[str, int, int], ...
] = (  # (holiday, month, day): campaigns run 10 days before to 3 after
    ("new_year", 1, 1),
    ("spring_festival", 2, 10),
    ("labour_day", 5, 1),
    ("mid_autumn", 9, 25),
    ("national_day", 10, 1),
)


@dataclass(frozen=True)
class Scale:
    """How big a county, and how busy."""

    name: str
    townships: int
    villages_per_township: int
    businesses: int
    staff_per_business: float = 1.5
    banquets_per_village_month: float = 1.0
    complaints_per_township_month: float = 2.0
    incidents_per_year: int = 60
    publicity_per_township_month: float = 1.0
    trainings_per_township_quarter: float = 1.0


SCALES: dict[str, Scale] = {
    # the demo county's own places; a few hundred businesses
    "small": Scale("small", townships=0, villages_per_township=0, businesses=200, incidents_per_year=16),
    "county": Scale(
        "county", townships=20, villages_per_township=20, businesses=20_000, incidents_per_year=120
    ),
}


# An inspection to plan: (day, business key, business kind, township, campaign key, inspection kind).
Visit = tuple[int, str, str, str, str | None, str]


@dataclass(frozen=True)
class Event:
    """One command: on `day`, in `phase`; `key` names it for ever (its Idempotency-Key and the
    name later events use for what it made); `role` and `place` say whose token sends it."""

    day: int
    phase: str
    key: str
    role: str
    place: str
    body: dict[str, Any]
    refs: dict[str, str] = field(default_factory=dict)  # body field or path part -> key of an earlier event


@dataclass
class Truth:
    """What the plan says happened, as the services should count it."""

    businesses: int = 0
    staff: int = 0
    inspections: int = 0
    failed_inspections: int = 0
    orders: int = 0
    verified_on_time: int = 0
    verified_late: int = 0
    open_orders: int = 0
    open_past_deadline: int = 0
    complaints: int = 0
    campaigns: int = 0
    campaign_inspections: int = 0
    banquets: int = 0
    banquets_late: int = 0
    banquets_large: int = 0
    incidents: Counter[str] = field(default_factory=Counter)
    acknowledged: int = 0
    closed: int = 0
    publicity: int = 0
    trainings: int = 0


@dataclass
class Plan:
    seed: int
    scale: Scale
    county: CountyDefinition
    start: date
    days: int
    events: list[Event]
    truth: Truth

    @property
    def last_day(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    def date_of(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def digest(self) -> str:
        """A fingerprint of every event: equal plans have equal digests."""
        hasher = hashlib.sha256()
        for event in self.events:
            hasher.update(
                json.dumps(
                    [event.day, event.phase, event.key, event.role, event.place, event.body, event.refs],
                    sort_keys=True,
                    ensure_ascii=False,
                ).encode()
            )
        return hasher.hexdigest()

    @property
    def key_prefix(self) -> str:
        """Idempotency-Keys of this plan: another plan with the same seed has other keys."""
        return f"sim-{self.seed}-{self.scale.name}-{self.days}-{self.last_day.isoformat()}"

    def marker(self) -> str:
        """The name of the plan's first business: found in the register, the plan was played."""
        first = next(event for event in self.events if event.phase == "business")
        return str(first.body["name"])


def simulated_county(
    scale: Scale, seed: int, *, county_id: str = "songlin", county_name: str = "松林县"
) -> CountyDefinition:
    """`scale.townships` townships of `scale.villages_per_township` villages each, in the county
    `county_id` (a deployment serves one county: the simulated townships join its own)."""
    rng = random.Random(f"county:{seed}")
    townships = []
    for t in range(scale.townships):
        villages = [
            {
                "id": f"{county_id}.sim{t:02d}.v{v:02d}",
                "name": f"{'东西南北中'[v % 5]}{'山河林田湾岭坪塘溪桥'[(v // 5) % 10]}{v // 50 + 1}村",
                "coordinator": rng.choice(SURNAMES) + rng.choice(GIVEN),
            }
            for v in range(scale.villages_per_township)
        ]
        townships.append({"id": f"{county_id}.sim{t:02d}", "name": f"松林第{t + 1}镇", "villages": villages})
    return CountyDefinition.model_validate({"id": county_id, "name": county_name, "townships": townships})


def at(day: date, hour: int, minute: int = 0, *, last_day: date | None = None) -> str:
    """Beijing time on the day, as the ISO 8601 the APIs take; on the last day (today) just after
    midnight, so that it is not in the future."""
    if day == last_day:
        hour = 0
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_ZONE).isoformat()


def make_plan(
    *,
    seed: int,
    scale: Scale,
    county: CountyDefinition,
    last_day: date,
    days: int,
    prefix: str = "模拟",
) -> Plan:
    """The plan: pure and deterministic in its arguments."""
    rng = random.Random(f"plan:{seed}:{scale.name}:{days}")
    start = last_day - timedelta(days=days - 1)
    truth = Truth()
    events: list[Event] = []
    villages = [(t.id, v.id, v.name) for t in county.townships for v in t.villages]
    townships = [t.id for t in county.townships if t.villages]
    kinds = list(KIND_WEIGHTS)
    weights = list(KIND_WEIGHTS.values())
    frequency = inspection_frequency.rule_for(county.id, start)
    risk_rule = risk_level.rule_for(county.id, start)
    deadline_rule = rectification_deadline.rule_for(county.id, start)
    tag = f"s{seed}"

    # -- businesses, their licences and staff: registered before the first day --------------------
    businesses: list[tuple[str, str, str, str]] = []  # (key, kind, township, village)
    for n in range(scale.businesses):
        township, village, village_name = villages[n % len(villages)]
        kind = rng.choices(kinds, weights)[0]
        key = f"{tag}.b{n}"
        operator = rng.choice(SURNAMES) + rng.choice(GIVEN)
        registered = start - timedelta(days=rng.randint(30, 2000))
        body: dict[str, Any] = {
            "name": f"{prefix}{village_name}{operator[0]}记{KIND_NAMES[kind]}{n:05d}号",
            "kind": kind,
            "village_id": village,
            "operator": operator,
            "address": f"{village_name}{n % 300 + 1}号",
            "registered_on": registered.isoformat(),
            "business_licence": {
                "number": f"92{seed % 1000:03d}{n:09d}",
                "issued_on": registered.isoformat(),
                "expires_on": (registered + timedelta(days=20 * 365)).isoformat(),
            },
        }
        if kind not in ("other",):
            body["food_permit"] = {
                "number": f"JY{seed % 1000:03d}{n:011d}",
                "issued_on": registered.isoformat(),
                "expires_on": (registered + timedelta(days=5 * 365)).isoformat(),
            }
        events.append(Event(0, "business", key, "township", township, body))
        businesses.append((key, kind, township, village))
        truth.businesses += 1
        for s in range(_poisson_ish(rng, scale.staff_per_business)):
            issued = start - timedelta(days=rng.randint(0, 300))
            events.append(
                Event(
                    0,
                    "staff",
                    f"{key}.s{s}",
                    "township",
                    township,
                    {
                        "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                        "position": rng.choice(["厨师", "帮厨", "服务员", "店员"]),
                        "certificate": {
                            "number": f"JK{seed % 1000:03d}{n:07d}{s}",
                            "issued_on": issued.isoformat(),
                        },
                    },
                    {"business_id": key},
                )
            )
            truth.staff += 1

    # -- holiday campaigns --------------------------------------------------------------------------
    campaigns: list[tuple[str, int, int]] = []  # (key, first day, last day)
    for year in sorted({start.year, last_day.year}):
        for holiday, month, mday in HOLIDAYS:
            day_of = date(year, month, mday)
            first, last = day_of - timedelta(days=10), day_of + timedelta(days=3)
            if first < start or last > last_day:
                continue
            key = f"{tag}.c{holiday}{year}"
            events.append(
                Event(
                    (first - start).days,
                    "campaign",
                    key,
                    "county",
                    county.id,
                    {
                        "name": f"{year}年{holiday}节日食品安全专项检查",
                        "kind": "holiday",
                        "holiday": holiday,
                        "focus_business_kinds": ["catering", "market", "producer"],
                        "starts_on": first.isoformat(),
                        "ends_on": last.isoformat(),
                    },
                )
            )
            campaigns.append((key, (first - start).days, (last - start).days))
            truth.campaigns += 1

    # -- inspections at the risk-level frequencies; failures, reinspections ------------------------
    visits: list[Visit] = []
    for key, kind, township, _village in businesses:
        if _template(kind, start) is None:
            continue
        per_year = inspection_frequency.due_per_year(
            risk_level.initial_risk_level(kind, risk_rule), frequency
        )
        for day in sorted(rng.randrange(days) for _ in range(_share(rng, per_year * days / 365))):
            visits.append((day, key, kind, township, None, "routine"))
        if campaigns and kind in ("catering", "market", "producer") and rng.random() < 0.5:
            ckey, opens, ends = rng.choice(campaigns)
            visits.append((rng.randint(opens, ends), key, kind, township, ckey, "holiday"))
    visits.sort(key=lambda v: (v[0], v[1]))
    open_orders: dict[str, dict[str, tuple[date, str]]] = {}  # business -> item -> (deadline, severity)
    count = 0
    queue = [(v[0], v[1], n, v) for n, v in enumerate(visits)]  # by day, business, then as planned
    heapq.heapify(queue)
    while queue:
        day, key, kind, township, campaign, why = heapq.heappop(queue)[3]
        on = start + timedelta(days=day)
        template = _template(kind, on)
        assert template is not None
        orders = open_orders.setdefault(key, {})
        failing: set[str] = set()
        if why != "reinspection" and rng.random() < FAIL_RATE:  # a reinspection finds it put right
            codes = [item.code for item in template.items]
            failing = set(rng.sample(codes, min(len(codes), rng.choice([1, 1, 2, 3]))))
        # an item failing again keeps its order; a passing item verifies an open one
        items = []
        for item in template.items:
            failed = item.code in failing
            items.append({"code": item.code, "result": "fail" if failed else "pass"})
            if failed and item.code not in orders:
                severity: rectification_deadline.Severity = "key" if item.key else "general"
                deadline = rectification_deadline.deadline(
                    ordered_on=on, severity=severity, rule=deadline_rule
                )
                orders[item.code] = (deadline, severity)
                truth.orders += 1
            elif not failed and item.code in orders:
                deadline, _severity = orders.pop(item.code)
                if on <= deadline:
                    truth.verified_on_time += 1
                else:
                    truth.verified_late += 1
        inspection: dict[str, Any] = {
            "kind": why,
            "inspected_at": at(on, 9 + rng.randrange(8), rng.randrange(60), last_day=last_day),
            "inspectors": [
                rng.choice(SURNAMES) + rng.choice(GIVEN),
                rng.choice(SURNAMES) + rng.choice(GIVEN),
            ],
            "items": items,
        }
        refs = {"business_id": key}
        if campaign is not None:
            refs["campaign_id"] = campaign
            truth.campaign_inspections += 1
        events.append(Event(day, "inspection", f"{key}.i{count}", "inspector", township, inspection, refs))
        count += 1
        truth.inspections += 1
        if failing:
            truth.failed_inspections += 1
            fate = rng.random()
            earliest = min(orders[c][0] for c in failing if c in orders) if orders else on
            if fate < RECTIFIED_ON_TIME:
                when = day + rng.randint(1, max(1, (earliest - on).days))
            elif fate < RECTIFIED_ON_TIME + RECTIFIED_LATE:
                when = day + (earliest - on).days + rng.randint(1, 10)
            else:
                continue
            if when < days:
                visit = (when, key, kind, township, None, "reinspection")
                heapq.heappush(queue, (when, key, len(visits) + count, visit))
    for orders in open_orders.values():
        for deadline, _severity in orders.values():
            truth.open_orders += 1
            truth.open_past_deadline += deadline < last_day

    # -- complaints --------------------------------------------------------------------------------
    n = 0
    for township in townships:
        for _ in range(_share(rng, scale.complaints_per_township_month * days / 30)):
            day = rng.randrange(days)
            on = start + timedelta(days=day)
            events.append(
                Event(
                    day,
                    "complaint",
                    f"{tag}.q{n}",
                    "township",
                    township,
                    {
                        "channel": rng.choice(["phone", "web", "walk_in"]),
                        "content": rng.choice(["饭菜不洁", "餐具未消毒", "售卖过期食品", "无证经营"])
                        + f"（{n}）",
                        "received_at": at(on, 8 + rng.randrange(10), last_day=last_day),
                    },
                )
            )
            n += 1
            truth.complaints += 1

    # -- banquets: filed on their day; lead days decide late; size decides guidance ---------------
    banquet_rule = banquet_filing.rule_for(county.id, last_day)
    n = 0
    for _township, village, _name in villages:
        for _ in range(_share(rng, scale.banquets_per_village_month * days / 30)):
            day = rng.randrange(days)
            occasion = rng.choice(["wedding", "wedding", "birthday", "celebration", "funeral"])
            late = rng.random() < BANQUET_LATE
            if occasion == "funeral":
                lead = -1 if late else rng.randint(0, 2)
            else:
                lead = (
                    rng.randint(0, banquet_rule.notice_days - 1)
                    if late
                    else rng.randint(banquet_rule.notice_days, 10)
                )
            large = rng.random() < BANQUET_LARGE
            people = (
                rng.randint(banquet_rule.guidance_min_people, 400)
                if large
                else rng.randint(banquet_rule.filing_min_people, banquet_rule.guidance_min_people - 1)
            )
            body = {
                "village_id": village,
                "host": rng.choice(SURNAMES) + "家",
                "occasion": occasion,
                "lead_days": lead,  # the driver sets held_on: the filing day plus these
                "venue": "村委会广场",
                "tables": max(5, people // 10),
                "people": people,
                "cook": {
                    "name": rng.choice(SURNAMES) + "师傅",
                    "health_status": "certified",
                    "certificate_number": f"JK{n:08d}",
                },
                "food_sources": ["镇农贸市场"],
            }
            events.append(Event(day, "banquet", f"{tag}.f{n}", "village", village, body))
            n += 1
            truth.banquets += 1
            truth.banquets_late += late
            truth.banquets_large += large

    # -- incidents of every level, each at its own business; acknowledged and closed ----------------
    count_incidents = max(1, _share(rng, scale.incidents_per_year * days / 365))
    named = rng.sample(range(len(businesses)), min(count_incidents, len(businesses)))
    incident_days = sorted(rng.randrange(days) for _ in named)
    for n, (index, day) in enumerate(zip(named, incident_days, strict=True)):
        key, kind, township, village = businesses[index]
        level = rng.choices(list(LEVEL_WEIGHTS), list(LEVEL_WEIGHTS.values()))[0]
        ill, deaths, crosses = _counts_for(rng, level)
        on = start + timedelta(days=day)
        ikey = f"{tag}.e{n}"
        events.append(
            Event(
                day,
                "incident",
                ikey,
                "village",
                village,
                {
                    "township_id": township,
                    "village_id": village,
                    "ill_count": ill,
                    "death_count": deaths,
                    "crosses_province": crosses,
                    "place_kind": "canteen" if kind == "school_canteen" else "restaurant",
                    "onset_at": at(on, 12 + rng.randrange(8), last_day=last_day),
                    "suspected_food": rng.choice(["凉拌菜", "卤肉", "米饭", "野生菌"]),
                    "description": f"{ill}人饭后腹泻呕吐",
                },
                {"business_id": key},
            )
        )
        truth.incidents[level] += 1
        newest = n == len(named) - 1  # the newest stays open: a dashboard shows one
        if newest or rng.random() >= ACKNOWLEDGED:
            continue
        who = ("county", county.id) if level in ("I", "II", "III") else ("township", township)
        events.append(
            Event(day, "acknowledge", f"{ikey}.ack", *who, {"note": "已到场处置"}, {"incident_id": ikey})
        )
        truth.acknowledged += 1
        if rng.random() < CLOSED:
            close_day = min(days - 1, day + rng.randint(1, 20))
            events.append(
                Event(
                    close_day,
                    "close",
                    f"{ikey}.close",
                    *who,
                    {"cause": "加工过程交叉污染"},
                    {"incident_id": ikey},
                )
            )
            truth.closed += 1

    # -- publicity and trainings -------------------------------------------------------------------
    n = 0
    for township in townships:
        for _ in range(_share(rng, scale.publicity_per_township_month * days / 30)):
            day = rng.randrange(days)
            events.append(
                Event(
                    day,
                    "publicity",
                    f"{tag}.p{n}",
                    "township",
                    township,
                    {
                        "kind": rng.choice(["consultation", "lecture", "door_to_door", "publicity_point"]),
                        "title": "食品安全宣传周活动",
                        "held_on": (start + timedelta(days=day)).isoformat(),
                        "banners": rng.randint(0, 5),
                        "boards": rng.randint(0, 5),
                        "leaflets": rng.randint(50, 500),
                        "people_consulted": rng.randint(10, 200),
                    },
                )
            )
            n += 1
            truth.publicity += 1
        for _ in range(_share(rng, scale.trainings_per_township_quarter * days / 91)):
            day = rng.randrange(days)
            events.append(
                Event(
                    day,
                    "training",
                    f"{tag}.t{n}",
                    "township",
                    township,
                    {
                        "title": "食品安全知识培训",
                        "audience": rng.choice(["coordinators", "operators", "staff"]),
                        "held_on": (start + timedelta(days=day)).isoformat(),
                        "attendees": rng.randint(10, 120),
                        "hours": float(rng.choice([2, 3, 4])),
                    },
                )
            )
            n += 1
            truth.trainings += 1

    order = {phase: index for index, phase in enumerate(PHASES)}
    events.sort(key=lambda e: (e.day, order[e.phase]))
    return Plan(seed=seed, scale=scale, county=county, start=start, days=days, events=events, truth=truth)


def _template(kind: str, on: date) -> templates.ChecklistTemplate | None:
    """The checklist an inspection of a business of this kind is recorded against (inspection's own)."""
    return templates.template_for(templates.checklist_kind_for(kind), on=on)


def _share(rng: random.Random, expected: float) -> int:
    """An integer with the given expectation: the whole part, plus one with the fraction's chance."""
    whole = int(expected)
    return whole + (rng.random() < expected - whole)


def _poisson_ish(rng: random.Random, mean: float) -> int:
    return max(0, _share(rng, mean * 2 * rng.random()))


def _counts_for(rng: random.Random, level: str) -> tuple[int, int, bool]:
    """(ill, deaths, crosses province) within the national severity thresholds for the level."""
    if level == "I":
        return rng.randint(5, 60), 0, True
    if level == "II":
        return rng.randint(100, 180), rng.randint(1, 2), False
    if level == "III":
        return rng.randint(100, 150), 0, False
    if level == "IV":
        return rng.randint(30, 99), 0, False
    return rng.randint(2, 29), 0, False
