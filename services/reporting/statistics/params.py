"""The place and period a request asks about, the same parameters wherever figures are asked for
(statistics, documents, the open-data export): the place in the path, and in the query either
`period` (2026-H1) or `from` and `to`.

The dependency only reads the parameters; the endpoint resolves them, place first, so that a
place the caller may not see is answered 404 before anything is said about the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, Query
from sqlmodel import Session

from services.reporting.statistics import periods
from services.reporting.statistics.periods import Period
from services.reporting.statistics.scope import Scope, resolve_scope
from shared.auth import Principal
from shared.clock import Clock, local_today
from shared.dates import Day

PeriodCode = Annotated[
    str | None, Query(max_length=20, description="2026, 2026-H1, 2026-H2, 2026-Q2 or 2026-05")
]
First = Annotated[Day | None, Query(alias="from", description="First day of a custom range")]
Last = Annotated[Day | None, Query(alias="to", description="Last day (inclusive) of a custom range")]


@dataclass(frozen=True)
class PlacePeriodQuery:
    """`/{place_id}?period=…` or `/{place_id}?from=…&to=…`, as asked (not yet checked)."""

    place_id: str
    code: str | None = None
    first: date | None = None
    last: date | None = None

    def scope(self, session: Session, principal: Principal) -> Scope:
        """The place, if the caller may read its figures (403 or 404 otherwise)."""
        return resolve_scope(session, principal, self.place_id)

    def period(self, clock: Clock | None = None) -> Period:
        """The period asked for (422 naming the parameter at fault), as of the clock's today when
        one is given (a state at the end of a running period is taken today)."""
        period = periods.resolve(self.code, self.first, self.last)
        return period if clock is None else period.at(local_today(clock))

    def period_if_any(self) -> Period | None:
        """The period asked for, or None when the request names none (everything)."""
        if self.code is None and self.first is None and self.last is None:
            return None
        return self.period()


def place_period(
    place_id: str, period: PeriodCode = None, first: First = None, last: Last = None
) -> PlacePeriodQuery:
    return PlacePeriodQuery(place_id=place_id, code=period, first=first, last=last)


PlacePeriod = Annotated[PlacePeriodQuery, Depends(place_period)]
