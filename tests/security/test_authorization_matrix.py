"""The authorization matrix: every route of the four services x every role x own and another place.

The routes are read from the apps (FastAPI `APIRoute`s, through included routers), so a route
added without a row in `POLICY` fails the test: nothing new escapes the matrix. Each route is
called for each role (county, township, inspector, village, ops) with a real record of the caller's
own place and one of another place (Dongshan and its village 上村 against Xishui and its village
河村), all created through the APIs of the in-process county (tests/services/conftest.py: the four
apps on the session's Redis). The policy says what each call must answer:

* `2xx` allowed; `403` a role that may not do this; `404` a record of a place outside the caller's
  scope, answered exactly as one that does not exist (`{"detail": "not found"}`); `422` a request
  body naming a place outside the caller's scope;
* never a 5xx; never a 2xx for another place's record, and no 2xx body of a non-county caller
  holds an id of another place's record (ops: of any record).

Commands that can run once (acknowledge, close, decide, resolve, ...) get a fresh record for every
call expected to succeed, so each allowed role really is allowed, not refused for the state its
predecessor left.
"""

from __future__ import annotations

import importlib
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from services.inspection.checklists.templates import checklist_kind_for
from services.reporting.dashboard.api import COOKIE
from shared.auth import MachineScope, Role, issue_token
from shared.clock import ManualClock, local_today
from shared.migrations import upgrade

# The matrix holds the four domain services, whose routes take the shared guard and its place
# scoping; identity's routes (accounts by role and township, sessions, machines, keys) have their
# own role and township tests and fuzzing in tests/identity.
from shared.settings import DOMAIN_SERVICES as SERVICE_NAMES
from tests.support.county import COUNTY, DEFINITION, DONGSHAN, HECUN, SHANGCUN, XISHUI
from tests.support.identity import cheap_config, running_identity
from tests.support.inspection import results
from tests.support.services import County
from tests.support.services import knows_place as _knows_place
from tests.support.settings import make_settings
from tests.support.waiting import wait_for

ROLES = ("county", "township", "inspector", "village", "ops")
PLACES = ("own", "other")
ALL = frozenset(ROLES)
OFFICES = frozenset({"county", "township"})
STAFF = frozenset({"county", "township", "inspector"})
REPORTERS = STAFF | {"village"}
COUNTY_ONLY = frozenset({"county"})
TODAY = local_today()


# --- the county, once for the module ---------------------------------------------------------------


def _bearer(settings: Any, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings, **claims)}"}


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[County]:
    """The four services with the demo places, shared by every call of the matrix."""
    settings = make_settings(
        tmp_path_factory.mktemp("matrix") / "var", redis_url, f"m{uuid.uuid4().hex[:10]}"
    )
    for name in SERVICE_NAMES:
        upgrade(importlib.import_module(f"services.{name}.app").SPEC.migrations, settings.database_url(name))
    with ExitStack() as stack:
        clients = {
            name: stack.enter_context(
                TestClient(importlib.import_module(f"services.{name}.app").create(settings))
            )
            for name in SERVICE_NAMES
        }
        system = County(settings=settings, clients=clients)
        township = {"role": Role.township, "county_id": COUNTY}
        system.tokens = {
            "county": _bearer(settings, subject="county-office", role=Role.county, county_id=COUNTY),
            "township": _bearer(settings, subject="ds-office", **township, township_id=DONGSHAN),
            "inspector": _bearer(
                settings, subject="ds-inspector", role=Role.inspector, county_id=COUNTY, township_id=DONGSHAN
            ),
            "village": _bearer(
                settings,
                subject="li-ming",
                role=Role.village,
                county_id=COUNTY,
                township_id=DONGSHAN,
                village_id=SHANGCUN,
            ),
            "ops": _bearer(settings, subject="ops", role=Role.ops, county_id=COUNTY),
            # the offices of the other place, to create its records
            "xishui": _bearer(settings, subject="xs-office", **township, township_id=XISHUI),
            "xishui-inspector": _bearer(
                settings, subject="xs-inspector", role=Role.inspector, county_id=COUNTY, township_id=XISHUI
            ),
        }
        response = clients["registry"].put("/places", json=DEFINITION, headers=system.tokens["county"])
        assert response.status_code == 200, response.text
        for service in ("inspection", "alerts", "reporting"):
            wait_for(
                lambda service=service: _knows_place(system, service, HECUN),
                what=f"{service} to learn the places",
            )
        yield system


# --- the records of each place ------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """What "own" and "other" stand for: a township, one of its villages, and who runs it."""

    township: str
    village: str
    office: str  # token of the township's office
    inspector: str


OWN = Place(DONGSHAN, SHANGCUN, "township", "inspector")
OTHER = Place(XISHUI, HECUN, "xishui", "xishui-inspector")


