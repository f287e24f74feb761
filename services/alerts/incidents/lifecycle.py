"""The incident lifecycle as a state machine: reported -> acknowledged -> responding -> contained ->
closed, with no database and no clock of its own.

Status moves forward only. Acknowledging stops the escalation (`awaiting_ack` false) and, from
`reported`, makes the incident `acknowledged`; the first acknowledgement is kept for the response
times. An acknowledgement with no progress after it lapses: the incident awaits an
acknowledgement again and goes back to `reported`. A higher level awaits a fresh one. Closing ends
everything, from any open status.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from shared.errors import Conflict

if TYPE_CHECKING:  # the catalogue is imported through shared.events, which it imports itself
    from shared.catalogue.alerts import IncidentStatus

STATUS_RANK: dict[IncidentStatus, int] = {
    "reported": 0,
    "acknowledged": 1,
    "responding": 2,
    "contained": 3,
    "closed": 4,
}
OPEN_STATUSES: tuple[IncidentStatus, ...] = ("reported", "acknowledged", "responding", "contained")


class State(Protocol):
    """The lifecycle fields of an incident (the table row, or any object that has them)."""

    status: IncidentStatus
    awaiting_ack: bool
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    first_acknowledged_at: datetime | None
    responding_at: datetime | None
    contained_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    cause: str | None


def check_open(state: State) -> None:
    if state.status == "closed":
        raise Conflict("status", "the incident is closed")


def check_acknowledgement(state: State) -> None:
    """Only an open incident that awaits an acknowledgement can be acknowledged."""
    check_open(state)
    if not state.awaiting_ack:
        raise Conflict("status", f"already acknowledged by {state.acknowledged_by}")


def check_progress(state: State, new_status: IncidentStatus) -> None:
    """Progress goes forward only, and never to or from closed (closing is its own command)."""
    check_open(state)
    if STATUS_RANK[new_status] <= STATUS_RANK[state.status]:
        raise Conflict("status", f"cannot go from {state.status} to {new_status}")


def acknowledge(state: State, *, actor: str, now: datetime) -> IncidentStatus:
    """Record an acknowledgement; returns the status before it."""
    previous = state.status
    state.awaiting_ack = False
    state.acknowledged_at = now
    state.acknowledged_by = actor
    if state.first_acknowledged_at is None:
        state.first_acknowledged_at = now
    if state.status == "reported":
        state.status = "acknowledged"
    return previous


def is_first_acknowledgement(state: State, now: datetime) -> bool:
    """Whether the acknowledgement made at `now` was the incident's first (measured once)."""
    return state.first_acknowledged_at == now


def progress(state: State, new_status: IncidentStatus, *, now: datetime) -> IncidentStatus:
    """Move forward to responding or contained (contained implies responding); returns the
    status before it. An incident still awaiting an acknowledgement is acknowledged first."""
    previous = state.status
    state.status = new_status
    if new_status == "responding":
        state.responding_at = now
    else:
        state.contained_at = now
        state.responding_at = state.responding_at or now
    return previous


def awaits_progress(state: State) -> bool:
    """After an acknowledgement: whether the progress window starts (nothing is done yet)."""
    return state.status in ("reported", "acknowledged")


def await_acknowledgement(state: State) -> bool:
    """The acknowledgement lapsed, or the level rose: someone must acknowledge again. Returns
    whether the status fell back from acknowledged to reported."""
    state.awaiting_ack = True
    if state.status == "acknowledged":
        state.status = "reported"
        return True
    return False


def close(state: State, *, actor: str, cause: str, now: datetime) -> IncidentStatus:
    """Close from any open status; nothing awaits an acknowledgement any more."""
    previous = state.status
    state.status = "closed"
    state.awaiting_ack = False
    state.closed_at = now
    state.closed_by = actor
    state.cause = cause
    return previous
