"""The incident lifecycle as a table: which moves are allowed from which status, and what each does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from services.alerts.incidents import lifecycle
from shared.errors import Conflict

if TYPE_CHECKING:
    from shared.catalogue.alerts import IncidentStatus

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@dataclass
class Incident:
    status: IncidentStatus = "reported"
    awaiting_ack: bool = True
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    first_acknowledged_at: datetime | None = None
    responding_at: datetime | None = None
    contained_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    cause: str | None = None


@pytest.mark.parametrize(
    ("current", "wanted", "allowed"),
    [
        ("reported", "responding", True),
        ("reported", "contained", True),
        ("acknowledged", "responding", True),
        ("acknowledged", "contained", True),
        ("responding", "contained", True),
        ("responding", "responding", False),
        ("contained", "responding", False),
        ("contained", "contained", False),
        ("closed", "responding", False),
        ("closed", "contained", False),
    ],
)
def test_progress_goes_forward_only(current: IncidentStatus, wanted: IncidentStatus, allowed: bool):
    incident = Incident(status=current)
    if allowed:
        lifecycle.check_progress(incident, wanted)
    else:
        with pytest.raises(Conflict):
            lifecycle.check_progress(incident, wanted)


@pytest.mark.parametrize(
    ("status", "awaiting_ack", "allowed"),
    [
        ("reported", True, True),
        ("acknowledged", False, False),
        ("responding", True, True),  # a higher level awaits a fresh acknowledgement
        ("responding", False, False),
        ("closed", False, False),
    ],
)
def test_only_an_open_incident_awaiting_it_is_acknowledged(
    status: IncidentStatus, awaiting_ack: bool, allowed: bool
):
    incident = Incident(status=status, awaiting_ack=awaiting_ack, acknowledged_by="township:a")
    if allowed:
        lifecycle.check_acknowledgement(incident)
    else:
        with pytest.raises(Conflict):
            lifecycle.check_acknowledgement(incident)


@pytest.mark.parametrize(
    ("status", "after"),
    [("reported", "acknowledged"), ("acknowledged", "acknowledged"), ("responding", "responding")],
)
def test_acknowledging_moves_only_a_reported_incident(status: IncidentStatus, after: IncidentStatus):
    incident = Incident(status=status)
    assert lifecycle.acknowledge(incident, actor="township:a", now=NOW) == status
    assert (incident.status, incident.awaiting_ack, incident.acknowledged_by) == (after, False, "township:a")


def test_the_first_acknowledgement_is_kept():
    incident = Incident()
    lifecycle.acknowledge(incident, actor="township:a", now=NOW)
    assert lifecycle.is_first_acknowledgement(incident, NOW)
    later = NOW + timedelta(hours=3)
    lifecycle.await_acknowledgement(incident)
    lifecycle.acknowledge(incident, actor="county:b", now=later)
    assert (incident.first_acknowledged_at, incident.acknowledged_at) == (NOW, later)
    assert not lifecycle.is_first_acknowledgement(incident, later)


@pytest.mark.parametrize(
    ("status", "after", "fell_back"),
    [
        ("acknowledged", "reported", True),
        ("reported", "reported", False),
        ("responding", "responding", False),
        ("contained", "contained", False),
    ],
)
def test_a_lapsed_acknowledgement_awaits_another(
    status: IncidentStatus, after: IncidentStatus, fell_back: bool
):
    incident = Incident(status=status, awaiting_ack=False)
    assert lifecycle.await_acknowledgement(incident) is fell_back
    assert (incident.status, incident.awaiting_ack) == (after, True)


@pytest.mark.parametrize(
    ("status", "window"),
    [("reported", True), ("acknowledged", True), ("responding", False), ("contained", False)],
)
def test_the_progress_window_starts_only_before_any_progress(status: IncidentStatus, window: bool):
    assert lifecycle.awaits_progress(Incident(status=status)) is window


def test_contained_implies_responding():
    incident = Incident(status="acknowledged", awaiting_ack=False)
    assert lifecycle.progress(incident, "contained", now=NOW) == "acknowledged"
    assert (incident.status, incident.responding_at, incident.contained_at) == ("contained", NOW, NOW)


def test_responding_keeps_its_time_when_contained_later():
    incident = Incident(status="acknowledged", awaiting_ack=False)
    lifecycle.progress(incident, "responding", now=NOW)
    lifecycle.progress(incident, "contained", now=NOW + timedelta(hours=1))
    assert (incident.responding_at, incident.contained_at) == (NOW, NOW + timedelta(hours=1))


@pytest.mark.parametrize("status", lifecycle.OPEN_STATUSES)
def test_closing_ends_everything_from_any_open_status(status: IncidentStatus):
    incident = Incident(status=status)
    assert lifecycle.close(incident, actor="county:c", cause="细菌性食物中毒", now=NOW) == status
    assert (incident.status, incident.awaiting_ack, incident.closed_by, incident.cause) == (
        "closed",
        False,
        "county:c",
        "细菌性食物中毒",
    )
    with pytest.raises(Conflict):
        lifecycle.check_open(incident)