@dataclass
class Fixtures:
    county: County
    records: dict[str, dict[str, str]] = field(default_factory=dict)  # place -> name -> id
    fresh: dict[str, Callable[[str], dict[str, str]]] = field(default_factory=dict)
    serial: int = 0

    def place(self, name: str) -> Place:
        return OWN if name == "own" else OTHER

    def call(
        self, service: str, method: str, url: str, who: str, status: int | None = None, **kwargs: Any
    ) -> Any:
        headers = {**self.county.tokens[who], **kwargs.pop("headers", {})}
        response = self.county.clients[service].request(method, url, headers=headers, **kwargs)
        expected = status or (201 if method == "POST" else 200)
        assert response.status_code == expected, (method, url, response.text)
        return response.json() if "json" in response.headers.get("content-type", "") else response

    def unique(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    # each returns the ids of a new record of the place, made by that place's office

    def business(self, place: str) -> dict[str, str]:
        where = self.place(place)
        number = self.unique("JY9")
        permit = {"number": number, "issued_on": "2025-01-01", "expires_on": "2030-01-01"}
        body = {
            "name": self.unique("饭店"),
            "kind": "catering",
            "village_id": where.village,
            "food_permit": permit,
        }
        business = self.call("registry", "POST", "/businesses", where.office, json=body)
        return {"business": business["id"]}

    def in_inspection(self, business_id: str) -> None:
        wait_for(
            lambda: (
                self.county.inspection.get(
                    f"/directory/businesses/{business_id}", headers=self.county.tokens["county"]
                ).status_code
                == 200
            ),
            what="inspection's directory to hold the business",
        )

    def in_alerts(self, business_id: str) -> None:
        from services.alerts.directory.service import get

        runtime = self.county.alerts.app.state.runtime

        def known() -> bool:
            with runtime.db.session() as session:
                return get(session, uuid.UUID(business_id)) is not None

        wait_for(known, what="alerts' directory to hold the business")

    def inspection(self, place: str, business_id: str, fail: tuple[str, ...] = ("2.1",)) -> dict[str, str]:
        body = {
            "business_id": business_id,
            "kind": "routine",
            "inspectors": ["王强", "陈静"],
            "items": results(checklist_kind_for("catering"), fail=fail),
        }
        return {
            "inspection": self.call(
                "inspection", "POST", "/inspections", self.place(place).inspector, json=body
            )["id"]
        }

    def complaint(self, place: str, business_id: str) -> dict[str, str]:
        body = {"channel": "phone", "business_id": business_id, "content": "饭菜不新鲜"}
        return {
            "complaint": self.call("inspection", "POST", "/complaints", self.place(place).office, json=body)[
                "id"
            ]
        }

    def accepted_complaint(self, place: str) -> dict[str, str]:
        complaint = self.complaint(place, self.records[place]["business"])
        url = f"/complaints/{complaint['complaint']}/decision"
        self.call("inspection", "POST", url, self.place(place).office, status=200, json={"accept": True})
        return complaint

    def incident(self, place: str, **fields: Any) -> dict[str, str]:
        where = self.place(place)
        body = {
            "township_id": where.township,
            "village_id": where.village,
            "ill_count": 3,
            "place_kind": "other",
            "description": self.unique("腹泻"),
            **fields,
        }
        return {"incident": self.call("alerts", "POST", "/incidents", where.office, json=body)["id"]}

    def banquet(self, place: str) -> dict[str, str]:
        where = self.place(place)
        body = {
            "village_id": where.village,
            "host": self.unique("李家"),
            "occasion": "wedding",
            "held_on": (TODAY + timedelta(days=3)).isoformat(),
            "venue": "院子",
            "tables": 12,
            "people": 120,
            "cook": {"name": "周师傅", "health_status": "certified"},
            "food_sources": ["镇农贸市场"],
        }
        return {"banquet": self.call("registry", "POST", "/banquets", where.office, json=body)["id"]}

    def alert(self, place: str) -> dict[str, str]:
        """A banquet of 120 people three days ahead is due guidance: alerts raises an alert."""
        banquet = self.banquet(place)["banquet"]

        def raised() -> str | None:
            listed = self.call("alerts", "GET", "/alerts", "county", params={"limit": 500})["items"]
            return next((item["id"] for item in listed if item.get("banquet_id") == banquet), None)

        return {"alert": str(wait_for(raised, what="the banquet's alert"))}

    def under_investigation(self, place: str) -> dict[str, str]:
        business = self.business(place)
        self.in_alerts(business["business"])
        self.incident(place, business_id=business["business"], village_id=self.place(place).village)

        def flagged() -> bool:
            found = self.call("registry", "GET", f"/businesses/{business['business']}", "county")
            return bool(found["under_investigation"])

        wait_for(flagged, what="the registry to flag the business")
        return business

    def rejected_import(self, place: str) -> str:
        """A dry-run import with a rejected row, whose rejection report the route serves."""
        from services.registry.imports import ledger

        header = ",".join(column.label for column in ledger.COLUMNS)
        content = f"{header}\n{self.unique('无村饭店')},餐饮单位,没有这个村,,,,,,,,,,,\n".encode()
        where = self.place(place)
        report = self.call(
            "registry",
            "POST",
            "/imports/businesses",
            where.office,
            200,
            content=content,
            params={"dry_run": "true"},
        )
        return report["import_id"]

    def build(self) -> None:
        for place in PLACES:
            where = self.place(place)
            records: dict[str, str] = {"township": where.township, "village": where.village}
            records |= self.business(place)
            business = records["business"]
            staff = {"name": "周师傅", "certificate": {"issued_on": (TODAY - timedelta(days=30)).isoformat()}}
            records["staff"] = self.call(
                "registry", "POST", f"/businesses/{business}/staff", where.office, json=staff
            )["id"]
            records |= self.banquet(place)
            records |= self.channel(place)
            self.in_inspection(business)
            self.in_alerts(business)
            records |= self.inspection(place, business)
            photo = self.call(
                "inspection",
                "POST",
                f"/inspections/{records['inspection']}/photos",
                where.inspector,
                params={"filename": "a.jpg"},
                content=b"\xff\xd8\xff photo",
                headers={"content-type": "image/jpeg"},
            )
            records["attachment"] = photo["id"]
            orders = self.call("inspection", "GET", "/rectifications", where.office)
            orders = orders["items"] if isinstance(orders, dict) else orders
            records["order"] = next(o["id"] for o in orders if o["inspection_id"] == records["inspection"])
            records |= self.complaint(place, business)
            campaign = {
                "name": self.unique("专项整治"),
                "kind": "special",
                "starts_on": (TODAY - timedelta(days=5)).isoformat(),
                "ends_on": (TODAY + timedelta(days=20)).isoformat(),
                "targets": {where.township: 3},
            }
            records["campaign"] = self.call("inspection", "POST", "/campaigns", "county", json=campaign)["id"]
            records |= self.incident(place)
            records["import"] = self.rejected_import(place)
            self.records[place] = records
        for place in PLACES:
            self.records[place] |= self.alert(place)
        # a fresh record for each call expected to succeed, so a command that runs once is tried
        # by every role it allows
        self.fresh = {
            "business": self.business,
            "investigated": self.under_investigation,
            "incident": lambda place: self.incident(place, village_id=None),  # grouped with none
            "acknowledged": self.acknowledged_incident,
            "complaint": lambda place: self.complaint(place, self.records[place]["business"]),
            "accepted": self.accepted_complaint,
            "inspection": lambda place: self.inspection(place, self.records[place]["business"]),
            "alert": self.alert,
            "channel": self.channel,
        }

    def channel(self, _place: str) -> dict[str, str]:
        """A county's notification channel (a WeCom robot: its key is its only secret)."""
        name = self.unique("robot").lower()
        body = {"kind": "wecom", "key": f"matrix-key-{name}"}
        self.call("alerts", "PUT", f"/notification-channels/{name}", "county", status=200, json=body)
        return {"channel": name}

    def acknowledged_incident(self, place: str) -> dict[str, str]:
        incident = self.incident(place, village_id=None)
        url = f"/incidents/{incident['incident']}/acknowledge"
        self.call("alerts", "POST", url, self.place(place).office, status=200, json={})
        return incident


@pytest.fixture(scope="module")
def fixtures(county: County) -> Fixtures:
    built = Fixtures(county=county)
    built.build()
    return built


# --- the policy ---------------------------------------------------------------------------------

Body = Callable[[Fixtures, str, dict[str, str]], dict[str, Any]]


def no_body(_fx: Fixtures, _place: str, _ids: dict[str, str]) -> dict[str, Any]:
    return {}


def json_body(value: dict[str, Any] | Callable[[Fixtures, str, dict[str, str]], dict[str, Any]]) -> Body:
    def body(fx: Fixtures, place: str, ids: dict[str, str]) -> dict[str, Any]:
        return {"json": value(fx, place, ids) if callable(value) else value}

    return body


def query(**params: Any) -> Body:
    return lambda _fx, _place, _ids: {"params": params}


@dataclass(frozen=True)
class Policy:
    """Who may call a route, and what another place's record (or a body naming another place) gets.

    `other` is what an allowed role other than the county gets for another place: "404" for a
    record in the path, "422" for a place named in the body, "2xx" when the request names no place
    (a list, filtered to the caller's scope). `fresh` names the factory of a new record for each
    call expected to succeed. `exceptions` pins single (role, place) answers that differ, each
    with its reason."""

    roles: frozenset[str]
    other: str = "404"
    body: Body = no_body
    fresh: str | None = None
    exceptions: dict[tuple[str, str], str] = field(default_factory=dict)
    auth: str = "bearer"  # "none": operations routes; "cookie": the dashboard's pages
    allowed: str = "2xx"  # what an allowed call answers (the dashboard's forms redirect: 303)
    scope: str | None = None  # the machine scope that opens the route (as the county's office)
    not_found: str = '{"detail":"not found"}'  # the one 404 body (a phone's page: its one sentence)


PUBLIC = Policy(roles=ALL, other="2xx", auth="none")
# the machine scopes of the domain services (shared.auth.MachineScope)
REGISTRY_READ = MachineScope.registry_read.value
REGISTRY_IMPORT = MachineScope.registry_import.value
INSPECTION_READ = MachineScope.inspection_read.value
ALERTS_READ = MachineScope.alerts_read.value
REPORTING_READ = MachineScope.reporting_read.value
FORGED = Policy(
    roles=ALL, other="404", auth="none", allowed="404", not_found="链接无效。请使用通知中的完整链接。"
)
LIST = "2xx"
PERIOD = {"from": (TODAY - timedelta(days=30)).isoformat(), "to": TODAY.isoformat()}
# ops has no domain data: every record is outside its scope, answered as if it did not exist
OPS_SEES_NOTHING = {("ops", "own"): "404", ("ops", "other"): "404"}


def business_patch(_fx: Fixtures, _place: str, _ids: dict[str, str]) -> dict[str, Any]:
    return {"json": {"operator": "赵老板"}}


def new_business(fx: Fixtures, place: str, _ids: dict[str, str]) -> dict[str, Any]:
    return {"json": {"name": fx.unique("新店"), "kind": "catering", "village_id": fx.place(place).village}}


def banquet_body(fx: Fixtures, place: str, _ids: dict[str, str]) -> dict[str, Any]:
    return {
        "json": {
            "village_id": fx.place(place).village,
            "host": fx.unique("王家"),
            "occasion": "birthday",
            "held_on": (TODAY + timedelta(days=20)).isoformat(),
            "venue": "祠堂",
            "tables": 5,
            "people": 50,
            "cook": {"name": "吴师傅", "health_status": "certified"},
            "food_sources": ["超市"],
        }
    }


def letter_body(fx: Fixtures, place: str, _ids: dict[str, str]) -> dict[str, Any]:
    fx.serial += 1
    return {
        "json": {
            "party_kind": "business",
            "business_id": fx.records[place]["business"],
            "year": 2000 + fx.serial,
            "signed_on": TODAY.isoformat(),
        }
    }


def ledger_body(fx: Fixtures, place: str, _ids: dict[str, str]) -> dict[str, Any]:
    from services.registry.imports import ledger

    header = ",".join(column.label for column in ledger.COLUMNS)
    row = f"{fx.unique('账本饭店')},餐饮单位,{fx.place(place).village},,,,,,,,,,,"
    return {"content": f"{header}\n{row}\n".encode(), "params": {"dry_run": "true"}}


def inspection_body(fx: Fixtures, place: str, _ids: dict[str, str]) -> dict[str, Any]:
    return {
        "json": {
            "business_id": fx.records[place]["business"],
            "kind": "routine",
            "inspectors": ["王强"],
            "items": results(checklist_kind_for("catering")),
        }
    }


def complaint_body(fx: Fixtures, place: str, _ids: dict[str, str]) -> dict[str, Any]:
    return {"json": {"channel": "phone", "business_id": fx.records[place]["business"], "content": "不卫生"}}


def campaign_body(fx: Fixtures, place: str, _ids: dict[str, str]) -> dict[str, Any]:
    return {
        "json": {
            "name": fx.unique("专项检查"),
            "kind": "special",
            "starts_on": TODAY.isoformat(),
            "ends_on": (TODAY + timedelta(days=3)).isoformat(),
            "targets": {fx.place(place).township: 1},
        }
    }


def incident_body(fx: Fixtures, place: str, _ids: dict[str, str]) -> dict[str, Any]:
    where = fx.place(place)
    return {
        "json": {
            "township_id": where.township,
            "village_id": where.village,
            "ill_count": 2,
            "place_kind": "other",
            "description": fx.unique("呕吐"),
        }
    }


def publicity_body(fx: Fixtures, place: str, _ids: dict[str, str]) -> dict[str, Any]:
    return {
        "json": {
            "kind": "consultation",
            "title": fx.unique("宣传"),
            "held_on": TODAY.isoformat(),
            "township_id": fx.place(place).township,
        }
    }


def training_body(fx: Fixtures, place: str, _ids: dict[str, str]) -> dict[str, Any]:
    return {
        "json": {
            "title": fx.unique("培训"),
            "audience": "coordinators",
            "held_on": TODAY.isoformat(),
            "attendees": 10,
            "hours": 2,
            "township_id": fx.place(place).township,
        }
    }


STEPS = {"steps": [{"name": "镇食安办", "tier": "township", "targets": [{"ref": "role:township_office"}]}]}


def township_query(fx: Fixtures, place: str, _ids: dict[str, str]) -> dict[str, Any]:
    return {"params": {"township_id": fx.place(place).township}}


POLICY: dict[tuple[str, str, str], Policy] = {
    # operations: no token at all
    **{
        (service, "GET", path): PUBLIC
        for service in SERVICE_NAMES
        for path in ("/healthz", "/readyz", "/metrics")
    },
    # registry
    ("registry", "GET", "/places"): Policy(ALL, other=LIST, scope=REGISTRY_READ),
    ("registry", "PUT", "/places"): Policy(COUNTY_ONLY, other=LIST, body=json_body(DEFINITION)),
    ("registry", "PATCH", "/places/villages/{village_id}"): Policy(
        COUNTY_ONLY, body=json_body({"information_officer": "赵六"})
    ),
    ("registry", "POST", "/businesses"): Policy(STAFF, other="422", body=new_business),
    ("registry", "GET", "/businesses"): Policy(ALL, other=LIST, scope=REGISTRY_READ),
    ("registry", "GET", "/businesses/{business_id}"): Policy(
        REPORTERS, exceptions=OPS_SEES_NOTHING, scope=REGISTRY_READ
    ),
    ("registry", "PATCH", "/businesses/{business_id}"): Policy(STAFF, body=business_patch),
    ("registry", "PUT", "/businesses/{business_id}/licences/{kind}"): Policy(
        STAFF,
        body=lambda fx, _p, _i: {
            "json": {"number": fx.unique("JY7"), "issued_on": "2025-06-01", "expires_on": "2030-06-01"}
        },
    ),
    ("registry", "POST", "/businesses/{business_id}/status"): Policy(
        OFFICES, body=json_body({"status": "suspended", "reason": "无证经营"}), fresh="business"
    ),
    ("registry", "POST", "/businesses/{business_id}/decision"): Policy(
        OFFICES, body=json_body({"decision": "reactivate", "reason": "已整改"}), fresh="investigated"
    ),
    ("registry", "GET", "/businesses/{business_id}/grades"): Policy(
        REPORTERS, exceptions=OPS_SEES_NOTHING, scope=REGISTRY_READ
    ),
    ("registry", "POST", "/businesses/{business_id}/staff"): Policy(
        STAFF, body=json_body({"name": "吴帮厨"})
    ),
    ("registry", "GET", "/businesses/{business_id}/staff"): Policy(REPORTERS, exceptions=OPS_SEES_NOTHING),
    ("registry", "PATCH", "/staff/{staff_id}"): Policy(STAFF, body=json_body({"position": "面点师"})),
    ("registry", "POST", "/staff/{staff_id}/certificates"): Policy(
        STAFF, body=json_body({"issued_on": TODAY.isoformat()})
    ),
    ("registry", "POST", "/banquets"): Policy(
        frozenset({"county", "township", "village"}), other="422", body=banquet_body
    ),
    ("registry", "GET", "/banquets"): Policy(ALL, other=LIST),
    ("registry", "GET", "/banquets/{banquet_id}"): Policy(REPORTERS, exceptions=OPS_SEES_NOTHING),
    # the filing rules' verdict, for those who file; it names no place (the caller's county's rule)
    ("registry", "GET", "/banquets/assessment"): Policy(
        frozenset({"county", "township", "village"}),
        other=LIST,
        body=query(
            occasion="wedding", held_on=(TODAY + timedelta(days=2)).isoformat(), people=120, tables=12
        ),
    ),
    ("registry", "POST", "/letters"): Policy(OFFICES, other="422", body=letter_body),
    ("registry", "GET", "/letters"): Policy(ALL, other=LIST),
    ("registry", "POST", "/imports/businesses"): Policy(
        OFFICES, other="2xx", body=ledger_body, scope=REGISTRY_IMPORT
    ),
    ("registry", "GET", "/exports/businesses"): Policy(STAFF, other=LIST, scope=REGISTRY_READ),
    ("registry", "GET", "/imports/{import_id}/rejections.csv"): Policy(OFFICES, scope=REGISTRY_IMPORT),
    # inspection
    ("inspection", "GET", "/directory/businesses"): Policy(ALL, other=LIST),
    ("inspection", "GET", "/directory/businesses/{business_id}"): Policy(
        REPORTERS, exceptions=OPS_SEES_NOTHING
    ),
    ("inspection", "GET", "/checklists"): Policy(REPORTERS, other=LIST),
    ("inspection", "GET", "/checklists/{kind}/{version}"): Policy(REPORTERS, other=LIST),
    ("inspection", "GET", "/checklists/current"): Policy(
        REPORTERS, other=LIST, body=query(business_kind="catering")
    ),
    ("inspection", "POST", "/inspections"): Policy(STAFF, other="422", body=inspection_body),
    ("inspection", "POST", "/inspections/preview"): Policy(STAFF, other="422", body=inspection_body),
    ("inspection", "GET", "/inspections"): Policy(REPORTERS, other=LIST, scope=INSPECTION_READ),
    ("inspection", "GET", "/inspections/{inspection_id}"): Policy(REPORTERS, scope=INSPECTION_READ),
    ("inspection", "POST", "/inspections/{inspection_id}/photos"): Policy(
        STAFF,
        body=lambda _fx, _p, _i: {
            "params": {"filename": "b.jpg"},
            "content": b"\xff\xd8\xff more",
            "headers": {"content-type": "image/jpeg"},
        },
    ),
    ("inspection", "GET", "/inspections/{inspection_id}/photos/{attachment_id}"): Policy(REPORTERS),
    ("inspection", "POST", "/inspections/{inspection_id}/referral"): Policy(
        OFFICES, body=json_body({"reason": "涉嫌使用非食品原料"}), fresh="inspection"
    ),
    ("inspection", "GET", "/rectifications"): Policy(STAFF, other=LIST, scope=INSPECTION_READ),
    ("inspection", "GET", "/rectifications/{order_id}"): Policy(STAFF, scope=INSPECTION_READ),
    ("inspection", "POST", "/complaints"): Policy(STAFF, other="422", body=complaint_body),
    ("inspection", "GET", "/complaints"): Policy(STAFF, other=LIST),
    ("inspection", "GET", "/complaints/{complaint_id}"): Policy(STAFF),
    ("inspection", "POST", "/complaints/{complaint_id}/decision"): Policy(
        OFFICES, body=json_body({"accept": True}), fresh="complaint"
    ),
    ("inspection", "POST", "/complaints/{complaint_id}/assignment"): Policy(
        OFFICES, body=json_body({"assignee": "王强"}), fresh="accepted"
    ),
    ("inspection", "POST", "/complaints/{complaint_id}/closure"): Policy(
        OFFICES, body=json_body({"result": "已核实"}), fresh="accepted"
    ),
    ("inspection", "POST", "/campaigns"): Policy(COUNTY_ONLY, other="2xx", body=campaign_body),
    ("inspection", "GET", "/campaigns"): Policy(STAFF, other=LIST),
    ("inspection", "GET", "/campaigns/{campaign_id}"): Policy(STAFF),
    ("inspection", "GET", "/campaigns/{campaign_id}/progress"): Policy(STAFF),
    ("inspection", "GET", "/plans"): Policy(STAFF, body=township_query),
    ("inspection", "GET", "/worklist"): Policy(STAFF, body=township_query),
    ("inspection", "GET", "/coverage"): Policy(STAFF, other=LIST),
    # alerts
    ("alerts", "POST", "/incidents"): Policy(REPORTERS, other="422", body=incident_body),
    ("alerts", "GET", "/incidents"): Policy(ALL, other=LIST, scope=ALERTS_READ),
    ("alerts", "GET", "/incidents/stats"): Policy(ALL, other=LIST, scope=ALERTS_READ),
    ("alerts", "GET", "/incidents/{incident_id}"): Policy(
        REPORTERS, exceptions=OPS_SEES_NOTHING, scope=ALERTS_READ
    ),
    ("alerts", "GET", "/incidents/{incident_id}/timeline"): Policy(
        REPORTERS, exceptions=OPS_SEES_NOTHING, scope=ALERTS_READ
    ),
    ("alerts", "GET", "/incidents/{incident_id}/reports"): Policy(REPORTERS, exceptions=OPS_SEES_NOTHING),
    ("alerts", "GET", "/incidents/{incident_id}/notifications"): Policy(
        REPORTERS, exceptions=OPS_SEES_NOTHING
    ),
    ("alerts", "POST", "/incidents/{incident_id}/acknowledge"): Policy(
        OFFICES, body=json_body({}), fresh="incident"
    ),
    ("alerts", "POST", "/incidents/{incident_id}/progress"): Policy(
        STAFF, body=json_body({"status": "responding"}), fresh="acknowledged"
    ),
    ("alerts", "POST", "/incidents/{incident_id}/notes"): Policy(
        REPORTERS, body=json_body({"text": "已到现场"})
    ),
    ("alerts", "PATCH", "/incidents/{incident_id}/counts"): Policy(
        REPORTERS, body=json_body({"ill_count": 4})
    ),
    ("alerts", "POST", "/incidents/{incident_id}/close"): Policy(
        OFFICES, body=json_body({"cause": "误报"}), fresh="incident"
    ),
    ("alerts", "GET", "/escalation/policies/{scope_id}"): Policy(STAFF),
    ("alerts", "PUT", "/escalation/policies/{scope_id}"): Policy(COUNTY_ONLY, body=json_body(STEPS)),
    ("alerts", "GET", "/alerts"): Policy(ALL, other=LIST),
    ("alerts", "GET", "/alerts/groups"): Policy(ALL, other=LIST),
    ("alerts", "POST", "/alerts/{alert_id}/resolve"): Policy(OFFICES, body=json_body({}), fresh="alert"),
    ("alerts", "GET", "/notification-channels"): Policy(COUNTY_ONLY, other=LIST),
    ("alerts", "GET", "/notification-channels/{name}"): Policy(COUNTY_ONLY),
    ("alerts", "PUT", "/notification-channels/{name}"): Policy(
        COUNTY_ONLY, body=json_body({"kind": "wecom", "key": "matrix-key-changed"})
    ),
    ("alerts", "DELETE", "/notification-channels/{name}"): Policy(COUNTY_ONLY, fresh="channel"),
    # a link's token and an SMS channel's secret are the credential: a forged one is 404 for anyone
    ("alerts", "GET", "/ack/{incident}/{token}"): FORGED,
    ("alerts", "POST", "/ack/{incident}/{token}"): FORGED,
    ("alerts", "POST", "/sms-replies/tencent/{county_id}/{channel}/{secret}"): Policy(
        ALL, auth="none", allowed="404", other="404", body=json_body({"mobile": "13800000001", "text": "1"})
    ),
    ("alerts", "POST", "/sms-replies/aliyun/{county_id}/{channel}/{secret}"): Policy(
        ALL,
        auth="none",
        allowed="404",
        other="404",
        body=lambda *_: {"json": [{"phone_number": "1", "content": "1"}]},
    ),
    # reporting
    ("reporting", "GET", "/summaries/{township_id}"): Policy(
        STAFF, body=query(**PERIOD), scope=REPORTING_READ
    ),
    ("reporting", "GET", "/statistics/{place_id}"): Policy(STAFF, body=query(**PERIOD), scope=REPORTING_READ),
    ("reporting", "GET", "/statistics/{place_id}/records/{key}"): Policy(
        STAFF, body=query(**PERIOD), scope=REPORTING_READ
    ),
    # reporting answers a place named in the body outside the caller's scope 404 (one message)
    ("reporting", "POST", "/activities/publicity"): Policy(OFFICES, other="404", body=publicity_body),
    ("reporting", "GET", "/activities/publicity"): Policy(STAFF, other=LIST),
    ("reporting", "POST", "/activities/trainings"): Policy(OFFICES, other="404", body=training_body),
    ("reporting", "GET", "/activities/trainings"): Policy(STAFF, other=LIST),
    ("reporting", "PUT", "/activities/assessments/{village_id}/{year}"): Policy(
        OFFICES, body=json_body({"score": 90, "assessed_on": TODAY.isoformat()})
    ),
    ("reporting", "GET", "/activities/assessments"): Policy(STAFF, other=LIST),
    ("reporting", "GET", "/documents/{place_id}/summary"): Policy(
        STAFF, body=query(**PERIOD, format="html"), scope=REPORTING_READ
    ),
    ("reporting", "GET", "/documents/{place_id}/sections"): Policy(STAFF, body=query(**PERIOD)),
    ("reporting", "PUT", "/documents/{place_id}/sections"): Policy(
        OFFICES,
        body=lambda _fx, _p, _i: {"params": PERIOD, "json": {"sections": {"problems": "人手不足"}}},
    ),
    ("reporting", "GET", "/export/{place_id}/lives.zip"): Policy(STAFF, scope=REPORTING_READ),
    ("reporting", "GET", "/export/{place_id}/lives/{name}.csv"): Policy(STAFF, scope=REPORTING_READ),
    ("reporting", "GET", "/export/{place_id}/lives/{name}.json"): Policy(STAFF, scope=REPORTING_READ),
    # the dashboard: pages signed in by a cookie holding the same token
    ("reporting", "GET", "/dashboard/login"): Policy(ALL, other="2xx", auth="none"),
    ("reporting", "POST", "/dashboard/login"): Policy(STAFF, other="303", auth="form", allowed="303"),
    ("reporting", "POST", "/dashboard/logout"): Policy(ALL, other="303", auth="none", allowed="303"),
    ("reporting", "GET", "/dashboard"): Policy(
        STAFF, auth="cookie", body=lambda fx, p, _i: {"params": {"place": fx.place(p).township}}
    ),
    ("reporting", "GET", "/dashboard/records/{key}"): Policy(
        STAFF,
        auth="cookie",
        body=lambda fx, p, _i: {"params": {"place": fx.place(p).township, "period": str(TODAY.year)}},
    ),
    ("reporting", "GET", "/dashboard/summary.{document_format}"): Policy(
        STAFF,
        auth="cookie",
        body=lambda fx, p, _i: {"params": {"place": fx.place(p).township, "period": str(TODAY.year)}},
    ),
}

# path parameters that name a record: the record of that name in the place's fixtures
RECORD_PARAMS = {
    "business_id": "business",
    "staff_id": "staff",
    "banquet_id": "banquet",
    "village_id": "village",
    "inspection_id": "inspection",
    "attachment_id": "attachment",
    "order_id": "order",
    "complaint_id": "complaint",
    "campaign_id": "campaign",
    "incident_id": "incident",
    "alert_id": "alert",
    "import_id": "import",
    "scope_id": "township",
    "township_id": "township",
    "place_id": "township",
    # an ack link names its incident with the link's token as the credential, not a record in scope
    ("alerts", "incident"): "incident",
    ("alerts", "name"): "channel",
    ("alerts", "channel"): "channel",
}
PLACE_PARAMS = {"village_id", "scope_id", "township_id", "place_id"}
# path parameters that name no place
CONSTANT_PARAMS = {
    ("registry", "kind"): "food_permit",
    ("inspection", "kind"): "catering",
    "year": str(TODAY.year),
    "key": "inspections.total",
    "name": "businesses",
    "document_format": "html",
    ("alerts", "token"): "AAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
    ("alerts", "county_id"): COUNTY,
    ("alerts", "secret"): "not-the-reply-secret",
}


# --- the matrix ---------------------------------------------------------------------------------


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, also those of included routers (FastAPI keeps those lazily)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            prefix = route.include_context.prefix
            for inner in api_routes(route.original_router.routes):
                if prefix:
                    raise AssertionError(
                        f"router included with a prefix {prefix}: the matrix cannot place it"
                    )
                yield inner


def every_route(county: County) -> list[tuple[str, str, str]]:
    found = []
    for service in SERVICE_NAMES:
        for route in api_routes(county.clients[service].app.routes):
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                found.append((service, method, route.path))
    return found


def expected(policy: Policy, role: str, place: str) -> str:
    if (role, place) in policy.exceptions:
        return policy.exceptions[(role, place)]
    if role not in policy.roles:
        return "303" if policy.auth == "cookie" else "401" if policy.auth == "form" else "403"
    if place == "own" or role == "county":
        return policy.allowed
    return policy.other


def matches(status: int, wanted: str) -> bool:
    return 200 <= status < 300 if wanted == "2xx" else status == int(wanted)


@dataclass
class Call:
    service: str
    method: str
    path: str
    role: str
    place: str
    status: int
    wanted: str
    body: str


def path_values(fx: Fixtures, service: str, path: str, place: str, ids: dict[str, str]) -> str:
    def value(name: str) -> str:
        if (service, name) in RECORD_PARAMS:
            return ids[RECORD_PARAMS[(service, name)]]  # type: ignore[index]
        if name in RECORD_PARAMS:
            return ids[RECORD_PARAMS[name]]
        if (service, name) in CONSTANT_PARAMS:
            return CONSTANT_PARAMS[(service, name)]  # type: ignore[index]
        if name == "version":
            return str(fx.records["checklist_version"])
        return CONSTANT_PARAMS[name]  # type: ignore[index]

    import re

    return re.sub(r"\{(\w+)\}", lambda match: value(match.group(1)), path)


def perform(
    fx: Fixtures, key: tuple[str, str, str], policy: Policy, role: str, place: str, wanted: str | None = None
) -> Call:
    service, method, path = key
    wanted = wanted or expected(policy, role, place)
    ids = dict(fx.records[place])
    if policy.fresh and wanted == "2xx":
        ids |= fx.fresh[policy.fresh](place)
    url = path_values(fx, service, path, place, ids)
    kwargs = policy.body(fx, place, ids)
    client = fx.county.clients[service]
    token = fx.county.tokens[role]["Authorization"].removeprefix("Bearer ")
    headers = dict(kwargs.pop("headers", {}))
    cookies = None
    if policy.auth == "bearer":
        headers["Authorization"] = f"Bearer {token}"
    elif policy.auth == "cookie":
        cookies = {COOKIE: token}
    elif policy.auth == "form":
        kwargs["content"] = f"token={token}".encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    client.cookies.clear()
    if cookies:
        client.cookies.update(cookies)
    response = client.request(method, url, headers=headers, follow_redirects=False, **kwargs)
    client.cookies.clear()
    text = (
        response.text
        if "json" in response.headers.get("content-type", "")
        or "text" in response.headers.get("content-type", "")
        else ""
    )
    return Call(service, method, path, role, place, response.status_code, wanted, text)


def leaked(fx: Fixtures, call: Call) -> list[str]:
    """Ids of records the caller may not read that a successful answer holds."""
    if not 200 <= call.status < 300 or call.role == "county" or not call.body:
        return []
    secret = {value for name, value in fx.records["other"].items() if _is_uuid(value)}
    if call.role == "ops":
        secret |= {value for name, value in fx.records["own"].items() if _is_uuid(value)}
    return sorted(value for value in secret if value in call.body)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def test_every_route_answers_every_role_and_place_as_the_policy_says(fixtures: Fixtures):
    started = time.monotonic()
    routes = every_route(fixtures.county)
    missing = sorted(set(routes) - set(POLICY))
    assert not missing, f"routes without a policy (add them to POLICY): {missing}"
    stale = sorted(set(POLICY) - set(routes))
    assert not stale, f"policies of routes that no longer exist: {stale}"
    checklists = fixtures.call("inspection", "GET", "/checklists", "county")
    fixtures.records["checklist_version"] = next(
        str(item["version"]) for item in checklists if item["kind"] == "catering"
    )

    wrong: list[str] = []
    calls = 0
    for key in routes:
        policy = POLICY[key]
        for role in ROLES:
            for place in PLACES:
                call = perform(fixtures, key, policy, role, place)
                calls += 1
                where = f"{call.method} {call.service}{call.path} as {role} ({place})"
                if call.status >= 500:
                    wrong.append(f"{where}: {call.status} {call.body[:200]}")
                elif not matches(call.status, call.wanted):
                    wrong.append(f"{where}: {call.status}, policy says {call.wanted}: {call.body[:200]}")
                elif call.wanted == "404" and call.body and policy.not_found not in call.body:
                    wrong.append(f"{where}: 404 reads {call.body!r}, not the one message")
                if (
                    place == "other"
                    and role != "county"
                    and policy.other == "404"
                    and 200 <= call.status < 300
                ):
                    wrong.append(f"{where}: {call.status} for another place's record")
                if found := leaked(fixtures, call):
                    wrong.append(f"{where}: {call.status} holds ids of records it may not read: {found}")
    assert not wrong, f"{len(wrong)} of {calls} calls broke the policy:\n" + "\n".join(wrong)
    assert calls == len(routes) * len(ROLES) * len(PLACES)
    size = f"{len(routes)} routes x {len(ROLES)} roles x {len(PLACES)} places = {calls} calls"
    print(f"\nauthorization matrix: {size} in {time.monotonic() - started:.1f}s")


def test_a_record_elsewhere_and_one_that_does_not_exist_read_the_same(fixtures: Fixtures):
    """For every route naming a record: the township's answer for Xishui's record and for a record
    that was never created is the same 404, body and all (hardening issue, item 11); for every
    request body naming one, the same 422."""
    compared = 0
    different: list[str] = []
    for key in every_route(fixtures.county):
        service, method, path = key
        policy = POLICY[key]
        names = [name for name in RECORD_PARAMS if f"{{{name}}}" in path]
        if not names or expected(policy, "township", "other") != "404":
            continue
        answers = []
        for ids in (
            fixtures.records["other"],
            {
                **fixtures.records["other"],
                **{
                    RECORD_PARAMS[n]: str(uuid.uuid4())
                    if "_id" in n and n not in PLACE_PARAMS
                    else "qingyun.nowhere"
                    for n in names
                },
            },
        ):
            url = path_values(fixtures, service, path, "other", ids)
            kwargs = policy.body(fixtures, "other", ids)
            headers = {**kwargs.pop("headers", {}), **fixtures.county.tokens["township"]}
            response = fixtures.county.clients[service].request(method, url, headers=headers, **kwargs)
            answers.append((response.status_code, response.text))
        compared += 1
        if answers[0] != answers[1] or answers[0] != (404, '{"detail":"not found"}'):
            different.append(f"{method} {service}{path}: elsewhere {answers[0]}, never created {answers[1]}")
    # a body naming another place's record, or one never created: the same 422 (but for the id)
    made_up = {
        "business_id": str(uuid.uuid4()),
        "village_id": "qingyun.xishui.nowhere",
        "township_id": "qingyun.nowhere",
    }
    for key in every_route(fixtures.county):
        service, method, path = key
        if POLICY[key].other != "422":
            continue
        body = POLICY[key].body(fixtures, "other", fixtures.records["other"])["json"]
        named = {name: value for name, value in made_up.items() if name in body}
        client, headers = fixtures.county.clients[service], fixtures.county.tokens["township"]
        real = client.request(method, path, json=body, headers=headers)
        fake = client.request(method, path, json={**body, **named}, headers=headers)
        real_text, fake_text = real.text, fake.text
        for name, value in named.items():
            real_text, fake_text = real_text.replace(body[name], "<id>"), fake_text.replace(value, "<id>")
        compared += 1
        if (real.status_code, real_text) != (fake.status_code, fake_text) or real.status_code != 422:
            different.append(f"{method} {service}{path}: elsewhere {real.text}, never created {fake.text}")
    assert not different, "\n".join(different)
    assert compared >= 36


# --- machine accounts ---------------------------------------------------------------------------

# one machine account of identity per scope, and one whose scope opens nothing here
MACHINES = {scope.value: [scope.value] for scope in MachineScope} | {"sms:callback": ["sms:callback"]}


@pytest.fixture(scope="module")
def machines(fixtures: Fixtures) -> Iterator[dict[str, str]]:
    """Identity in-process beside the four services (which verify its tokens through its test
    client), a machine account for each entry of MACHINES, and each one's token from `POST /token`
    (client credentials), kept among the county's tokens as "machine <name>"."""
    county = fixtures.county
    clock = ManualClock(datetime.now(UTC))
    with running_identity(county.settings, clock, cheap_config()) as identity:
        before = {}
        for name, client in county.clients.items():
            state = client.app.state  # type: ignore[attr-defined]
            before[name] = state.token_verifier
            state.token_verifier = identity.verifier(revoked=state.runtime.revoked)
        for name, scopes in MACHINES.items():
            created = identity.as_(
                "county", "POST", "/machines", json={"name": f"接口{name}", "scopes": scopes}
            )
            assert created.status_code == 201, created.text
            issued = created.json()
            answer = identity.client.post(
                "/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": issued["machine"]["client_id"],
                    "client_secret": issued["client_secret"],
                },
            )
            assert answer.status_code == 200, answer.text
            county.tokens[f"machine {name}"] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        try:
            yield {name: county.tokens[f"machine {name}"]["Authorization"][7:] for name in MACHINES}
        finally:
            for name, client in county.clients.items():
                client.app.state.token_verifier = before[name]  # type: ignore[attr-defined]


