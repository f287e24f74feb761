"""A known county for the reporting tests, built through the other services' APIs on a real Redis
with every service's clock pinned (`build`), and helpers to read reporting's figures (`Known`).

What `build` does, so that the figures the tests expect can be read here: four businesses (three
in Dongshan: a restaurant with a food permit expiring in ten days and two cooks, noodles, a tofu
workshop; a grocery in Xishui), a banquet in six days, two letters, three inspections (one with a
failed item 2.1, one in the county's campaign), one complaint accepted and closed, two incidents
(a level IV in Dongshan acknowledged and closed, three ill in Xishui), one publicity event, one
training, one village assessment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from services.inspection.checklists.templates import checklist_kind_for
from services.reporting.readmodels.archive import ArchivedEvent
from services.reporting.statistics.periods import Period, parse_period
from shared.clock import Clock, local_today
from tests.support.county import DONGSHAN, HECUN, SHANGCUN, XIACUN, XISHUI
from tests.support.inspection import results
from tests.support.services import County
from tests.support.waiting import wait_for


def current_half(today: date) -> Period:
    return parse_period(f"{today.year}-H{1 if today.month <= 6 else 2}")


@dataclass
class Known:
    """What was done through the APIs, to compare reporting's figures with."""

    county: County
    today: date
    period: Period
    businesses: dict[str, dict[str, Any]] = field(default_factory=dict)
    inspections: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)

    def api(self, service: str, method: str, url: str, who: str, **kwargs: Any) -> Any:
        response = self.county.clients[service].request(
            method, url, headers=self.county.headers(who), **kwargs
        )
        assert response.status_code in (200, 201), f"{method} {url}: {response.status_code} {response.text}"
        return response.json()

    def stats(self, place: str, who: str = "county", **params: str) -> dict[str, Any]:
        query = params or self.period.query()
        response = self.county.reporting.get(
            f"/statistics/{place}", params=query, headers=self.county.headers(who)
        )
        assert response.status_code == 200, response.text
        return response.json()

    def archived(self) -> int:
        runtime = self.county.reporting.app.state.runtime
        with runtime.db.read_session() as session:
            return int(session.execute(sa.select(sa.func.count()).select_from(ArchivedEvent)).scalar_one())

    def outbox_total(self) -> int:
        """Events the three producing services have written (all of them reach reporting)."""
        total = 0
        for name in ("registry", "inspection", "alerts"):
            runtime = self.county.clients[name].app.state.runtime
            with runtime.db.engine.connect() as connection:
                total += int(connection.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one())
        return total

    def settle(self) -> None:
        """Wait until reporting has archived every event the other services wrote."""
        wait_for(lambda: self.archived() >= self.outbox_total() > 0, timeout=20, what="reporting to catch up")


def _known(inspection: County, business_id: str) -> bool:
    response = inspection.inspection.get(
        f"/directory/businesses/{business_id}", headers=inspection.headers("county")
    )
    return response.status_code == 200


