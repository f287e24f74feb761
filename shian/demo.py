"""The demo county: its places (from a county definition file) and a few dozen businesses.

The places come from `services/registry/data/demo_county.yaml`, or from the file named by
SHIAN_COUNTY_FILE. The businesses are built from the definition deterministically (the same
county gives the same businesses, with registration dates counted back from the given day), with the
kinds of the glossary: catering, workshops, school canteens, shops near schools, street vendors,
markets, groceries, a slaughter point and producers.

Everything is loaded through the registry's HTTP API with a county token, as a county office would:
places are upserted (idempotent), businesses only while the register holds none, so loading twice
changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from services.registry.places.county import read_county
from services.registry.places.models import CountyDefinition
from shared.auth import Role, issue_token
from shared.clock import local_today
from shared.settings import Settings

if TYPE_CHECKING:
    from shian.launcher import System


@dataclass(frozen=True)
class PlaceRef:
    """A place of the definition with its parents."""

    id: str
    level: str  # county | township | village
    name: str
    county_id: str
    township_id: str | None = None
    village_id: str | None = None
    coordinator: str | None = None


def places(definition: CountyDefinition) -> dict[str, PlaceRef]:
    found = {
        definition.id: PlaceRef(
            id=definition.id, level="county", name=definition.name, county_id=definition.id
        )
    }
    for township in definition.townships:
        found[township.id] = PlaceRef(
            id=township.id,
            level="township",
            name=township.name,
            county_id=definition.id,
            township_id=township.id,
        )
        for village in township.villages:
            found[village.id] = PlaceRef(
                id=village.id,
                level="village",
                name=village.name,
                county_id=definition.id,
                township_id=township.id,
                village_id=village.id,
                coordinator=village.coordinator,
            )
    return found


# The level of place each role's token is bound to.
ROLE_LEVEL: dict[Role, str] = {
    Role.county: "county",
    Role.ops: "county",
    Role.township: "township",
    Role.inspector: "township",
    Role.village: "village",
}


class PlaceError(ValueError):
    """An unknown place, or a place of the wrong level for a role."""


def resolve_place(definition: CountyDefinition, place_id: str, role: Role) -> PlaceRef:
    known = places(definition)
    place = known.get(place_id)
    if place is None:
        wanted = ROLE_LEVEL[role]
        candidates = ", ".join(p.id for p in known.values() if p.level == wanted)
        raise PlaceError(
            f"unknown place {place_id!r} in county {definition.id} ({definition.name}); "
            f"{wanted} places there: {candidates}"
        )
    if place.level != ROLE_LEVEL[role]:
        article = "an" if role.value[0] in "aeiou" else "a"
        raise PlaceError(
            f"{article} {role.value} token belongs to a {ROLE_LEVEL[role]}, but {place_id!r} "
            f"({place.name}) is a {place.level}"
        )
    return place


class RefusedInProduction(RuntimeError):
    """A test aid was asked for with SHIAN_ENV=production."""


def refuse_in_production(settings: Settings, what: str) -> None:
    """Demo data and freely issued tokens are for trying Shian; with the production key they
    would be real credentials for any role and place, and invented businesses in the register."""
    if settings.env == "production":
        raise RefusedInProduction(f"{what} is refused when SHIAN_ENV=production")


def token_for(
    settings: Settings,
    place: PlaceRef,
    role: Role,
    *,
    subject: str | None = None,
    ttl: timedelta | None = None,
) -> str:
    refuse_in_production(settings, "issuing a token from the command line")
    return issue_token(
        settings,
        subject=subject or default_subject(place, role),
        role=role,
        county_id=place.county_id,
        township_id=place.township_id,
        village_id=place.village_id,
        ttl=ttl,
    )


def default_subject(place: PlaceRef, role: Role) -> str:
    if role is Role.village and place.coordinator:
        return place.coordinator
    return f"{role.value}@{place.id}"


@dataclass(frozen=True)
class DemoToken:
    label: str  # e.g. "township 东山镇"
    variable: str  # shell variable name, e.g. TOKEN_DONGSHAN
    role: Role
    place: PlaceRef
    subject: str
    token: str


def demo_tokens(settings: Settings, definition: CountyDefinition) -> list[DemoToken]:
    """Tokens for trying the system: the county, each township, an inspector, a village
    coordinator and the operations team."""
    refuse_in_production(settings, "issuing the demo tokens")
    known = places(definition)
    county = known[definition.id]
    wanted: list[tuple[str, str, Role, PlaceRef]] = [("county office", "TOKEN_COUNTY", Role.county, county)]
    for township in definition.townships:
        short = township.id.rsplit(".", 1)[-1].upper().replace("-", "_")
        wanted.append(
            (f"township office {township.name}", f"TOKEN_{short}", Role.township, known[township.id])
        )
    first = definition.townships[0]
    wanted.append((f"inspector of {first.name}", "TOKEN_INSPECTOR", Role.inspector, known[first.id]))
    if first.villages:
        village = known[first.villages[0].id]
        wanted.append((f"village coordinator of {village.name}", "TOKEN_VILLAGE", Role.village, village))
    wanted.append(("operations", "TOKEN_OPS", Role.ops, county))
    return [
        DemoToken(
            label=label,
            variable=variable,
            role=role,
            place=place,
            subject=default_subject(place, role),
            token=token_for(settings, place, role),
        )
        for label, variable, role, place in wanted
    ]


# --- the demo businesses ----------------------------------------------------------------------

# (kind, name template): {t} township name without 镇/乡, {v} village name, {s} an operator's surname.
TOWNSHIP_BUSINESSES: tuple[tuple[str, str], ...] = (
    ("catering", "{t}好味餐馆"),
    ("catering", "{v}农家乐"),
    ("catering", "{t}老街面馆"),
    ("catering", "{t}{s}记小吃店"),
    ("school_canteen", "{t}中心小学食堂"),
    ("school_canteen", "{t}中心幼儿园食堂"),
    ("school_area_shop", "{t}中心小学旁{s}家小卖部"),
    ("school_area_shop", "{t}中学副食店"),
    ("street_vendor", "{t}街{s}记烧烤摊"),
    ("street_vendor", "{v}早点摊"),
    ("market", "{t}农贸市场"),
    ("grocery", "{v}{s}家杂货店"),
    ("grocery", "{v}便民杂货店"),
    ("workshop", "{v}{s}记豆腐作坊"),
    ("workshop", "{t}手工面条作坊"),
    ("workshop", "{t}{s}氏糕点作坊"),
)
# One of these per township, in turn: the county's designated pig slaughter point and producers.
COUNTY_BUSINESSES: tuple[tuple[str, str], ...] = (
    ("slaughterhouse", "{c}{t}生猪定点屠宰场"),
    ("producer", "{c}{t}酒厂"),
    ("producer", "{t}{s}氏食品加工厂"),
)
OPERATORS = (
    "王建华", "李秀兰", "张国强", "刘桂芳", "陈志明", "杨丽娟", "黄德贵", "赵春梅",
    "周海涛", "吴玉珍", "徐长林", "孙红霞", "马永福", "朱小燕", "胡文军", "郭美玲",
    "何家宝", "林淑华", "罗成刚", "高翠英",
)  # fmt: skip


def _short(name: str) -> str:
    """东山镇 -> 东山, 西水乡 -> 西水, 青云县 -> 青云."""
    return name[:-1] if len(name) > 2 and name[-1] in "镇乡县" else name


def demo_businesses(definition: CountyDefinition, today: date | None = None) -> list[dict[str, Any]]:
    """Bodies for POST /businesses: the same every time for the same county and day."""
    today = today or local_today()
    county = _short(definition.name)
    bodies: list[dict[str, Any]] = []
    counter = 0
    for t_index, township in enumerate(definition.townships):
        if not township.villages:
            continue
        templates = list(TOWNSHIP_BUSINESSES)
        templates.append(COUNTY_BUSINESSES[t_index % len(COUNTY_BUSINESSES)])
        for index, (kind, template) in enumerate(templates):
            village = township.villages[index % len(township.villages)]
            operator = OPERATORS[counter % len(OPERATORS)]
            name = template.format(c=county, t=_short(township.name), v=village.name, s=operator[0])
            bodies.append(
                {
                    "name": name,
                    "kind": kind,
                    "village_id": village.id,
                    "operator": operator,
                    "address": f"{definition.name}{township.name}{village.name}{(counter * 7) % 97 + 1}号",
                    # spread over the last two years, so a half-year summary has some new ones
                    "registered_on": (today - timedelta(days=(counter * 53) % 720 + 1)).isoformat(),
                }
            )
            counter += 1
    return bodies


# --- loading over HTTP ------------------------------------------------------------------------


class DemoError(RuntimeError):
    """The registry refused or could not be reached."""


@dataclass(frozen=True)
class DemoResult:
    county_id: str
    places_changed: int
    businesses_created: int
    businesses_before: int

    @property
    def skipped_businesses(self) -> bool:
        return self.businesses_before > 0


def load_demo(
    registry_url: str,
    settings: Settings,
    *,
    definition: CountyDefinition | None = None,
    today: date | None = None,
    timeout: float = 15.0,
) -> DemoResult:
    """Load the county's places, then (only into an empty register) the demo businesses."""
    refuse_in_production(settings, "loading the demo county")
    definition = definition or read_county()
    token = issue_token(settings, subject="demo-loader", role=Role.county, county_id=definition.id)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=registry_url, headers=headers, timeout=timeout) as http:
            loaded = _checked(http.put("/places", json=definition.model_dump(mode="json")), "load the places")
            before = _checked(http.get("/businesses", params={"limit": 1}), "count the businesses")["total"]
            created = 0
            if before == 0:
                for body in demo_businesses(definition, today):
                    _checked(http.post("/businesses", json=body), f"register {body['name']}")
                    created += 1
    except httpx.HTTPError as error:
        raise DemoError(f"cannot reach the registry at {registry_url}: {error}") from error
    return DemoResult(
        county_id=definition.id,
        places_changed=int(loaded.get("changed", 0)),
        businesses_created=created,
        businesses_before=int(before),
    )