def machine_expected(policy: Policy, machine: str, place: str) -> str:
    """A machine on a route its scope opens acts as the county's office (both places); on any
    other bearer route it is refused with 403; the pages and operations routes answer it as they
    answer a role that may not read them (the operations team's)."""
    if policy.auth != "bearer":
        return expected(
            Policy(policy.roles, policy.other, auth=policy.auth, allowed=policy.allowed), "ops", place
        )
    return "2xx" if policy.scope in MACHINES[machine] else "403"


def test_every_route_answers_every_machine_scope_as_the_policy_says(
    fixtures: Fixtures, machines: dict[str, str]
):
    routes = every_route(fixtures.county)
    if "checklist_version" not in fixtures.records:
        checklists = fixtures.call("inspection", "GET", "/checklists", "county")
        fixtures.records["checklist_version"] = next(
            str(item["version"]) for item in checklists if item["kind"] == "catering"
        )
    wrong: list[str] = []
    opened: dict[str, set[str]] = {name: set() for name in MACHINES}
    for key in routes:
        policy = POLICY[key]
        for machine in MACHINES:
            for place in PLACES:
                wanted = machine_expected(policy, machine, place)
                call = perform(fixtures, key, policy, f"machine {machine}", place, wanted=wanted)
                where = f"{call.method} {call.service}{call.path} as machine {machine} ({place})"
                if call.status >= 500:
                    wrong.append(f"{where}: {call.status} {call.body[:200]}")
                elif not matches(call.status, wanted):
                    wrong.append(f"{where}: {call.status}, policy says {wanted}: {call.body[:200]}")
                elif wanted == "403" and "machine" not in call.body:
                    wrong.append(f"{where}: 403 without saying a machine may not: {call.body[:200]}")
                elif policy.auth == "bearer" and wanted == "2xx":
                    opened[machine].add(f"{key[0]} {key[1]} {key[2]}")
    assert not wrong, f"{len(wrong)} machine calls broke the policy:\n" + "\n".join(wrong)
    # each scope opens routes of its own service only, and the unknown scope none
    for machine, keys in opened.items():
        service = machine.partition(":")[0]
        if machine in {scope.value for scope in MachineScope}:
            assert keys and all(key.startswith(f"{service} ") for key in keys), (machine, keys)
        else:
            assert not keys, (machine, keys)


