"""Playing a plan through the services' real HTTP APIs, as the county's people would.

Each event is one command sent with the token of its role at its place and an Idempotency-Key
derived from the seed and the event's key, so a retry (a dropped connection, a 503, a second run)
is answered, not repeated. Events of one day and phase are independent and go concurrently; a
later phase (or day) may name what an earlier one made, by its key (`Event.refs`).

Dates: inspections (`inspected_at`), complaints (`received_at`), incidents (`onset_at`),
businesses (`registered_on`), licences and certificates (`issued_on`), campaigns, publicity and
trainings (their days) carry the plan's past dates. What the services date by their own clock is
"now": the moment an incident is reported, acknowledged and closed, and a banquet's filing day
(so a banquet is held `lead_days` after today, which keeps its on-time or late verdict).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.registry.places.models import CountyDefinition
from shared.auth import Role, issue_token
from shared.clock import local_today
from shared.settings import Settings
from shian.demo import places
from shian.simulate.plan import Event, Plan

# phase -> (service, method, path with {ref} parts)
ROUTES: dict[str, tuple[str, str, str]] = {
    "business": ("registry", "POST", "/businesses"),
    "staff": ("registry", "POST", "/businesses/{business_id}/staff"),
    "campaign": ("inspection", "POST", "/campaigns"),
    "inspection": ("inspection", "POST", "/inspections"),
    "complaint": ("inspection", "POST", "/complaints"),
    "banquet": ("registry", "POST", "/banquets"),
    "incident": ("alerts", "POST", "/incidents"),
    "acknowledge": ("alerts", "POST", "/incidents/{incident_id}/acknowledge"),
    "close": ("alerts", "POST", "/incidents/{incident_id}/close"),
    "publicity": ("reporting", "POST", "/activities/publicity"),
    "training": ("reporting", "POST", "/activities/trainings"),
}


class SimulationError(RuntimeError):
    """A command the services refused for good (not a retryable answer)."""


@dataclass
class Progress:
    """What has been played so far, for a progress line."""

    sent: int = 0
    total: int = 0
    day: int = 0
    started: float = field(default_factory=time.monotonic)
    replayed: int = 0
    retries: int = 0
    by_phase: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)  # service -> seconds per command

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.sent / elapsed if elapsed > 0 else 0.0


def retryable(answer: httpx.Response) -> bool:
    """Worth sending again: the service is busy or down, or has not yet heard (over the bus) of the
    business the command names."""
    if answer.status_code == 429 or answer.status_code >= 500:
        return True
    text = answer.text
    return (
        answer.status_code == 422
        and "business" in text
        and ("unknown business" in text or "no business" in text)
    )


# Commands on one record that must reach the service in the plan's order (an inspection verifies
# the orders of the one before; an incident is acknowledged before it is closed).
ORDERED_PHASES = frozenset({"inspection", "acknowledge", "close"})
SUBJECTS = frozenset({"business_id", "incident_id"})  # the record an ordered command is about


def batches(events: list[Event], size: int) -> list[list[Event]]:
    """The events cut into batches of at most `size` that may go concurrently: no event names
    what its own batch makes, and no two ordered commands on one record share a batch."""
    found: list[list[Event]] = []
    batch: list[Event] = []
    made: set[str] = set()
    touched: set[str] = set()
    for event in events:
        refs = set(event.refs.values())
        ordered = (
            {v for k, v in event.refs.items() if k in SUBJECTS} if event.phase in ORDERED_PHASES else set()
        )
        if batch and (len(batch) >= size or refs & made or ordered & touched):
            found.append(batch)
            batch, made, touched = [], set(), set()
        batch.append(event)
        made.add(event.key)
        touched |= ordered
    if batch:
        found.append(batch)
    return found


class Player:
    """Sends a plan's events to the services at `urls` (service name -> base URL)."""

    def __init__(
        self,
        plan: Plan,
        urls: dict[str, str],
        settings: Settings,
        *,
        concurrency: int = 8,
        give_up_after: float = 120.0,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.plan = plan
        self.urls = urls
        self.settings = settings
        self.concurrency = concurrency
        self.give_up_after = give_up_after
        self.on_progress = on_progress
        self.ids: dict[str, str] = {}
        self.sent_at: dict[str, float] = {}  # event key -> monotonic time its command was accepted
        self.progress = Progress(total=len(plan.events))
        self._headers: dict[tuple[str, str], dict[str, str]] = {}
        self._places = places(plan.county)
        self.today = local_today()

    def headers(self, role: str, place: str) -> dict[str, str]:
        found = self._headers.get((role, place))
        if found is None:
            ref = self._places[place]
            token = issue_token(
                self.settings,
                subject=f"sim-{role}@{place}",
                role=Role(role),
                county_id=ref.county_id,
                township_id=ref.township_id,
                village_id=ref.village_id,
                ttl=timedelta(hours=12),
            )
            found = self._headers[(role, place)] = {"Authorization": f"Bearer {token}"}
        return found

    def request(self, event: Event) -> tuple[str, str, str, dict[str, Any]]:
        """(service, method, url, body) for an event, its references resolved to the ids made."""
        service, method, path = ROUTES[event.phase]
        body = dict(event.body)
        for name, key in event.refs.items():
            if key not in self.ids:
                raise SimulationError(f"{event.key} names {key}, which was not made")
            if "{" + name + "}" in path:
                path = path.replace("{" + name + "}", self.ids[key])
            else:
                body[name] = self.ids[key]
        now = datetime.now(UTC) - timedelta(minutes=1)
        for name in (
            "inspected_at",
            "received_at",
            "onset_at",
        ):  # the plan's last day may run ahead of the clock
            if name in body and datetime.fromisoformat(body[name]) > now:
                body[name] = now.isoformat()
        if event.phase == "banquet":
            body["held_on"] = (self.today + timedelta(days=int(body.pop("lead_days")))).isoformat()
        return service, method, self.urls[service] + path, body

    async def send(self, http: httpx.AsyncClient, event: Event) -> None:
        service, method, url, body = self.request(event)
        headers = {
            **self.headers(event.role, event.place),
            "Idempotency-Key": f"{self.plan.key_prefix}-{event.key}",
        }
        deadline = time.monotonic() + self.give_up_after
        pause = 0.1
        while True:
            began = time.monotonic()
            try:
                answer: httpx.Response | None = await http.request(method, url, json=body, headers=headers)
            except httpx.TransportError:
                answer = None
            if answer is not None and not retryable(answer):
                break
            if time.monotonic() > deadline:
                detail = "no answer" if answer is None else f"{answer.status_code} {answer.text[:300]}"
                raise SimulationError(
                    f"{event.key} ({method} {url}): gave up after {self.give_up_after:.0f}s: {detail}"
                )
            self.progress.retries += 1
            await asyncio.sleep(pause)
            pause = min(pause * 1.6, 2.0)
        if not answer.is_success:
            raise SimulationError(
                f"{event.key} ({method} {url}) refused: {answer.status_code} {answer.text[:500]}"
            )
        accepted = time.monotonic()
        self.progress.latencies.setdefault(service, []).append(accepted - began)
        self.sent_at[event.key] = accepted
        if answer.headers.get("Idempotent-Replayed") == "true":
            self.progress.replayed += 1
        made = answer.json().get("id")
        if made is not None:
            self.ids[event.key] = str(made)
        self.progress.sent += 1
        self.progress.by_phase[event.phase] += 1

    async def play_async(self, events: list[Event] | None = None) -> Progress:
        """Plays the events (default: the whole plan) in order of day and phase."""
        events = self.plan.events if events is None else events
        limits = httpx.Limits(
            max_connections=self.concurrency * 2, max_keepalive_connections=self.concurrency * 2
        )
        async with httpx.AsyncClient(timeout=60.0, limits=limits) as http:
            for batch in batches(events, self.concurrency * 8):
                self.progress.day = batch[-1].day
                await self._bounded(http, batch)
                if self.on_progress is not None:
                    self.on_progress(self.progress)
        return self.progress

    async def _bounded(self, http: httpx.AsyncClient, events: list[Event]) -> None:
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(event: Event) -> None:
            async with semaphore:
                await self.send(http, event)

        await asyncio.gather(*(one(event) for event in events))

    def play(self, events: list[Event] | None = None) -> Progress:
        return asyncio.run(self.play_async(events))


def load_places(registry_url: str, settings: Settings, county: CountyDefinition) -> None:
    """The simulated county's places (upserted: loading twice changes nothing)."""
    token = issue_token(settings, subject="sim-loader", role=Role.county, county_id=county.id)
    answer = httpx.put(
        f"{registry_url}/places",
        json=county.model_dump(mode="json"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    if not answer.is_success:
        raise SimulationError(f"the registry refused the places: {answer.status_code} {answer.text[:300]}")


def already_played(registry_url: str, settings: Settings, plan: Plan) -> bool:
    """Whether the register already holds the plan's first business (the plan was played)."""
    token = issue_token(settings, subject="sim-loader", role=Role.county, county_id=plan.county.id)
    answer = httpx.get(
        f"{registry_url}/businesses",
        params={"q": plan.marker(), "limit": 20},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    if not answer.is_success:
        raise SimulationError(f"the registry did not answer: {answer.status_code} {answer.text[:300]}")
    return any(item["name"] == plan.marker() for item in answer.json()["items"])