def _checked(response: httpx.Response, what: str) -> Any:
    if response.is_success:
        return response.json()
    raise DemoError(f"the registry refused to {what}: {response.status_code} {response.text[:500]}")


def load_demo_accounts(settings: Settings, definition: CountyDefinition) -> list[Any]:
    """The demo county's accounts in identity (services/identity/demo.py: one per role, the known
    password), written to identity's database; accounts already there are left as they are.
    Identity's relay publishes their `account.created` events. Refused in production."""
    refuse_in_production(settings, "the demo accounts")
    from services.identity import demo
    from services.identity.app import SPEC
    from services.identity.config import SERVICE, IdentityConfig
    from services.identity.context import Identity
    from services.identity.database import infra
    from services.identity.keys.service import LocalVerifier, Signer
    from services.identity.limits import AttemptLimiter
    from services.identity.passwords import Hasher
    from shared.admission import RateCounter
    from shared.clock import SYSTEM_CLOCK
    from shared.db import Database
    from shared.migrations import upgrade

    url = settings.database_url(SERVICE)
    upgrade(SPEC.migrations, url)
    config = IdentityConfig()
    identity = Identity(
        config=config,
        settings=settings,
        hasher=Hasher(config),
        signer=Signer(config),
        verifier=LocalVerifier(config),
        limiter=AttemptLimiter(RateCounter(settings.redis_url), settings.stream_prefix),
    )
    db = Database(url, infra=infra, stream=settings.stream(SERVICE), service=SERVICE)
    try:
        with db.session() as session:
            return demo.ensure_demo_accounts(
                session, identity, definition.model_dump(mode="json"), now=SYSTEM_CLOCK.now()
            )
    finally:
        db.dispose()  # the limiter never counted here: it opened no connection