def test_a_machines_import_is_audited_as_the_machine(fixtures: Fixtures, machines: dict[str, str]):
    """The nightly ledger import of a county's machine registers businesses in any township, and
    the audit line and the events name the machine, not a person."""
    from services.registry.imports import ledger

    header = ",".join(column.label for column in ledger.COLUMNS)
    name = fixtures.unique("夜间导入饭店")
    content = f"{header}\n{name},餐饮单位,{HECUN},,,,,,,,,,,\n".encode()
    token = machines[MachineScope.registry_import.value]
    answer = fixtures.county.registry.post(
        "/imports/businesses", content=content, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["imported"] == 1, answer.text
    claims = jwt.decode(token, options={"verify_signature": False})
    runtime = fixtures.county.registry.app.state.runtime  # type: ignore[attr-defined]
    with runtime.db.engine.connect() as connection:
        actors = connection.execute(sa.text("SELECT DISTINCT actor FROM audit_log")).scalars().all()
    assert f"machine:{claims['client_id']}" in actors
    # the same machine may not register a business by hand, nor read what its scope does not open
    headers = {"Authorization": f"Bearer {token}"}
    body = {"name": fixtures.unique("手工"), "kind": "catering", "village_id": HECUN}
    assert fixtures.county.registry.post("/businesses", json=body, headers=headers).status_code == 403
    assert fixtures.county.registry.get("/businesses", headers=headers).status_code == 403