def build(system: County, clock: Clock) -> Known:
    """The county of the module docstring, built through the APIs on the date of `clock`."""
    today = local_today(clock)
    known = Known(county=system, today=today, period=current_half(today))
    year_ago = today - timedelta(days=400)

    # the register: three businesses in Dongshan, one in Xishui
    known.businesses["restaurant"] = system.register_business(
        "dongshan",
        name="东山饭店",
        kind="catering",
        village_id=SHANGCUN,
        food_permit={
            "number": "JY001",
            "issued_on": year_ago.isoformat(),
            "expires_on": (today + timedelta(days=10)).isoformat(),
        },
        business_licence={
            "number": "YZ001",
            "issued_on": year_ago.isoformat(),
            "expires_on": (today + timedelta(days=900)).isoformat(),
        },
    )
    known.businesses["noodles"] = system.register_business(
        "dongshan", name="上村面馆", kind="catering", village_id=SHANGCUN
    )
    known.businesses["workshop"] = system.register_business(
        "dongshan", name="下村豆腐坊", kind="workshop", village_id=XIACUN
    )
    known.businesses["grocery"] = system.register_business(
        "xishui", name="河村杂货店", kind="grocery", village_id=HECUN
    )
    restaurant = known.businesses["restaurant"]["id"]
    cook = known.api(
        "registry",
        "POST",
        f"/businesses/{restaurant}/staff",
        "dongshan",
        json={
            "name": "周师傅",
            "position": "厨师",
            "certificate": {"issued_on": (today - timedelta(days=30)).isoformat()},
        },
    )
    assert cook["id"]
    known.api(
        "registry",
        "POST",
        f"/businesses/{restaurant}/staff",
        "dongshan",
        json={"name": "吴帮厨", "certificate": {"issued_on": year_ago.isoformat()}},
    )
    known.api(
        "registry",
        "POST",
        "/banquets",
        "shangcun",
        json={
            "village_id": SHANGCUN,
            "host": "李家",
            "occasion": "wedding",
            "held_on": (today + timedelta(days=6)).isoformat(),
            "venue": "李家院子",
            "tables": 12,
            "people": 120,
            "cook": {"name": "周师傅", "health_status": "certified"},
            "food_sources": ["镇农贸市场"],
        },
    )
    known.api(
        "registry",
        "POST",
        "/letters",
        "dongshan",
        json={
            "party_kind": "village",
            "village_id": SHANGCUN,
            "year": today.year,
            "signed_on": today.isoformat(),
        },
    )
    known.api(
        "registry",
        "POST",
        "/letters",
        "dongshan",
        json={
            "party_kind": "business",
            "business_id": restaurant,
            "year": today.year,
            "signed_on": today.isoformat(),
        },
    )

    # inspections: one clean, one with a failed item (a rectification order), one in a campaign
    for business in known.businesses.values():
        wait_for(
            lambda b=business: _known(system, b["id"]), what="inspection's directory to hold the business"
        )
    campaign = known.api(
        "inspection",
        "POST",
        "/campaigns",
        "county",
        json={
            "name": "农村食品市场专项整治",
            "kind": "special",
            "starts_on": known.period.first.isoformat(),
            "ends_on": known.period.last.isoformat(),
            "targets": {DONGSHAN: 2, XISHUI: 1},
        },
    )
    for key, kind, fail in (
        ("restaurant", "routine", ()),
        ("noodles", "routine", ("2.1",)),
        ("workshop", "campaign", ()),
    ):
        body: dict[str, Any] = {
            "business_id": known.businesses[key]["id"],
            "kind": kind,
            "inspectors": ["王强", "陈静"],
            "items": results(checklist_kind_for(known.businesses[key]["kind"]), fail=fail),
        }
        if kind == "campaign":
            body["campaign_id"] = campaign["id"]
        known.inspections.append(known.api("inspection", "POST", "/inspections", "inspector", json=body))

    complaint = known.api(
        "inspection",
        "POST",
        "/complaints",
        "dongshan",
        json={"channel": "phone", "business_id": known.businesses["noodles"]["id"], "content": "面条不新鲜"},
    )
    known.api(
        "inspection", "POST", f"/complaints/{complaint['id']}/decision", "dongshan", json={"accept": True}
    )
    known.api(
        "inspection",
        "POST",
        f"/complaints/{complaint['id']}/closure",
        "dongshan",
        json={"result": "已核实并整改"},
    )

    # incidents: one level IV in Dongshan (acknowledged and closed), one small one in Xishui
    first = known.api(
        "alerts",
        "POST",
        "/incidents",
        "dongshan",
        json={
            "township_id": DONGSHAN,
            "village_id": SHANGCUN,
            "ill_count": 35,
            "place_kind": "banquet",
            "description": "寿宴后腹泻",
        },
    )
    known.api("alerts", "POST", f"/incidents/{first['id']}/acknowledge", "dongshan", json={})
    known.api("alerts", "POST", f"/incidents/{first['id']}/close", "dongshan", json={"cause": "凉菜污染"})
    second = known.api(
        "alerts",
        "POST",
        "/incidents",
        "xishui",
        json={"township_id": XISHUI, "ill_count": 3, "place_kind": "restaurant", "description": "腹痛"},
    )
    known.incidents = [first, second]

    # reporting's own records
    known.api(
        "reporting",
        "POST",
        "/activities/publicity",
        "dongshan",
        json={
            "kind": "consultation",
            "title": "食品安全宣传咨询",
            "held_on": today.isoformat(),
            "village_id": SHANGCUN,
            "banners": 3,
            "boards": 1,
            "leaflets": 800,
            "people_consulted": 1000,
        },
    )
    known.api(
        "reporting",
        "POST",
        "/activities/trainings",
        "dongshan",
        json={
            "title": "协管员培训",
            "audience": "coordinators",
            "held_on": today.isoformat(),
            "attendees": 12,
            "hours": 3,
        },
    )
    known.api(
        "reporting",
        "PUT",
        f"/activities/assessments/{SHANGCUN}/{today.year}",
        "dongshan",
        json={"score": 92, "assessed_on": today.isoformat()},
    )
    known.settle()
    return known


def new_id() -> str:
    return str(uuid.uuid4())