@contextmanager
def private_demo_system(
    stream_prefix: str, *, redis_url: str | None = None, access_log: bool = True
) -> Iterator[System]:
    """The whole system started privately for a benchmark or the screenshots: every service on a
    free port, SQLite under a temporary folder, streams under `stream_prefix` plus a random suffix,
    the demo county and its accounts loaded. Everything stops, and the folder goes, on leaving."""
    import tempfile
    import uuid
    from pathlib import Path

    from shared.localredis import free_port
    from shared.settings import SERVICE_NAMES
    from shian.launcher import System

    with tempfile.TemporaryDirectory(prefix=f"shian-{stream_prefix}-") as scratch:
        var_dir = Path(scratch) / "var"
        env = {
            "SHIAN_ENV": "development",
            "SHIAN_STREAM_PREFIX": f"{stream_prefix}{uuid.uuid4().hex[:8]}",
            **{
                f"SHIAN_{name.upper()}_DATABASE_URL": f"sqlite:///{var_dir / f'{name}.db'}"
                for name in SERVICE_NAMES
            },
        }
        if not access_log:
            env["SHIAN_ACCESS_LOG"] = "false"
        system = System(
            var_dir=var_dir,
            redis_url=redis_url,
            ports={name: free_port() for name in SERVICE_NAMES},
            env=env,
        )
        try:
            system.start()
            system.wait_ready(timeout=180)
            definition = read_county()
            load_demo(system.urls["registry"], system.settings, definition=definition)
            load_demo_accounts(system.settings, definition)
            yield system
        finally:
            system.stop()
